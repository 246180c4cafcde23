/* external.c -- out-of-band writes: the capture log audited, judged and repaired (external.h). */
#include "mxg/external.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mxg/array.h"
#include "mxg/audit.h"
#include "mxg/err.h"
#include "mxg/guard.h"
#include "mxg/log.h"
#include "mxg/txn.h"
#include "mxg/view.h"

/* ---- the log, copied ------------------------------------------------------------------ */

struct xside {
    bool present;
    char *name, *type, *content;
    uint32_t ttl;
    bool disabled, published;
};

struct xrow {
    int64_t id, domain_id, commit;
    char tbl[16], op[8];
    struct xside o, n;
};

struct xrows {
    struct xrow *v;
    size_t n, cap;
};

static char *dup_or_null(const char *s, bool *ok)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *ok = false;
    return d;
}

static bool side_copy(struct xside *d, const struct mxg_change_side *s)
{
    bool ok = true;
    d->present = s->present;
    d->name = dup_or_null(s->name, &ok);
    d->type = dup_or_null(s->type, &ok);
    d->content = dup_or_null(s->content, &ok);
    d->ttl = s->ttl;
    d->disabled = s->disabled;
    d->published = s->published;
    return ok;
}

static void side_free(struct xside *s)
{
    free(s->name);
    free(s->type);
    free(s->content);
}

static int row_collect(void *ctx, const struct mxg_change *c)
{
    struct xrows *rs = ctx;
    if (MXG_ARRAY_RESERVE(rs->v, rs->cap, rs->n + 1, 64) != MXG_OK)
        return MXG_ENOMEM;
    struct xrow *r = &rs->v[rs->n];
    memset(r, 0, sizeof(*r));
    r->id = c->id;
    r->domain_id = c->domain_id;
    r->commit = c->commit;
    snprintf(r->tbl, sizeof(r->tbl), "%s", c->tbl);
    snprintf(r->op, sizeof(r->op), "%s", c->op);
    rs->n++;
    bool ok = side_copy(&r->o, &c->old);
    ok = side_copy(&r->n, &c->new_) && ok;
    return ok ? MXG_OK : MXG_ENOMEM;
}

static void rows_free(struct xrows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        side_free(&rs->v[i].o);
        side_free(&rs->v[i].n);
    }
    free(rs->v);
}

/* ---- RRsets as they are and as they were ---------------------------------------------- */

struct rdlist {
    struct mxg_rrdata *v;
    size_t n, cap;
};

static int rd_push(struct rdlist *l, const char *content, uint32_t ttl)
{
    if (MXG_ARRAY_RESERVE(l->v, l->cap, l->n + 1, 4) != MXG_OK)
        return MXG_ENOMEM;
    char *c = strdup(content);
    if (!c)
        return MXG_ENOMEM;
    l->v[l->n++] = (struct mxg_rrdata){.content = c, .ttl = ttl};
    return MXG_OK;
}

static void rd_remove(struct rdlist *l, const char *content, uint32_t ttl)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].ttl == ttl && strcmp(l->v[i].content, content) == 0) {
            free(l->v[i].content);
            l->v[i] = l->v[--l->n];
            return;
        }
    }
}

static void rd_free(struct mxg_rrdata *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].content);
    free(v);
}

static int rd_cmp(const void *a, const void *b)
{
    const struct mxg_rrdata *x = a, *y = b;
    int c = strcmp(x->content, y->content);
    return c ? c : (x->ttl > y->ttl) - (x->ttl < y->ttl);
}

static bool rd_same(struct rdlist *a, struct rdlist *b)
{
    if (a->n != b->n)
        return false;
    if (a->n)
        qsort(a->v, a->n, sizeof(*a->v), rd_cmp);
    if (b->n)
        qsort(b->v, b->n, sizeof(*b->v), rd_cmp);
    for (size_t i = 0; i < a->n; i++)
        if (rd_cmp(&a->v[i], &b->v[i]) != 0)
            return false;
    return true;
}

