/* alloc_policy.c -- sweep operations over policy.c: mxg_policy_evaluate (judge, and in fix mode
 * the fix and its verification) over the zones and change sets of tests/unit/test_policy.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxg/config.h"
#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/policy.h"
#include "sweep.h"

/* ---- a fake view: two record tables and a list of zone apexes (as in test_policy.c) ------- */

#define MAXREC 64

struct frec {
    char name[128];
    char type[16];
    char content[128];
    uint32_t ttl;
};

struct fake {
    struct frec rec[2][MAXREC];
    size_t n[2];
    const char *zones[8];
    size_t nz;
};

static struct fake F;

static void add_side(int side, const char *name, const char *type, const char *content)
{
    if (F.n[side] == MAXREC)
        abort();
    struct frec *r = &F.rec[side][F.n[side]++];
    snprintf(r->name, sizeof(r->name), "%s", name);
    snprintf(r->type, sizeof(r->type), "%s", type);
    snprintf(r->content, sizeof(r->content), "%s", content);
    r->ttl = 3600;
}

static void both(const char *name, const char *type, const char *content)
{
    add_side(MXG_BEFORE, name, type, content);
    add_side(MXG_AFTER, name, type, content);
}

static void del_after(const char *name, const char *type)
{
    size_t k = 0;
    for (size_t i = 0; i < F.n[MXG_AFTER]; i++) {
        struct frec *r = &F.rec[MXG_AFTER][i];
        if (strcmp(r->name, name) == 0 && (!type || strcmp(r->type, type) == 0))
            continue;
        F.rec[MXG_AFTER][k++] = *r;
    }
    F.n[MXG_AFTER] = k;
}

static void set_after(const char *name, const char *type, ...)
{
    del_after(name, type);
    va_list ap;
    va_start(ap, type);
    for (const char *c = va_arg(ap, const char *); c; c = va_arg(ap, const char *))
        add_side(MXG_AFTER, name, type, c);
    va_end(ap);
}

static int f_rrset(void *ctx, enum mxg_side side, const char *name, const char *type,
                   mxg_record_cb cb, void *cbctx)
{
    struct fake *f = ctx;
    for (size_t i = 0; i < f->n[side]; i++) {
        const struct frec *r = &f->rec[side][i];
        if (strcmp(r->name, name) != 0 || (type && strcmp(r->type, type) != 0))
            continue;
        struct mxg_record rec = {
            .name = r->name, .type = r->type, .content = r->content, .ttl = r->ttl, .auth = true};
        int rc = cb(cbctx, &rec);
        if (rc)
            return rc;
    }
    return MXG_OK;
}

static int target_of(const char *type, const char *content, char *out, size_t len)
{
    const char *p = content;
    if (strcmp(type, "MX") == 0) {
        while (*p >= '0' && *p <= '9')
            p++;
        while (*p == ' ')
            p++;
    }
    return mxg_name_canon(p, out, len);
}

static int f_referrers(void *ctx, enum mxg_side side, const char *type, const char *target,
                       int (*cb)(void *cbctx, const char *owner), void *cbctx)
{
    struct fake *f = ctx;
    for (size_t i = 0; i < f->n[side]; i++) {
        const struct frec *r = &f->rec[side][i];
        char t[MXG_NAME_TEXT_MAX];
        if (strcmp(r->type, type) != 0 || target_of(type, r->content, t, sizeof(t)) != MXG_OK ||
            strcmp(t, target) != 0)
            continue;
        int rc = cb(cbctx, r->name);
        if (rc)
            return rc;
    }
    return MXG_OK;
}

static int f_zone_of(void *ctx, const char *name, char *apex, size_t len)
{
    struct fake *f = ctx;
    const char *best = NULL;
    for (size_t i = 0; i < f->nz; i++)
        if (mxg_name_is_below(name, f->zones[i]) && (!best || strlen(f->zones[i]) > strlen(best)))
            best = f->zones[i];
    if (!best)
        return MXG_ENOENT;
    snprintf(apex, len, "%s", best);
    return MXG_OK;
}

static const struct mxg_view_ops FAKE_OPS = {f_rrset, f_referrers, f_zone_of};

