/* test_keys.c -- DNSSEC and TSIG keys: the store's key ops (SQLite), the content checks, and
 * the remote-backend methods over the protocol with their audit records. */
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
#include "mxg/backend.h"
#include "mxg/backend_keys.h"
#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/store.h"
#include "mxg/zoneops.h"

#include "fixtures.h"

/* An ECDSA P-256 and an RSA key as pdnsutil writes them (the RSA one cut short: only its
 * Algorithm line matters here). */
#define EC_KEY                                                                                     \
    "Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\n"                                  \
    "PrivateKey: C2D+N3RoSXD59VDSfbQqbT8KL5nI4ZHzPwaZoPFjocQ=\n"
#define EC_KEY_JSON                                                                                \
    "Private-key-format: v1.2\\nAlgorithm: 13 (ECDSAP256SHA256)\\n"                                \
    "PrivateKey: C2D+N3RoSXD59VDSfbQqbT8KL5nI4ZHzPwaZoPFjocQ=\\n"
#define RSA_KEY_JSON                                                                               \
    "Private-key-format: v1.2\\nAlgorithm: 8 (RSASHA256)\\nModulus: 2qa6a3bqbFMgc+zT8FLI\\n"
#define SECRET "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"

struct fixture {
    char path[64];
    struct mxg_config cfg;
    struct mxg_store *st;
    struct mxg_backend *be;
    struct mxg_session *s;
    int64_t com, net;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256], uri[80];
    mxg_test_db_path(f->path, sizeof(f->path), "keys");
    snprintf(uri, sizeof(uri), "sqlite:%s", f->path);
    assert_int_equal(mxg_config_load_string("", "test", &f->cfg, err, sizeof(err)), MXG_OK);
    assert_int_equal(mxg_store_open(uri, &f->st, err, sizeof(err)), MXG_OK);
    const char *ns[] = {"ns1.example.com"};
    assert_int_equal(mxg_zone_create(f->st, &f->cfg, "example.com.", MXG_KIND_MASTER, NULL, ns, 1,
                                     err, sizeof(err)),
                     MXG_OK);
    assert_int_equal(mxg_zone_create(f->st, &f->cfg, "example.net.", MXG_KIND_NATIVE, NULL, ns, 1,
                                     err, sizeof(err)),
                     MXG_OK);
    struct mxg_zone z;
    assert_int_equal(MXG_STORE_CALL(f->st, zone_get, "example.com.", &z), MXG_OK);
    f->com = z.id;
    assert_int_equal(MXG_STORE_CALL(f->st, zone_get, "example.net.", &z), MXG_OK);
    f->net = z.id;
    f->be = mxg_backend_new(f->st, &f->cfg);
    f->s = mxg_session_new(f->be);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mxg_session_free(f->s);
    mxg_backend_free(f->be);
    mxg_store_close(f->st);
    mxg_config_free(&f->cfg);
    mxg_test_db_remove(f->path);
    free(f);
    return 0;
}

/* ---- the store ------------------------------------------------------------------------------ */

struct keys {
    int n;
    struct {
        int64_t id, zone_id;
        unsigned flags;
        bool active, published;
        char content[256];
    } k[8];
};

static int keys_cb(void *ctx, const struct mxg_key *k)
{
    struct keys *c = ctx;
    if (c->n < 8) {
        c->k[c->n].id = k->id;
        c->k[c->n].zone_id = k->zone_id;
        c->k[c->n].flags = k->flags;
        c->k[c->n].active = k->active;
        c->k[c->n].published = k->published;
        snprintf(c->k[c->n].content, sizeof(c->k[0].content), "%s", k->content);
    }
    c->n++;
    return 0;
}

static struct keys list_keys(struct mxg_store *st, int64_t zone)
{
    struct keys c = {0};
    assert_int_equal(MXG_STORE_CALL(st, key_list, zone, keys_cb, &c), MXG_OK);
    return c;
}

