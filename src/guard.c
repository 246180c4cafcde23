/* guard.c -- the commit pipeline: change set, policy, fix, apply, audit. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "mxg/array.h"
#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/guard.h"
#include "mxg/hash.h"
#include "mxg/hashset.h"
#include "mxg/log.h"

/* ---- the view ------------------------------------------------------------------------- */

/* Which names are zones, as the store answered while the view lives: the policy asks for the
 * zone of the same names (and of their parents) again and again, and each answer is a query.
 * At most MEMO_MAX names are kept; past that the store is asked. */
#define MEMO_MAX 65536

struct memo_entry {
    char *name;
    int64_t id; /* 0: not a zone */
    char *apex; /* the zone's name as stored (NULL when not a zone) */
};

struct mxg_zone_memo {
    struct memo_entry *v;
    size_t n, cap;
    struct mxg_hset index;
};

static void memo_free(struct mxg_zone_memo *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].name);
        free(m->v[i].apex);
    }
    free(m->v);
    mxg_hset_free(&m->index);
    free(m);
}

void mxg_guard_view_done(struct mxg_guard_view_ctx *ctx)
{
    memo_free(ctx->memo);
    ctx->memo = NULL;
}

/* Remembers the store's answer for name; a failure to remember is no error (the store is asked
 * again next time). */
static void memo_put(struct mxg_guard_view_ctx *v, const char *name, uint64_t h,
                     const struct mxg_zone *z)
{
    if (!v->memo && !(v->memo = calloc(1, sizeof(*v->memo))))
        return;
    struct mxg_zone_memo *m = v->memo;
    if (m->n >= MEMO_MAX || MXG_ARRAY_RESERVE(m->v, m->cap, m->n + 1, 64) != MXG_OK)
        return;
    struct memo_entry e = {.name = strdup(name), .id = z ? z->id : 0};
    if (z)
        e.apex = strdup(z->name);
    if (!e.name || (z && !e.apex) || mxg_hset_insert(&m->index, h, (uint32_t)m->n) != MXG_OK) {
        free(e.name);
        free(e.apex);
        return;
    }
    m->v[m->n++] = e;
}

/* What find_zone found: the zone's id and name. apex points into z (the store's answer, when
 * the store was asked) or into the view's memo: valid while the view lives and this is in scope. */
struct found {
    int64_t id;
    const char *apex;
    struct mxg_zone z;
};

/* Whether name is the zone the transaction adds, which v->st does not see (judged beside). */
static bool is_added(const struct mxg_guard_view_ctx *v, const char *name)
{
    return v->added_zone && strcmp(name, v->added_zone->name) == 0;
}

/* The zone called name, if any: MXG_OK with out->id and out->apex, MXG_ENOENT, or the store's
 * error. */
static int zone_named(struct mxg_guard_view_ctx *v, const char *name, struct found *out)
{
    if (is_added(v, name)) {
        out->id = v->added_zone->id;
        out->apex = v->added_zone->name;
        return MXG_OK;
    }
    uint64_t h = mxg_hash_str(name);
    if (v->memo) {
        struct mxg_hset_probe p;
        for (uint32_t i = mxg_hset_first(&v->memo->index, h, &p); i != MXG_HSET_NONE;
             i = mxg_hset_next(&p)) {
            const struct memo_entry *e = &v->memo->v[i];
            if (strcmp(e->name, name) != 0)
                continue;
            if (e->id == 0)
                return MXG_ENOENT;
            out->id = e->id;
            out->apex = e->apex;
            return MXG_OK;
        }
    }
    int rc = MXG_STORE_CALL(v->st, zone_get, name, &out->z);
    if (rc == MXG_OK || rc == MXG_ENOENT)
        memo_put(v, name, h, rc == MXG_OK ? &out->z : NULL);
    if (rc == MXG_OK) {
        out->id = out->z.id;
        out->apex = out->z.name;
    }
    return rc;
}

/* The deepest zone served on side that contains name: a zone added by the transaction is not
 * served BEFORE, a deleted one not AFTER. */
static int find_zone(struct mxg_guard_view_ctx *v, enum mxg_side side, const char *name,
                     struct found *out)
{
    int64_t skip = side == MXG_BEFORE ? v->added_zone_id : v->deleted_zone_id;
    char cur[MXG_NAME_TEXT_MAX], parent[MXG_NAME_TEXT_MAX];
    snprintf(cur, sizeof(cur), "%s", name);
    for (int depth = 0; depth <= 128; depth++) {
        int rc = zone_named(v, cur, out);
        if (rc == MXG_OK && (skip == 0 || out->id != skip))
            return MXG_OK;
        if (rc != MXG_OK && rc != MXG_ENOENT)
            return rc;
        if (mxg_name_parent(cur, parent, sizeof(parent)) != MXG_OK)
            return MXG_ENOENT;
        memcpy(cur, parent, sizeof(cur));
    }
    return MXG_ENOENT;
}

static bool in_txn(const struct mxg_guard_view_ctx *v, enum mxg_side side, int64_t zone_id)
{
    return side == MXG_AFTER && v->txn && zone_id == mxg_txn_zone_id(v->txn);
}

