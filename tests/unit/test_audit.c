/* test_audit.c -- audit records: canonical JSON, hash chain, verification and tampering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "mxg/audit.h"
#include "mxg/err.h"
#include "mxg/store.h"

struct fixture {
    char path[64];
    struct mxg_store *st;
};

static void append(struct mxg_store *st, const char *zone, int64_t want_seq)
{
    struct mxg_rrdata before = {.content = (char *)(uintptr_t) "10.0.1.100", .ttl = 3600};
    struct mxg_rrdata after = {.content = (char *)(uintptr_t) "203.0.113.7", .ttl = 300};
    struct mxg_rrset_change ch = {.name = (char *)(uintptr_t)zone,
                                  .type = (char *)(uintptr_t) "A",
                                  .before = &before,
                                  .n_before = 1,
                                  .after = &after,
                                  .n_after = 1};
    struct mxg_audit_entry e = {
        .zone = zone, .source = "api", .mode = "reject", .changes = &ch, .n_changes = 1};
    int64_t seq = 0;
    char hash[MXG_HASH_HEX];
    assert_int_equal(MXG_STORE_CALL0(st, begin), MXG_OK);
    assert_int_equal(mxg_audit_append(st, &e, &seq, hash, NULL), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(st, commit), MXG_OK);
    assert_int_equal(seq, want_seq);
    assert_int_equal(strlen(hash), 64);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[128], uri[96];
    snprintf(f->path, sizeof(f->path), "/tmp/mxg-test-audit.XXXXXX");
    int fd = mkstemp(f->path);
    close(fd);
    unlink(f->path);
    snprintf(uri, sizeof(uri), "sqlite:%s", f->path);
    assert_int_equal(mxg_store_open(uri, &f->st, err, sizeof(err)), MXG_OK);
    for (int i = 1; i <= 5; i++)
        append(f->st, i % 2 ? "example.com." : "example.net.", i);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mxg_store_close(f->st);
    char p[100];
    unlink(f->path);
    snprintf(p, sizeof(p), "%s-wal", f->path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", f->path);
    unlink(p);
    free(f);
    return 0;
}

static void sql(struct fixture *f, const char *q)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_chain_verifies(void **state)
{
    struct fixture *f = *state;
    struct mxg_audit_verify v;
    assert_int_equal(mxg_audit_verify(f->st, NULL, &v), MXG_OK);
    assert_int_equal(v.records, 5);
    assert_int_equal(v.head_seq, 5);
    char head[96];
    snprintf(head, sizeof(head), "5:%s", v.head_hash);
    assert_int_equal(mxg_audit_verify(f->st, head, &v), MXG_OK);
    /* A wrong or malformed expected head. */
    head[5] = head[5] == 'a' ? 'b' : 'a';
    assert_int_equal(mxg_audit_verify(f->st, head, &v), MXG_EINVAL);
    assert_int_equal(mxg_audit_verify(f->st, "5:xyz", &v), MXG_EPARSE);
    assert_int_equal(mxg_audit_verify(f->st, "nonsense", &v), MXG_EPARSE);
}

struct first {
    int64_t seq;
    char rec[4096];
};

static int first_cb(void *ctx, int64_t seq, const char *record)
{
    struct first *fr = ctx;
    fr->seq = seq;
    snprintf(fr->rec, sizeof(fr->rec), "%s", record);
    return 1;
}

static void test_record_shape_and_hash(void **state)
{
    struct fixture *f = *state;
    struct mxg_audit_filter flt = {.after_seq = 0};
    struct first fr = {0};
    assert_int_equal(MXG_STORE_CALL(f->st, audit_list, &flt, first_cb, &fr), 1);
    json_t *o = json_loads(fr.rec, 0, NULL);
    assert_non_null(o);
    const char *keys[] = {"seq",      "time",    "zone", "source", "mode", "verdict",
                          "findings", "changes", "fix",  "prev",   "hash"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_non_null(json_object_get(o, keys[i]));
    assert_string_equal(json_string_value(json_object_get(o, "prev")),
                        "0000000000000000000000000000000000000000000000000000000000000000");
    assert_string_equal(json_string_value(json_object_get(o, "verdict")), "allow");
    const char *time = json_string_value(json_object_get(o, "time"));
    assert_int_equal(strlen(time), 24); /* 2026-11-23T20:10:00.123Z */
    assert_int_equal(time[23], 'Z');
    /* The stored text is the canonical form: re-serialising changes nothing. */
    char *canon = mxg_audit_canonical(o);
    assert_string_equal(canon, fr.rec);
    free(canon);
    char h[MXG_HASH_HEX];
    assert_int_equal(mxg_audit_hash(o, h), MXG_OK);
    assert_string_equal(h, json_string_value(json_object_get(o, "hash")));
    json_decref(o);
}

static void test_edit_detected(void **state)
{
    struct fixture *f = *state;
    sql(f, "UPDATE mxg_audit SET record = replace(record, '203.0.113.7', '203.0.113.8')"
           " WHERE seq = 3");
    struct mxg_audit_verify v;
    assert_int_equal(mxg_audit_verify(f->st, NULL, &v), MXG_EINVAL);
    assert_int_equal(v.first_bad, 3);
    assert_non_null(strstr(v.reason, "altered"));
}

static void test_delete_detected(void **state)
{
    struct fixture *f = *state;
    sql(f, "DELETE FROM mxg_audit WHERE seq = 2");
    struct mxg_audit_verify v;
    assert_int_equal(mxg_audit_verify(f->st, NULL, &v), MXG_EINVAL);
    assert_int_equal(v.first_bad, 2);
    assert_non_null(strstr(v.reason, "missing"));
}

static void test_reorder_detected(void **state)
{
    struct fixture *f = *state;
    sql(f, "UPDATE mxg_audit SET seq = -seq WHERE seq IN (2, 3);"
           "UPDATE mxg_audit SET seq = 3 WHERE seq = -2;"
           "UPDATE mxg_audit SET seq = 2 WHERE seq = -3;");
    struct mxg_audit_verify v;
    assert_int_equal(mxg_audit_verify(f->st, NULL, &v), MXG_EINVAL);
    assert_int_equal(v.first_bad, 2);
}

static void test_cut_off_needs_expected_head(void **state)
{
    struct fixture *f = *state;
    struct mxg_audit_verify v;
    assert_int_equal(mxg_audit_verify(f->st, NULL, &v), MXG_OK);
    char head[96];
    snprintf(head, sizeof(head), "5:%s", v.head_hash);
    sql(f, "DELETE FROM mxg_audit WHERE seq >= 4");
    assert_int_equal(mxg_audit_verify(f->st, NULL, &v), MXG_OK); /* the chain alone is fine */
    assert_int_equal(mxg_audit_verify(f->st, head, &v), MXG_EINVAL);
    assert_int_equal(v.first_bad, 5);
    assert_non_null(strstr(v.reason, "cut off"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chain_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_shape_and_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reorder_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_off_needs_expected_head, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
