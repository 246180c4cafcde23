/* test_external.c -- out-of-band writes: changes another writer makes in the SQLite store (here
 * the sqlite3 library on its own connection, as the sqlite3 shell or pdns's gsqlite3 would make
 * them) are audited as "external", judged, and repaired in fix mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "mxg/audit.h"
#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/external.h"
#include "mxg/store.h"

#include "fixtures.h"

struct fixture {
    char path[64];
    struct mxg_store *st;
    struct mxg_config cfg;
    int64_t zone;
};

static void add(struct mxg_store *st, int64_t zone, const char *name, const char *type,
                const char *content)
{
    struct mxg_record r = {
        .name = name, .type = type, .content = content, .ttl = 3600, .auth = true};
    assert_int_equal(MXG_STORE_CALL(st, record_add, zone, &r), MXG_OK);
}

static int open_with(void **state, const char *conf)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256], uri[80];
    mxg_test_db_path(f->path, sizeof(f->path), "ext");
    snprintf(uri, sizeof(uri), "sqlite:%s", f->path);
    assert_int_equal(mxg_config_load_string(conf, "test", &f->cfg, err, sizeof(err)), MXG_OK);
    assert_int_equal(mxg_store_open(uri, &f->st, err, sizeof(err)), MXG_OK);
    assert_int_equal(
        MXG_STORE_CALL(f->st, zone_add, "example.com.", MXG_KIND_NATIVE, NULL, &f->zone), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    add(f->st, f->zone, "example.com.", "SOA",
        "ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300");
    add(f->st, f->zone, "example.com.", "NS", "ns1.example.net.");
    add(f->st, f->zone, "example.com.", "A", "192.0.2.10");
    add(f->st, f->zone, "example.com.", "MX", "10 example.com.");
    add(f->st, f->zone, "www.example.com.", "A", "192.0.2.10");
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    *state = f;
    return 0;
}

static int setup_reject(void **state)
{
    return open_with(state, "mode=reject\n");
}

static int setup_fix(void **state)
{
    return open_with(state, "mode=fix\n");
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mxg_store_close(f->st);
    mxg_config_free(&f->cfg);
    mxg_test_db_remove(f->path);
    free(f);
    return 0;
}

/* Another writer's statements, on a connection of its own. */
static void other(const char *path, const char *sql)
{
    sqlite3 *db;
    char *msg = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 2000);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    sqlite3_close(db);
}

/* The apex A moved to the proxy's address, as a panel's SQL would. */
static const char APEX_MOVE[] =
    "UPDATE records SET content = '203.0.113.200' WHERE name = 'example.com' AND type = 'A'";

static int count(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

/* The audit record with this seq, parsed (caller decrefs). */
static json_t *record(const char *path, int seq)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT record FROM mxg_audit WHERE seq = ?1", -1, &q, NULL),
        SQLITE_OK);
    sqlite3_bind_int(q, 1, seq);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    json_t *o = json_loads((const char *)sqlite3_column_text(q, 0), 0, NULL);
    sqlite3_finalize(q);
    sqlite3_close(db);
    assert_non_null(o);
    return o;
}

static const char *str(json_t *o, const char *path)
{
    /* "a.b" or "a.0.b" */
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = o;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save)) {
        if (json_is_array(cur))
            cur = json_array_get(cur, (size_t)strtoul(tok, NULL, 10));
        else
            cur = json_object_get(cur, tok);
    }
    return json_is_string(cur) ? json_string_value(cur) : "(none)";
}

struct first {
    char content[256];
    int n;
};

static int first_cb(void *ctx, const struct mxg_record *r)
{
    struct first *fi = ctx;
    if (fi->n++ == 0)
        snprintf(fi->content, sizeof(fi->content), "%s", r->content);
    return 0;
}

static const char *lookup1(struct fixture *f, const char *name, const char *type, struct first *fi)
{
    memset(fi, 0, sizeof(*fi));
    int rc = MXG_STORE_CALL(f->st, lookup, f->zone, name, type, first_cb, fi);
    assert_true(rc == MXG_OK || rc == MXG_ENOENT);
    return fi->content;
}

