/* chain_cache.h -- the NSEC/NSEC3 chains (nsec.h) of the signed zones being served, kept for
 * as long as the store's generation says the data has not changed.
 *
 * A zone is signed when it has DNSSEC keys (cryptokeys); its chain is NSEC3 when it has
 * NSEC3PARAM metadata. Unsigned zones cost one check against the set of keyed zones, read once
 * per generation. Used on the thread that owns the store handle. */
#ifndef MXG_CHAIN_CACHE_H
#define MXG_CHAIN_CACHE_H

#include <stdint.h>

#include "mxg/err.h"
#include "mxg/nsec.h"
#include "mxg/store.h"

struct mxg_chain_cache;

struct mxg_chain_cache *mxg_chain_cache_new(void);
void mxg_chain_cache_free(struct mxg_chain_cache *cc);

/* The chain of zone zone_id as st holds it now: *out NULL when the zone is not signed. The
 * chain stays valid until the next call. Returns 0, MXG_ENOMEM or a store error. */
MXG_MUST_CHECK int mxg_chain_cache_get(struct mxg_chain_cache *cc, struct mxg_store *st,
                                       int64_t zone_id, const struct mxg_chain **out);

/* Forgets everything (after a write that the store's generation may not show). */
void mxg_chain_cache_clear(struct mxg_chain_cache *cc);

#endif