static int v_rrset(void *ctx, enum mxg_side side, const char *name, const char *type,
                   mxg_record_cb cb, void *cbctx)
{
    struct mxg_guard_view_ctx *v = ctx;
    struct found z;
    int rc = find_zone(v, side, name, &z);
    if (rc == MXG_ENOENT)
        return MXG_OK;
    if (rc != MXG_OK)
        return rc;
    if (in_txn(v, side, z.id))
        return mxg_txn_lookup(v->txn, v->st, name, type, cb, cbctx);
    return MXG_STORE_CALL(v->st, lookup, z.id, name, type, cb, cbctx);
}

struct ref_ctx {
    struct mxg_guard_view_ctx *v;
    enum mxg_side side;
    mxg_owner_cb cb;
    mxg_owner_target_cb cb2;
    void *cbctx;
    const char *type;
    /* Touched owners already reported from the store (their stored record survives). */
    const struct mxg_txn_name **kept;
    size_t n_kept, cap_kept;
};

/* A stored referrer. It counts on a side only where its zone serves its owner there; after the
 * transaction it still refers unless the transaction drops its records of that type (or the
 * whole zone). */
static int ref_keep(struct ref_ctx *r, int64_t zone_id, const char *owner, bool *keep)
{
    struct mxg_txn *t = r->v->txn;
    struct found z;
    *keep = false;
    int rc = find_zone(r->v, r->side, owner, &z);
    if (rc == MXG_ENOENT || (rc == MXG_OK && z.id != zone_id))
        return MXG_OK;
    if (rc != MXG_OK)
        return rc;
    if (in_txn(r->v, r->side, zone_id)) {
        if (mxg_txn_wipes(t))
            return MXG_OK;
        const struct mxg_txn_name *e = mxg_txn_name_get(t, owner);
        if (e) {
            if (mxg_txn_name_drops(e, r->type))
                return MXG_OK;
            if (r->n_kept == r->cap_kept) {
                size_t ncap = r->cap_kept ? r->cap_kept * 2 : 8;
                /* An array of pointers: clang-tidy 14 takes sizeof(struct pointer) for a mistake.
                 * NOLINTNEXTLINE(bugprone-sizeof-expression) */
                const struct mxg_txn_name **nk = realloc(r->kept, ncap * sizeof(*nk));
                if (!nk)
                    return MXG_ENOMEM;
                r->kept = nk;
                r->cap_kept = ncap;
            }
            r->kept[r->n_kept++] = e;
        }
    }
    *keep = true;
    return MXG_OK;
}

static int ref_store(void *ctx, int64_t zone_id, const char *owner)
{
    struct ref_ctx *r = ctx;
    bool keep = false;
    int rc = ref_keep(r, zone_id, owner, &keep);
    if (rc != MXG_OK || !keep)
        return rc;
    return r->cb(r->cbctx, owner);
}

static int ref_store2(void *ctx, int64_t zone_id, const char *owner, const char *target)
{
    struct ref_ctx *r = ctx;
    bool keep = false;
    int rc = ref_keep(r, zone_id, owner, &keep);
    if (rc != MXG_OK || !keep)
        return rc;
    return r->cb2(r->cbctx, owner, target);
}

static bool ref_reported(const struct ref_ctx *r, const struct mxg_txn_name *e)
{
    for (size_t k = 0; k < r->n_kept; k++)
        if (r->kept[k] == e)
            return true;
    return false;
}

/* An owner the transaction adds a referring record to, unless already reported from the store
 * (and only where the transaction's zone serves it). */
static int ref_added(void *ctx, const struct mxg_txn_name *e)
{
    struct ref_ctx *r = ctx;
    struct found z;
    if (ref_reported(r, e) || find_zone(r->v, MXG_AFTER, e->name, &z) != MXG_OK ||
        z.id != mxg_txn_zone_id(r->v->txn))
        return 0;
    return r->cb(r->cbctx, e->name);
}

static int ref_added2(void *ctx, const struct mxg_txn_name *e, const char *target)
{
    struct ref_ctx *r = ctx;
    struct found z;
    if (ref_reported(r, e) || find_zone(r->v, MXG_AFTER, e->name, &z) != MXG_OK ||
        z.id != mxg_txn_zone_id(r->v->txn))
        return 0;
    return r->cb2(r->cbctx, e->name, target);
}

/* Whether the side's referrers include what the transaction adds: after it, unless it deletes
 * its zone. */
static bool txn_adds(const struct mxg_guard_view_ctx *v, enum mxg_side side)
{
    return side == MXG_AFTER && v->txn &&
           (v->deleted_zone_id == 0 || v->deleted_zone_id != mxg_txn_zone_id(v->txn));
}

/* Owners that refer to target: the stored referrers (after the transaction: those it keeps),
 * plus the owners it adds such a record to (through the transaction's index: the policy asks
 * this for every changed name, so no walk over the transaction and no store access per name). */
static int v_referrers(void *ctx, enum mxg_side side, const char *type, const char *target,
                       mxg_owner_cb cb, void *cbctx)
{
    struct mxg_guard_view_ctx *v = ctx;
    struct ref_ctx r = {.v = v, .side = side, .cb = cb, .cbctx = cbctx, .type = type};
    int rc = MXG_STORE_CALL(v->st, referrers, type, target, ref_store, &r);
    if (rc == MXG_OK && txn_adds(v, side))
        rc = mxg_txn_referrers(v->txn, type, target, ref_added, &r);
    free(r.kept);
    return rc;
}

