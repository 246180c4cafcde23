/* test_nsec.c -- NSEC3 hashes, auth flags and the NSEC/NSEC3 chains of src/nsec.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mxg/err.h"
#include "mxg/nsec.h"

/* RFC 5155 Appendix A: salt aabbccdd, 12 iterations. */
static void test_hash_vectors(void **state)
{
    (void)state;
    struct mxg_nsec3param p;
    char h[MXG_NSEC3_HASH_TEXT];
    assert_int_equal(mxg_nsec3param_parse("1 0 12 aabbccdd", &p), MXG_OK);
    assert_int_equal(p.iterations, 12);
    assert_int_equal(p.saltlen, 4);
    assert_int_equal(mxg_nsec3_hash("example.", &p, h), MXG_OK);
    assert_string_equal(h, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom");
    assert_int_equal(mxg_nsec3_hash("a.example.", &p, h), MXG_OK);
    assert_string_equal(h, "35mthgpgcu1qg68fab165klnsnk3dpvl");
    assert_int_equal(mxg_nsec3_hash("ns1.example.", &p, h), MXG_OK);
    assert_string_equal(h, "2t7b4g4vsa5smi47k61mv5bv1a22bojr");

    assert_int_equal(mxg_nsec3param_parse("1 1 0 -", &p), MXG_OK);
    assert_int_equal(p.saltlen, 0);
    assert_int_equal(p.flags, 1);
    assert_int_equal(mxg_nsec3param_parse("1 0 1 abc", &p), MXG_EINVAL);   /* odd salt */
    assert_int_equal(mxg_nsec3param_parse("1 0 1 zz", &p), MXG_EINVAL);    /* not hex */
    assert_int_equal(mxg_nsec3param_parse("1 0 70000 -", &p), MXG_EINVAL); /* iterations */
    assert_int_equal(mxg_nsec3param_parse("1 0", &p), MXG_EINVAL);
    assert_int_equal(mxg_nsec3param_parse(NULL, &p), MXG_EINVAL);
    assert_int_equal(mxg_nsec3param_parse("2 0 1 -", &p), MXG_OK);
    assert_int_equal(mxg_nsec3_hash("example.", &p, h), MXG_EINVAL); /* only SHA-1 */
}

/* A zone with a signed and an unsigned delegation, glue, occluded data and empty
 * non-terminals. */
static const struct mxg_chain_rr ZONE[] = {
    {"example.com.", "SOA"},         {"example.com.", "NS"},
    {"example.com.", "MX"},          {"www.example.com.", "A"},
    {"www.example.com.", "AAAA"},    {"sub.example.com.", "NS"},
    {"sub.example.com.", "DS"},      {"ns.sub.example.com.", "A"},
    {"txt.sub.example.com.", "TXT"}, {"ins.example.com.", "NS"},
    {"ins.example.com.", "A"},       {"deep.a.b.example.com.", "TXT"},
    {"www.example.com.", "A"},       {"b.example.com.", "ENT"},
    {"other.example.net.", "A"},     {"deeper.ns.sub.example.com.", "NS"},
};
#define N (sizeof(ZONE) / sizeof(ZONE[0]))

static void test_auth(void **state)
{
    (void)state;
    struct mxg_chain *c = mxg_chain_build("example.com.", ZONE, N, NULL);
    assert_non_null(c);
    assert_true(mxg_chain_has_cuts(c));
    assert_true(mxg_chain_auth(c, "example.com.", "NS"));
    assert_true(mxg_chain_auth(c, "www.example.com.", "A"));
    assert_false(mxg_chain_auth(c, "sub.example.com.", "NS"));
    assert_true(mxg_chain_auth(c, "sub.example.com.", "DS"));
    assert_false(mxg_chain_auth(c, "ns.sub.example.com.", "A"));
    assert_false(mxg_chain_auth(c, "txt.sub.example.com.", "TXT"));
    assert_false(mxg_chain_auth(c, "x.y.sub.example.com.", "A")); /* no such name, still below */
    assert_false(mxg_chain_auth(c, "ins.example.com.", "A"));
    assert_true(mxg_chain_auth(c, "nope.example.com.", "A"));
    assert_true(mxg_chain_auth(c, "deep.a.b.example.com.", "TXT"));
    mxg_chain_free(c);

    const struct mxg_chain_rr flat[] = {{"example.org.", "SOA"}, {"www.example.org.", "A"}};
    c = mxg_chain_build("example.org.", flat, 2, NULL);
    assert_non_null(c);
    assert_false(mxg_chain_has_cuts(c));
    assert_true(mxg_chain_auth(c, "www.example.org.", "A"));
    mxg_chain_free(c);
}

static void nsec_is(const struct mxg_chain *c, const char *q, const char *before, const char *after)
{
    const char *b, *a;
    assert_int_equal(mxg_chain_nsec(c, q, &b, &a), MXG_OK);
    assert_string_equal(b, before);
    assert_string_equal(a, after);
}

static void test_nsec(void **state)
{
    (void)state;
    struct mxg_chain *c = mxg_chain_build("example.com.", ZONE, N, NULL);
    assert_non_null(c);
    /* apex, deep.a.b, ins (NS; its A is glue), sub (NS, DS), txt.sub (occluded TXT counts, as
     * in pdns's rectify), www; not: ns.sub (glue only), the ENTs b and a.b, deeper.ns.sub
     * (NS below a cut: it counts). */
    assert_int_equal(mxg_chain_size(c), 7);
    nsec_is(c, "example.com.", "example.com.", "deep.a.b.example.com.");
    nsec_is(c, "a.example.com.", "example.com.", "deep.a.b.example.com.");
    nsec_is(c, "b.example.com.", "example.com.", "deep.a.b.example.com."); /* an ENT */
    nsec_is(c, "c.example.com.", "deep.a.b.example.com.", "ins.example.com.");
    nsec_is(c, "sub.example.com.", "sub.example.com.", "deeper.ns.sub.example.com.");
    nsec_is(c, "ns.sub.example.com.", "sub.example.com.", "deeper.ns.sub.example.com.");
    nsec_is(c, "zzz.example.com.", "www.example.com.", "example.com.");
    nsec_is(c, "www.example.com.", "www.example.com.", "example.com.");
    const char *b, *a, *o;
    assert_int_equal(mxg_chain_nsec3(c, "abc", &b, &a, &o), MXG_EINVAL);
    mxg_chain_free(c);

    c = mxg_chain_build("example.com.", ZONE, 0, NULL);
    assert_non_null(c);
    assert_int_equal(mxg_chain_nsec(c, "example.com.", &b, &a), MXG_ENOENT);
    mxg_chain_free(c);
}

/* NSEC3: the chain in hash order, with its empty non-terminals; opt-out leaves the unsigned
 * delegation out. */
static void test_nsec3(void **state)
{
    (void)state;
    struct mxg_nsec3param p;
    assert_int_equal(mxg_nsec3param_parse("1 0 1 ab", &p), MXG_OK);
    struct mxg_chain *c = mxg_chain_build("example.com.", ZONE, N, &p);
    assert_non_null(c);
    /* apex, www, sub, ins, deep.a.b, and the ENTs a.b and b */
    assert_int_equal(mxg_chain_size(c), 7);
    char h[MXG_NSEC3_HASH_TEXT];
    const char *b, *a, *o;
    assert_int_equal(mxg_nsec3_hash("b.example.com.", &p, h), MXG_OK);
    assert_int_equal(mxg_chain_nsec3(c, h, &b, &a, &o), MXG_OK);
    assert_string_equal(b, h);
    assert_string_equal(o, "b.example.com.");
    assert_string_not_equal(a, h);
    /* Upper case in the question is fine; a hash not in the chain has a different before. */
    char up[MXG_NSEC3_HASH_TEXT];
    for (size_t i = 0; i < sizeof(h); i++)
        up[i] = (char)(h[i] >= 'a' && h[i] <= 'z' ? h[i] - 32 : h[i]);
    assert_int_equal(mxg_chain_nsec3(c, up, &b, &a, &o), MXG_OK);
    assert_string_equal(o, "b.example.com.");
    assert_int_equal(mxg_nsec3_hash("ns.sub.example.com.", &p, h), MXG_OK);
    assert_int_equal(mxg_chain_nsec3(c, h, &b, &a, &o), MXG_OK);
    assert_string_not_equal(b, h);
    assert_int_equal(mxg_chain_nsec(c, "example.com.", &b, &a), MXG_EINVAL);
    /* Wrapping: below the smallest hash comes the largest. */
    assert_int_equal(mxg_chain_nsec3(c, "00000000000000000000000000000000", &b, &a, &o), MXG_OK);
    const char *first = a, *last = b;
    assert_int_equal(mxg_chain_nsec3(c, "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv", &b, &a, &o), MXG_OK);
    assert_string_equal(b, last);
    assert_string_equal(a, first);
    mxg_chain_free(c);

    assert_int_equal(mxg_nsec3param_parse("1 1 1 ab", &p), MXG_OK);
    c = mxg_chain_build("example.com.", ZONE, N, &p);
    assert_non_null(c);
    /* ins (NS without DS) drops out under opt-out; its glue A put it in pdns's nsec3set, yet
     * neither NS nor A keeps an ordername there. */
    assert_int_equal(mxg_chain_size(c), 6);
    assert_int_equal(mxg_nsec3_hash("ins.example.com.", &p, h), MXG_OK);
    assert_int_equal(mxg_chain_nsec3(c, h, &b, &a, &o), MXG_OK);
    assert_string_not_equal(b, h);
    mxg_chain_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_vectors),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_nsec),
        cmocka_unit_test(test_nsec3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
