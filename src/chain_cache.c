/* chain_cache.c -- the chains of the signed zones, per store generation. */
#include "mxg/chain_cache.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxg/err.h"

#define SLOTS 8 /* zones whose chain is kept at once */

struct slot {
    int64_t zone_id;
    struct mxg_chain *chain;
    uint64_t used; /* for least-recently-used replacement */
};

struct mxg_chain_cache {
    uint64_t generation;
    bool valid;
    int64_t *keyed; /* sorted ids of the zones with keys */
    size_t nkeyed, capkeyed;
    struct slot slots[SLOTS];
    uint64_t clock;
};

struct mxg_chain_cache *mxg_chain_cache_new(void)
{
    return calloc(1, sizeof(struct mxg_chain_cache));
}

void mxg_chain_cache_clear(struct mxg_chain_cache *cc)
{
    for (size_t i = 0; i < SLOTS; i++) {
        mxg_chain_free(cc->slots[i].chain);
        cc->slots[i] = (struct slot){0};
    }
    cc->nkeyed = 0;
    cc->valid = false;
}

void mxg_chain_cache_free(struct mxg_chain_cache *cc)
{
    if (!cc)
        return;
    mxg_chain_cache_clear(cc);
    free(cc->keyed);
    free(cc);
}

static int keyed_add(void *ctx, const struct mxg_zone *z)
{
    struct mxg_chain_cache *cc = ctx;
    if (cc->nkeyed == cc->capkeyed) {
        size_t cap = cc->capkeyed * 2 + 16;
        int64_t *k = realloc(cc->keyed, cap * sizeof(*k));
        if (!k)
            return MXG_ENOMEM;
        cc->keyed = k;
        cc->capkeyed = cap;
    }
    cc->keyed[cc->nkeyed++] = z->id;
    return 0;
}

static int id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- building one chain from the store ---------------------------------------------------- */

struct collect {
    struct mxg_chain_rr *rrs;
    size_t n, cap;
};

static int collect_rr(void *ctx, const struct mxg_record *rec)
{
    struct collect *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap * 2 + 64;
        struct mxg_chain_rr *r = realloc(c->rrs, cap * sizeof(*r));
        if (!r)
            return MXG_ENOMEM;
        c->rrs = r;
        c->cap = cap;
    }
    char *name = strdup(rec->name), *type = strdup(rec->type);
    if (!name || !type) {
        free(name);
        free(type);
        return MXG_ENOMEM;
    }
    c->rrs[c->n++] = (struct mxg_chain_rr){.name = name, .type = type};
    return 0;
}

static int first_value(void *ctx, const char *kind, const char *value)
{
    (void)kind;
    char *out = ctx;
    if (!out[0])
        snprintf(out, 600, "%s", value);
    return 0;
}

static int build(struct mxg_store *st, int64_t zone_id, struct mxg_chain **out)
{
    struct mxg_zone z;
    char param[600] = "";
    struct collect c = {0};
    *out = NULL;
    int rc = MXG_STORE_CALL(st, zone_get_by_id, zone_id, &z);
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL(st, meta_list, zone_id, "NSEC3PARAM", first_value, param);
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL(st, list, zone_id, collect_rr, &c);
    struct mxg_nsec3param p;
    bool nsec3 = rc == MXG_OK && param[0] && mxg_nsec3param_parse(param, &p) == MXG_OK;
    if (rc == MXG_OK) {
        *out = mxg_chain_build(z.name, c.rrs, c.n, nsec3 ? &p : NULL);
        if (!*out)
            rc = MXG_ENOMEM;
    }
    for (size_t i = 0; i < c.n; i++) {
        free((char *)(uintptr_t)c.rrs[i].name);
        free((char *)(uintptr_t)c.rrs[i].type);
    }
    free(c.rrs);
    return rc;
}

int mxg_chain_cache_get(struct mxg_chain_cache *cc, struct mxg_store *st, int64_t zone_id,
                        const struct mxg_chain **out)
{
    *out = NULL;
    uint64_t gen = mxg_store_generation(st);
    if (!cc->valid || gen != cc->generation) {
        mxg_chain_cache_clear(cc);
        int rc = MXG_STORE_CALL(st, keyed_zones, keyed_add, cc);
        if (rc != MXG_OK) {
            cc->nkeyed = 0;
            return rc;
        }
        if (cc->nkeyed)
            qsort(cc->keyed, cc->nkeyed, sizeof(*cc->keyed), id_cmp);
        cc->generation = gen;
        cc->valid = true;
    }
    if (!cc->nkeyed || !bsearch(&zone_id, cc->keyed, cc->nkeyed, sizeof(int64_t), id_cmp))
        return MXG_OK;
    struct slot *victim = &cc->slots[0];
    for (size_t i = 0; i < SLOTS; i++) {
        struct slot *sl = &cc->slots[i];
        if (sl->chain && sl->zone_id == zone_id) {
            sl->used = ++cc->clock;
            *out = sl->chain;
            return MXG_OK;
        }
        if (!sl->chain || sl->used < victim->used)
            victim = sl;
    }
    struct mxg_chain *chain;
    int rc = build(st, zone_id, &chain);
    if (rc != MXG_OK)
        return rc;
    mxg_chain_free(victim->chain);
    *victim = (struct slot){.zone_id = zone_id, .chain = chain, .used = ++cc->clock};
    *out = chain;
    return MXG_OK;
}
