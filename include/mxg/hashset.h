/* hashset.h -- the hash set of every hash table: an index over entries that live in the
 * caller's own array, found by their 64-bit hash (hash.h) and told apart by the caller.
 *
 * The set owns its slots and nothing else: entries are indices into the caller's array, which
 * the caller keeps, and a lookup returns candidates whose stored hash bits match; the caller
 * compares each with what it looks for. Each slot holds the low 32 bits of an entry's hash
 * (above) and the entry's index + 1 (below); 0 is an empty slot. An entry sits at its hash's
 * low 32 bits masked to the table (linear probing over a power-of-two number of slots, at most
 * half of them used), so growing needs nothing from the caller. There is no removal: the set is
 * emptied as a whole (mxg_hset_clear). Indices are below MXG_HSET_NONE; a set holds at most
 * MXG_HSET_MAX entries.
 *
 *     struct mxg_hset_probe p;
 *     for (uint32_t i = mxg_hset_first(&s->index, h, &p); i != MXG_HSET_NONE;
 *          i = mxg_hset_next(&p))
 *         if (strcmp(s->v[i], name) == 0)
 *             return i;
 */
#ifndef MXG_HASHSET_H
#define MXG_HASHSET_H

#include <stddef.h>
#include <stdint.h>

#include "mxg/err.h"

/* Zero-initialised: an empty set with no slots (lookups find nothing, nothing to free). */
struct mxg_hset {
    uint64_t *slots; /* nslots of them, owned; NULL while nslots is 0 */
    size_t nslots;   /* 0 or a power of two, at least twice n */
    size_t n;        /* entries inserted since the last clear */
};

/* No entry (the end of a lookup); also the first index the set refuses. */
#define MXG_HSET_NONE UINT32_MAX
/* The most entries a set holds. */
#define MXG_HSET_MAX ((size_t)UINT32_MAX - 1)

/* Makes room for n entries in all (not n more), so that inserting up to n allocates nothing.
 * MXG_OK, or MXG_ENOMEM (the allocation failed, or n is past MXG_HSET_MAX) with the set
 * unchanged. */
MXG_MUST_CHECK int mxg_hset_reserve(struct mxg_hset *s, size_t n);

/* Adds entry idx with hash h, making room first (mxg_hset_reserve(s, s->n + 1)). There is no
 * duplicate check: the caller looks first. MXG_OK; MXG_EINVAL for idx >= MXG_HSET_NONE or
 * MXG_ENOMEM, the set unchanged. */
MXG_MUST_CHECK int mxg_hset_insert(struct mxg_hset *s, uint64_t h, uint32_t idx);

/* A lookup in progress; it borrows the set, which must not change until the lookup ends. */
struct mxg_hset_probe {
    const struct mxg_hset *s;
    size_t i;     /* the slot of the last candidate */
    uint32_t tag; /* the low 32 bits of the hash looked for */
};

/* The next candidate from slot p->i on (p->i included), or MXG_HSET_NONE; for first and next
 * only. */
static inline uint32_t mxg_hset_scan_(struct mxg_hset_probe *p)
{
    const uint64_t *slots = p->s->slots;
    size_t mask = p->s->nslots - 1;
    for (size_t i = p->i;; i = (i + 1) & mask) {
        uint64_t v = slots[i];
        if (v == 0) {
            p->s = NULL; /* ended: mxg_hset_next gives MXG_HSET_NONE from now on */
            return MXG_HSET_NONE;
        }
        if ((uint32_t)(v >> 32) == p->tag) {
            p->i = i;
            return (uint32_t)v - 1;
        }
    }
}

/* Starts a lookup of hash h: the index of the first entry whose stored hash bits match h's,
 * or MXG_HSET_NONE. */
static inline uint32_t mxg_hset_first(const struct mxg_hset *s, uint64_t h,
                                      struct mxg_hset_probe *p)
{
    p->tag = (uint32_t)h;
    if (s->n == 0) {
        p->s = NULL;
        p->i = 0;
        return MXG_HSET_NONE;
    }
    p->s = s;
    p->i = (size_t)p->tag & (s->nslots - 1);
    return mxg_hset_scan_(p);
}

/* The next candidate of the lookup p, or MXG_HSET_NONE (also once it has returned that). */
static inline uint32_t mxg_hset_next(struct mxg_hset_probe *p)
{
    if (!p->s)
        return MXG_HSET_NONE;
    p->i = (p->i + 1) & (p->s->nslots - 1);
    return mxg_hset_scan_(p);
}

/* Empties the set and keeps its slots: nothing to do when it is empty, else one memset of the
 * slots (8 bytes each, however few entries there were: the set does not know where they are
 * without reading every slot, which costs as much). */
void mxg_hset_clear(struct mxg_hset *s);

/* The same for a set whose entries are 0 .. n-1 of the caller's array and few for its slots (a
 * cache reserved for its most, emptied often): hash_of(ctx, i) gives the hash entry i was
 * inserted with, and only those entries' slots are zeroed. A set more than an eighth full is
 * emptied with mxg_hset_clear. */
void mxg_hset_clear_entries(struct mxg_hset *s, uint64_t (*hash_of)(const void *ctx, uint32_t i),
                            const void *ctx);

/* Frees the slots and leaves an empty set (zeroed). */
void mxg_hset_free(struct mxg_hset *s);

#endif
