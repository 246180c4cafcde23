/* resolve.c -- pdns 4.7's answer to an A/AAAA query, from the view (see resolve.h).
 *
 * The steps mirror pdns/packethandler.cc (doQuestion and its helpers):
 *   retargeted: more than 10 retargets -> SERVFAIL; getAuth: the deepest served zone, none ->
 *   the answer lies outside (REFUSED, or the CNAME chain ends there);
 *   tryReferral: the deepest NS owner at or above the name, below the apex -> referral;
 *   ANY lookup at the name: data there (an empty non-terminal too) -> ALIAS (expand-alias),
 *   then CNAME (retarget), then the records of the type, else NODATA;
 *   no data: tryWildcard (closest encloser: *.parent, stopping at the apex or at an existing
 *   ancestor; a wildcard CNAME retargets), then tryDNAME (dname-processing; the closest DNAME
 *   from the name up to the apex), else NXDOMAIN. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mxg/array.h"
#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/resolve.h"

#define NAMEBUF MXG_NAME_TEXT_MAX

/* ---- records at a name ------------------------------------------------------------------- */

struct rec {
    char *type;
    char *content;
};

struct recs {
    struct rec *v;
    size_t n, cap;
    bool ent; /* a stored empty non-terminal row */
};

static int recs_cb(void *ctx, const struct mxg_record *r)
{
    struct recs *l = ctx;
    if (strcmp(r->type, "ENT") == 0) {
        l->ent = true;
        return 0;
    }
    if (MXG_ARRAY_RESERVE(l->v, l->cap, l->n + 1, 8) != MXG_OK)
        return MXG_ENOMEM;
    struct rec *x = &l->v[l->n];
    x->type = strdup(r->type);
    x->content = strdup(r->content);
    if (!x->type || !x->content) {
        free(x->type);
        free(x->content);
        return MXG_ENOMEM;
    }
    l->n++;
    return 0;
}

static void recs_free(struct recs *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].type);
        free(l->v[i].content);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int fetch(const struct mxg_view *v, enum mxg_side side, const char *name, const char *type,
                 struct recs *out)
{
    memset(out, 0, sizeof(*out));
    int rc = v->ops->rrset(v->ctx, side, name, type, recs_cb, out);
    if (rc != MXG_OK)
        recs_free(out);
    return rc;
}

static const struct rec *recs_first(const struct recs *l, const char *type)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].type, type) == 0)
            return &l->v[i];
    return NULL;
}

/* ---- names ------------------------------------------------------------------------------- */

/* Pointer just past the first n labels of a canonical name (escape-aware). */
static const char *skip_labels(const char *s, int n)
{
    const char *p = s;
    for (int i = 0; i < n && *p; i++) {
        while (*p && *p != '.') {
            if (*p == '\\' && p[1])
                p++;
            p++;
        }
        if (*p == '.')
            p++;
    }
    return p;
}

/* The name DNAME owner -> dtarget synthesises for name (below owner): the labels of name above
 * owner, then dtarget. MXG_ERANGE when the result is too long (pdns: YXDOMAIN). */
static int dname_synth(const char *name, const char *owner, const char *dtarget, char *out,
                       size_t outlen)
{
    int nl = mxg_name_labels(name), ol = mxg_name_labels(owner);
    if (nl < 0 || ol < 0 || nl <= ol)
        return MXG_EINVAL;
    const char *end = skip_labels(name, nl - ol);
    size_t plen = (size_t)(end - name);
    char buf[2 * NAMEBUF];
    if (plen + strlen(dtarget) + 1 > sizeof(buf))
        return MXG_ERANGE;
    memcpy(buf, name, plen);
    if (strcmp(dtarget, ".") == 0)
        buf[plen] = '\0';
    else
        snprintf(buf + plen, sizeof(buf) - plen, "%s", dtarget);
    return mxg_name_canon(buf, out, outlen);
}

static void wildcard_of(const char *anc, char *out, size_t outlen)
{
    snprintf(out, outlen, "*.%s", strcmp(anc, ".") == 0 ? "" : anc);
}