static bool has_rec(int side, const struct frec *like)
{
    for (size_t i = 0; i < F.n[side]; i++) {
        const struct frec *r = &F.rec[side][i];
        if (strcmp(r->name, like->name) == 0 && strcmp(r->type, like->type) == 0 &&
            strcmp(r->content, like->content) == 0 && r->ttl == like->ttl)
            return true;
    }
    return false;
}

/* Touched names: every name with a record in one state only. */
static size_t touched(const char **names, size_t max)
{
    size_t n = 0;
    for (int side = 0; side < 2; side++)
        for (size_t i = 0; i < F.n[side]; i++) {
            const struct frec *r = &F.rec[side][i];
            if (has_rec(!side, r))
                continue;
            bool seen = false;
            for (size_t j = 0; j < n && !seen; j++)
                seen = strcmp(names[j], r->name) == 0;
            if (!seen && n < max)
                names[n++] = r->name;
        }
    return n;
}

/* ---- scenarios ------------------------------------------------------------------------------ */

static void classic(void)
{
    both("example.com.", "A", "192.0.2.1");
    both("example.com.", "MX", "10 example.com");
    both("www.example.com.", "A", "192.0.2.1");
}

static void s_apex_moved(void)
{
    classic();
    set_after("example.com.", "A", "203.0.113.10", NULL);
}

static void s_mail_cname_apex(void)
{
    both("example.com.", "A", "192.0.2.1");
    both("example.com.", "MX", "10 mail.example.com");
    both("mail.example.com.", "CNAME", "example.com");
    set_after("example.com.", "A", "203.0.113.10", NULL);
}

static void s_implicit(void)
{
    both("example.com.", "A", "192.0.2.1");
    both("www.example.com.", "A", "192.0.2.1");
    set_after("example.com.", "A", "203.0.113.10", NULL);
}

static void s_shared_host(void)
{
    F.zones[F.nz++] = "provider.example.";
    F.zones[F.nz++] = "customer.test.";
    both("mx1.provider.example.", "A", "192.0.2.25");
    both("customer.test.", "MX", "10 mx1.provider.example");
    both("customer.test.", "A", "198.51.100.80");
    both("example.com.", "MX", "10 mx1.provider.example");
    set_after("mx1.provider.example.", "A", "203.0.113.10", NULL);
}

static void s_a_and_aaaa(void)
{
    classic();
    both("example.com.", "AAAA", "2001:db8::1");
    set_after("example.com.", "A", "203.0.113.10", NULL);
    del_after("example.com.", "AAAA");
}

static void s_fix_mail_taken(void)
{
    classic();
    both("mail.example.com.", "TXT", "\"webmail\"");
    both("mx.example.com.", "A", "192.0.2.1");
    set_after("example.com.", "A", "203.0.113.10", NULL);
}

static void s_fix_cname_replaced(void)
{
    classic();
    both("mail.example.com.", "CNAME", "example.com");
    set_after("example.com.", "A", "203.0.113.10", NULL);
}

static void s_fix_no_host(void)
{
    classic();
    both("mail.example.com.", "TXT", "\"x\"");
    both("mx.example.com.", "A", "198.51.100.1");
    both("smtp.example.com.", "CNAME", "www.example.com");
    both("mail1.example.com.", "AAAA", "2001:db8::5");
    set_after("example.com.", "A", "203.0.113.10", NULL);
}

static void s_fix_shared_target(void)
{
    classic();
    both("sub.example.com.", "MX", "10 example.com");
    both("sub.example.com.", "MX", "20 www.example.com");
    both("sub2.example.com.", "A", "192.0.2.5");
    both("sub2.example.com.", "MX", "10 sub2.example.com");
    set_after("example.com.", "A", "203.0.113.10", NULL);
    set_after("sub2.example.com.", "A", "203.0.113.11", NULL);
}

static void s_alias(void)
{
    F.zones[F.nz++] = "example.net.";
    both("cdn.example.net.", "A", "203.0.113.10");
    both("cdn.example.net.", "AAAA", "2001:db8:cd0::1");
    classic();
    del_after("example.com.", "A");
    set_after("example.com.", "ALIAS", "cdn.example.net", NULL);
}