/* The changed RRsets of one external commit, before and after. */
struct changes {
    struct mxg_rrset_change *v;
    size_t n, cap;
};

static void changes_free(struct changes *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].name);
        free(c->v[i].type);
        rd_free(c->v[i].before, c->v[i].n_before);
        rd_free(c->v[i].after, c->v[i].n_after);
    }
    free(c->v);
    memset(c, 0, sizeof(*c));
}

/* One row side that names an RRset: the RRset, the row's place k among the zone's rows of the
 * pass (log order), and which side. */
struct sref {
    const char *name, *type;
    size_t k;
    int side; /* 0 old, 1 new */
    const struct xside *x;
};

static int sref_cmp(const void *a, const void *b)
{
    const struct sref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (!c)
        c = strcmp(x->type, y->type);
    if (!c)
        c = (x->k > y->k) - (x->k < y->k);
    return c ? c : x->side - y->side;
}

/* An RRset the zone's rows touch: its row sides in log order and its records in the store. */
struct rrs {
    const char *name, *type;
    const struct sref *r;
    size_t nr;
    struct rdlist now;
};

/* Every RRset the rows of one zone in a pass touch, in name and type order. The state of an
 * RRset "at k" is the store with the rows k.. undone, newest first: what it held before row k
 * was written. At 0 it is the zone before the pass, at the number of rows the store. */
struct zstate {
    struct sref *refs;
    struct rrs *v;
    size_t n;
};

static void zstate_free(struct zstate *z)
{
    for (size_t i = 0; i < z->n; i++)
        rd_free(z->v[i].now.v, z->v[i].now.n);
    free(z->v);
    free(z->refs);
    memset(z, 0, sizeof(*z));
}

static int rrs_find(const void *key, const void *elem)
{
    const struct mxg_record *rec = key;
    const struct rrs *s = elem;
    int c = strcmp(rec->name, s->name);
    return c ? c : strcmp(rec->type, s->type);
}

static int now_collect(void *ctx, const struct mxg_record *rec)
{
    const struct zstate *z = ctx;
    struct rrs *s = bsearch(rec, z->v, z->n, sizeof(*z->v), rrs_find);
    return s ? rd_push(&s->now, rec->content, rec->ttl) : MXG_OK;
}

struct type_ctx {
    const char *type;
    struct rdlist *l;
};

static int rd_collect(void *ctx, const struct mxg_record *rec)
{
    struct type_ctx *t = ctx;
    if (strcmp(rec->type, t->type) != 0)
        return MXG_OK;
    return rd_push(t->l, rec->content, rec->ttl);
}

/* Past this many RRsets the zone is read whole (one query) rather than RRset by RRset. */
#define ZONE_READ_WHOLE 32

static int zstate_load(struct mxg_store *st, int64_t zone_id, bool exists, const struct xrow *rows,
                       const size_t *idx, size_t nidx, struct zstate *z)
{
    memset(z, 0, sizeof(*z));
    size_t nrefs = 0;
    if (!(z->refs = calloc(2 * nidx + 1, sizeof(*z->refs))))
        return MXG_ENOMEM;
    for (size_t k = 0; k < nidx; k++) {
        const struct xrow *r = &rows[idx[k]];
        if (strcmp(r->tbl, "records") != 0)
            continue;
        const struct xside *sides[2] = {&r->o, &r->n};
        for (int s = 0; s < 2; s++)
            if (sides[s]->present && sides[s]->type && sides[s]->name)
                z->refs[nrefs++] = (struct sref){.name = sides[s]->name,
                                                 .type = sides[s]->type,
                                                 .k = k,
                                                 .side = s,
                                                 .x = sides[s]};
    }
    if (nrefs)
        qsort(z->refs, nrefs, sizeof(*z->refs), sref_cmp);
    if (!(z->v = calloc(nrefs + 1, sizeof(*z->v))))
        return MXG_ENOMEM;
    for (size_t i = 0; i < nrefs;) {
        size_t j = i + 1;
        while (j < nrefs && strcmp(z->refs[j].name, z->refs[i].name) == 0 &&
               strcmp(z->refs[j].type, z->refs[i].type) == 0)
            j++;
        z->v[z->n++] = (struct rrs){
            .name = z->refs[i].name, .type = z->refs[i].type, .r = z->refs + i, .nr = j - i};
        i = j;
    }
    if (!exists || z->n == 0)
        return MXG_OK; /* a zone that is gone has nothing in the store */
    if (z->n > ZONE_READ_WHOLE)
        return MXG_STORE_CALL(st, list, zone_id, now_collect, z);
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < z->n; i++) {
        struct type_ctx t = {.type = z->v[i].type, .l = &z->v[i].now};
        rc = MXG_STORE_CALL(st, lookup, zone_id, z->v[i].name, z->v[i].type, rd_collect, &t);
        if (rc == MXG_ENOENT)
            rc = MXG_OK;
    }
    return rc;
}

