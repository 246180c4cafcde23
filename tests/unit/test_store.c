/* test_store.c -- the SQLite engine behind the store interface. */
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

#include "mxg/err.h"
#include "mxg/store.h"

struct fixture {
    char path[64];
    struct mxg_store *st;
    int64_t zone;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];
    snprintf(f->path, sizeof(f->path), "/tmp/mxg-test-store.XXXXXX");
    int fd = mkstemp(f->path);
    close(fd);
    unlink(f->path);
    char uri[80];
    snprintf(uri, sizeof(uri), "sqlite:%s", f->path);
    assert_int_equal(mxg_store_open(uri, &f->st, err, sizeof(err)), MXG_OK);
    assert_int_equal(
        MXG_STORE_CALL(f->st, zone_add, "example.com.", MXG_KIND_NATIVE, NULL, &f->zone), MXG_OK);
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

static void add(struct mxg_store *st, int64_t id, const char *name, const char *type,
                const char *content)
{
    struct mxg_record r = {.name = name, .type = type, .content = content, .ttl = 60, .auth = true};
    assert_int_equal(MXG_STORE_CALL(st, record_add, id, &r), MXG_OK);
}

struct collect {
    int n;
    char content[8][128];
    char type[8][16];
};

static int collect_cb(void *ctx, const struct mxg_record *r)
{
    struct collect *c = ctx;
    if (c->n < 8) {
        snprintf(c->content[c->n], sizeof(c->content[0]), "%s", r->content);
        snprintf(c->type[c->n], sizeof(c->type[0]), "%s", r->type);
    }
    c->n++;
    return 0;
}

static bool below(struct mxg_store *st, int64_t zone, const char *name)
{
    bool b = false;
    assert_int_equal(MXG_STORE_CALL(st, has_below, zone, name, &b), MXG_OK);
    return b;
}

static void test_writes_need_a_transaction(void **state)
{
    struct fixture *f = *state;
    struct mxg_record r = {.name = "www.example.com.", .type = "A", .content = "192.0.2.1"};
    assert_int_equal(MXG_STORE_CALL(f->st, record_add, f->zone, &r), MXG_ETXN);
    assert_int_equal(MXG_STORE_CALL(f->st, rrset_delete, f->zone, "www.example.com.", "A"),
                     MXG_ETXN);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_clear, f->zone), MXG_ETXN);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_ETXN);
    assert_int_equal(MXG_STORE_CALL0(f->st, rollback), MXG_ETXN);
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_ETXN);
    assert_int_equal(MXG_STORE_CALL0(f->st, rollback), MXG_OK);
}

static void test_prio_split_like_gsql(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    add(f->st, f->zone, "example.com.", "MX", "10 mail.example.com");
    add(f->st, f->zone, "_sip._tcp.example.com.", "SRV", "0 5 5060 sip.example.com");
    struct mxg_record bad = {.name = "example.com.", .type = "MX", .content = "x"};
    assert_int_equal(MXG_STORE_CALL(f->st, record_add, f->zone, &bad), MXG_EINVAL);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    struct collect c = {0};
    assert_int_equal(MXG_STORE_CALL(f->st, lookup, f->zone, "example.com.", "MX", collect_cb, &c),
                     MXG_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.content[0], "10 mail.example.com");
    memset(&c, 0, sizeof(c));
    MXG_STORE_CALL(f->st, lookup, f->zone, "_sip._tcp.example.com.", NULL, collect_cb, &c);
    assert_string_equal(c.content[0], "0 5 5060 sip.example.com");
    /* In the table itself, pdns's layout: prio column + content without it. */
    sqlite3 *db;
    sqlite3_open(f->path, &db);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db, "SELECT prio, content FROM records WHERE type='MX'", -1, &q, NULL);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 10);
    assert_string_equal((const char *)sqlite3_column_text(q, 1), "mail.example.com");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

