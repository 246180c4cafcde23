/* hashset.c -- the hash set of every hash table (hashset.h). */
#include "mxg/hashset.h"

#include <stdlib.h>
#include <string.h>

#include "mxg/err.h"

/* The first table: room for 16 entries. */
#define FIRST_SLOTS 32

static void place(uint64_t *slots, size_t nslots, uint64_t v)
{
    size_t mask = nslots - 1;
    size_t i = (size_t)(uint32_t)(v >> 32) & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = v;
}

int mxg_hset_reserve(struct mxg_hset *s, size_t n)
{
    if (n > MXG_HSET_MAX)
        return MXG_ENOMEM;
    if (n <= s->nslots / 2)
        return MXG_OK;
    size_t ns = s->nslots ? s->nslots : FIRST_SLOTS;
    while (ns / 2 < n) {
        if (ns > SIZE_MAX / 2)
            return MXG_ENOMEM;
        ns *= 2;
    }
    if (ns > SIZE_MAX / sizeof(uint64_t))
        return MXG_ENOMEM;
    uint64_t *slots = calloc(ns, sizeof(*slots));
    if (!slots)
        return MXG_ENOMEM;
    for (size_t k = 0; k < s->nslots; k++)
        if (s->slots[k])
            place(slots, ns, s->slots[k]);
    free(s->slots);
    s->slots = slots;
    s->nslots = ns;
    return MXG_OK;
}

int mxg_hset_insert(struct mxg_hset *s, uint64_t h, uint32_t idx)
{
    if (idx >= MXG_HSET_NONE)
        return MXG_EINVAL;
    int rc = mxg_hset_reserve(s, s->n + 1);
    if (rc != MXG_OK)
        return rc;
    place(s->slots, s->nslots, (uint64_t)(uint32_t)h << 32 | ((uint64_t)idx + 1));
    s->n++;
    return MXG_OK;
}

void mxg_hset_clear(struct mxg_hset *s)
{
    if (s->n == 0)
        return;
    memset(s->slots, 0, s->nslots * sizeof(*s->slots));
    s->n = 0;
}

void mxg_hset_clear_entries(struct mxg_hset *s, uint64_t (*hash_of)(const void *ctx, uint32_t i),
                            const void *ctx)
{
    if (s->n * 8 >= s->nslots) {
        mxg_hset_clear(s);
        return;
    }
    size_t mask = s->nslots - 1;
    for (size_t i = 0; i < s->n; i++) {
        uint32_t tag = (uint32_t)hash_of(ctx, (uint32_t)i);
        uint64_t want = ((uint64_t)tag << 32) | (uint64_t)(i + 1);
        /* Entry i sits at or after its home slot; the slots of entries already zeroed may lie
         * between, so the walk goes on past empty ones (bounded: every slot once). */
        size_t j = tag & mask;
        for (size_t k = 0; k < s->nslots && s->slots[j] != want; k++)
            j = (j + 1) & mask;
        if (s->slots[j] == want)
            s->slots[j] = 0;
    }
    s->n = 0;
}

void mxg_hset_free(struct mxg_hset *s)
{
    free(s->slots);
    *s = (struct mxg_hset){0};
}
