/* policy.c -- the rule of PRODUCT.md §3-§4: affected mail domains, findings, verdict, the fix.
 *
 * The evaluation walks outward from the touched names only: CNAME/ALIAS referrers (both sides,
 * up to MXG_POLICY_CHAIN_MAX links) give the names whose addresses may change, MX referrers of
 * those give the mail domains. Each such domain is judged per family on its BEFORE and AFTER
 * state. In fix mode the repair is computed, then checked by judging again on an overlay view
 * (AFTER with the fix applied).
 *
 * View requirement beyond policy.h: rrset() with type NULL returns the records of every type at
 * the name (used to see whether a candidate mail host name is free). */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/policy.h"

#define NAMEBUF MXG_NAME_TEXT_MAX

static const char *const FAM_TYPE[2] = {"A", "AAAA"};
static const int FAM_NUM[2] = {4, 6};

static const char RULE_MOVED[] = "mail-moved";
static const char RULE_IMPLICIT[] = "implicit-mail-moved";
static const char RULE_MX_CNAME[] = "mx-cname";
static const char RULE_MX_NOADDR[] = "mx-no-address";
static const char RULE_MX_LITERAL[] = "mx-ip-literal";
static const char RULE_NULL_MIXED[] = "null-mx-mixed";
static const char RULE_SPF[] = "spf-moved";
static const char RULE_NO_HOST[] = "fix-no-host";

/* ---- names ------------------------------------------------------------------------------ */

struct strset {
    char **v;
    size_t n, cap;
    size_t *slots; /* open addressing: index + 1, 0 = empty */
    size_t nslots;
};

static size_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return (size_t)h;
}

static bool strset_has(const struct strset *s, const char *str)
{
    if (s->nslots == 0)
        return false;
    size_t j = str_hash(str) & (s->nslots - 1);
    while (s->slots[j]) {
        if (strcmp(s->v[s->slots[j] - 1], str) == 0)
            return true;
        j = (j + 1) & (s->nslots - 1);
    }
    return false;
}

static void strset_slot(size_t *slots, size_t nslots, const char *str, size_t idx)
{
    size_t j = str_hash(str) & (nslots - 1);
    while (slots[j])
        j = (j + 1) & (nslots - 1);
    slots[j] = idx + 1;
}

static int strset_add(struct strset *s, const char *str, bool *added)
{
    if (added)
        *added = false;
    if (strset_has(s, str))
        return MXG_OK;
    if ((s->n + 1) * 2 > s->nslots) {
        size_t ns = s->nslots ? s->nslots * 2 : 32;
        size_t *sl = calloc(ns, sizeof(*sl));
        if (!sl)
            return MXG_ENOMEM;
        for (size_t i = 0; i < s->n; i++)
            strset_slot(sl, ns, s->v[i], i);
        free(s->slots);
        s->slots = sl;
        s->nslots = ns;
    }
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        char **nv = realloc(s->v, ncap * sizeof(*nv));
        if (!nv)
            return MXG_ENOMEM;
        s->v = nv;
        s->cap = ncap;
    }
    char *c = strdup(str);
    if (!c)
        return MXG_ENOMEM;
    s->v[s->n] = c;
    strset_slot(s->slots, s->nslots, c, s->n);
    s->n++;
    if (added)
        *added = true;
    return MXG_OK;
}

static void strset_free(struct strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    free(s->slots);
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
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 4;
        struct rr *nv = realloc(l->v, ncap * sizeof(*nv));
        if (!nv)
            return MXG_ENOMEM;
        l->v = nv;
        l->cap = ncap;
    }
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

/* ---- addresses -------------------------------------------------------------------------- */

struct addr {
    int fam; /* 4, 6, or 0 for an unknown address (ALIAS, LUA) */
    uint8_t b[16];
    char *label;   /* fam 0: "ALIAS cdn.example.net." */
    bool in_proxy; /* fam 0: the ALIAS target resolves inside proxy-ranges */
};

struct aset {
    struct addr *v;
    size_t n, cap;
};

static bool addr_eq(const struct addr *a, const struct addr *b)
{
    if (a->fam != b->fam)
        return false;
    if (a->fam == 0)
        return a->in_proxy == b->in_proxy && strcmp(a->label, b->label) == 0;
    return memcmp(a->b, b->b, a->fam == 4 ? 4 : 16) == 0;
}

static bool aset_has(const struct aset *s, const struct addr *a)
{
    for (size_t i = 0; i < s->n; i++)
        if (addr_eq(&s->v[i], a))
            return true;
    return false;
}