static int v_referrers_below(void *ctx, enum mxg_side side, const char *type, const char *root,
                             mxg_owner_target_cb cb, void *cbctx)
{
    struct mxg_guard_view_ctx *v = ctx;
    struct ref_ctx r = {.v = v, .side = side, .cb2 = cb, .cbctx = cbctx, .type = type};
    int rc = MXG_STORE_CALL(v->st, referrers_below, type, root, ref_store2, &r);
    if (rc == MXG_OK && txn_adds(v, side))
        rc = mxg_txn_referrers_below(v->txn, type, root, ref_added2, &r);
    free(r.kept);
    return rc;
}

static int v_zone_of(void *ctx, enum mxg_side side, const char *name, char *apex, size_t apexlen)
{
    struct mxg_guard_view_ctx *v = ctx;
    struct found z;
    int rc = find_zone(v, side, name, &z);
    if (rc == MXG_OK)
        snprintf(apex, apexlen, "%s", z.apex);
    return rc;
}

static int v_has_below(void *ctx, enum mxg_side side, const char *name, bool *out)
{
    struct mxg_guard_view_ctx *v = ctx;
    struct found z;
    *out = false;
    int rc = find_zone(v, side, name, &z);
    if (rc == MXG_ENOENT)
        return MXG_OK;
    if (rc != MXG_OK)
        return rc;
    if (in_txn(v, side, z.id))
        return mxg_txn_has_below(v->txn, v->st, name, out);
    return MXG_STORE_CALL(v->st, has_below, z.id, name, out);
}

static int v_zone_info(void *ctx, const char *apex, enum mxg_mode *mode, bool *slave)
{
    struct mxg_guard_view_ctx *v = ctx;
    struct mxg_zone z;
    if (!v->cfg)
        return MXG_ENOENT;
    int rc = is_added(v, apex) ? (z = *v->added_zone, MXG_OK)
                               : MXG_STORE_CALL(v->st, zone_get, apex, &z);
    if (rc != MXG_OK)
        return rc;
    *mode = mxg_guard_effective_mode(v->st, v->cfg, z.id);
    *slave = z.kind == MXG_KIND_SLAVE;
    return MXG_OK;
}

static const struct mxg_view_ops VIEW_OPS = {
    .rrset = v_rrset,
    .referrers = v_referrers,
    .referrers_below = v_referrers_below,
    .zone_of = v_zone_of,
    .has_below = v_has_below,
    .zone_info = v_zone_info,
};

void mxg_guard_view(struct mxg_guard_view_ctx *ctx, struct mxg_view *view)
{
    view->ops = &VIEW_OPS;
    view->ctx = ctx;
}

/* ---- the change set ------------------------------------------------------------------- */

struct rr_list {
    char **type;
    struct mxg_rrdata *data;
    size_t n, cap;
};

static int rr_collect(void *ctx, const struct mxg_record *rec)
{
    struct rr_list *l = ctx;
    if (strcmp(rec->type, "ENT") == 0)
        return 0;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        char **nt = realloc(l->type, ncap * sizeof(*nt));
        if (!nt)
            return MXG_ENOMEM;
        l->type = nt;
        struct mxg_rrdata *nd = realloc(l->data, ncap * sizeof(*nd));
        if (!nd)
            return MXG_ENOMEM;
        l->data = nd;
        l->cap = ncap;
    }
    l->type[l->n] = strdup(rec->type);
    l->data[l->n].content = strdup(rec->content);
    l->data[l->n].ttl = rec->ttl;
    if (!l->type[l->n] || !l->data[l->n].content) {
        free(l->type[l->n]);
        free(l->data[l->n].content);
        return MXG_ENOMEM;
    }
    l->n++;
    return 0;
}

static void rr_list_free(struct rr_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->type[i]);
        free(l->data[i].content);
    }
    free(l->type);
    free(l->data);
    memset(l, 0, sizeof(*l));
}

/* Moves the records of one type out of l (their strings change hands; l keeps the rest). */
static int rr_take(struct rr_list *l, const char *type, struct mxg_rrdata **out, size_t *n)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->data[i].content && strcmp(l->type[i], type) == 0)
            k++;
    *out = NULL;
    *n = 0;
    if (k == 0)
        return MXG_OK;
    struct mxg_rrdata *d = calloc(k, sizeof(*d));
    if (!d)
        return MXG_ENOMEM;
    for (size_t i = 0; i < l->n; i++) {
        if (!l->data[i].content || strcmp(l->type[i], type) != 0)
            continue;
        d[*n] = l->data[i];
        l->data[i].content = NULL;
        (*n)++;
    }
    *out = d;
    return MXG_OK;
}

