/* external.c -- out-of-band writes: the capture log audited, judged and repaired (external.h). */
#include "mxg/external.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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
    int64_t id, domain_id;
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
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        struct xrow *v = realloc(rs->v, cap * sizeof(*v));
        if (!v)
            return MXG_ENOMEM;
        rs->v = v;
        rs->cap = cap;
    }
    struct xrow *r = &rs->v[rs->n];
    memset(r, 0, sizeof(*r));
    r->id = c->id;
    r->domain_id = c->domain_id;
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
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        struct mxg_rrdata *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return MXG_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
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

/* The changed RRsets of one zone: the current records (after) and, with the logged changes
 * undone newest first, the records before. */
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

/* One row side that names an RRset, for grouping: the RRset, the row's place among the zone's
 * rows, and which side. */
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

/* The change of the RRset whose row sides are g[0..n) (in log order): after is the store's (or,
 * for a zone that is gone or new, what the log ends with), before is after with the sides
 * undone newest first. Unchanged RRsets are left out. */
static int rrset_change(struct mxg_store *st, int64_t zone_id, const struct sref *g, size_t n,
                        bool from_store, struct changes *out)
{
    const char *name = g[0].name, *type = g[0].type;
    struct rdlist after = {0}, before = {0};
    int rc = MXG_OK;
    if (from_store) {
        struct type_ctx t = {.type = type, .l = &after};
        rc = MXG_STORE_CALL(st, lookup, zone_id, name, type, rd_collect, &t);
        if (rc == MXG_ENOENT)
            rc = MXG_OK;
    } else {
        for (size_t i = 0; rc == MXG_OK && i < n; i++) {
            if (g[i].x->disabled)
                continue;
            if (g[i].side == 0)
                rd_remove(&after, g[i].x->content, g[i].x->ttl);
            else
                rc = rd_push(&after, g[i].x->content, g[i].x->ttl);
        }
    }
    for (size_t i = 0; rc == MXG_OK && i < after.n; i++)
        rc = rd_push(&before, after.v[i].content, after.v[i].ttl);
    for (size_t i = n; rc == MXG_OK && i-- > 0;) {
        if (g[i].x->disabled)
            continue;
        if (g[i].side == 1)
            rd_remove(&before, g[i].x->content, g[i].x->ttl);
        else
            rc = rd_push(&before, g[i].x->content, g[i].x->ttl);
    }
    if (rc == MXG_OK && !rd_same(&before, &after)) {
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 8;
            struct mxg_rrset_change *v = realloc(out->v, cap * sizeof(*v));
            if (!v)
                rc = MXG_ENOMEM;
            else {
                out->v = v;
                out->cap = cap;
            }
        }
        if (rc == MXG_OK) {
            struct mxg_rrset_change *c = &out->v[out->n++];
            c->name = strdup(name);
            c->type = strdup(type);
            c->before = before.v;
            c->n_before = before.n;
            c->after = after.v;
            c->n_after = after.n;
            return c->name && c->type ? MXG_OK : MXG_ENOMEM;
        }
    }
    rd_free(before.v, before.n);
    rd_free(after.v, after.n);
    return rc;
}

/* Every RRset the zone's record rows touch, with its change (unchanged ones left out), in
 * name and type order. */
static int zone_changes(struct mxg_store *st, int64_t zone_id, const struct xrow *rows,
                        const size_t *idx, size_t nidx, bool from_store, struct changes *out)
{
    struct sref *refs = calloc(2 * nidx + 1, sizeof(*refs));
    size_t n = 0;
    if (!refs)
        return MXG_ENOMEM;
    for (size_t k = 0; k < nidx; k++) {
        const struct xrow *r = &rows[idx[k]];
        if (strcmp(r->tbl, "records") != 0)
            continue;
        const struct xside *sides[2] = {&r->o, &r->n};
        for (int s = 0; s < 2; s++)
            if (sides[s]->present && sides[s]->type && sides[s]->name)
                refs[n++] = (struct sref){.name = sides[s]->name,
                                          .type = sides[s]->type,
                                          .k = k,
                                          .side = s,
                                          .x = sides[s]};
    }
    if (n)
        qsort(refs, n, sizeof(*refs), sref_cmp);
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < n;) {
        size_t j = i + 1;
        while (j < n && strcmp(refs[j].name, refs[i].name) == 0 &&
               strcmp(refs[j].type, refs[i].type) == 0)
            j++;
        rc = rrset_change(st, zone_id, refs + i, j - i, from_store, out);
        i = j;
    }
    free(refs);
    return rc;
}

