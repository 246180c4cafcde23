/* policy.c -- the rule of PRODUCT.md §3-§4: affected mail domains, findings, verdict, the fix.
 *
 * The evaluation walks outward from the touched names only: the names whose answers they can
 * change (CNAME/ALIAS/DNAME referrers, transitively; names answered through a wildcard,
 * delegation or DNAME at or above a touched name, found through the view's subtree lookups),
 * then the mail domains whose MX reaches those names. Each domain's addresses are resolved as
 * pdns answers them (resolve.h) on both sides, each with its path, and judged by the rule. In
 * fix mode the repair is computed, then checked by judging again on an overlay view (AFTER with
 * the fix applied).
 *
 * View requirement beyond view.h: rrset() with type NULL returns the records of every type at
 * the name. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mxg/array.h"
#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/hash.h"
#include "mxg/hashset.h"
#include "mxg/policy.h"
#include "mxg/resolve.h"

#define NAMEBUF MXG_NAME_TEXT_MAX
/* Names whose answers one transaction may change, followed outward (a bound on the walk). */
#define AFFECTED_MAX 200000
/* Referrer levels searched to learn whether an owner lies on some mail path. */
#define MAILPATH_DEPTH MXG_RESOLVE_RETARGETS_MAX

static const char *const FAM_TYPE[2] = {"A", "AAAA"};
static const int FAM_NUM[2] = {4, 6};

static const char RULE_MOVED[] = "mail-moved";
static const char RULE_IMPLICIT[] = "implicit-mail-moved";
static const char RULE_HOST_CHANGED[] = "mail-host-changed";
static const char RULE_MX_CNAME[] = "mx-cname";
static const char RULE_MX_NOADDR[] = "mx-no-address";
static const char RULE_MX_LITERAL[] = "mx-ip-literal";
static const char RULE_NULL_MIXED[] = "null-mx-mixed";
static const char RULE_SPF[] = "spf-moved";
static const char RULE_NO_HOST[] = "fix-no-host";

/* ---- names ------------------------------------------------------------------------------ */

/* Strings in the order they were added, each once; index finds them by hash. */
struct strset {
    char **v;
    size_t n, cap;
    struct mxg_hset index;
};

static bool strset_find(const struct strset *s, const char *str, uint64_t h)
{
    struct mxg_hset_probe p;
    for (uint32_t i = mxg_hset_first(&s->index, h, &p); i != MXG_HSET_NONE; i = mxg_hset_next(&p))
        if (strcmp(s->v[i], str) == 0)
            return true;
    return false;
}

static bool strset_has(const struct strset *s, const char *str)
{
    return strset_find(s, str, mxg_hash_str(str));
}

static int strset_add(struct strset *s, const char *str, bool *added)
{
    if (added)
        *added = false;
    uint64_t h = mxg_hash_str(str);
    if (strset_find(s, str, h))
        return MXG_OK;
    if (mxg_hset_reserve(&s->index, s->n + 1) != MXG_OK ||
        MXG_ARRAY_RESERVE(s->v, s->cap, s->n + 1, 16) != MXG_OK)
        return MXG_ENOMEM;
    char *c = strdup(str);
    if (!c)
        return MXG_ENOMEM;
    int rc = mxg_hset_insert(&s->index, h, (uint32_t)s->n); /* room made above: MXG_OK */
    if (rc != MXG_OK) {
        free(c);
        return rc;
    }
    s->v[s->n++] = c;
    if (added)
        *added = true;
    return MXG_OK;
}

static void strset_free(struct strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    mxg_hset_free(&s->index);
    memset(s, 0, sizeof(*s));
}

/* The target name of MX content ("10 host"), or NULL when it does not parse. */
static const char *mx_target(const char *content, unsigned *pref)
{
    const char *p = content;
    unsigned long v = 0;
    bool digits = false;
    while (*p == ' ' || *p == '\t')
        p++;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 65535)
            return NULL;
        p++;
        digits = true;
    }
    if (!digits || (*p != ' ' && *p != '\t'))
        return NULL;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return NULL;
    if (pref)
        *pref = (unsigned)v;
    return p;
}

/* Canonical target of MX, CNAME or ALIAS content; MXG_EINVAL when it has none. */
static int content_target(const char *type, const char *content, char *out, size_t outlen)
{
    const char *p = strcmp(type, "MX") == 0 ? mx_target(content, NULL) : content;
    if (!p)
        return MXG_EINVAL;
    return mxg_name_canon(p, out, outlen);
}

/* "mail.example.com." -> "mail.example.com" (pdns content form; root stays "."). */
static void content_name(const char *canon, char *out, size_t outlen)
{
    if (strcmp(canon, ".") == 0 || mxg_name_to_db(canon, out, outlen) != MXG_OK)
        snprintf(out, outlen, "%s", canon);
}

static bool is_ip_literal(const char *text)
{
    char buf[64];
    size_t len = strlen(text);
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, text, len + 1);
    if (buf[len - 1] == '.')
        buf[len - 1] = '\0';
    uint8_t b[16];
    return inet_pton(AF_INET, buf, b) == 1 || inet_pton(AF_INET6, buf, b) == 1;
}

/* ---- records ---------------------------------------------------------------------------- */

struct rr {
    char *type;
    char *content;
    uint32_t ttl;
};

struct rrs {
    struct rr *v;
    size_t n, cap;
    const char *want; /* type filter while fetching, NULL: all */
};

static int rrs_push(struct rrs *l, const char *type, const char *content, uint32_t ttl)
{
    if (MXG_ARRAY_RESERVE(l->v, l->cap, l->n + 1, 4) != MXG_OK)
        return MXG_ENOMEM;
    struct rr *r = &l->v[l->n];
    r->type = strdup(type);
    r->content = strdup(content);
    r->ttl = ttl;
    if (!r->type || !r->content) {
        free(r->type);
        free(r->content);
        return MXG_ENOMEM;
    }
    l->n++;
    return MXG_OK;
}

static void rrs_free(struct rrs *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].type);
        free(l->v[i].content);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int rrs_cb(void *ctx, const struct mxg_record *rec)
{
    struct rrs *l = ctx;
    if (strcmp(rec->type, "ENT") == 0 || (l->want && strcmp(rec->type, l->want) != 0))
        return 0;
    return rrs_push(l, rec->type, rec->content, rec->ttl);
}

static int fetch(const struct mxg_view *v, enum mxg_side side, const char *name, const char *type,
                 struct rrs *out)
{
    memset(out, 0, sizeof(*out));
    out->want = type;
    int rc = v->ops->rrset(v->ctx, side, name, type, rrs_cb, out);
    if (rc != MXG_OK)
        rrs_free(out);
    return rc;
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- findings --------------------------------------------------------------------------- */

static void finding_free(struct mxg_finding *f)
{
    free(f->name);
    for (size_t i = 0; i < f->n_old; i++)
        free(f->old_values[i]);
    free(f->old_values);
    for (size_t i = 0; i < f->n_new; i++)
        free(f->new_values[i]);
    free(f->new_values);
    free(f->reason);
}

static int strv_push(char ***v, size_t *n, const char *s)
{
    char **nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (!nv)
        return MXG_ENOMEM;
    *v = nv;
    if (!(nv[*n] = strdup(s)))
        return MXG_ENOMEM;
    (*n)++;
    return MXG_OK;
}

/* Appends a finding; *fp points at it until the next append. */
static int finding_new(struct mxg_decision *d, const char *rule, enum mxg_severity sev,
                       const char *name, const char *family, struct mxg_finding **fp)
{
    struct mxg_finding *nf = realloc(d->findings, (d->n_findings + 1) * sizeof(*nf));
    if (!nf)
        return MXG_ENOMEM;
    d->findings = nf;
    struct mxg_finding *f = &nf[d->n_findings];
    memset(f, 0, sizeof(*f));
    f->rule = rule;
    f->severity = sev;
    f->family = family;
    if (!(f->name = strdup(name)))
        return MXG_ENOMEM;
    d->n_findings++;
    *fp = f;
    return MXG_OK;
}

__attribute__((format(printf, 2, 3))) static int finding_reason(struct mxg_finding *f,
                                                                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0)
        return MXG_EINVAL;
    char *s = malloc((size_t)len + 1);
    if (!s)
        return MXG_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    free(f->reason);
    f->reason = s;
    return MXG_OK;
}

/* ---- addresses -------------------------------------------------------------------------- */

/* One address of a mail domain in one family: a value (or an unknown identity) and the
 * resolution that gave it (its path). */
struct maddr {
    bool unknown;
    uint8_t b[16];
    const char *id;                   /* unknown: identity (borrowed from res) */
    const struct mxg_resolution *res; /* borrowed from the target */
    const char *target;               /* the mail target (borrowed) */
};

struct alist {
    struct maddr *v;
    size_t n, cap;
};

static int alist_push(struct alist *l, const struct maddr *a)
{
    if (MXG_ARRAY_RESERVE(l->v, l->cap, l->n + 1, 4) != MXG_OK)
        return MXG_ENOMEM;
    l->v[l->n++] = *a;
    return MXG_OK;
}

static void alist_free(struct alist *l)
{
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static bool maddr_same(int fam, const struct maddr *a, const struct maddr *b)
{
    if (a->unknown != b->unknown)
        return false;
    if (a->unknown)
        return strcmp(a->id, b->id) == 0;
    return memcmp(a->b, b->b, fam == 4 ? 4 : 16) == 0;
}

static bool alist_has(int fam, const struct alist *l, const struct maddr *a)
{
    for (size_t i = 0; i < l->n; i++)
        if (maddr_same(fam, &l->v[i], a))
            return true;
    return false;
}

static void maddr_str(int fam, const struct maddr *a, char *buf, size_t len)
{
    if (a->unknown)
        snprintf(buf, len, "unknown (%s)", a->id);
    else if (!inet_ntop(fam == 4 ? AF_INET : AF_INET6, a->b, buf, (socklen_t)len))
        snprintf(buf, len, "?");
}

static bool in_ranges(const struct mxg_cidr *r, size_t n, int fam, const uint8_t *b)
{
    for (size_t i = 0; i < n; i++)
        if (mxg_cidr_contains(&r[i], fam, b))
            return true;
    return false;
}

/* Distinct addresses of a list as sorted strings (the finding's old/new). */
static int strv_alist(char ***v, size_t *n, int fam, const struct alist *l)
{
    struct strset seen = {0};
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < l->n; i++) {
        char buf[NAMEBUF + 32];
        maddr_str(fam, &l->v[i], buf, sizeof(buf));
        rc = strset_add(&seen, buf, NULL);
    }
    if (rc == MXG_OK && seen.n > 0) {
        char **nv = realloc(*v, (*n + seen.n) * sizeof(*nv));
        if (!nv)
            rc = MXG_ENOMEM;
        else {
            *v = nv;
            qsort(seen.v, seen.n, sizeof(*seen.v), cmp_strp);
            for (size_t i = 0; i < seen.n; i++) {
                nv[(*n)++] = seen.v[i];
                seen.v[i] = NULL;
            }
            seen.n = 0;
        }
    }
    strset_free(&seen);
    return rc;
}

/* ---- evaluation context ------------------------------------------------------------------ */