/* mxguard's own writes are never external. */
static void test_own_writes_pass_by(void **state)
{
    struct fixture *f = *state;
    struct mxg_external_result res;
    bool any = true;
    assert_int_equal(mxg_external_pending(f->st, &any), MXG_OK);
    assert_false(any);
    assert_int_equal(mxg_external_pass(f->st, &f->cfg, 0, &res), MXG_OK);
    assert_int_equal(res.rows, 0);
    assert_int_equal(res.records, 0);
    assert_int_equal(count(f->path, "SELECT count(*) FROM mxg_audit"), 0);
}

/* A trigger of someone else's on records (a panel's bookkeeping) still sees mxguard's writes,
 * made on a handle opened after it was added; the capture still passes them by. */
static void test_foreign_trigger_sees_own_writes(void **state)
{
    struct fixture *f = *state;
    other(f->path, "CREATE TABLE panel_log (name TEXT);"
                   "CREATE TRIGGER panel_t AFTER INSERT ON records"
                   " BEGIN INSERT INTO panel_log VALUES (NEW.name); END;");
    struct mxg_store *st;
    char err[256], uri[80];
    snprintf(uri, sizeof(uri), "sqlite:%s", f->path);
    assert_int_equal(mxg_store_open(uri, &st, err, sizeof(err)), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(st, begin), MXG_OK);
    add(st, f->zone, "mail.example.com.", "A", "192.0.2.25");
    assert_int_equal(MXG_STORE_CALL0(st, commit), MXG_OK);
    mxg_store_close(st);
    assert_int_equal(
        count(f->path, "SELECT COUNT(*) FROM panel_log WHERE name = 'mail.example.com'"), 1);
    assert_int_equal(count(f->path, "SELECT COUNT(*) FROM mxg_changes"), 0);
}

/* reject mode: the apex A that the MX names moved by an UPDATE is audited as external, with its
 * before and after, verdict warn and the finding; the store keeps what the writer wrote. */
static void test_apex_move_warned(void **state)
{
    struct fixture *f = *state;
    other(f->path, APEX_MOVE);
    bool any = false;
    assert_int_equal(mxg_external_pending(f->st, &any), MXG_OK);
    assert_true(any);
    struct mxg_external_result res;
    assert_int_equal(mxg_external_pass(f->st, &f->cfg, 0, &res), MXG_OK);
    assert_int_equal(res.rows, 1);
    assert_int_equal(res.records, 1);
    assert_int_equal(res.moves, 1);
    assert_int_equal(res.fixed, 0);
    assert_int_equal(res.warned, 1);
    json_t *r = record(f->path, 1);
    assert_string_equal(str(r, "source"), "external");
    assert_string_equal(str(r, "verdict"), "warn");
    assert_string_equal(str(r, "mode"), "reject");
    assert_string_equal(str(r, "changes.0.name"), "example.com.");
    assert_string_equal(str(r, "changes.0.type"), "A");
    assert_string_equal(str(r, "changes.0.before.0.content"), "192.0.2.10");
    assert_string_equal(str(r, "changes.0.after.0.content"), "203.0.113.200");
    assert_string_equal(str(r, "findings.0.name"), "example.com.");
    assert_true(json_array_size(json_object_get(r, "fix")) == 0);
    json_decref(r);
    struct first fi;
    assert_string_equal(lookup1(f, "example.com.", "A", &fi), "203.0.113.200");
    assert_int_equal(count(f->path, "SELECT count(*) FROM mxg_changes"), 0);
    /* Handled once. */
    assert_int_equal(mxg_external_pass(f->st, &f->cfg, 0, &res), MXG_OK);
    assert_int_equal(res.records, 0);
}

/* fix mode: the move is repaired by a transaction of mxguard's own, whose record (source fix)
 * names the external one; mail reaches the old address again. */