static void s_alias_repointed(void)
{
    F.zones[F.nz++] = "example.net.";
    both("web.example.net.", "A", "198.51.100.9");
    both("www.example.net.", "CNAME", "web.example.net");
    both("example.com.", "ALIAS", "www.example.net");
    both("example.com.", "MX", "10 example.com");
    both("example.com.", "LUA", "A \"pickrandom({'192.0.2.1'})\"");
    set_after("web.example.net.", "A", "203.0.113.10", NULL);
}

static void s_mx_warns(void)
{
    classic();
    both("mail.example.com.", "CNAME", "example.com");
    set_after("example.com.", "MX", "0 .", "10 mail.example.com", "20 backup.example.com",
              "30 192.0.2.1", NULL);
}

static void s_spf(void)
{
    classic();
    both("example.com.", "TXT", "\"v=spf1 ip4:198.51.100.0/24 \" \"mx/24 a:example.com -all\"");
    both("example.com.", "SPF", "\"v=spf1 +a -all\"");
    set_after("example.com.", "A", "203.0.113.10", NULL);
}

static void s_subdomain(void)
{
    classic();
    both("sub.example.com.", "A", "192.0.2.5");
    both("sub.example.com.", "MX", "10 sub.example.com");
    set_after("sub.example.com.", "A", "203.0.113.10", NULL);
}

struct pol_op {
    const char *name;
    void (*build)(void);
    const char *config;
    const char *zone;
    enum mxg_mode mode;
    bool slave;
    /* state */
    struct mxg_config cfg;
    struct mxg_decision dec;
    const char *names[2 * MAXREC];
    struct mxg_policy_input in;
    char ref[16384];
    bool have_ref;
};

#define P(n, b, c, z, m, s)                                                                        \
    {                                                                                              \
        .name = (n), .build = (b), .config = (c), .zone = (z), .mode = (m), .slave = (s)           \
    }
static struct pol_op POLICIES[] = {
    P("apex moved, reject", s_apex_moved, "", "example.com.", MXG_MODE_REJECT, false),
    P("apex moved, fix", s_apex_moved, "", "example.com.", MXG_MODE_FIX, false),
    P("apex moved, warn", s_apex_moved, "", "example.com.", MXG_MODE_WARN, false),
    P("apex moved, slave", s_apex_moved, "", "example.com.", MXG_MODE_FIX, true),
    P("mail CNAME @, fix", s_mail_cname_apex, "", "example.com.", MXG_MODE_FIX, false),
    P("implicit MX yes, fix", s_implicit, "implicit-mx=yes\n", "example.com.", MXG_MODE_FIX, false),
    P("implicit MX warn", s_implicit, "", "example.com.", MXG_MODE_REJECT, false),
    P("shared mail host, fix", s_shared_host, "", "provider.example.", MXG_MODE_FIX, false),
    P("A and AAAA apart, fix", s_a_and_aaaa, "", "example.com.", MXG_MODE_FIX, false),
    P("fix, mail label taken", s_fix_mail_taken, "", "example.com.", MXG_MODE_FIX, false),
    P("fix, mail CNAME replaced", s_fix_cname_replaced, "", "example.com.", MXG_MODE_FIX, false),
    P("fix, no host", s_fix_no_host, "", "example.com.", MXG_MODE_FIX, false),
    P("fix, shared targets", s_fix_shared_target, "", "example.com.", MXG_MODE_FIX, false),
    P("ALIAS, proxy", s_alias, "classify=proxy\nproxy-ranges=203.0.113.0/24\n", "example.com.",
      MXG_MODE_FIX, false),
    P("ALIAS, strict", s_alias, "", "example.com.", MXG_MODE_REJECT, false),
    P("ALIAS target repointed", s_alias_repointed, "classify=proxy\nproxy-ranges=203.0.113.0/24\n",
      "example.net.", MXG_MODE_FIX, false),
    P("MX warn rules", s_mx_warns, "rule-severity=mx-cname:block\n", "example.com.", MXG_MODE_FIX,
      false),
    P("SPF moved", s_spf, "", "example.com.", MXG_MODE_WARN, false),
    P("MX at a sub-domain, fix", s_subdomain, "mail-ranges=192.0.2.0/24\n", "example.com.",
      MXG_MODE_FIX, false),
};

