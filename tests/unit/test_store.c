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

#include "fixtures.h"

struct fixture {
    char path[64];
    struct mxg_store *st;
    int64_t zone;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];
    mxg_test_db_path(f->path, sizeof(f->path), "store");
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
    mxg_test_db_remove(f->path);
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
    assert_int_equal(
        MXG_STORE_CALL(f->st, lookup, f->zone, "_sip._tcp.example.com.", NULL, collect_cb, &c),
        MXG_OK);
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

/* Rows that name zone id in every table that refers to a zone. */
static int rows_of_zone(const char *path, int64_t id)
{
    static const char *const TABLES[] = {"records",  "domainmetadata", "cryptokeys",
                                         "comments", "mxg_names",      "mxg_targets"};
    sqlite3 *db;
    int n = 0;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    for (size_t i = 0; i < sizeof(TABLES) / sizeof(TABLES[0]); i++) {
        char query[128];
        sqlite3_stmt *q;
        snprintf(query, sizeof(query), "SELECT count(*) FROM %s WHERE domain_id = %lld", TABLES[i],
                 (long long)id);
        assert_int_equal(sqlite3_prepare_v2(db, query, -1, &q, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        n += sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return n;
}

static void sql(const char *path, const char *text)
{
    sqlite3 *db;
    char *msg = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", text, msg ? msg : "?");
    sqlite3_close(db);
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
    assert_int_equal(MXG_STORE_CALL(f->st, meta_list, id2, "also-notify", meta_count, &n), MXG_OK);
    assert_int_equal(n, 2); /* kinds compare case-insensitively, as in pdns's schema */
    assert_int_equal(MXG_STORE_CALL(f->st, zone_get, "sub.example.com.", &z), MXG_OK);
    assert_true(z.has_soa);
    assert_int_equal(z.serial, 5);

    struct mxg_key k = {.flags = 257, .active = true, .published = true, .content = "x"};
    int64_t kid = 0;
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, key_add, id2, &k, &kid), MXG_OK);
    add(f->st, id2, "mail.sub.example.com.", "MX", "10 mx.sub.example.com.");
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    char comment[160];
    snprintf(comment, sizeof(comment),
             "INSERT INTO comments (domain_id, name, type, modified_at, comment)"
             " VALUES (%lld, 'sub.example.com', 'SOA', 1, 'c')",
             (long long)id2);
    sql(f->path, comment);
    assert_int_equal(rows_of_zone(f->path, id2),
                     9); /* 2 records, 2 metadata, a key, a comment, 2 names, a target */

    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_delete, id2), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    /* Every row of the zone goes with it, as pdns's gsqlite3 deletes a zone. */
    assert_int_equal(rows_of_zone(f->path, id2), 0);
    assert_true(rows_of_zone(f->path, f->zone) == 0); /* the other zone has none to lose */
    n = 0;
    assert_int_equal(MXG_STORE_CALL(f->st, meta_list, id2, NULL, meta_count, &n), MXG_OK);
    assert_int_equal(n, 0);
    struct collect c = {0};
    assert_int_equal(MXG_STORE_CALL(f->st, lookup, id2, "sub.example.com.", NULL, collect_cb, &c),
                     MXG_OK);
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

static int page_size_of(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

/* A store mxguard creates has 16 KiB pages; a database made elsewhere (pdns's schema loaded
 * by the sqlite3 shell, 4 KiB pages) keeps its own size and serves as before. */
static void test_page_size(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(page_size_of(f->path), 16384);
    char path[64], uri[80], err[256];
    struct mxg_store *st = NULL;
    int64_t id = 0;
    mxg_test_db_path(path, sizeof(path), "pages");
    sql(path, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL;"
              " CREATE TABLE other(x INTEGER PRIMARY KEY)");
    snprintf(uri, sizeof(uri), "sqlite:%s", path);
    assert_int_equal(mxg_store_open(uri, &st, err, sizeof(err)), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(st, zone_add, "example.org.", MXG_KIND_NATIVE, NULL, &id),
                     MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(st, begin), MXG_OK);
    add(st, id, "www.example.org.", "A", "192.0.2.7");
    assert_int_equal(MXG_STORE_CALL0(st, commit), MXG_OK);
    struct collect c = {0};
    assert_int_equal(MXG_STORE_CALL(st, lookup, id, "www.example.org.", "A", collect_cb, &c),
                     MXG_OK);
    assert_int_equal(c.n, 1);
    mxg_store_close(st);
    assert_int_equal(page_size_of(path), 4096);
    mxg_test_db_remove(path);
}

/* ---- referrers and referrers_below (mxg_targets) ------------------------------------------ */

struct refs {
    int n;
    char buf[1024];
};

static int below_cb(void *ctx, int64_t zone_id, const char *owner, const char *target)
{
    struct refs *r = ctx;
    size_t len = strlen(r->buf);
    snprintf(r->buf + len, sizeof(r->buf) - len, "%s%lld %s>%s", r->n++ ? "|" : "",
             (long long)zone_id, owner, target);
    return 0;
}

static int exact_cb(void *ctx, int64_t zone_id, const char *owner)
{
    struct refs *r = ctx;
    size_t len = strlen(r->buf);
    snprintf(r->buf + len, sizeof(r->buf) - len, "%s%lld %s", r->n++ ? "|" : "", (long long)zone_id,
             owner);
    return 0;
}

/* "zone owner>target|..." for the records of type that point at or below root. */
static const char *refs_below(struct mxg_store *st, const char *type, const char *root,
                              struct refs *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(MXG_STORE_CALL(st, referrers_below, type, root, below_cb, r), MXG_OK);
    return r->buf;
}

static const char *refs_exact(struct mxg_store *st, const char *type, const char *target,
                              struct refs *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(MXG_STORE_CALL(st, referrers, type, target, exact_cb, r), MXG_OK);
    return r->buf;
}

/* Rows of mxg_targets (read through a connection of its own, so committed state). */
static int target_rows(const char *path, const char *where)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    char query[256];
    snprintf(query, sizeof(query), "SELECT count(*) FROM mxg_targets%s%s", where ? " WHERE " : "",
             where ? where : "");
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, query, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

static int stop_cb(void *ctx, int64_t zone_id, const char *owner, const char *target)
{
    (*(int *)ctx)++;
    return 42;
}

/* Subtree semantics: label-wise, case-insensitive, every zone; null MX and content that is no
 * name left out; every referring type. */
static void test_referrers_below(void **state)
{
    struct fixture *f = *state;
    struct refs r;
    int64_t other = 0;
    char want[256];
    assert_int_equal(MXG_STORE_CALL(f->st, zone_add, "other.net.", MXG_KIND_NATIVE, NULL, &other),
                     MXG_OK);
    assert_string_equal(refs_below(f->st, "MX", "example.com.", &r), "");
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    add(f->st, f->zone, "example.com.", "MX", "10 Mail.Example.COM");
    add(f->st, f->zone, "example.com.", "MX", "20 mail.example.com"); /* the same target */
    add(f->st, f->zone, "example.com.", "MX", "30 mx.example.org");
    add(f->st, f->zone, "nomail.example.com.", "MX", "0 ."); /* null MX */
    add(f->st, f->zone, "c.example.com.", "CNAME", "www.sub.example.com");
    add(f->st, f->zone, "d.example.com.", "CNAME", "xexample.com"); /* not below example.com. */
    add(f->st, f->zone, "e.example.com.", "DNAME", "EXAMPLE.com");
    add(f->st, f->zone, "f.example.com.", "ALIAS", "deep.a.b.example.com");
    add(f->st, f->zone, "g.example.com.", "TXT", "\"mail.example.com\"");
    add(f->st, other, "other.net.", "MX", "10 mx.example.com");
    /* The write transaction's own reads see its rows. */
    snprintf(want, sizeof(want), "%lld example.com.>mail.example.com.", (long long)f->zone);
    assert_string_equal(refs_below(f->st, "MX", "mail.example.com.", &r), want);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);

    /* DNSSEC order of the targets: mail. before mx. */
    snprintf(want, sizeof(want),
             "%lld example.com.>mail.example.com.|%lld other.net.>mx.example.com.",
             (long long)f->zone, (long long)other);
    assert_string_equal(refs_below(f->st, "MX", "example.com.", &r), want);
    assert_string_equal(refs_below(f->st, "MX", "EXAMPLE.Com", &r), want);
    snprintf(want, sizeof(want),
             "%lld example.com.>mail.example.com.|%lld other.net.>mx.example.com."
             "|%lld example.com.>mx.example.org.",
             (long long)f->zone, (long long)other, (long long)f->zone);
    assert_string_equal(refs_below(f->st, "MX", ".", &r), want); /* no null MX */
    snprintf(want, sizeof(want), "%lld example.com.>mail.example.com.", (long long)f->zone);
    assert_string_equal(refs_below(f->st, "MX", "mail.example.com.", &r), want);
    assert_string_equal(refs_below(f->st, "MX", "x.mail.example.com.", &r), "");
    assert_string_equal(refs_below(f->st, "MX", "ail.example.com.", &r), "");
    assert_string_equal(refs_below(f->st, "MX", "com.", &r),
                        refs_below(f->st, "MX", "example.com.", &(struct refs){0}));
    /* Label-wise: xexample.com. is not below example.com. */
    snprintf(want, sizeof(want), "%lld c.example.com.>www.sub.example.com.", (long long)f->zone);
    assert_string_equal(refs_below(f->st, "CNAME", "example.com.", &r), want);
    snprintf(want, sizeof(want), "%lld d.example.com.>xexample.com.", (long long)f->zone);
    assert_string_equal(refs_below(f->st, "CNAME", "xexample.com.", &r), want);
    assert_string_equal(refs_below(f->st, "CNAME", "sub.example.com.", &r),
                        refs_below(f->st, "CNAME", "www.sub.example.com.", &(struct refs){0}));
    snprintf(want, sizeof(want), "%lld e.example.com.>example.com.", (long long)f->zone);
    assert_string_equal(refs_below(f->st, "DNAME", "example.com.", &r), want);
    assert_string_equal(refs_below(f->st, "DNAME", "www.example.com.", &r), "");
    snprintf(want, sizeof(want), "%lld f.example.com.>deep.a.b.example.com.", (long long)f->zone);
    assert_string_equal(refs_below(f->st, "ALIAS", "b.example.com.", &r), want);
    assert_string_equal(refs_below(f->st, "ALIAS", "deep.a.b.example.com.", &r), want);
    assert_string_equal(refs_below(f->st, "ALIAS", "x.deep.a.b.example.com.", &r), "");
    assert_string_equal(refs_below(f->st, "ALIAS", "example.net.", &r), "");

    /* Only the four referring types; a root that does not parse. */
    assert_int_equal(MXG_STORE_CALL(f->st, referrers_below, "TXT", "example.com.", below_cb, &r),
                     MXG_EINVAL);
    assert_int_equal(MXG_STORE_CALL(f->st, referrers_below, "A", ".", below_cb, &r), MXG_EINVAL);
    assert_int_equal(MXG_STORE_CALL(f->st, referrers_below, "MX", "a..b.", below_cb, &r),
                     MXG_EINVAL);
    /* A non-zero callback return stops the walk and is returned. */
    int calls = 0;
    assert_int_equal(MXG_STORE_CALL(f->st, referrers_below, "MX", ".", stop_cb, &calls), 42);
    assert_int_equal(calls, 1);

    /* The exact query: each owner once, DNAME too, case-insensitive. */
    snprintf(want, sizeof(want), "%lld example.com.", (long long)f->zone);
    assert_string_equal(refs_exact(f->st, "MX", "mail.example.com.", &r), want);
    assert_string_equal(refs_exact(f->st, "MX", "MAIL.example.com.", &r), want);
    assert_string_equal(refs_exact(f->st, "MX", "example.com.", &r), "");
    snprintf(want, sizeof(want), "%lld e.example.com.", (long long)f->zone);
    assert_string_equal(refs_exact(f->st, "DNAME", "example.com.", &r), want);
    assert_string_equal(refs_exact(f->st, "CNAME", "example.com.", &r), "");
    assert_string_equal(refs_exact(f->st, "MX", ".", &r), ""); /* null MX is no referrer */
    assert_int_equal(MXG_STORE_CALL(f->st, referrers, "TXT", "mail.example.com.", exact_cb, &r),
                     MXG_EINVAL);
}

/* mxg_targets follows rrset_delete, zone_clear and zone_delete, and rollbacks. */
static void test_targets_follow_writes(void **state)
{
    struct fixture *f = *state;
    struct refs r;
    int64_t other = 0;
    char want[256];
    assert_int_equal(MXG_STORE_CALL(f->st, zone_add, "other.net.", MXG_KIND_NATIVE, NULL, &other),
                     MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    add(f->st, f->zone, "example.com.", "MX", "10 mail.example.com");
    add(f->st, f->zone, "example.com.", "TXT", "\"v=spf1 mx -all\"");
    add(f->st, f->zone, "www.example.com.", "CNAME", "web.example.com");
    add(f->st, f->zone, "old.example.com.", "DNAME", "new.example.com");
    add(f->st, other, "other.net.", "MX", "10 mail.example.com");
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    assert_int_equal(target_rows(f->path, NULL), 4);

    /* Deleting another type at the name keeps the target; deleting the type drops it. */
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, rrset_delete, f->zone, "example.com.", "TXT"), MXG_OK);
    snprintf(want, sizeof(want),
             "%lld example.com.>mail.example.com.|%lld other.net.>mail.example.com.",
             (long long)f->zone, (long long)other);
    assert_string_equal(refs_below(f->st, "MX", "example.com.", &r), want);
    assert_int_equal(MXG_STORE_CALL(f->st, rrset_delete, f->zone, "example.com.", "MX"), MXG_OK);
    snprintf(want, sizeof(want), "%lld other.net.>mail.example.com.", (long long)other);
    assert_string_equal(refs_below(f->st, "MX", "example.com.", &r), want);
    /* Deleting every type at a name. */
    assert_int_equal(MXG_STORE_CALL(f->st, rrset_delete, f->zone, "www.example.com.", NULL),
                     MXG_OK);
    assert_string_equal(refs_below(f->st, "CNAME", ".", &r), "");
    /* A rollback restores the rows. */
    assert_int_equal(MXG_STORE_CALL0(f->st, rollback), MXG_OK);
    assert_int_equal(target_rows(f->path, NULL), 4);
    snprintf(want, sizeof(want), "%lld www.example.com.>web.example.com.", (long long)f->zone);
    assert_string_equal(refs_below(f->st, "CNAME", "example.com.", &r), want);

    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, rrset_delete, f->zone, "old.example.com.", "DNAME"),
                     MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    assert_string_equal(refs_below(f->st, "DNAME", ".", &r), "");
    assert_int_equal(target_rows(f->path, NULL), 3);

    /* zone_clear empties the zone's rows only. */
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_clear, f->zone), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    snprintf(want, sizeof(want), "%lld other.net.>mail.example.com.", (long long)other);
    assert_string_equal(refs_below(f->st, "MX", ".", &r), want);
    assert_string_equal(refs_below(f->st, "CNAME", ".", &r), "");
    assert_int_equal(target_rows(f->path, NULL), 1);

    /* zone_delete drops them with the zone. */
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_delete, other), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    assert_string_equal(refs_below(f->st, "MX", ".", &r), "");
    assert_int_equal(target_rows(f->path, NULL), 0);
}

