/* test_reply_cache.c -- the reply cache (reply_cache.h) on its own: a reply found again for the
 * same question in any letter case with the asked spelling written in, another generation
 * empties it, a reply made in an older generation is not kept, names that are not plain are
 * cached per spelling, oversized replies are not kept, and a full cache empties and fills
 * again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxg/err.h"
#include "mxg/proto.h"
#include "mxg/reply_cache.h"

/* The key of a lookup of qname/qtype in zone 1. */
static void key_of(const char *qname, const char *qtype, struct mxg_request *req,
                   struct mxg_cache_key *k)
{
    char line[512], err[128];
    int n = snprintf(line, sizeof(line),
                     "{\"method\":\"lookup\",\"parameters\":{\"qname\":\"%s\",\"qtype\":\"%s\","
                     "\"zone-id\":1}}",
                     qname, qtype);
    assert_true(n > 0 && (size_t)n < sizeof(line));
    assert_int_equal(mxg_proto_decode(line, (size_t)n, req, err, sizeof(err)), MXG_OK);
    assert_true(mxg_reply_cache_key(req, k));
}

static char *reply_of(const char *qname)
{
    static char buf[512];
    snprintf(buf, sizeof(buf),
             "{\"result\":[{\"qname\":\"%s\",\"qtype\":\"A\",\"content\":\"192.0.2.1\"}]}\n",
             qname);
    return buf;
}

/* get for qname/qtype at gen: the reply, or NULL on a miss. */
static char *get(struct mxg_reply_cache *c, uint64_t gen, const char *qname, const char *qtype)
{
    struct mxg_request req;
    struct mxg_cache_key k;
    key_of(qname, qtype, &req, &k);
    char *r = NULL;
    size_t len = 0;
    int rc = mxg_reply_cache_get(c, gen, &k, &r, &len);
    mxg_request_free(&req);
    if (rc == MXG_ENOENT)
        return NULL;
    assert_int_equal(rc, MXG_OK);
    assert_int_equal(len, strlen(r) + 1);
    return r;
}

static void put(struct mxg_reply_cache *c, uint64_t gen, const char *qname, const char *qtype,
                const char *reply)
{
    struct mxg_request req;
    struct mxg_cache_key k;
    key_of(qname, qtype, &req, &k);
    mxg_reply_cache_put(c, gen, &k, reply, strlen(reply) + 1); /* the NUL too: a C string */
    mxg_request_free(&req);
}

static void test_spellings(void **state)
{
    struct mxg_reply_cache *c = mxg_reply_cache_new();
    assert_non_null(c);
    assert_null(get(c, 7, "www.example.com.", "A"));
    put(c, 7, "www.example.com.", "A", reply_of("www.example.com."));
    char *r = get(c, 7, "WwW.Example.COM.", "A");
    assert_non_null(r);
    assert_string_equal(r, reply_of("WwW.Example.COM."));
    free(r);
    assert_null(get(c, 7, "www.example.com.", "AAAA"));
    /* Not plain (an escape): cached for this spelling only. */
    put(c, 7, "a\\\\b.example.com.", "A", "x");
    assert_null(get(c, 7, "A\\\\B.example.com.", "A"));
    r = get(c, 7, "a\\\\b.example.com.", "A");
    assert_non_null(r);
    free(r);
    mxg_reply_cache_free(c);
}

static void test_generations(void **state)
{
    struct mxg_reply_cache *c = mxg_reply_cache_new();
    assert_non_null(c);
    assert_null(get(c, 1, "a.example.com.", "A"));
    put(c, 1, "a.example.com.", "A", reply_of("a.example.com."));
    char *r = get(c, 1, "a.example.com.", "A");
    assert_non_null(r);
    free(r);
    /* A commit in between: gone, and a reply made before it is not kept. */
    assert_null(get(c, 2, "a.example.com.", "A"));
    put(c, 1, "a.example.com.", "A", reply_of("a.example.com."));
    assert_null(get(c, 2, "a.example.com.", "A"));
    /* Too large to keep. */
    char *big = malloc(20000);
    assert_non_null(big);
    memset(big, 'x', 19999);
    big[19999] = '\0';
    put(c, 2, "b.example.com.", "A", big);
    assert_null(get(c, 2, "b.example.com.", "A"));
    free(big);
    mxg_reply_cache_free(c);
}

static void test_full(void **state)
{
    struct mxg_reply_cache *c = mxg_reply_cache_new();
    assert_non_null(c);
    char name[64];
    assert_null(get(c, 3, "h0.example.com.", "A")); /* the cache now holds generation 3 */
    for (int i = 0; i < 70000; i++) {
        snprintf(name, sizeof(name), "h%d.example.com.", i);
        put(c, 3, name, "A", reply_of(name));
    }
    /* The 65,537th put emptied the cache: the last ones are there, the first ones not. */
    assert_null(get(c, 3, "h0.example.com.", "A"));
    char *r = get(c, 3, "h69999.example.com.", "A");
    assert_non_null(r);
    assert_string_equal(r, reply_of("h69999.example.com."));
    free(r);
    r = get(c, 3, "h65536.example.com.", "A");
    assert_non_null(r);
    free(r);
    assert_null(get(c, 3, "h65535.example.com.", "A"));
    mxg_reply_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spellings),
        cmocka_unit_test(test_generations),
        cmocka_unit_test(test_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