/* The RRset at k (see struct zstate). */
static int rrs_at(const struct rrs *s, size_t k, struct rdlist *out)
{
    memset(out, 0, sizeof(*out));
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < s->now.n; i++)
        rc = rd_push(out, s->now.v[i].content, s->now.v[i].ttl);
    for (size_t i = s->nr; rc == MXG_OK && i-- > 0 && s->r[i].k >= k;) {
        const struct sref *r = &s->r[i];
        if (r->x->disabled)
            continue;
        if (r->side == 1)
            rd_remove(out, r->x->content, r->x->ttl);
        else
            rc = rd_push(out, r->x->content, r->x->ttl);
    }
    if (rc != MXG_OK) {
        rd_free(out->v, out->n);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

static bool rrs_touched(const struct rrs *s, size_t a, size_t b)
{
    for (size_t i = 0; i < s->nr; i++)
        if (s->r[i].k >= a && s->r[i].k < b)
            return true;
    return false;
}

/* The RRsets the rows a..b touch, from their state at a to their state at b; unchanged ones are
 * left out. In name and type order. */
static int span_changes(const struct zstate *z, size_t a, size_t b, struct changes *out)
{
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < z->n; i++) {
        const struct rrs *s = &z->v[i];
        if (!rrs_touched(s, a, b))
            continue;
        struct rdlist before, after;
        if ((rc = rrs_at(s, a, &before)) != MXG_OK)
            break;
        if ((rc = rrs_at(s, b, &after)) != MXG_OK) {
            rd_free(before.v, before.n);
            break;
        }
        if (!rd_same(&before, &after)) {
            if (MXG_ARRAY_RESERVE(out->v, out->cap, out->n + 1, 8) == MXG_OK) {
                out->v[out->n++] = (struct mxg_rrset_change){.name = strdup(s->name),
                                                             .type = strdup(s->type),
                                                             .before = before.v,
                                                             .n_before = before.n,
                                                             .after = after.v,
                                                             .n_after = after.n};
                if (!out->v[out->n - 1].name || !out->v[out->n - 1].type)
                    rc = MXG_ENOMEM;
                continue;
            }
            rc = MXG_ENOMEM;
        }
        rd_free(before.v, before.n);
        rd_free(after.v, after.n);
    }
    return rc;
}

/* A transaction that takes the store back to the zone at k: every RRset that rows k.. touch
 * replaced by its state at k. */
