/* test_policy.c -- the mail rule, the warn rules, verdicts and the fix over an in-memory view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxg/config.h"
#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/policy.h"

#include "fake_view.h"

/* ---- the fake view (tests/support/fake_view.h) ---------------------------------------------- */

static struct fake_view F;
static struct mxg_config cfg;
static struct mxg_decision dec;

static void eval_slave(const char *zone, enum mxg_mode mode, bool slave)
{
    const char *names[2 * FAKE_MAXREC];
    struct mxg_view view = {&FAKE_VIEW_OPS, &F};
    struct mxg_policy_input in = {.zone = zone,
                                  .names = names,
                                  .n_names =
                                      fake_touched(&F, names, sizeof(names) / sizeof(names[0])),
                                  .mode = mode,
                                  .slave = slave};
    mxg_decision_free(&dec);
    assert_int_equal(mxg_policy_evaluate(&view, &in, &cfg, &dec), MXG_OK);
}

static void eval(const char *zone, enum mxg_mode mode)
{
    eval_slave(zone, mode, false);
}

static void config(const char *text)
{
    char err[256];
    mxg_config_free(&cfg);
    int rc = mxg_config_load_string(text, "test", &cfg, err, sizeof(err));
    if (rc != MXG_OK)
        fail_msg("config: %s", err);
}

static int setup(void **state)
{
    memset(&F, 0, sizeof(F));
    memset(&dec, 0, sizeof(dec));
    memset(&cfg, 0, sizeof(cfg));
    config("");
    F.zones[F.nz++] = "example.com.";
    return 0;
}

static int teardown(void **state)
{
    mxg_decision_free(&dec);
    mxg_config_free(&cfg);
    return 0;
}

/* The classic zone: the apex is domain, web site and mail server. */
static void classic(void)
{
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    fake_both(&F, "example.com.", "MX", "10 example.com");
    fake_both(&F, "www.example.com.", "A", "192.0.2.1");
}

static const struct mxg_finding *find(const char *rule, const char *family)
{
    for (size_t i = 0; i < dec.n_findings; i++)
        if (strcmp(dec.findings[i].rule, rule) == 0 &&
            (!family || strcmp(dec.findings[i].family, family) == 0))
            return &dec.findings[i];
    return NULL;
}

static size_t count(const char *rule)
{
    size_t n = 0;
    for (size_t i = 0; i < dec.n_findings; i++)
        n += strcmp(dec.findings[i].rule, rule) == 0;
    return n;
}

/* Asserts a string list equals the NULL-terminated expectation, in order. */
static void vals(char **v, size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    size_t i = 0;
    for (const char *e = va_arg(ap, const char *); e; e = va_arg(ap, const char *), i++) {
        assert_true(i < n);
        assert_string_equal(v[i], e);
    }
    va_end(ap);
    assert_int_equal(i, n);
}

static const struct mxg_finding *expect(const char *rule, const char *family, const char *name,
                                        enum mxg_severity sev)
{
    const struct mxg_finding *f = find(rule, family);
    if (!f) {
        fail_msg("no finding %s %s", rule, family ? family : "");
        abort(); /* not reached: fail_msg() longjmps, but is not declared noreturn */
    }
    assert_string_equal(f->name, name);
    assert_int_equal(f->severity, sev);
    assert_non_null(f->reason);
    return f;
}

static const struct mxg_rrset_change *fix(const char *name, const char *type)
{
    for (size_t i = 0; i < dec.n_fix; i++)
        if (strcmp(dec.fix[i].name, name) == 0 && strcmp(dec.fix[i].type, type) == 0)
            return &dec.fix[i];
    fail_msg("no fix for %s %s", name, type);
    abort(); /* not reached: fail_msg() longjmps, but is not declared noreturn */
}

/* Asserts one side of a change: "content/ttl" strings, NULL-terminated, in order. */
static void side(const struct mxg_rrdata *d, size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    size_t i = 0;
    for (const char *e = va_arg(ap, const char *); e; e = va_arg(ap, const char *), i++) {
        char buf[256];
        assert_true(i < n);
        snprintf(buf, sizeof(buf), "%s/%u", d[i].content, (unsigned)d[i].ttl);
        assert_string_equal(buf, e);
    }
    va_end(ap);
    assert_int_equal(i, n);
}

/* ---- the rule ------------------------------------------------------------------------------ */

static void test_apex_moved_reject(void **state)
{
    classic();
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    const struct mxg_finding *f = expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    vals(f->old_values, f->n_old, "192.0.2.1", NULL);
    vals(f->new_values, f->n_new, "203.0.113.10", NULL);
    assert_null(find("mail-moved", "AAAA"));
    assert_int_equal(dec.n_findings, 1);
    assert_int_equal(dec.n_fix, 0);
    assert_non_null(dec.remedy);
    assert_non_null(strstr(dec.remedy, "keep example.com. at its current address"));
    assert_non_null(strstr(dec.remedy, "www.example.com."));
    assert_non_null(strstr(dec.remedy, "mail.example.com."));
}