static int aset_add(struct aset *s, const struct addr *a)
{
    if (aset_has(s, a))
        return MXG_OK;
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 4;
        struct addr *nv = realloc(s->v, ncap * sizeof(*nv));
        if (!nv)
            return MXG_ENOMEM;
        s->v = nv;
        s->cap = ncap;
    }
    s->v[s->n] = *a;
    if (a->label && !(s->v[s->n].label = strdup(a->label)))
        return MXG_ENOMEM;
    s->n++;
    return MXG_OK;
}

static int aset_union(struct aset *s, const struct aset *o)
{
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < o->n; i++)
        rc = aset_add(s, &o->v[i]);
    return rc;
}

static bool aset_eq(const struct aset *a, const struct aset *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!aset_has(b, &a->v[i]))
            return false;
    return true;
}

static bool aset_has_unknown(const struct aset *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].fam == 0)
            return true;
    return false;
}

static void aset_free(struct aset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].label);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static bool addr_parse(int f, const char *content, struct addr *out)
{
    memset(out, 0, sizeof(*out));
    out->fam = FAM_NUM[f];
    return inet_pton(f == 0 ? AF_INET : AF_INET6, content, out->b) == 1;
}

static void addr_str(const struct addr *a, char *buf, size_t len)
{
    if (a->fam == 0)
        snprintf(buf, len, "%s%s", a->label, a->in_proxy ? " (in proxy-ranges)" : "");
    else if (!inet_ntop(a->fam == 4 ? AF_INET : AF_INET6, a->b, buf, (socklen_t)len))
        snprintf(buf, len, "?");
}

static int addr_cmp(const void *pa, const void *pb)
{
    const struct addr *a = pa, *b = pb;
    if (a->fam != b->fam)
        return a->fam < b->fam ? -1 : 1;
    if (a->fam == 0)
        return a->in_proxy != b->in_proxy ? (a->in_proxy ? 1 : -1) : strcmp(a->label, b->label);
    return memcmp(a->b, b->b, a->fam == 4 ? 4 : 16);
}

static bool in_ranges(const struct mxg_cidr *r, size_t n, const struct addr *a)
{
    for (size_t i = 0; i < n; i++)
        if (mxg_cidr_contains(&r[i], a->fam, a->b))
            return true;
    return false;
}

/* Address sets of A/AAAA record lists, compared as parsed addresses. */
static int rrs_aset(int f, const struct rrs *l, struct aset *out)
{
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < l->n; i++) {
        struct addr a;
        if (addr_parse(f, l->v[i].content, &a))
            rc = aset_add(out, &a);
    }
    return rc;
}

/* ---- evaluation context ------------------------------------------------------------------ */

struct pctx {
    const struct mxg_view *view;
    const struct mxg_policy_input *in;
    const struct mxg_config *cfg;
    struct mxg_decision *out;
};

static int zone_of(struct pctx *c, const char *name, char *apex, size_t len)
{
    return c->view->ops->zone_of(c->view->ctx, name, apex, len);
}

/* Follows the CNAME chain from name. *end: the name holding the addresses (NULL when the chain
 * leaves the served zones, loops or is too long); *external: it left the served zones. */
static int resolve(struct pctx *c, enum mxg_side side, const char *name, char **end, bool *external,
                   bool *first_cname)
{
    char cur[NAMEBUF], apex[NAMEBUF], next[NAMEBUF];
    *end = NULL;
    *external = false;
    if (first_cname)
        *first_cname = false;
    snprintf(cur, sizeof(cur), "%s", name);
    for (int links = 0;; links++) {
        int rc = zone_of(c, cur, apex, sizeof(apex));
        if (rc == MXG_ENOENT) {
            *external = true;
            return MXG_OK;
        }
        if (rc != MXG_OK)
            return rc;
        struct rrs cn;
        if ((rc = fetch(c->view, side, cur, "CNAME", &cn)) != MXG_OK)
            return rc;
        if (cn.n == 0) {
            rrs_free(&cn);
            *end = strdup(cur);
            return *end ? MXG_OK : MXG_ENOMEM;
        }
        if (links == 0 && first_cname)
            *first_cname = true;
        rc = mxg_name_canon(cn.v[0].content, next, sizeof(next));
        rrs_free(&cn);
        if (rc != MXG_OK || links >= MXG_POLICY_CHAIN_MAX)
            return MXG_OK; /* broken or too long: no address */
        memcpy(cur, next, strlen(next) + 1);
    }
}

