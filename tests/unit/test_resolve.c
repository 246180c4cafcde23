/* test_resolve.c -- the resolution model (resolve.h) over an in-memory view: what pdns 4.7
 * answers for an A/AAAA query, and the path that gives it. The oracle test
 * (tests/integration/test_resolve_oracle.sh) checks the same model against pdns itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mxg/err.h"
#include "mxg/resolve.h"

#include "fake_view.h"

static struct fake_view F;
static struct mxg_resolution R;
static struct mxg_resolve_opts O;

static int setup(void **state)
{
    memset(&F, 0, sizeof(F));
    memset(&R, 0, sizeof(R));
    memset(&O, 0, sizeof(O));
    F.zones[F.nz++] = "example.com.";
    F.zones[F.nz++] = "example.net.";
    fake_both(&F, "example.com.", "SOA", "ns1.example.com hostmaster.example.com 1 2 3 4 5");
    fake_both(&F, "example.com.", "A", "192.0.2.1");
    return 0;
}

static int teardown(void **state)
{
    mxg_resolution_free(&R);
    return 0;
}

static void res(const char *name, int fam)
{
    struct mxg_view v = {&FAKE_VIEW_OPS, &F};
    mxg_resolution_free(&R);
    assert_int_equal(mxg_resolve(&v, MXG_AFTER, name, fam, &O, &R), MXG_OK);
}

static void expect_addr(const char *name, const char *addr)
{
    res(name, 4);
    assert_int_equal(R.kind, MXG_RES_ADDRESSES);
    assert_int_equal(R.n_addrs, 1);
    char buf[32];
    snprintf(buf, sizeof(buf), "%u.%u.%u.%u", R.addrs[0][0], R.addrs[0][1], R.addrs[0][2],
             R.addrs[0][3]);
    assert_string_equal(buf, addr);
}

static void expect_kind(const char *name, enum mxg_res_kind k)
{
    res(name, 4);
    assert_int_equal(R.kind, k);
}

static bool has_step(const char *name, enum mxg_step_role role)
{
    for (size_t i = 0; i < R.n_steps; i++)
        if (strcmp(R.steps[i].name, name) == 0 && R.steps[i].role == role)
            return true;
    return false;
}

static void test_exact_and_nodata(void **state)
{
    fake_both(&F, "www.example.com.", "A", "192.0.2.2");
    fake_both(&F, "txt.example.com.", "TXT", "\"x\"");
    expect_addr("www.example.com.", "192.0.2.2");
    assert_string_equal(R.owner, "www.example.com.");
    expect_kind("txt.example.com.", MXG_RES_NONE);
    expect_kind("nope.example.com.", MXG_RES_NONE);
    res("www.example.com.", 6);
    assert_int_equal(R.kind, MXG_RES_NONE);
}

static void test_outside(void **state)
{
    expect_kind("host.example.org.", MXG_RES_UNKNOWN);
    assert_true(R.outside);
    assert_string_equal(R.unknown, "outside host.example.org.");
    fake_both(&F, "out.example.com.", "CNAME", "cdn.example.org");
    expect_kind("out.example.com.", MXG_RES_UNKNOWN);
    assert_string_equal(R.unknown, "outside cdn.example.org.");
}

static void test_cname_chains(void **state)
{
    char name[64], target[64];
    for (int i = 1; i <= 11; i++) {
        snprintf(name, sizeof(name), "c%d.example.com.", i);
        snprintf(target, sizeof(target), i < 11 ? "c%d.example.com" : "example.com", i + 1);
        fake_both(&F, name, "CNAME", target);
    }
    /* c2 .. c11 -> apex: ten retargets, answered; c1: eleven, SERVFAIL (pdns: > 10). */
    expect_addr("c2.example.com.", "192.0.2.1");
    assert_true(has_step("example.com.", MXG_STEP_CNAME));
    expect_kind("c1.example.com.", MXG_RES_SERVFAIL);
    /* A loop. */
    fake_both(&F, "l1.example.com.", "CNAME", "l2.example.com");
    fake_both(&F, "l2.example.com.", "CNAME", "l1.example.com");
    expect_kind("l1.example.com.", MXG_RES_SERVFAIL);
    /* Across zones. */
    fake_both(&F, "x.example.net.", "CNAME", "example.com");
    expect_addr("x.example.net.", "192.0.2.1");
    /* CNAME wins over other data at the name. */
    fake_both(&F, "both.example.com.", "A", "192.0.2.9");
    fake_both(&F, "both.example.com.", "CNAME", "example.com");
    expect_addr("both.example.com.", "192.0.2.1");
}

