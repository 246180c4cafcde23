/* dns.h -- DNS names, record types and record content, on top of libknot/libzscanner.
 *
 * Forms used across mxguard:
 *  - canonical name: pdns's presentation form (DNSName::toString), lowercase, absolute, with
 *    the trailing dot ("www.example.com.", "m(ai)l.example.com.", "a\.b\032c.example.",
 *    root "."). Every module compares names in this form.
 *  - db name: the canonical name without its trailing dot, as pdns's generic-SQL schema
 *    stores it ("www.example.com", root "").
 *  - pdns content: record content the way pdns writes it itself: names inside content are
 *    absolute and written without trailing dot ("10 mail.example.com"), the root as ".",
 *    in pdns's escaping as above (case kept),
 *    TXT/SPF as quoted strings, priority inside MX/SRV content.
 * Nothing here does I/O except mxg_zonefile_parse(), which reads the file it is given. */
#ifndef MXG_DNS_H
#define MXG_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxg/err.h"
#include "mxg/limits.h"

/* Validates a presentation-form name (with or without trailing dot; "" and "." are the root;
 * \DDD and \X escapes allowed) and writes its canonical form into out.
 * The grammar is pdns's (DNSName): only '.' and '\' are special, so "m(ai)l.example.com" (as
 * pdns writes it) and "m\(ai\)l.example.com" (RFC 1035 escaping) are the same name; \DDD over
 * 255 and a lone trailing backslash are refused.
 * The canonical form is pdns's own text form (DNSName::toString) of the lowercased name: octets
 * 0x21-0x7e as they are except '.' and '\' ("\." and "\\"), all others as \DDD -- the form
 * pdns sends and its generic-SQL backends store. It is not safe in a master file as it is
 * (see mxg_name_format()).
 * Returns 0, MXG_EINVAL (bad syntax, empty label), MXG_ERANGE (label > 63 or name > 255 octets
 * in wire form, or out too small). */
MXG_MUST_CHECK int mxg_name_canon(const char *in, char *out, size_t outlen);

/* Text forms of a name for mxg_name_format(). */
enum mxg_name_style {
    MXG_NAME_PDNS,    /* pdns's form, as mxg_name_canon() writes it (case kept) */
    MXG_NAME_ZONEFILE /* letters, digits, '-', '_', '*', '/' as they are, all else \DDD: one
                         master-file token whatever the name holds */
};

/* A name as mxg_name_canon() reads it, written absolute (trailing dot) in the given style with
 * its case kept. Returns as mxg_name_canon(); MXG_EINVAL for an unknown style. */
MXG_MUST_CHECK int mxg_name_format(const char *in, enum mxg_name_style style, char *out,
                                   size_t outlen);

/* Wire-form name (uncompressed, within wirelen octets) -> canonical name.
 * Returns 0, MXG_EINVAL (malformed or over 255 octets), MXG_ERANGE (out too small). */
MXG_MUST_CHECK int mxg_name_from_wire(const uint8_t *wire, size_t wirelen, char *out,
                                      size_t outlen);

/* Canonical name -> db name (drops the trailing dot; root -> ""). Returns 0 or MXG_ERANGE. */
MXG_MUST_CHECK int mxg_name_to_db(const char *canon, char *out, size_t outlen);

/* True when canonical name child equals parent or lies below it (label-wise, so
 * "xexample.com." is not below "example.com."). Both must be canonical. */
bool mxg_name_is_below(const char *child, const char *parent);

/* Canonical name of the parent ("www.example.com." -> "example.com.", "com." -> ".").
 * Returns 0, or MXG_ENOENT for the root. */
MXG_MUST_CHECK int mxg_name_parent(const char *canon, char *out, size_t outlen);

/* Number of labels of a canonical name (root: 0); a negative MXG_E* code when it does not parse. */
MXG_MUST_CHECK int mxg_name_labels(const char *canon);

/* Reversed-label key of a canonical name: a byte string whose bytewise order is DNSSEC
 * canonical order (RFC 4034 §6.1) and in which the key of every name below N starts with
 * the key of N. Writes at most outlen bytes, sets *keylen. Returns 0 or MXG_EINVAL/MXG_ERANGE.
 * The key may contain any byte but 0x00 is used only as label terminator. */
MXG_MUST_CHECK int mxg_name_rkey(const char *canon, uint8_t *out, size_t outlen, size_t *keylen);

/* Wire form of a name, lowercased (for hashing: NSEC3, RFC 5155 §5). Returns 0, MXG_EINVAL or
 * MXG_ERANGE (out too small). */
MXG_MUST_CHECK int mxg_name_to_wire_lower(const char *canon, uint8_t *out, size_t outlen,
                                          size_t *len);