static int txn_at(const struct zstate *z, const struct mxg_zone *zone, size_t k,
                  struct mxg_txn **out)
{
    struct mxg_txn *t = NULL;
    int rc = mxg_txn_new(zone->id, zone->name, false, 0, &t);
    for (size_t i = 0; rc == MXG_OK && i < z->n; i++) {
        const struct rrs *s = &z->v[i];
        if (s->r[s->nr - 1].k < k)
            continue;
        struct rdlist l;
        if ((rc = rrs_at(s, k, &l)) != MXG_OK)
            break;
        struct mxg_txn_rec *recs = calloc(l.n ? l.n : 1, sizeof(*recs));
        if (!recs)
            rc = MXG_ENOMEM;
        char *type = s->r[0].x->type; /* the same text as s->type, not const */
        for (size_t j = 0; recs && j < l.n; j++)
            recs[j] = (struct mxg_txn_rec){
                .type = type, .content = l.v[j].content, .ttl = l.v[j].ttl, .auth = true};
        if (recs)
            rc = mxg_txn_replace(t, s->name, s->type, recs, l.n);
        free(recs);
        rd_free(l.v, l.n);
    }
    if (rc != MXG_OK) {
        mxg_txn_free(t);
        t = NULL;
    }
    *out = t;
    return rc;
}

/* ---- a view between two past states ------------------------------------------------------ */

/* The guard's view over the store and a transaction has the store BEFORE and the transaction
 * AFTER. Here the store already holds the changes, so each side is the AFTER side of a view
 * whose transaction takes the store back to that side's state. */
struct span_view {
    struct mxg_view before, after;
};

static const struct mxg_view *span_side(void *ctx, enum mxg_side side)
{
    const struct span_view *s = ctx;
    return side == MXG_BEFORE ? &s->before : &s->after;
}

static int sv_rrset(void *ctx, enum mxg_side side, const char *name, const char *type,
                    mxg_record_cb cb, void *cbctx)
{
    const struct mxg_view *v = span_side(ctx, side);
    return v->ops->rrset(v->ctx, MXG_AFTER, name, type, cb, cbctx);
}

static int sv_referrers(void *ctx, enum mxg_side side, const char *type, const char *target,
                        mxg_owner_cb cb, void *cbctx)
{
    const struct mxg_view *v = span_side(ctx, side);
    return v->ops->referrers(v->ctx, MXG_AFTER, type, target, cb, cbctx);
}

static int sv_referrers_below(void *ctx, enum mxg_side side, const char *type, const char *root,
                              mxg_owner_target_cb cb, void *cbctx)
{
    const struct mxg_view *v = span_side(ctx, side);
    return v->ops->referrers_below(v->ctx, MXG_AFTER, type, root, cb, cbctx);
}

static int sv_zone_of(void *ctx, enum mxg_side side, const char *name, char *apex, size_t len)
{
    const struct mxg_view *v = span_side(ctx, side);
    return v->ops->zone_of(v->ctx, MXG_AFTER, name, apex, len);
}

static int sv_has_below(void *ctx, enum mxg_side side, const char *name, bool *out)
{
    const struct mxg_view *v = span_side(ctx, side);
    return v->ops->has_below(v->ctx, MXG_AFTER, name, out);
}

static int sv_zone_info(void *ctx, const char *apex, enum mxg_mode *mode, bool *slave)
{
    const struct mxg_view *v = span_side(ctx, MXG_AFTER);
    return v->ops->zone_info(v->ctx, apex, mode, slave);
}

static const struct mxg_view_ops SPAN_VIEW = {
    .rrset = sv_rrset,
    .referrers = sv_referrers,
    .referrers_below = sv_referrers_below,
    .zone_of = sv_zone_of,
    .has_below = sv_has_below,
    .zone_info = sv_zone_info,
};

