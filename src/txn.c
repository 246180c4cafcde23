/* txn.c -- buffered write transactions with a read-your-writes overlay. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mxg/array.h"
#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/hash.h"
#include "mxg/hashset.h"
#include "mxg/limits.h"
#include "mxg/txn.h"

struct meta_change {
    char *kind;
    char **values;
    size_t n;
};

struct mxg_txn {
    int64_t zone_id;
    char *zone;
    bool wipe;
    int64_t trxid;
    bool poisoned;
    char *poison;                       /* the first reason (NULL if it could not be copied) */
    char *poison_name, *poison_content; /* the refused write's, or NULL */
    struct mxg_txn_name *names;
    size_t n_names, cap_names;
    struct mxg_hset index; /* names by the hash of the name */
    size_t records;
    struct meta_change *meta;
    size_t n_meta;
    /* mxg_txn_referrers' index: (hash of type and target, name index), sorted. */
    struct ref_entry *refs;
    size_t n_refs;
    bool refs_valid;
};

struct ref_entry {
    uint64_t h;
    size_t name;
};

int mxg_txn_new(int64_t zone_id, const char *zone, bool wipe, int64_t trxid, struct mxg_txn **out)
{
    struct mxg_txn *t = calloc(1, sizeof(*t));
    if (!t)
        return MXG_ENOMEM;
    t->zone = strdup(zone);
    if (!t->zone || mxg_hset_reserve(&t->index, 32) != MXG_OK) {
        mxg_txn_free(t);
        return MXG_ENOMEM;
    }
    t->zone_id = zone_id;
    t->wipe = wipe;
    t->trxid = trxid;
    *out = t;
    return MXG_OK;
}

static void free_rec(struct mxg_txn_rec *r)
{
    free(r->type);
    free(r->content);
}

void mxg_txn_free(struct mxg_txn *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_names; i++) {
        struct mxg_txn_name *e = &t->names[i];
        free(e->name);
        for (size_t j = 0; j < e->n_del; j++)
            free(e->del_types[j]);
        free(e->del_types);
        for (size_t j = 0; j < e->n_add; j++)
            free_rec(&e->add[j]);
        free(e->add);
    }
    for (size_t i = 0; i < t->n_meta; i++) {
        free(t->meta[i].kind);
        for (size_t j = 0; j < t->meta[i].n; j++)
            free(t->meta[i].values[j]);
        free(t->meta[i].values);
    }
    free(t->meta);
    free(t->refs);
    free(t->names);
    mxg_hset_free(&t->index);
    free(t->zone);
    free(t->poison);
    free(t->poison_name);
    free(t->poison_content);
    free(t);
}

int64_t mxg_txn_zone_id(const struct mxg_txn *t)
{
    return t->zone_id;
}

const char *mxg_txn_zone(const struct mxg_txn *t)
{
    return t->zone;
}

int64_t mxg_txn_trxid(const struct mxg_txn *t)
{
    return t->trxid;
}

bool mxg_txn_wipes(const struct mxg_txn *t)
{
    return t->wipe;
}

void mxg_txn_poison(struct mxg_txn *t, const char *reason)
{
    mxg_txn_poison_write(t, NULL, NULL, reason);
}

void mxg_txn_poison_write(struct mxg_txn *t, const char *name, const char *content,
                          const char *reason)
{
    if (t->poisoned)
        return;
    t->poisoned = true;
    t->poison = strdup(reason ? reason : "a write failed");
    /* A copy that fails leaves NULL: the audit then names the zone, or gives the reason. */
    t->poison_name = name ? strdup(name) : NULL;
    t->poison_content = content ? strdup(content) : NULL;
}

const char *mxg_txn_poison_name(const struct mxg_txn *t)
{
    return t->poisoned ? t->poison_name : NULL;
}

const char *mxg_txn_poison_content(const struct mxg_txn *t)
{
    return t->poisoned ? t->poison_content : NULL;
}

const char *mxg_txn_poisoned(const struct mxg_txn *t)
{
    if (!t->poisoned)
        return NULL;
    return t->poison ? t->poison : "a write failed";
}

size_t mxg_txn_record_count(const struct mxg_txn *t)
{
    return t->records;
}

bool mxg_txn_empty(const struct mxg_txn *t)
{
    return !t->wipe && t->n_names == 0 && t->n_meta == 0;
}