struct pctx {
    const struct mxg_view *view;
    const struct mxg_policy_input *in;
    const struct mxg_config *cfg;
    struct mxg_decision *out;
    struct mxg_resolve_opts ro;
    /* Memo of names already judged shared (value 1) or dedicated (2), per position class. */
    struct strset shared_memo, dedicated_memo;
};

static int zone_of(struct pctx *c, enum mxg_side side, const char *name, char *apex, size_t len)
{
    return c->view->ops->zone_of(c->view->ctx, side, name, apex, len);
}

static bool zone_served(struct pctx *c, enum mxg_side side, const char *apex)
{
    char a[NAMEBUF];
    return zone_of(c, side, apex, a, sizeof(a)) == MXG_OK && strcmp(a, apex) == 0;
}

static bool is_apex(struct pctx *c, enum mxg_side side, const char *name)
{
    return zone_served(c, side, name);
}

/* ---- mail domains ---------------------------------------------------------------------------
 */

/* One mail target on one side: its resolutions in both families. */
struct target {
    char *name;
    bool cname;   /* the target itself is a CNAME */
    bool outside; /* outside every served zone on this side */
    struct mxg_resolution r[2];
};

static void target_free(struct target *t)
{
    free(t->name);
    mxg_resolution_free(&t->r[0]);
    mxg_resolution_free(&t->r[1]);
    memset(t, 0, sizeof(*t));
}

static int target_compute(struct pctx *c, enum mxg_side side, const char *name, struct target *t)
{
    memset(t, 0, sizeof(*t));
    if (!(t->name = strdup(name)))
        return MXG_ENOMEM;
    char apex[NAMEBUF];
    t->outside = zone_of(c, side, name, apex, sizeof(apex)) == MXG_ENOENT;
    int rc = MXG_OK;
    for (int f = 0; f < 2 && rc == MXG_OK; f++)
        rc = mxg_resolve(c->view, side, name, FAM_NUM[f], &c->ro, &t->r[f]);
    if (rc == MXG_OK)
        t->cname = t->r[0].n_steps > 1 && t->r[0].steps[1].role == MXG_STEP_CNAME;
    if (rc != MXG_OK)
        target_free(t);
    return rc;
}

static bool res_has_address(const struct mxg_resolution *r)
{
    return r->kind == MXG_RES_ADDRESSES || r->kind == MXG_RES_UNKNOWN;
}

static bool target_no_address(const struct target *t)
{
    return !t->outside && !res_has_address(&t->r[0]) && !res_has_address(&t->r[1]);
}

/* A mail domain candidate on one side. */
struct dside {
    bool served; /* D's zone is served on this side */
    bool has_mx, explicit_mx, implicit, mail, null_mixed;
    struct rrs mx;
    struct target *t;
    size_t nt;
    struct alist s[2]; /* its addresses per family (pointing into t) */
};

static void dside_free(struct dside *d)
{
    rrs_free(&d->mx);
    for (size_t i = 0; i < d->nt; i++)
        target_free(&d->t[i]);
    free(d->t);
    alist_free(&d->s[0]);
    alist_free(&d->s[1]);
    memset(d, 0, sizeof(*d));
}

static int dside_add_target(struct pctx *c, enum mxg_side side, struct dside *d, const char *name)
{
    for (size_t i = 0; i < d->nt; i++)
        if (strcmp(d->t[i].name, name) == 0)
            return MXG_OK;
    struct target *nt = realloc(d->t, (d->nt + 1) * sizeof(*nt));
    if (!nt)
        return MXG_ENOMEM;
    d->t = nt;
    int rc = target_compute(c, side, name, &d->t[d->nt]);
    if (rc != MXG_OK)
        return rc;
    d->nt++;
    return MXG_OK;
}

static const struct target *dside_target(const struct dside *d, const char *name)
{
    for (size_t i = 0; i < d->nt; i++)
        if (strcmp(d->t[i].name, name) == 0)
            return &d->t[i];
    return NULL;
}

static int dside_compute(struct pctx *c, enum mxg_side side, const char *dom, const char *apex,
                         struct dside *d)
{
    memset(d, 0, sizeof(*d));
    char za[NAMEBUF];
    d->served = zone_of(c, side, dom, za, sizeof(za)) == MXG_OK && strcmp(za, apex) == 0;
    if (!d->served)
        return MXG_OK;
    int rc = fetch(c->view, side, dom, "MX", &d->mx);
    if (rc != MXG_OK)
        return rc;
    size_t nnull = 0;
    for (size_t i = 0; i < d->mx.n; i++) {
        const char *t = mx_target(d->mx.v[i].content, NULL);
        if (t && strcmp(t, ".") == 0)
            nnull++;
    }
    d->has_mx = d->mx.n > 0;
    d->explicit_mx = d->has_mx && !(d->mx.n == 1 && nnull == 1);
    d->null_mixed = nnull > 0 && d->mx.n > nnull;
    bool dom_apex = strcmp(dom, apex) == 0;
    if (d->explicit_mx) {
        for (size_t i = 0; rc == MXG_OK && i < d->mx.n; i++) {
            char t[NAMEBUF];
            const char *text = mx_target(d->mx.v[i].content, NULL);
            if (!text || mxg_name_canon(text, t, sizeof(t)) != MXG_OK || strcmp(t, ".") == 0)
                continue;
            rc = dside_add_target(c, side, d, t);
        }
    } else if (!d->has_mx && dom_apex && c->cfg->implicit_mx != MXG_IMPLICIT_NO) {
        rc = dside_add_target(c, side, d, dom);
        if (rc == MXG_OK)
            d->implicit = res_has_address(&d->t[0].r[0]) || res_has_address(&d->t[0].r[1]);
    }
    d->mail = d->explicit_mx || d->implicit;
    for (size_t i = 0; rc == MXG_OK && d->mail && i < d->nt; i++) {
        const struct target *t = &d->t[i];
        for (int f = 0; f < 2 && rc == MXG_OK; f++) {
            const struct mxg_resolution *r = &t->r[f];
            struct maddr a = {.res = r, .target = t->name};
            if (r->kind == MXG_RES_UNKNOWN) {
                a.unknown = true;
                a.id = r->unknown;
                rc = alist_push(&d->s[f], &a);
            }
            for (size_t k = 0; rc == MXG_OK && r->kind == MXG_RES_ADDRESSES && k < r->n_addrs;
                 k++) {
                memcpy(a.b, r->addrs[k], 16);
                rc = alist_push(&d->s[f], &a);
            }
        }
    }
    if (rc != MXG_OK)
        dside_free(d);
    return rc;
}

struct dom {
    char *name;
    char *apex; /* apex of the zone holding the domain (BEFORE) */
    struct dside sd[2];
    enum mxg_mode mode; /* the effective mode of D's zone */
    bool slave;
    bool block;      /* a blocking move finding that counts in D's zone */
    bool proxy_move; /* rule 3: a mail host pointed into the proxy (never fixed) */
};

static void dom_free(struct dom *d)
{
    free(d->name);
    free(d->apex);
    dside_free(&d->sd[0]);
    dside_free(&d->sd[1]);
    memset(d, 0, sizeof(*d));
}

/* ---- paths ---------------------------------------------------------------------------------
 */

static int ref_any(void *ctx, const char *owner)
{
    (void)owner;
    *(bool *)ctx = true;
    return 1;
}

static int ref_add(void *ctx, const char *owner)
{
    return strset_add(ctx, owner, NULL);
}

/* Whether owner lies on the path of some served mail domain on side: an MX target, or a
 * CNAME/ALIAS target of a name that is (a bounded walk up the referrers). */
static int on_mail_path(struct pctx *c, enum mxg_side side, const char *owner, int depth, bool *out)
{
    const struct mxg_view *v = c->view;
    *out = false;
    int rc = v->ops->referrers(v->ctx, side, "MX", owner, ref_any, out);
    if (rc < 0)
        return rc;
    if (*out || depth >= MAILPATH_DEPTH)
        return MXG_OK;
    struct strset up = {0};
    static const char *const types[] = {"CNAME", "ALIAS"};
    for (int k = 0; k < 2 && rc == MXG_OK; k++)
        rc = v->ops->referrers(v->ctx, side, types[k], owner, ref_add, &up);
    for (size_t i = 0; rc == MXG_OK && i < up.n && !*out; i++)
        rc = on_mail_path(c, side, up.v[i], depth + 1, out);
    strset_free(&up);
    return rc;
}

struct web_ctx {
    struct pctx *c;
    enum mxg_side side;
    const struct mxg_resolution *path;
    bool shared;
    int rc;
};

static bool path_has(const struct mxg_resolution *r, const char *name)
{
    for (size_t i = 0; i < r->n_steps; i++)
        if (strcmp(r->steps[i].name, name) == 0)
            return true;
    return false;
}

static int web_ref(void *ctx, const char *owner)
{
    struct web_ctx *w = ctx;
    if (path_has(w->path, owner))
        return 0;
    bool mail = false;
    int rc = on_mail_path(w->c, w->side, owner, 0, &mail);
    if (rc != MXG_OK) {
        w->rc = rc;
        return 1;
    }
    if (!mail) {
        w->shared = true;
        return 1;
    }
    return 0;
}

/* Whether name is an explicit mail domain on side (an MX RRset other than a lone null MX). */
static int is_mail_domain(struct pctx *c, enum mxg_side side, const char *name, bool *out)
{
    struct rrs mx;
    *out = false;
    int rc = fetch(c->view, side, name, "MX", &mx);
    if (rc != MXG_OK)
        return rc;
    if (mx.n > 1) {
        *out = true;
    } else if (mx.n == 1) {
        const char *t = mx_target(mx.v[0].content, NULL);
        *out = !(t && strcmp(t, ".") == 0);
    }
    rrs_free(&mx);
    return MXG_OK;
}