/* ---- the result -------------------------------------------------------------------------- */

static int add_step(struct mxg_resolution *r, const char *name, enum mxg_step_role role)
{
    struct mxg_res_step *ns = realloc(r->steps, (r->n_steps + 1) * sizeof(*ns));
    if (!ns)
        return MXG_ENOMEM;
    r->steps = ns;
    if (!(ns[r->n_steps].name = strdup(name)))
        return MXG_ENOMEM;
    ns[r->n_steps].role = role;
    r->n_steps++;
    return MXG_OK;
}

static int set_unknown(struct mxg_resolution *r, const char *identity, bool outside)
{
    r->kind = MXG_RES_UNKNOWN;
    r->outside = outside;
    free(r->unknown);
    r->unknown = strdup(identity);
    return r->unknown ? MXG_OK : MXG_ENOMEM;
}

static int set_owner(struct mxg_resolution *r, const char *owner)
{
    free(r->owner);
    r->owner = strdup(owner);
    return r->owner ? MXG_OK : MXG_ENOMEM;
}

static int add_addr(struct mxg_resolution *r, const uint8_t b[16])
{
    size_t len = r->family == 4 ? 4 : 16;
    for (size_t i = 0; i < r->n_addrs; i++)
        if (memcmp(r->addrs[i], b, len) == 0)
            return MXG_OK;
    uint8_t(*na)[16] = realloc(r->addrs, (r->n_addrs + 1) * sizeof(*na));
    if (!na)
        return MXG_ENOMEM;
    r->addrs = na;
    memset(na[r->n_addrs], 0, 16);
    memcpy(na[r->n_addrs], b, len);
    r->n_addrs++;
    return MXG_OK;
}

/* The answer from the records of the asked type (and LUA) at owner. */
static int answer_from(struct mxg_resolution *r, const struct recs *l, const char *owner)
{
    const char *want = r->family == 4 ? "A" : "AAAA";
    for (size_t i = 0; i < l->n; i++) {
        const struct rec *x = &l->v[i];
        if (strcmp(x->type, "LUA") == 0) {
            size_t k = strcspn(x->content, " \t");
            if (k == strlen(want) && strncasecmp(x->content, want, k) == 0) {
                char id[NAMEBUF + 64];
                snprintf(id, sizeof(id), "LUA %s %.*s", owner, 40, x->content);
                int rc = set_owner(r, owner);
                return rc == MXG_OK ? set_unknown(r, id, false) : rc;
            }
        }
    }
    bool any = false;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].type, want) != 0)
            continue;
        uint8_t b[16] = {0};
        if (inet_pton(r->family == 4 ? AF_INET : AF_INET6, l->v[i].content, b) != 1)
            continue;
        int rc = add_addr(r, b);
        if (rc != MXG_OK)
            return rc;
        any = true;
    }
    r->kind = any ? MXG_RES_ADDRESSES : MXG_RES_NONE;
    return any ? set_owner(r, owner) : MXG_OK;
}

/* ---- the walk ---------------------------------------------------------------------------- */

struct walk {
    const struct mxg_view *v;
    enum mxg_side side;
    const struct mxg_resolve_opts *o;
    int alias_depth;
};

static int resolve_in(struct walk *w, const char *qname, struct mxg_resolution *r);