static void test_apex_move_fixed(void **state)
{
    struct fixture *f = *state;
    other(f->path, APEX_MOVE);
    struct mxg_external_result res;
    assert_int_equal(mxg_external_pass(f->st, &f->cfg, 0, &res), MXG_OK);
    assert_int_equal(res.records, 1);
    assert_int_equal(res.moves, 1);
    assert_int_equal(res.fixed, 1);
    json_t *r = record(f->path, 1);
    assert_string_equal(str(r, "source"), "external");
    assert_string_equal(str(r, "verdict"), "warn");
    json_decref(r);
    r = record(f->path, 2);
    assert_string_equal(str(r, "source"), "fix");
    assert_string_equal(str(r, "verdict"), "fix");
    assert_int_equal(json_integer_value(json_object_get(r, "repairs")), 1);
    assert_true(json_array_size(json_object_get(r, "fix")) > 0);
    json_decref(r);
    struct first fi;
    char mx[256];
    snprintf(mx, sizeof(mx), "%s", lookup1(f, "example.com.", "MX", &fi));
    assert_string_not_equal(mx, "10 example.com.");
    const char *host = strchr(mx, ' ') + 1;
    assert_string_equal(lookup1(f, host, "A", &fi), "192.0.2.10");
    assert_string_equal(lookup1(f, "example.com.", "A", &fi), "203.0.113.200");
    /* The repair is mxguard's own: nothing new to handle. */
    bool any = true;
    assert_int_equal(mxg_external_pending(f->st, &any), MXG_OK);
    assert_false(any);
}

/* Harmless writes: a TXT added, a TTL changed, a disabled row (not served: nothing to audit),
 * a delete of a mail host's A that nothing names. Allowed. */
static void test_harmless(void **state)
{
    struct fixture *f = *state;
    other(f->path, "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled)"
                   " VALUES (1, 'example.com', 'TXT', '\"v=spf1 -all\"', 300, 0, 0);"
                   "UPDATE records SET ttl = 600 WHERE name = 'www.example.com';"
                   "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled)"
                   " VALUES (1, 'off.example.com', 'A', '192.0.2.99', 300, 0, 1);");
    struct mxg_external_result res;
    assert_int_equal(mxg_external_pass(f->st, &f->cfg, 0, &res), MXG_OK);
    assert_int_equal(res.rows, 3);
    assert_int_equal(res.records, 1);
    assert_int_equal(res.moves, 0);
    json_t *r = record(f->path, 1);
    assert_string_equal(str(r, "verdict"), "allow");
    assert_int_equal(json_array_size(json_object_get(r, "changes")), 2);
    json_decref(r);
}

/* A second apex A inserted (the panel adds the proxy beside the server): mail now reaches the
 * proxy too. */
static void test_second_apex_a(void **state)
{
    struct fixture *f = *state;
    other(f->path, "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled)"
                   " VALUES (1, 'example.com', 'A', '203.0.113.200', 3600, 0, 0)");
    struct mxg_external_result res;
    assert_int_equal(mxg_external_pass(f->st, &f->cfg, 0, &res), MXG_OK);
    assert_int_equal(res.records, 1);
    assert_int_equal(res.moves, 1);
    json_t *r = record(f->path, 1);
    assert_string_equal(str(r, "changes.0.before.0.content"), "192.0.2.10");
    assert_int_equal(
        json_array_size(json_object_get(json_array_get(json_object_get(r, "changes"), 0), "after")),
        2);
    json_decref(r);
}

/* A zone made and one dropped by the other writer, metadata and a key: audited. */
static void test_zone_rows_metadata_keys(void **state)
{
    struct fixture *f = *state;
    other(f->path, "INSERT INTO domains (name, type) VALUES ('example.org', 'NATIVE');"
                   "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled)"
                   " VALUES (2, 'example.org', 'A', '192.0.2.7', 300, 0, 0);"
                   "INSERT INTO domainmetadata (domain_id, kind, content)"
                   " VALUES (1, 'X-PANEL', 'on');"
                   "INSERT INTO cryptokeys (domain_id, flags, active, published, content)"
                   " VALUES (1, 257, 1, 1, 'Private-key-format: v1.2');");
    struct mxg_external_result res;
    assert_int_equal(mxg_external_pass(f->st, &f->cfg, 0, &res), MXG_OK);
    assert_int_equal(res.records, 2);
    json_t *a = record(f->path, 1), *b = record(f->path, 2);
    json_t *org = strcmp(str(a, "zone"), "example.org.") == 0 ? a : b;
    json_t *com = org == a ? b : a;
    assert_string_equal(str(org, "zone"), "example.org.");
    assert_string_equal(str(org, "settings.kind.0"), "absent");
    assert_string_equal(str(org, "changes.0.after.0.content"), "192.0.2.7");
    assert_string_equal(str(com, "metadata.X-PANEL.0"), "on");
    assert_int_equal(json_integer_value(
                         json_object_get(json_array_get(json_object_get(com, "keys"), 0), "flags")),
                     257);
    char *text = json_dumps(com, 0);
    assert_null(strstr(text, "Private-key"));
    free(text);
    json_decref(a);
    json_decref(b);
}