/* Why name (at position pos of path r) makes the path shared, into why; "" when it does not. */
static int name_shared(struct pctx *c, const struct mxg_resolution *r, size_t pos, char *why,
                       size_t whylen)
{
    const struct mxg_res_step *st = &r->steps[pos];
    const char *name = st->name;
    why[0] = '\0';
    switch (st->role) {
    case MXG_STEP_WILDCARD:
        snprintf(why, whylen, "%s is a wildcard", name);
        return MXG_OK;
    case MXG_STEP_CUT:
        snprintf(why, whylen, "%s is a delegation point", name);
        return MXG_OK;
    case MXG_STEP_DNAME:
        snprintf(why, whylen, "%s is a DNAME owner", name);
        return MXG_OK;
    case MXG_STEP_OUTSIDE:
        return MXG_OK;
    default:
        break;
    }
    if (strncmp(name, "*.", 2) == 0) {
        snprintf(why, whylen, "%s is a wildcard", name);
        return MXG_OK;
    }
    char za[2][NAMEBUF];
    bool served[2];
    for (int s = 0; s < 2; s++) {
        served[s] = zone_of(c, (enum mxg_side)s, name, za[s], sizeof(za[s])) == MXG_OK;
        if (served[s] && strcmp(za[s], name) == 0) {
            snprintf(why, whylen, "%s is a zone apex", name);
            return MXG_OK;
        }
    }
    if (served[MXG_BEFORE] && (!served[MXG_AFTER] || strcmp(za[0], za[1]) != 0)) {
        if (!served[MXG_AFTER] || !zone_served(c, MXG_AFTER, za[0]))
            snprintf(why, whylen, "the zone %s that served %s is deleted", za[0], name);
        else
            snprintf(why, whylen, "the zone %s takes %s over from %s", za[1], name, za[0]);
        return MXG_OK;
    }
    if (pos > 0 && strset_has(&c->shared_memo, name)) {
        snprintf(why, whylen, "%s is shared", name);
        return MXG_OK;
    }
    if (pos > 0 && strset_has(&c->dedicated_memo, name))
        return MXG_OK;
    int rc = MXG_OK;
    for (int s = 0; s < 2 && rc == MXG_OK && !why[0]; s++) {
        bool mail = false;
        if (!served[s])
            continue;
        rc = is_mail_domain(c, (enum mxg_side)s, name, &mail);
        if (rc == MXG_OK && mail)
            snprintf(why, whylen, "%s is a mail domain itself", name);
    }
    if (rc == MXG_OK && !why[0] && pos > 0) {
        static const char *const types[] = {"CNAME", "ALIAS"};
        for (int s = 0; s < 2 && rc == MXG_OK && !why[0]; s++)
            for (int k = 0; k < 2 && rc == MXG_OK && !why[0]; k++) {
                struct web_ctx w = {c, (enum mxg_side)s, r, false, MXG_OK};
                rc = c->view->ops->referrers(c->view->ctx, (enum mxg_side)s, types[k], name,
                                             web_ref, &w);
                if (rc > 0)
                    rc = MXG_OK;
                if (w.rc != MXG_OK)
                    rc = w.rc;
                if (rc == MXG_OK && w.shared)
                    snprintf(why, whylen, "%s is also the target of a %s that mail does not use",
                             name, types[k]);
            }
        /* A name under a DNAME's target is reached by the DNAME's whole subtree. */
        char cur[NAMEBUF], parent[NAMEBUF];
        snprintf(cur, sizeof(cur), "%s", name);
        for (int depth = 0; c->ro.dname_processing && rc == MXG_OK && !why[0] && depth < 128;
             depth++) {
            for (int s = 0; s < 2 && rc == MXG_OK && !why[0]; s++) {
                bool any = false;
                rc = c->view->ops->referrers(c->view->ctx, (enum mxg_side)s, "DNAME", cur, ref_any,
                                             &any);
                if (rc > 0)
                    rc = MXG_OK;
                if (rc == MXG_OK && any)
                    snprintf(why, whylen, "%s lies under the target of a DNAME", name);
            }
            if (mxg_name_parent(cur, parent, sizeof(parent)) != MXG_OK)
                break;
            memcpy(cur, parent, sizeof(cur));
        }
    }
    if (rc == MXG_OK && pos > 0)
        rc = strset_add(why[0] ? &c->shared_memo : &c->dedicated_memo, name, NULL);
    return rc;
}

/* Whether the path of resolution r is shared; why names the first reason. */
static int path_shared(struct pctx *c, const struct mxg_resolution *r, bool *shared, char *why,
                       size_t whylen)
{
    *shared = false;
    why[0] = '\0';
    for (size_t i = 0; i < r->n_steps; i++) {
        int rc = name_shared(c, r, i, why, whylen);
        if (rc != MXG_OK)
            return rc;
        if (why[0]) {
            *shared = true;
            return MXG_OK;
        }
    }
    return MXG_OK;
}

/* ---- the rules -------------------------------------------------------------------------- */

/* The path of a new address: shared wins over dedicated when the same value arrives through
 * several paths. */
static int new_addr_shared(struct pctx *c, const struct alist *after, int f, const struct maddr *a,
                           bool *shared, char *why, size_t whylen)
{
    *shared = false;
    why[0] = '\0';
    for (size_t i = 0; i < after->n && !*shared; i++) {
        if (!maddr_same(FAM_NUM[f], &after->v[i], a))
            continue;
        int rc = path_shared(c, after->v[i].res, shared, why, whylen);
        if (rc != MXG_OK)
            return rc;
    }
    return MXG_OK;
}

static int move_finding(struct pctx *c, struct dom *d, const char *rule, enum mxg_severity sev,
                        int f, const char *why)
{
    struct mxg_finding *fd;
    int rc = finding_new(c->out, rule, sev, d->name, FAM_TYPE[f], &fd);
    if (rc == MXG_OK)
        rc = strv_alist(&fd->old_values, &fd->n_old, FAM_NUM[f], &d->sd[MXG_BEFORE].s[f]);
    if (rc == MXG_OK)
        rc = strv_alist(&fd->new_values, &fd->n_new, FAM_NUM[f], &d->sd[MXG_AFTER].s[f]);
    if (rc == MXG_OK && strcmp(rule, RULE_HOST_CHANGED) == 0)
        rc = finding_reason(fd, "the mail host of %s changes in %s: %s", d->name, FAM_TYPE[f], why);
    else if (rc == MXG_OK)
        rc = finding_reason(fd, "mail for %s%s would move in %s: %s", d->name,
                            rule == RULE_IMPLICIT ? " (implicit MX)" : "", FAM_TYPE[f], why);
    return rc;
}

static bool blocks_in_zone(const struct dom *d)
{
    return !d->slave && (d->mode == MXG_MODE_REJECT || d->mode == MXG_MODE_FIX);
}

static int judge_moves(struct pctx *c, struct dom *d)
{
    const struct dside *b = &d->sd[MXG_BEFORE], *a = &d->sd[MXG_AFTER];
    if (!b->mail || !a->served || !a->mail)
        return MXG_OK; /* not a mail domain before, or its mail ended on purpose */
    const char *rule = b->explicit_mx ? RULE_MOVED : RULE_IMPLICIT;
    enum mxg_severity sev = mxg_policy_severity(c->cfg, rule);
    const struct mxg_config *cfg = c->cfg;
    bool had = b->s[0].n + b->s[1].n > 0;
    bool has = a->s[0].n + a->s[1].n > 0;
    int rc = MXG_OK;
    for (int f = 0; f < 2 && rc == MXG_OK; f++) {
        char why[4 * NAMEBUF + 256] = "";
        bool proxy = false, dedicated_new = false;
        char dwhy[2 * NAMEBUF + 64] = "";
        if (had && !has) {
            if (b->s[f].n == 0)
                continue;
            snprintf(why, sizeof(why), "its mail targets lose every address");
        }
        for (size_t i = 0; rc == MXG_OK && !why[0] && i < a->s[f].n; i++) {
            const struct maddr *x = &a->s[f].v[i];
            if (alist_has(FAM_NUM[f], &b->s[f], x))
                continue;
            /* A target outside every served zone on both sides: moving mail to an outside
             * provider is a decision, not a move. */
            const struct target *bt = dside_target(b, x->target);
            const struct target *at = dside_target(a, x->target);
            if (x->unknown && at && at->outside && (!bt || bt->outside))
                continue;
            char pwhy[2 * NAMEBUF + 64], buf[NAMEBUF + 32];
            bool shared = false;
            rc = new_addr_shared(c, &a->s[f], f, x, &shared, pwhy, sizeof(pwhy));
            if (rc != MXG_OK)
                break;
            maddr_str(FAM_NUM[f], x, buf, sizeof(buf));
            bool inproxy =
                !x->unknown && in_ranges(cfg->proxy_ranges, cfg->n_proxy_ranges, FAM_NUM[f], x->b);
            if (shared) {
                if (!had)
                    continue;
                if (cfg->classify == MXG_CLASSIFY_STRICT) {
                    if (x->unknown)
                        snprintf(why, sizeof(why),
                                 "%s arrives through a shared path (%s) and is counted outside "
                                 "mail-ranges",
                                 buf, pwhy);
                    else if (!in_ranges(cfg->mail_ranges, cfg->n_mail_ranges, FAM_NUM[f], x->b))
                        snprintf(why, sizeof(why),
                                 "%s arrives through a shared path (%s) and lies outside "
                                 "mail-ranges",
                                 buf, pwhy);
                } else if (inproxy) {
                    snprintf(why, sizeof(why),
                             "%s arrives through a shared path (%s) and lies inside proxy-ranges",
                             buf, pwhy);
                }
            } else if (inproxy) {
                snprintf(why, sizeof(why),
                         "the dedicated mail host %s is pointed at %s, inside proxy-ranges",
                         x->res->n_steps ? x->res->steps[x->res->n_steps - 1].name : x->target,
                         buf);
                proxy = true;
            } else if (!dedicated_new) {
                dedicated_new = true;
                snprintf(dwhy, sizeof(dwhy), "%s gets %s through a dedicated path", x->target, buf);
            }
        }
        if (rc != MXG_OK)
            return rc;
        if (why[0]) {
            if (sev != MXG_SEV_OFF)
                rc = move_finding(c, d, rule, sev, f, why);
            if (sev == MXG_SEV_BLOCK && blocks_in_zone(d)) {
                d->block = true;
                d->proxy_move |= proxy;
            }
        } else if (dedicated_new) {
            enum mxg_severity hs = mxg_policy_severity(c->cfg, RULE_HOST_CHANGED);
            if (hs != MXG_SEV_OFF)
                rc = move_finding(c, d, RULE_HOST_CHANGED, hs, f, dwhy);
        }
    }
    return rc;
}

static int simple_finding(struct pctx *c, const char *rule, const char *name, const char *oldv,
                          const char *newv, const char *reason)
{
    enum mxg_severity sev = mxg_policy_severity(c->cfg, rule);
    if (sev == MXG_SEV_OFF)
        return MXG_OK;
    struct mxg_finding *f;
    int rc = finding_new(c->out, rule, sev, name, "", &f);
    if (rc == MXG_OK && oldv)
        rc = strv_push(&f->old_values, &f->n_old, oldv);
    if (rc == MXG_OK && newv)
        rc = strv_push(&f->new_values, &f->n_new, newv);
    if (rc == MXG_OK)
        rc = finding_reason(f, "%s", reason);
    return rc;
}