/* The deepest NS owner strictly below apex at or above name, into cut (""" when none). */
static int find_cut(struct walk *w, const char *name, const char *apex, char *cut, size_t cutlen,
                    char *nsset, size_t nslen)
{
    char cur[NAMEBUF], parent[NAMEBUF];
    cut[0] = '\0';
    snprintf(cur, sizeof(cur), "%s", name);
    for (int depth = 0; depth < 128 && strcmp(cur, apex) != 0; depth++) {
        struct recs ns;
        int rc = fetch(w->v, w->side, cur, "NS", &ns);
        if (rc != MXG_OK)
            return rc;
        if (ns.n > 0) {
            snprintf(cut, cutlen, "%s", cur);
            /* The identity of the referral: the cut and its NS set (sorted). */
            char **t = calloc(ns.n, sizeof(*t));
            if (!t) {
                recs_free(&ns);
                return MXG_ENOMEM;
            }
            for (size_t i = 0; i < ns.n; i++)
                t[i] = ns.v[i].content;
            for (size_t i = 1; i < ns.n; i++)
                for (size_t j = i; j > 0 && strcasecmp(t[j - 1], t[j]) > 0; j--) {
                    char *x = t[j];
                    t[j] = t[j - 1];
                    t[j - 1] = x;
                }
            size_t off = (size_t)snprintf(nsset, nslen, "delegation %s NS", cur);
            for (size_t i = 0; i < ns.n && off < nslen; i++)
                off += (size_t)snprintf(nsset + off, nslen - off, "%s%s", i ? "," : " ", t[i]);
            free(t);
            recs_free(&ns);
            return MXG_OK;
        }
        recs_free(&ns);
        if (mxg_name_parent(cur, parent, sizeof(parent)) != MXG_OK)
            break;
        memcpy(cur, parent, sizeof(cur));
    }
    return MXG_OK;
}

static int exists(struct walk *w, const char *name, bool *out)
{
    struct recs l;
    int rc = fetch(w->v, w->side, name, NULL, &l);
    if (rc != MXG_OK)
        return rc;
    *out = l.n > 0 || l.ent;
    recs_free(&l);
    if (*out)
        return MXG_OK;
    return w->v->ops->has_below(w->v->ctx, w->side, name, out);
}

/* An ALIAS at owner: its target's addresses (pdns asks its resolver, which starts afresh). */
static int expand_alias(struct walk *w, const char *owner, const char *content,
                        struct mxg_resolution *r)
{
    char t[NAMEBUF];
    if (mxg_name_canon(content, t, sizeof(t)) != MXG_OK) {
        r->kind = MXG_RES_NONE;
        return MXG_OK;
    }
    int rc = add_step(r, t, MXG_STEP_ALIAS);
    if (rc != MXG_OK)
        return rc;
    if (w->alias_depth >= MXG_RESOLVE_ALIAS_DEPTH) {
        r->kind = MXG_RES_SERVFAIL;
        return MXG_OK;
    }
    (void)owner;
    struct mxg_resolution sub = {.family = r->family};
    w->alias_depth++;
    rc = resolve_in(w, t, &sub);
    w->alias_depth--;
    if (rc != MXG_OK) {
        mxg_resolution_free(&sub);
        return rc;
    }
    /* The nested path continues this one (its first step is the ALIAS target itself). */
    for (size_t i = 1; rc == MXG_OK && i < sub.n_steps; i++)
        rc = add_step(r, sub.steps[i].name, sub.steps[i].role);
    r->kind = sub.kind == MXG_RES_SERVFAIL ? MXG_RES_NONE : sub.kind;
    r->outside = sub.outside;
    for (size_t i = 0; rc == MXG_OK && i < sub.n_addrs; i++)
        rc = add_addr(r, sub.addrs[i]);
    if (rc == MXG_OK && sub.unknown)
        rc = set_unknown(r, sub.unknown, sub.outside);
    if (rc == MXG_OK && sub.owner)
        rc = set_owner(r, sub.owner);
    mxg_resolution_free(&sub);
    return rc;
}

/* What a step of the walk did: nothing, retargeted (target holds the new name), answered. */
enum outcome { NOTHING, RETARGETED, ANSWERED };

/* pdns's tryWildcard: the closest encloser's wildcard, *.parent upwards, stopping at the apex or
 * at an existing ancestor; a wildcard CNAME retargets, other data answers. */
