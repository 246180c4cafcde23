/* test_guard.c -- the guard's view of the served zones: which zone serves a name on each side,
 * and that it asks the store once per name while the view lives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mxg/audit.h"
#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/guard.h"
#include "mxg/txn.h"
#include "mxg/zoneops.h"

#include "fixtures.h"
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

static int count_cb(void *ctx, const struct mxg_record *rec)
{
    (void)rec;
    (*(int *)ctx)++;
    return 0;
}

static int newest_record(void *ctx, const struct mxg_audit_row *row)
{
    *(char **)ctx = strdup(row->record);
    return 1;
}

/* A write of thousands of names: its audit record's change list is made on another thread
 * while the rows are written (AUDIT_AHEAD_MIN); the record lists every change, chains and
 * verifies, and the rows are all there. In fix mode a mail move is repaired the same way. */
static void test_large_write_audited(void **state)
{
    struct fixture *f = *state;
    struct mxg_config cfg;
    assert_int_equal(mxg_config_defaults(&cfg), MXG_OK);
    cfg.mode = MXG_MODE_FIX;
    struct mxg_guard_opts opts = {.source = "api", .guarded = true};
    struct mxg_txn *t = NULL;
    assert_int_equal(mxg_txn_new(f->top, "example.com.", false, 0, &t), MXG_OK);
    char name[64], content[64];
    struct mxg_txn_rec r = {
        .type = (char *)(uintptr_t) "A", .content = content, .ttl = 60, .auth = true};
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof(name), "h%d.example.com.", i);
        snprintf(content, sizeof(content), "10.0.%d.%d", i / 256, i % 256);
        assert_int_equal(mxg_txn_add(t, name, &r), MXG_OK);
    }
    struct mxg_txn_rec mx = {.type = (char *)(uintptr_t) "MX",
                             .content = (char *)(uintptr_t) "10 example.com.",
                             .ttl = 60,
                             .auth = true};
    struct mxg_txn_rec a = {.type = (char *)(uintptr_t) "A",
                            .content = (char *)(uintptr_t) "192.0.2.25",
                            .ttl = 60,
                            .auth = true};
    assert_int_equal(mxg_txn_add(t, "example.com.", &mx), MXG_OK);
    assert_int_equal(mxg_txn_add(t, "example.com.", &a), MXG_OK);
    struct mxg_guard_result res = {0};
    assert_int_equal(mxg_guard_commit(f->st, &cfg, t, &opts, &res), MXG_OK);
    assert_true(res.audited);
    assert_false(res.refused);
    assert_int_equal(res.n_changes, 3002);
    mxg_guard_result_free(&res);
    mxg_txn_free(t);

    /* The apex moves away from its mail: fixed, thousands of names alongside. */
    assert_int_equal(mxg_txn_new(f->top, "example.com.", false, 0, &t), MXG_OK);
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof(name), "h%d.example.com.", i);
        snprintf(content, sizeof(content), "10.1.%d.%d", i / 256, i % 256);
        assert_int_equal(mxg_txn_replace(t, name, "A", &r, 1), MXG_OK);
    }
    a.content = (char *)(uintptr_t) "203.0.113.80";
    assert_int_equal(mxg_txn_replace(t, "example.com.", "A", &a, 1), MXG_OK);
    memset(&res, 0, sizeof(res));
    assert_int_equal(mxg_guard_commit(f->st, &cfg, t, &opts, &res), MXG_OK);
    assert_true(res.audited);
    assert_false(res.refused);
    assert_int_equal(res.decision.verdict, MXG_VERDICT_FIX);
    size_t changes = res.n_changes;
    assert_int_equal(changes, 3001);
    mxg_guard_result_free(&res);
    mxg_txn_free(t);

    char *text = NULL;
    struct mxg_audit_filter flt = {.newest_first = true, .limit = 1};
    assert_int_equal(MXG_STORE_CALL(f->st, audit_list, &flt, newest_record, &text), 1);
    json_t *o = json_loads(text, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_array_size(json_object_get(o, "changes")), changes);
    assert_true(json_array_size(json_object_get(o, "fix")) > 0);
    assert_string_equal(json_string_value(json_object_get(o, "verdict")), "fix");
    json_decref(o);
    free(text);
    struct mxg_audit_verify v;
    assert_int_equal(mxg_audit_verify(f->st, NULL, &v), MXG_OK);
    assert_int_equal(v.records, 2);
    int n = 0;
    assert_int_equal(MXG_STORE_CALL(f->st, lookup, f->top, "h2999.example.com.", "A", count_cb, &n),
                     MXG_OK);
    assert_int_equal(n, 1);
    mxg_config_free(&cfg);
}

/* A store holding example.com: its MX names mail.example.com, whose address is 192.0.2.25. */
static struct mxg_store *parent_store(const char *path)
{
    char err[256];
    struct mxg_store *st = NULL;
    assert_int_equal(mxg_store_sqlite_open(path, &st, err, sizeof(err)), MXG_OK);
    int64_t id = 0;
    assert_int_equal(MXG_STORE_CALL(st, zone_add, "example.com.", MXG_KIND_NATIVE, NULL, &id),
                     MXG_OK);
    static const char *const RECS[][3] = {
        {"example.com.", "SOA", "ns1.example.net. hostmaster.example.com. 1 7200 3600 86400 300"},
        {"example.com.", "NS", "ns1.example.net."},
        {"example.com.", "MX", "10 mail.example.com."},
        {"mail.example.com.", "A", "192.0.2.25"},
        {"www.example.com.", "A", "192.0.2.80"}};
    assert_int_equal(MXG_STORE_CALL0(st, begin), MXG_OK);
    for (size_t i = 0; i < sizeof(RECS) / sizeof(RECS[0]); i++) {
        struct mxg_record r = {
            .name = RECS[i][0], .type = RECS[i][1], .content = RECS[i][2], .ttl = 3600};
        assert_int_equal(MXG_STORE_CALL(st, record_add, id, &r), MXG_OK);
    }
    assert_int_equal(MXG_STORE_CALL0(st, commit), MXG_OK);
    return st;
}

