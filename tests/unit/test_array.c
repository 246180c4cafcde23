/* test_array.c -- the growable array (array.h): room made by doubling from the first capacity,
 * a need past the double, and a size that cannot be allocated refused with nothing changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "mxg/array.h"
#include "mxg/err.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubling),
        cmocka_unit_test(test_too_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