static int try_wildcard(struct walk *w, struct mxg_resolution *r, char *target, const char *apex,
                        enum outcome *o)
{
    const struct mxg_view *v = w->v;
    char cur[NAMEBUF], parent[NAMEBUF], next[NAMEBUF];
    *o = NOTHING;
    if (strcmp(target, apex) == 0 || mxg_name_parent(target, cur, sizeof(cur)) != MXG_OK)
        return MXG_OK;
    for (int depth = 0; depth < 128; depth++) {
        char wc[NAMEBUF + 4];
        wildcard_of(cur, wc, sizeof(wc));
        struct recs wl;
        int rc = fetch(v, w->side, wc, NULL, &wl);
        if (rc != MXG_OK)
            return rc;
        bool wdata = wl.n > 0 || wl.ent;
        if (!wdata && (rc = v->ops->has_below(v->ctx, w->side, wc, &wdata)) != MXG_OK) {
            recs_free(&wl);
            return rc;
        }
        if (wdata) {
            rc = add_step(r, wc, MXG_STEP_WILDCARD);
            const struct rec *cname = recs_first(&wl, "CNAME");
            *o = ANSWERED;
            if (rc == MXG_OK && cname &&
                mxg_name_canon(cname->content, next, sizeof(next)) == MXG_OK) {
                memcpy(target, next, strlen(next) + 1);
                rc = add_step(r, target, MXG_STEP_CNAME);
                *o = RETARGETED;
            } else if (rc == MXG_OK && cname) {
                r->kind = MXG_RES_NONE;
            } else if (rc == MXG_OK) {
                rc = answer_from(r, &wl, wc);
            }
            recs_free(&wl);
            return rc;
        }
        recs_free(&wl);
        bool anc = false;
        if (strcmp(cur, apex) == 0 || (rc = exists(w, cur, &anc)) != MXG_OK || anc ||
            mxg_name_parent(cur, parent, sizeof(parent)) != MXG_OK)
            return rc;
        memcpy(cur, parent, sizeof(cur));
    }
    return MXG_OK;
}

/* pdns's tryDNAME: the closest DNAME from the name up to the apex rewrites it (a name too long
 * for the rewrite is YXDOMAIN: no address). */
static int try_dname(struct walk *w, struct mxg_resolution *r, char *target, const char *apex,
                     enum outcome *o)
{
    char cur[NAMEBUF], parent[NAMEBUF], next[NAMEBUF];
    *o = NOTHING;
    memcpy(cur, target, strlen(target) + 1);
    for (int depth = 0; depth < 128; depth++) {
        struct recs dn;
        int rc = fetch(w->v, w->side, cur, "DNAME", &dn);
        if (rc != MXG_OK)
            return rc;
        if (dn.n > 0 && strcmp(cur, target) != 0) {
            char dt[NAMEBUF];
            rc = add_step(r, cur, MXG_STEP_DNAME);
            int src = mxg_name_canon(dn.v[dn.n - 1].content, dt, sizeof(dt));
            if (rc == MXG_OK && src == MXG_OK)
                src = dname_synth(target, cur, dt, next, sizeof(next));
            recs_free(&dn);
            if (rc != MXG_OK)
                return rc;
            if (src != MXG_OK) {
                r->kind = MXG_RES_NONE; /* YXDOMAIN */
                *o = ANSWERED;
                return MXG_OK;
            }
            memcpy(target, next, strlen(next) + 1);
            *o = RETARGETED;
            return add_step(r, target, MXG_STEP_SYNTH);
        }
        recs_free(&dn);
        if (strcmp(cur, apex) == 0 || mxg_name_parent(cur, parent, sizeof(parent)) != MXG_OK)
            return MXG_OK;
        memcpy(cur, parent, sizeof(cur));
    }
    return MXG_OK;
}