static int judge_mx_warns(struct pctx *c, struct dom *d)
{
    const struct dside *b = &d->sd[MXG_BEFORE], *a = &d->sd[MXG_AFTER];
    char reason[3 * NAMEBUF];
    int rc = MXG_OK;
    if (!a->served || !a->has_mx)
        return MXG_OK;
    for (size_t i = 0; rc == MXG_OK && a->explicit_mx && i < a->nt; i++) {
        const struct target *t = &a->t[i];
        const struct target *bt = b->explicit_mx ? dside_target(b, t->name) : NULL;
        if (t->cname && !(bt && bt->cname)) {
            snprintf(reason, sizeof(reason),
                     "the MX target %s of %s is a CNAME (RFC 2181 section 10.3)", t->name, d->name);
            rc = simple_finding(c, RULE_MX_CNAME, d->name, NULL, t->name, reason);
        }
        if (rc == MXG_OK && target_no_address(t) && !(bt && target_no_address(bt))) {
            snprintf(reason, sizeof(reason), "the MX target %s of %s has no A or AAAA record",
                     t->name, d->name);
            rc = simple_finding(c, RULE_MX_NOADDR, d->name, NULL, t->name, reason);
        }
    }
    struct strset seen = {0};
    for (size_t i = 0; rc == MXG_OK && i < a->mx.n; i++) {
        const char *text = mx_target(a->mx.v[i].content, NULL);
        if (!text || !is_ip_literal(text) || strset_has(&seen, text))
            continue;
        bool before = false;
        for (size_t j = 0; j < b->mx.n && !before; j++) {
            const char *bt = mx_target(b->mx.v[j].content, NULL);
            before = bt && strcmp(bt, text) == 0;
        }
        if ((rc = strset_add(&seen, text, NULL)) != MXG_OK || before)
            continue;
        snprintf(reason, sizeof(reason), "the MX of %s names an IP address (%s), not a host",
                 d->name, text);
        rc = simple_finding(c, RULE_MX_LITERAL, d->name, NULL, a->mx.v[i].content, reason);
    }
    strset_free(&seen);
    if (rc == MXG_OK && a->null_mixed && !b->null_mixed) {
        snprintf(reason, sizeof(reason), "%s has a null MX (RFC 7505) beside other MX records",
                 d->name);
        rc = simple_finding(c, RULE_NULL_MIXED, d->name, NULL, NULL, reason);
    }
    return rc;
}

/* Concatenated character-strings of TXT content ("\"v=spf1 \" \"a -all\"" -> "v=spf1 a -all"). */
static char *txt_unquote(const char *s)
{
    size_t len = strlen(s);
    char *out = calloc(len + 1, 1), *o = out;
    if (!out)
        return NULL;
    if (!strchr(s, '"')) {
        memcpy(out, s, len + 1);
        return out;
    }
    bool in = false;
    for (const char *p = s; *p; p++) {
        if (*p == '"') {
            in = !in;
        } else if (in && *p == '\\' && p[1]) {
            p++;
            if (p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
                p[2] <= '9') {
                *o++ = (char)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
                p += 2;
            } else {
                *o++ = *p;
            }
        } else if (in) {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/* Whether an SPF record of dom uses the a or mx mechanism for dom itself. */
static int spf_uses(const struct rrs *l, const char *dom, bool *use_a, bool *use_mx)
{
    for (size_t i = 0; i < l->n; i++) {
        char *txt = txt_unquote(l->v[i].content);
        if (!txt)
            return MXG_ENOMEM;
        if (strncasecmp(txt, "v=spf1", 6) != 0 || (txt[6] != '\0' && txt[6] != ' ')) {
            free(txt);
            continue;
        }
        char *save = NULL;
        for (char *tok = strtok_r(txt + 6, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
            if (*tok == '+')
                tok++;
            bool *use = NULL;
            size_t k = 0;
            if (strncasecmp(tok, "mx", 2) == 0) {
                use = use_mx;
                k = 2;
            } else if (strncasecmp(tok, "a", 1) == 0) {
                use = use_a;
                k = 1;
            } else {
                continue;
            }
            if (tok[k] == '\0' || tok[k] == '/') {
                *use = true;
            } else if (tok[k] == ':') {
                char n[NAMEBUF];
                char *slash = strchr(tok + k + 1, '/');
                if (slash)
                    *slash = '\0';
                if (mxg_name_canon(tok + k + 1, n, sizeof(n)) == MXG_OK && strcmp(n, dom) == 0)
                    *use = true;
            }
        }
        free(txt);
    }
    return MXG_OK;
}

static int strset_alist(struct strset *s, int fam, const struct alist *l)
{
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < l->n; i++) {
        char buf[NAMEBUF + 32];
        maddr_str(fam, &l->v[i], buf, sizeof(buf));
        rc = strset_add(s, buf, NULL);
    }
    return rc;
}

static bool strset_eq(const struct strset *a, const struct strset *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!strset_has(b, a->v[i]))
            return false;
    return true;
}

static int strset_to_strv(const struct strset *s, char ***v, size_t *n)
{
    int rc = MXG_OK;
    char **sorted = s->n ? malloc(s->n * sizeof(*sorted)) : NULL;
    if (s->n && !sorted)
        return MXG_ENOMEM;
    if (s->n) {
        memcpy(sorted, s->v, s->n * sizeof(*sorted));
        qsort(sorted, s->n, sizeof(*sorted), cmp_strp);
    }
    for (size_t i = 0; rc == MXG_OK && i < s->n; i++)
        rc = strv_push(v, n, sorted[i]);
    free(sorted);
    return rc;
}

static int judge_spf(struct pctx *c, struct dom *d)
{
    if (mxg_policy_severity(c->cfg, RULE_SPF) == MXG_SEV_OFF || !d->sd[MXG_AFTER].served)
        return MXG_OK;
    bool use_a = false, use_mx = false;
    struct rrs l;
    int rc = MXG_OK;
    for (int k = 0; k < 2 && rc == MXG_OK; k++) {
        rc = fetch(c->view, MXG_AFTER, d->name, k ? "SPF" : "TXT", &l);
        if (rc == MXG_OK) {
            rc = spf_uses(&l, d->name, &use_a, &use_mx);
            rrs_free(&l);
        }
    }
    if (rc != MXG_OK || (!use_a && !use_mx))
        return rc;
    struct strset beh[2] = {{0}, {0}};
    for (int side = 0; side < 2 && rc == MXG_OK; side++) {
        if (use_a) {
            struct target t;
            rc = target_compute(c, (enum mxg_side)side, d->name, &t);
            if (rc == MXG_OK) {
                for (int f = 0; f < 2 && rc == MXG_OK; f++) {
                    const struct mxg_resolution *r = &t.r[f];
                    for (size_t k = 0;
                         rc == MXG_OK && r->kind == MXG_RES_ADDRESSES && k < r->n_addrs; k++) {
                        struct maddr a = {.res = r, .target = t.name};
                        memcpy(a.b, r->addrs[k], 16);
                        struct alist one = {&a, 1, 1};
                        rc = strset_alist(&beh[side], FAM_NUM[f], &one);
                    }
                }
                target_free(&t);
            }
        }
        const struct dside *ds = &d->sd[side];
        for (int f = 0; f < 2 && rc == MXG_OK && use_mx && ds->explicit_mx; f++)
            rc = strset_alist(&beh[side], FAM_NUM[f], &ds->s[f]);
    }
    if (rc == MXG_OK && !strset_eq(&beh[0], &beh[1])) {
        struct mxg_finding *f;
        rc = finding_new(c->out, RULE_SPF, mxg_policy_severity(c->cfg, RULE_SPF), d->name, "", &f);
        if (rc == MXG_OK)
            rc = strset_to_strv(&beh[0], &f->old_values, &f->n_old);
        if (rc == MXG_OK)
            rc = strset_to_strv(&beh[1], &f->new_values, &f->n_new);
        if (rc == MXG_OK)
            rc = finding_reason(f,
                                "the SPF record of %s uses %s%s%s and the addresses behind it "
                                "change: outgoing mail may fail SPF",
                                d->name, use_a ? "a" : "", use_a && use_mx ? " and " : "",
                                use_mx ? "mx" : "");
    }
    strset_free(&beh[0]);
    strset_free(&beh[1]);
    return rc;
}

/* ---- affected mail domains ---------------------------------------------------------------- */

struct collect {
    struct pctx *c;
    struct strset affected; /* names whose answers may change */
    struct strset roots;    /* subtrees whose answers may all change */
    struct strset *cands;   /* mail domain candidates */
};

static int col_affected(void *ctx, const char *owner)
{
    struct collect *k = ctx;
    if (k->affected.n >= AFFECTED_MAX)
        return MXG_ERANGE;
    return strset_add(&k->affected, owner, NULL);
}

static int col_affected2(void *ctx, const char *owner, const char *target)
{
    (void)target;
    return col_affected(ctx, owner);
}

static int col_cand2(void *ctx, const char *owner, const char *target)
{
    (void)target;
    struct collect *k = ctx;
    return strset_add(k->cands, owner, NULL);
}

/* Every name below root whose answer may change: referrers of names in the subtree. */
static int expand_root(struct collect *k, const char *root)
{
    const struct mxg_view *v = k->c->view;
    static const char *const types[] = {"CNAME", "ALIAS", "DNAME"};
    int rc = MXG_OK;
    for (int s = 0; s < 2 && rc == MXG_OK; s++) {
        for (int t = 0; t < 3 && rc == MXG_OK; t++)
            rc =
                v->ops->referrers_below(v->ctx, (enum mxg_side)s, types[t], root, col_affected2, k);
        if (rc == MXG_OK)
            rc = v->ops->referrers_below(v->ctx, (enum mxg_side)s, "MX", root, col_cand2, k);
    }
    return rc;
}

static int add_root(struct collect *k, const char *root)
{
    bool added = false;
    int rc = strset_add(&k->roots, root, &added);
    if (rc == MXG_OK && added)
        rc = expand_root(k, root);
    return rc;
}

static int name_exists(struct pctx *c, enum mxg_side side, const char *name, bool *out)
{
    struct rrs l;
    *out = false;
    int rc = fetch(c->view, side, name, NULL, &l);
    if (rc != MXG_OK)
        return rc;
    *out = l.n > 0;
    rrs_free(&l);
    if (*out)
        return MXG_OK;
    return c->view->ops->has_below(c->view->ctx, side, name, out);
}

static int has_type(struct pctx *c, enum mxg_side side, const char *name, const char *type,
                    bool *out)
{
    struct rrs l;
    int rc = fetch(c->view, side, name, type, &l);
    if (rc == MXG_OK) {
        *out = l.n > 0;
        rrs_free(&l);
    }
    return rc;
}

/* The subtrees a touched name can change: below a wildcard's parent, below an NS or DNAME
 * owner, below the highest ancestor whose existence changes (it blocks or unblocks
 * wildcards). */
static int touched_roots(struct collect *k, const char *name)
{
    struct pctx *c = k->c;
    char parent[NAMEBUF], cur[NAMEBUF], apex[NAMEBUF];
    int rc = MXG_OK;
    if (strncmp(name, "*.", 2) == 0 && mxg_name_parent(name, parent, sizeof(parent)) == MXG_OK)
        rc = add_root(k, parent);
    bool cut = false;
    for (int s = 0; s < 2 && rc == MXG_OK && !cut; s++) {
        bool ns = false, dn = false;
        rc = has_type(c, (enum mxg_side)s, name, "NS", &ns);
        if (rc == MXG_OK)
            rc = has_type(c, (enum mxg_side)s, name, "DNAME", &dn);
        cut = ns || dn;
    }
    if (rc == MXG_OK && cut)
        rc = add_root(k, name);
    /* Existence: walk up while a name exists on one side only. */
    snprintf(cur, sizeof(cur), "%s", name);
    const char *highest = NULL;
    char hbuf[NAMEBUF];
    for (int depth = 0; rc == MXG_OK && depth < 128; depth++) {
        bool e[2] = {false, false};
        for (int s = 0; s < 2 && rc == MXG_OK; s++)
            rc = name_exists(c, (enum mxg_side)s, cur, &e[s]);
        if (rc != MXG_OK || e[0] == e[1])
            break;
        snprintf(hbuf, sizeof(hbuf), "%s", cur);
        highest = hbuf;
        bool top = false;
        for (int s = 0; s < 2; s++)
            if (zone_of(c, (enum mxg_side)s, cur, apex, sizeof(apex)) != MXG_OK ||
                strcmp(apex, cur) == 0)
                top = true;
        if (top || mxg_name_parent(cur, parent, sizeof(parent)) != MXG_OK)
            break;
        memcpy(cur, parent, sizeof(cur));
    }
    if (rc == MXG_OK && highest)
        rc = add_root(k, highest);
    return rc;
}

/* Names that reach an affected name: CNAME/ALIAS owners, names synthesised by DNAMEs pointing
 * at or above it, and names a wildcard owner answers. */
static int expand_name(struct collect *k, const char *name)
{
    struct pctx *c = k->c;
    const struct mxg_view *v = c->view;
    static const char *const types[] = {"CNAME", "ALIAS"};
    int rc = MXG_OK;
    for (int s = 0; s < 2 && rc == MXG_OK; s++)
        for (int t = 0; t < 2 && rc == MXG_OK; t++)
            rc = v->ops->referrers(v->ctx, (enum mxg_side)s, types[t], name, col_affected, k);
    char parent[NAMEBUF];
    if (rc == MXG_OK && strncmp(name, "*.", 2) == 0 &&
        mxg_name_parent(name, parent, sizeof(parent)) == MXG_OK)
        rc = add_root(k, parent);
    if (rc != MXG_OK || !c->ro.dname_processing)
        return rc;
    /* DNAME owner O with target A (an ancestor-or-self of name): names below O are affected;
     * the subtree of O covers them. */
    char cur[NAMEBUF];
    snprintf(cur, sizeof(cur), "%s", name);
    for (int depth = 0; rc == MXG_OK && depth < 128; depth++) {
        struct strset owners = {0};
        for (int s = 0; s < 2 && rc == MXG_OK; s++)
            rc = v->ops->referrers(v->ctx, (enum mxg_side)s, "DNAME", cur, ref_add, &owners);
        for (size_t i = 0; rc == MXG_OK && i < owners.n; i++)
            rc = add_root(k, owners.v[i]);
        strset_free(&owners);
        if (mxg_name_parent(cur, parent, sizeof(parent)) != MXG_OK)
            break;
        memcpy(cur, parent, sizeof(cur));
    }
    return rc;
}

static int collect(struct pctx *c, struct strset *cands)
{
    struct collect k = {.c = c, .cands = cands};
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < c->in->n_names; i++)
        rc = strset_add(&k.affected, c->in->names[i], NULL);
    for (size_t i = 0; rc == MXG_OK && i < c->in->n_roots; i++)
        rc = add_root(&k, c->in->roots[i]);
    for (size_t i = 0; rc == MXG_OK && i < c->in->n_names; i++)
        rc = touched_roots(&k, c->in->names[i]);
    for (size_t i = 0; rc == MXG_OK && i < k.affected.n; i++)
        rc = expand_name(&k, k.affected.v[i]);
    /* The names themselves (their own MX, implicit MX) and the owners of MX reaching them. */
    for (size_t i = 0; rc == MXG_OK && i < k.affected.n; i++) {
        rc = strset_add(cands, k.affected.v[i], NULL);
        for (int side = 0; rc == MXG_OK && side < 2; side++)
            rc = c->view->ops->referrers(c->view->ctx, (enum mxg_side)side, "MX", k.affected.v[i],
                                         ref_add, cands);
    }
    /* A root that is a zone apex: its implicit MX. */
    for (size_t i = 0; rc == MXG_OK && i < k.roots.n; i++)
        rc = strset_add(cands, k.roots.v[i], NULL);
    strset_free(&k.affected);
    strset_free(&k.roots);
    return rc;
}

/* ---- the fix ---------------------------------------------------------------------------- */

static void rrdata_free(struct mxg_rrdata *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(d[i].content);
    free(d);
}

void mxg_rrset_change_clear(struct mxg_rrset_change *c)
{
    free(c->name);
    free(c->type);
    rrdata_free(c->before, c->n_before);
    rrdata_free(c->after, c->n_after);
    memset(c, 0, sizeof(*c));
}

static void change_free(struct mxg_rrset_change *c)
{
    mxg_rrset_change_clear(c);
}

static int rrdata_copy(const struct mxg_rrdata *src, size_t n, struct mxg_rrdata **out)
{
    *out = NULL;
    if (n == 0)
        return MXG_OK;
    struct mxg_rrdata *d = calloc(n, sizeof(*d));
    if (!d)
        return MXG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        d[i].ttl = src[i].ttl;
        if (!(d[i].content = strdup(src[i].content))) {
            rrdata_free(d, i);
            return MXG_ENOMEM;
        }
    }
    *out = d;
    return MXG_OK;
}