static void test_name_index_follows_writes(void **state)
{
    struct fixture *f = *state;
    assert_false(below(f->st, f->zone, "_tcp.example.com."));
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    add(f->st, f->zone, "_sip._tcp.example.com.", "SRV", "0 5 5060 sip.example.com");
    add(f->st, f->zone, "_sip._tcp.example.com.", "TXT", "\"x\"");
    /* Reads inside the transaction see it. */
    assert_true(below(f->st, f->zone, "_tcp.example.com."));
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    assert_true(below(f->st, f->zone, "_tcp.example.com."));
    assert_true(below(f->st, f->zone, "example.com."));
    assert_true(below(f->st, f->zone, "."));
    assert_false(below(f->st, f->zone, "_sip._tcp.example.com."));
    assert_false(below(f->st, f->zone, "tcp.example.com."));
    assert_false(below(f->st, f->zone, "x_tcp.example.com."));
    /* Deleting one type keeps the name; deleting the last one drops it. */
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, rrset_delete, f->zone, "_sip._tcp.example.com.", "SRV"),
                     MXG_OK);
    assert_true(below(f->st, f->zone, "_tcp.example.com."));
    assert_int_equal(MXG_STORE_CALL(f->st, rrset_delete, f->zone, "_sip._tcp.example.com.", NULL),
                     MXG_OK);
    assert_false(below(f->st, f->zone, "_tcp.example.com."));
    /* Rollback restores both records and index. */
    assert_int_equal(MXG_STORE_CALL0(f->st, rollback), MXG_OK);
    assert_true(below(f->st, f->zone, "_tcp.example.com."));
    /* zone_clear empties records and index. */
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_clear, f->zone), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    assert_false(below(f->st, f->zone, "_tcp.example.com."));
}

static int meta_count(void *ctx, const char *kind, const char *value)
{
    (*(int *)ctx)++;
    return 0;
}

static void test_zones_and_metadata(void **state)
{
    struct fixture *f = *state;
    int64_t id2 = 0;
    assert_int_equal(MXG_STORE_CALL(f->st, zone_add, "EXAMPLE.com.", MXG_KIND_NATIVE, NULL, &id2),
                     MXG_EEXIST);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_add, "sub.example.com.", MXG_KIND_SLAVE,
                                    "192.0.2.1,192.0.2.2:5300", &id2),
                     MXG_OK);
    struct mxg_zone z;
    assert_int_equal(MXG_STORE_CALL(f->st, zone_get, "sub.example.com.", &z), MXG_OK);
    assert_int_equal(z.kind, MXG_KIND_SLAVE);
    assert_string_equal(z.masters, "192.0.2.1,192.0.2.2:5300");
    assert_false(z.has_soa);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_get_by_id, id2, &z), MXG_OK);
    assert_string_equal(z.name, "sub.example.com.");
    assert_int_equal(MXG_STORE_CALL(f->st, zone_get, "nope.example.", &z), MXG_ENOENT);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_set_notified, id2, 7), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_set_notified, 9999, 7), MXG_ENOENT);

    const char *vals[] = {"a", "b"};
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, meta_set, id2, "ALSO-NOTIFY", vals, 2), MXG_OK);
    add(f->st, id2, "sub.example.com.", "SOA", "a.example b.example 5 1 1 1 1");
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    int n = 0;
    MXG_STORE_CALL(f->st, meta_list, id2, "also-notify", meta_count, &n);
    assert_int_equal(n, 2); /* kinds compare case-insensitively, as in pdns's schema */
    assert_int_equal(MXG_STORE_CALL(f->st, zone_get, "sub.example.com.", &z), MXG_OK);
    assert_true(z.has_soa);
    assert_int_equal(z.serial, 5);

    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_delete, id2), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    n = 0;
    MXG_STORE_CALL(f->st, meta_list, id2, NULL, meta_count, &n);
    assert_int_equal(n, 0); /* cascaded */
    struct collect c = {0};
    MXG_STORE_CALL(f->st, lookup, id2, "sub.example.com.", NULL, collect_cb, &c);
    assert_int_equal(c.n, 0);
}

