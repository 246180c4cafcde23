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

#include "fixtures.h"

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
    mxg_test_db_path(f->path, sizeof(f->path), "audit");
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
    mxg_test_db_remove(f->path);
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

static int first_cb(void *ctx, const struct mxg_audit_row *row)
{
    struct first *fr = ctx;
    fr->seq = row->seq;
    snprintf(fr->rec, sizeof(fr->rec), "%s", row->record);
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

/* ---- every stored column is checked against the record (PRODUCT.md §5) ------------------- */

struct seqs {
    char text[256];
    json_t *objs; /* the records listed (those that could be read) */
};

static int seq_cb(void *ctx, int64_t seq, const char *record, json_t *obj)
{
    struct seqs *s = ctx;
    (void)record;
    size_t n = strlen(s->text);
    snprintf(s->text + n, sizeof(s->text) - n, "%s%lld%s", n ? " " : "", (long long)seq,
             obj ? "" : "?");
    return obj && json_array_append(s->objs, obj) != 0 ? MXG_ENOMEM : 0;
}

/* The seqs a listing gives, "1 3 5" ("?" after one that cannot be read). */
static const char *listing(struct fixture *f, struct mxg_audit_filter flt)
{
    static struct seqs s;
    s.text[0] = '\0';
    s.objs = json_array();
    assert_int_equal(mxg_audit_list(f->st, &flt, seq_cb, &s), MXG_OK);
    /* The seq given is the record's own. */
    size_t i;
    json_t *o;
    json_array_foreach(s.objs, i, o)
    {
        char num[32];
        snprintf(num, sizeof(num), "%lld",
                 (long long)json_integer_value(json_object_get(o, "seq")));
        assert_non_null(strstr(s.text, num));
    }
    json_decref(s.objs);
    return s.text;
}

/* A member of record seq, as stored. */
static void member(struct fixture *f, int64_t seq, const char *key, char *out, size_t outlen)
{
    struct first fr = {0};
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT record FROM mxg_audit WHERE seq = ?1", -1, &q, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(q, 1, seq);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    snprintf(fr.rec, sizeof(fr.rec), "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(db);
    json_t *o = json_loads(fr.rec, 0, NULL);
    assert_non_null(o);
    snprintf(out, outlen, "%s", json_string_value(json_object_get(o, key)));
    json_decref(o);
}

static void verify_names(struct fixture *f, int64_t seq, const char *what)
{
    struct mxg_audit_verify v;
    assert_int_equal(mxg_audit_verify(f->st, NULL, &v), MXG_EINVAL);
    assert_int_equal(v.first_bad, seq);
    if (!strstr(v.reason, what))
        fail_msg("verify says '%s', not '%s'", v.reason, what);
    char num[32];
    snprintf(num, sizeof(num), "record %lld", (long long)seq);
    assert_non_null(strstr(v.reason, num));
}

static void test_column_seq_edited(void **state)
{
    struct fixture *f = *state;
    sql(f, "UPDATE mxg_audit SET seq = 100 WHERE seq = 3");
    verify_names(f, 3, "missing");
    /* Listings filter on the record's own seq. */
    assert_string_equal(listing(f, (struct mxg_audit_filter){.after_seq = 2}), "4 5 3");
    assert_string_equal(listing(f, (struct mxg_audit_filter){.after_seq = 5}), "");
}

static void test_column_seq_of_newest_edited(void **state)
{
    struct fixture *f = *state;
    sql(f, "UPDATE mxg_audit SET seq = 6 WHERE seq = 5");
    verify_names(f, 5, "stored under seq 6");
    assert_string_equal(listing(f, (struct mxg_audit_filter){.after_seq = 4}), "5");
    assert_string_equal(listing(f, (struct mxg_audit_filter){.after_seq = 5}), "");
}

static void test_column_time_edited(void **state)
{
    struct fixture *f = *state;
    char t1[40];
    member(f, 1, "time", t1, sizeof(t1));
    struct mxg_audit_filter since = {.since = t1}, until = {.until = "2001-01-01T00:00:00Z"};
    assert_string_equal(listing(f, since), "1 2 3 4 5");
    sql(f, "UPDATE mxg_audit SET time = '2000-01-01T00:00:00.000Z' WHERE seq = 3");
    verify_names(f, 3, "time column");
    /* The edit neither hides record 3 from a listing nor adds it to another. */
    assert_string_equal(listing(f, since), "1 2 3 4 5");
    assert_string_equal(listing(f, until), "");
    struct mxg_audit_filter both = {.since = t1, .until = "2999-01-01"};
    assert_string_equal(listing(f, both), "1 2 3 4 5");
    struct mxg_audit_filter after5 = {.since = "2999-01-01"};
    assert_string_equal(listing(f, after5), "");
}

static void test_column_zone_edited(void **state)
{
    struct fixture *f = *state;
    struct mxg_audit_filter com = {.zone = "example.com."}, net = {.zone = "example.net."};
    assert_string_equal(listing(f, com), "1 3 5");
    sql(f, "UPDATE mxg_audit SET zone = 'example.net.' WHERE seq = 3;"
           "UPDATE mxg_audit SET zone = 'example.org.' WHERE seq = 5");
    verify_names(f, 3, "zone column");
    assert_string_equal(listing(f, com), "1 3 5");
    assert_string_equal(listing(f, net), "2 4");
    assert_string_equal(listing(f, (struct mxg_audit_filter){.zone = "example.org."}), "");
    /* last-decision: the newest record of a zone. */
    struct mxg_audit_filter last = {.zone = "example.com.", .limit = 1, .newest_first = true};
    assert_string_equal(listing(f, last), "5");
    last.zone = "example.net.";
    assert_string_equal(listing(f, last), "4");
}

static void test_column_verdict_edited(void **state)
{
    struct fixture *f = *state;
    sql(f, "UPDATE mxg_audit SET verdict = 'reject' WHERE seq = 3");
    verify_names(f, 3, "verdict column");
    assert_string_equal(listing(f, (struct mxg_audit_filter){.verdict = "reject"}), "");
    assert_string_equal(listing(f, (struct mxg_audit_filter){.verdict = "allow"}), "1 2 3 4 5");
    assert_string_equal(listing(f, (struct mxg_audit_filter){.verdict = "allow", .limit = 2}),
                        "1 2");
}

static void test_column_record_edited(void **state)
{
    struct fixture *f = *state;
    /* Content (test_edit_detected), then bytes that do not change what the JSON says. */
    sql(f, "UPDATE mxg_audit SET record = replace(record, '{\"changes\"', '{ \"changes\"')"
           " WHERE seq = 4");
    verify_names(f, 4, "canonical form");
    /* The record's own members decide a listing, whatever its text looks like. */
    assert_string_equal(listing(f, (struct mxg_audit_filter){.zone = "example.net."}), "2 4");
    /* A text that is no longer JSON: named by verify, listed only where nothing is filtered. */
    sql(f, "UPDATE mxg_audit SET record = substr(record, 1, 40) WHERE seq = 2");
    verify_names(f, 2, "not a valid JSON object");
    assert_string_equal(listing(f, (struct mxg_audit_filter){0}), "1 2? 3 4 5");
    assert_string_equal(listing(f, (struct mxg_audit_filter){.zone = "example.net."}), "4");
    /* A NUL byte hidden after the JSON. */
    sql(f, "UPDATE mxg_audit SET record = CAST(record || x'00' || 'x' AS TEXT) WHERE seq = 1");
    verify_names(f, 1, "NUL byte");
}

static void test_column_hash_edited(void **state)
{
    struct fixture *f = *state;
    sql(f, "UPDATE mxg_audit SET hash = '00000000000000000000000000000000"
           "00000000000000000000000000000000' WHERE seq = 3");
    verify_names(f, 3, "hash column");
    assert_string_equal(listing(f, (struct mxg_audit_filter){0}), "1 2 3 4 5");
}

static void test_newest_hash_edited_then_append(void **state)
{
    struct fixture *f = *state;
    char h5[MXG_HASH_HEX];
    member(f, 5, "hash", h5, sizeof(h5));
    sql(f, "UPDATE mxg_audit SET hash = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' WHERE seq = 5");
    int64_t seq = 0;
    char head[MXG_HASH_HEX];
    assert_int_equal(mxg_audit_head(f->st, &seq, head), MXG_OK);
    assert_int_equal(seq, 5);
    assert_string_equal(head, h5); /* the record's hash, not the edited column */
    verify_names(f, 5, "hash column");
    /* The next honest record chains to record 5 as it was written. */
    append(f->st, "example.net.", 6);
    char prev6[MXG_HASH_HEX];
    member(f, 6, "prev", prev6, sizeof(prev6));
    assert_string_equal(prev6, h5);
    verify_names(f, 5, "hash column");
    /* Only row 5 is bad: with its column restored, the whole chain verifies, record 6 too. */
    sql(f, "UPDATE mxg_audit SET hash = json_extract(record, '$.hash') WHERE seq = 5");
    struct mxg_audit_verify v;
    assert_int_equal(mxg_audit_verify(f->st, NULL, &v), MXG_OK);
    assert_int_equal(v.records, 6);
    assert_int_equal(v.head_seq, 6);
}

static void test_newest_record_altered_then_append(void **state)
{
    struct fixture *f = *state;
    char h5[MXG_HASH_HEX];
    member(f, 5, "hash", h5, sizeof(h5));
    /* The record's content edited: its "hash" no longer recomputes; the hash column is the copy
     * of the hash it was written with, and the next record chains to that. */
    sql(f, "UPDATE mxg_audit SET record = replace(record, '203.0.113.7', '203.0.113.8')"
           " WHERE seq = 5");
    int64_t seq = 0;
    char head[MXG_HASH_HEX];
    assert_int_equal(mxg_audit_head(f->st, &seq, head), MXG_OK);
    assert_string_equal(head, h5);
    /* A record whose text is gone: still appended after, verify names the damage. */
    sql(f, "UPDATE mxg_audit SET record = 'garbage', hash = 'x' WHERE seq = 5");
    assert_int_equal(mxg_audit_head(f->st, &seq, head), MXG_OK);
    assert_int_equal(seq, 5);
    assert_string_equal(head, "0000000000000000000000000000000000000000000000000000000000000000");
    append(f->st, "example.com.", 6);
    verify_names(f, 5, "not a valid JSON object");
}

/* A refusal's remedy goes into the record (the 422 and the operator page name it); none, no key. */
static void test_body_remedy(void **state)
{
    struct mxg_decision d = {.verdict = MXG_VERDICT_REJECT,
                             .remedy = (char *)(uintptr_t) "keep example.com. where it is"};
    struct mxg_audit_entry e = {
        .zone = "example.com.", .source = "http", .mode = "reject", .decision = &d};
    json_t *o = mxg_audit_body(&e);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "verdict")), "reject");
    assert_string_equal(json_string_value(json_object_get(o, "remedy")),
                        "keep example.com. where it is");
    json_decref(o);
    d.remedy = NULL;
    o = mxg_audit_body(&e);
    assert_non_null(o);
    assert_null(json_object_get(o, "remedy"));
    json_decref(o);
    e.decision = NULL;
    o = mxg_audit_body(&e);
    assert_null(json_object_get(o, "remedy"));
    json_decref(o);
}