/* Record types. Mnemonics are case-insensitive on input ("a", "Mx", "TYPE65534").
 * Writes the canonical uppercase mnemonic (knot's name, or pdns's own for ALIAS and LUA,
 * or TYPEnnn for types without one) and the numeric type. "ANY" and "TYPE0"/"ENT" are
 * refused here (MXG_EINVAL): they are never record types of stored data.
 * pdns-only types: ALIAS = 65401, LUA = 65402. */
MXG_MUST_CHECK int mxg_rrtype_parse(const char *in, char *out, size_t outlen, uint16_t *type);

/* Normalises the content of one record of the given type (canonical mnemonic or any case)
 * to pdns content. Content in pdns form, in zone-file form with trailing dots, with
 * extra whitespace, or TXT unquoted ("v=spf1 -all" becomes "\"v=spf1 -all\"") are all accepted.
 * Relative names in content are taken as absolute (pdns writes them without trailing dot).
 * A name in content is read as pdns reads it: one blank-delimited token in mxg_name_canon()'s
 * grammar (so "10 m(ai)l.example" is an MX to the label "m(ai)l"), and written in pdns's form.
 * ALIAS: content is one name; LUA: stored as given after a length check.
 * Returns 0; MXG_EINVAL with a reason in err (may be NULL) when the content does not parse
 * for its type; MXG_ERANGE when out is too small or the content exceeds MXG_CONTENT_MAX. */
MXG_MUST_CHECK int mxg_rr_normalize(const char *type, const char *content, char *out, size_t outlen,
                                    char *err, size_t errlen);

/* Canonical mnemonic of a numeric type, as mxg_rrtype_parse() writes it.
 * Returns 0; MXG_EINVAL for the types mxg_rrtype_parse() refuses; MXG_ERANGE when out is too
 * small. */
MXG_MUST_CHECK int mxg_rrtype_name(uint16_t type, char *out, size_t outlen);

/* The type whose rdata layout a type libknot does not know shares (ALIAS, MB, MG, MR: CNAME;
 * RKEY: DNSKEY; DLV: DS), through which it is parsed and rendered; any other type itself
 * (LUA too: it has no wire form). */
uint16_t mxg_rrtype_twin(uint16_t type);

/* Renders the wire rdata (uncompressed, RFC 1035 format) of one record of the given numeric type
 * as pdns content, exactly as mxg_rr_normalize() writes it (ALIAS: one wire name).
 * Returns 0; MXG_EINVAL with a reason in err (may be NULL) when the rdata is malformed for the
 * type, holds a compression pointer, or the type is refused or LUA; MXG_ERANGE when out is too
 * small or the content exceeds MXG_CONTENT_MAX. */
MXG_MUST_CHECK int mxg_rr_from_wire(uint16_t type, const uint8_t *rdata, size_t rdlen, char *out,
                                    size_t outlen, char *err, size_t errlen);

/* One record from a zone file. All strings are borrowed for the duration of the call. */
struct mxg_zf_record {
    const char *owner; /* canonical name */
    const char *type;  /* canonical mnemonic */
    uint32_t ttl;
    const char *content; /* pdns content */
    unsigned long line;  /* line of the record in its file */
    const char *file;    /* the file it came from ($INCLUDE) */
};

/* Called per record; a non-zero return stops the parse and is returned by mxg_zonefile_parse. */
typedef int (*mxg_zf_cb)(void *ctx, const struct mxg_zf_record *rec);

/* Parses an RFC 1035 master file (through libzscanner: $ORIGIN, $TTL, $INCLUDE, relative names,
 * parentheses, comments, every type knot knows) with the given canonical origin (used when the file
 * has no $ORIGIN) and default TTL, calling cb for each record in file order.
 * Only regular files are read (a FIFO or a device, as the file or through $INCLUDE, is refused
 * rather than waited on). Returns 0; MXG_EPARSE with "FILE:LINE: reason" in err on the first
 * syntax error or unreadable included file; MXG_EIO when the file cannot be read or is not a
 * regular file; or the callback's non-zero return (also from inside an included file). */
MXG_MUST_CHECK int mxg_zonefile_parse(const char *path, const char *origin, uint32_t default_ttl,
                                      mxg_zf_cb cb, void *ctx, char *err, size_t errlen);

/* mxg_zonefile_parse with the file read on a second thread, up to a few thousand records ahead
 * of cb, which runs on the calling thread, in file order, with the same results and messages
 * (a callback's failure stops the reading; a record after a syntax error is never passed).
 * Reads on the calling thread when no thread can be started. */
MXG_MUST_CHECK int mxg_zonefile_parse_ahead(const char *path, const char *origin,
                                            uint32_t default_ttl, mxg_zf_cb cb, void *ctx,
                                            char *err, size_t errlen);

#endif