/* Judges the changes ch of an existing zone from its state at a to its state at b. */
static int judge(struct mxg_store *st, const struct mxg_config *cfg, const struct mxg_zone *z,
                 const struct zstate *zs, size_t a, size_t b, const struct changes *ch,
                 enum mxg_mode mode, struct mxg_decision *d)
{
    struct mxg_txn *ta = NULL, *tb = NULL;
    const char **names = calloc(ch->n ? ch->n : 1, sizeof(*names));
    size_t nn = 0;
    int rc = names ? MXG_OK : MXG_ENOMEM;
    if (rc == MXG_OK && (rc = txn_at(zs, z, a, &ta)) == MXG_OK)
        rc = txn_at(zs, z, b, &tb);
    /* The changes come in name order: a name's RRsets are next to each other. */
    for (size_t i = 0; rc == MXG_OK && i < ch->n; i++)
        if (nn == 0 || strcmp(names[nn - 1], ch->v[i].name) != 0)
            names[nn++] = ch->v[i].name;
    if (rc == MXG_OK) {
        struct mxg_guard_view_ctx ca = {.st = st, .txn = ta, .cfg = cfg};
        struct mxg_guard_view_ctx cb = {.st = st, .txn = tb, .cfg = cfg};
        struct span_view sv;
        mxg_guard_view(&ca, &sv.before);
        mxg_guard_view(&cb, &sv.after);
        struct mxg_view view = {.ops = &SPAN_VIEW, .ctx = &sv};
        struct mxg_policy_input in = {.zone = z->name,
                                      .names = names,
                                      .n_names = nn,
                                      .mode = mode,
                                      .slave = z->kind == MXG_KIND_SLAVE};
        rc = mxg_policy_evaluate(&view, &in, cfg, d);
        mxg_guard_view_done(&ca);
        mxg_guard_view_done(&cb);
    }
    free(names);
    mxg_txn_free(ta);
    mxg_txn_free(tb);
    return rc;
}

/* ---- one zone ----------------------------------------------------------------------------- */

struct meta_values {
    json_t *a;
};

static int meta_value(void *ctx, const char *kind, const char *value)
{
    (void)kind;
    struct meta_values *m = ctx;
    /* Another writer's bytes need not be UTF-8: shown with '?' rather than stopping the pass. */
    return json_array_append_new(m->a, mxg_audit_text(value)) == 0 ? MXG_OK : MXG_ENOMEM;
}

/* *out: {"kind": [values now]} for every metadata kind the rows touch; NULL when none.
 * Returns 0, MXG_ENOMEM or the store's error (then *out is NULL): a record never leaves out
 * values it could not read. */
static int metadata_json(struct mxg_store *st, int64_t zone_id, const struct xrow *rows,
                         const size_t *idx, size_t nidx, bool zone_exists, json_t **out)
{
    json_t *o = NULL;
    int rc = MXG_OK;
    for (size_t k = 0; rc == MXG_OK && k < nidx; k++) {
        const struct xrow *r = &rows[idx[k]];
        if (strcmp(r->tbl, "domainmetadata") != 0)
            continue;
        const char *kind = r->n.present ? r->n.type : r->o.type;
        if (!kind || (o && json_object_get(o, kind)))
            continue;
        if (!o && !(o = json_object())) {
            rc = MXG_ENOMEM;
            break;
        }
        struct meta_values m = {.a = json_array()};
        if (!m.a)
            rc = MXG_ENOMEM;
        else if (zone_exists)
            rc = MXG_STORE_CALL(st, meta_list, zone_id, kind, meta_value, &m);
        json_t *key = rc == MXG_OK ? mxg_audit_text(kind) : NULL;
        if (rc == MXG_OK && !key)
            rc = MXG_ENOMEM;
        if (rc == MXG_OK) /* takes m.a, also when it fails */
            rc = json_object_set_new(o, json_string_value(key), m.a) == 0 ? MXG_OK : MXG_ENOMEM;
        else
            json_decref(m.a);
        json_decref(key);
    }
    if (rc != MXG_OK && o) {
        json_decref(o);
        o = NULL;
    }
    *out = o;
    return rc;
}

/* [{"op", "flags", "active", "published"}] for every key row; NULL when none. Never content. */
static json_t *keys_json(const struct xrow *rows, const size_t *idx, size_t nidx)
{
    json_t *a = NULL;
    for (size_t k = 0; k < nidx; k++) {
        const struct xrow *r = &rows[idx[k]];
        if (strcmp(r->tbl, "cryptokeys") != 0)
            continue;
        if (!a && !(a = json_array()))
            return NULL;
        const struct xside *s = r->n.present ? &r->n : &r->o;
        json_array_append_new(a, json_pack("{s:s,s:i,s:b,s:b}", "op", r->op, "flags",
                                           (json_int_t)s->ttl, "active", !s->disabled, "published",
                                           s->published));
    }
    return a;
}