static void test_wildcards(void **state)
{
    fake_both(&F, "*.example.com.", "A", "192.0.2.7");
    fake_both(&F, "a.b.example.com.", "A", "192.0.2.8");
    expect_addr("x.example.com.", "192.0.2.7");
    assert_true(has_step("*.example.com.", MXG_STEP_WILDCARD));
    expect_addr("y.x.example.com.", "192.0.2.7");
    /* b.example.com. is an empty non-terminal: it exists, so it blocks the wildcard. */
    expect_kind("b.example.com.", MXG_RES_NONE);
    expect_kind("z.b.example.com.", MXG_RES_NONE);
    /* Wildcard CNAME. */
    fake_both(&F, "*.w.example.com.", "CNAME", "example.com");
    expect_addr("q.w.example.com.", "192.0.2.1");
    /* A wildcard with other data only: NODATA. */
    fake_both(&F, "*.t.example.com.", "TXT", "\"t\"");
    expect_kind("q.t.example.com.", MXG_RES_NONE);
}

static void test_delegation(void **state)
{
    fake_both(&F, "sub.example.com.", "NS", "ns1.other.org");
    fake_both(&F, "sub.example.com.", "NS", "ns0.other.org");
    fake_both(&F, "ns.sub.example.com.", "A", "192.0.2.53");
    expect_kind("sub.example.com.", MXG_RES_UNKNOWN);
    assert_string_equal(R.unknown, "delegation sub.example.com. NS ns0.other.org,ns1.other.org");
    expect_kind("ns.sub.example.com.", MXG_RES_UNKNOWN); /* glue is not an answer */
    assert_true(has_step("sub.example.com.", MXG_STEP_CUT));
    /* A child zone served here answers instead of the delegation. */
    F.zones[F.nz++] = "sub.example.com.";
    fake_both(&F, "www.sub.example.com.", "A", "192.0.2.54");
    expect_addr("www.sub.example.com.", "192.0.2.54");
}

static void test_dname(void **state)
{
    fake_both(&F, "old.example.com.", "DNAME", "example.net");
    fake_both(&F, "mail.example.net.", "A", "192.0.2.25");
    expect_kind("mail.old.example.com.", MXG_RES_NONE); /* dname-processing=no */
    O.dname_processing = true;
    expect_addr("mail.old.example.com.", "192.0.2.25");
    assert_true(has_step("old.example.com.", MXG_STEP_DNAME));
    assert_true(has_step("mail.example.net.", MXG_STEP_SYNTH));
    /* The DNAME owner itself is not redirected. */
    expect_kind("old.example.com.", MXG_RES_NONE);
}

static void test_alias(void **state)
{
    fake_both(&F, "al.example.com.", "ALIAS", "web.example.net");
    fake_both(&F, "web.example.net.", "A", "198.51.100.9");
    expect_kind("al.example.com.", MXG_RES_NONE); /* expand-alias=no: no address */
    O.expand_alias = true;
    expect_addr("al.example.com.", "198.51.100.9");
    assert_true(has_step("web.example.net.", MXG_STEP_ALIAS));
    fake_both(&F, "ext.example.com.", "ALIAS", "cdn.example.org");
    expect_kind("ext.example.com.", MXG_RES_UNKNOWN);
    /* Two ALIASes pointing at each other end, as pdns's resolver would give up. */
    fake_both(&F, "p.example.com.", "ALIAS", "q.example.com");
    fake_both(&F, "q.example.com.", "ALIAS", "p.example.com");
    res("p.example.com.", 4);
    assert_int_not_equal(R.kind, MXG_RES_ADDRESSES);
}

static void test_lua(void **state)
{
    fake_both(&F, "lua.example.com.", "LUA", "A \"ifportup(443, {'192.0.2.1'})\"");
    expect_kind("lua.example.com.", MXG_RES_UNKNOWN);
    assert_non_null(strstr(R.unknown, "LUA lua.example.com."));
    res("lua.example.com.", 6);
    assert_int_equal(R.kind, MXG_RES_NONE);
}

static void test_bad_arguments(void **state)
{
    struct mxg_view v = {&FAKE_VIEW_OPS, &F};
    assert_int_equal(mxg_resolve(&v, MXG_AFTER, "example.com.", 5, &O, &R), MXG_EINVAL);
    assert_int_equal(mxg_resolve(NULL, MXG_AFTER, "example.com.", 4, &O, &R), MXG_EINVAL);
    assert_string_equal(mxg_res_kind_name(MXG_RES_SERVFAIL), "servfail");
    assert_string_equal(mxg_step_role_name(MXG_STEP_CUT), "cut");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_exact_and_nodata), T(test_outside), T(test_cname_chains), T(test_wildcards),
        T(test_delegation),       T(test_dname),   T(test_alias),        T(test_lua),
        T(test_bad_arguments),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