size_t mxg_txn_name_count(const struct mxg_txn *t)
{
    return t->n_names;
}

const struct mxg_txn_name *mxg_txn_name_at(const struct mxg_txn *t, size_t i)
{
    return i < t->n_names ? &t->names[i] : NULL;
}

/* ---- the name table ------------------------------------------------------------------- */

static struct mxg_txn_name *find_hashed(const struct mxg_txn *t, const char *name, uint64_t h)
{
    struct mxg_hset_probe p;
    for (uint32_t i = mxg_hset_first(&t->index, h, &p); i != MXG_HSET_NONE; i = mxg_hset_next(&p))
        if (strcmp(t->names[i].name, name) == 0)
            return &t->names[i];
    return NULL;
}

static struct mxg_txn_name *find(const struct mxg_txn *t, const char *name)
{
    return find_hashed(t, name, mxg_hash_str(name));
}

static int get_or_add(struct mxg_txn *t, const char *name, struct mxg_txn_name **out)
{
    uint64_t h = mxg_hash_str(name);
    struct mxg_txn_name *e = find_hashed(t, name, h);
    if (e) {
        *out = e;
        return MXG_OK;
    }
    if (mxg_hset_reserve(&t->index, t->n_names + 1) != MXG_OK ||
        MXG_ARRAY_RESERVE(t->names, t->cap_names, t->n_names + 1, 16) != MXG_OK)
        return MXG_ENOMEM;
    e = &t->names[t->n_names];
    memset(e, 0, sizeof(*e));
    e->name = strdup(name);
    if (!e->name)
        return MXG_ENOMEM;
    int rc = mxg_hset_insert(&t->index, h, (uint32_t)t->n_names); /* room made above: MXG_OK */
    if (rc != MXG_OK) {
        free(e->name);
        e->name = NULL;
        return rc;
    }
    t->n_names++;
    *out = e;
    return MXG_OK;
}

static bool deletes_type(const struct mxg_txn_name *e, const char *type)
{
    if (e->cleared)
        return true;
    for (size_t i = 0; i < e->n_del; i++)
        if (strcmp(e->del_types[i], type) == 0)
            return true;
    return false;
}

const struct mxg_txn_name *mxg_txn_name_get(const struct mxg_txn *t, const char *name)
{
    return find(t, name);
}

bool mxg_txn_name_drops(const struct mxg_txn_name *e, const char *type)
{
    return deletes_type(e, type);
}

/* The canonical target of MX ("10 host"), CNAME, ALIAS or DNAME ("host") content. */
static int ref_target(const char *type, const char *content, char *out, size_t outlen)
{
    const char *p = content;
    if (strcmp(type, "MX") == 0) {
        while (*p >= '0' && *p <= '9')
            p++;
        while (*p == ' ' || *p == '\t')
            p++;
    }
    return mxg_name_canon(p, out, outlen);
}

static bool is_ref_type(const char *type)
{
    return strcmp(type, "MX") == 0 || strcmp(type, "CNAME") == 0 || strcmp(type, "ALIAS") == 0 ||
           strcmp(type, "DNAME") == 0;
}

static uint64_t ref_hash(const char *type, const char *target)
{
    uint64_t h = mxg_hash_str(type) * 31;
    return h ^ mxg_hash_str(target);
}

static int ref_cmp(const void *a, const void *b)
{
    const struct ref_entry *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->name < y->name ? -1 : (x->name > y->name);
}

static int refs_build(struct mxg_txn *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n_names; i++)
        for (size_t j = 0; j < t->names[i].n_add; j++)
            n += is_ref_type(t->names[i].add[j].type);
    struct ref_entry *refs = malloc((n ? n : 1) * sizeof(*refs));
    if (!refs)
        return MXG_ENOMEM;
    n = 0;
    for (size_t i = 0; i < t->n_names; i++) {
        const struct mxg_txn_name *e = &t->names[i];
        for (size_t j = 0; j < e->n_add; j++) {
            char target[MXG_NAME_TEXT_MAX];
            if (is_ref_type(e->add[j].type) &&
                ref_target(e->add[j].type, e->add[j].content, target, sizeof(target)) == MXG_OK)
                refs[n++] = (struct ref_entry){.h = ref_hash(e->add[j].type, target), .name = i};
        }
    }
    qsort(refs, n, sizeof(*refs), ref_cmp);
    free(t->refs);
    t->refs = refs;
    t->n_refs = n;
    t->refs_valid = true;
    return MXG_OK;
}