static void reopen(struct fixture *f)
{
    char err[256], uri[80];
    mxg_store_close(f->st);
    f->st = NULL;
    snprintf(uri, sizeof(uri), "sqlite:%s", f->path);
    assert_int_equal(mxg_store_open(uri, &f->st, err, sizeof(err)), MXG_OK);
}

static int schema_version(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT value FROM mxg_meta WHERE key = 'schema_version'",
                                        -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

/* Records as pdns's gsql backend writes them: MX priority in prio, disabled rows, rectify's
 * ENT rows (type NULL), content in mixed case, a null MX, content that is no name. */
#define Z "(SELECT id FROM domains WHERE name = 'example.com')"
static const char PDNS_ROWS[] =
    "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth) VALUES"
    " (" Z ", 'example.com', 'MX', 'Mail.Example.com', 60, 10, 0, 1),"
    " (" Z ", 'example.com', 'MX', 'backup.example.com', 60, 20, 1, 1),"
    " (" Z ", 'nomail.example.com', 'MX', '.', 60, 0, 0, 1),"
    " (" Z ", 'www.example.com', 'CNAME', 'web.example.com', 60, 0, 0, 1),"
    " (" Z ", 'off.example.com', 'CNAME', 'web.example.com', 60, 0, 1, 1),"
    " (" Z ", 'old.example.com', 'DNAME', 'new.example.com', 60, 0, 0, 1),"
    " (" Z ", 'a.example.com', 'ALIAS', 'lb.example.net', 60, 0, 0, 1),"
    " (" Z ", 'bad.example.com', 'CNAME', 'no..name', 60, 0, 0, 1),"
    " (" Z ", 'ent.example.com', NULL, NULL, NULL, 0, 0, 1);";
#undef Z

static void expect_pdns_rows(struct fixture *f)
{
    struct refs r;
    char want[256];
    long long z = (long long)f->zone;
    snprintf(want, sizeof(want), "%lld example.com.>mail.example.com.", z); /* not disabled */
    assert_string_equal(refs_below(f->st, "MX", ".", &r), want);
    snprintf(want, sizeof(want), "%lld www.example.com.>web.example.com.", z);
    assert_string_equal(refs_below(f->st, "CNAME", "example.com.", &r), want);
    assert_string_equal(refs_below(f->st, "CNAME", ".", &r), want); /* not "no..name" */
    snprintf(want, sizeof(want), "%lld old.example.com.>new.example.com.", z);
    assert_string_equal(refs_below(f->st, "DNAME", "example.com.", &r), want);
    snprintf(want, sizeof(want), "%lld a.example.com.>lb.example.net.", z);
    assert_string_equal(refs_below(f->st, "ALIAS", "example.net.", &r), want);
    snprintf(want, sizeof(want), "%lld example.com.", z);
    assert_string_equal(refs_exact(f->st, "MX", "mail.example.com.", &r), want);
    assert_string_equal(refs_exact(f->st, "MX", "backup.example.com.", &r), "");
    assert_int_equal(target_rows(f->path, NULL), 4);
}

/* A version-2 store (no mxg_targets, the partial index on records) is migrated at open: the
 * table is filled from records and the index dropped, in one transaction. */
static void test_migrate_v2_fills_targets(void **state)
{
    struct fixture *f = *state;
    mxg_store_close(f->st);
    f->st = NULL;
    sql(f->path, "DROP TABLE mxg_targets;"
                 "CREATE INDEX mxg_records_target ON records(content COLLATE NOCASE)"
                 " WHERE type IN ('MX', 'CNAME', 'ALIAS');"
                 "UPDATE mxg_meta SET value = '2' WHERE key = 'schema_version';");
    sql(f->path, PDNS_ROWS);
    assert_int_equal(schema_version(f->path), 2);
    reopen(f);
    assert_int_equal(schema_version(f->path), MXG_STORE_SCHEMA_VERSION);
    assert_int_equal(schema_version(f->path), 5);
    expect_pdns_rows(f);
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                        " AND name = 'mxg_records_target'",
                                        -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    /* Opening again changes nothing. */
    reopen(f);
    expect_pdns_rows(f);
}

/* A database that pdns's gsqlite3 wrote (records, no mxguard tables) gets mxg_targets filled
 * at the first open. */
static void test_pdns_database_fills_targets(void **state)
{
    struct fixture *f = *state;
    mxg_store_close(f->st);
    f->st = NULL;
    sql(f->path, "DROP TABLE mxg_targets; DROP TABLE mxg_names; DROP TABLE mxg_audit;"
                 " DROP TABLE mxg_meta;");
    sql(f->path, PDNS_ROWS);
    reopen(f);
    assert_int_equal(schema_version(f->path), MXG_STORE_SCHEMA_VERSION);
    expect_pdns_rows(f);
    assert_true(below(f->st, f->zone, "example.com."));
    /* Writes keep it in step from there on. */
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, rrset_delete, f->zone, "example.com.", "MX"), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    struct refs r;
    assert_string_equal(refs_below(f->st, "MX", ".", &r), "");
    assert_int_equal(target_rows(f->path, NULL), 3);
}