static void free_changes(struct mxg_rrset_change *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mxg_rrset_change_clear(&c[i]);
    free(c);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The stored records of a zone that the transaction replaces (an import, an AXFR), read in one
 * pass and sorted by owner: the BEFORE side of every name without a lookup per name. A
 * lookup gives one owner's records in (type, id) order, and so does the listing. */
struct stored_rec {
    char *name, *type;
    struct mxg_rrdata d;
    size_t pos; /* listing order, to keep it among equal names */
};

struct stored {
    struct stored_rec *v;
    size_t n, cap;
};

static int stored_collect(void *ctx, const struct mxg_record *rec)
{
    struct stored *s = ctx;
    if (strcmp(rec->type, "ENT") == 0)
        return 0;
    if (MXG_ARRAY_RESERVE(s->v, s->cap, s->n + 1, 64) != MXG_OK)
        return MXG_ENOMEM;
    struct stored_rec *r = &s->v[s->n];
    r->name = strdup(rec->name);
    r->type = strdup(rec->type);
    r->d.content = strdup(rec->content);
    r->d.ttl = rec->ttl;
    r->pos = s->n;
    if (!r->name || !r->type || !r->d.content) {
        free(r->name);
        free(r->type);
        free(r->d.content);
        return MXG_ENOMEM;
    }
    s->n++;
    return 0;
}

static int cmp_stored(const void *a, const void *b)
{
    const struct stored_rec *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static void stored_free(struct stored *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].name);
        free(s->v[i].type);
        free(s->v[i].d.content);
    }
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* The BEFORE records of name from a stored snapshot, as rr_collect() gathers them. */
static int stored_before(const struct stored *s, const char *name, struct rr_list *out)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->v[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    int rc = MXG_OK;
    for (size_t i = lo; rc == MXG_OK && i < s->n && strcmp(s->v[i].name, name) == 0; i++) {
        struct mxg_record rec = {
            .name = name, .type = s->v[i].type, .content = s->v[i].d.content, .ttl = s->v[i].d.ttl};
        rc = rr_collect(out, &rec);
    }
    return rc;
}

/* Appends c to res->changes, whose capacity is the next power of two of its count (a commit
 * of n RRsets must not cost n reallocations of a growing array). */
static int push_change(struct mxg_guard_result *res, const struct mxg_rrset_change *c)
{
    size_t n = res->n_changes;
    if (n == 0 || (n & (n - 1)) == 0) {
        struct mxg_rrset_change *nc = realloc(res->changes, (n ? 2 * n : 1) * sizeof(*nc));
        if (!nc)
            return MXG_ENOMEM;
        res->changes = nc;
    }
    res->changes[res->n_changes++] = *c;
    return MXG_OK;
}

/* The RRsets of name that differ between before and after, appended to res->changes. pre: the
 * stored records of a zone the transaction replaces (NULL: look the name up). */
static int name_changes(struct mxg_store *st, struct mxg_txn *t, const char *name,
                        const struct stored *pre, struct mxg_guard_result *res)
{
    struct rr_list before = {0}, after = {0};
    /* Before is the store, also for a transaction that replaces the whole zone. */
    int rc = pre ? stored_before(pre, name, &before)
                 : MXG_STORE_CALL(st, lookup, mxg_txn_zone_id(t), name, NULL, rr_collect, &before);
    if (rc == MXG_OK)
        rc = mxg_txn_lookup(t, st, name, NULL, rr_collect, &after);
    /* The distinct types on either side, sorted for a stable record. */
    const char **types = calloc(before.n + after.n + 1, sizeof(*types));
    size_t nt = 0;
    if (!types)
        rc = MXG_ENOMEM;
    for (size_t i = 0; rc == MXG_OK && i < before.n + after.n; i++) {
        const char *ty = i < before.n ? before.type[i] : after.type[i - before.n];
        bool seen = false;
        for (size_t j = 0; j < nt && !seen; j++)
            seen = strcmp(types[j], ty) == 0;
        if (!seen)
            types[nt++] = ty;
    }
    if (rc == MXG_OK)
        qsort(types, nt, sizeof(*types), cmp_str);
    for (size_t i = 0; rc == MXG_OK && i < nt; i++) {
        struct mxg_rrset_change c = {0};
        rc = rr_take(&before, types[i], &c.before, &c.n_before);
        if (rc == MXG_OK)
            rc = rr_take(&after, types[i], &c.after, &c.n_after);
        if (rc == MXG_OK && mxg_rrdata_same(c.before, c.n_before, c.after, c.n_after)) {
            mxg_rrset_change_clear(&c);
            continue;
        }
        if (rc != MXG_OK) {
            mxg_rrset_change_clear(&c);
            break;
        }
        c.name = strdup(name);
        c.type = strdup(types[i]);
        if (!c.name || !c.type || push_change(res, &c) != MXG_OK) {
            mxg_rrset_change_clear(&c);
            rc = MXG_ENOMEM;
            break;
        }
    }
    free(types);
    rr_list_free(&before);
    rr_list_free(&after);
    return rc;
}

struct names {
    char **v;
    size_t n, cap;
};

static int names_add(struct names *ns, const char *name)
{
    for (size_t i = ns->n; i > 0 && i + 8 > ns->n; i--) /* cheap dedup of neighbours */
        if (strcmp(ns->v[i - 1], name) == 0)
            return 0;
    if (MXG_ARRAY_RESERVE(ns->v, ns->cap, ns->n + 1, 16) != MXG_OK)
        return MXG_ENOMEM;
    if (!(ns->v[ns->n] = strdup(name)))
        return MXG_ENOMEM;
    ns->n++;
    return 0;
}

