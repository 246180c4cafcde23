/* array.h -- the growable array of every module: a pointer, a count and a capacity (size_t) in
 * the module's own struct; MXG_ARRAY_RESERVE makes room, doubling. */
#ifndef MXG_ARRAY_H
#define MXG_ARRAY_H

#include <stddef.h>

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

#endif