/* True when the ALIAS target resolves (CNAME chain, family f) to an address in proxy-ranges. */
static int alias_in_proxy(struct pctx *c, enum mxg_side side, const char *target, int f, bool *out)
{
    char *end;
    bool ext;
    *out = false;
    int rc = resolve(c, side, target, &end, &ext, NULL);
    if (rc != MXG_OK || !end)
        return rc;
    struct rrs l;
    rc = fetch(c->view, side, end, FAM_TYPE[f], &l);
    free(end);
    for (size_t i = 0; rc == MXG_OK && i < l.n && !*out; i++) {
        struct addr a;
        if (addr_parse(f, l.v[i].content, &a) &&
            in_ranges(c->cfg->proxy_ranges, c->cfg->n_proxy_ranges, &a))
            *out = true;
    }
    if (rc == MXG_OK)
        rrs_free(&l);
    return rc;
}

/* The addresses at a chain end: A/AAAA (also kept as records in raw), ALIAS and LUA as
 * unknown addresses. */
static int end_addrs(struct pctx *c, enum mxg_side side, const char *end, struct aset s[2],
                     struct rrs raw[2])
{
    int rc = MXG_OK;
    for (int f = 0; f < 2 && rc == MXG_OK; f++) {
        rc = fetch(c->view, side, end, FAM_TYPE[f], &raw[f]);
        if (rc == MXG_OK)
            rc = rrs_aset(f, &raw[f], &s[f]);
    }
    struct rrs al = {0}, lua = {0};
    if (rc == MXG_OK)
        rc = fetch(c->view, side, end, "ALIAS", &al);
    for (size_t i = 0; rc == MXG_OK && i < al.n; i++) {
        char t[NAMEBUF], label[NAMEBUF + 8];
        if (mxg_name_canon(al.v[i].content, t, sizeof(t)) != MXG_OK)
            snprintf(t, sizeof(t), "%s", al.v[i].content);
        snprintf(label, sizeof(label), "ALIAS %s", t);
        for (int f = 0; f < 2 && rc == MXG_OK; f++) {
            struct addr a = {.fam = 0, .label = label};
            if (c->cfg->classify == MXG_CLASSIFY_PROXY)
                rc = alias_in_proxy(c, side, t, f, &a.in_proxy);
            if (rc == MXG_OK)
                rc = aset_add(&s[f], &a);
        }
    }
    rrs_free(&al);
    if (rc == MXG_OK)
        rc = fetch(c->view, side, end, "LUA", &lua);
    for (size_t i = 0; rc == MXG_OK && i < lua.n; i++) {
        const char *p = lua.v[i].content;
        size_t k = strcspn(p, " \t");
        for (int f = 0; f < 2 && rc == MXG_OK; f++) {
            if (k != strlen(FAM_TYPE[f]) || strncasecmp(p, FAM_TYPE[f], k) != 0)
                continue;
            char label[NAMEBUF + 8];
            snprintf(label, sizeof(label), "LUA %s", end);
            struct addr a = {.fam = 0, .label = label};
            rc = aset_add(&s[f], &a);
        }
    }
    rrs_free(&lua);
    return rc;
}

/* One mail target: the name an MX points to (or the apex for an implicit MX). */
struct target {
    char *name;
    char *end;     /* chain end holding the addresses, or NULL */
    bool external; /* outside the served zones: not judged */
    bool cname;    /* the target itself is a CNAME */
    struct aset s[2];
    struct rrs raw[2]; /* A/AAAA records at end */
};

static void target_free(struct target *t)
{
    free(t->name);
    free(t->end);
    for (int f = 0; f < 2; f++) {
        aset_free(&t->s[f]);
        rrs_free(&t->raw[f]);
    }
    memset(t, 0, sizeof(*t));
}

static int target_compute(struct pctx *c, enum mxg_side side, const char *name, struct target *t)
{
    memset(t, 0, sizeof(*t));
    if (!(t->name = strdup(name)))
        return MXG_ENOMEM;
    int rc = resolve(c, side, name, &t->end, &t->external, &t->cname);
    if (rc == MXG_OK && t->end)
        rc = end_addrs(c, side, t->end, t->s, t->raw);
    if (rc != MXG_OK)
        target_free(t);
    return rc;
}

/* A mail domain candidate on one side. */
struct dside {
    bool has_mx, explicit_mx, implicit, mail, null_mixed, ext;
    struct rrs mx;
    struct target *t;
    size_t nt;
    struct aset s[2];
};