static void pol_setup(void *arg)
{
    struct pol_op *p = arg;
    char err[256];
    memset(&F, 0, sizeof(F));
    F.zones[F.nz++] = "example.com.";
    p->build();
    if (mxg_config_load_string(p->config, "sweep", &p->cfg, err, sizeof(err)) != MXG_OK) {
        fprintf(stderr, "alloc_sweep: config: %s\n", err);
        exit(2);
    }
    p->in = (struct mxg_policy_input){.zone = p->zone,
                                      .names = p->names,
                                      .n_names = touched(p->names, (size_t)2 * MAXREC),
                                      .mode = p->mode,
                                      .slave = p->slave};
}

static int pol_run(void *arg)
{
    struct pol_op *p = arg;
    struct mxg_view view = {&FAKE_OPS, &F};
    return mxg_policy_evaluate(&view, &p->in, &p->cfg, &p->dec);
}

/* The whole decision as text. */
static void signature(const struct mxg_decision *d, char *buf, size_t len)
{
    size_t o = 0;
#define OUT(...)                                                                                   \
    do {                                                                                           \
        int w_ = snprintf(buf + o, o < len ? len - o : 0, __VA_ARGS__);                            \
        o += w_ > 0 ? (size_t)w_ : 0;                                                              \
    } while (0)
    OUT("%s\n", mxg_verdict_name(d->verdict));
    for (size_t i = 0; i < d->n_findings; i++) {
        const struct mxg_finding *f = &d->findings[i];
        OUT("finding %s %s %s %s:", f->rule, mxg_severity_name(f->severity), f->name, f->family);
        for (size_t j = 0; j < f->n_old; j++)
            OUT(" old=%s", f->old_values[j]);
        for (size_t j = 0; j < f->n_new; j++)
            OUT(" new=%s", f->new_values[j]);
        OUT(" (%s)\n", f->reason ? f->reason : "-");
    }
    for (size_t i = 0; i < d->n_fix; i++) {
        const struct mxg_rrset_change *c = &d->fix[i];
        OUT("fix %s %s:", c->name, c->type);
        for (size_t j = 0; j < c->n_before; j++)
            OUT(" -%s/%u", c->before[j].content, c->before[j].ttl);
        for (size_t j = 0; j < c->n_after; j++)
            OUT(" +%s/%u", c->after[j].content, c->after[j].ttl);
        OUT("\n");
    }
    OUT("remedy %s\n", d->remedy ? d->remedy : "-");
#undef OUT
}

static const char *pol_check(void *arg, int rc)
{
    struct pol_op *p = arg;
    if (rc != MXG_OK) {
        const struct mxg_decision *d = &p->dec;
        bool empty = d->verdict == MXG_VERDICT_ALLOW && !d->findings && d->n_findings == 0 &&
                     !d->fix && d->n_fix == 0 && !d->remedy;
        return empty ? NULL : "a failed evaluation left a decision";
    }
    char sig[sizeof(p->ref)];
    signature(&p->dec, sig, sizeof(sig));
    if (!p->have_ref) {
        memcpy(p->ref, sig, sizeof(sig));
        p->have_ref = true;
        return NULL;
    }
    return strcmp(sig, p->ref) == 0
               ? NULL
               : sweep_msg("the decision differs from the one without failures:\n%s----\n%s", sig,
                           p->ref);
}

static void pol_cleanup(void *arg)
{
    struct pol_op *p = arg;
    mxg_decision_free(&p->dec);
    mxg_config_free(&p->cfg);
}

void policy_ops(void)
{
    for (size_t i = 0; i < sizeof(POLICIES) / sizeof(POLICIES[0]); i++) {
        static char names[sizeof(POLICIES) / sizeof(POLICIES[0])][80];
        snprintf(names[i], sizeof(names[i]), "policy %s", POLICIES[i].name);
        struct sweep_op op = {.name = names[i],
                              .arg = &POLICIES[i],
                              .setup = pol_setup,
                              .run = pol_run,
                              .check = pol_check,
                              .cleanup = pol_cleanup,
                              .fail_rc = MXG_ENOMEM};
        sweep_add(&op);
    }
}

int policy_sample(struct mxg_decision *out)
{
    struct pol_op *p = &POLICIES[1]; /* apex moved, fix: findings, fix records */
    pol_setup(p);
    int rc = pol_run(p);
    *out = p->dec;
    memset(&p->dec, 0, sizeof(p->dec));
    mxg_config_free(&p->cfg);
    return rc;
}