/* ---- the view, turned around ------------------------------------------------------------ */

/* The guard's view over the store and a transaction has the store BEFORE and the transaction
 * AFTER. Here the store already holds the change and the transaction puts back what was there:
 * the sides swap. */
static enum mxg_side flip(enum mxg_side s)
{
    return s == MXG_BEFORE ? MXG_AFTER : MXG_BEFORE;
}

static int sw_rrset(void *ctx, enum mxg_side side, const char *name, const char *type,
                    mxg_record_cb cb, void *cbctx)
{
    const struct mxg_view *in = ctx;
    return in->ops->rrset(in->ctx, flip(side), name, type, cb, cbctx);
}

static int sw_referrers(void *ctx, enum mxg_side side, const char *type, const char *target,
                        mxg_owner_cb cb, void *cbctx)
{
    const struct mxg_view *in = ctx;
    return in->ops->referrers(in->ctx, flip(side), type, target, cb, cbctx);
}

static int sw_referrers_below(void *ctx, enum mxg_side side, const char *type, const char *root,
                              mxg_owner_target_cb cb, void *cbctx)
{
    const struct mxg_view *in = ctx;
    return in->ops->referrers_below(in->ctx, flip(side), type, root, cb, cbctx);
}

static int sw_zone_of(void *ctx, enum mxg_side side, const char *name, char *apex, size_t len)
{
    const struct mxg_view *in = ctx;
    return in->ops->zone_of(in->ctx, flip(side), name, apex, len);
}

static int sw_has_below(void *ctx, enum mxg_side side, const char *name, bool *out)
{
    const struct mxg_view *in = ctx;
    return in->ops->has_below(in->ctx, flip(side), name, out);
}

static int sw_zone_info(void *ctx, const char *apex, enum mxg_mode *mode, bool *slave)
{
    const struct mxg_view *in = ctx;
    return in->ops->zone_info(in->ctx, apex, mode, slave);
}

static const struct mxg_view_ops SWAPPED = {
    .rrset = sw_rrset,
    .referrers = sw_referrers,
    .referrers_below = sw_referrers_below,
    .zone_of = sw_zone_of,
    .has_below = sw_has_below,
    .zone_info = sw_zone_info,
};

/* ---- one zone ----------------------------------------------------------------------------- */

struct meta_values {
    json_t *a;
};

static int meta_value(void *ctx, const char *kind, const char *value)
{
    (void)kind;
    struct meta_values *m = ctx;
    return json_array_append_new(m->a, json_string(value)) == 0 ? MXG_OK : MXG_ENOMEM;
}