static void names_free(struct names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
}

/* Every name the transaction changes: its touched names, and for a wipe every stored name
 * (pre: the stored records, read once). */
static int touched_names(struct mxg_txn *t, const struct stored *pre, struct names *ns)
{
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && pre && i < pre->n; i++)
        if (i == 0 || strcmp(pre->v[i].name, pre->v[i - 1].name) != 0)
            rc = names_add(ns, pre->v[i].name);
    for (size_t i = 0; rc == MXG_OK && i < mxg_txn_name_count(t); i++)
        rc = names_add(ns, mxg_txn_name_at(t, i)->name);
    if (rc != MXG_OK || ns->n < 2)
        return rc;
    /* Exact dedup. */
    struct mxg_strsort_item *items = malloc(ns->n * sizeof(*items));
    if (!items)
        return MXG_ENOMEM;
    for (size_t i = 0; i < ns->n; i++)
        items[i] = mxg_strsort_item(ns->v[i], NULL);
    mxg_strsort(items, ns->n);
    for (size_t i = 0; i < ns->n; i++)
        ns->v[i] = (char *)(uintptr_t)items[i].s;
    free(items);
    size_t k = 1;
    for (size_t i = 1; i < ns->n; i++) {
        if (strcmp(ns->v[i], ns->v[k - 1]) == 0)
            free(ns->v[i]);
        else
            ns->v[k++] = ns->v[i];
    }
    ns->n = k;
    return MXG_OK;
}

/* The stored records of the zone a wiping transaction replaces, sorted by owner (empty for
 * other transactions). */
static int stored_pre(struct mxg_store *st, struct mxg_txn *t, struct stored *pre)
{
    if (!mxg_txn_wipes(t))
        return MXG_OK;
    int rc = MXG_STORE_CALL(st, list, mxg_txn_zone_id(t), stored_collect, pre);
    if (rc == MXG_OK && pre->n > 1)
        qsort(pre->v, pre->n, sizeof(*pre->v), cmp_stored);
    return rc;
}

/* The changed RRsets of the names in ns into res->changes. A wiping transaction never reads
 * the store here (its before side is pre, its after side the transaction alone): st is NULL
 * when this runs on another thread. */
static int changes_of(struct mxg_store *st, struct mxg_txn *t, const struct names *ns,
                      const struct stored *pre, struct mxg_guard_result *res)
{
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < ns->n; i++)
        rc = name_changes(st, t, ns->v[i], mxg_txn_wipes(t) ? pre : NULL, res);
    return rc;
}

/* The names the transaction changes into ns, and for a wipe the stored records it replaces
 * into pre. */
static int txn_names(struct mxg_store *st, struct mxg_txn *t, struct stored *pre, struct names *ns)
{
    int rc = stored_pre(st, t, pre);
    return rc == MXG_OK ? touched_names(t, mxg_txn_wipes(t) ? pre : NULL, ns) : rc;
}

/* The names the transaction changes into ns, and their changed RRsets into res->changes. */
static int txn_changes(struct mxg_store *st, struct mxg_txn *t, struct names *ns,
                       struct mxg_guard_result *res)
{
    struct stored pre = {0};
    int rc = txn_names(st, t, &pre, ns);
    if (rc == MXG_OK)
        rc = changes_of(st, t, ns, &pre, res);
    stored_free(&pre);
    return rc;
}

/* Names from which on a wiping transaction's changes are listed on another thread while the
 * policy reads the store (below, a thread costs more than it saves). */
#define CHANGES_AHEAD_MIN 2048

struct changes_ahead {
    pthread_t tid;
    struct mxg_txn *t;
    const struct names *ns;
    const struct stored *pre;
    struct mxg_guard_result res; /* only its changes */
    int rc;
};

static void *changes_ahead_run(void *arg)
{
    struct changes_ahead *a = arg;
    a->rc = changes_of(NULL, a->t, a->ns, a->pre, &a->res);
    return NULL;
}

/* ---- mode ----------------------------------------------------------------------------- */

static int rank(enum mxg_mode m)
{
    return m == MXG_MODE_OFF ? 0 : m == MXG_MODE_WARN ? 1 : 2;
}

struct mode_ctx {
    char value[16];
    bool found;
};

static int mode_meta(void *ctx, const char *kind, const char *value)
{
    struct mode_ctx *m = ctx;
    (void)kind;
    snprintf(m->value, sizeof(m->value), "%s", value);
    m->found = true;
    return 0;
}

enum mxg_mode mxg_guard_effective_mode(struct mxg_store *st, const struct mxg_config *cfg,
                                       int64_t zone_id)
{
    enum mxg_mode mode = cfg->mode, meta;
    if (cfg->zone_mode_override == MXG_OVERRIDE_NONE)
        return mode;
    struct mode_ctx m = {0};
    if (MXG_STORE_CALL(st, meta_list, zone_id, "X-MXGUARD-MODE", mode_meta, &m) != MXG_OK ||
        !m.found || mxg_parse_mode(m.value, &meta) != MXG_OK)
        return mode;
    if (cfg->zone_mode_override == MXG_OVERRIDE_STRICTER && rank(meta) < rank(mode))
        return mode;
    return meta;
}

