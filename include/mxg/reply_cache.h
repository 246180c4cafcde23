/* reply_cache.h -- lookup replies kept as bytes, for the same question asked again.
 *
 * A lookup (qname, qtype, zone-id) outside a transaction is answered with the bytes of the
 * previous reply to it as long as the store's generation has not changed, i.e. nothing was
 * committed in between. Plain qnames (printable ASCII, no '"' or '\\') are keyed case-folded:
 * pdns passes the question's case through, and a reply made for one spelling is given to
 * another with the spelling's qname written over the cached one's. Bounded in entries and
 * bytes; emptied when full. Single-threaded: the loop thread owns it. */
#ifndef MXG_REPLY_CACHE_H
#define MXG_REPLY_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxg/err.h"
#include "mxg/proto.h"

#define MXG_CACHE_KEY_MAX 600

struct mxg_reply_cache;

/* The key of one lookup: "qtype NUL zone-id NUL qname" (bytes with a length, not a string),
 * its hash, and the qname as asked (borrowed from the request). */
struct mxg_cache_key {
    char key[MXG_CACHE_KEY_MAX];
    size_t len;
    uint64_t hash;
    const char *qname;
    size_t qlen;
};

/* NULL on allocation failure. The caller frees with mxg_reply_cache_free (NULL is fine). */
struct mxg_reply_cache *mxg_reply_cache_new(void);
void mxg_reply_cache_free(struct mxg_reply_cache *c);

/* Fills k for a lookup request: true, or false when the request is not to be cached (a
 * parameter missing or odd: the handler answers those). */
bool mxg_reply_cache_key(const struct mxg_request *req, struct mxg_cache_key *k);

/* A cached reply for k made at store generation gen (an older generation empties the cache
 * first): MXG_OK with *reply (malloc'd, the caller frees) and *len, MXG_ENOENT, or MXG_ENOMEM. */
MXG_MUST_CHECK int mxg_reply_cache_get(struct mxg_reply_cache *c, uint64_t gen,
                                       const struct mxg_cache_key *k, char **reply, size_t *len);

/* Keeps a copy of reply for k, made at generation gen. Nothing is kept unless gen is the
 * generation of the last get (the store did not change while the reply was made), nor when the
 * reply is too large or memory is short. */
void mxg_reply_cache_put(struct mxg_reply_cache *c, uint64_t gen, const struct mxg_cache_key *k,
                         const char *reply, size_t len);

#endif