/* {"zone": [before, after]} and the like for changes to the zone's own row; NULL when none. */
static json_t *settings_json(const struct xrow *rows, const size_t *idx, size_t nidx,
                             const char **zone_name)
{
    json_t *o = NULL;
    for (size_t k = 0; k < nidx; k++) {
        const struct xrow *r = &rows[idx[k]];
        if (strcmp(r->tbl, "domains") != 0)
            continue;
        if (!o && !(o = json_object()))
            return NULL;
        const char *was = r->o.present ? (r->o.type ? r->o.type : "") : "absent";
        const char *now = r->n.present ? (r->n.type ? r->n.type : "") : "absent";
        json_object_set_new(o, "kind", json_pack("[s,s]", was, now));
        json_object_set_new(
            o, "primaries",
            json_pack("[s,s]", r->o.content ? r->o.content : "", r->n.content ? r->n.content : ""));
        if (!*zone_name)
            *zone_name = r->n.present ? r->n.name : r->o.name;
    }
    return o;
}

static bool zone_row_event(const struct xrow *rows, const size_t *idx, size_t nidx)
{
    for (size_t k = 0; k < nidx; k++) {
        const struct xrow *r = &rows[idx[k]];
        if (strcmp(r->tbl, "domains") == 0 && strcmp(r->op, "UPDATE") != 0)
            return true;
    }
    return false;
}

static void log_move(const char *zone, const struct mxg_decision *d, int64_t seq)
{
    const struct mxg_finding *f = d->n_findings ? &d->findings[0] : NULL;
    mxg_err("out-of-band write to %s moved mail: %s %s (audit record %lld)", zone,
            f ? f->rule : "?", f ? f->name : "", (long long)seq);
}

static int apply_fix(struct mxg_store *st, const struct mxg_zone *z, const struct mxg_decision *d)
{
    struct mxg_txn *t = NULL;
    int rc = mxg_txn_new(z->id, z->name, false, 0, &t);
    if (rc == MXG_OK)
        rc = mxg_guard_fix_into(t, d);
    if (rc == MXG_OK)
        rc = mxg_txn_apply(t, st);
    mxg_txn_free(t);
    return rc;
}

/* One zone's rows in a pass, and what its commits did. */
struct zpass {
    struct mxg_store *st;
    const struct mxg_config *cfg;
    const struct xrow *rows;
    const size_t *idx;
    size_t nidx;
    bool exists;
    struct mxg_zone z;
    const char *zone_name;
    enum mxg_mode mode;
    struct zstate zs;
    int64_t move_seq;         /* the newest external record of a move, 0: none */
    struct mxg_decision kept; /* the move's decision, when the pass has one commit of the zone */
    bool have_kept;
};