/* Records of one type out of an rrs as rrdata. */
static int rrs_data(const struct rrs *l, const char *type, struct mxg_rrdata **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        k += strcmp(l->v[i].type, type) == 0;
    if (k == 0)
        return MXG_OK;
    struct mxg_rrdata *d = calloc(k, sizeof(*d));
    if (!d)
        return MXG_ENOMEM;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].type, type) != 0)
            continue;
        d[*n].ttl = l->v[i].ttl;
        if (!(d[*n].content = strdup(l->v[i].content))) {
            rrdata_free(d, *n);
            *n = 0;
            return MXG_ENOMEM;
        }
        (*n)++;
    }
    *out = d;
    return MXG_OK;
}

bool mxg_rrdata_same(const struct mxg_rrdata *a, size_t na, const struct mxg_rrdata *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        bool found = false;
        for (size_t j = 0; j < nb && !found; j++)
            found = a[i].ttl == b[j].ttl && strcmp(a[i].content, b[j].content) == 0;
        if (!found)
            return false;
    }
    return true;
}

static struct mxg_rrset_change *fix_find(struct mxg_rrset_change *v, size_t n, const char *name,
                                         const char *type)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0 && strcmp(v[i].type, type) == 0)
            return &v[i];
    return NULL;
}

/* Sets (name, type) to after (taken over); before is copied when the entry is new. */
static int fix_set(struct mxg_decision *d, const char *name, const char *type,
                   const struct mxg_rrdata *before, size_t nb, struct mxg_rrdata *after, size_t na)
{
    struct mxg_rrset_change *c = fix_find(d->fix, d->n_fix, name, type);
    if (c) {
        rrdata_free(c->after, c->n_after);
        c->after = after;
        c->n_after = na;
        return MXG_OK;
    }
    struct mxg_rrset_change *nv = realloc(d->fix, (d->n_fix + 1) * sizeof(*nv));
    if (!nv) {
        rrdata_free(after, na);
        return MXG_ENOMEM;
    }
    d->fix = nv;
    c = &nv[d->n_fix];
    memset(c, 0, sizeof(*c));
    c->after = after;
    c->n_after = na;
    c->name = strdup(name);
    c->type = strdup(type);
    int rc = rrdata_copy(before, nb, &c->before);
    c->n_before = c->before ? nb : 0;
    if (rc != MXG_OK || !c->name || !c->type) {
        change_free(c);
        return MXG_ENOMEM;
    }
    d->n_fix++;
    return MXG_OK;
}

/* A group of moving targets with the same before records, and the mail host chosen for it. */
struct hgroup {
    struct rrs raw[2]; /* the BEFORE A/AAAA records of the moving paths */
    char *h;           /* the mail host, or NULL when no label fits */
};

struct fixctx {
    struct pctx *c;
    struct hgroup *g;
    size_t ng;
    bool no_host; /* some domain found no label */
    bool no_fix;  /* some blocking move cannot be repaired in this transaction */
    char *no_host_dom;
};

static void fixctx_free(struct fixctx *fx)
{
    for (size_t i = 0; i < fx->ng; i++) {
        free(fx->g[i].h);
        rrs_free(&fx->g[i].raw[0]);
        rrs_free(&fx->g[i].raw[1]);
    }
    free(fx->g);
    free(fx->no_host_dom);
}

/* Address sets of A/AAAA record lists compared as parsed addresses. */
static bool rrs_addr_eq(int f, const struct rrs *a, const struct rrs *b)
{
    const struct rrs *l[2] = {a, b};
    uint8_t x[16], y[16];
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < l[k]->n; i++) {
            if (inet_pton(f == 0 ? AF_INET : AF_INET6, l[k]->v[i].content, x) != 1)
                continue;
            bool found = false;
            for (size_t j = 0; j < l[!k]->n && !found; j++)
                found = inet_pton(f == 0 ? AF_INET : AF_INET6, l[!k]->v[j].content, y) == 1 &&
                        memcmp(x, y, f == 0 ? 4 : 16) == 0;
            if (!found)
                return false;
        }
    return true;
}

static int rrs_copy(const struct rrs *src, struct rrs *dst)
{
    memset(dst, 0, sizeof(*dst));
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < src->n; i++)
        rc = rrs_push(dst, src->v[i].type, src->v[i].content, src->v[i].ttl);
    if (rc != MXG_OK)
        rrs_free(dst);
    return rc;
}

/* Finds the mail host for group g: the first label whose name has no records of its own, holds
 * exactly g's before addresses, or is a CNAME/ALIAS into a shared path (then replaced). */