/* The single number a query on the store's file returns. */
static int count_rows(const char *path, const char *query)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, query, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

/* mxg_changes as one string: "tbl op domain old_name/old_type/old_content/old_ttl >
 * new_name/new_type/new_content/new_ttl;" per row, in order ("-" for NULL). */
static const char *changes(const char *path, char *out, size_t outlen)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(
                         db,
                         "SELECT tbl || ' ' || op || ' ' || coalesce(domain_id, '-') || ' ' ||"
                         " coalesce(old_name, '-') || '/' || coalesce(old_type, '-') || '/' ||"
                         " coalesce(old_content, '-') || '/' || coalesce(old_ttl, '-') || ' > ' ||"
                         " coalesce(new_name, '-') || '/' || coalesce(new_type, '-') || '/' ||"
                         " coalesce(new_content, '-') || '/' || coalesce(new_ttl, '-') || ';'"
                         " FROM mxg_changes ORDER BY id",
                         -1, &q, NULL),
                     SQLITE_OK);
    size_t len = 0;
    out[0] = '\0';
    while (sqlite3_step(q) == SQLITE_ROW)
        len += (size_t)snprintf(out + len, len < outlen ? outlen - len : 0, "%s",
                                (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(db);
    return out;
}

/* Change capture: mxguard's own writes, in a transaction or not, leave no row in mxg_changes
 * and no mark in mxg_self; another writer's changes to records, zones, metadata and keys each
 * leave their old and new row; pdns's bookkeeping columns do not count. */
static void test_change_capture(void **state)
{
    struct fixture *f = *state;
    char got[2048], want[1024];
    /* setup() added the zone outside a transaction. */
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    add(f->st, f->zone, "www.example.com.", "A", "192.0.2.1");
    add(f->st, f->zone, "example.com.", "MX", "10 mail.example.com.");
    assert_int_equal(MXG_STORE_CALL(f->st, rrset_delete, f->zone, "example.com.", "MX"), MXG_OK);
    struct mxg_key k = {.flags = 257, .active = true, .published = true, .content = "k"};
    int64_t kid = 0;
    assert_int_equal(MXG_STORE_CALL(f->st, key_add, f->zone, &k, &kid), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    const char *vals[] = {"1"};
    assert_int_equal(MXG_STORE_CALL(f->st, meta_set, f->zone, "X-TEST", vals, 1), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_set_kind, f->zone, MXG_KIND_MASTER, NULL), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_set_notified, f->zone, 7), MXG_OK);
    int64_t z2 = 0;
    assert_int_equal(MXG_STORE_CALL(f->st, zone_add, "example.net.", MXG_KIND_NATIVE, NULL, &z2),
                     MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    add(f->st, z2, "www.example.net.", "A", "192.0.2.2");
    assert_int_equal(MXG_STORE_CALL0(f->st, rollback), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_delete, z2), MXG_OK);
    assert_string_equal(changes(f->path, got, sizeof(got)), "");
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM mxg_self"), 0);

    /* Another writer: the sqlite3 shell, a panel, pdns's gsqlite3. */
    sql(f->path, "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled)"
                 " VALUES (1, 'mail.example.com', 'A', '192.0.2.25', 300, 0, 0);"
                 "UPDATE records SET content = '198.51.100.1' WHERE name = 'www.example.com';"
                 "UPDATE records SET ordername = 'www', auth = 1;"
                 "DELETE FROM records WHERE name = 'mail.example.com';"
                 "UPDATE domains SET notified_serial = 9, last_check = 1;"
                 "UPDATE domains SET master = '192.0.2.53' WHERE id = 1;"
                 "INSERT INTO domainmetadata (domain_id, kind, content) VALUES (1, 'X-P', 'v');"
                 "UPDATE cryptokeys SET active = 0;"
                 "INSERT INTO domains (name, type) VALUES ('example.org', 'NATIVE');"
                 "DELETE FROM domains WHERE name = 'example.org';");
    snprintf(want, sizeof(want),
             "records INSERT 1 -/-/-/- > mail.example.com/A/192.0.2.25/300;"
             "records UPDATE 1 www.example.com/A/192.0.2.1/60 > www.example.com/A/198.51.100.1/60;"
             "records DELETE 1 mail.example.com/A/192.0.2.25/300 > -/-/-/-;"
             "domains UPDATE 1 example.com/MASTER/-/- > example.com/MASTER/192.0.2.53/-;"
             "domainmetadata INSERT 1 -/-/-/- > -/X-P/v/-;"
             "cryptokeys UPDATE 1 -/-/k/257 > -/-/k/257;"
             "domains INSERT 2 -/-/-/- > example.org/NATIVE/-/-;"
             "domains DELETE 2 example.org/NATIVE/-/- > -/-/-/-;");
    assert_string_equal(changes(f->path, got, sizeof(got)), want);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM mxg_changes WHERE tbl = 'cryptokeys'"
                                         " AND old_disabled = 0 AND new_disabled = 1"),
                     1);
}