/* Audits the zone's rows a..b, one external commit. */
static int audit_commit(struct zpass *p, size_t a, size_t b, struct mxg_external_result *out)
{
    const size_t *idx = p->idx + a;
    size_t n = b - a;
    const char *ignored = NULL;
    struct changes ch = {0};
    json_t *settings = settings_json(p->rows, idx, n, &ignored);
    json_t *meta = NULL;
    json_t *keys = keys_json(p->rows, idx, n);
    int rc = metadata_json(p->st, p->z.id, p->rows, idx, n, p->exists, &meta);
    if (rc == MXG_OK)
        rc = span_changes(&p->zs, a, b, &ch);
    if (rc != MXG_OK || (ch.n == 0 && !settings && !meta && !keys))
        goto done; /* nothing served changed (disabled rows, rectify's rows) */

    /* A zone made or dropped by the other writer is audited with what the log says of it, not
     * judged (the guard judges a zone's arrival or departure only inside the transaction that
     * makes it). */
    bool judged = p->exists && !zone_row_event(p->rows, idx, n) && ch.n > 0;
    struct mxg_decision d = {0};
    if (judged && (rc = judge(p->st, p->cfg, &p->z, &p->zs, a, b, &ch, p->mode, &d)) != MXG_OK)
        goto done;
    bool moved = judged && (d.verdict == MXG_VERDICT_REJECT || d.verdict == MXG_VERDICT_FIX);
    /* It happened: the record says warn where a commit would have been refused or fixed. */
    struct mxg_decision ext = {0};
    if (judged) {
        ext.verdict = moved ? MXG_VERDICT_WARN : d.verdict;
        ext.findings = d.findings;
        ext.n_findings = d.n_findings;
    }
    struct mxg_audit_entry e = {.zone = p->zone_name,
                                .source = "external",
                                .mode = mxg_mode_name(p->mode),
                                .decision = judged ? &ext : NULL,
                                .changes = ch.v,
                                .n_changes = ch.n,
                                .metadata = meta,
                                .settings = settings,
                                .keys = keys};
    int64_t seq = 0;
    char hash[MXG_HASH_HEX];
    if ((rc = mxg_audit_append(p->st, &e, &seq, hash, NULL)) == MXG_OK) {
        out->records++;
        out->last_seq = seq;
        if (ext.verdict == MXG_VERDICT_WARN)
            out->warned++;
        if (moved) {
            out->moves++;
            p->move_seq = seq;
            log_move(p->zone_name, &d, seq);
        }
    }
    if (rc == MXG_OK && moved && a == 0 && b == p->nidx) {
        p->kept = d; /* the whole pass: its decision is the repair's */
        p->have_kept = true;
    } else if (judged) {
        mxg_decision_free(&d);
    }
done:
    changes_free(&ch);
    if (settings)
        json_decref(settings);
    if (meta)
        json_decref(meta);
    if (keys)
        json_decref(keys);
    return rc;
}

/* In fix mode, after a move: the zone's change over the whole pass judged again (a later commit
 * may have undone the move, or moved more) and its fix applied, audited as source fix with the
 * newest move's record in repairs. */
static int repair(struct zpass *p, struct mxg_external_result *out)
{
    struct mxg_decision d = {0};
    int rc = MXG_OK;
    if (p->have_kept) {
        d = p->kept;
        p->have_kept = false;
    } else {
        struct changes ch = {0};
        rc = span_changes(&p->zs, 0, p->nidx, &ch);
        if (rc == MXG_OK && ch.n > 0)
            rc = judge(p->st, p->cfg, &p->z, &p->zs, 0, p->nidx, &ch, p->mode, &d);
        changes_free(&ch);
        if (rc != MXG_OK)
            return rc;
    }
    if (d.verdict == MXG_VERDICT_FIX && d.n_fix > 0 &&
        (rc = apply_fix(p->st, &p->z, &d)) == MXG_OK) {
        struct mxg_audit_entry fe = {.zone = p->zone_name,
                                     .source = "fix",
                                     .mode = mxg_mode_name(p->mode),
                                     .decision = &d,
                                     .changes = d.fix,
                                     .n_changes = d.n_fix,
                                     .repairs = p->move_seq};
        int64_t fseq = 0;
        char hash[MXG_HASH_HEX];
        if ((rc = mxg_audit_append(p->st, &fe, &fseq, hash, NULL)) == MXG_OK) {
            out->fixed++;
            out->last_seq = fseq;
            mxg_err("out-of-band move in %s repaired (fix mode; audit record %lld)", p->zone_name,
                    (long long)fseq);
        }
    }
    mxg_decision_free(&d);
    return rc;
}

/* Past this many commits of one zone in a pass, the rest are audited as one. */
#define ZONE_COMMITS_MAX 64