static bool adds_ref(const struct mxg_txn_name *e, const char *type, const char *target)
{
    for (size_t j = 0; j < e->n_add; j++) {
        char t[MXG_NAME_TEXT_MAX];
        if (strcmp(e->add[j].type, type) == 0 &&
            ref_target(type, e->add[j].content, t, sizeof(t)) == MXG_OK && strcmp(t, target) == 0)
            return true;
    }
    return false;
}

int mxg_txn_referrers(struct mxg_txn *t, const char *type, const char *target,
                      int (*cb)(void *ctx, const struct mxg_txn_name *e), void *ctx)
{
    if (!t->refs_valid && refs_build(t) != MXG_OK)
        return MXG_ENOMEM;
    uint64_t h = ref_hash(type, target);
    size_t lo = 0, hi = t->n_refs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->refs[mid].h < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < t->n_refs && t->refs[i].h == h; i++) {
        if (i > lo && t->refs[i].name == t->refs[i - 1].name)
            continue;
        const struct mxg_txn_name *e = &t->names[t->refs[i].name];
        if (!adds_ref(e, type, target)) /* a hash collision */
            continue;
        int rc = cb(ctx, e);
        if (rc != 0)
            return rc;
    }
    return MXG_OK;
}

/* True when e adds, before its record j, a record of type with the canonical target target. */
static bool adds_ref_before(const struct mxg_txn_name *e, size_t j, const char *type,
                            const char *target)
{
    for (size_t k = 0; k < j; k++) {
        char t[MXG_NAME_TEXT_MAX];
        if (strcmp(e->add[k].type, type) == 0 &&
            ref_target(type, e->add[k].content, t, sizeof(t)) == MXG_OK && strcmp(t, target) == 0)
            return true;
    }
    return false;
}

int mxg_txn_referrers_below(struct mxg_txn *t, const char *type, const char *root,
                            int (*cb)(void *ctx, const struct mxg_txn_name *e, const char *target),
                            void *ctx)
{
    char r[MXG_NAME_TEXT_MAX];
    if (!is_ref_type(type) || mxg_name_canon(root, r, sizeof(r)) != MXG_OK)
        return MXG_EINVAL;
    /* A transaction that adds no MX, CNAME, ALIAS or DNAME (a bulk of TXT or A records) has
     * nothing to look through. */
    if (!t->refs_valid) {
        int rc = refs_build(t);
        if (rc != MXG_OK)
            return rc;
    }
    if (t->n_refs == 0)
        return MXG_OK;
    for (size_t i = 0; i < t->n_names; i++) {
        const struct mxg_txn_name *e = &t->names[i];
        for (size_t j = 0; j < e->n_add; j++) {
            char target[MXG_NAME_TEXT_MAX];
            if (strcmp(e->add[j].type, type) != 0 ||
                ref_target(type, e->add[j].content, target, sizeof(target)) != MXG_OK ||
                strcmp(target, ".") == 0 || !mxg_name_is_below(target, r) ||
                adds_ref_before(e, j, type, target)) /* "10 mx" and "20 mx": one target */
                continue;
            int rc = cb(ctx, e, target);
            if (rc != 0)
                return rc;
        }
    }
    return MXG_OK;
}

static bool has_added(const struct mxg_txn_name *e, const char *type, const char *content)
{
    for (size_t i = 0; i < e->n_add; i++)
        if (strcmp(e->add[i].type, type) == 0 && strcmp(e->add[i].content, content) == 0)
            return true;
    return false;
}

static int append_rec(struct mxg_txn *t, struct mxg_txn_name *e, const struct mxg_txn_rec *r)
{
    for (size_t i = 0; i < e->n_add; i++) {
        if (strcmp(e->add[i].type, r->type) == 0 && strcmp(e->add[i].content, r->content) == 0) {
            e->add[i].ttl = r->ttl; /* a duplicate only updates the TTL */
            return MXG_OK;
        }
    }
    if (t->records >= MXG_TXN_RECORDS_MAX)
        return MXG_ERANGE;
    if (MXG_ARRAY_RESERVE(e->add, e->cap_add, e->n_add + 1, 4) != MXG_OK)
        return MXG_ENOMEM;
    struct mxg_txn_rec *dst = &e->add[e->n_add];
    dst->type = strdup(r->type);
    dst->content = strdup(r->content);
    dst->ttl = r->ttl;
    dst->auth = r->auth;
    if (!dst->type || !dst->content) {
        free_rec(dst);
        return MXG_ENOMEM;
    }
    e->n_add++;
    t->records++;
    return MXG_OK;
}