/* ---- the pipeline --------------------------------------------------------------------- */

/* The metadata the transaction writes, {"kind": [values]}, in *out (NULL when it writes none).
 * MXG_ENOMEM when any part of it could not be made: an audit record never leaves a value out. */
static int meta_json(struct mxg_txn *t, json_t **out)
{
    *out = NULL;
    size_t n = mxg_txn_meta_count(t);
    if (n == 0)
        return MXG_OK;
    json_t *o = json_object();
    bool ok = o != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        const char *kind;
        const char *const *vals;
        size_t nv;
        mxg_txn_meta_at(t, i, &kind, &vals, &nv);
        json_t *a = json_array();
        for (size_t j = 0; a && j < nv; j++) {
            if (json_array_append_new(a, json_string(vals[j])) != 0) {
                json_decref(a);
                a = NULL;
            }
        }
        ok = a && json_object_set_new(o, kind, a) == 0;
    }
    if (!ok) {
        if (o)
            json_decref(o);
        return MXG_ENOMEM;
    }
    *out = o;
    return MXG_OK;
}

/* added: the zone the transaction creates, when st does not see it (judged beside the
 * transaction); NULL: st is the transaction's own handle. */
static int judge(struct mxg_store *st, const struct mxg_config *cfg, struct mxg_txn *t,
                 bool guarded, enum mxg_zone_event ev, const struct mxg_zone *added,
                 struct mxg_guard_result *res)
{
    struct mxg_zone z;
    int rc = MXG_OK;
    if (added)
        z = *added;
    else
        rc = MXG_STORE_CALL(st, zone_get_by_id, mxg_txn_zone_id(t), &z);
    if (rc != MXG_OK)
        return rc;
    res->mode = mxg_guard_effective_mode(st, cfg, z.id);
    res->audit_syslog = cfg->audit_syslog;
    struct names ns = {0};
    struct stored pre = {0};
    rc = txn_names(st, t, &pre, &ns);
    /* A large wiping transaction (an import, an AXFR) lists its changes on another thread
     * while the policy runs; the policy then runs before it is known whether anything changed,
     * and its decision is dropped when nothing did. Not when judged beside the transaction:
     * its rows are being written on another thread already, and this one has time enough. */
    struct changes_ahead ahead = {.t = t, .ns = &ns, .pre = &pre};
    bool threaded = rc == MXG_OK && !added && mxg_txn_wipes(t) && ns.n >= CHANGES_AHEAD_MIN &&
                    pthread_create(&ahead.tid, NULL, changes_ahead_run, &ahead) == 0;
    if (rc == MXG_OK && !threaded)
        rc = changes_of(st, t, &ns, &pre, res);
    if (rc == MXG_OK && guarded && (threaded || res->n_changes > 0 || ev != MXG_ZONE_SAME)) {
        struct mxg_guard_view_ctx vctx = {.st = st, .txn = t, .cfg = cfg, .added_zone = added};
        struct mxg_view view;
        mxg_guard_view(&vctx, &view);
        const char *roots[1] = {z.name};
        struct mxg_policy_input in = {.zone = z.name,
                                      .names = (const char *const *)ns.v,
                                      .n_names = ns.n,
                                      .mode = res->mode,
                                      .slave = z.kind == MXG_KIND_SLAVE};
        if (ev != MXG_ZONE_SAME) {
            /* The zone's whole subtree changes hands: judged through its root, not name by
             * name; a move found there cannot be fixed inside this transaction. */
            if (ev == MXG_ZONE_ADDED)
                vctx.added_zone_id = z.id;
            else
                vctx.deleted_zone_id = z.id;
            in.n_names = 0;
            in.roots = roots;
            in.n_roots = 1;
            in.no_fix = true;
        }
        rc = mxg_policy_evaluate(&view, &in, cfg, &res->decision);
        res->judged = rc == MXG_OK;
        mxg_guard_view_done(&vctx);
    }
    if (threaded) {
        pthread_join(ahead.tid, NULL);
        res->changes = ahead.res.changes;
        res->n_changes = ahead.res.n_changes;
        if (rc == MXG_OK)
            rc = ahead.rc;
        if (res->judged && res->n_changes == 0 && ev == MXG_ZONE_SAME) {
            mxg_decision_free(&res->decision);
            memset(&res->decision, 0, sizeof(res->decision));
            res->judged = false;
        }
    }
    stored_free(&pre);
    names_free(&ns);
    return rc;
}

int mxg_guard_fix_into(struct mxg_txn *t, const struct mxg_decision *d)
{
    for (size_t i = 0; i < d->n_fix; i++) {
        const struct mxg_rrset_change *c = &d->fix[i];
        struct mxg_txn_rec *recs = calloc(c->n_after ? c->n_after : 1, sizeof(*recs));
        if (!recs)
            return MXG_ENOMEM;
        for (size_t j = 0; j < c->n_after; j++) {
            recs[j].type = c->type;
            recs[j].content = c->after[j].content;
            recs[j].ttl = c->after[j].ttl;
            recs[j].auth = true;
        }
        int rc = mxg_txn_replace(t, c->name, c->type, recs, c->n_after);
        free(recs);
        if (rc != MXG_OK)
            return rc;
    }
    return MXG_OK;
}

