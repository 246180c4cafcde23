/* test_array.c -- the growable array (array.h): room made by doubling from the first capacity,
 * a need past the double, and a size that cannot be allocated refused with nothing changed;
 * the text buffer built on it (strbuf.h): pieces joined, room reserved at once, and a failed
 * allocation that turns every later call into a no-op. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxg/array.h"
#include "mxg/err.h"
#include "mxg/strbuf.h"

struct ints {
    int *v;
    size_t n, cap;
};

static void test_doubling(void **state)
{
    struct ints l = {0};
    for (int i = 0; i < 100; i++) {
        assert_int_equal(MXG_ARRAY_RESERVE(l.v, l.cap, l.n + 1, 4), MXG_OK);
        l.v[l.n++] = i;
    }
    assert_int_equal(l.cap, 128); /* 4, 8, ..., 128 */
    for (int i = 0; i < 100; i++)
        assert_int_equal(l.v[i], i);
    /* Enough room already: nothing moves. */
    int *before = l.v;
    assert_int_equal(MXG_ARRAY_RESERVE(l.v, l.cap, 128, 4), MXG_OK);
    assert_ptr_equal(l.v, before);
    /* A need past the double. */
    assert_int_equal(MXG_ARRAY_RESERVE(l.v, l.cap, 1000, 4), MXG_OK);
    assert_int_equal(l.cap, 1024);
    assert_int_equal(l.v[99], 99);
    free(l.v);
}

static void test_too_big(void **state)
{
    struct ints l = {0};
    assert_int_equal(MXG_ARRAY_RESERVE(l.v, l.cap, 10, 4), MXG_OK);
    int *before = l.v;
    assert_int_equal(MXG_ARRAY_RESERVE(l.v, l.cap, SIZE_MAX / 2, 4), MXG_ENOMEM);
    assert_ptr_equal(l.v, before);
    assert_int_equal(l.cap, 16);
    free(l.v);
}

static void test_strbuf(void **state)
{
    struct mxg_strbuf b = {0};
    for (int i = 0; i < 2000; i++)
        mxg_strbuf_puts(&b, "abc");
    mxg_strbuf_put(&b, "de", 1);
    assert_false(b.failed);
    assert_int_equal(b.len, 6001);
    assert_int_equal(strlen(b.p), 6001);
    assert_int_equal(b.p[6000], 'd');
    assert_int_equal(b.cap, 8192); /* 4096, then doubled */
    /* Reserved at once: exactly what is asked, no doubling past it. */
    mxg_strbuf_reserve(&b, 100000);
    assert_int_equal(b.cap, 6001 + 100000 + 1);
    char *before = b.p;
    mxg_strbuf_puts(&b, "x");
    assert_ptr_equal(b.p, before);
    free(b.p);
}

static void test_strbuf_failed(void **state)
{
    struct mxg_strbuf b = {0};
    mxg_strbuf_puts(&b, "kept");
    mxg_strbuf_reserve(&b, SIZE_MAX - 2); /* len + n + 1 would wrap around */
    assert_true(b.failed);
    mxg_strbuf_puts(&b, "dropped");
    assert_int_equal(b.len, 4);
    assert_string_equal(b.p, "kept");
    free(b.p);
}

static int cmp_plain(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* mxg_strsort() puts strings in strcmp's order: names sharing their first 8 bytes, shorter and
 * longer than 8, the empty string, bytes above 0x7f, duplicates; each item keeps its data. */
static void test_strsort(void **state)
{
    (void)state;
    enum { N = 3000 };
    static const char *const FIXED[] = {"",
                                        "a",
                                        "ab",
                                        "abcdefg",
                                        "abcdefgh",
                                        "abcdefghi",
                                        "abcdefgh",
                                        "abcdefgi",
                                        "\xc3\xa9t\xc3\xa9",
                                        "\x7f",
                                        "\x80",
                                        "h1.bench.example.",
                                        "h10.bench.example.",
                                        "h1.bench.example."};
    const size_t nfixed = sizeof(FIXED) / sizeof(FIXED[0]);
    char(*buf)[24] = calloc(N, sizeof(*buf));
    const char **plain = calloc(N, sizeof(*plain));
    struct mxg_strsort_item *items = calloc(N, sizeof(*items));
    assert_non_null(buf);
    assert_non_null(plain);
    assert_non_null(items);
    unsigned seed = 7;
    for (size_t i = 0; i < N; i++) {
        if (i < nfixed) {
            strcpy(buf[i], FIXED[i]);
        } else {
            size_t len = (seed = seed * 1103515245u + 12345u) >> 16 & 15;
            for (size_t k = 0; k < len; k++) {
                seed = seed * 1103515245u + 12345u;
                /* few distinct bytes, so that many strings share their first 8 */
                buf[i][k] = "ab.\xe9"[seed >> 16 & 3];
            }
        }
        plain[i] = buf[i];
        items[i] = mxg_strsort_item(buf[i], &buf[i]);
    }
    qsort(plain, N, sizeof(*plain), cmp_plain);
    mxg_strsort(items, N);
    for (size_t i = 0; i < N; i++) {
        assert_string_equal(items[i].s, plain[i]);
        assert_ptr_equal(items[i].data, items[i].s);
    }
    mxg_strsort(items, 0);
    mxg_strsort(items, 1);
    free(items);
    free(plain);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubling), cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_strbuf),   cmocka_unit_test(test_strbuf_failed),
        cmocka_unit_test(test_strsort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
