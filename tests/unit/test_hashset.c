/* test_hashset.c -- the hash set (hashset.h): many entries found and absent ones not, entries of
 * one hash all found in turn, growth from one home slot keeping every entry, room made ahead,
 * clearing and reuse, and a count past the limit or an index that cannot be stored refused with
 * the set unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxg/err.h"
#include "mxg/hash.h"
#include "mxg/hashset.h"

#define MANY 10000

/* The caller's side: strings in an array, indexed by the set. */
struct names {
    char **v;
    size_t n;
    struct mxg_hset index;
};

static uint32_t lookup(const struct names *l, const char *name)
{
    struct mxg_hset_probe p;
    for (uint32_t i = mxg_hset_first(&l->index, mxg_hash_str(name), &p); i != MXG_HSET_NONE;
         i = mxg_hset_next(&p))
        if (strcmp(l->v[i], name) == 0)
            return i;
    return MXG_HSET_NONE;
}

static void names_add(struct names *l, const char *name)
{
    l->v[l->n] = strdup(name);
    assert_non_null(l->v[l->n]);
    assert_int_equal(mxg_hset_insert(&l->index, mxg_hash_str(name), (uint32_t)l->n), MXG_OK);
    l->n++;
}

static void names_free(struct names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    mxg_hset_free(&l->index);
}

/* The candidates of hash h, as a count per index below n (and how many in all). */
static size_t candidates(const struct mxg_hset *s, uint64_t h, unsigned *seen, size_t n)
{
    struct mxg_hset_probe p;
    size_t k = 0;
    memset(seen, 0, n * sizeof(*seen));
    for (uint32_t i = mxg_hset_first(s, h, &p); i != MXG_HSET_NONE; i = mxg_hset_next(&p)) {
        assert_true(i < n);
        seen[i]++;
        k++;
    }
    /* An ended lookup stays ended. */
    assert_int_equal(mxg_hset_next(&p), MXG_HSET_NONE);
    return k;
}

static void test_empty(void **state)
{
    struct mxg_hset s = {0};
    struct mxg_hset_probe p;
    assert_int_equal(mxg_hset_first(&s, 42, &p), MXG_HSET_NONE);
    assert_int_equal(mxg_hset_next(&p), MXG_HSET_NONE);
    mxg_hset_clear(&s);
    assert_int_equal(mxg_hset_reserve(&s, 0), MXG_OK);
    assert_null(s.slots); /* nothing asked, nothing allocated */
    mxg_hset_free(&s);
    assert_null(s.slots);
    assert_int_equal(s.nslots, 0);
}

static void test_many(void **state)
{
    struct names l = {0};
    l.v = calloc(MANY, sizeof(*l.v));
    assert_non_null(l.v);
    char name[64];
    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof(name), "host%d.example.com.", i);
        assert_int_equal(lookup(&l, name), MXG_HSET_NONE);
        names_add(&l, name);
        /* A power of two, at most half used. */
        assert_int_equal(l.index.nslots & (l.index.nslots - 1), 0);
        assert_true(l.index.n * 2 <= l.index.nslots);
    }
    assert_int_equal(l.index.n, MANY);
    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof(name), "host%d.example.com.", i);
        assert_int_equal(lookup(&l, name), i);
        snprintf(name, sizeof(name), "mail%d.example.com.", i);
        assert_int_equal(lookup(&l, name), MXG_HSET_NONE);
    }
    names_free(&l);
}

static void test_collisions(void **state)
{
    enum { N = 100, N2 = 2 * N, N3 = 3 * N };
    struct mxg_hset s = {0};
    unsigned seen[N3];
    const uint64_t same = 0x0123456789abcdefULL;
    /* N entries of one 64-bit hash, N more whose hash differs only above the low 32 bits (the
     * set keeps only those: they are candidates too), N of other hashes in between. */
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(mxg_hset_insert(&s, same, i), MXG_OK);
        assert_int_equal(mxg_hset_insert(&s, same ^ ((uint64_t)(i + 1) << 40), N + i), MXG_OK);
        assert_int_equal(mxg_hset_insert(&s, same + i + 1, N2 + i), MXG_OK);
    }
    assert_int_equal(candidates(&s, same, seen, N3), N2);
    for (size_t i = 0; i < N2; i++)
        assert_int_equal(seen[i], 1);
    for (size_t i = N2; i < N3; i++)
        assert_int_equal(seen[i], 0);
    /* Each of the others is found alone. */
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(candidates(&s, same + i + 1, seen, N3), 1);
        assert_int_equal(seen[N2 + i], 1);
    }
    assert_int_equal(candidates(&s, ~same, seen, N3), 0);
    mxg_hset_free(&s);
}

static void test_growth(void **state)
{
    enum { N = 5000 };
    struct mxg_hset s = {0};
    unsigned seen[N];
    /* Hashes that share their low 12 bits: up to 4096 slots they all have the last slot for
     * home (one run, wrapping around the end of the table), then two, then four. */
    size_t grew = 0, nslots = 0;
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(mxg_hset_insert(&s, ((uint64_t)i << 12) | 0xfff, i), MXG_OK);
        if (s.nslots != nslots) {
            grew++;
            nslots = s.nslots;
        }
        assert_true(s.n * 2 <= s.nslots);
    }
    assert_int_equal(s.nslots, 16384);
    assert_true(grew > 5);
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(candidates(&s, ((uint64_t)i << 12) | 0xfff, seen, N), 1);
        assert_int_equal(seen[i], 1);
    }
    mxg_hset_free(&s);
}