/* A zone file for zone: its SOA and NS, its apex at address apex, and n more names. */
static void zone_file(const char *path, const char *zone, const char *apex, int n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "$ORIGIN %s\n$TTL 3600\n@ SOA ns1.example.net. hostmaster 1 2 3 4 5\n"
            "@ NS ns1.example.net.\n@ A %s\n",
            zone, apex);
    for (int i = 0; i < n; i++)
        fprintf(f, i % 3 ? "h%d A 10.0.%d.%d\n" : "h%d MX 10 mail.example.com.\n", i, i / 250,
                i % 250);
    assert_int_equal(fclose(f), 0);
}

static int list_cb(void *ctx, const struct mxg_record *r)
{
    char **acc = ctx;
    size_t old = *acc ? strlen(*acc) : 0;
    size_t add = strlen(r->name) + strlen(r->type) + strlen(r->content) + 4;
    *acc = realloc(*acc, old + add + 1);
    snprintf(*acc + old, add + 1, "%s %s %s|", r->name, r->type, r->content);
    return 0;
}

/* Every zone's records in one string. */
static char *store_text(struct mxg_store *st)
{
    char *acc = strdup("");
    static const char *const ZONES[] = {"example.com.", "mail.example.com.", "big.example.com."};
    for (size_t i = 0; i < 3; i++) {
        struct mxg_zone z;
        if (MXG_STORE_CALL(st, zone_get, ZONES[i], &z) == MXG_OK)
            assert_int_equal(MXG_STORE_CALL(st, list, z.id, list_cb, &acc), MXG_OK);
    }
    return acc;
}

/* An import into a new zone is judged through a second handle while its rows are written
 * (mxg_guard_judge_apply_beside, a store in a file); an in-memory store has no second handle
 * and judges first. Both come to the same decision, the same change list and the same rows:
 * a large new zone allowed, and a new zone that takes the mail host over from its parent
 * refused, nothing of it left. */
static void test_import_beside_same_as_first(void **state)
{
    (void)state;
    char path[64], file[80];
    mxg_test_db_path(path, sizeof(path), "beside");
    snprintf(file, sizeof(file), "%s.zone", path);
    struct mxg_store *stores[2] = {parent_store(path), parent_store(":memory:")};
    struct mxg_store *other = NULL;
    char err[512];
    assert_int_equal(mxg_store_reopen(stores[0], &other, err, sizeof(err)), MXG_OK);
    mxg_store_close(other);
    assert_int_equal(mxg_store_reopen(stores[1], &other, err, sizeof(err)), MXG_EUNSUPP);
    assert_null(other);
    struct mxg_config cfg;
    assert_int_equal(mxg_config_defaults(&cfg), MXG_OK);
    cfg.mode = MXG_MODE_REJECT;

    static const struct {
        const char *zone, *apex;
        int names;
        bool refused;
    } CASES[] = {{"big.example.com.", "192.0.2.80", 3000, false},
                 {"mail.example.com.", "203.0.113.9", 10, true}};
    for (size_t c = 0; c < sizeof(CASES) / sizeof(CASES[0]); c++) {
        zone_file(file, CASES[c].zone, CASES[c].apex, CASES[c].names);
        struct mxg_guard_result res[2] = {{0}};
        char *text[2];
        for (int k = 0; k < 2; k++) {
            size_t count = 0;
            assert_int_equal(mxg_zone_import(stores[k], &cfg, CASES[c].zone, file, &count, &res[k],
                                             err, sizeof(err)),
                             MXG_OK);
            assert_int_equal(res[k].refused, CASES[c].refused);
            assert_true(res[k].audited);
            text[k] = store_text(stores[k]);
        }
        assert_int_equal(res[0].decision.verdict, res[1].decision.verdict);
        assert_int_equal(res[0].decision.n_findings, res[1].decision.n_findings);
        for (size_t i = 0; i < res[0].decision.n_findings; i++)
            assert_string_equal(res[0].decision.findings[i].rule, res[1].decision.findings[i].rule);
        assert_int_equal(res[0].n_changes, res[1].n_changes);
        for (size_t i = 0; i < res[0].n_changes; i++) {
            assert_string_equal(res[0].changes[i].name, res[1].changes[i].name);
            assert_string_equal(res[0].changes[i].type, res[1].changes[i].type);
        }
        assert_string_equal(text[0], text[1]);
        struct mxg_zone z;
        assert_int_equal(MXG_STORE_CALL(stores[0], zone_get, CASES[c].zone, &z),
                         CASES[c].refused ? MXG_ENOENT : MXG_OK);
        for (int k = 0; k < 2; k++) {
            free(text[k]);
            mxg_guard_result_free(&res[k]);
        }
    }
    struct mxg_audit_verify v;
    assert_int_equal(mxg_audit_verify(stores[0], NULL, &v), MXG_OK);
    assert_int_equal(v.records, 2);
    mxg_config_free(&cfg);
    mxg_store_close(stores[0]);
    mxg_store_close(stores[1]);
    unlink(file);
    mxg_test_db_remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_view_remembers_zones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view_memo_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_write_audited, setup, teardown),
        cmocka_unit_test(test_import_beside_same_as_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