static void dside_free(struct dside *d)
{
    rrs_free(&d->mx);
    for (size_t i = 0; i < d->nt; i++)
        target_free(&d->t[i]);
    free(d->t);
    for (int f = 0; f < 2; f++)
        aset_free(&d->s[f]);
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

static int dside_compute(struct pctx *c, enum mxg_side side, const char *dom, bool is_apex,
                         struct dside *d)
{
    memset(d, 0, sizeof(*d));
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
    if (d->explicit_mx) {
        for (size_t i = 0; rc == MXG_OK && i < d->mx.n; i++) {
            char t[NAMEBUF];
            const char *text = mx_target(d->mx.v[i].content, NULL);
            if (!text || mxg_name_canon(text, t, sizeof(t)) != MXG_OK || strcmp(t, ".") == 0)
                continue;
            rc = dside_add_target(c, side, d, t);
        }
    } else if (!d->has_mx && is_apex && c->cfg->implicit_mx != MXG_IMPLICIT_NO) {
        rc = dside_add_target(c, side, d, dom);
        if (rc == MXG_OK)
            d->implicit = d->t[0].s[0].n > 0 || d->t[0].s[1].n > 0;
    }
    d->mail = d->explicit_mx || d->implicit;
    for (size_t i = 0; rc == MXG_OK && d->mail && i < d->nt; i++) {
        d->ext |= d->t[i].external;
        for (int f = 0; f < 2 && rc == MXG_OK; f++)
            rc = aset_union(&d->s[f], &d->t[i].s[f]);
    }
    if (rc != MXG_OK)
        dside_free(d);
    return rc;
}

static const struct target *dside_target(const struct dside *d, const char *name)
{
    for (size_t i = 0; i < d->nt; i++)
        if (strcmp(d->t[i].name, name) == 0)
            return &d->t[i];
    return NULL;
}

struct dom {
    char *name;
    char *apex; /* apex of the zone holding the domain */
    struct dside sd[2];
    bool block; /* a blocking mail-moved / implicit-mail-moved finding */
};

static void dom_free(struct dom *d)
{
    free(d->name);
    free(d->apex);
    dside_free(&d->sd[0]);
    dside_free(&d->sd[1]);
    memset(d, 0, sizeof(*d));
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

static int strv_aset(char ***v, size_t *n, const struct aset *s)
{
    if (s->n == 0)
        return MXG_OK;
    struct addr *sorted = malloc(s->n * sizeof(*sorted));
    if (!sorted)
        return MXG_ENOMEM;
    memcpy(sorted, s->v, s->n * sizeof(*sorted));
    qsort(sorted, s->n, sizeof(*sorted), addr_cmp);
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < s->n; i++) {
        char buf[NAMEBUF + 16];
        addr_str(&sorted[i], buf, sizeof(buf));
        rc = strv_push(v, n, buf);
    }
    free(sorted);
    return rc;
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

/* ---- the rules -------------------------------------------------------------------------- */

static int judge_moves(struct pctx *c, struct dom *d)
{
    const struct dside *b = &d->sd[MXG_BEFORE], *a = &d->sd[MXG_AFTER];
    if (!b->mail || !a->mail)
        return MXG_OK;
    const char *rule = b->implicit && a->implicit ? RULE_IMPLICIT : RULE_MOVED;
    enum mxg_severity sev = mxg_policy_severity(c->cfg, rule);
    if (sev == MXG_SEV_OFF)
        return MXG_OK;
    const struct mxg_config *cfg = c->cfg;
    for (int f = 0; f < 2; f++) {
        if (aset_eq(&b->s[f], &a->s[f]))
            continue;
        char why[NAMEBUF + 128] = "";
        if (a->s[f].n == 0 && b->s[f].n > 0 && !a->ext) {
            snprintf(why, sizeof(why), "its mail targets lose their %s addresses", FAM_TYPE[f]);
        } else {
            for (size_t i = 0; i < a->s[f].n && !why[0]; i++) {
                const struct addr *x = &a->s[f].v[i];
                if (aset_has(&b->s[f], x))
                    continue;
                char buf[NAMEBUF + 16];
                addr_str(x, buf, sizeof(buf));
                if (cfg->classify == MXG_CLASSIFY_STRICT) {
                    if (x->fam == 0)
                        snprintf(why, sizeof(why),
                                 "%s makes the address unknown (counted outside mail-ranges)", buf);
                    else if (!in_ranges(cfg->mail_ranges, cfg->n_mail_ranges, x))
                        snprintf(why, sizeof(why), "%s lies outside mail-ranges", buf);
                } else if (x->fam == 0 ? x->in_proxy
                                       : in_ranges(cfg->proxy_ranges, cfg->n_proxy_ranges, x)) {
                    snprintf(why, sizeof(why), "%s lies inside proxy-ranges", buf);
                }
            }
        }
        if (!why[0])
            continue;
        struct mxg_finding *fd;
        int rc = finding_new(c->out, rule, sev, d->name, FAM_TYPE[f], &fd);
        if (rc == MXG_OK)
            rc = strv_aset(&fd->old_values, &fd->n_old, &b->s[f]);
        if (rc == MXG_OK)
            rc = strv_aset(&fd->new_values, &fd->n_new, &a->s[f]);
        if (rc == MXG_OK)
            rc = finding_reason(fd, "mail for %s%s would move in %s: %s", d->name,
                                rule == RULE_IMPLICIT ? " (implicit MX)" : "", FAM_TYPE[f], why);
        if (rc != MXG_OK)
            return rc;
        if (sev == MXG_SEV_BLOCK)
            d->block = true;
    }
    return MXG_OK;
}

static bool target_no_address(const struct target *t)
{
    return !t->external && t->s[0].n == 0 && t->s[1].n == 0;
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
    if (!a->has_mx)
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

static int judge_spf(struct pctx *c, struct dom *d)
{
    if (mxg_policy_severity(c->cfg, RULE_SPF) == MXG_SEV_OFF)
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
    struct aset beh[2] = {{0}, {0}};
    for (int side = 0; side < 2 && rc == MXG_OK; side++) {
        if (use_a) {
            struct target t;
            rc = target_compute(c, (enum mxg_side)side, d->name, &t);
            for (int f = 0; f < 2 && rc == MXG_OK; f++)
                rc = aset_union(&beh[side], &t.s[f]);
            if (t.name)
                target_free(&t);
        }
        const struct dside *ds = &d->sd[side];
        for (int f = 0; f < 2 && rc == MXG_OK && use_mx && ds->explicit_mx; f++)
            rc = aset_union(&beh[side], &ds->s[f]);
    }
    if (rc == MXG_OK && !aset_eq(&beh[0], &beh[1])) {
        struct mxg_finding *f;
        rc = finding_new(c->out, RULE_SPF, mxg_policy_severity(c->cfg, RULE_SPF), d->name, "", &f);
        if (rc == MXG_OK)
            rc = strv_aset(&f->old_values, &f->n_old, &beh[0]);
        if (rc == MXG_OK)
            rc = strv_aset(&f->new_values, &f->n_new, &beh[1]);
        if (rc == MXG_OK)
            rc = finding_reason(f,
                                "the SPF record of %s uses %s%s%s and the addresses behind it "
                                "change: outgoing mail may fail SPF",
                                d->name, use_a ? "a" : "", use_a && use_mx ? " and " : "",
                                use_mx ? "mx" : "");
    }
    aset_free(&beh[0]);
    aset_free(&beh[1]);
    return rc;
}

/* ---- affected mail domains ---------------------------------------------------------------- */

static int ref_add(void *ctx, const char *owner)
{
    return strset_add(ctx, owner, NULL);
}

static int collect(struct pctx *c, struct strset *cands)
{
    const struct mxg_view *v = c->view;
    struct strset reach = {0};
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < c->in->n_names; i++)
        rc = strset_add(&reach, c->in->names[i], NULL);
    /* Names whose addresses follow a touched name: CNAME and ALIAS owners, transitively. */
    size_t lo = 0;
    static const char *const chain_types[] = {"CNAME", "ALIAS"};
    for (int depth = 0; rc == MXG_OK && depth < MXG_POLICY_CHAIN_MAX && lo < reach.n; depth++) {
        size_t hi = reach.n;
        for (size_t i = lo; rc == MXG_OK && i < hi; i++)
            for (int side = 0; rc == MXG_OK && side < 2; side++)
                for (int k = 0; rc == MXG_OK && k < 2; k++)
                    rc = v->ops->referrers(v->ctx, (enum mxg_side)side, chain_types[k], reach.v[i],
                                           ref_add, &reach);
        lo = hi;
    }
    /* The names themselves (their own MX, implicit MX) and the owners of MX reaching them. */
    for (size_t i = 0; rc == MXG_OK && i < reach.n; i++) {
        rc = strset_add(cands, reach.v[i], NULL);
        for (int side = 0; rc == MXG_OK && side < 2; side++)
            rc = v->ops->referrers(v->ctx, (enum mxg_side)side, "MX", reach.v[i], ref_add, cands);
    }
    strset_free(&reach);
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

/* A moving name and the mail host chosen for it. */
struct hgroup {
    char *m;           /* the moving name (chain end in AFTER) */
    struct rrs raw[2]; /* its BEFORE A/AAAA records */
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
        free(fx->g[i].m);
        free(fx->g[i].h);
        rrs_free(&fx->g[i].raw[0]);
        rrs_free(&fx->g[i].raw[1]);
    }
    free(fx->g);
    free(fx->no_host_dom);
}

static bool rrs_addr_eq(int f, const struct rrs *a, const struct rrs *b, int *rc)
{
    struct aset x = {0}, y = {0};
    *rc = rrs_aset(f, a, &x);
    if (*rc == MXG_OK)
        *rc = rrs_aset(f, b, &y);
    bool eq = *rc == MXG_OK && aset_eq(&x, &y);
    aset_free(&x);
    aset_free(&y);
    return eq;
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

/* Finds the mail host for group g: the first label whose name is free, already holds g's
 * before addresses, or is a CNAME into g's moving name. Adds the host's records to the fix. */
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
        if (used || zone_of(c, h, apex, sizeof(apex)) != MXG_OK || strcmp(apex, zone) != 0)
            continue;
        struct rrs l;
        int rc = fetch(c->view, MXG_AFTER, h, NULL, &l);
        if (rc != MXG_OK)
            return rc;
        bool only_addr = true, only_cname = true;
        for (size_t i = 0; i < l.n; i++) {
            only_addr &= strcmp(l.v[i].type, "A") == 0 || strcmp(l.v[i].type, "AAAA") == 0;
            only_cname &= strcmp(l.v[i].type, "CNAME") == 0;
        }
        bool fits = l.n == 0;
        bool replace_cname = false;
        if (!fits && only_addr) {
            struct rrs hs[2] = {{0}, {0}};
            for (int f = 0; f < 2 && rc == MXG_OK; f++)
                for (size_t i = 0; rc == MXG_OK && i < l.n; i++)
                    if (strcmp(l.v[i].type, FAM_TYPE[f]) == 0)
                        rc = rrs_push(&hs[f], l.v[i].type, l.v[i].content, l.v[i].ttl);
            fits = rc == MXG_OK && rrs_addr_eq(0, &hs[0], &g->raw[0], &rc) &&
                   rrs_addr_eq(1, &hs[1], &g->raw[1], &rc);
            rrs_free(&hs[0]);
            rrs_free(&hs[1]);
        } else if (!fits && only_cname) {
            char t[NAMEBUF];
            fits = replace_cname =
                mxg_name_canon(l.v[0].content, t, sizeof(t)) == MXG_OK && strcmp(t, g->m) == 0;
        }
        if (rc != MXG_OK || !fits) {
            rrs_free(&l);
            if (rc != MXG_OK)
                return rc;
            continue;
        }
        struct mxg_rrdata *bd = NULL, *ad = NULL;
        size_t nb = 0, na = 0;
        if (replace_cname) {
            rc = rrs_data(&l, "CNAME", &bd, &nb);
            if (rc == MXG_OK)
                rc = fix_set(c->out, h, "CNAME", bd, nb, NULL, 0);
            rrdata_free(bd, nb);
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
        }
        rrs_free(&l);
        if (rc == MXG_OK && !(g->h = strdup(h)))
            rc = MXG_ENOMEM;
        return rc;
    }
    return MXG_OK; /* no label fits: g->h stays NULL */
}

/* The index of the group of moving name m with before records raw; created (and its host picked)
 * on demand. */
static int group_get(struct fixctx *fx, const char *m, const struct rrs raw[2], size_t *out)
{
    int rc = MXG_OK;
    for (size_t i = 0; i < fx->ng; i++) {
        struct hgroup *g = &fx->g[i];
        if (strcmp(g->m, m) == 0 && rrs_addr_eq(0, &g->raw[0], &raw[0], &rc) &&
            rrs_addr_eq(1, &g->raw[1], &raw[1], &rc)) {
            *out = i;
            return MXG_OK;
        }
        if (rc != MXG_OK)
            return rc;
    }
    struct hgroup *ng = realloc(fx->g, (fx->ng + 1) * sizeof(*ng));
    if (!ng)
        return MXG_ENOMEM;
    fx->g = ng;
    struct hgroup *g = &ng[fx->ng];
    memset(g, 0, sizeof(*g));
    if (!(g->m = strdup(m)))
        return MXG_ENOMEM;
    fx->ng++;
    for (int f = 0; f < 2 && rc == MXG_OK; f++)
        rc = rrs_copy(&raw[f], &g->raw[f]);
    if (rc == MXG_OK)
        rc = pick_host(fx, g);
    *out = fx->ng - 1;
    return rc;
}

/* A target of d (AFTER) whose address sets changed, with its BEFORE state. */
struct moving {
    const struct target *after;
    struct target before; /* computed on BEFORE */
};

static int fix_domain(struct fixctx *fx, struct dom *d)
{
    struct pctx *c = fx->c;
    const struct dside *a = &d->sd[MXG_AFTER];
    if (strcmp(d->apex, c->in->zone) != 0) {
        fx->no_fix = true; /* moved by a change in another zone */
        return MXG_OK;
    }
    struct moving *mv = calloc(a->nt ? a->nt : 1, sizeof(*mv));
    if (!mv)
        return MXG_ENOMEM;
    size_t nmv = 0;
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < a->nt; i++) {
        const struct target *t = &a->t[i];
        if (t->external || !t->end)
            continue;
        struct moving *m = &mv[nmv];
        m->after = t;
        rc = target_compute(c, MXG_BEFORE, t->name, &m->before);
        if (rc != MXG_OK)
            break;
        if (aset_eq(&m->before.s[0], &t->s[0]) && aset_eq(&m->before.s[1], &t->s[1])) {
            target_free(&m->before);
            continue;
        }
        nmv++;
    }
    char apex[NAMEBUF];
    for (size_t i = 0; rc == MXG_OK && i < nmv && !fx->no_fix; i++) {
        const struct target *bt = &mv[i].before;
        if (zone_of(c, mv[i].after->end, apex, sizeof(apex)) != MXG_OK ||
            strcmp(apex, c->in->zone) != 0 || aset_has_unknown(&bt->s[0]) ||
            aset_has_unknown(&bt->s[1]) || (bt->raw[0].n == 0 && bt->raw[1].n == 0))
            fx->no_fix = true;
    }
    if (nmv == 0)
        fx->no_fix = true;
    /* Hosts for each moving name, then the MX repointed to them. */
    size_t *groups = calloc(nmv ? nmv : 1, sizeof(*groups));
    if (!groups)
        rc = MXG_ENOMEM;
    bool missing = false;
    for (size_t i = 0; rc == MXG_OK && !fx->no_fix && i < nmv; i++) {
        rc = group_get(fx, mv[i].after->end, mv[i].before.raw, &groups[i]);
        if (rc == MXG_OK && !fx->g[groups[i]].h)
            missing = true;
    }
    if (rc == MXG_OK && !fx->no_fix && missing) {
        fx->no_host = true;
        if (!fx->no_host_dom && !(fx->no_host_dom = strdup(d->name)))
            rc = MXG_ENOMEM;
    }
    if (rc == MXG_OK && !fx->no_fix && !missing) {
        if (a->implicit) {
            char hc[NAMEBUF], content[NAMEBUF + 8];
            content_name(fx->g[groups[0]].h, hc, sizeof(hc));
            snprintf(content, sizeof(content), "10 %s", hc);
            uint32_t ttl = 3600;
            if (a->t[0].raw[0].n)
                ttl = a->t[0].raw[0].v[0].ttl;
            else if (a->t[0].raw[1].n)
                ttl = a->t[0].raw[1].v[0].ttl;
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
                const struct target *tt = NULL;
                if (text && mxg_name_canon(text, t, sizeof(t)) == MXG_OK)
                    tt = dside_target(a, t);
                snprintf(content, sizeof(content), "%s", cur[i].content);
                for (size_t j = 0; tt && tt->end && j < nmv; j++) {
                    if (strcmp(tt->end, mv[j].after->end) == 0) {
                        char hc[NAMEBUF];
                        content_name(fx->g[groups[j]].h, hc, sizeof(hc));
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
    free(groups);
    for (size_t i = 0; i < nmv; i++)
        target_free(&mv[i].before);
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
    int (*cb)(void *cbctx, const char *owner);
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
                        int (*cb)(void *cbctx, const char *owner), void *cbctx)
{
    const struct overlay *o = ctx;
    const struct mxg_view *b = o->base;
    if (side == MXG_BEFORE)
        return b->ops->referrers(b->ctx, side, type, target, cb, cbctx);
    struct ov_ref_ctx x = {o, type, cb, cbctx};
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

static int ov_zone_of(void *ctx, const char *name, char *apex, size_t apexlen)
{
    const struct overlay *o = ctx;
    return o->base->ops->zone_of(o->base->ctx, name, apex, apexlen);
}

static const struct mxg_view_ops OVERLAY_OPS = {
    .rrset = ov_rrset,
    .referrers = ov_referrers,
    .zone_of = ov_zone_of,
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
    struct mxg_policy_input in2 = {
        .zone = in->zone, .names = names, .n_names = n, .mode = MXG_MODE_REJECT, .slave = false};
    struct mxg_decision d2;
    int rc = evaluate(&ov, &in2, cfg, &d2);
    if (rc == MXG_OK) {
        *ok = true;
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

/* The other remedy, for a refusal caused by a move. */
static int make_remedy(struct pctx *c, struct dom *doms, size_t ndoms)
{
    const struct dom *d = NULL;
    for (size_t i = 0; i < ndoms && !d; i++)
        if (doms[i].block)
            d = &doms[i];
    if (!d)
        return MXG_OK;
    const struct dside *a = &d->sd[MXG_AFTER], *b = &d->sd[MXG_BEFORE];
    const char *m = d->name;
    for (size_t i = 0; i < a->nt; i++) {
        const struct target *bt = dside_target(b, a->t[i].name);
        if (a->t[i].end &&
            (!bt || !aset_eq(&bt->s[0], &a->t[i].s[0]) || !aset_eq(&bt->s[1], &a->t[i].s[1]))) {
            m = a->t[i].end;
            break;
        }
    }
    char apex[NAMEBUF];
    bool m_apex = zone_of(c, m, apex, sizeof(apex)) == MXG_OK && strcmp(apex, m) == 0;
    const char *label = c->cfg->n_mail_host_labels ? c->cfg->mail_host_labels[0] : "mail";
    const char *dz = strcmp(d->apex, ".") == 0 ? "" : d->apex;
    char buf[4 * NAMEBUF + 256];
    if (m_apex)
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

static int evaluate(const struct mxg_view *view, const struct mxg_policy_input *in,
                    const struct mxg_config *cfg, struct mxg_decision *out)
{
    memset(out, 0, sizeof(*out));
    struct pctx c = {view, in, cfg, out};
    struct strset cands = {0};
    struct dom *doms = NULL;
    size_t ndoms = 0;
    int rc = collect(&c, &cands);
    for (size_t i = 0; rc == MXG_OK && i < cands.n; i++) {
        char apex[NAMEBUF];
        const char *name = cands.v[i];
        rc = zone_of(&c, name, apex, sizeof(apex));
        if (rc == MXG_ENOENT) {
            rc = MXG_OK;
            continue;
        }
        if (rc != MXG_OK)
            break;
        struct dom d = {0};
        bool is_apex = strcmp(apex, name) == 0;
        d.name = strdup(name);
        d.apex = strdup(apex);
        if (!d.name || !d.apex)
            rc = MXG_ENOMEM;
        if (rc == MXG_OK)
            rc = dside_compute(&c, MXG_BEFORE, name, is_apex, &d.sd[MXG_BEFORE]);
        if (rc == MXG_OK)
            rc = dside_compute(&c, MXG_AFTER, name, is_apex, &d.sd[MXG_AFTER]);
        if (rc == MXG_OK)
            rc = judge_moves(&c, &d);
        if (rc == MXG_OK)
            rc = judge_mx_warns(&c, &d);
        if (rc == MXG_OK)
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

    bool blocking = false;
    for (size_t i = 0; i < out->n_findings; i++)
        blocking |= out->findings[i].severity == MXG_SEV_BLOCK;
    if (rc == MXG_OK) {
        if (in->mode == MXG_MODE_OFF || !blocking) {
            out->verdict =
                in->mode != MXG_MODE_OFF && out->n_findings ? MXG_VERDICT_WARN : MXG_VERDICT_ALLOW;
        } else if (in->slave || in->mode == MXG_MODE_WARN) {
            out->verdict = MXG_VERDICT_WARN;
        } else {
            bool fixed = false;
            if (in->mode == MXG_MODE_FIX)
                rc = try_fix(&c, doms, ndoms, &fixed);
            out->verdict = fixed ? MXG_VERDICT_FIX : MXG_VERDICT_REJECT;
            if (rc == MXG_OK && !fixed)
                rc = make_remedy(&c, doms, ndoms);
        }
    }
    for (size_t i = 0; i < ndoms; i++)
        dom_free(&doms[i]);
    free(doms);
    if (rc != MXG_OK)
        mxg_decision_free(out);
    return rc;
}

int mxg_policy_evaluate(const struct mxg_view *view, const struct mxg_policy_input *in,
                        const struct mxg_config *cfg, struct mxg_decision *out)
{
    if (!view || !view->ops || !in || !in->zone || !cfg || !out || (in->n_names && !in->names))
        return MXG_EINVAL;
    return evaluate(view, in, cfg, out);
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
