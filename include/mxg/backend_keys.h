/* backend_keys.h -- pdns's DNSSEC key and TSIG methods (remote-dnssec=yes) over the store.
 *
 * getDomainKeys, addDomainKey, removeDomainKey, (de)activateDomainKey, (un)publishDomainKey,
 * getTSIGKey, getTSIGKeys, setTSIGKey and deleteTSIGKey, answered from pdns's own cryptokeys
 * and tsigkeys tables, so a gsqlite3 database with keys is served as it is.
 *
 * Every change is its own store transaction (it does not join a pdns transaction that is open
 * on the connection: pdns commits keys at once too) and writes one audit record in it, source
 * "dnssec", with a "keys" member naming the change and the key -- never its material:
 *   {"action": "add"|"remove"|"activate"|"deactivate"|"publish"|"unpublish",
 *    "key": {"id", "flags", "role": "KSK"|"ZSK", "algorithm", "algorithm_name", "active",
 *            "published"}}          (zone: the key's zone; the key's state after the change,
 *                                    for a removal its last state)
 *   {"action": "tsig-add"|"tsig-replace"|"tsig-delete",
 *    "tsig": {"name", "algorithm"}, and for tsig-replace "before": {"algorithm"} and
 *    "secret_changed": bool}         (zone "." : TSIG keys belong to the server, not a zone)
 * A request that changes nothing (activating an active key, setting a TSIG key to what it is)
 * answers true and writes no record. Bad input is answered {"result": false, "log": [...]} and
 * changes nothing. */
#ifndef MXG_BACKEND_KEYS_H
#define MXG_BACKEND_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/proto.h"
#include "mxg/store.h"

/* Input limits: the ISC private-key text of a DNSSEC key (an RSA-4096 key takes some 3.3 KiB)
 * and the base64 secret of a TSIG key (HMAC-SHA512's 64 octets take 88). */
#define MXG_KEY_CONTENT_MAX 16384
#define MXG_TSIG_SECRET_MAX 512

/* True for the methods mxg_keys_handle answers. */
bool mxg_keys_method(enum mxg_method m);

/* Answers one of those methods through st (a handle of the loop thread: changes commit there,
 * as setDomainMetadata's do). cfg gives the audit record's mode and audit-syslog. Sets r's
 * result (false with a log line on bad input, an unknown zone or key, a store failure) and
 * *failed when the answer is such a failure. Returns 0, or MXG_ENOMEM. */
MXG_MUST_CHECK int mxg_keys_handle(struct mxg_store *st, const struct mxg_config *cfg,
                                   const struct mxg_request *req, struct mxg_reply *r,
                                   bool *failed);

/* In the open store transaction that deletes zone z (before its rows go): one audit record
 * (source dnssec, keys.action "zone-delete", keys.keys: id, flags, role, algorithm, active and
 * published of each, never key material) of the DNSSEC keys the deletion removes with the zone;
 * none when it has no key (*seq 0). The caller commits, or rolls back on an error. */
MXG_MUST_CHECK int mxg_keys_audit_zone_delete(struct mxg_store *st, const struct mxg_config *cfg,
                                              const struct mxg_zone *z, int64_t *seq);

/* The DNSSEC algorithm number of an ISC private-key text ("Algorithm: 13 (ECDSAP256SHA256)"):
 * 0 and *alg set, or MXG_EINVAL when content is not such a text. Any number is returned;
 * mxg_key_algorithm_name tells the ones pdns signs with. */
MXG_MUST_CHECK int mxg_key_algorithm(const char *content, unsigned *alg);
/* "RSASHA256", "ECDSAP256SHA256", ... for the algorithms pdns signs with; NULL for others. */
const char *mxg_key_algorithm_name(unsigned alg);

/* Checks a DNSSEC key's content as addDomainKey receives it (len bytes): printable ASCII
 * lines, at most MXG_KEY_CONTENT_MAX bytes, "Private-key-format: v1.x" first and an algorithm
 * pdns signs with. 0, or MXG_EINVAL with the reason in why (never quoting the content). */
MXG_MUST_CHECK int mxg_key_content_check(const char *content, size_t len, unsigned *alg, char *why,
                                         size_t whylen);

/* A TSIG algorithm name as pdns knows it (any case, trailing dot or not) in its stored form
 * ("hmac-sha256"): 0, or MXG_EINVAL for a name outside hmac-md5 (also as
 * hmac-md5.sig-alg.reg.int), hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512. */
MXG_MUST_CHECK int mxg_tsig_algorithm(const char *in, char *out, size_t outlen);

/* True when s is non-empty padded base64 of at most MXG_TSIG_SECRET_MAX characters. */
bool mxg_tsig_secret_ok(const char *s, size_t len);

#endif