/* Another writer's bytes that are not UTF-8 (Latin-1 in a metadata value, its kind and an owner
 * name): audited with '?' in their place, the pass goes through, the chain verifies. */
static void test_not_utf8(void **state)
{
    struct fixture *f = *state;
    other(f->path, "INSERT INTO domainmetadata (domain_id, kind, content)"
                   " VALUES (1, 'X-PANEL-' || CAST(X'E9' AS TEXT), 'caf' || CAST(X'E9' AS TEXT));"
                   "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled)"
                   " VALUES (1, 'caf' || CAST(X'E9' AS TEXT) || '.example.com', 'TXT', '\"x\"',"
                   " 300, 0, 0);");
    struct mxg_external_result res;
    assert_int_equal(mxg_external_pass(f->st, &f->cfg, 0, &res), MXG_OK);
    assert_int_equal(res.records, 1);
    json_t *r = record(f->path, 1);
    assert_string_equal(str(r, "metadata.X-PANEL-?.0"), "caf?");
    assert_string_equal(str(r, "changes.0.name"), "caf?.example.com.");
    json_decref(r);
    assert_int_equal(count(f->path, "SELECT COUNT(*) FROM mxg_changes"), 0);
    struct mxg_audit_verify v;
    assert_int_equal(mxg_audit_verify(f->st, NULL, &v), MXG_OK);
}

/* A bulk write larger than one pass: handled over several, nothing lost. */
static void test_bulk_over_passes(void **state)
{
    struct fixture *f = *state;
    other(f->path, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)"
                   " INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled)"
                   " SELECT 1, 'h' || i || '.example.com', 'TXT', '\"' || i || '\"', 60, 0, 0"
                   " FROM n");
    struct mxg_external_result res;
    size_t rows = 0, passes = 0;
    do {
        assert_int_equal(mxg_external_pass(f->st, &f->cfg, 1000, &res), MXG_OK);
        rows += res.rows;
        passes++;
    } while (res.more && passes < 10);
    assert_int_equal(rows, 2500);
    assert_int_equal(passes, 3);
    assert_int_equal(count(f->path, "SELECT count(*) FROM mxg_audit"), 3);
    assert_int_equal(count(f->path, "SELECT count(*) FROM mxg_changes"), 0);
}

/* The log rows not yet handled are given this second, as if written then (SQLite groups an
 * external commit's rows by second). */
static void stamp(const char *path, const char *when)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "UPDATE mxg_changes SET time = '%s' WHERE time > '%s'", when, when);
    other(path, sql);
}

/* Another writer's commit, its log rows given this second. */
static void commit_at(const char *path, const char *sql, const char *when)
{
    other(path, sql);
    stamp(path, when);
}

/* Three commits in one pass: each its own record, with its own changes from the state the one
 * before left. */
static void test_commits_apart(void **state)
{
    struct fixture *f = *state;
    commit_at(f->path, APEX_MOVE, "2026-01-01T00:00:01.000Z");
    commit_at(f->path,
              "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled)"
              " VALUES (1, 'example.com', 'TXT', '\"one\"', 300, 0, 0)",
              "2026-01-01T00:00:02.000Z");
    commit_at(f->path, "UPDATE records SET content = '\"two\"' WHERE type = 'TXT'",
              "2026-01-01T00:00:03.000Z");
    struct mxg_external_result res;
    assert_int_equal(mxg_external_pass(f->st, &f->cfg, 0, &res), MXG_OK);
    assert_int_equal(res.rows, 3);
    assert_int_equal(res.records, 3);
    assert_int_equal(res.moves, 1);
    json_t *r = record(f->path, 1);
    assert_string_equal(str(r, "verdict"), "warn");
    assert_int_equal(json_array_size(json_object_get(r, "changes")), 1);
    assert_string_equal(str(r, "changes.0.after.0.content"), "203.0.113.200");
    json_decref(r);
    r = record(f->path, 2);
    assert_string_equal(str(r, "verdict"), "allow");
    assert_int_equal(json_array_size(json_object_get(r, "changes")), 1);
    assert_string_equal(str(r, "changes.0.type"), "TXT");
    assert_string_equal(str(r, "changes.0.before.0.content"), "(none)");
    assert_string_equal(str(r, "changes.0.after.0.content"), "\"one\"");
    json_decref(r);
    r = record(f->path, 3);
    assert_string_equal(str(r, "verdict"), "allow");
    assert_string_equal(str(r, "changes.0.before.0.content"), "\"one\"");
    assert_string_equal(str(r, "changes.0.after.0.content"), "\"two\"");
    json_decref(r);
}