int mxg_txn_replace(struct mxg_txn *t, const char *name, const char *type,
                    const struct mxg_txn_rec *recs, size_t n)
{
    struct mxg_txn_name *e = NULL;
    t->refs_valid = false;
    int rc = get_or_add(t, name, &e);
    if (rc != MXG_OK)
        return rc;
    /* Drop what was buffered for this (name, type), then remember the deletion. */
    size_t keep = 0;
    for (size_t i = 0; i < e->n_add; i++) {
        if (!type || strcmp(e->add[i].type, type) == 0) {
            free_rec(&e->add[i]);
            t->records--;
        } else {
            e->add[keep++] = e->add[i];
        }
    }
    e->n_add = keep;
    if (!type) {
        e->cleared = true;
    } else if (!deletes_type(e, type)) {
        char **nd = realloc(e->del_types, (e->n_del + 1) * sizeof(*nd));
        if (!nd)
            return MXG_ENOMEM;
        e->del_types = nd;
        if (!(nd[e->n_del] = strdup(type)))
            return MXG_ENOMEM;
        e->n_del++;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = append_rec(t, e, &recs[i])) != MXG_OK)
            return rc;
    return MXG_OK;
}

int mxg_txn_add(struct mxg_txn *t, const char *name, const struct mxg_txn_rec *rec)
{
    struct mxg_txn_name *e = NULL;
    t->refs_valid = false;
    int rc = get_or_add(t, name, &e);
    return rc == MXG_OK ? append_rec(t, e, rec) : rc;
}

int mxg_txn_meta_set(struct mxg_txn *t, const char *kind, const char *const *values, size_t n)
{
    struct meta_change *m = NULL;
    for (size_t i = 0; i < t->n_meta; i++)
        if (strcasecmp(t->meta[i].kind, kind) == 0)
            m = &t->meta[i];
    if (!m) {
        struct meta_change *nm = realloc(t->meta, (t->n_meta + 1) * sizeof(*nm));
        if (!nm)
            return MXG_ENOMEM;
        t->meta = nm;
        m = &t->meta[t->n_meta];
        memset(m, 0, sizeof(*m));
        if (!(m->kind = strdup(kind)))
            return MXG_ENOMEM;
        t->n_meta++;
    }
    char **vals = calloc(n ? n : 1, sizeof(*vals));
    if (!vals)
        return MXG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!(vals[i] = strdup(values[i]))) {
            for (size_t j = 0; j < i; j++)
                free(vals[j]);
            free(vals);
            return MXG_ENOMEM;
        }
    }
    for (size_t j = 0; j < m->n; j++)
        free(m->values[j]);
    free(m->values);
    m->values = vals;
    m->n = n;
    return MXG_OK;
}

size_t mxg_txn_meta_count(const struct mxg_txn *t)
{
    return t->n_meta;
}

void mxg_txn_meta_at(const struct mxg_txn *t, size_t i, const char **kind,
                     const char *const **values, size_t *n)
{
    *kind = t->meta[i].kind;
    *values = (const char *const *)t->meta[i].values;
    *n = t->meta[i].n;
}

/* ---- overlay reads -------------------------------------------------------------------- */

struct filter_ctx {
    const struct mxg_txn_name *e;
    const char *type;
    mxg_record_cb cb;
    void *ctx;
};

static int base_filter(void *arg, const struct mxg_record *rec)
{
    struct filter_ctx *f = arg;
    if (strcmp(rec->type, "ENT") == 0 || deletes_type(f->e, rec->type) ||
        has_added(f->e, rec->type, rec->content))
        return 0;
    if (f->type && strcmp(rec->type, f->type) != 0)
        return 0;
    return f->cb(f->ctx, rec);
}