static int resolve_in(struct walk *w, const char *qname, struct mxg_resolution *r)
{
    const struct mxg_view *v = w->v;
    char target[NAMEBUF], apex[NAMEBUF], next[NAMEBUF];
    snprintf(target, sizeof(target), "%s", qname);
    int rc = add_step(r, target, MXG_STEP_NAME);
    for (int retargets = 0; rc == MXG_OK; retargets++) {
        if (retargets > MXG_RESOLVE_RETARGETS_MAX) {
            r->kind = MXG_RES_SERVFAIL;
            return MXG_OK;
        }
        rc = v->ops->zone_of(v->ctx, w->side, target, apex, sizeof(apex));
        if (rc == MXG_ENOENT) {
            char id[NAMEBUF + 16];
            snprintf(id, sizeof(id), "outside %s", target);
            rc = add_step(r, target, MXG_STEP_OUTSIDE);
            return rc == MXG_OK ? set_unknown(r, id, true) : rc;
        }
        if (rc != MXG_OK)
            return rc;
        char cut[NAMEBUF], nsset[2 * NAMEBUF];
        if ((rc = find_cut(w, target, apex, cut, sizeof(cut), nsset, sizeof(nsset))) != MXG_OK)
            return rc;
        if (cut[0]) {
            rc = add_step(r, cut, MXG_STEP_CUT);
            return rc == MXG_OK ? set_unknown(r, nsset, false) : rc;
        }
        struct recs l;
        if ((rc = fetch(v, w->side, target, NULL, &l)) != MXG_OK)
            return rc;
        bool data = l.n > 0 || l.ent;
        if (!data && (rc = v->ops->has_below(v->ctx, w->side, target, &data)) != MXG_OK) {
            recs_free(&l);
            return rc;
        }
        if (data) {
            const char *want = r->family == 4 ? "A" : "AAAA";
            const struct rec *alias = w->o->expand_alias ? recs_first(&l, "ALIAS") : NULL;
            const struct rec *cname = recs_first(&l, "CNAME");
            if (alias && !recs_first(&l, want)) {
                rc = expand_alias(w, target, alias->content, r);
                recs_free(&l);
                return rc;
            }
            if (cname) {
                rc = mxg_name_canon(cname->content, next, sizeof(next));
                recs_free(&l);
                if (rc != MXG_OK) {
                    r->kind = MXG_RES_NONE;
                    return MXG_OK;
                }
                memcpy(target, next, strlen(next) + 1);
                rc = add_step(r, target, MXG_STEP_CNAME);
                continue;
            }
            rc = answer_from(r, &l, target);
            recs_free(&l);
            return rc;
        }
        recs_free(&l);
        /* No data at the name: the wildcard (tryWildcard), then a DNAME above it (tryDNAME). */
        enum outcome o = NOTHING;
        if ((rc = try_wildcard(w, r, target, apex, &o)) != MXG_OK || o == ANSWERED)
            return rc;
        if (o == NOTHING && w->o->dname_processing &&
            ((rc = try_dname(w, r, target, apex, &o)) != MXG_OK || o == ANSWERED))
            return rc;
        if (o == NOTHING) {
            r->kind = MXG_RES_NONE; /* NXDOMAIN */
            return MXG_OK;
        }
    }
    return rc;
}

int mxg_resolve(const struct mxg_view *view, enum mxg_side side, const char *name, int family,
                const struct mxg_resolve_opts *opts, struct mxg_resolution *out)
{
    memset(out, 0, sizeof(*out));
    if (!view || !view->ops || !name || !opts || (family != 4 && family != 6))
        return MXG_EINVAL;
    out->family = family;
    out->kind = MXG_RES_NONE;
    struct walk w = {.v = view, .side = side, .o = opts};
    int rc = resolve_in(&w, name, out);
    if (rc != MXG_OK)
        mxg_resolution_free(out);
    return rc;
}

void mxg_resolution_free(struct mxg_resolution *r)
{
    if (!r)
        return;
    free(r->addrs);
    free(r->unknown);
    free(r->owner);
    for (size_t i = 0; i < r->n_steps; i++)
        free(r->steps[i].name);
    free(r->steps);
    int fam = r->family;
    memset(r, 0, sizeof(*r));
    r->family = fam;
}

const char *mxg_res_kind_name(enum mxg_res_kind k)
{
    switch (k) {
    case MXG_RES_ADDRESSES:
        return "addresses";
    case MXG_RES_UNKNOWN:
        return "unknown";
    case MXG_RES_NONE:
        return "none";
    case MXG_RES_SERVFAIL:
        return "servfail";
    }
    return "unknown";
}

const char *mxg_step_role_name(enum mxg_step_role r)
{
    static const char *const names[] = {"name",     "cname", "dname", "synth",
                                        "wildcard", "alias", "cut",   "outside"};
    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}