static void test_store_keys(void **state)
{
    struct fixture *f = *state;
    struct mxg_key k = {.flags = 257, .active = true, .published = true, .content = EC_KEY};
    int64_t id1 = 0, id2 = 0;
    /* Writes need a transaction. */
    assert_int_equal(MXG_STORE_CALL(f->st, key_add, f->com, &k, &id1), MXG_ETXN);
    assert_int_equal(MXG_STORE_CALL(f->st, key_remove, f->com, 1), MXG_ETXN);
    assert_int_equal(MXG_STORE_CALL(f->st, key_set_flags, f->com, 1, 1, -1), MXG_ETXN);
    assert_int_equal(list_keys(f->st, f->com).n, 0);

    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, key_add, f->com, &k, &id1), MXG_OK);
    k.flags = 256;
    k.active = false;
    assert_int_equal(MXG_STORE_CALL(f->st, key_add, f->com, &k, &id2), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    assert_true(id2 > id1 && id1 > 0);
    struct keys c = list_keys(f->st, f->com);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.k[0].id, id1);
    assert_int_equal(c.k[0].zone_id, f->com);
    assert_int_equal(c.k[0].flags, 257);
    assert_true(c.k[0].active && c.k[0].published);
    assert_string_equal(c.k[0].content, EC_KEY);
    assert_int_equal(c.k[1].flags, 256);
    assert_false(c.k[1].active);
    assert_int_equal(list_keys(f->st, f->net).n, 0);

    /* One key by id, only in its own zone. */
    c = (struct keys){0};
    assert_int_equal(MXG_STORE_CALL(f->st, key_get, f->com, id2, keys_cb, &c), MXG_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.k[0].id, id2);
    assert_int_equal(MXG_STORE_CALL(f->st, key_get, f->net, id2, keys_cb, &c), MXG_ENOENT);
    assert_int_equal(MXG_STORE_CALL(f->st, key_get, f->com, 999, keys_cb, &c), MXG_ENOENT);

    /* Flags: -1 keeps one; another zone's key or no key: ENOENT. */
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, key_set_flags, f->com, id2, 1, -1), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, key_set_flags, f->com, id1, -1, 0), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, key_set_flags, f->net, id1, 0, 0), MXG_ENOENT);
    assert_int_equal(MXG_STORE_CALL(f->st, key_remove, f->net, id1), MXG_ENOENT);
    assert_int_equal(MXG_STORE_CALL(f->st, key_remove, f->com, 999), MXG_ENOENT);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    c = list_keys(f->st, f->com);
    assert_true(c.k[0].active && !c.k[0].published);
    assert_true(c.k[1].active && c.k[1].published);

    /* A rollback undoes a removal; a committed one is gone. */
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, key_remove, f->com, id1), MXG_OK);
    assert_int_equal(list_keys(f->st, f->com).n, 1);
    assert_int_equal(MXG_STORE_CALL0(f->st, rollback), MXG_OK);
    assert_int_equal(list_keys(f->st, f->com).n, 2);
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, key_remove, f->com, id1), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    c = list_keys(f->st, f->com);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.k[0].id, id2);

    /* keyed_zones follows; deleting the zone takes its keys along. */
    c = (struct keys){0};
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, zone_delete, f->com), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, key_get, f->com, id2, keys_cb, &c), MXG_ENOENT);
}

struct tsigs {
    int n;
    char name[4][64], alg[4][32], secret[4][128];
};

static int tsig_cb(void *ctx, const struct mxg_tsig *k)
{
    struct tsigs *c = ctx;
    if (c->n < 4) {
        snprintf(c->name[c->n], sizeof(c->name[0]), "%s", k->name);
        snprintf(c->alg[c->n], sizeof(c->alg[0]), "%s", k->algorithm);
        snprintf(c->secret[c->n], sizeof(c->secret[0]), "%s", k->secret);
    }
    c->n++;
    return 0;
}