/* The records a touched name holds after the transaction. */
static int final_records(const struct mxg_txn *t, struct mxg_store *st,
                         const struct mxg_txn_name *e, const char *type, mxg_record_cb cb,
                         void *ctx)
{
    if (!t->wipe && !e->cleared) {
        struct filter_ctx f = {.e = e, .type = type, .cb = cb, .ctx = ctx};
        int rc = MXG_STORE_CALL(st, lookup, t->zone_id, e->name, NULL, base_filter, &f);
        if (rc != MXG_OK)
            return rc;
    }
    for (size_t i = 0; i < e->n_add; i++) {
        const struct mxg_txn_rec *r = &e->add[i];
        if (type && strcmp(r->type, type) != 0)
            continue;
        struct mxg_record rec = {.name = e->name,
                                 .type = r->type,
                                 .content = r->content,
                                 .ttl = r->ttl,
                                 .domain_id = t->zone_id,
                                 .auth = r->auth};
        int rc = cb(ctx, &rec);
        if (rc != 0)
            return rc;
    }
    return MXG_OK;
}

int mxg_txn_lookup(struct mxg_txn *t, struct mxg_store *st, const char *name, const char *type,
                   mxg_record_cb cb, void *ctx)
{
    const struct mxg_txn_name *e = find(t, name);
    if (e)
        return final_records(t, st, e, type, cb, ctx);
    if (t->wipe)
        return MXG_OK;
    return MXG_STORE_CALL(st, lookup, t->zone_id, name, type, cb, ctx);
}

int mxg_txn_has_below(struct mxg_txn *t, struct mxg_store *st, const char *name, bool *out)
{
    for (size_t i = 0; i < t->n_names; i++) {
        const struct mxg_txn_name *e = &t->names[i];
        if (e->n_add > 0 && strcmp(e->name, name) != 0 && mxg_name_is_below(e->name, name)) {
            *out = true;
            return MXG_OK;
        }
    }
    *out = false;
    if (t->wipe)
        return MXG_OK;
    return MXG_STORE_CALL(st, has_below, t->zone_id, name, out);
}

struct list_ctx {
    const struct mxg_txn *t;
    mxg_record_cb cb;
    void *ctx;
};

static int list_filter(void *arg, const struct mxg_record *rec)
{
    struct list_ctx *l = arg;
    if (find(l->t, rec->name))
        return 0; /* touched names come from the overlay */
    return l->cb(l->ctx, rec);
}

int mxg_txn_list(struct mxg_txn *t, struct mxg_store *st, mxg_record_cb cb, void *ctx)
{
    if (!t->wipe) {
        struct list_ctx l = {.t = t, .cb = cb, .ctx = ctx};
        int rc = MXG_STORE_CALL(st, list, t->zone_id, list_filter, &l);
        if (rc != MXG_OK)
            return rc;
    }
    for (size_t i = 0; i < t->n_names; i++) {
        int rc = final_records(t, st, &t->names[i], NULL, cb, ctx);
        if (rc != MXG_OK)
            return rc;
    }
    return MXG_OK;
}

struct meta_filter_ctx {
    const struct mxg_txn *t;
    mxg_meta_cb cb;
    void *ctx;
};

static int meta_filter(void *arg, const char *kind, const char *value)
{
    struct meta_filter_ctx *m = arg;
    for (size_t i = 0; i < m->t->n_meta; i++)
        if (strcasecmp(m->t->meta[i].kind, kind) == 0)
            return 0;
    return m->cb(m->ctx, kind, value);
}

int mxg_txn_meta_list(struct mxg_txn *t, struct mxg_store *st, const char *kind, mxg_meta_cb cb,
                      void *ctx)
{
    struct meta_filter_ctx m = {.t = t, .cb = cb, .ctx = ctx};
    int rc = MXG_STORE_CALL(st, meta_list, t->zone_id, kind, meta_filter, &m);
    for (size_t i = 0; rc == MXG_OK && i < t->n_meta; i++) {
        if (kind && strcasecmp(t->meta[i].kind, kind) != 0)
            continue;
        for (size_t j = 0; rc == MXG_OK && j < t->meta[i].n; j++)
            rc = cb(ctx, t->meta[i].kind, t->meta[i].values[j]);
    }
    return rc;
}

/* ---- commit --------------------------------------------------------------------------- */

struct collect {
    struct mxg_txn_rec *recs;
    size_t n, cap;
};