static int pick_host(struct fixctx *fx, struct hgroup *g)
{
    struct pctx *c = fx->c;
    const char *zone = c->in->zone;
    for (size_t li = 0; li < c->cfg->n_mail_host_labels; li++) {
        char h[NAMEBUF], apex[NAMEBUF];
        if (strcmp(zone, ".") == 0)
            snprintf(h, sizeof(h), "%s.", c->cfg->mail_host_labels[li]);
        else
            snprintf(h, sizeof(h), "%s.%s", c->cfg->mail_host_labels[li], zone);
        bool used = false;
        for (size_t i = 0; i < fx->ng && !used; i++)
            used = fx->g[i].h && strcmp(fx->g[i].h, h) == 0;
        if (used || zone_of(c, MXG_AFTER, h, apex, sizeof(apex)) != MXG_OK ||
            strcmp(apex, zone) != 0)
            continue;
        struct rrs l;
        int rc = fetch(c->view, MXG_AFTER, h, NULL, &l);
        if (rc != MXG_OK)
            return rc;
        bool only_addr = true, only_alias = true;
        for (size_t i = 0; i < l.n; i++) {
            only_addr &= strcmp(l.v[i].type, "A") == 0 || strcmp(l.v[i].type, "AAAA") == 0;
            only_alias &= strcmp(l.v[i].type, "CNAME") == 0 || strcmp(l.v[i].type, "ALIAS") == 0;
        }
        bool fits = l.n == 0;
        const char *replace = NULL;
        if (!fits && only_addr) {
            struct rrs hs[2] = {{0}, {0}};
            for (int f = 0; f < 2 && rc == MXG_OK; f++)
                for (size_t i = 0; rc == MXG_OK && i < l.n; i++)
                    if (strcmp(l.v[i].type, FAM_TYPE[f]) == 0)
                        rc = rrs_push(&hs[f], l.v[i].type, l.v[i].content, l.v[i].ttl);
            fits = rc == MXG_OK && rrs_addr_eq(0, &hs[0], &g->raw[0]) &&
                   rrs_addr_eq(1, &hs[1], &g->raw[1]);
            rrs_free(&hs[0]);
            rrs_free(&hs[1]);
        } else if (!fits && only_alias) {
            struct mxg_resolution r;
            rc = mxg_resolve(c->view, MXG_AFTER, h, 4, &c->ro, &r);
            if (rc == MXG_OK) {
                char why[2 * NAMEBUF + 64];
                bool shared = false;
                /* The path beyond the label itself decides. */
                for (size_t i = 1; rc == MXG_OK && i < r.n_steps && !shared; i++) {
                    rc = name_shared(c, &r, i, why, sizeof(why));
                    shared = rc == MXG_OK && why[0];
                }
                mxg_resolution_free(&r);
                fits = shared;
                replace = l.v[0].type;
            }
        }
        if (rc != MXG_OK || !fits) {
            rrs_free(&l);
            if (rc != MXG_OK)
                return rc;
            continue;
        }
        struct mxg_rrdata *bd = NULL, *ad = NULL;
        size_t nb = 0, na = 0;
        if (replace) {
            for (int k = 0; k < 2 && rc == MXG_OK; k++) {
                const char *ty = k ? "ALIAS" : "CNAME";
                rc = rrs_data(&l, ty, &bd, &nb);
                if (rc == MXG_OK && nb)
                    rc = fix_set(c->out, h, ty, bd, nb, NULL, 0);
                rrdata_free(bd, nb);
                bd = NULL;
                nb = 0;
            }
        }
        for (int f = 0; f < 2 && rc == MXG_OK; f++) {
            if (g->raw[f].n == 0)
                continue;
            rc = rrs_data(&l, FAM_TYPE[f], &bd, &nb);
            if (rc == MXG_OK)
                rc = rrs_data(&g->raw[f], FAM_TYPE[f], &ad, &na);
            if (rc == MXG_OK)
                rc = fix_set(c->out, h, FAM_TYPE[f], bd, nb, ad, na);
            rrdata_free(bd, nb);
            bd = NULL;
            nb = 0;
        }
        rrs_free(&l);
        if (rc == MXG_OK && !(g->h = strdup(h)))
            rc = MXG_ENOMEM;
        return rc;
    }
    return MXG_OK; /* no label fits: g->h stays NULL */
}

/* The index of the group with before records raw; created (and its host picked) on demand. */
static int group_get(struct fixctx *fx, const struct rrs raw[2], size_t *out)
{
    for (size_t i = 0; i < fx->ng; i++) {
        struct hgroup *g = &fx->g[i];
        if (g->raw[0].n == raw[0].n && g->raw[1].n == raw[1].n &&
            rrs_addr_eq(0, &g->raw[0], &raw[0]) && rrs_addr_eq(1, &g->raw[1], &raw[1])) {
            *out = i;
            return MXG_OK;
        }
    }
    struct hgroup *ng = realloc(fx->g, (fx->ng + 1) * sizeof(*ng));
    if (!ng)
        return MXG_ENOMEM;
    fx->g = ng;
    struct hgroup *g = &ng[fx->ng];
    memset(g, 0, sizeof(*g));
    fx->ng++;
    int rc = MXG_OK;
    for (int f = 0; f < 2 && rc == MXG_OK; f++)
        rc = rrs_copy(&raw[f], &g->raw[f]);
    if (rc == MXG_OK)
        rc = pick_host(fx, g);
    *out = fx->ng - 1;
    return rc;
}

static bool res_same(const struct mxg_resolution *a, const struct mxg_resolution *b)
{
    if (a->kind != b->kind || a->n_addrs != b->n_addrs)
        return false;
    if (a->kind == MXG_RES_UNKNOWN)
        return strcmp(a->unknown, b->unknown) == 0;
    size_t len = a->family == 4 ? 4 : 16;
    for (size_t i = 0; i < a->n_addrs; i++) {
        bool found = false;
        for (size_t j = 0; j < b->n_addrs && !found; j++)
            found = memcmp(a->addrs[i], b->addrs[j], len) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* A target of d whose answers changed, with its BEFORE records. */
struct moving {
    const char *name;
    struct rrs raw[2];
    size_t group;
};

static int fix_domain(struct fixctx *fx, struct dom *d)
{
    struct pctx *c = fx->c;
    const struct dside *a = &d->sd[MXG_AFTER], *b = &d->sd[MXG_BEFORE];
    if (strcmp(d->apex, c->in->zone) != 0 || c->in->no_fix || d->proxy_move || !a->served) {
        fx->no_fix = true; /* moved by a change in another zone, a zone event, or rule 3 */
        return MXG_OK;
    }
    struct moving *mv = calloc(a->nt ? a->nt : 1, sizeof(*mv));
    if (!mv)
        return MXG_ENOMEM;
    size_t nmv = 0;
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < a->nt && !fx->no_fix; i++) {
        const struct target *t = &a->t[i];
        const struct target *bt = dside_target(b, t->name);
        if (bt && res_same(&bt->r[0], &t->r[0]) && res_same(&bt->r[1], &t->r[1]))
            continue;
        if (!bt || t->outside) {
            fx->no_fix = true; /* a new target, or one outside: nothing to copy from */
            break;
        }
        struct moving *m = &mv[nmv];
        m->name = t->name;
        bool any = false;
        for (int f = 0; rc == MXG_OK && f < 2; f++) {
            const struct mxg_resolution *r = &bt->r[f];
            if (r->kind == MXG_RES_UNKNOWN)
                fx->no_fix = true;
            if (r->kind != MXG_RES_ADDRESSES || !r->owner)
                continue;
            rc = fetch(c->view, MXG_BEFORE, r->owner, FAM_TYPE[f], &m->raw[f]);
            any |= rc == MXG_OK && m->raw[f].n > 0;
        }
        nmv++;
        if (!any)
            fx->no_fix = true;
    }
    if (rc == MXG_OK && nmv == 0)
        fx->no_fix = true;
    bool missing = false;
    for (size_t i = 0; rc == MXG_OK && !fx->no_fix && i < nmv; i++) {
        rc = group_get(fx, mv[i].raw, &mv[i].group);
        if (rc == MXG_OK && !fx->g[mv[i].group].h)
            missing = true;
    }
    if (rc == MXG_OK && !fx->no_fix && missing) {
        fx->no_host = true;
        if (!fx->no_host_dom && !(fx->no_host_dom = strdup(d->name)))
            rc = MXG_ENOMEM;
    }
    if (rc == MXG_OK && !fx->no_fix && !missing) {
        if (!a->explicit_mx) {
            char hc[NAMEBUF], content[NAMEBUF + 8];
            content_name(fx->g[mv[0].group].h, hc, sizeof(hc));
            snprintf(content, sizeof(content), "10 %s", hc);
            uint32_t ttl = 3600;
            if (mv[0].raw[0].n)
                ttl = mv[0].raw[0].v[0].ttl;
            else if (mv[0].raw[1].n)
                ttl = mv[0].raw[1].v[0].ttl;
            struct mxg_rrdata *ad = calloc(1, sizeof(*ad));
            if (!ad || !(ad[0].content = strdup(content))) {
                free(ad);
                rc = MXG_ENOMEM;
            } else {
                ad[0].ttl = ttl;
                rc = fix_set(c->out, d->name, "MX", NULL, 0, ad, 1);
            }
        } else {
            struct mxg_rrdata *bd = NULL, *nv = NULL;
            size_t nb = 0, k = 0;
            rc = rrs_data(&a->mx, "MX", &bd, &nb);
            const struct mxg_rrset_change *prev =
                fix_find(c->out->fix, c->out->n_fix, d->name, "MX");
            const struct mxg_rrdata *cur = prev ? prev->after : bd;
            size_t ncur = prev ? prev->n_after : nb;
            if (rc == MXG_OK && ncur && !(nv = calloc(ncur, sizeof(*nv))))
                rc = MXG_ENOMEM;
            for (size_t i = 0; rc == MXG_OK && i < ncur; i++) {
                unsigned pref = 0;
                const char *text = mx_target(cur[i].content, &pref);
                char t[NAMEBUF], content[NAMEBUF + 8];
                bool canon = text && mxg_name_canon(text, t, sizeof(t)) == MXG_OK;
                snprintf(content, sizeof(content), "%s", cur[i].content);
                for (size_t j = 0; canon && j < nmv; j++) {
                    if (strcmp(t, mv[j].name) == 0) {
                        char hc[NAMEBUF];
                        content_name(fx->g[mv[j].group].h, hc, sizeof(hc));
                        snprintf(content, sizeof(content), "%u %s", pref, hc);
                        break;
                    }
                }
                bool dup = false;
                for (size_t j = 0; j < k && !dup; j++)
                    dup = strcmp(nv[j].content, content) == 0;
                if (dup)
                    continue;
                if (!(nv[k].content = strdup(content)))
                    rc = MXG_ENOMEM;
                else
                    nv[k++].ttl = cur[i].ttl;
            }
            if (rc == MXG_OK)
                rc = fix_set(c->out, d->name, "MX", bd, nb, nv, k);
            else
                rrdata_free(nv, k);
            rrdata_free(bd, nb);
        }
    }
    for (size_t i = 0; i < a->nt; i++) {
        rrs_free(&mv[i].raw[0]);
        rrs_free(&mv[i].raw[1]);
    }
    free(mv);
    return rc;
}

/* ---- the overlay view (AFTER with the fix applied) ----------------------------------------- */

struct overlay {
    const struct mxg_view *base;
    const struct mxg_rrset_change *fix;
    size_t n;
};

static const struct mxg_rrset_change *ov_find(const struct overlay *o, const char *name,
                                              const char *type)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->fix[i].name, name) == 0 && strcmp(o->fix[i].type, type) == 0)
            return &o->fix[i];
    return NULL;
}

struct ov_rr_ctx {
    const struct overlay *o;
    mxg_record_cb cb;
    void *cbctx;
};

static int ov_rr_filter(void *ctx, const struct mxg_record *rec)
{
    struct ov_rr_ctx *x = ctx;
    if (ov_find(x->o, rec->name, rec->type))
        return 0;
    return x->cb(x->cbctx, rec);
}

static int ov_emit(const struct mxg_rrset_change *ch, mxg_record_cb cb, void *cbctx)
{
    for (size_t i = 0; i < ch->n_after; i++) {
        struct mxg_record r = {.name = ch->name,
                               .type = ch->type,
                               .content = ch->after[i].content,
                               .ttl = ch->after[i].ttl,
                               .auth = true};
        int rc = cb(cbctx, &r);
        if (rc != 0)
            return rc;
    }
    return MXG_OK;
}