/* {"kind": [values now]} for every metadata kind the rows touch; NULL when none. */
static json_t *metadata_json(struct mxg_store *st, int64_t zone_id, const struct xrow *rows,
                             const size_t *idx, size_t nidx, bool zone_exists)
{
    json_t *o = NULL;
    for (size_t k = 0; k < nidx; k++) {
        const struct xrow *r = &rows[idx[k]];
        if (strcmp(r->tbl, "domainmetadata") != 0)
            continue;
        const char *kind = r->n.present ? r->n.type : r->o.type;
        if (!kind || (o && json_object_get(o, kind)))
            continue;
        if (!o && !(o = json_object()))
            return NULL;
        struct meta_values m = {.a = json_array()};
        if (m.a && zone_exists)
            MXG_STORE_CALL(st, meta_list, zone_id, kind, meta_value, &m);
        json_object_set_new(o, kind, m.a ? m.a : json_array());
    }
    return o;
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

static void log_move(const char *zone, const struct mxg_decision *d, int64_t seq, bool fixed)
{
    const struct mxg_finding *f = d->n_findings ? &d->findings[0] : NULL;
    mxg_err("out-of-band write to %s moved mail: %s %s (audit record %lld)%s", zone,
            f ? f->rule : "?", f ? f->name : "", (long long)seq,
            fixed ? "; repaired (fix mode)" : "");
}

static int apply_fix(struct mxg_store *st, const struct mxg_zone *z, const struct mxg_decision *d)
{
    struct mxg_txn *t = NULL;
    int rc = mxg_txn_new(z->id, z->name, false, 0, &t);
    for (size_t i = 0; rc == MXG_OK && i < d->n_fix; i++) {
        const struct mxg_rrset_change *c = &d->fix[i];
        struct mxg_txn_rec *recs = calloc(c->n_after ? c->n_after : 1, sizeof(*recs));
        if (!recs) {
            rc = MXG_ENOMEM;
            break;
        }
        for (size_t j = 0; j < c->n_after; j++)
            recs[j] = (struct mxg_txn_rec){.type = c->type,
                                           .content = c->after[j].content,
                                           .ttl = c->after[j].ttl,
                                           .auth = true};
        rc = mxg_txn_replace(t, c->name, c->type, recs, c->n_after);
        free(recs);
    }
    if (rc == MXG_OK)
        rc = mxg_txn_apply(t, st);
    mxg_txn_free(t);
    return rc;
}

/* Judges the change of an existing zone: the guard's view with a transaction that puts the
 * changed RRsets back as they were, its sides swapped. */
static int judge(struct mxg_store *st, const struct mxg_config *cfg, const struct mxg_zone *z,
                 const struct changes *ch, enum mxg_mode mode, struct mxg_decision *d)
{
    struct mxg_txn *t = NULL;
    int rc = mxg_txn_new(z->id, z->name, false, 0, &t);
    const char **names = calloc(ch->n ? ch->n : 1, sizeof(*names));
    size_t nn = 0;
    if (!names)
        rc = MXG_ENOMEM;
    for (size_t i = 0; rc == MXG_OK && i < ch->n; i++) {
        const struct mxg_rrset_change *c = &ch->v[i];
        struct mxg_txn_rec *recs = calloc(c->n_before ? c->n_before : 1, sizeof(*recs));
        if (!recs) {
            rc = MXG_ENOMEM;
            break;
        }
        for (size_t j = 0; j < c->n_before; j++)
            recs[j] = (struct mxg_txn_rec){.type = c->type,
                                           .content = c->before[j].content,
                                           .ttl = c->before[j].ttl,
                                           .auth = true};
        rc = mxg_txn_replace(t, c->name, c->type, recs, c->n_before);
        free(recs);
        /* The changes come in name order: a name's RRsets are next to each other. */
        if (nn == 0 || strcmp(names[nn - 1], c->name) != 0)
            names[nn++] = c->name;
    }
    if (rc == MXG_OK) {
        struct mxg_guard_view_ctx vctx = {.st = st, .txn = t, .cfg = cfg};
        struct mxg_view inner, swapped;
        mxg_guard_view(&vctx, &inner);
        swapped.ops = &SWAPPED;
        swapped.ctx = &inner;
        struct mxg_policy_input in = {.zone = z->name,
                                      .names = names,
                                      .n_names = nn,
                                      .mode = mode,
                                      .slave = z->kind == MXG_KIND_SLAVE};
        rc = mxg_policy_evaluate(&swapped, &in, cfg, d);
    }
    free(names);
    mxg_txn_free(t);
    return rc;
}

static int handle_zone(struct mxg_store *st, const struct mxg_config *cfg, const struct xrows *rs,
                       const size_t *idx, size_t nidx, struct mxg_external_result *out)
{
    int64_t zone_id = rs->v[idx[0]].domain_id;
    struct mxg_zone z;
    int rc = MXG_STORE_CALL(st, zone_get_by_id, zone_id, &z);
    if (rc != MXG_OK && rc != MXG_ENOENT)
        return rc;
    bool exists = rc == MXG_OK;
    /* A zone made or dropped by the other writer is audited with what the log says of it, not
     * judged (the guard judges a zone's arrival or departure only inside the transaction that
     * makes it). */
    bool judged = exists && !zone_row_event(rs->v, idx, nidx);
    const char *zone_name = exists ? z.name : NULL;
    struct changes ch = {0};
    json_t *settings = settings_json(rs->v, idx, nidx, &zone_name);
    json_t *meta = metadata_json(st, zone_id, rs->v, idx, nidx, exists);
    json_t *keys = keys_json(rs->v, idx, nidx);
    rc = zone_changes(st, zone_id, rs->v, idx, nidx, judged, &ch);
    if (rc != MXG_OK || !zone_name || (ch.n == 0 && !settings && !meta && !keys))
        goto done; /* nothing served changed (disabled rows, rectify's rows, a zone unknown) */

    enum mxg_mode mode = exists ? mxg_guard_effective_mode(st, cfg, zone_id) : cfg->mode;
    struct mxg_decision d = {0};
    bool have_d = false;
    if (judged && ch.n > 0) {
        if ((rc = judge(st, cfg, &z, &ch, mode, &d)) != MXG_OK)
            goto done;
        have_d = true;
    }
    bool moved = have_d && (d.verdict == MXG_VERDICT_REJECT || d.verdict == MXG_VERDICT_FIX);
    /* It happened: the record says warn where a commit would have been refused or fixed. */
    struct mxg_decision ext = {0};
    if (have_d) {
        ext.verdict = moved ? MXG_VERDICT_WARN : d.verdict;
        ext.findings = d.findings;
        ext.n_findings = d.n_findings;
    }
    struct mxg_audit_entry e = {.zone = zone_name,
                                .source = "external",
                                .mode = mxg_mode_name(mode),
                                .decision = have_d ? &ext : NULL,
                                .changes = ch.v,
                                .n_changes = ch.n,
                                .metadata = meta,
                                .settings = settings,
                                .keys = keys};
    int64_t seq = 0;
    char hash[MXG_HASH_HEX];
    if ((rc = mxg_audit_append(st, &e, &seq, hash, NULL)) == MXG_OK) {
        out->records++;
        out->last_seq = seq;
        if (ext.verdict == MXG_VERDICT_WARN)
            out->warned++;
    }
    bool fixed = false;
    if (rc == MXG_OK && moved && d.verdict == MXG_VERDICT_FIX && d.n_fix > 0 &&
        (rc = apply_fix(st, &z, &d)) == MXG_OK) {
        struct mxg_audit_entry fe = {.zone = zone_name,
                                     .source = "fix",
                                     .mode = mxg_mode_name(mode),
                                     .decision = &d,
                                     .changes = d.fix,
                                     .n_changes = d.n_fix,
                                     .repairs = seq};
        int64_t fseq = 0;
        if ((rc = mxg_audit_append(st, &fe, &fseq, hash, NULL)) == MXG_OK) {
            fixed = true;
            out->fixed++;
            out->last_seq = fseq;
        }
    }
    if (rc == MXG_OK && moved) {
        out->moves++;
        log_move(zone_name, &d, seq, fixed);
    }
    if (have_d)
        mxg_decision_free(&d);
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
    if (rc == MXG_OK && rs.n > 0)
        rc = MXG_STORE_CALL0(st, commit);
    else
        MXG_STORE_CALL0(st, rollback);
    free(idx);
    free(done);
    rows_free(&rs);
    if (rc != MXG_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}