static void test_apex_moved_fix(void **state)
{
    classic();
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_FIX);
    expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    assert_int_equal(dec.n_fix, 2);
    const struct mxg_rrset_change *c = fix("mail.example.com.", "A");
    side(c->before, c->n_before, NULL);
    side(c->after, c->n_after, "192.0.2.1/3600", NULL);
    c = fix("example.com.", "MX");
    side(c->before, c->n_before, "10 example.com/3600", NULL);
    side(c->after, c->n_after, "10 mail.example.com/3600", NULL);
    assert_null(dec.remedy);
}

static void test_apex_moved_warn_and_off(void **state)
{
    classic();
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_WARN);
    assert_int_equal(dec.verdict, MXG_VERDICT_WARN);
    expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    eval("example.com.", MXG_MODE_OFF); /* committed anyway: warn (PRODUCT.md §4) */
    assert_int_equal(dec.verdict, MXG_VERDICT_WARN);
    assert_int_equal(dec.n_findings, 1);
    assert_int_equal(dec.n_fix, 0);
}

static void test_slave_warns(void **state)
{
    classic();
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval_slave("example.com.", MXG_MODE_REJECT, true);
    assert_int_equal(dec.verdict, MXG_VERDICT_WARN);
    eval_slave("example.com.", MXG_MODE_FIX, true);
    assert_int_equal(dec.verdict, MXG_VERDICT_WARN);
    assert_int_equal(dec.n_fix, 0);
}

