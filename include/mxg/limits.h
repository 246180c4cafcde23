/* limits.h -- every input limit of mxguard, in one place. */
#ifndef MXG_LIMITS_H
#define MXG_LIMITS_H

/* DNS names (RFC 1035): 255 octets in wire form, 63 per label. */
#define MXG_NAME_WIRE_MAX 255
#define MXG_LABEL_MAX 63
/* Longest presentation form of a name: every octet escaped as \DDD plus dots. */
#define MXG_NAME_TEXT_MAX 1024

/* Longest presentation form of one record's content (64 KiB rdata, escaped). */
#define MXG_CONTENT_MAX 262144 /* 256 KiB */
/* Longest record type mnemonic ("TYPE65535", "NSEC3PARAM", ...). */
#define MXG_TYPE_MAX 16

/* One request line on the backend or control socket. A longer line is refused and the
 * connection closed: no message of pdns comes near it. */
#define MXG_LINE_MAX 4194304 /* 4 MiB */
/* Records in one replaceRRSet call. */
#define MXG_RRSET_MAX 10000
/* Records written by one transaction (AXFR-in, import). */
#define MXG_TXN_RECORDS_MAX 2000000
/* Metadata: kind length, values per kind, length of one value. */
#define MXG_META_KIND_MAX 64
#define MXG_META_VALUES_MAX 256
#define MXG_META_VALUE_MAX 65535
/* Nesting depth accepted in JSON requests. */
#define MXG_JSON_DEPTH_MAX 16
/* Zones served by one instance. */
#define MXG_ZONES_MAX 10000000
/* Config file: longest line. */
#define MXG_CONFIG_LINE_MAX 4096

#endif
