/* array.c -- the growable array of every module, and sorting strings (array.h). */
#include "mxg/array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mxg/err.h"

int mxg_array_grow(void *vp, size_t *cap, size_t need, size_t elem, size_t first)
{
    size_t ncap = *cap ? *cap : (first ? first : 1);
    if (ncap == 0)
        return MXG_EINVAL;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return MXG_ENOMEM;
        ncap *= 2;
    }
    if (elem == 0 || ncap > SIZE_MAX / elem)
        return elem == 0 ? MXG_EINVAL : MXG_ENOMEM;
    /* The array pointer is read and written as bytes: vp points at a pointer of some object
     * type, which has void *'s representation on every platform mxguard builds for. */
    void *old = NULL;
    memcpy(&old, vp, sizeof(old));
    void *nv = realloc(old, ncap * elem);
    if (!nv)
        return MXG_ENOMEM;
    memcpy(vp, &nv, sizeof(nv));
    *cap = ncap;
    return MXG_OK;
}

static int strsort_cmp(const void *a, const void *b)
{
    const struct mxg_strsort_item *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    /* The same first 8 bytes (or the whole string, when shorter: a NUL in the key ends both). */
    if ((x->key & 0xff) == 0)
        return 0;
    return strcmp(x->s + 8, y->s + 8);
}

void mxg_strsort(struct mxg_strsort_item *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof(*v), strsort_cmp);
}