static int append_audit(struct mxg_store *st, struct mxg_txn *t, const struct mxg_guard_opts *o,
                        struct mxg_guard_result *res, const struct mxg_audit_start *start)
{
    json_t *meta = NULL;
    if (meta_json(t, &meta) != MXG_OK)
        return MXG_ENOMEM;
    struct mxg_audit_entry e = {.zone = mxg_txn_zone(t),
                                .source = o->source,
                                .mode = mxg_mode_name(res->mode),
                                .decision = res->judged ? &res->decision : NULL,
                                .changes = res->changes,
                                .n_changes = res->n_changes,
                                .metadata = meta,
                                .start = start};
    char *text = NULL;
    int rc = mxg_audit_append(st, &e, &res->audit_seq, res->audit_hash,
                              res->audit_syslog ? &text : NULL);
    if (meta)
        json_decref(meta);
    if (rc == MXG_OK)
        res->audited = true;
    if (text) {
        /* The stream of the same records; the store stays the record of truth (a commit
         * that then fails leaves a line here and no record there). */
        syslog(LOG_INFO | LOG_DAEMON, "audit %s", text);
        free(text);
    }
    return rc;
}

/* A copy of s cut to at most max bytes, at a UTF-8 character boundary. */
static char *dup_cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    return strndup(s, n);
}

/* The decision on a poisoned transaction (PRODUCT.md §5): reject, with the one finding
 * invalid-record (always blocking) naming the refused write -- its owner (else the zone), its
 * content (else the reason) -- and the refusal's text as the reason. */
static int poisoned_decision(const struct mxg_txn *t, struct mxg_decision *d)
{
    const char *reason = mxg_txn_poisoned(t), *name = mxg_txn_poison_name(t),
               *content = mxg_txn_poison_content(t);
    memset(d, 0, sizeof(*d));
    d->verdict = MXG_VERDICT_REJECT;
    struct mxg_finding *f = calloc(1, sizeof(*f));
    char **nv = calloc(1, sizeof(*nv));
    if (f && nv) {
        f->rule = "invalid-record";
        f->severity = MXG_SEV_BLOCK;
        f->family = "";
        f->name = dup_cut(name && *name ? name : mxg_txn_zone(t), MXG_NAME_TEXT_MAX);
        nv[0] = dup_cut(content ? content : reason, 1024);
        f->new_values = nv;
        f->n_new = 1;
        f->reason = dup_cut(reason, 1024);
        d->findings = f;
        d->n_findings = 1;
        if (f->name && nv[0] && f->reason)
            return MXG_OK;
        mxg_decision_free(d);
        return MXG_ENOMEM;
    }
    free(f);
    free(nv);
    return MXG_ENOMEM;
}

/* A poisoned transaction is refused without running the policy: its changes as far as they
 * were buffered, and the invalid-record decision (the caller's store transaction is only
 * read). */
static int judge_poisoned(struct mxg_store *st, const struct mxg_config *cfg, struct mxg_txn *t,
                          struct mxg_guard_result *res)
{
    res->mode = mxg_guard_effective_mode(st, cfg, mxg_txn_zone_id(t));
    res->audit_syslog = cfg->audit_syslog;
    struct names ns = {0};
    int rc = txn_changes(st, t, &ns, res);
    names_free(&ns);
    if (rc == MXG_OK && (rc = poisoned_decision(t, &res->decision)) == MXG_OK) {
        res->judged = true;
        res->refused = true;
    }
    return rc;
}

/* Changes from which on the audit record's list is made ahead (below, a thread costs more than
 * it saves). */
#define AUDIT_AHEAD_MIN 2048

struct audit_ahead {
    pthread_t tid;
    const struct mxg_rrset_change *changes;
    size_t n;
    struct mxg_audit_start *start; /* NULL: made by mxg_audit_append as usual */
};

static void *audit_ahead_run(void *arg)
{
    struct audit_ahead *a = arg;
    a->start = mxg_audit_start(a->changes, a->n);
    return NULL;
}

int mxg_guard_judge_apply(struct mxg_store *st, const struct mxg_config *cfg, struct mxg_txn *txn,
                          const struct mxg_guard_opts *opts, struct mxg_guard_result *res)
{
    if (mxg_txn_poisoned(txn))
        return judge_poisoned(st, cfg, txn, res);
    int rc = judge(st, cfg, txn, opts->guarded, opts->zone_event, NULL, res);
    if (rc != MXG_OK)
        return rc;
    if (res->judged && res->decision.verdict == MXG_VERDICT_REJECT) {
        res->refused = true;
        return MXG_OK;
    }
    if (res->judged && res->decision.verdict == MXG_VERDICT_FIX &&
        (rc = mxg_guard_fix_into(txn, &res->decision)) != MXG_OK)
        return rc;
    /* A long change list is written out for the audit record on another thread while the
     * rows are written. */
    struct audit_ahead ahead = {.changes = res->changes, .n = res->n_changes};
    bool started = res->n_changes >= AUDIT_AHEAD_MIN &&
                   pthread_create(&ahead.tid, NULL, audit_ahead_run, &ahead) == 0;
    rc = mxg_txn_apply(txn, st);
    if (started)
        pthread_join(ahead.tid, NULL);
    /* A transaction that changes nothing leaves no audit record. */
    if (rc == MXG_OK && (res->n_changes > 0 || mxg_txn_meta_count(txn) > 0 || mxg_txn_wipes(txn) ||
                         opts->always_audit))
        rc = append_audit(st, txn, opts, res, ahead.start);
    mxg_audit_start_free(ahead.start);
    return rc;
}

