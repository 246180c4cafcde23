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

#include "fake_view.h"
#include "sweep.h"

/* ---- the fake view (tests/support/fake_view.h) ---------------------------------------------- */

static struct fake_view F;

/* ---- scenarios ------------------------------------------------------------------------------ */

static void classic(void)
{
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    fake_both(&F, "example.com.", "MX", "10 example.com");
    fake_both(&F, "www.example.com.", "A", "192.0.2.1");
}

static void s_apex_moved(void)
{
    classic();
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
}

static void s_mail_cname_apex(void)
{
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    fake_both(&F, "example.com.", "MX", "10 mail.example.com");
    fake_both(&F, "mail.example.com.", "CNAME", "example.com");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
}

static void s_implicit(void)
{
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    fake_both(&F, "www.example.com.", "A", "192.0.2.1");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
}

static void s_shared_host(void)
{
    F.zones[F.nz++] = "provider.example.";
    F.zones[F.nz++] = "customer.test.";
    fake_both(&F, "mx1.provider.example.", "A", "192.0.2.25");
    fake_both(&F, "customer.test.", "MX", "10 mx1.provider.example");
    fake_both(&F, "customer.test.", "A", "198.51.100.80");
    fake_both(&F, "example.com.", "MX", "10 mx1.provider.example");
    fake_set_after(&F, "mx1.provider.example.", "A", "203.0.113.10", NULL);
}

static void s_a_and_aaaa(void)
{
    classic();
    fake_both(&F, "example.com.", "AAAA", "2001:db8::1");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    fake_del_after(&F, "example.com.", "AAAA");
}

static void s_fix_mail_taken(void)
{
    classic();
    fake_both(&F, "mail.example.com.", "TXT", "\"webmail\"");
    fake_both(&F, "mx.example.com.", "A", "192.0.2.1");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
}

static void s_fix_cname_replaced(void)
{
    classic();
    fake_both(&F, "mail.example.com.", "CNAME", "example.com");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
}

static void s_fix_no_host(void)
{
    classic();
    fake_both(&F, "mail.example.com.", "TXT", "\"x\"");
    fake_both(&F, "mx.example.com.", "A", "198.51.100.1");
    fake_both(&F, "smtp.example.com.", "CNAME", "www.example.com");
    fake_both(&F, "mail1.example.com.", "AAAA", "2001:db8::5");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
}

static void s_fix_shared_target(void)
{
    classic();
    fake_both(&F, "sub.example.com.", "MX", "10 example.com");
    fake_both(&F, "sub.example.com.", "MX", "20 www.example.com");
    fake_both(&F, "sub2.example.com.", "A", "192.0.2.5");
    fake_both(&F, "sub2.example.com.", "MX", "10 sub2.example.com");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    fake_set_after(&F, "sub2.example.com.", "A", "203.0.113.11", NULL);
}

static void s_alias(void)
{
    F.zones[F.nz++] = "example.net.";
    fake_both(&F, "cdn.example.net.", "A", "203.0.113.10");
    fake_both(&F, "cdn.example.net.", "AAAA", "2001:db8:cd0::1");
    classic();
    fake_del_after(&F, "example.com.", "A");
    fake_set_after(&F, "example.com.", "ALIAS", "cdn.example.net", NULL);
}

static void s_alias_repointed(void)
{
    F.zones[F.nz++] = "example.net.";
    fake_both(&F, "web.example.net.", "A", "198.51.100.9");
    fake_both(&F, "www.example.net.", "CNAME", "web.example.net");
    fake_both(&F, "example.com.", "ALIAS", "www.example.net");
    fake_both(&F, "example.com.", "MX", "10 example.com");
    fake_both(&F, "example.com.", "LUA", "A \"pickrandom({'192.0.2.1'})\"");
    fake_set_after(&F, "web.example.net.", "A", "203.0.113.10", NULL);
}

static void s_mx_warns(void)
{
    classic();
    fake_both(&F, "mail.example.com.", "CNAME", "example.com");
    fake_set_after(&F, "example.com.", "MX", "0 .", "10 mail.example.com", "20 backup.example.com",
                   "30 192.0.2.1", NULL);
}

static void s_spf(void)
{
    classic();
    fake_both(&F, "example.com.", "TXT",
              "\"v=spf1 ip4:198.51.100.0/24 \" \"mx/24 a:example.com -all\"");
    fake_both(&F, "example.com.", "SPF", "\"v=spf1 +a -all\"");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
}

static void s_subdomain(void)
{
    classic();
    fake_both(&F, "sub.example.com.", "A", "192.0.2.5");
    fake_both(&F, "sub.example.com.", "MX", "10 sub.example.com");
    fake_set_after(&F, "sub.example.com.", "A", "203.0.113.10", NULL);
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
    const char *names[2 * FAKE_MAXREC];
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
    p->in =
        (struct mxg_policy_input){.zone = p->zone,
                                  .names = p->names,
                                  .n_names = fake_touched(&F, p->names, (size_t)2 * FAKE_MAXREC),
                                  .mode = p->mode,
                                  .slave = p->slave};
}

static int pol_run(void *arg)
{
    struct pol_op *p = arg;
    struct mxg_view view = {&FAKE_VIEW_OPS, &F};
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
