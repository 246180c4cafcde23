/* array.h -- the growable array of every module: a pointer, a count and a capacity (size_t) in
 * the module's own struct; MXG_ARRAY_RESERVE makes room, doubling. And sorting strings. */
#ifndef MXG_ARRAY_H
#define MXG_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "mxg/err.h"

/* Makes *vp (the address of an array pointer of elem-sized elements, *cap of them allocated)
 * hold at least need elements: the capacity doubles, starting at first. MXG_OK, or MXG_ENOMEM
 * with the array and *cap unchanged. */
MXG_MUST_CHECK int mxg_array_grow(void *vp, size_t *cap, size_t need, size_t elem, size_t first);

/* MXG_ARRAY_RESERVE's body: a function, so that a dropped result is caught as for any call. */
static inline MXG_MUST_CHECK int mxg_array_reserve(void *vp, size_t *cap, size_t need, size_t elem,
                                                   size_t first)
{
    return need <= *cap ? MXG_OK : mxg_array_grow(vp, cap, need, elem, first);
}

/* MXG_ARRAY_RESERVE(l->v, l->cap, l->n + 1, 8): room for one more in l->v. */
#define MXG_ARRAY_RESERVE(v, cap, need, first)                                                     \
    mxg_array_reserve(&(v), &(cap), (need), sizeof(*(v)), (first))

/* A string to sort (and what it belongs to): mxg_strsort() orders by strcmp(s), comparing the
 * first 8 bytes as one number first (key, set by mxg_strsort_item()), which settles most pairs
 * of a zone's names without reading them again. */
struct mxg_strsort_item {
    uint64_t key;
    const char *s;
    const void *data;
};

static inline struct mxg_strsort_item mxg_strsort_item(const char *s, const void *data)
{
    struct mxg_strsort_item it = {0, s, data};
    for (int i = 0; i < 8 && s[i]; i++)
        it.key |= (uint64_t)(unsigned char)s[i] << (56 - 8 * i);
    return it;
}

/* Sorts v[0..n) by strcmp of their s, as qsort would (equal strings in no particular order). */
void mxg_strsort(struct mxg_strsort_item *v, size_t n);

#endif