static int handle_zone(struct mxg_store *st, const struct mxg_config *cfg, const struct xrows *rs,
                       const size_t *idx, size_t nidx, struct mxg_external_result *out)
{
    struct zpass p = {.st = st, .cfg = cfg, .rows = rs->v, .idx = idx, .nidx = nidx};
    int rc = MXG_STORE_CALL(st, zone_get_by_id, rs->v[idx[0]].domain_id, &p.z);
    if (rc != MXG_OK && rc != MXG_ENOENT)
        return rc;
    p.exists = rc == MXG_OK;
    if (!p.exists)
        p.z.id = rs->v[idx[0]].domain_id;
    p.zone_name = p.exists ? p.z.name : NULL;
    json_t *names = settings_json(rs->v, idx, nidx, &p.zone_name);
    if (names)
        json_decref(names);
    if (!p.zone_name)
        return MXG_OK; /* a zone unknown: neither in the store nor named by the log */
    p.mode = p.exists ? mxg_guard_effective_mode(st, cfg, p.z.id) : cfg->mode;
    if ((rc = zstate_load(st, p.z.id, p.exists, rs->v, idx, nidx, &p.zs)) == MXG_OK) {
        /* One audit record per external commit, in log order. */
        unsigned commits = 0;
        for (size_t a = 0; rc == MXG_OK && a < nidx;) {
            size_t b = a + 1;
            bool last = ++commits == ZONE_COMMITS_MAX;
            while (b < nidx && (last || rs->v[idx[b]].commit == rs->v[idx[a]].commit))
                b++;
            rc = audit_commit(&p, a, b, out);
            a = b;
        }
        if (rc == MXG_OK && p.move_seq && p.exists && p.mode == MXG_MODE_FIX)
            rc = repair(&p, out);
    }
    if (p.have_kept)
        mxg_decision_free(&p.kept);
    zstate_free(&p.zs);
    return rc;
}

/* ---- a pass ------------------------------------------------------------------------------- */

static int any_row(void *ctx, const struct mxg_change *c)
{
    (void)c;
    *(bool *)ctx = true;
    return 1;
}

int mxg_external_pending(struct mxg_store *st, bool *any)
{
    *any = false;
    int rc = MXG_STORE_CALL(st, changes_list, 1, any_row, any);
    return rc == 1 ? MXG_OK : rc;
}

int mxg_external_pass(struct mxg_store *st, const struct mxg_config *cfg, unsigned max,
                      struct mxg_external_result *out)
{
    memset(out, 0, sizeof(*out));
    if (max == 0)
        max = MXG_EXTERNAL_PASS_ROWS;
    struct xrows rs = {0};
    size_t *idx = NULL;
    bool *done = NULL;
    int rc = MXG_STORE_CALL0(st, begin);
    if (rc != MXG_OK)
        return rc;
    rc = MXG_STORE_CALL(st, changes_list, max + 1, row_collect, &rs);
    if (rc == MXG_OK && rs.n > max) {
        out->more = true;
        side_free(&rs.v[max].o);
        side_free(&rs.v[max].n);
        rs.n = max;
    }
    if (rc == MXG_OK && rs.n > 0) {
        idx = malloc(rs.n * sizeof(*idx));
        done = calloc(rs.n, sizeof(*done));
        if (!idx || !done)
            rc = MXG_ENOMEM;
    }
    /* Zone by zone, in the order each first appears in the log. */
    for (size_t i = 0; rc == MXG_OK && i < rs.n; i++) {
        if (done[i])
            continue;
        size_t n = 0;
        for (size_t j = i; j < rs.n; j++) {
            if (!done[j] && rs.v[j].domain_id == rs.v[i].domain_id) {
                idx[n++] = j;
                done[j] = true;
            }
        }
        rc = handle_zone(st, cfg, &rs, idx, n, out);
    }
    if (rc == MXG_OK && rs.n > 0)
        rc = MXG_STORE_CALL(st, changes_trim, rs.v[rs.n - 1].id);
    out->rows = rs.n;
    if (rc != MXG_OK)
        mxg_store_abandon(st);
    else if (rs.n > 0)
        rc = MXG_STORE_CALL0(st, commit);
    else
        rc = MXG_STORE_CALL0(st, rollback); /* an empty log: the read ends */
    free(idx);
    free(done);
    rows_free(&rs);
    if (rc != MXG_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}