static int ov_rrset(void *ctx, enum mxg_side side, const char *name, const char *type,
                    mxg_record_cb cb, void *cbctx)
{
    const struct overlay *o = ctx;
    const struct mxg_view *b = o->base;
    if (side == MXG_BEFORE)
        return b->ops->rrset(b->ctx, side, name, type, cb, cbctx);
    if (type) {
        const struct mxg_rrset_change *ch = ov_find(o, name, type);
        return ch ? ov_emit(ch, cb, cbctx) : b->ops->rrset(b->ctx, side, name, type, cb, cbctx);
    }
    struct ov_rr_ctx x = {o, cb, cbctx};
    int rc = b->ops->rrset(b->ctx, side, name, NULL, ov_rr_filter, &x);
    for (size_t i = 0; rc == MXG_OK && i < o->n; i++)
        if (strcmp(o->fix[i].name, name) == 0)
            rc = ov_emit(&o->fix[i], cb, cbctx);
    return rc;
}

struct ov_ref_ctx {
    const struct overlay *o;
    const char *type;
    mxg_owner_cb cb;
    mxg_owner_target_cb cb2;
    void *cbctx;
};

static int ov_ref_filter(void *ctx, const char *owner)
{
    struct ov_ref_ctx *x = ctx;
    if (ov_find(x->o, owner, x->type))
        return 0;
    return x->cb(x->cbctx, owner);
}

static int ov_referrers(void *ctx, enum mxg_side side, const char *type, const char *target,
                        mxg_owner_cb cb, void *cbctx)
{
    const struct overlay *o = ctx;
    const struct mxg_view *b = o->base;
    if (side == MXG_BEFORE)
        return b->ops->referrers(b->ctx, side, type, target, cb, cbctx);
    struct ov_ref_ctx x = {.o = o, .type = type, .cb = cb, .cbctx = cbctx};
    int rc = b->ops->referrers(b->ctx, side, type, target, ov_ref_filter, &x);
    for (size_t i = 0; rc == MXG_OK && i < o->n; i++) {
        const struct mxg_rrset_change *ch = &o->fix[i];
        if (strcmp(ch->type, type) != 0)
            continue;
        for (size_t j = 0; j < ch->n_after; j++) {
            char t[NAMEBUF];
            if (content_target(type, ch->after[j].content, t, sizeof(t)) == MXG_OK &&
                strcmp(t, target) == 0) {
                rc = cb(cbctx, ch->name);
                break;
            }
        }
    }
    return rc;
}

static int ov_ref2_filter(void *ctx, const char *owner, const char *target)
{
    struct ov_ref_ctx *x = ctx;
    if (ov_find(x->o, owner, x->type))
        return 0;
    return x->cb2(x->cbctx, owner, target);
}

static int ov_referrers_below(void *ctx, enum mxg_side side, const char *type, const char *root,
                              mxg_owner_target_cb cb, void *cbctx)
{
    const struct overlay *o = ctx;
    const struct mxg_view *b = o->base;
    if (side == MXG_BEFORE)
        return b->ops->referrers_below(b->ctx, side, type, root, cb, cbctx);
    struct ov_ref_ctx x = {.o = o, .type = type, .cb2 = cb, .cbctx = cbctx};
    int rc = b->ops->referrers_below(b->ctx, side, type, root, ov_ref2_filter, &x);
    for (size_t i = 0; rc == MXG_OK && i < o->n; i++) {
        const struct mxg_rrset_change *ch = &o->fix[i];
        if (strcmp(ch->type, type) != 0)
            continue;
        for (size_t j = 0; rc == MXG_OK && j < ch->n_after; j++) {
            char t[NAMEBUF];
            if (content_target(type, ch->after[j].content, t, sizeof(t)) == MXG_OK &&
                strcmp(t, ".") != 0 && mxg_name_is_below(t, root))
                rc = cb(cbctx, ch->name, t);
        }
    }
    return rc;
}

static int ov_zone_of(void *ctx, enum mxg_side side, const char *name, char *apex, size_t apexlen)
{
    const struct overlay *o = ctx;
    return o->base->ops->zone_of(o->base->ctx, side, name, apex, apexlen);
}

static int ov_has_below(void *ctx, enum mxg_side side, const char *name, bool *out)
{
    const struct overlay *o = ctx;
    int rc = o->base->ops->has_below(o->base->ctx, side, name, out);
    for (size_t i = 0; rc == MXG_OK && side == MXG_AFTER && !*out && i < o->n; i++)
        *out = o->fix[i].n_after > 0 && strcmp(o->fix[i].name, name) != 0 &&
               mxg_name_is_below(o->fix[i].name, name);
    return rc;
}

static int ov_zone_info(void *ctx, const char *apex, enum mxg_mode *mode, bool *slave)
{
    const struct overlay *o = ctx;
    return o->base->ops->zone_info(o->base->ctx, apex, mode, slave);
}

static const struct mxg_view_ops OVERLAY_OPS = {
    .rrset = ov_rrset,
    .referrers = ov_referrers,
    .referrers_below = ov_referrers_below,
    .zone_of = ov_zone_of,
    .has_below = ov_has_below,
    .zone_info = ov_zone_info,
};

/* ---- evaluation --------------------------------------------------------------------------- */

static bool is_move_rule(const char *rule)
{
    return strcmp(rule, RULE_MOVED) == 0 || strcmp(rule, RULE_IMPLICIT) == 0;
}

static int evaluate(const struct mxg_view *view, const struct mxg_policy_input *in,
                    const struct mxg_config *cfg, struct mxg_decision *out);

/* Judges AFTER+fix again: true when no blocking move remains. */
static int verify_fix(const struct mxg_view *view, const struct mxg_policy_input *in,
                      const struct mxg_config *cfg, const struct mxg_decision *d, bool *ok)
{
    *ok = false;
    struct overlay o = {view, d->fix, d->n_fix};
    struct mxg_view ov = {&OVERLAY_OPS, &o};
    const char **names = calloc(in->n_names + d->n_fix + 1, sizeof(*names));
    if (!names)
        return MXG_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < in->n_names; i++)
        names[n++] = in->names[i];
    for (size_t i = 0; i < d->n_fix; i++)
        names[n++] = d->fix[i].name;
    struct mxg_policy_input in2 = *in;
    in2.names = names;
    in2.n_names = n;
    in2.mode = MXG_MODE_REJECT;
    in2.slave = false;
    struct mxg_decision d2;
    int rc = evaluate(&ov, &in2, cfg, &d2);
    if (rc == MXG_OK) {
        *ok = d2.verdict != MXG_VERDICT_REJECT;
        for (size_t i = 0; i < d2.n_findings; i++)
            if (d2.findings[i].severity == MXG_SEV_BLOCK && is_move_rule(d2.findings[i].rule))
                *ok = false;
        mxg_decision_free(&d2);
    }
    free(names);
    return rc;
}

static void fix_clear(struct mxg_decision *d)
{
    for (size_t i = 0; i < d->n_fix; i++)
        change_free(&d->fix[i]);
    free(d->fix);
    d->fix = NULL;
    d->n_fix = 0;
}

/* Fix mode with blocking findings: FIX when every blocking finding is repaired, else REJECT. */
static int try_fix(struct pctx *c, struct dom *doms, size_t ndoms, bool *fixed)
{
    *fixed = false;
    for (size_t i = 0; i < c->out->n_findings; i++)
        if (c->out->findings[i].severity == MXG_SEV_BLOCK &&
            !is_move_rule(c->out->findings[i].rule))
            return MXG_OK;
    struct fixctx fx = {.c = c};
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < ndoms && !fx.no_fix; i++)
        if (doms[i].block)
            rc = fix_domain(&fx, &doms[i]);
    if (rc == MXG_OK && !fx.no_fix && fx.no_host) {
        enum mxg_severity sev = mxg_policy_severity(c->cfg, RULE_NO_HOST);
        if (sev != MXG_SEV_OFF) {
            char reason[2 * NAMEBUF + 64];
            snprintf(reason, sizeof(reason),
                     "no label of mail-host-labels is free in %s for a mail host of %s",
                     c->in->zone, fx.no_host_dom);
            rc = simple_finding(c, RULE_NO_HOST, fx.no_host_dom, NULL, NULL, reason);
        }
    }
    if (rc == MXG_OK && !fx.no_fix && !fx.no_host) {
        /* Drop no-op entries (a host that already held the addresses, an MX already there). */
        struct mxg_decision *d = c->out;
        size_t k = 0;
        for (size_t i = 0; i < d->n_fix; i++) {
            if (mxg_rrdata_same(d->fix[i].before, d->fix[i].n_before, d->fix[i].after,
                                d->fix[i].n_after))
                change_free(&d->fix[i]);
            else
                d->fix[k++] = d->fix[i];
        }
        d->n_fix = k;
        bool ok = false;
        if (k > 0)
            rc = verify_fix(c->view, c->in, c->cfg, d, &ok);
        *fixed = rc == MXG_OK && ok;
    }
    if (!*fixed)
        fix_clear(c->out);
    fixctx_free(&fx);
    return rc;
}

/* The name whose change moves d's mail: the last shared name of a moving target's path. */
static int moving_name(struct pctx *c, const struct dom *d, char *out, size_t len)
{
    const struct dside *a = &d->sd[MXG_AFTER], *b = &d->sd[MXG_BEFORE];
    snprintf(out, len, "%s", d->name);
    for (size_t i = 0; i < a->nt; i++) {
        const struct target *bt = dside_target(b, a->t[i].name);
        for (int f = 0; f < 2; f++) {
            const struct mxg_resolution *r = &a->t[i].r[f];
            if (bt && res_same(&bt->r[f], r))
                continue;
            for (size_t k = r->n_steps; k > 0; k--) {
                char why[2 * NAMEBUF + 64];
                int rc = name_shared(c, r, k - 1, why, sizeof(why));
                if (rc != MXG_OK)
                    return rc;
                if (why[0]) {
                    snprintf(out, len, "%s", r->steps[k - 1].name);
                    return MXG_OK;
                }
            }
        }
    }
    return MXG_OK;
}

/* The other remedy, for a refusal caused by a move. */
static int make_remedy(struct pctx *c, struct dom *doms, size_t ndoms)
{
    const struct dom *d = NULL;
    for (size_t i = 0; i < ndoms && !d; i++)
        if (doms[i].block)
            d = &doms[i];
    if (!d)
        return MXG_OK;
    char m[NAMEBUF];
    int rc = moving_name(c, d, m, sizeof(m));
    if (rc != MXG_OK)
        return rc;
    bool m_apex = is_apex(c, MXG_BEFORE, m) || is_apex(c, MXG_AFTER, m);
    const char *label = c->cfg->n_mail_host_labels ? c->cfg->mail_host_labels[0] : "mail";
    const char *dz = strcmp(d->apex, ".") == 0 ? "" : d->apex;
    char buf[4 * NAMEBUF + 256];
    if (d->proxy_move)
        snprintf(buf, sizeof(buf),
                 "point the mail host of %s at a mail server, not at the proxy, or remove the "
                 "MX if %s receives no mail",
                 d->name, d->name);
    else if (m_apex)
        snprintf(buf, sizeof(buf),
                 "keep %s at its current address and put only www.%s behind the proxy, or "
                 "move mail to a dedicated host such as %s.%s first",
                 m, strcmp(m, ".") == 0 ? "" : m, label, dz);
    else
        snprintf(buf, sizeof(buf),
                 "keep %s at its current address, or move mail of %s to a dedicated host such "
                 "as %s.%s first",
                 m, d->name, label, dz);
    c->out->remedy = strdup(buf);
    return c->out->remedy ? MXG_OK : MXG_ENOMEM;
}