struct apply_beside {
    pthread_t tid;
    struct mxg_txn *txn;
    struct mxg_store *st;
    int rc;
};

static void *apply_beside_run(void *arg)
{
    struct apply_beside *a = arg;
    a->rc = mxg_txn_apply(a->txn, a->st);
    return NULL;
}

int mxg_guard_judge_apply_beside(struct mxg_store *st, struct mxg_store *reader,
                                 const struct mxg_zone *z, const struct mxg_config *cfg,
                                 struct mxg_txn *txn, const struct mxg_guard_opts *opts,
                                 struct mxg_guard_result *res)
{
    struct apply_beside a = {.txn = txn, .st = st};
    if (!reader || !z || z->id != mxg_txn_zone_id(txn) || !opts->guarded ||
        opts->zone_event != MXG_ZONE_ADDED || !mxg_txn_wipes(txn) || mxg_txn_poisoned(txn) ||
        pthread_create(&a.tid, NULL, apply_beside_run, &a) != 0)
        return mxg_guard_judge_apply(st, cfg, txn, opts, res);
    /* The policy reads reader and the transaction; the rows go to st on the other thread. */
    int rc = judge(reader, cfg, txn, true, MXG_ZONE_ADDED, z, res);
    struct mxg_audit_start *start = NULL;
    if (rc == MXG_OK && res->n_changes >= AUDIT_AHEAD_MIN &&
        !(res->judged && res->decision.verdict == MXG_VERDICT_REJECT))
        start = mxg_audit_start(res->changes, res->n_changes);
    pthread_join(a.tid, NULL);
    if (rc == MXG_OK)
        rc = a.rc;
    /* A zone event is never fixed (no_fix: fix acts as reject), so the rows written stand
     * unless the transaction is refused, and then the caller rolls them back. */
    if (rc == MXG_OK && res->judged && res->decision.verdict == MXG_VERDICT_REJECT)
        res->refused = true;
    else if (rc == MXG_OK)
        rc = append_audit(st, txn, opts, res, start);
    mxg_audit_start_free(start);
    return rc;
}

int mxg_guard_record_refusal(struct mxg_store *st, struct mxg_txn *txn,
                             const struct mxg_guard_opts *opts, struct mxg_guard_result *res)
{
    int rc = MXG_STORE_CALL0(st, begin);
    if (rc != MXG_OK)
        return rc;
    rc = append_audit(st, txn, opts, res, NULL);
    if (rc == MXG_OK)
        return MXG_STORE_CALL0(st, commit);
    mxg_store_abandon(st);
    return rc;
}

int mxg_guard_commit(struct mxg_store *st, const struct mxg_config *cfg, struct mxg_txn *txn,
                     const struct mxg_guard_opts *opts, struct mxg_guard_result *res)
{
    int rc = MXG_STORE_CALL0(st, begin);
    if (rc != MXG_OK)
        return rc;
    rc = mxg_guard_judge_apply(st, cfg, txn, opts, res);
    if (rc != MXG_OK)
        mxg_store_abandon(st);
    else if (res->refused)
        rc = MXG_STORE_CALL0(st, rollback); /* nothing of it stays; its record follows */
    else
        rc = MXG_STORE_CALL0(st, commit);
    if (rc != MXG_OK) {
        res->audited = false;
        return rc;
    }
    if (res->refused)
        return mxg_guard_record_refusal(st, txn, opts, res);
    return MXG_OK;
}

int mxg_guard_check(struct mxg_store *st, const struct mxg_config *cfg, struct mxg_txn *txn,
                    struct mxg_guard_result *res)
{
    int rc = judge(st, cfg, txn, true, MXG_ZONE_SAME, NULL, res);
    if (rc != MXG_OK || !res->judged || res->decision.verdict != MXG_VERDICT_REJECT ||
        res->mode == MXG_MODE_FIX)
        return rc;
    /* A refusal also shows the fix that `fix` mode would apply. */
    struct mxg_config fixcfg = *cfg;
    struct mxg_guard_result alt = {0};
    fixcfg.mode = MXG_MODE_FIX;
    fixcfg.zone_mode_override = MXG_OVERRIDE_NONE;
    rc = judge(st, &fixcfg, txn, true, MXG_ZONE_SAME, NULL, &alt);
    if (rc == MXG_OK && alt.judged && alt.decision.verdict == MXG_VERDICT_FIX) {
        res->decision.fix = alt.decision.fix;
        res->decision.n_fix = alt.decision.n_fix;
        alt.decision.fix = NULL;
        alt.decision.n_fix = 0;
    }
    mxg_guard_result_free(&alt);
    return rc;
}

void mxg_guard_result_free(struct mxg_guard_result *res)
{
    if (res->judged)
        mxg_decision_free(&res->decision);
    free_changes(res->changes, res->n_changes);
    memset(res, 0, sizeof(*res));
}