static void test_mail_cname_apex(void **state)
{
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    fake_both(&F, "example.com.", "MX", "10 mail.example.com");
    fake_both(&F, "mail.example.com.", "CNAME", "example.com");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    const struct mxg_finding *f = expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    vals(f->old_values, f->n_old, "192.0.2.1", NULL);
    vals(f->new_values, f->n_new, "203.0.113.10", NULL);
    assert_null(find("mx-cname", NULL)); /* pre-existing */

    eval("example.com.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_FIX);
    assert_int_equal(dec.n_fix, 2); /* the MX already names mail: unchanged */
    const struct mxg_rrset_change *c = fix("mail.example.com.", "CNAME");
    side(c->before, c->n_before, "example.com/3600", NULL);
    side(c->after, c->n_after, NULL);
    c = fix("mail.example.com.", "A");
    side(c->before, c->n_before, NULL);
    side(c->after, c->n_after, "192.0.2.1/3600", NULL);
}

static void test_implicit_mx(void **state)
{
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    F.rec[0][0].ttl = F.rec[1][0].ttl = 300;
    fake_both(&F, "www.example.com.", "A", "192.0.2.1");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    F.rec[1][F.n[1] - 1].ttl = 300;

    eval("example.com.", MXG_MODE_REJECT); /* implicit-mx=warn: a warn finding only */
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    const struct mxg_finding *f = expect("implicit-mail-moved", "A", "example.com.", MXG_SEV_WARN);
    vals(f->old_values, f->n_old, "192.0.2.1", NULL);
    vals(f->new_values, f->n_new, "203.0.113.10", NULL);
    assert_null(find("mail-moved", NULL));

    config("implicit-mx=yes\n");
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    expect("implicit-mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    eval("example.com.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_FIX);
    assert_int_equal(dec.n_fix, 2);
    const struct mxg_rrset_change *c = fix("mail.example.com.", "A");
    side(c->after, c->n_after, "192.0.2.1/300", NULL);
    c = fix("example.com.", "MX");
    side(c->before, c->n_before, NULL);
    side(c->after, c->n_after, "10 mail.example.com/300", NULL);

    config("implicit-mx=no\n");
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    assert_int_equal(dec.n_findings, 0);
}

static void shared_mail_host(void)
{
    F.zones[F.nz++] = "provider.example.";
    F.zones[F.nz++] = "customer.test.";
    fake_both(&F, "mx1.provider.example.", "A", "192.0.2.25");
    fake_both(&F, "customer.test.", "MX", "10 mx1.provider.example");
    fake_both(&F, "customer.test.", "A", "198.51.100.80");
    fake_both(&F, "example.com.", "MX", "10 mx1.provider.example");
}

static void test_shared_mail_host(void **state)
{
    /* A provider's mail host is a dedicated path: moving it is a deliberate change of mail. */
    shared_mail_host();
    fake_set_after(&F, "mx1.provider.example.", "A", "198.51.100.25", NULL);
    eval("provider.example.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    const struct mxg_finding *f = expect("mail-host-changed", "A", "customer.test.", MXG_SEV_WARN);
    vals(f->old_values, f->n_old, "192.0.2.25", NULL);
    vals(f->new_values, f->n_new, "198.51.100.25", NULL);
    assert_int_equal(count("mail-host-changed"), 2); /* customer.test. and example.com. */
    assert_null(find("mail-moved", NULL));
}

static void test_shared_mail_host_into_proxy(void **state)
{
    /* Into proxy-ranges it is a move (rule 3), in other zones: never fixed. */
    config("proxy-ranges=203.0.113.0/24\n");
    shared_mail_host();
    fake_set_after(&F, "mx1.provider.example.", "A", "203.0.113.10", NULL);
    eval("provider.example.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    const struct mxg_finding *f = expect("mail-moved", "A", "customer.test.", MXG_SEV_BLOCK);
    vals(f->old_values, f->n_old, "192.0.2.25", NULL);
    vals(f->new_values, f->n_new, "203.0.113.10", NULL);
    assert_int_equal(count("mail-moved"), 2);
    assert_non_null(strstr(dec.remedy, "proxy"));
    eval("provider.example.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    assert_int_equal(dec.n_fix, 0);
    assert_null(find("fix-no-host", NULL));
}

static void test_aaaa_only(void **state)
{
    classic();
    fake_both(&F, "example.com.", "AAAA", "2001:db8::1");
    fake_set_after(&F, "example.com.", "AAAA", "2001:0db8:ffff:0:0:0:0:1", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    assert_null(find("mail-moved", "A"));
    const struct mxg_finding *f = expect("mail-moved", "AAAA", "example.com.", MXG_SEV_BLOCK);
    vals(f->old_values, f->n_old, "2001:db8::1", NULL);
    vals(f->new_values, f->n_new, "2001:db8:ffff::1", NULL);
}

static void test_same_address_other_spelling(void **state)
{
    classic();
    fake_both(&F, "example.com.", "AAAA", "2001:db8::1");
    fake_set_after(&F, "example.com.", "AAAA", "2001:0db8:0:0:0:0:0:1", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    assert_int_equal(dec.n_findings, 0);
}

static void test_a_and_aaaa_differently(void **state)
{
    classic();
    fake_both(&F, "example.com.", "AAAA", "2001:db8::1");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    fake_del_after(&F, "example.com.", "AAAA");
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    const struct mxg_finding *a = expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    vals(a->new_values, a->n_new, "203.0.113.10", NULL);
    /* Losing the AAAA alone is no move: mail still has an address (rule 1 is "every"). */
    assert_null(find("mail-moved", "AAAA"));

    eval("example.com.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_FIX);
    assert_int_equal(dec.n_fix, 3);
    side(fix("mail.example.com.", "A")->after, 1, "192.0.2.1/3600", NULL);
    side(fix("mail.example.com.", "AAAA")->after, 1, "2001:db8::1/3600", NULL);
    side(fix("example.com.", "MX")->after, 1, "10 mail.example.com/3600", NULL);
}

static void test_null_mx_allowed(void **state)
{
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    fake_both(&F, "example.com.", "MX", "0 .");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    assert_int_equal(dec.n_findings, 0);
}

static void test_apex_and_mx_together(void **state)
{
    classic();
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    fake_set_after(&F, "example.com.", "MX", "10 mail.example.com", NULL);
    fake_set_after(&F, "mail.example.com.", "A", "192.0.2.1", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    assert_int_equal(dec.n_findings, 0);
}

static void test_mx_at_subdomain(void **state)
{
    classic();
    fake_both(&F, "sub.example.com.", "A", "192.0.2.5");
    fake_both(&F, "sub.example.com.", "MX", "10 sub.example.com");
    fake_set_after(&F, "sub.example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_FIX);
    const struct mxg_finding *f = expect("mail-moved", "A", "sub.example.com.", MXG_SEV_BLOCK);
    vals(f->old_values, f->n_old, "192.0.2.5", NULL);
    assert_int_equal(dec.n_findings, 1);
    assert_int_equal(dec.n_fix, 2);
    side(fix("mail.example.com.", "A")->after, 1, "192.0.2.5/3600", NULL);
    const struct mxg_rrset_change *c = fix("sub.example.com.", "MX");
    side(c->before, c->n_before, "10 sub.example.com/3600", NULL);
    side(c->after, c->n_after, "10 mail.example.com/3600", NULL);
}

static void test_mx_outside_served_zones(void **state)
{
    classic();
    fake_set_after(&F, "example.com.", "MX", "10 aspmx.l.google.com", "20 alt1.aspmx.l.google.com",
                   NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    assert_int_equal(dec.n_findings, 0);
    /* Still external, and the apex moves: nothing to judge. */
    memset(&F, 0, sizeof(F));
    F.zones[F.nz++] = "example.com.";
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    fake_both(&F, "example.com.", "MX", "10 aspmx.l.google.com");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
}

/* ---- the fix's host choice ----------------------------------------------------------------- */

static void test_fix_mail_taken(void **state)
{
    classic();
    fake_both(&F, "mail.example.com.", "TXT", "\"webmail\"");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_FIX);
    assert_int_equal(dec.n_fix, 2);
    side(fix("mx.example.com.", "A")->after, 1, "192.0.2.1/3600", NULL);
    side(fix("example.com.", "MX")->after, 1, "10 mx.example.com/3600", NULL);
}

static void test_fix_mail_holds_old_address(void **state)
{
    classic();
    fake_both(&F, "mail.example.com.", "A", "192.0.2.1");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_FIX);
    assert_int_equal(dec.n_fix, 1); /* mail already holds the address */
    const struct mxg_rrset_change *c = fix("example.com.", "MX");
    side(c->after, c->n_after, "10 mail.example.com/3600", NULL);
}

static void test_fix_mail_cname_replaced(void **state)
{
    classic();
    fake_both(&F, "mail.example.com.", "CNAME", "example.com");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_FIX);
    assert_int_equal(dec.n_fix, 3);
    const struct mxg_rrset_change *c = fix("mail.example.com.", "CNAME");
    side(c->before, c->n_before, "example.com/3600", NULL);
    assert_int_equal(c->n_after, 0);
    side(fix("mail.example.com.", "A")->after, 1, "192.0.2.1/3600", NULL);
    side(fix("example.com.", "MX")->after, 1, "10 mail.example.com/3600", NULL);
}

static void test_fix_no_host(void **state)
{
    classic();
    fake_both(&F, "mail.example.com.", "TXT", "\"x\"");
    fake_both(&F, "mx.example.com.", "A", "198.51.100.1");
    fake_both(&F, "smtp.example.com.", "CNAME", "www.example.com");
    fake_both(&F, "mail1.example.com.", "AAAA", "2001:db8::5");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    assert_int_equal(dec.n_fix, 0);
    expect("fix-no-host", NULL, "example.com.", MXG_SEV_BLOCK);
    assert_non_null(dec.remedy);
}

static void test_fix_shared_target_merged(void **state)
{
    classic();
    fake_both(&F, "sub.example.com.", "MX", "10 example.com");
    fake_both(&F, "sub.example.com.", "MX", "20 www.example.com");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_FIX);
    assert_int_equal(count("mail-moved"), 2);
    assert_int_equal(dec.n_fix, 3);
    side(fix("mail.example.com.", "A")->after, 1, "192.0.2.1/3600", NULL);
    side(fix("example.com.", "MX")->after, 1, "10 mail.example.com/3600", NULL);
    const struct mxg_rrset_change *c = fix("sub.example.com.", "MX");
    side(c->before, c->n_before, "10 example.com/3600", "20 www.example.com/3600", NULL);
    side(c->after, c->n_after, "10 mail.example.com/3600", "20 www.example.com/3600", NULL);
}

/* ---- classify, ranges, ALIAS ----------------------------------------------------------------- */

static void test_proxy_classify(void **state)
{
    config("classify=proxy\nproxy-ranges=203.0.113.0/24,2001:db8:cd0::/48\n");
    classic();
    fake_set_after(&F, "example.com.", "A", "198.51.100.7", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    assert_int_equal(dec.n_findings, 0);
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    const struct mxg_finding *f = expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    assert_non_null(strstr(f->reason, "proxy-ranges"));
    /* AAAA into the proxy's IPv6 range, A back home. */
    fake_set_after(&F, "example.com.", "A", "192.0.2.1", NULL);
    fake_add(&F, MXG_BEFORE, "example.com.", "AAAA", "2001:db8::1", 3600);
    fake_set_after(&F, "example.com.", "AAAA", "2001:db8:cd0::1", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    assert_null(find("mail-moved", "A"));
    f = expect("mail-moved", "AAAA", "example.com.", MXG_SEV_BLOCK);
    vals(f->new_values, f->n_new, "2001:db8:cd0::1", NULL);
}

static void test_mail_ranges(void **state)
{
    config("mail-ranges=198.51.100.0/24\n");
    classic();
    fake_set_after(&F, "example.com.", "A", "198.51.100.7", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
}

static void alias_zone(const char *target)
{
    F.zones[F.nz++] = "example.net.";
    fake_both(&F, "cdn.example.net.", "A", "203.0.113.10");
    fake_both(&F, "web.example.net.", "A", "198.51.100.9");
    classic();
    fake_del_after(&F, "example.com.", "A");
    fake_set_after(&F, "example.com.", "ALIAS", target, NULL);
}

static void test_alias_strict(void **state)
{
    /* expand-alias=no (pdns's default): an ALIAS name has no address, so mail loses it. */
    alias_zone("web.example.net");
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    const struct mxg_finding *f = expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    vals(f->old_values, f->n_old, "192.0.2.1", NULL);
    vals(f->new_values, f->n_new, NULL);
    assert_non_null(strstr(f->reason, "lose"));
    assert_null(find("mail-moved", "AAAA")); /* it had no AAAA */

    /* expand-alias=yes: the target's addresses, through the apex (a shared path). */
    config("expand-alias=yes\n");
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    f = expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    vals(f->new_values, f->n_new, "198.51.100.9", NULL);
    assert_non_null(strstr(f->reason, "shared path"));
}

static void test_alias_proxy(void **state)
{
    config("classify=proxy\nproxy-ranges=203.0.113.0/24\nexpand-alias=yes\n");
    alias_zone("web.example.net");
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    assert_int_equal(dec.n_findings, 0);
    fake_set_after(&F, "example.com.", "ALIAS", "cdn.example.net", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    const struct mxg_finding *f = expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    vals(f->new_values, f->n_new, "203.0.113.10", NULL);
    assert_null(find("mail-moved", "AAAA")); /* the CDN has no AAAA */
}

static void test_alias_target_repointed(void **state)
{
    /* An existing apex ALIAS; the CDN name in another zone moves into proxy-ranges. */
    config("classify=proxy\nproxy-ranges=203.0.113.0/24\nexpand-alias=yes\n");
    F.zones[F.nz++] = "example.net.";
    fake_both(&F, "web.example.net.", "A", "198.51.100.9");
    fake_both(&F, "example.com.", "ALIAS", "web.example.net");
    fake_both(&F, "example.com.", "MX", "10 example.com");
    fake_set_after(&F, "web.example.net.", "A", "203.0.113.10", NULL);
    eval("example.net.", MXG_MODE_REJECT);
    /* The ALIAS target now resolves inside proxy-ranges: mail moves, in another zone. */
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    const struct mxg_finding *f = expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    vals(f->old_values, f->n_old, "198.51.100.9", NULL);
    vals(f->new_values, f->n_new, "203.0.113.10", NULL);
    eval("example.net.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    /* Without expand-alias the apex answers no address, before and after: nothing to move. */
    config("classify=proxy\nproxy-ranges=203.0.113.0/24\n");
    eval("example.net.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
}

/* ---- the shapes of PRODUCT.md §3: answers as pdns gives them -------------------------------- */

static void eval_root(const char *zone, const char *root, enum mxg_mode mode)
{
    const char *roots[1] = {root};
    struct mxg_view view = {&FAKE_VIEW_OPS, &F};
    struct mxg_policy_input in = {
        .zone = zone, .mode = mode, .roots = roots, .n_roots = 1, .no_fix = true};
    mxg_decision_free(&dec);
    assert_int_equal(mxg_policy_evaluate(&view, &in, &cfg, &dec), MXG_OK);
}

static void test_wildcard_mail_host(void **state)
{
    /* mail.example.com. exists only through the wildcard: the wildcard is a shared path. */
    fake_both(&F, "example.com.", "MX", "10 mail.example.com");
    fake_both(&F, "*.example.com.", "A", "192.0.2.1");
    fake_set_after(&F, "*.example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    const struct mxg_finding *f = expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    assert_non_null(strstr(f->reason, "wildcard"));
    /* fix: mail.example.com. has no records of its own, so it is free. */
    eval("example.com.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_FIX);
    side(fix("mail.example.com.", "A")->after, 1, "192.0.2.1/3600", NULL);
}

static void test_wildcard_cname_apex(void **state)
{
    /* "* CNAME @" while the apex moves. */
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    fake_both(&F, "example.com.", "MX", "10 mail.example.com");
    fake_both(&F, "*.example.com.", "CNAME", "example.com");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
}

static void test_alias_mail_host(void **state)
{
    config("expand-alias=yes\n");
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    fake_both(&F, "example.com.", "MX", "10 mail.example.com");
    fake_both(&F, "mail.example.com.", "ALIAS", "example.com");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    /* fix replaces the ALIAS into the shared apex with the old address. */
    eval("example.com.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_FIX);
    side(fix("mail.example.com.", "ALIAS")->after, 0, NULL);
    side(fix("mail.example.com.", "A")->after, 1, "192.0.2.1/3600", NULL);
}

static void test_delegation_at_mail_host(void **state)
{
    fake_both(&F, "example.com.", "MX", "10 mail.example.com");
    fake_both(&F, "mail.example.com.", "A", "192.0.2.1");
    fake_add(&F, MXG_AFTER, "mail.example.com.", "NS", "ns1.other.net", 3600);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    const struct mxg_finding *f = expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    vals(f->new_values, f->n_new, "unknown (delegation mail.example.com. NS ns1.other.net)", NULL);
}

static void test_delegation_above_mail_host(void **state)
{
    fake_both(&F, "example.com.", "MX", "10 mail.sub.example.com");
    fake_both(&F, "mail.sub.example.com.", "A", "192.0.2.1");
    fake_add(&F, MXG_AFTER, "sub.example.com.", "NS", "ns1.other.net", 3600);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
}

static void test_dname_path(void **state)
{
    config("dname-processing=yes\n");
    fake_both(&F, "example.com.", "MX", "10 mail.old.example.com");
    fake_both(&F, "old.example.com.", "DNAME", "new.example.com");
    fake_both(&F, "mail.new.example.com.", "A", "192.0.2.1");
    fake_set_after(&F, "mail.new.example.com.", "A", "198.51.100.7", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    const struct mxg_finding *f = expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    assert_non_null(strstr(f->reason, "DNAME"));
    /* Without dname-processing the MX target answers nothing, before and after. */
    config("");
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
}

static void test_long_chain(void **state)
{
    /* MX -> c1 -> ... -> c9 -> apex: nine links, pdns follows ten. */
    char name[64], target[64];
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    fake_both(&F, "example.com.", "MX", "10 c1.example.com");
    for (int i = 1; i <= 9; i++) {
        snprintf(name, sizeof(name), "c%d.example.com.", i);
        if (i < 9)
            snprintf(target, sizeof(target), "c%d.example.com", i + 1);
        else
            snprintf(target, sizeof(target), "example.com");
        fake_both(&F, name, "CNAME", target);
    }
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
}

static void test_zone_add_takes_mail_host(void **state)
{
    fake_both(&F, "example.com.", "MX", "10 mail.example.com");
    /* The parent's record; after, the new zone answers the name (the fake keeps no zone ids). */
    fake_add(&F, MXG_BEFORE, "mail.example.com.", "A", "192.0.2.1", 3600);
    F.zones[F.nz++] = "mail.example.com.";
    F.added = "mail.example.com.";
    /* The new zone answers mail.example.com. now, with no address. */
    fake_add(&F, MXG_AFTER, "mail.example.com.", "SOA", "ns1 hostmaster 1 2 3 4 5", 3600);
    eval_root("mail.example.com.", "mail.example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    eval_root("mail.example.com.", "mail.example.com.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT); /* a zone event is never fixed */
}

static void test_zone_delete_takes_mail_host(void **state)
{
    F.zones[F.nz++] = "provider.example.";
    fake_both(&F, "mx1.provider.example.", "A", "192.0.2.25");
    fake_both(&F, "example.com.", "MX", "10 mx1.provider.example");
    F.deleted = "provider.example.";
    eval_root("provider.example.", "provider.example.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    const struct mxg_finding *f = expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    assert_non_null(strstr(f->reason, "deleted"));
}

static void test_zone_add_outside_is_onboarding(void **state)
{
    /* A provider onboards its mail zone: customers' MX named it while it was outside. */
    fake_both(&F, "example.com.", "MX", "10 mx1.provider.example");
    F.zones[F.nz++] = "provider.example.";
    F.added = "provider.example.";
    fake_add(&F, MXG_AFTER, "mx1.provider.example.", "A", "192.0.2.25", 3600);
    eval_root("provider.example.", "provider.example.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    expect("mail-host-changed", "A", "example.com.", MXG_SEV_WARN);
}

static void test_implicit_to_explicit(void **state)
{
    config("implicit-mx=yes\n");
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    fake_add(&F, MXG_AFTER, "example.com.", "MX", "10 mail.example.com", 3600);
    fake_add(&F, MXG_AFTER, "mail.example.com.", "A", "192.0.2.1", 3600);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    assert_null(find("implicit-mail-moved", NULL));
    /* A new address for the new host is a deliberate change. */
    fake_set_after(&F, "mail.example.com.", "A", "198.51.100.7", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    expect("mail-host-changed", "A", "example.com.", MXG_SEV_WARN);
}

static void test_first_address_for_target(void **state)
{
    fake_both(&F, "example.com.", "MX", "10 mail.example.com");
    fake_add(&F, MXG_AFTER, "mail.example.com.", "A", "198.51.100.7", 3600);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    expect("mail-host-changed", "A", "example.com.", MXG_SEV_WARN);
    /* ... but never into the proxy (rule 3), even the first time. */
    config("proxy-ranges=203.0.113.0/24\n");
    fake_set_after(&F, "mail.example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
}

static void test_dedicated_host_moved(void **state)
{
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    fake_both(&F, "example.com.", "MX", "10 mail.example.com");
    fake_both(&F, "mail.example.com.", "A", "192.0.2.1");
    fake_both(&F, "imap.example.com.", "CNAME", "mail.example.com");
    fake_set_after(&F, "mail.example.com.", "A", "198.51.100.7", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    expect("mail-host-changed", "A", "example.com.", MXG_SEV_WARN);
}

static void test_web_name_shares_host(void **state)
{
    /* mail and www both CNAME to web: web is shared, moving it moves mail. */
    fake_both(&F, "example.com.", "MX", "10 mail.example.com");
    fake_both(&F, "mail.example.com.", "CNAME", "web.example.com");
    fake_both(&F, "www.example.com.", "CNAME", "web.example.com");
    fake_both(&F, "web.example.com.", "A", "192.0.2.1");
    fake_set_after(&F, "web.example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    const struct mxg_finding *f = expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
    assert_non_null(strstr(f->reason, "web.example.com."));
}

static void test_apex_moves_mx_repointed(void **state)
{
    /* The apex goes to the proxy and MX moves to a host that keeps the old address. */
    classic();
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    fake_set_after(&F, "example.com.", "MX", "10 mail.example.com", NULL);
    fake_add(&F, MXG_AFTER, "mail.example.com.", "A", "192.0.2.1", 3600);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    assert_null(find("mail-moved", NULL));
}

/* ---- warn rules --------------------------------------------------------------------------- */

static void test_mx_cname(void **state)
{
    classic();
    fake_both(&F, "mail.example.com.", "CNAME", "example.com");
    fake_set_after(&F, "example.com.", "MX", "10 mail.example.com", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW); /* warn findings only */
    const struct mxg_finding *f = expect("mx-cname", "", "example.com.", MXG_SEV_WARN);
    vals(f->new_values, f->n_new, "mail.example.com.", NULL);
    assert_int_equal(dec.n_findings, 1);

    config("rule-severity=mx-cname:block\n");
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    expect("mx-cname", "", "example.com.", MXG_SEV_BLOCK);
    eval("example.com.", MXG_MODE_FIX); /* cannot be fixed */
    assert_int_equal(dec.verdict, MXG_VERDICT_REJECT);
    assert_int_equal(dec.n_fix, 0);
    assert_null(dec.remedy);
}

static void test_mx_cname_preexisting(void **state)
{
    classic();
    fake_set_after(&F, "example.com.", "MX", "10 mail.example.com", NULL);
    fake_add(&F, MXG_BEFORE, "example.com.", "MX", "20 mail.example.com", 3600);
    fake_both(&F, "mail.example.com.", "CNAME", "example.com");
    eval("example.com.", MXG_MODE_REJECT);
    assert_null(find("mx-cname", NULL));
}

static void test_mx_no_address(void **state)
{
    classic();
    fake_set_after(&F, "example.com.", "MX", "10 example.com", "20 backup.example.com", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW); /* warn findings only */
    const struct mxg_finding *f = expect("mx-no-address", "", "example.com.", MXG_SEV_WARN);
    vals(f->new_values, f->n_new, "backup.example.com.", NULL);
    assert_int_equal(dec.n_findings, 1);
}

static void test_mx_no_address_preexisting(void **state)
{
    classic();
    fake_both(&F, "example.com.", "MX", "20 backup.example.com");
    fake_both(&F, "example.com.", "TXT", "\"hello\"");
    fake_set_after(&F, "example.com.", "TXT", "\"bye\"", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    assert_int_equal(dec.n_findings, 0);
}

static void test_mx_ip_literal(void **state)
{
    classic();
    fake_set_after(&F, "example.com.", "MX", "10 example.com", "20 192.0.2.1", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW); /* warn findings only */
    const struct mxg_finding *f = expect("mx-ip-literal", "", "example.com.", MXG_SEV_WARN);
    vals(f->new_values, f->n_new, "20 192.0.2.1", NULL);
    assert_int_equal(dec.n_findings, 1);
    /* pre-existing */
    fake_add(&F, MXG_BEFORE, "example.com.", "MX", "20 192.0.2.1", 3600);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.n_findings, 0);
}

static void test_null_mx_mixed(void **state)
{
    classic();
    fake_set_after(&F, "example.com.", "MX", "0 .", "10 example.com", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW); /* warn findings only */
    expect("null-mx-mixed", "", "example.com.", MXG_SEV_WARN);
    assert_int_equal(dec.n_findings, 1);
    fake_add(&F, MXG_BEFORE, "example.com.", "MX", "0 .", 3600);
    fake_both(&F, "example.com.", "TXT", "\"t\"");
    fake_set_after(&F, "example.com.", "TXT", "\"u\"", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.n_findings, 0);
}

static void test_spf_moved(void **state)
{
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    fake_both(&F, "example.com.", "MX", "0 .");
    fake_both(&F, "example.com.", "TXT", "\"v=spf1 +a -all\"");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW); /* warn findings only */
    const struct mxg_finding *f = expect("spf-moved", "", "example.com.", MXG_SEV_WARN);
    vals(f->old_values, f->n_old, "192.0.2.1", NULL);
    vals(f->new_values, f->n_new, "203.0.113.10", NULL);
    assert_int_equal(dec.n_findings, 1);

    config("rule-severity=spf-moved:off\n");
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    assert_int_equal(dec.n_findings, 0);
}

static void test_spf_mx_split_strings(void **state)
{
    classic();
    fake_both(&F, "example.com.", "TXT", "\"v=spf1 ip4:198.51.100.0/24 \" \"mx/24 -all\"");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    eval("example.com.", MXG_MODE_WARN);
    expect("spf-moved", "", "example.com.", MXG_SEV_WARN);
    expect("mail-moved", "A", "example.com.", MXG_SEV_BLOCK);
}

static void test_spf_not_reported(void **state)
{
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    fake_both(&F, "example.com.", "TXT", "\"v=spf1 ip4:192.0.2.1 include:spf.example.net -all\"");
    fake_set_after(&F, "example.com.", "A", "203.0.113.10", NULL);
    config("implicit-mx=no\n");
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.n_findings, 0);
    /* a/mx used but the addresses behind them stay. */
    memset(&F, 0, sizeof(F));
    F.zones[F.nz++] = "example.com.";
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    fake_both(&F, "example.com.", "TXT", "\"v=spf1 a mx -all\"");
    fake_set_after(&F, "example.com.", "TXT", "\"v=spf1 a mx ~all\"", NULL);
    eval("example.com.", MXG_MODE_REJECT);
    assert_int_equal(dec.n_findings, 0);
}

/* ---- names ---------------------------------------------------------------------------------- */

static void test_names(void **state)
{
    assert_string_equal(mxg_verdict_name(MXG_VERDICT_ALLOW), "allow");
    assert_string_equal(mxg_verdict_name(MXG_VERDICT_WARN), "warn");
    assert_string_equal(mxg_verdict_name(MXG_VERDICT_REJECT), "reject");
    assert_string_equal(mxg_verdict_name(MXG_VERDICT_FIX), "fix");
    assert_string_equal(mxg_severity_name(MXG_SEV_OFF), "off");
    assert_string_equal(mxg_severity_name(MXG_SEV_WARN), "warn");
    assert_string_equal(mxg_severity_name(MXG_SEV_BLOCK), "block");
    assert_int_equal(mxg_policy_severity(&cfg, "mail-moved"), MXG_SEV_BLOCK);
    assert_int_equal(mxg_policy_severity(&cfg, "fix-no-host"), MXG_SEV_BLOCK);
    assert_int_equal(mxg_policy_severity(&cfg, "implicit-mail-moved"), MXG_SEV_WARN);
    assert_int_equal(mxg_policy_severity(&cfg, "mx-cname"), MXG_SEV_WARN);
    assert_int_equal(mxg_policy_severity(&cfg, "spf-moved"), MXG_SEV_WARN);
    config("implicit-mx=yes\nrule-severity=mail-moved:warn,mx-no-address:off\n");
    assert_int_equal(mxg_policy_severity(&cfg, "implicit-mail-moved"), MXG_SEV_BLOCK);
    assert_int_equal(mxg_policy_severity(&cfg, "mail-moved"), MXG_SEV_WARN);
    assert_int_equal(mxg_policy_severity(&cfg, "mx-no-address"), MXG_SEV_OFF);
}

static void test_nothing_touched(void **state)
{
    classic();
    eval("example.com.", MXG_MODE_FIX);
    assert_int_equal(dec.verdict, MXG_VERDICT_ALLOW);
    assert_int_equal(dec.n_findings, 0);
    assert_null(dec.remedy);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_apex_moved_reject),
        T(test_apex_moved_fix),
        T(test_apex_moved_warn_and_off),
        T(test_slave_warns),
        T(test_mail_cname_apex),
        T(test_implicit_mx),
        T(test_shared_mail_host),
        T(test_shared_mail_host_into_proxy),
        T(test_wildcard_mail_host),
        T(test_wildcard_cname_apex),
        T(test_alias_mail_host),
        T(test_delegation_at_mail_host),
        T(test_delegation_above_mail_host),
        T(test_dname_path),
        T(test_long_chain),
        T(test_zone_add_takes_mail_host),
        T(test_zone_delete_takes_mail_host),
        T(test_zone_add_outside_is_onboarding),
        T(test_implicit_to_explicit),
        T(test_first_address_for_target),
        T(test_dedicated_host_moved),
        T(test_web_name_shares_host),
        T(test_apex_moves_mx_repointed),
        T(test_aaaa_only),
        T(test_same_address_other_spelling),
        T(test_a_and_aaaa_differently),
        T(test_null_mx_allowed),
        T(test_apex_and_mx_together),
        T(test_mx_at_subdomain),
        T(test_mx_outside_served_zones),
        T(test_fix_mail_taken),
        T(test_fix_mail_holds_old_address),
        T(test_fix_mail_cname_replaced),
        T(test_fix_no_host),
        T(test_fix_shared_target_merged),
        T(test_proxy_classify),
        T(test_mail_ranges),
        T(test_alias_strict),
        T(test_alias_proxy),
        T(test_alias_target_repointed),
        T(test_mx_cname),
        T(test_mx_cname_preexisting),
        T(test_mx_no_address),
        T(test_mx_no_address_preexisting),
        T(test_mx_ip_literal),
        T(test_null_mx_mixed),
        T(test_spf_moved),
        T(test_spf_mx_split_strings),
        T(test_spf_not_reported),
        T(test_names),
        T(test_nothing_touched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