/* A version-3 store gets the capture tables and triggers at open. */
static void test_migrate_v3_adds_capture(void **state)
{
    struct fixture *f = *state;
    mxg_store_close(f->st);
    f->st = NULL;
    static const char *const tables[] = {"records", "domains", "domainmetadata", "cryptokeys"};
    static const char *const ops[] = {"INSERT", "UPDATE", "DELETE"};
    char drop[1024] = "DROP TABLE mxg_changes; DROP TABLE mxg_self;"
                      "UPDATE mxg_meta SET value = '3' WHERE key = 'schema_version';";
    for (size_t t = 0; t < 4; t++)
        for (size_t o = 0; o < 3; o++)
            snprintf(drop + strlen(drop), sizeof(drop) - strlen(drop), "DROP TRIGGER mxg_cc_%s_%s;",
                     tables[t], ops[o]);
    sql(f->path, drop);
    assert_int_equal(
        count_rows(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"), 0);
    reopen(f);
    assert_int_equal(schema_version(f->path), 5);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                                         " AND name LIKE 'mxg_cc_%'"),
                     12);
    sql(f->path, "INSERT INTO records (domain_id, name, type, content, ttl)"
                 " VALUES (1, 'x.example.com', 'TXT', '\"x\"', 60)");
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM mxg_changes"), 1);
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

/* What the store holds, as one string: records, names and targets (ids left out). */
static char *dump(const char *path)
{
    static const char QUERY[] =
        "SELECT (SELECT group_concat(x, '|') FROM (SELECT domain_id || ' ' || name || ' ' || type"
        " || ' ' || content || ' ' || ttl || ' ' || prio || ' ' || auth || ' ' || disabled AS x"
        " FROM records ORDER BY x)) || '#' || (SELECT group_concat(x, '|') FROM (SELECT domain_id"
        " || ' ' || hex(rkey) AS x FROM mxg_names ORDER BY x)) || '#' || (SELECT"
        " group_concat(x, '|') FROM (SELECT type || ' ' || hex(trkey) || ' ' || domain_id || ' ' ||"
        " name || ' ' || target AS x FROM mxg_targets ORDER BY x))";
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, QUERY, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    const char *text = (const char *)sqlite3_column_text(q, 0);
    char *out = strdup(text ? text : "");
    sqlite3_finalize(q);
    sqlite3_close(db);
    return out;
}

#define BULK_N 200 /* three full batches of 64 and a rest of 8 */

/* Record i of a generated set: owners repeat, not next to each other; MX, CNAME and SRV have
 * targets (some the same), TXT and A none. */
static struct mxg_record bulk_record(int i, char *name, char *content)
{
    static const char *const TYPES[] = {"A", "MX", "CNAME", "SRV", "TXT"};
    const char *type = TYPES[i % 5];
    sprintf(name, "h%d.example.com.", (i * 7) % 37);
    if (i % 5 == 0)
        sprintf(content, "192.0.2.%d", i % 250);
    else if (i % 5 == 1)
        sprintf(content, "%d mx%d.example.com.", i % 3 * 10, i % 4);
    else if (i % 5 == 2)
        sprintf(content, "t%d.example.net.", i);
    else if (i % 5 == 3)
        sprintf(content, "%d 5 25 s%d.example.com.", i % 3, i % 6);
    else
        sprintf(content, "\"v=spf1 -all %d\"", i);
    return (struct mxg_record){.name = name,
                               .type = type,
                               .content = content,
                               .ttl = 60 + (unsigned)i,
                               .auth = i % 9 != 0};
}

/* records_add writes what record_add writes record by record: the rows, the name index and the
 * targets; a bad record anywhere in a batch fails the call; a zone that is not there refuses. */
static void test_records_add_in_bulk(void **state)
{
    struct fixture *f = *state;
    static char names[BULK_N][64], contents[BULK_N][64];
    struct mxg_record recs[BULK_N];
    for (int i = 0; i < BULK_N; i++)
        recs[i] = bulk_record(i, names[i], contents[i]);

    char path[64], uri[80], err[256];
    struct mxg_store *one = NULL;
    int64_t zone = 0;
    mxg_test_db_path(path, sizeof(path), "store-one");
    snprintf(uri, sizeof(uri), "sqlite:%s", path);
    assert_int_equal(mxg_store_open(uri, &one, err, sizeof(err)), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(one, zone_add, "example.com.", MXG_KIND_NATIVE, NULL, &zone),
                     MXG_OK);
    assert_int_equal(zone, f->zone);
    assert_int_equal(MXG_STORE_CALL0(one, begin), MXG_OK);
    for (int i = 0; i < BULK_N; i++)
        assert_int_equal(MXG_STORE_CALL(one, record_add, zone, &recs[i]), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(one, commit), MXG_OK);

    assert_int_equal(mxg_store_records_add(f->st, f->zone, recs, BULK_N), MXG_ETXN);
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(mxg_store_records_add(f->st, f->zone, recs, BULK_N), MXG_OK);
    assert_int_equal(mxg_store_records_add(f->st, f->zone, recs, 0), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    char *want = dump(path), *got = dump(f->path);
    assert_string_equal(got, want);
    assert_true(strlen(got) > 1000);
    free(got);
    assert_true(below(f->st, f->zone, "example.com."));

    /* A bad record in the second batch: the call fails; the caller's rollback keeps the store. */
    recs[100].type = "MX";
    recs[100].content = "x mx.example.com.";
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_clear, f->zone), MXG_OK);
    assert_int_equal(mxg_store_records_add(f->st, f->zone, recs, BULK_N), MXG_EINVAL);
    assert_int_equal(MXG_STORE_CALL0(f->st, rollback), MXG_OK);
    got = dump(f->path);
    assert_string_equal(got, want);
    free(got);

    /* Rows need their zone, as a foreign key would have it. */
    struct mxg_key k = {.flags = 256, .content = "x"};
    const char *vals[] = {"v"};
    int64_t kid = 0;
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(mxg_store_records_add(f->st, 9999, recs, 70), MXG_EEXIST);
    assert_int_equal(MXG_STORE_CALL(f->st, record_add, 9999, &recs[0]), MXG_EEXIST);
    assert_int_equal(MXG_STORE_CALL(f->st, key_add, 9999, &k, &kid), MXG_EEXIST);
    assert_int_equal(MXG_STORE_CALL(f->st, meta_set, 9999, "ALSO-NOTIFY", vals, 1), MXG_EEXIST);
    assert_int_equal(MXG_STORE_CALL(f->st, meta_set, 9999, "ALSO-NOTIFY", vals, 0), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    assert_int_equal(rows_of_zone(f->path, 9999), 0);
    got = dump(f->path);
    assert_string_equal(got, want);
    free(got);
    free(want);
    mxg_store_close(one);
    mxg_test_db_remove(path);
}

static void test_open_errors(void **state)
{
    struct mxg_store *st = NULL;
    char err[256];
    assert_int_equal(mxg_store_open("mysql://x", &st, err, sizeof(err)), MXG_EINVAL);
    /* No server there: a clear error, no handle (test_store_pg.c has the engine itself). */
    assert_int_equal(mxg_store_open("postgresql:///x?host=/nonexistent-dir", &st, err, sizeof(err)),
                     MXG_EIO);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL"));
    assert_null(st);
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
        cmocka_unit_test_setup_teardown(test_page_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_referrers_below, setup, teardown),
        cmocka_unit_test_setup_teardown(test_targets_follow_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v2_fills_targets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pdns_database_fills_targets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_capture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v3_adds_capture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_add_in_bulk, setup, teardown),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
