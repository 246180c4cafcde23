/* nsec.h -- what a signed zone's denial of existence needs from the backend (no I/O).
 *
 * pdns 4.7 signs online and asks a remote backend two things it cannot work out itself: the
 * auth flag of each record (0 for a delegation's NS and glue, and for everything below a zone
 * cut; a DS at the cut stays 1) and, through getBeforeAndAfterNamesAbsolute, the neighbours of
 * a name in the zone's NSEC or NSEC3 chain. pdns never sends updateDNSSECOrderNameAndAuth to a
 * remote backend, so mxguard works both out from the zone's data.
 *
 * The chain holds exactly the names that pdns's own rectify (DNSSECKeeper::rectifyZone) gives
 * an ordername in its generic-SQL backends, so that pdns on mxguard and pdns on gsqlite3 deny
 * the same names with the same records:
 *  - NSEC: every name with a record, except that at a zone cut and below one A and AAAA records
 *    do not count (glue); empty non-terminals are not in the chain.
 *  - NSEC3: the names of every record not below a cut (and, with opt-out, not an NS record)
 *    and all their ancestors up to the apex, empty non-terminals included; at a cut and below,
 *    A and AAAA do not count, nor (opt-out, no DS) the NS. */
#ifndef MXG_NSEC_H
#define MXG_NSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxg/err.h"

#define MXG_NSEC3_HASH_TEXT 33 /* 32 base32hex digits + NUL */

/* NSEC3PARAM metadata: "1 0 1 ab12" (algorithm, flags, iterations, salt in hex or "-"). */
struct mxg_nsec3param {
    uint8_t algorithm; /* 1: SHA-1, the only one */
    uint8_t flags;     /* bit 0: opt-out */
    uint16_t iterations;
    uint8_t salt[255];
    size_t saltlen;
};

/* Parses the metadata text. Returns 0 or MXG_EINVAL. */
MXG_MUST_CHECK int mxg_nsec3param_parse(const char *text, struct mxg_nsec3param *out);

/* The NSEC3 hash (RFC 5155 §5) of a canonical name as pdns writes it: base32hex, lowercase.
 * Returns 0, MXG_EINVAL (name does not parse, algorithm not 1) or MXG_ENOMEM. */
MXG_MUST_CHECK int mxg_nsec3_hash(const char *canon, const struct mxg_nsec3param *p,
                                  char out[MXG_NSEC3_HASH_TEXT]);

/* One record of the zone, as far as the chain cares: owner (canonical) and type mnemonic. */
struct mxg_chain_rr {
    const char *name;
    const char *type;
};

struct mxg_chain;

/* Builds the chain of zone apex (canonical) from its records (any order, duplicates fine;
 * "ENT" rows are ignored: empty non-terminals are derived). p: NSEC3 parameters, or NULL for
 * NSEC. Returns NULL when out of memory or a name does not parse. */
struct mxg_chain *mxg_chain_build(const char *apex, const struct mxg_chain_rr *rrs, size_t n,
                                  const struct mxg_nsec3param *p);
void mxg_chain_free(struct mxg_chain *c);

/* The auth flag pdns needs for a record of type at name (canonical, inside the zone): false at
 * a zone cut (except DS) and below one. */
bool mxg_chain_auth(const struct mxg_chain *c, const char *name, const char *type);

/* True when the zone has a cut (a non-apex NS): without one every record is auth. */
bool mxg_chain_has_cuts(const struct mxg_chain *c);

/* NSEC: the chain's name equal to or before qname (canonical, absolute) in canonical order, and
 * the one after it, both wrapping around; borrowed canonical names. MXG_ENOENT: empty chain. */
MXG_MUST_CHECK int mxg_chain_nsec(const struct mxg_chain *c, const char *qname, const char **before,
                                  const char **after);

/* NSEC3: the chain's hash equal to or before hash (base32hex, any case) and the one after,
 * wrapping, and the owner name of the first. MXG_ENOENT: empty chain; MXG_EINVAL: the chain is
 * an NSEC one. */
MXG_MUST_CHECK int mxg_chain_nsec3(const struct mxg_chain *c, const char *hash, const char **before,
                                   const char **after, const char **before_owner);

/* Number of names in the chain. */
size_t mxg_chain_size(const struct mxg_chain *c);

#endif