static void test_store_tsig(void **state)
{
    struct fixture *f = *state;
    struct mxg_tsig k = {.name = "axfr-key.", .algorithm = "hmac-sha256", .secret = SECRET};
    struct tsigs c = {0};
    assert_int_equal(MXG_STORE_CALL(f->st, tsig_set, &k), MXG_ETXN);
    assert_int_equal(MXG_STORE_CALL(f->st, tsig_get, "axfr-key.", tsig_cb, &c), MXG_ENOENT);
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, tsig_set, &k), MXG_OK);
    k = (struct mxg_tsig){.name = "b.", .algorithm = "hmac-sha512", .secret = "YWJj"};
    assert_int_equal(MXG_STORE_CALL(f->st, tsig_set, &k), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    /* Names compare case-insensitively and are stored as pdns's gsql does (no trailing dot). */
    assert_int_equal(MXG_STORE_CALL(f->st, tsig_get, "AXFR-Key.", tsig_cb, &c), MXG_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.name[0], "axfr-key.");
    assert_string_equal(c.alg[0], "hmac-sha256");
    assert_string_equal(c.secret[0], SECRET);
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT group_concat(name, ',') FROM tsigkeys", -1, &q, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "axfr-key,b");
    sqlite3_finalize(q);
    /* Replacing keeps one key per name, even after a pdns database held two algorithms. */
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO tsigkeys (name, algorithm, secret)"
                                  " VALUES ('axfr-key', 'hmac-md5', 'eHl6')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    c = (struct tsigs){0};
    assert_int_equal(MXG_STORE_CALL(f->st, tsig_list, tsig_cb, &c), MXG_OK);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.name[2], "b.");
    c = (struct tsigs){0};
    assert_int_equal(MXG_STORE_CALL(f->st, tsig_get, "axfr-key.", tsig_cb, &c), MXG_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.alg[0], "hmac-sha256"); /* the first by id */
    k = (struct mxg_tsig){.name = "Axfr-Key.", .algorithm = "hmac-sha384", .secret = "MTIz"};
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, tsig_set, &k), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    c = (struct tsigs){0};
    assert_int_equal(MXG_STORE_CALL(f->st, tsig_list, tsig_cb, &c), MXG_OK);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.name[0], "axfr-key.");
    assert_string_equal(c.alg[0], "hmac-sha384");
    assert_string_equal(c.secret[0], "MTIz");
    /* Delete: ENOENT for none. */
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, tsig_delete, "axfr-key."), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, tsig_delete, "axfr-key."), MXG_ENOENT);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    c = (struct tsigs){0};
    assert_int_equal(MXG_STORE_CALL(f->st, tsig_list, tsig_cb, &c), MXG_OK);
    assert_int_equal(c.n, 1);
    sqlite3_close(db);
}

/* A database pdns's gsqlite3 wrote: its rows are read as pdns reads them (NULL flags false). */
static void test_store_pdns_rows(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO cryptokeys (domain_id, flags, active, published, content)"
             " VALUES (%lld, 257, 1, 1, 'Private-key-format: v1.2'),"
             " (%lld, 256, NULL, NULL, 'x')",
             (long long)f->com, (long long)f->com);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct keys c = list_keys(f->st, f->com);
    assert_int_equal(c.n, 2);
    assert_true(c.k[0].active && c.k[0].published);
    assert_false(c.k[1].active || c.k[1].published);
}

/* ---- content checks ------------------------------------------------------------------------- */