/* The change lists are written as text, not dumped by jansson: the record must still be exactly
 * jansson's canonical form, for every octet a content can hold (control characters, quotes,
 * backslashes, UTF-8 of every length, DEL, bytes that are not UTF-8), with every optional member
 * present, and its hash member must be the hash of the rest. */
static int newest_cb(void *ctx, const struct mxg_audit_row *row)
{
    *(char **)ctx = strdup(row->record);
    return 1;
}

static void test_canonical_text_written_directly(void **state)
{
    struct fixture *f = *state;
    char ctl[64];
    for (int i = 1; i < 32; i++)
        ctl[i - 1] = (char)i;
    snprintf(ctl + 31, sizeof(ctl) - 31, "\"\\/\x7f");
    struct mxg_rrdata d[5] = {
        {.content = ctl, .ttl = 0},
        {.content = (char *)(uintptr_t) "\"caf\xc3\xa9\" \"\xe2\x80\x93\" \"\xf0\x9f\x98\x80\"",
         .ttl = 1000000000u},
        {.content = (char *)(uintptr_t) "\"caf\xe9\"", .ttl = 2000000000u}, /* not UTF-8 */
        {.content = (char *)(uintptr_t) "", .ttl = 3000000000u},
        {.content = (char *)(uintptr_t) "10 mail.example.com", .ttl = 4000000000u}};
    struct mxg_rrset_change ch[3] = {
        {.name = (char *)(uintptr_t) "t\\\"x.example.com.",
         .type = (char *)(uintptr_t) "TXT",
         .after = d,
         .n_after = 4},
        {.name = (char *)(uintptr_t) "example.com.",
         .type = (char *)(uintptr_t) "MX",
         .before = d + 4,
         .n_before = 1},
        {.name = (char *)(uintptr_t) "e.example.com.", .type = (char *)(uintptr_t) "TYPE65534"}};
    char *olds[] = {(char *)(uintptr_t) "192.0.2.1"}, *news[] = {(char *)(uintptr_t) "\x01\xff"};
    struct mxg_finding fd = {.rule = "mail-moved",
                             .severity = MXG_SEV_BLOCK,
                             .name = (char *)(uintptr_t) "example.com.",
                             .family = "A",
                             .old_values = olds,
                             .n_old = 1,
                             .new_values = news,
                             .n_new = 1,
                             .reason = (char *)(uintptr_t) "moved \"away\""};
    struct mxg_decision dec = {.verdict = MXG_VERDICT_FIX,
                               .findings = &fd,
                               .n_findings = 1,
                               .fix = ch + 1,
                               .n_fix = 2,
                               .remedy = (char *)(uintptr_t) "keep \\ it"};
    json_t *meta = json_pack("{s:[s,s]}", "X-MXGUARD-MODE", "fix", "\t");
    json_t *settings = json_pack("{s:[s,s]}", "kind", "native", "master");
    json_t *keys = json_pack("{s:s,s:i}", "op", "add", "id", 7);
    struct mxg_audit_entry e = {.zone = "example.com.",
                                .source = "cli",
                                .mode = "fix",
                                .decision = &dec,
                                .changes = ch,
                                .n_changes = 3,
                                .metadata = meta,
                                .settings = settings,
                                .keys = keys};
    int64_t seq = 0;
    char hash[MXG_HASH_HEX];
    char *text = NULL;
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(mxg_audit_append(f->st, &e, &seq, hash, &text), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    assert_int_equal(seq, 6);
    /* The text handed back is the stored one, jansson's canonical form of itself. */
    char *stored = NULL;
    struct mxg_audit_filter flt = {.newest_first = true, .limit = 1};
    assert_int_equal(MXG_STORE_CALL(f->st, audit_list, &flt, newest_cb, &stored), 1);
    assert_string_equal(stored, text);
    json_t *o = json_loads(text, 0, NULL);
    assert_non_null(o);
    char *canon = mxg_audit_canonical(o);
    assert_string_equal(canon, text);
    char h[MXG_HASH_HEX];
    assert_int_equal(mxg_audit_hash(o, h), MXG_OK);
    assert_string_equal(h, hash);
    assert_string_equal(json_string_value(json_object_get(o, "hash")), hash);
    /* The members as the body builds them. */
    json_t *body = mxg_audit_body(&e);
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (!json_equal(v, json_object_get(o, k))) {
            print_error("member %s differs\n", k);
            fail();
        }
    }
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(
                json_object_get(json_array_get(json_object_get(o, "changes"), 0), "after"), 2),
            "content")),
        "(not UTF-8)");
    json_decref(body);

    /* The same entry with its change list made ahead (mxg_audit_start), and with a start made
     * for another list, which is not used: the same record but for its place in the chain. */
    struct mxg_audit_start *starts[2] = {mxg_audit_start(ch, 3), mxg_audit_start(ch, 2)};
    for (int i = 0; i < 2; i++) {
        assert_non_null(starts[i]);
        e.start = starts[i];
        char *text2 = NULL;
        assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
        assert_int_equal(mxg_audit_append(f->st, &e, &seq, hash, &text2), MXG_OK);
        assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
        json_t *o2 = json_loads(text2, 0, NULL);
        assert_non_null(o2);
        char *canon2 = mxg_audit_canonical(o2);
        assert_string_equal(canon2, text2);
        assert_int_equal(mxg_audit_hash(o2, h), MXG_OK);
        assert_string_equal(h, hash);
        static const char *const PLACE[] = {"seq", "time", "prev", "hash"};
        json_t *x = json_deep_copy(o), *y = json_deep_copy(o2);
        for (size_t j = 0; j < 4; j++) {
            json_object_del(x, PLACE[j]);
            json_object_del(y, PLACE[j]);
        }
        assert_true(json_equal(x, y));
        json_decref(x);
        json_decref(y);
        json_decref(o2);
        free(canon2);
        free(text2);
        mxg_audit_start_free(starts[i]);
    }
    mxg_audit_start_free(NULL);

    json_decref(meta);
    json_decref(settings);
    json_decref(keys);
    json_decref(o);
    free(canon);
    free(stored);
    free(text);
    struct mxg_audit_verify res;
    assert_int_equal(mxg_audit_verify(f->st, NULL, &res), MXG_OK);
    assert_int_equal(res.records, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_remedy),
        cmocka_unit_test_setup_teardown(test_chain_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_shape_and_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_canonical_text_written_directly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reorder_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_off_needs_expected_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_column_seq_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_column_seq_of_newest_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_column_time_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_column_zone_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_column_verdict_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_column_record_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_column_hash_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newest_hash_edited_then_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newest_record_altered_then_append, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