static void test_reopen_and_version_check(void **state)
{
    struct fixture *f = *state;
    char err[256], uri[80];
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    add(f->st, f->zone, "a.b.example.com.", "A", "192.0.2.9");
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    mxg_store_close(f->st);
    f->st = NULL;
    snprintf(uri, sizeof(uri), "sqlite:%s", f->path);
    assert_int_equal(mxg_store_open(uri, &f->st, err, sizeof(err)), MXG_OK);
    assert_true(below(f->st, f->zone, "b.example.com."));
    mxg_store_close(f->st);
    f->st = NULL;
    /* A database written by pdns itself (no mxguard tables): the name index is built. */
    sqlite3 *db;
    sqlite3_open(f->path, &db);
    sqlite3_exec(db, "DROP TABLE mxg_names; DROP TABLE mxg_meta;", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(mxg_store_open(uri, &f->st, err, sizeof(err)), MXG_OK);
    assert_true(below(f->st, f->zone, "b.example.com."));
    mxg_store_close(f->st);
    f->st = NULL;
    /* A newer schema is refused rather than misread. */
    sqlite3_open(f->path, &db);
    sqlite3_exec(db, "UPDATE mxg_meta SET value='99' WHERE key='schema_version'", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_not_equal(mxg_store_open(uri, &f->st, err, sizeof(err)), MXG_OK);
    assert_non_null(strstr(err, "newer"));
    f->st = NULL;
    sqlite3_open(f->path, &db);
    sqlite3_exec(db, "UPDATE mxg_meta SET value='1' WHERE key='schema_version'", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(mxg_store_open(uri, &f->st, err, sizeof(err)), MXG_OK);
}

static int count_www(struct mxg_store *st, int64_t zone)
{
    struct collect c = {0};
    assert_int_equal(MXG_STORE_CALL(st, lookup, zone, "www.example.com.", NULL, collect_cb, &c),
                     MXG_OK);
    return c.n;
}

/* batch_reads: reads share a snapshot until end_reads; a write on the handle ends it first and
 * sees the newest data; another handle's commit becomes visible at end_reads. */
static void test_batch_reads(void **state)
{
    struct fixture *f = *state;
    char err[256], uri[80];
    struct mxg_store *w = NULL;
    snprintf(uri, sizeof(uri), "sqlite:%s", f->path);
    assert_int_equal(mxg_store_open(uri, &w, err, sizeof(err)), MXG_OK);

    mxg_store_batch_reads(f->st, true);
    assert_int_equal(count_www(f->st, f->zone), 0);
    assert_int_equal(MXG_STORE_CALL0(w, begin), MXG_OK);
    add(w, f->zone, "www.example.com.", "A", "192.0.2.1");
    assert_int_equal(MXG_STORE_CALL0(w, commit), MXG_OK);
    assert_int_equal(count_www(f->st, f->zone), 0); /* the same snapshot */
    mxg_store_end_reads(f->st);
    assert_int_equal(count_www(f->st, f->zone), 1); /* a new one */

    /* The other handle commits again; this handle's own write transaction must not fail on
     * its stale snapshot, and sees the newest data. */
    assert_int_equal(MXG_STORE_CALL0(w, begin), MXG_OK);
    add(w, f->zone, "www.example.com.", "A", "192.0.2.2");
    assert_int_equal(MXG_STORE_CALL0(w, commit), MXG_OK);
    assert_int_equal(count_www(f->st, f->zone), 1);
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(count_www(f->st, f->zone), 2);
    add(f->st, f->zone, "www.example.com.", "A", "192.0.2.3");
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    assert_int_equal(count_www(f->st, f->zone), 3);

    /* A write outside a transaction (zone bookkeeping) also ends the snapshot first. */
    assert_int_equal(count_www(w, f->zone), 3);
    assert_int_equal(MXG_STORE_CALL0(w, begin), MXG_OK);
    add(w, f->zone, "www.example.com.", "A", "192.0.2.4");
    assert_int_equal(MXG_STORE_CALL0(w, commit), MXG_OK);
    assert_int_equal(count_www(f->st, f->zone), 3);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_set_notified, f->zone, 7), MXG_OK);
    assert_int_equal(count_www(f->st, f->zone), 4);
    struct mxg_zone z;
    assert_int_equal(MXG_STORE_CALL(w, zone_get_by_id, f->zone, &z), MXG_OK);
    assert_int_equal(z.notified_serial, 7);

    /* Off: every read sees the newest data again. */
    mxg_store_batch_reads(f->st, false);
    assert_int_equal(MXG_STORE_CALL0(w, begin), MXG_OK);
    add(w, f->zone, "www.example.com.", "A", "192.0.2.5");
    assert_int_equal(MXG_STORE_CALL0(w, commit), MXG_OK);
    assert_int_equal(count_www(f->st, f->zone), 5);
    mxg_store_close(w);
}

static void test_open_errors(void **state)
{
    struct mxg_store *st = NULL;
    char err[256];
    assert_int_equal(mxg_store_open("mysql://x", &st, err, sizeof(err)), MXG_EINVAL);
    assert_int_equal(mxg_store_open("postgresql://db/x", &st, err, sizeof(err)), MXG_EUNSUPP);
    assert_int_equal(mxg_store_open("sqlite:", &st, err, sizeof(err)), MXG_EINVAL);
    assert_int_not_equal(mxg_store_open("sqlite:/nonexistent-dir/x.sqlite3", &st, err, sizeof(err)),
                         MXG_OK);
    assert_null(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writes_need_a_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prio_split_like_gsql, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_index_follows_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zones_and_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_and_version_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_reads, setup, teardown),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