static void test_content_checks(void **state)
{
    (void)state;
    unsigned alg = 0;
    char why[160];
    assert_int_equal(mxg_key_algorithm(EC_KEY, &alg), MXG_OK);
    assert_int_equal(alg, 13);
    assert_int_equal(mxg_key_algorithm("Private-key-format: v1.3\nalgorithm:8\n", &alg), MXG_OK);
    assert_int_equal(alg, 8);
    assert_int_equal(mxg_key_algorithm("Private-key-format: v1.2\n", &alg), MXG_EINVAL);
    assert_int_equal(mxg_key_algorithm("Algorithm: 256\n", &alg), MXG_EINVAL);
    assert_string_equal(mxg_key_algorithm_name(15), "ED25519");
    assert_null(mxg_key_algorithm_name(3));
    assert_int_equal(mxg_key_content_check(EC_KEY, strlen(EC_KEY), &alg, why, sizeof(why)), MXG_OK);
    const char *bad[] = {"", "x", "Private-key-format: v1.2\nAlgorithm: 6 (DSA-NSEC3-SHA1)\n",
                         "Private-key-format: v1.2\nAlgorithm: 13\n\x01",
                         "Private-key-format: v1.2\nAlgorithm: 13 \xc3\xa9\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(mxg_key_content_check(bad[i], strlen(bad[i]), &alg, why, sizeof(why)),
                         MXG_EINVAL);
    assert_int_equal(mxg_key_content_check(EC_KEY, strlen(EC_KEY) + 1, &alg, why, sizeof(why)),
                     MXG_EINVAL);
    assert_non_null(strstr(why, "NUL"));
    char *big = malloc(MXG_KEY_CONTENT_MAX + 2);
    memset(big, 'A', MXG_KEY_CONTENT_MAX + 1);
    memcpy(big, EC_KEY, strlen(EC_KEY));
    big[MXG_KEY_CONTENT_MAX + 1] = '\0';
    assert_int_equal(mxg_key_content_check(big, strlen(big), &alg, why, sizeof(why)), MXG_EINVAL);
    big[MXG_KEY_CONTENT_MAX] = '\0';
    assert_int_equal(mxg_key_content_check(big, strlen(big), &alg, why, sizeof(why)), MXG_OK);
    free(big);

    char out[64];
    assert_int_equal(mxg_tsig_algorithm("HMAC-SHA256.", out, sizeof(out)), MXG_OK);
    assert_string_equal(out, "hmac-sha256");
    assert_int_equal(mxg_tsig_algorithm("hmac-md5.sig-alg.reg.int.", out, sizeof(out)), MXG_OK);
    assert_string_equal(out, "hmac-md5.sig-alg.reg.int");
    assert_int_equal(mxg_tsig_algorithm("hmac-sha256..", out, sizeof(out)), MXG_EINVAL);
    assert_int_equal(mxg_tsig_algorithm("gss-tsig", out, sizeof(out)), MXG_EINVAL);
    assert_int_equal(mxg_tsig_algorithm("hmac-sha256", out, 5), MXG_EINVAL);
    assert_true(mxg_tsig_secret_ok(SECRET, strlen(SECRET)));
    assert_true(mxg_tsig_secret_ok("YQ==", 4));
    assert_false(mxg_tsig_secret_ok("YQ=", 3));
    assert_false(mxg_tsig_secret_ok("Y===", 4));
    assert_false(mxg_tsig_secret_ok("Y=QQ", 4));
    assert_false(mxg_tsig_secret_ok("", 0));
    assert_false(mxg_tsig_secret_ok("ab c", 4));
}

/* ---- the methods over the protocol ---------------------------------------------------------- */

/* One round trip; the reply has a result. */
static json_t *call(struct mxg_session *s, const char *line)
{
    json_t *j = mxg_test_call(s, line);
    assert_non_null(json_object_get(j, "result"));
    return j;
}