/* The effective mode of D's zone: the transaction's for its own zone, else the view's. */
static void dom_mode(struct pctx *c, struct dom *d)
{
    d->mode = c->in->mode;
    d->slave = c->in->slave;
    if (strcmp(d->apex, c->in->zone) == 0)
        return;
    enum mxg_mode m;
    bool slave = false;
    if (c->view->ops->zone_info &&
        c->view->ops->zone_info(c->view->ctx, d->apex, &m, &slave) == MXG_OK) {
        d->mode = m;
        d->slave = slave;
    }
}

static int evaluate(const struct mxg_view *view, const struct mxg_policy_input *in,
                    const struct mxg_config *cfg, struct mxg_decision *out)
{
    memset(out, 0, sizeof(*out));
    struct pctx c = {.view = view, .in = in, .cfg = cfg, .out = out};
    c.ro.dname_processing = cfg->dname_processing;
    c.ro.expand_alias = cfg->expand_alias;
    struct strset cands = {0};
    struct dom *doms = NULL;
    size_t ndoms = 0;
    int rc = collect(&c, &cands);
    /* Judged in a stable order. */
    if (rc == MXG_OK && cands.n > 1)
        qsort(cands.v, cands.n, sizeof(*cands.v), cmp_strp);
    for (size_t i = 0; rc == MXG_OK && i < cands.n; i++) {
        char apex[NAMEBUF];
        const char *name = cands.v[i];
        rc = zone_of(&c, MXG_BEFORE, name, apex, sizeof(apex));
        if (rc == MXG_ENOENT) {
            rc = MXG_OK;
            continue;
        }
        if (rc != MXG_OK)
            break;
        struct dom d = {0};
        d.name = strdup(name);
        d.apex = strdup(apex);
        if (!d.name || !d.apex)
            rc = MXG_ENOMEM;
        if (rc == MXG_OK) {
            dom_mode(&c, &d);
            rc = dside_compute(&c, MXG_BEFORE, name, apex, &d.sd[MXG_BEFORE]);
        }
        /* Also when D was no mail domain before: the MX warnings of a new MX apply. */
        if (rc == MXG_OK)
            rc = dside_compute(&c, MXG_AFTER, name, apex, &d.sd[MXG_AFTER]);
        if (rc == MXG_OK)
            rc = judge_moves(&c, &d);
        if (rc == MXG_OK)
            rc = judge_mx_warns(&c, &d);
        if (rc == MXG_OK && d.sd[MXG_BEFORE].served)
            rc = judge_spf(&c, &d);
        if (rc == MXG_OK && d.block) {
            struct dom *nd = realloc(doms, (ndoms + 1) * sizeof(*nd));
            if (nd) {
                doms = nd;
                doms[ndoms++] = d;
                continue;
            }
            rc = MXG_ENOMEM;
        }
        dom_free(&d);
    }
    strset_free(&cands);

    bool blocking = false, counting = ndoms > 0, any_reject = false;
    for (size_t i = 0; i < out->n_findings; i++)
        blocking |= out->findings[i].severity == MXG_SEV_BLOCK;
    for (size_t i = 0; i < ndoms; i++)
        any_reject |= doms[i].mode == MXG_MODE_REJECT;
    /* A blocking finding that is not a move (fix-no-host comes later) counts in the
     * transaction's own zone. */
    for (size_t i = 0; i < out->n_findings; i++)
        if (out->findings[i].severity == MXG_SEV_BLOCK && !is_move_rule(out->findings[i].rule) &&
            !in->slave && (in->mode == MXG_MODE_REJECT || in->mode == MXG_MODE_FIX)) {
            counting = true;
            any_reject |= in->mode == MXG_MODE_REJECT;
        }
    if (rc == MXG_OK) {
        if (!counting) {
            out->verdict = blocking ? MXG_VERDICT_WARN : MXG_VERDICT_ALLOW;
        } else {
            bool fixed = false;
            if (!any_reject && !in->no_fix)
                rc = try_fix(&c, doms, ndoms, &fixed);
            out->verdict = fixed ? MXG_VERDICT_FIX : MXG_VERDICT_REJECT;
            if (rc == MXG_OK && !fixed)
                rc = make_remedy(&c, doms, ndoms);
        }
    }
    for (size_t i = 0; i < ndoms; i++)
        dom_free(&doms[i]);
    free(doms);
    strset_free(&c.shared_memo);
    strset_free(&c.dedicated_memo);
    if (rc != MXG_OK)
        mxg_decision_free(out);
    return rc;
}

int mxg_policy_evaluate(const struct mxg_view *view, const struct mxg_policy_input *in,
                        const struct mxg_config *cfg, struct mxg_decision *out)
{
    if (!view || !view->ops || !in || !in->zone || !cfg || !out || (in->n_names && !in->names) ||
        (in->n_roots && !in->roots))
        return MXG_EINVAL;
    return evaluate(view, in, cfg, out);
}

/* ---- the same model for scan and resolve -------------------------------------------------- */

int mxg_policy_path_shared(const struct mxg_view *view, const struct mxg_config *cfg,
                           const struct mxg_resolution *r, bool *shared, char *why, size_t whylen)
{
    static const struct mxg_policy_input none = {.zone = "."};
    struct mxg_decision out = {0};
    struct pctx c = {.view = view, .in = &none, .cfg = cfg, .out = &out};
    c.ro.dname_processing = cfg->dname_processing;
    c.ro.expand_alias = cfg->expand_alias;
    int rc = path_shared(&c, r, shared, why, whylen);
    strset_free(&c.shared_memo);
    strset_free(&c.dedicated_memo);
    return rc;
}

const char *mxg_scan_class_name(enum mxg_scan_class k)
{
    switch (k) {
    case MXG_SCAN_NO_MAIL:
        return "no-mail";
    case MXG_SCAN_SAFE:
        return "safe";
    case MXG_SCAN_AT_RISK:
        return "at-risk";
    case MXG_SCAN_BROKEN:
        return "broken";
    }
    return "unknown";
}

int mxg_policy_classify(const struct mxg_view *view, const struct mxg_config *cfg, const char *zone,
                        const char *const *domains, size_t n, struct mxg_scan_result *out)
{
    memset(out, 0, sizeof(*out));
    out->cls = MXG_SCAN_NO_MAIL;
    struct mxg_policy_input in = {.zone = zone};
    struct mxg_decision dec = {0};
    struct pctx c = {.view = view, .in = &in, .cfg = cfg, .out = &dec};
    c.ro.dname_processing = cfg->dname_processing;
    c.ro.expand_alias = cfg->expand_alias;
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < n; i++) {
        struct dside d;
        char apex[NAMEBUF];
        if (zone_of(&c, MXG_BEFORE, domains[i], apex, sizeof(apex)) != MXG_OK)
            continue;
        rc = dside_compute(&c, MXG_BEFORE, domains[i], apex, &d);
        if (rc != MXG_OK)
            break;
        if (d.mail && out->cls == MXG_SCAN_NO_MAIL)
            out->cls = MXG_SCAN_SAFE;
        for (int f = 0; rc == MXG_OK && d.mail && f < 2; f++) {
            for (size_t k = 0; rc == MXG_OK && k < d.s[f].n; k++) {
                const struct maddr *x = &d.s[f].v[k];
                char buf[NAMEBUF + 32], why[2 * NAMEBUF + 64], line[5 * NAMEBUF];
                maddr_str(FAM_NUM[f], x, buf, sizeof(buf));
                if (!x->unknown &&
                    in_ranges(cfg->proxy_ranges, cfg->n_proxy_ranges, FAM_NUM[f], x->b)) {
                    out->cls = MXG_SCAN_BROKEN;
                    snprintf(line, sizeof(line), "%s: mail goes to %s via %s, inside proxy-ranges",
                             domains[i], buf, x->target);
                    rc = strv_push(&out->reasons, &out->n_reasons, line);
                    continue;
                }
                if (x->unknown)
                    continue;
                bool shared = false;
                rc = path_shared(&c, x->res, &shared, why, sizeof(why));
                if (rc != MXG_OK || !shared)
                    continue;
                if (out->cls != MXG_SCAN_BROKEN)
                    out->cls = MXG_SCAN_AT_RISK;
                snprintf(line, sizeof(line), "%s: %s %s via %s through a shared path (%s)",
                         domains[i], FAM_TYPE[f], buf, x->target, why);
                bool dup = false;
                for (size_t j = 0; j < out->n_reasons && !dup; j++)
                    dup = strcmp(out->reasons[j], line) == 0;
                if (!dup)
                    rc = strv_push(&out->reasons, &out->n_reasons, line);
            }
        }
        dside_free(&d);
    }
    strset_free(&c.shared_memo);
    strset_free(&c.dedicated_memo);
    mxg_decision_free(&dec);
    if (rc != MXG_OK)
        mxg_scan_result_free(out);
    return rc;
}

void mxg_scan_result_free(struct mxg_scan_result *r)
{
    for (size_t i = 0; i < r->n_reasons; i++)
        free(r->reasons[i]);
    free(r->reasons);
    memset(r, 0, sizeof(*r));
}

void mxg_decision_free(struct mxg_decision *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_findings; i++)
        finding_free(&d->findings[i]);
    free(d->findings);
    fix_clear(d);
    free(d->remedy);
    memset(d, 0, sizeof(*d));
}

const char *mxg_verdict_name(enum mxg_verdict v)
{
    switch (v) {
    case MXG_VERDICT_ALLOW:
        return "allow";
    case MXG_VERDICT_WARN:
        return "warn";
    case MXG_VERDICT_REJECT:
        return "reject";
    case MXG_VERDICT_FIX:
        return "fix";
    }
    return "unknown";
}

const char *mxg_severity_name(enum mxg_severity s)
{
    switch (s) {
    case MXG_SEV_OFF:
        return "off";
    case MXG_SEV_WARN:
        return "warn";
    case MXG_SEV_BLOCK:
        return "block";
    }
    return "unknown";
}

enum mxg_severity mxg_policy_severity(const struct mxg_config *cfg, const char *rule)
{
    if (!rule)
        return MXG_SEV_WARN;
    if (cfg) {
        const struct mxg_rule_severity *hit = NULL;
        for (size_t i = 0; i < cfg->n_rule_severity; i++)
            if (cfg->rule_severity[i].rule && strcmp(cfg->rule_severity[i].rule, rule) == 0)
                hit = &cfg->rule_severity[i];
        if (hit)
            return hit->severity;
    }
    if (strcmp(rule, RULE_IMPLICIT) == 0) {
        if (!cfg)
            return MXG_SEV_WARN;
        switch (cfg->implicit_mx) {
        case MXG_IMPLICIT_NO:
            return MXG_SEV_OFF;
        case MXG_IMPLICIT_YES:
            return MXG_SEV_BLOCK;
        case MXG_IMPLICIT_WARN:
            return MXG_SEV_WARN;
        }
        return MXG_SEV_WARN;
    }
    if (strcmp(rule, RULE_MOVED) == 0 || strcmp(rule, RULE_NO_HOST) == 0)
        return MXG_SEV_BLOCK;
    return MXG_SEV_WARN;
}