static int collect_cb(void *arg, const struct mxg_record *rec)
{
    struct collect *c = arg;
    if (MXG_ARRAY_RESERVE(c->recs, c->cap, c->n + 1, 8) != MXG_OK)
        return MXG_ENOMEM;
    struct mxg_txn_rec *r = &c->recs[c->n];
    r->type = strdup(rec->type);
    r->content = strdup(rec->content);
    r->ttl = rec->ttl;
    r->auth = rec->auth;
    if (!r->type || !r->content) {
        free_rec(r);
        return MXG_ENOMEM;
    }
    c->n++;
    return 0;
}

static void collect_free(struct collect *c)
{
    for (size_t i = 0; i < c->n; i++)
        free_rec(&c->recs[i]);
    free(c->recs);
    memset(c, 0, sizeof(*c));
}

/* The records mxg_txn_apply has yet to write, and the copies they point into. */
#define APPLY_BATCH 256
struct pending {
    struct mxg_record recs[APPLY_BATCH];
    size_t n;
    struct collect *held;
    size_t n_held, cap_held;
};

static int pending_flush(struct pending *p, struct mxg_store *st, int64_t zone_id)
{
    int rc = mxg_store_records_add(st, zone_id, p->recs, p->n);
    p->n = 0;
    return rc;
}

static void pending_release(struct pending *p)
{
    for (size_t i = 0; i < p->n_held; i++)
        collect_free(&p->held[i]);
    p->n_held = 0;
}

/* Writes each touched name's final records: the records of many names go to the store together
 * (mxg_store_records_add), in name order, so that the store's name indexes grow at one end
 * rather than all over. A name's old records are deleted before its new ones are queued, and
 * names are distinct, so a queued record never meets a delete of its own name. */
int mxg_txn_apply(struct mxg_txn *t, struct mxg_store *st)
{
    const size_t names = t->n_names;
    struct pending *p = calloc(1, sizeof(*p));
    struct mxg_strsort_item *order = calloc(names ? names : 1, sizeof(*order));
    if (!p || !order) {
        free(p);
        free(order);
        return MXG_ENOMEM;
    }
    for (size_t i = 0; i < names; i++)
        order[i] = mxg_strsort_item(t->names[i].name, &t->names[i]);
    mxg_strsort(order, names);
    int rc = MXG_OK;
    if (t->wipe)
        rc = MXG_STORE_CALL(st, zone_clear, t->zone_id);
    for (size_t i = 0; rc == MXG_OK && i < names; i++) {
        const struct mxg_txn_name *e = order[i].data;
        struct collect c = {0};
        const struct mxg_txn_rec *recs = e->add;
        size_t n = e->n_add;
        if (!t->wipe) {
            rc = final_records(t, st, e, NULL, collect_cb, &c);
            if (rc == MXG_OK)
                rc = MXG_STORE_CALL(st, rrset_delete, t->zone_id, e->name, NULL);
            if (rc == MXG_OK && MXG_ARRAY_RESERVE(p->held, p->cap_held, p->n_held + 1, 8) != MXG_OK)
                rc = MXG_ENOMEM;
            if (rc != MXG_OK) {
                collect_free(&c);
                break;
            }
            p->held[p->n_held++] = c; /* freed once its records are written */
            recs = c.recs;
            n = c.n;
        }
        for (size_t j = 0; rc == MXG_OK && j < n; j++) {
            p->recs[p->n++] = (struct mxg_record){.name = e->name,
                                                  .type = recs[j].type,
                                                  .content = recs[j].content,
                                                  .ttl = recs[j].ttl,
                                                  .domain_id = t->zone_id,
                                                  .auth = recs[j].auth};
            if (p->n == APPLY_BATCH)
                rc = pending_flush(p, st, t->zone_id);
        }
        if (rc == MXG_OK && p->n_held >= APPLY_BATCH)
            rc = pending_flush(p, st, t->zone_id);
        if (rc == MXG_OK && p->n == 0)
            pending_release(p);
    }
    if (rc == MXG_OK)
        rc = pending_flush(p, st, t->zone_id);
    pending_release(p);
    free(p->held);
    free(p);
    free(order);
    for (size_t i = 0; rc == MXG_OK && i < t->n_meta; i++)
        rc = MXG_STORE_CALL(st, meta_set, t->zone_id, t->meta[i].kind,
                            (const char *const *)t->meta[i].values, t->meta[i].n);
    return rc;
}