static json_t *callf(struct mxg_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static json_t *callf(struct mxg_session *s, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    return call(s, line);
}

static void init(struct mxg_session *s)
{
    json_decref(call(s, "{\"method\":\"initialize\",\"parameters\":{}}"));
}

static void expect_true(json_t *j)
{
    assert_true(json_is_true(json_object_get(j, "result")));
    json_decref(j);
}

static void expect_false(json_t *j, const char *log)
{
    assert_true(json_is_false(json_object_get(j, "result")));
    const char *l = json_string_value(json_array_get(json_object_get(j, "log"), 0));
    assert_non_null(l);
    assert_non_null(strstr(l, log));
    json_decref(j);
}

static int64_t audit_count(struct mxg_store *st)
{
    int64_t seq = 0;
    char hash[MXG_HASH_HEX];
    assert_int_equal(mxg_audit_head(st, &seq, hash), MXG_OK);
    return seq;
}

static int newest_cb(void *ctx, int64_t seq, const char *record, json_t *obj)
{
    (void)seq;
    (void)record;
    *(json_t **)ctx = json_incref(obj);
    return 0;
}

static json_t *newest_audit(struct mxg_store *st)
{
    struct mxg_audit_filter flt = {.newest_first = true, .limit = 1};
    json_t *rec = NULL;
    assert_int_equal(mxg_audit_list(st, &flt, newest_cb, &rec), MXG_OK);
    assert_non_null(rec);
    return rec;
}

/* Asserts the newest audit record: zone, source dnssec, keys.action, and no key material. */
static json_t *assert_key_audit(struct mxg_store *st, const char *zone, const char *action)
{
    json_t *rec = newest_audit(st);
    assert_string_equal(json_string_value(json_object_get(rec, "zone")), zone);
    assert_string_equal(json_string_value(json_object_get(rec, "source")), "dnssec");
    assert_string_equal(json_string_value(json_object_get(rec, "verdict")), "allow");
    json_t *keys = json_object_get(rec, "keys");
    assert_string_equal(json_string_value(json_object_get(keys, "action")), action);
    char *text = json_dumps(rec, 0);
    assert_null(strstr(text, "PrivateKey"));
    assert_null(strstr(text, "Modulus"));
    assert_null(strstr(text, SECRET));
    assert_null(strstr(text, "YWJjZA"));
    free(text);
    return rec;
}

static int64_t add_key(struct mxg_session *s, const char *zone, int flags, bool active,
                       const char *content_json)
{
    json_t *j = callf(s,
                      "{\"method\":\"addDomainKey\",\"parameters\":{\"name\":\"%s\",\"key\":{"
                      "\"flags\":%d,\"active\":%s,\"published\":true,\"content\":\"%s\"}}}",
                      zone, flags, active ? "true" : "false", content_json);
    json_t *res = json_object_get(j, "result");
    assert_true(json_is_integer(res));
    int64_t id = (int64_t)json_integer_value(res);
    json_decref(j);
    return id;
}

static void test_backend_keys(void **state)
{
    struct fixture *f = *state;
    init(f->s);
    json_t *j =
        call(f->s, "{\"method\":\"getDomainKeys\",\"parameters\":{\"name\":\"Example.COM.\"}}");
    assert_true(json_is_array(json_object_get(j, "result")));
    assert_int_equal(json_array_size(json_object_get(j, "result")), 0);
    json_decref(j);

    /* secure-zone's sequence: in a transaction of pdns, which commits nothing else. */
    int64_t n = audit_count(f->st);
    expect_true(call(f->s, "{\"method\":\"startTransaction\",\"parameters\":{\"domain\":"
                           "\"example.com.\",\"domain_id\":-1,\"trxid\":77}}"));
    int64_t ksk = add_key(f->s, "example.com.", 257, true, EC_KEY_JSON);
    assert_true(ksk > 0);
    expect_true(call(f->s, "{\"method\":\"commitTransaction\",\"parameters\":{\"trxid\":77}}"));
    assert_int_equal(audit_count(f->st), n + 1);
    json_t *rec = assert_key_audit(f->st, "example.com.", "add");
    json_t *key = json_object_get(json_object_get(rec, "keys"), "key");
    assert_int_equal(json_integer_value(json_object_get(key, "id")), ksk);
    assert_int_equal(json_integer_value(json_object_get(key, "flags")), 257);
    assert_string_equal(json_string_value(json_object_get(key, "role")), "KSK");
    assert_int_equal(json_integer_value(json_object_get(key, "algorithm")), 13);
    assert_string_equal(json_string_value(json_object_get(key, "algorithm_name")),
                        "ECDSAP256SHA256");
    assert_true(json_is_true(json_object_get(key, "active")));
    assert_true(json_is_true(json_object_get(key, "published")));
    json_decref(rec);

    int64_t zsk = add_key(f->s, "example.com.", 256, false, RSA_KEY_JSON);
    assert_true(zsk > ksk);
    j = call(f->s, "{\"method\":\"getDomainKeys\",\"parameters\":{\"name\":\"example.com.\"}}");
    json_t *arr = json_object_get(j, "result");
    assert_int_equal(json_array_size(arr), 2);
    json_t *k0 = json_array_get(arr, 0), *k1 = json_array_get(arr, 1);
    assert_int_equal(json_integer_value(json_object_get(k0, "id")), ksk);
    assert_true(json_is_true(json_object_get(k0, "active")));
    assert_true(json_is_true(json_object_get(k0, "published")));
    assert_string_equal(json_string_value(json_object_get(k0, "content")), EC_KEY);
    assert_int_equal(json_integer_value(json_object_get(k1, "flags")), 256);
    assert_true(json_is_false(json_object_get(k1, "active")));
    json_decref(j);
    j = call(f->s, "{\"method\":\"getDomainKeys\",\"parameters\":{\"name\":\"example.net.\"}}");
    assert_int_equal(json_array_size(json_object_get(j, "result")), 0);
    json_decref(j);

    /* The four flag changes and the removal, each with its record. */
    static const struct {
        const char *method, *action;
        bool active, published;
    } steps[] = {
        {"activateDomainKey", "activate", true, true},
        {"unpublishDomainKey", "unpublish", true, false},
        {"publishDomainKey", "publish", true, true},
        {"deactivateDomainKey", "deactivate", false, true},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        n = audit_count(f->st);
        expect_true(callf(f->s,
                          "{\"method\":\"%s\",\"parameters\":{\"name\":\"example.com.\","
                          "\"id\":%lld}}",
                          steps[i].method, (long long)zsk));
        assert_int_equal(audit_count(f->st), n + 1);
        rec = assert_key_audit(f->st, "example.com.", steps[i].action);
        key = json_object_get(json_object_get(rec, "keys"), "key");
        assert_int_equal(json_integer_value(json_object_get(key, "id")), zsk);
        assert_string_equal(json_string_value(json_object_get(key, "role")), "ZSK");
        assert_int_equal(json_integer_value(json_object_get(key, "algorithm")), 8);
        assert_int_equal(json_is_true(json_object_get(key, "active")), steps[i].active);
        assert_int_equal(json_is_true(json_object_get(key, "published")), steps[i].published);
        json_decref(rec);
        /* The same request again changes nothing and writes no record. */
        expect_true(callf(f->s,
                          "{\"method\":\"%s\",\"parameters\":{\"name\":\"example.com.\","
                          "\"id\":%lld}}",
                          steps[i].method, (long long)zsk));
        assert_int_equal(audit_count(f->st), n + 1);
    }
    struct keys c = list_keys(f->st, f->com);
    assert_int_equal(c.n, 2);
    assert_false(c.k[1].active);
    assert_true(c.k[1].published);

    /* Bad input: false with a reason, nothing changed, counted as an error. */
    n = audit_count(f->st);
    uint64_t errors = mxg_backend_stats(f->be)->errors;
    expect_false(callf(f->s,
                       "{\"method\":\"removeDomainKey\",\"parameters\":{\"name\":\"example.net.\","
                       "\"id\":%lld}}",
                       (long long)zsk),
                 "has no key with id");
    expect_false(call(f->s,
                      "{\"method\":\"addDomainKey\",\"parameters\":{\"name\":\"example.com.\","
                      "\"key\":{\"flags\":257,\"active\":true,\"content\":\"x\"}}}"),
                 "not an ISC private key");
    expect_false(call(f->s,
                      "{\"method\":\"addDomainKey\",\"parameters\":{\"name\":\"nope.\","
                      "\"key\":{\"flags\":257,\"active\":true,\"content\":\"" EC_KEY_JSON "\"}}}"),
                 "no zone nope.");
    expect_false(call(f->s, "{\"method\":\"activateDomainKey\",\"parameters\":{\"name\":"
                            "\"example.com.\",\"id\":\"x\"}}"),
                 "parameter 'id'");
    assert_int_equal(mxg_backend_stats(f->be)->errors, errors + 4);
    assert_int_equal(audit_count(f->st), n);
    assert_int_equal(list_keys(f->st, f->com).n, 2);
    assert_int_equal(list_keys(f->st, f->net).n, 0);

    /* Removal: the record keeps the key's last state. */
    expect_true(callf(f->s,
                      "{\"method\":\"removeDomainKey\",\"parameters\":{\"name\":\"example.com.\","
                      "\"id\":%lld}}",
                      (long long)zsk));
    rec = assert_key_audit(f->st, "example.com.", "remove");
    key = json_object_get(json_object_get(rec, "keys"), "key");
    assert_int_equal(json_integer_value(json_object_get(key, "id")), zsk);
    assert_true(json_is_false(json_object_get(key, "active")));
    json_decref(rec);
    expect_false(callf(f->s,
                       "{\"method\":\"removeDomainKey\",\"parameters\":{\"name\":\"example.com.\","
                       "\"id\":%lld}}",
                       (long long)zsk),
                 "has no key with id");
    assert_int_equal(list_keys(f->st, f->com).n, 1);
    struct mxg_audit_verify v;
    assert_int_equal(mxg_audit_verify(f->st, NULL, &v), MXG_OK);
}

static void test_backend_tsig(void **state)
{
    struct fixture *f = *state;
    init(f->s);
    json_t *j = call(f->s, "{\"method\":\"getTSIGKeys\",\"parameters\":{}}");
    assert_int_equal(json_array_size(json_object_get(j, "result")), 0);
    json_decref(j);
    j = call(f->s, "{\"method\":\"getTSIGKey\",\"parameters\":{\"name\":\"axfr-key.\"}}");
    assert_true(json_is_false(json_object_get(j, "result")));
    assert_null(json_object_get(j, "log")); /* an unknown key is no error */
    json_decref(j);

    int64_t n = audit_count(f->st);
    expect_true(call(f->s, "{\"method\":\"setTSIGKey\",\"parameters\":{\"name\":\"Axfr-Key.\","
                           "\"algorithm\":\"hmac-sha256.\",\"content\":\"" SECRET "\"}}"));
    assert_int_equal(audit_count(f->st), n + 1);
    json_t *rec = assert_key_audit(f->st, ".", "tsig-add");
    json_t *t = json_object_get(json_object_get(rec, "keys"), "tsig");
    assert_string_equal(json_string_value(json_object_get(t, "name")), "axfr-key.");
    assert_string_equal(json_string_value(json_object_get(t, "algorithm")), "hmac-sha256");
    json_decref(rec);

    j = call(f->s, "{\"method\":\"getTSIGKey\",\"parameters\":{\"name\":\"AXFR-KEY\"}}");
    json_t *res = json_object_get(j, "result");
    assert_string_equal(json_string_value(json_object_get(res, "algorithm")), "hmac-sha256");
    assert_string_equal(json_string_value(json_object_get(res, "content")), SECRET);
    json_decref(j);

    /* Setting it to what it is: true, no record. Another algorithm: a replace. */
    expect_true(call(f->s, "{\"method\":\"setTSIGKey\",\"parameters\":{\"name\":\"axfr-key.\","
                           "\"algorithm\":\"hmac-sha256\",\"content\":\"" SECRET "\"}}"));
    assert_int_equal(audit_count(f->st), n + 1);
    expect_true(call(f->s, "{\"method\":\"setTSIGKey\",\"parameters\":{\"name\":\"axfr-key.\","
                           "\"algorithm\":\"hmac-sha512.\",\"content\":\"" SECRET "\"}}"));
    rec = assert_key_audit(f->st, ".", "tsig-replace");
    json_t *keys = json_object_get(rec, "keys");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(keys, "before"), "algorithm")),
        "hmac-sha256");
    assert_true(json_is_false(json_object_get(keys, "secret_changed")));
    json_decref(rec);
    expect_true(call(f->s, "{\"method\":\"setTSIGKey\",\"parameters\":{\"name\":\"axfr-key.\","
                           "\"algorithm\":\"hmac-sha512.\",\"content\":\"YWJjZA==\"}}"));
    rec = assert_key_audit(f->st, ".", "tsig-replace");
    assert_true(json_is_true(json_object_get(json_object_get(rec, "keys"), "secret_changed")));
    json_decref(rec);
    expect_true(call(f->s,
                     "{\"method\":\"setTSIGKey\",\"parameters\":{\"name\":\"second.\","
                     "\"algorithm\":\"hmac-md5.sig-alg.reg.int.\",\"content\":\"" SECRET "\"}}"));
    j = call(f->s, "{\"method\":\"getTSIGKeys\",\"parameters\":{}}");
    json_t *arr = json_object_get(j, "result");
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "name")),
                        "axfr-key.");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "content")),
                        "YWJjZA==");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "algorithm")),
                        "hmac-md5.sig-alg.reg.int");
    json_decref(j);

    /* Bad input changes nothing. */
    n = audit_count(f->st);
    expect_false(call(f->s, "{\"method\":\"setTSIGKey\",\"parameters\":{\"name\":\"axfr-key.\","
                            "\"algorithm\":\"hmac-sha999\",\"content\":\"" SECRET "\"}}"),
                 "unknown algorithm");
    expect_false(call(f->s, "{\"method\":\"setTSIGKey\",\"parameters\":{\"name\":\"axfr-key.\","
                            "\"algorithm\":\"hmac-sha256\",\"content\":\"!!\"}}"),
                 "base64");
    expect_false(call(f->s, "{\"method\":\"deleteTSIGKey\",\"parameters\":{\"name\":\"nope.\"}}"),
                 "no TSIG key nope.");
    assert_int_equal(audit_count(f->st), n);

    expect_true(
        call(f->s, "{\"method\":\"deleteTSIGKey\",\"parameters\":{\"name\":\"AXFR-key\"}}"));
    rec = assert_key_audit(f->st, ".", "tsig-delete");
    t = json_object_get(json_object_get(rec, "keys"), "tsig");
    assert_string_equal(json_string_value(json_object_get(t, "algorithm")), "hmac-sha512");
    json_decref(rec);
    j = call(f->s, "{\"method\":\"getTSIGKey\",\"parameters\":{\"name\":\"axfr-key.\"}}");
    assert_true(json_is_false(json_object_get(j, "result")));
    json_decref(j);
    struct mxg_audit_verify v;
    assert_int_equal(mxg_audit_verify(f->st, NULL, &v), MXG_OK);
}