static void test_reserve(void **state)
{
    struct mxg_hset s = {0};
    assert_int_equal(mxg_hset_reserve(&s, 100), MXG_OK);
    assert_int_equal(s.nslots, 256);
    const uint64_t *before = s.slots;
    for (uint32_t i = 0; i < 100; i++)
        assert_int_equal(mxg_hset_insert(&s, mxg_hash_bytes(&i, sizeof(i)), i), MXG_OK);
    assert_ptr_equal(s.slots, before); /* no growth up to what was reserved */
    assert_int_equal(mxg_hset_reserve(&s, 10), MXG_OK);
    assert_int_equal(s.nslots, 256); /* never shrinks */

    /* Past the limit, and an index that cannot be stored: refused, the set unchanged. */
    assert_int_equal(mxg_hset_reserve(&s, MXG_HSET_MAX + 1), MXG_ENOMEM);
    assert_int_equal(mxg_hset_reserve(&s, SIZE_MAX), MXG_ENOMEM);
    assert_int_equal(mxg_hset_insert(&s, 7, MXG_HSET_NONE), MXG_EINVAL);
    assert_ptr_equal(s.slots, before);
    assert_int_equal(s.nslots, 256);
    assert_int_equal(s.n, 100);
    unsigned seen[100];
    for (uint32_t i = 0; i < 100; i++) {
        assert_int_equal(candidates(&s, mxg_hash_bytes(&i, sizeof(i)), seen, 100), 1);
        assert_int_equal(seen[i], 1);
    }
    assert_int_equal(candidates(&s, 7, seen, 100), 0);
    /* The largest index there is. */
    assert_int_equal(mxg_hset_insert(&s, 7, MXG_HSET_NONE - 1), MXG_OK);
    struct mxg_hset_probe p;
    assert_int_equal(mxg_hset_first(&s, 7, &p), MXG_HSET_NONE - 1);
    assert_int_equal(mxg_hset_next(&p), MXG_HSET_NONE);
    mxg_hset_free(&s);
}

static void test_clear(void **state)
{
    struct names l = {0};
    l.v = calloc(200, sizeof(*l.v));
    assert_non_null(l.v);
    char name[64];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "old%d.example.", i);
        names_add(&l, name);
    }
    const uint64_t *slots = l.index.slots;
    size_t nslots = l.index.nslots;
    mxg_hset_clear(&l.index);
    assert_int_equal(l.index.n, 0);
    assert_ptr_equal(l.index.slots, slots); /* the slots are kept */
    assert_int_equal(l.index.nslots, nslots);
    for (size_t i = 0; i < nslots; i++)
        assert_int_equal(l.index.slots[i], 0);
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "old%d.example.", i);
        assert_int_equal(lookup(&l, name), MXG_HSET_NONE);
    }
    /* Reused for other entries, in the same array after the old ones. */
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "new%d.example.", i);
        names_add(&l, name);
    }
    assert_int_equal(l.index.n, 100);
    assert_ptr_equal(l.index.slots, slots);
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "new%d.example.", i);
        assert_int_equal(lookup(&l, name), 100 + i);
        snprintf(name, sizeof(name), "old%d.example.", i);
        assert_int_equal(lookup(&l, name), MXG_HSET_NONE);
    }
    names_free(&l);
}

static uint64_t hash_in(const void *ctx, uint32_t i)
{
    return ((const uint64_t *)ctx)[i];
}

/* Emptied through its entries: every slot zero again, also where entries collided and sat in
 * each other's way (the walk goes past slots already zeroed), and the set takes entries again;
 * a set more than an eighth full is emptied whole. */
static void test_clear_entries(void **state)
{
    struct mxg_hset s = {0};
    assert_int_equal(mxg_hset_reserve(&s, 4096), MXG_OK);
    uint64_t h[300];
    for (uint32_t i = 0; i < 300; i++) {
        /* runs of one home slot, and hashes equal in their low 32 bits */
        h[i] = i < 100 ? 7 : i < 200 ? ((uint64_t)i << 32) | 7u : (uint64_t)i * 2654435761u;
        assert_int_equal(mxg_hset_insert(&s, h[i], i), MXG_OK);
    }
    size_t nslots = s.nslots;
    assert_true(s.n * 8 < nslots);
    mxg_hset_clear_entries(&s, hash_in, h);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.nslots, nslots);
    for (size_t j = 0; j < s.nslots; j++)
        assert_int_equal(s.slots[j], 0);
    assert_int_equal(mxg_hset_insert(&s, 7, 0), MXG_OK);
    struct mxg_hset_probe p;
    assert_int_equal(mxg_hset_first(&s, 7, &p), 0);
    assert_int_equal(mxg_hset_next(&p), MXG_HSET_NONE);
    /* Nearly full: emptied whole. */
    mxg_hset_clear(&s);
    for (uint32_t i = 0; i < 2000; i++)
        assert_int_equal(mxg_hset_insert(&s, (uint64_t)i * 40503u, i), MXG_OK);
    uint64_t hb[2000];
    for (uint32_t i = 0; i < 2000; i++)
        hb[i] = (uint64_t)i * 40503u;
    mxg_hset_clear_entries(&s, hash_in, hb);
    assert_int_equal(s.n, 0);
    for (size_t j = 0; j < s.nslots; j++)
        assert_int_equal(s.slots[j], 0);
    mxg_hset_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),         cmocka_unit_test(test_many),
        cmocka_unit_test(test_collisions),    cmocka_unit_test(test_growth),
        cmocka_unit_test(test_reserve),       cmocka_unit_test(test_clear),
        cmocka_unit_test(test_clear_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