/* The apex moved in one commit and then `then` in a commit a second later, both handled by one
 * pass: two external records. */
static void move_then(struct fixture *f, const char *then, struct mxg_external_result *res)
{
    commit_at(f->path, APEX_MOVE, "2026-01-01T00:00:01.000Z");
    commit_at(f->path, then, "2026-01-01T00:00:02.000Z");
    assert_int_equal(mxg_external_pass(f->st, &f->cfg, 0, res), MXG_OK);
    assert_int_equal(res->records, 2);
}

/* fix mode: a move a later commit of the same pass undoes is audited twice and not repaired. */
static void test_move_undone(void **state)
{
    struct fixture *f = *state;
    struct mxg_external_result res;
    move_then(f,
              "UPDATE records SET content = '192.0.2.10' WHERE name = 'example.com' AND type = 'A'",
              &res);
    assert_int_equal(res.fixed, 0);
    json_t *r = record(f->path, 2);
    assert_string_equal(str(r, "changes.0.before.0.content"), "203.0.113.200");
    assert_string_equal(str(r, "changes.0.after.0.content"), "192.0.2.10");
    json_decref(r);
    assert_int_equal(count(f->path, "SELECT count(*) FROM mxg_audit"), 2);
    struct first fi;
    assert_string_equal(lookup1(f, "example.com.", "MX", &fi), "10 example.com.");
}

/* fix mode: a move followed by a harmless commit: both audited, the move repaired from the
 * zone as the pass left it, its fix record naming the move's. */
static void test_move_then_more(void **state)
{
    struct fixture *f = *state;
    struct mxg_external_result res;
    move_then(f,
              "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled)"
              " VALUES (1, 'example.com', 'TXT', '\"one\"', 300, 0, 0)",
              &res);
    assert_int_equal(res.moves, 1);
    assert_int_equal(res.fixed, 1);
    json_t *r = record(f->path, 3);
    assert_string_equal(str(r, "source"), "fix");
    assert_int_equal(json_integer_value(json_object_get(r, "repairs")), 1);
    json_decref(r);
    struct first fi;
    char mx[256];
    snprintf(mx, sizeof(mx), "%s", lookup1(f, "example.com.", "MX", &fi));
    assert_string_not_equal(mx, "10 example.com.");
    assert_string_equal(lookup1(f, strchr(mx, ' ') + 1, "A", &fi), "192.0.2.10");
    assert_string_equal(lookup1(f, "example.com.", "TXT", &fi), "\"one\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_own_writes_pass_by, setup_reject, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_trigger_sees_own_writes, setup_reject,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_apex_move_warned, setup_reject, teardown),
        cmocka_unit_test_setup_teardown(test_apex_move_fixed, setup_fix, teardown),
        cmocka_unit_test_setup_teardown(test_harmless, setup_reject, teardown),
        cmocka_unit_test_setup_teardown(test_second_apex_a, setup_reject, teardown),
        cmocka_unit_test_setup_teardown(test_zone_rows_metadata_keys, setup_reject, teardown),
        cmocka_unit_test_setup_teardown(test_not_utf8, setup_reject, teardown),
        cmocka_unit_test_setup_teardown(test_bulk_over_passes, setup_reject, teardown),
        cmocka_unit_test_setup_teardown(test_commits_apart, setup_reject, teardown),
        cmocka_unit_test_setup_teardown(test_move_undone, setup_fix, teardown),
        cmocka_unit_test_setup_teardown(test_move_then_more, setup_fix, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