/* A zone deleted with its keys: the deletion's own record, then one (source dnssec) naming the
 * keys that went with it, without their material; a zone without keys gets none. */
static void test_zone_delete_keys(void **state)
{
    struct fixture *f = *state;
    init(f->s);
    int64_t ksk = add_key(f->s, "example.com.", 257, true, EC_KEY_JSON);
    int64_t zsk = add_key(f->s, "example.com.", 256, false, RSA_KEY_JSON);
    int64_t n = audit_count(f->st);
    char err[256];
    assert_int_equal(mxg_zone_remove(f->st, &f->cfg, "example.com.", "cli", err, sizeof(err)),
                     MXG_OK);
    assert_int_equal(audit_count(f->st), n + 2);
    json_t *rec = assert_key_audit(f->st, "example.com.", "zone-delete");
    json_t *list = json_object_get(json_object_get(rec, "keys"), "keys");
    assert_int_equal(json_array_size(list), 2);
    int64_t seen[2];
    for (size_t i = 0; i < 2; i++) {
        json_t *k = json_array_get(list, i);
        seen[i] = (int64_t)json_integer_value(json_object_get(k, "id"));
        assert_non_null(json_object_get(k, "flags"));
        assert_non_null(json_object_get(k, "algorithm"));
        assert_null(json_object_get(k, "content"));
    }
    assert_true((seen[0] == ksk && seen[1] == zsk) || (seen[0] == zsk && seen[1] == ksk));
    json_decref(rec);
    assert_int_equal(list_keys(f->st, f->com).n, 0);
    /* No keys: only the deletion's record. */
    n = audit_count(f->st);
    assert_int_equal(mxg_zone_remove(f->st, &f->cfg, "example.net.", "cli", err, sizeof(err)),
                     MXG_OK);
    assert_int_equal(audit_count(f->st), n + 1);
    rec = newest_audit(f->st);
    assert_string_equal(json_string_value(json_object_get(rec, "zone")), "example.net.");
    assert_null(json_object_get(rec, "keys"));
    json_decref(rec);
    struct mxg_audit_verify v;
    assert_int_equal(mxg_audit_verify(f->st, NULL, &v), MXG_OK);
}

/* No audit record ever holds key material: every record's text, searched. */
static int no_material(void *ctx, int64_t seq, const char *record, json_t *obj)
{
    (void)ctx;
    (void)seq;
    (void)obj;
    assert_null(strstr(record, "PrivateKey"));
    assert_null(strstr(record, "Private-key-format"));
    assert_null(strstr(record, SECRET));
    assert_null(strstr(record, "YWJjZA"));
    return 0;
}

static void test_backend_audit_has_no_material(void **state)
{
    struct fixture *f = *state;
    test_backend_keys(state);
    mxg_session_free(f->s);
    f->s = mxg_session_new(f->be);
    test_backend_tsig(state);
    struct mxg_audit_filter all = {0};
    assert_int_equal(mxg_audit_list(f->st, &all, no_material, NULL), MXG_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_tsig, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_pdns_rows, setup, teardown),
        cmocka_unit_test(test_content_checks),
        cmocka_unit_test_setup_teardown(test_backend_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backend_tsig, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backend_audit_has_no_material, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zone_delete_keys, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
