/* test_guard.c -- the guard's view of the served zones: which zone serves a name on each side,
 * and that it asks the store once per name while the view lives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxg/err.h"
#include "mxg/guard.h"
#include "mxg/policy.h"
#include "mxg/store.h"

/* A store that counts zone_get and passes everything the view asks in this test to the real
 * one. */
struct counting {
    struct mxg_store base;
    struct mxg_store_ops ops;
    struct mxg_store *real;
    unsigned zone_gets;
};

static int counting_zone_get(struct mxg_store *st, const char *name, struct mxg_zone *out)
{
    struct counting *c = (struct counting *)st;
    c->zone_gets++;
    return MXG_STORE_CALL(c->real, zone_get, name, out);
}

struct fixture {
    struct mxg_store *st;
    struct counting c;
    int64_t top, sub;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];
    assert_int_equal(mxg_store_sqlite_open(":memory:", &f->st, err, sizeof(err)), MXG_OK);
    assert_int_equal(
        MXG_STORE_CALL(f->st, zone_add, "example.com.", MXG_KIND_NATIVE, NULL, &f->top), MXG_OK);
    assert_int_equal(
        MXG_STORE_CALL(f->st, zone_add, "sub.example.com.", MXG_KIND_NATIVE, NULL, &f->sub),
        MXG_OK);
    f->c.ops = *f->st->ops;
    f->c.ops.zone_get = counting_zone_get;
    f->c.base.ops = &f->c.ops;
    f->c.real = f->st;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mxg_store_close(f->st);
    free(f);
    return 0;
}

/* The apex of name's zone on side, or "-" when no zone serves it. */
static const char *zone_of(const struct mxg_view *v, enum mxg_side side, const char *name)
{
    static char apex[MXG_NAME_TEXT_MAX];
    int rc = v->ops->zone_of(v->ctx, side, name, apex, sizeof(apex));
    if (rc == MXG_ENOENT)
        return "-";
    assert_int_equal(rc, MXG_OK);
    return apex;
}

/* Both sides of a view whose transaction deletes sub.example.com: asked again, the same answers
 * without a single store query more; after mxg_guard_view_done nothing is held. */
static void test_view_remembers_zones(void **state)
{
    struct fixture *f = *state;
    struct mxg_guard_view_ctx vctx = {.st = &f->c.base, .deleted_zone_id = f->sub};
    struct mxg_view view;
    mxg_guard_view(&vctx, &view);
    for (int round = 0; round < 2; round++) {
        unsigned before = f->c.zone_gets;
        assert_string_equal(zone_of(&view, MXG_BEFORE, "www.sub.example.com."), "sub.example.com.");
        assert_string_equal(zone_of(&view, MXG_AFTER, "www.sub.example.com."), "example.com.");
        assert_string_equal(zone_of(&view, MXG_AFTER, "sub.example.com."), "example.com.");
        assert_string_equal(zone_of(&view, MXG_BEFORE, "example.com."), "example.com.");
        assert_string_equal(zone_of(&view, MXG_BEFORE, "a.b.nowhere.test."), "-");
        assert_string_equal(zone_of(&view, MXG_AFTER, "a.b.nowhere.test."), "-");
        if (round == 0)
            /* www.sub, sub, example.com, a.b.nowhere.test, b.nowhere.test, nowhere.test, test,
             * and the root: one query each. */
            assert_int_equal(f->c.zone_gets - before, 8);
        else
            assert_int_equal(f->c.zone_gets, before);
    }
    mxg_guard_view_done(&vctx);
    assert_null(vctx.memo);
    mxg_guard_view_done(&vctx); /* twice is harmless */
}

/* The view keeps at most 65,536 names: past that the store answers, and answers the same. */
static void test_view_memo_is_bounded(void **state)
{
    struct fixture *f = *state;
    struct mxg_guard_view_ctx vctx = {.st = &f->c.base};
    struct mxg_view view;
    mxg_guard_view(&vctx, &view);
    char name[64];
    for (unsigned i = 0; i < 70000; i++) {
        snprintf(name, sizeof(name), "h%u.example.com.", i);
        assert_string_equal(zone_of(&view, MXG_BEFORE, name), "example.com.");
    }
    unsigned before = f->c.zone_gets;
    assert_string_equal(zone_of(&view, MXG_BEFORE, "h0.example.com."), "example.com.");
    assert_int_equal(f->c.zone_gets, before); /* remembered */
    assert_string_equal(zone_of(&view, MXG_BEFORE, "h69999.example.com."), "example.com.");
    assert_int_equal(f->c.zone_gets, before + 1); /* past the bound: asked again */
    mxg_guard_view_done(&vctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_view_remembers_zones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view_memo_is_bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
