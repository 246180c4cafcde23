/* test_store_pg.c -- the PostgreSQL engine, with the SQLite engine as its oracle.
 *
 * The same seeded stream of calls (zones, records of every indexed kind, metadata, keys, TSIG,
 * autoprimaries, audit rows, commits and rollbacks) goes to both engines; every call must return
 * the same code and, after every transaction, everything the interface can read must be the same.
 * Then what only PostgreSQL has: a database made by pdns's gpgsql schema served as is, a newer
 * schema refused, a connection the server dropped, another process's commit seen through the
 * generation.
 *
 * The server is started by ctest's fixture (tests/pg.sh); MXG_TEST_PG_STATE names its state file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "mxg/err.h"
#include "mxg/store.h"

#include "fixtures.h"

static char pg_dir[512];
static char pg_user[64];

struct fixture {
    char path[64];
    struct mxg_store *sq, *pg;
    char uri[700];
};

/* Runs sql on database dbname of the test server; fails the test when it fails. */
static void sql_on(const char *dbname, const char *sql)
{
    char conninfo[700];
    snprintf(conninfo, sizeof(conninfo), "host=%s user=%s dbname=%s", pg_dir, pg_user, dbname);
    PGconn *c = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* On the server's maintenance database, and on the test database itself. */
static void admin(const char *sql)
{
    sql_on("postgres", sql);
}

static void db_sql(const char *sql)
{
    sql_on("mxgunit", sql);
}

static int group_setup(void **state)
{
    (void)state;
    const char *st = getenv("MXG_TEST_PG_STATE");
    FILE *fp = st ? fopen(st, "r") : NULL;
    if (!fp) {
        fprintf(stderr, "MXG_TEST_PG_STATE: no PostgreSQL server (run through ctest)\n");
        return -1;
    }
    if (!fgets(pg_dir, sizeof(pg_dir), fp))
        pg_dir[0] = '\0';
    if (fclose(fp) != 0)
        return -1;
    pg_dir[strcspn(pg_dir, "\n")] = '\0';
    /* tests/pg.sh runs the server as root's postgres user, else as the caller. */
    const char *user = getenv("USER");
    snprintf(pg_user, sizeof(pg_user), "%s", geteuid() == 0 || !user ? "postgres" : user);
    return pg_dir[0] ? 0 : -1;
}

static void fresh_db(void)
{
    admin("DROP DATABASE IF EXISTS mxgunit WITH (FORCE)");
    admin("CREATE DATABASE mxgunit");
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];
    mxg_test_db_path(f->path, sizeof(f->path), "pg");
    char uri[100];
    snprintf(uri, sizeof(uri), "sqlite:%s", f->path);
    assert_int_equal(mxg_store_open(uri, &f->sq, err, sizeof(err)), MXG_OK);
    fresh_db();
    snprintf(f->uri, sizeof(f->uri), "postgresql:///mxgunit?host=%s&user=%s", pg_dir, pg_user);
    if (mxg_store_open(f->uri, &f->pg, err, sizeof(err)) != MXG_OK)
        fail_msg("open %s: %s", f->uri, err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mxg_store_close(f->sq);
    mxg_store_close(f->pg);
    mxg_test_db_remove(f->path);
    free(f);
    return 0;
}

/* ---- a dump of everything the interface reads, in a form both engines must equal ---------- */

struct dump {
    char **lines;
    size_t n, cap;
    struct mxg_store *st;
    char zone[MXG_NAME_TEXT_MAX];
};

static void put(struct dump *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct dump *d, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->lines = realloc(d->lines, d->cap * sizeof(*d->lines));
        assert_non_null(d->lines);
    }
    d->lines[d->n++] = strdup(buf);
}

static int cmp_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The zone's name for an id (ids may differ between engines; names do not). */
static const char *zname(struct mxg_store *st, int64_t id, char *buf)
{
    struct mxg_zone z;
    if (MXG_STORE_CALL(st, zone_get_by_id, id, &z) != MXG_OK)
        return "?";
    strcpy(buf, z.name);
    return buf;
}

static int rec_cb(void *ctx, const struct mxg_record *r)
{
    struct dump *d = ctx;
    char zb[MXG_NAME_TEXT_MAX];
    put(d, "rec %s %s %s %s %u %d", zname(d->st, r->domain_id, zb), r->name, r->type, r->content,
        r->ttl, r->auth);
    return 0;
}

static int meta_cb(void *ctx, const char *kind, const char *value)
{
    struct dump *d = ctx;
    put(d, "meta %s %s %s", d->zone, kind, value);
    return 0;
}

static int key_cb(void *ctx, const struct mxg_key *k)
{
    struct dump *d = ctx;
    put(d, "key %s %u %d %d %s", d->zone, k->flags, k->active, k->published, k->content);
    return 0;
}

static int tsig_cb(void *ctx, const struct mxg_tsig *k)
{
    struct dump *d = ctx;
    put(d, "tsig %s %s %s", k->name, k->algorithm, k->secret);
    return 0;
}

static int ap_cb(void *ctx, const char *ip, const char *ns, const char *account)
{
    put(ctx, "autoprimary %s %s %s", ip, ns, account);
    return 0;
}

static int ref_cb(void *ctx, int64_t zone_id, const char *owner)
{
    struct dump *d = ctx;
    char zb[MXG_NAME_TEXT_MAX];
    put(d, "referrer %s %s %s", d->zone, zname(d->st, zone_id, zb), owner);
    return 0;
}

static int below_cb(void *ctx, int64_t zone_id, const char *owner, const char *target)
{
    struct dump *d = ctx;
    char zb[MXG_NAME_TEXT_MAX];
    put(d, "below %s %s %s %s", d->zone, zname(d->st, zone_id, zb), owner, target);
    return 0;
}

static int audit_cb(void *ctx, const struct mxg_audit_row *row)
{
    put(ctx, "audit %lld %s %s %s %s %s", (long long)row->seq, row->time, row->zone, row->verdict,
        row->record, row->hash);
    return 0;
}

static const char *const ZONES[] = {"example.com.", "example.net.", "sub.example.com.",
                                    "shop.example.org."};
static const char *const LABELS[] = {"", "www.", "mail.", "a.b.", "b.", "*.", "mx2.", "_25._tcp."};
static const char *const TYPES[] = {"A",  "AAAA", "MX",    "CNAME", "TXT",
                                    "NS", "SRV",  "ALIAS", "DNAME"};

static int zone_cb(void *ctx, const struct mxg_zone *z)
{
    struct dump *d = ctx;
    put(d, "zone %s %s %s serial=%lld soa=%d notified=%lld check=%lld", z->name,
        mxg_zone_kind_name(z->kind), z->masters, (long long)z->serial, z->has_soa,
        (long long)z->notified_serial, (long long)z->last_check);
    return 0;
}

static char *dump(struct mxg_store *st)
{
    struct dump d = {.st = st};
    assert_int_equal(MXG_STORE_CALL(st, zone_list, zone_cb, &d), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(st, keyed_zones, zone_cb, &d), MXG_OK);
    for (size_t i = 0; i < sizeof(ZONES) / sizeof(ZONES[0]); i++) {
        struct mxg_zone z;
        snprintf(d.zone, sizeof(d.zone), "%s", ZONES[i]);
        int rc = MXG_STORE_CALL(st, zone_get, ZONES[i], &z);
        put(&d, "zone_get %s %d", ZONES[i], rc);
        if (rc != MXG_OK)
            continue;
        assert_int_equal(MXG_STORE_CALL(st, list, z.id, rec_cb, &d), MXG_OK);
        assert_int_equal(MXG_STORE_CALL(st, meta_list, z.id, NULL, meta_cb, &d), MXG_OK);
        assert_int_equal(MXG_STORE_CALL(st, meta_list, z.id, "x-mxguard-mode", meta_cb, &d),
                         MXG_OK);
        assert_int_equal(MXG_STORE_CALL(st, key_list, z.id, key_cb, &d), MXG_OK);
        for (size_t l = 0; l < sizeof(LABELS) / sizeof(LABELS[0]); l++) {
            char name[300];
            snprintf(name, sizeof(name), "%s%s", LABELS[l], ZONES[i]);
            bool b = false;
            assert_int_equal(MXG_STORE_CALL(st, has_below, z.id, name, &b), MXG_OK);
            put(&d, "has_below %s %d", name, b);
            assert_int_equal(MXG_STORE_CALL(st, lookup, z.id, name, NULL, rec_cb, &d), MXG_OK);
            assert_int_equal(MXG_STORE_CALL(st, lookup, z.id, name, "MX", rec_cb, &d), MXG_OK);
            for (int t = 2; t < 4; t++) {
                snprintf(d.zone, sizeof(d.zone), "%s %s", TYPES[t], name);
                assert_int_equal(MXG_STORE_CALL(st, referrers, TYPES[t], name, ref_cb, &d), MXG_OK);
                assert_int_equal(MXG_STORE_CALL(st, referrers_below, TYPES[t], name, below_cb, &d),
                                 MXG_OK);
            }
            snprintf(d.zone, sizeof(d.zone), "%s", ZONES[i]);
        }
    }
    snprintf(d.zone, sizeof(d.zone), "root");
    assert_int_equal(MXG_STORE_CALL(st, referrers_below, "MX", ".", below_cb, &d), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(st, search, "%MAIL%", 1000, rec_cb, &d), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(st, tsig_list, tsig_cb, &d), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(st, autoprimary_list, ap_cb, &d), MXG_OK);
    struct mxg_audit_filter all = {0};
    assert_int_equal(MXG_STORE_CALL(st, audit_list, &all, audit_cb, &d), MXG_OK);
    struct mxg_audit_filter some = {.zone = "example.com.", .newest_first = true, .limit = 3};
    assert_int_equal(MXG_STORE_CALL(st, audit_list, &some, audit_cb, &d), MXG_OK);
    qsort(d.lines, d.n, sizeof(*d.lines), cmp_lines);
    size_t len = 1;
    for (size_t i = 0; i < d.n; i++)
        len += strlen(d.lines[i]) + 1;
    char *out = malloc(len);
    assert_non_null(out);
    out[0] = '\0';
    char *p = out;
    for (size_t i = 0; i < d.n; i++) {
        size_t l = strlen(d.lines[i]);
        memcpy(p, d.lines[i], l);
        p[l] = '\n';
        p += l + 1;
        *p = '\0';
        free(d.lines[i]);
    }
    free(d.lines);
    return out;
}

/* What the handle reads inside a transaction of its own (remembered reads, one read of a
 * name for every type, every target type at once) is what it reads outside one. */
static void same_in_txn(struct mxg_store *pg)
{
    char *out = dump(pg);
    assert_int_equal(MXG_STORE_CALL0(pg, begin), MXG_OK);
    char *in = dump(pg), *again = dump(pg);
    assert_int_equal(MXG_STORE_CALL0(pg, rollback), MXG_OK);
    assert_string_equal(in, out);
    assert_string_equal(again, out);
    free(out);
    free(in);
    free(again);
}

static void same_state(struct fixture *f, int step)
{
    if (step % 100 == 99 || step == 400)
        same_in_txn(f->pg);
    char *a = dump(f->sq), *b = dump(f->pg);
    if (strcmp(a, b) != 0) {
        /* The first differing line, for the failure message. */
        const char *x = a, *y = b;
        while (*x && *x == *y) {
            x++;
            y++;
        }
        while (x > a && x[-1] != '\n') {
            x--;
            y--;
        }
        fail_msg("step %d: sqlite has\n  %.200s\npostgresql has\n  %.200s", step, x, y);
    }
    free(a);
    free(b);
}

/* ---- the stream of calls ------------------------------------------------------------------ */

static uint32_t rnd_state;

static uint32_t rnd(uint32_t n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) % n;
}

/* Both engines get the call; their codes must agree. A failed write ends the transaction
 * (callers roll back after any failure: PostgreSQL has aborted it already). */
static int last_rc;
#define BOTH(call_sq, call_pg)                                                                     \
    do {                                                                                           \
        int rc_sq_ = (call_sq), rc_pg_ = (call_pg);                                                \
        if (rc_sq_ != rc_pg_)                                                                      \
            fail_msg("step %d line %d: sqlite %d, postgresql %d", step, __LINE__, rc_sq_, rc_pg_); \
        last_rc = rc_sq_;                                                                          \
    } while (0)

static int64_t zid(struct mxg_store *st, const char *zone)
{
    struct mxg_zone z;
    return MXG_STORE_CALL(st, zone_get, zone, &z) == MXG_OK ? z.id : 999999;
}

static void content_for(const char *type, const char *zone, char *out, size_t outlen)
{
    static const char *const TARGETS[] = {"", "mail.", "www.", "mx2.", "a.b."};
    const char *t = TARGETS[rnd(5)];
    const char *z = ZONES[rnd(4)];
    (void)zone;
    if (strcmp(type, "A") == 0)
        snprintf(out, outlen, "192.0.2.%u", rnd(4));
    else if (strcmp(type, "AAAA") == 0)
        snprintf(out, outlen, "2001:db8::%u", rnd(4));
    else if (strcmp(type, "MX") == 0)
        snprintf(out, outlen, rnd(10) == 0 ? "0 ." : "%u %s%s", 10 * rnd(3), t, z);
    else if (strcmp(type, "SRV") == 0)
        snprintf(out, outlen, "%u 5 25 %s%s", rnd(3), t, z);
    else if (strcmp(type, "TXT") == 0)
        snprintf(out, outlen, "\"v=spf1 mx %u\"", rnd(3));
    else
        snprintf(out, outlen, "%s%s", t, z);
}

struct nth {
    int k;
    int64_t id;
};

static int nth_cb(void *ctx, const struct mxg_key *key)
{
    struct nth *n = ctx;
    if (n->k-- == 0)
        n->id = key->id;
    return 0;
}

static int64_t nth_key(struct mxg_store *st, int64_t zone_id, int k)
{
    struct nth n = {.k = k, .id = 999999};
    assert_int_equal(MXG_STORE_CALL(st, key_list, zone_id, nth_cb, &n), MXG_OK);
    return n.id;
}

/* Returns false when a call failed (the transaction must be rolled back). */
static bool txn_ops(struct fixture *f, int step, int *seq)
{
    int n = 1 + (int)rnd(6);
    for (int i = 0; i < n; i++) {
        last_rc = MXG_OK;
        const char *zone = ZONES[rnd(4)];
        int64_t zs = zid(f->sq, zone), zp = zid(f->pg, zone);
        char name[300], content[300];
        snprintf(name, sizeof(name), "%s%s", LABELS[rnd(8)], zone);
        switch (rnd(13)) {
        case 0:
        case 1:
        case 2:
        case 3: {
            const char *type = rnd(8) == 0 ? "SOA" : TYPES[rnd(9)];
            if (strcmp(type, "SOA") == 0)
                snprintf(content, sizeof(content), "ns1.%s hostmaster.%s %u 3600 600 86400 60",
                         zone, zone, 2024010100 + rnd(50));
            else
                content_for(type, zone, content, sizeof(content));
            struct mxg_record r = {.name = strcmp(type, "SOA") == 0 ? zone : name,
                                   .type = type,
                                   .content = content,
                                   .ttl = 60 * (1 + rnd(3)),
                                   .auth = rnd(5) != 0};
            BOTH(MXG_STORE_CALL(f->sq, record_add, zs, &r),
                 MXG_STORE_CALL(f->pg, record_add, zp, &r));
            break;
        }
        case 4:
        case 5: {
            const char *type = rnd(3) == 0 ? NULL : TYPES[rnd(9)];
            BOTH(MXG_STORE_CALL(f->sq, rrset_delete, zs, name, type),
                 MXG_STORE_CALL(f->pg, rrset_delete, zp, name, type));
            break;
        }
        case 6:
            if (rnd(4) == 0)
                BOTH(MXG_STORE_CALL(f->sq, zone_clear, zs), MXG_STORE_CALL(f->pg, zone_clear, zp));
            break;
        case 7: {
            const char *vals[2] = {rnd(2) ? "reject" : "fix", "extra"};
            const char *kind = rnd(2) ? "X-MXGUARD-MODE" : "SOA-EDIT-API";
            size_t nv = rnd(3);
            BOTH(MXG_STORE_CALL(f->sq, meta_set, zs, kind, vals, nv),
                 MXG_STORE_CALL(f->pg, meta_set, zp, kind, vals, nv));
            break;
        }
        case 8: {
            char body[128];
            snprintf(body, sizeof(body), "Private-key-format: v1.2\nAlgorithm: 13\nk%u", rnd(100));
            struct mxg_key k = {.flags = rnd(2) ? 256 : 257,
                                .active = rnd(2) != 0,
                                .published = rnd(2) != 0,
                                .content = body};
            int64_t a = 0, b = 0;
            BOTH(MXG_STORE_CALL(f->sq, key_add, zs, &k, &a),
                 MXG_STORE_CALL(f->pg, key_add, zp, &k, &b));
            break;
        }
        case 9: {
            /* The k-th key of the zone in id order: ids differ (PostgreSQL's sequences do not
             * go back on a rollback, SQLite's rowids do). */
            int k = (int)rnd(4);
            int64_t is = nth_key(f->sq, zs, k), ip = nth_key(f->pg, zp, k);
            int act = (int)rnd(3) - 1, pub = (int)rnd(3) - 1;
            BOTH(MXG_STORE_CALL(f->sq, key_set_flags, zs, is, act, pub),
                 MXG_STORE_CALL(f->pg, key_set_flags, zp, ip, act, pub));
            if (rnd(4) == 0)
                BOTH(MXG_STORE_CALL(f->sq, key_remove, zs, is),
                     MXG_STORE_CALL(f->pg, key_remove, zp, ip));
            break;
        }
        case 11: {
            /* Many records at once: SQLite writes them in batches, PostgreSQL one by one. */
            static char names[150][300], contents[150][300];
            struct mxg_record recs[150];
            size_t nr = rnd(150);
            for (size_t j = 0; j < nr; j++) {
                const char *type = TYPES[rnd(9)];
                snprintf(names[j], sizeof(names[j]), "%s%s", LABELS[rnd(8)], zone);
                content_for(type, zone, contents[j], sizeof(contents[j]));
                recs[j] = (struct mxg_record){.name = names[j],
                                              .type = type,
                                              .content = contents[j],
                                              .ttl = 60,
                                              .auth = rnd(5) != 0};
            }
            BOTH(mxg_store_records_add(f->sq, zs, recs, nr),
                 mxg_store_records_add(f->pg, zp, recs, nr));
            break;
        }
        case 10: {
            struct mxg_tsig t = {.name = rnd(2) ? "axfr-key." : "B.Example.",
                                 .algorithm = rnd(2) ? "hmac-sha256" : "hmac-sha512",
                                 .secret = rnd(2) ? "c2VjcmV0" : "b3RoZXI="};
            if (rnd(3) == 0)
                BOTH(MXG_STORE_CALL(f->sq, tsig_delete, t.name),
                     MXG_STORE_CALL(f->pg, tsig_delete, t.name));
            else
                BOTH(MXG_STORE_CALL(f->sq, tsig_set, &t), MXG_STORE_CALL(f->pg, tsig_set, &t));
            break;
        }
        default: {
            char rec[128], hash[80];
            (*seq)++;
            snprintf(rec, sizeof(rec), "{\"seq\":%d,\"zone\":\"%s\"}", *seq, zone);
            snprintf(hash, sizeof(hash), "%064d", *seq);
            BOTH(MXG_STORE_CALL(f->sq, audit_insert, *seq, "2026-12-05T00:00:00Z", zone, "allow",
                                rec, hash),
                 MXG_STORE_CALL(f->pg, audit_insert, *seq, "2026-12-05T00:00:00Z", zone, "allow",
                                rec, hash));
            break;
        }
        }
        if (last_rc != MXG_OK && last_rc != MXG_ENOENT)
            return false;
    }
    return true;
}

static void test_same_as_sqlite(void **state)
{
    struct fixture *f = *state;
    rnd_state = 20261205u;
    int seq = 0;
    for (int step = 0; step < 400; step++) {
        const char *zone = ZONES[rnd(4)];
        int64_t zs = zid(f->sq, zone), zp = zid(f->pg, zone);
        switch (rnd(10)) {
        case 0: {
            enum mxg_zone_kind k = (enum mxg_zone_kind)rnd(3);
            const char *m = k == MXG_KIND_SLAVE ? "192.0.2.53" : NULL;
            int64_t a = 0, b = 0;
            BOTH(MXG_STORE_CALL(f->sq, zone_add, zone, k, m, &a),
                 MXG_STORE_CALL(f->pg, zone_add, zone, k, m, &b));
            break;
        }
        case 1:
            if (rnd(6) == 0)
                BOTH(MXG_STORE_CALL(f->sq, zone_delete, zs),
                     MXG_STORE_CALL(f->pg, zone_delete, zp));
            else
                BOTH(
                    MXG_STORE_CALL(f->sq, zone_set_kind, zs, MXG_KIND_MASTER, "198.51.100.1:5300"),
                    MXG_STORE_CALL(f->pg, zone_set_kind, zp, MXG_KIND_MASTER, "198.51.100.1:5300"));
            break;
        case 2: {
            int64_t v = rnd(1000);
            BOTH(MXG_STORE_CALL(f->sq, zone_set_notified, zs, v),
                 MXG_STORE_CALL(f->pg, zone_set_notified, zp, v));
            BOTH(MXG_STORE_CALL(f->sq, zone_set_last_check, zs, v + 1),
                 MXG_STORE_CALL(f->pg, zone_set_last_check, zp, v + 1));
            break;
        }
        case 3: {
            const char *ip = rnd(2) ? "192.0.2.1" : "2001:db8::1";
            const char *ns = rnd(2) ? "ns1.example.net." : "ns2.example.net.";
            if (rnd(2))
                BOTH(MXG_STORE_CALL(f->sq, autoprimary_add, ip, ns, "acct"),
                     MXG_STORE_CALL(f->pg, autoprimary_add, ip, ns, "acct"));
            else
                BOTH(MXG_STORE_CALL(f->sq, autoprimary_delete, ip, ns),
                     MXG_STORE_CALL(f->pg, autoprimary_delete, ip, ns));
            char a1[64] = "", a2[64] = "";
            BOTH(MXG_STORE_CALL(f->sq, autoprimary_find, ip, ns, a1, sizeof(a1)),
                 MXG_STORE_CALL(f->pg, autoprimary_find, ip, ns, a2, sizeof(a2)));
            assert_string_equal(a1, a2);
            break;
        }
        default: {
            int64_t before = seq;
            BOTH(MXG_STORE_CALL0(f->sq, begin), MXG_STORE_CALL0(f->pg, begin));
            bool ok = txn_ops(f, step, &seq);
            if (!ok || rnd(4) == 0) {
                BOTH(MXG_STORE_CALL0(f->sq, rollback), MXG_STORE_CALL0(f->pg, rollback));
                seq = (int)before;
            } else {
                BOTH(MXG_STORE_CALL0(f->sq, commit), MXG_STORE_CALL0(f->pg, commit));
            }
            break;
        }
        }
        if (step % 20 == 19)
            same_state(f, step);
    }
    same_state(f, 400);
    /* The stream left something to compare: records, index answers, keys, audit rows. */
    char *d = dump(f->pg);
    const char *what[] = {"\nrec ",   "\nbelow ", "\nreferrer ", "\nkey ",
                          "\naudit ", "\ntsig ",  "\nmeta ",     "\nhas_below "};
    for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
        int n = 0;
        for (const char *p = d; (p = strstr(p, what[i])) != NULL; p++)
            n++;
        if (n < (i == 0 ? 20 : 1))
            fail_msg("only %d lines of [%s]", n, what[i] + 1);
    }
    free(d);
}

static int count_cb(void *ctx, const struct mxg_record *r)
{
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

/* Rows as pdns's gpgsql backend writes them, in a database mxguard never opened: served as
 * they are, and the guard's indexes are built from them. */
static void test_gpgsql_database(void **state)
{
    struct fixture *f = *state;
    mxg_store_close(f->pg);
    f->pg = NULL;
    fresh_db();
    db_sql(
        "CREATE TABLE domains (id SERIAL PRIMARY KEY, name VARCHAR(255) NOT NULL,"
        " master VARCHAR(128) DEFAULT NULL, last_check INT DEFAULT NULL, type TEXT NOT NULL,"
        " notified_serial BIGINT DEFAULT NULL, account VARCHAR(40) DEFAULT NULL,"
        " options TEXT DEFAULT NULL, catalog TEXT DEFAULT NULL);"
        "CREATE TABLE records (id BIGSERIAL PRIMARY KEY, domain_id INT DEFAULT NULL,"
        " name VARCHAR(255) DEFAULT NULL, type VARCHAR(10) DEFAULT NULL,"
        " content VARCHAR(65535) DEFAULT NULL, ttl INT DEFAULT NULL, prio INT DEFAULT NULL,"
        " disabled BOOL DEFAULT 'f', ordername VARCHAR(255), auth BOOL DEFAULT 't',"
        " FOREIGN KEY(domain_id) REFERENCES domains(id) ON DELETE CASCADE);"
        "CREATE TABLE supermasters (ip INET NOT NULL, nameserver VARCHAR(255) NOT NULL,"
        " account VARCHAR(40) NOT NULL, PRIMARY KEY(ip, nameserver));"
        "CREATE TABLE comments (id SERIAL PRIMARY KEY, domain_id INT NOT NULL,"
        " name VARCHAR(255) NOT NULL, type VARCHAR(10) NOT NULL, modified_at INT NOT NULL,"
        " account VARCHAR(40) DEFAULT NULL, comment VARCHAR(65535) NOT NULL);"
        "CREATE TABLE domainmetadata (id SERIAL PRIMARY KEY, domain_id INT REFERENCES"
        " domains(id) ON DELETE CASCADE, kind VARCHAR(32), content TEXT);"
        "CREATE TABLE cryptokeys (id SERIAL PRIMARY KEY, domain_id INT REFERENCES domains(id)"
        " ON DELETE CASCADE, flags INT NOT NULL, active BOOL, published BOOL DEFAULT TRUE,"
        " content TEXT);"
        "CREATE TABLE tsigkeys (id SERIAL PRIMARY KEY, name VARCHAR(255),"
        " algorithm VARCHAR(50), secret VARCHAR(255));"
        "INSERT INTO domains (name, type) VALUES ('example.com', 'NATIVE');"
        "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth) VALUES"
        " (1, 'example.com', 'SOA', 'ns1.example.com hostmaster.example.com 7 3600 600 86400 60',"
        "  3600, 0, false, true),"
        " (1, 'example.com', 'MX', 'mail.example.com', 300, 10, false, true),"
        " (1, 'www.example.com', 'CNAME', 'example.com', 300, 0, false, true),"
        " (1, 'old.example.com', 'MX', 'gone.example.com', 300, 5, true, true),"
        " (1, 'mail.example.com', 'A', '192.0.2.25', 300, 0, false, true),"
        " (1, 'a.b.example.com', 'A', '192.0.2.9', 300, 0, false, NULL),"
        " (1, 'b.example.com', NULL, NULL, NULL, 0, false, true);"
        "INSERT INTO cryptokeys (domain_id, flags, active, content) VALUES"
        " (1, 257, NULL, 'Private-key-format: v1.2');");
    char err[256];
    struct mxg_store *pg = NULL;
    assert_int_equal(mxg_store_open(f->uri, &pg, err, sizeof(err)), MXG_OK);
    if (!pg)
        return; /* (the assertion above has failed the test) */
    f->pg = pg;
    struct mxg_zone z;
    assert_int_equal(MXG_STORE_CALL(f->pg, zone_get, "example.com.", &z), MXG_OK);
    assert_true(z.has_soa);
    assert_int_equal(z.serial, 7);
    struct dump d = {.st = f->pg};
    snprintf(d.zone, sizeof(d.zone), "t");
    assert_int_equal(MXG_STORE_CALL(f->pg, referrers, "MX", "mail.example.com.", ref_cb, &d),
                     MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->pg, referrers, "CNAME", "example.com.", ref_cb, &d), MXG_OK);
    /* The disabled MX is not indexed. */
    assert_int_equal(MXG_STORE_CALL(f->pg, referrers, "MX", "gone.example.com.", ref_cb, &d),
                     MXG_OK);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.lines[0], "referrer t example.com. example.com.");
    assert_string_equal(d.lines[1], "referrer t example.com. www.example.com.");
    bool b = false;
    assert_int_equal(MXG_STORE_CALL(f->pg, has_below, z.id, "b.example.com.", &b), MXG_OK);
    assert_true(b);
    struct dump r = {.st = f->pg};
    assert_int_equal(MXG_STORE_CALL(f->pg, lookup, z.id, "example.com.", "MX", rec_cb, &r), MXG_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.lines[0], "rec example.com. example.com. MX 10 mail.example.com 300 1");
    /* pdns's empty non-terminal row (no type) is no record of a type, also when a transaction
     * reads the name's rows for every type. */
    int n = 0;
    assert_int_equal(MXG_STORE_CALL(f->pg, lookup, z.id, "b.example.com.", "A", count_cb, &n),
                     MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->pg, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->pg, lookup, z.id, "b.example.com.", "A", count_cb, &n),
                     MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->pg, rollback), MXG_OK);
    assert_int_equal(n, 0);
    same_in_txn(f->pg);
    struct dump k = {.st = f->pg};
    assert_int_equal(MXG_STORE_CALL(f->pg, key_list, z.id, key_cb, &k), MXG_OK);
    assert_int_equal(k.n, 1);
    for (size_t i = 0; i < d.n; i++)
        free(d.lines[i]);
    for (size_t i = 0; i < r.n; i++)
        free(r.lines[i]);
    for (size_t i = 0; i < k.n; i++)
        free(k.lines[i]);
    free(d.lines);
    free(r.lines);
    free(k.lines);
}

static void test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    mxg_store_close(f->pg);
    f->pg = NULL;
    db_sql("UPDATE mxg_meta SET value = '99' WHERE key = 'schema_version'");
    char err[256] = "";
    assert_int_equal(mxg_store_open(f->uri, &f->pg, err, sizeof(err)), MXG_ESTORE);
    assert_non_null(strstr(err, "newer than this mxguard"));
    assert_null(f->pg);
    db_sql("UPDATE mxg_meta SET value = '3' WHERE key = 'schema_version'");
    assert_int_equal(mxg_store_open(f->uri, &f->pg, err, sizeof(err)), MXG_OK);
    /* No server: a clear error, no handle. */
    struct mxg_store *none = NULL;
    assert_int_equal(mxg_store_open("postgresql:///x?host=/nonexistent", &none, err, sizeof(err)),
                     MXG_EIO);
    assert_null(none);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL"));
}

/* The rows of a query on the test database, their first columns joined. */
static const char *db_text(const char *sql, char *out, size_t outlen)
{
    char conninfo[700];
    snprintf(conninfo, sizeof(conninfo), "host=%s user=%s dbname=mxgunit", pg_dir, pg_user);
    PGconn *c = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < PQntuples(r); i++)
        len +=
            (size_t)snprintf(out + len, len < outlen ? outlen - len : 0, "%s", PQgetvalue(r, i, 0));
    PQclear(r);
    PQfinish(c);
    return out;
}

#define CHANGES                                                                                    \
    "SELECT tbl || ' ' || op || ' ' || coalesce(domain_id::text, '-') || ' ' ||"                   \
    " coalesce(old_name, '-') || '/' || coalesce(old_type, '-') || '/' ||"                         \
    " coalesce(old_content, '-') || '/' || coalesce(old_ttl::text, '-') || ' > ' ||"               \
    " coalesce(new_name, '-') || '/' || coalesce(new_type, '-') || '/' ||"                         \
    " coalesce(new_content, '-') || '/' || coalesce(new_ttl::text, '-') || ';'"                    \
    " FROM mxg_changes ORDER BY id"

struct commits {
    int n, distinct;
    int64_t last;
};

static int commit_cb(void *ctx, const struct mxg_change *ch)
{
    struct commits *c = ctx;
    if (c->n++ == 0 || ch->commit != c->last)
        c->distinct++;
    c->last = ch->commit;
    return 0;
}

/* Change capture, as test_store.c checks it on SQLite: mxguard's own writes leave nothing in
 * mxg_changes; another writer's leave their old and new rows, also a role that has no rights on
 * mxg_changes; pdns's bookkeeping columns do not count. */
static void test_change_capture(void **state)
{
    struct fixture *f = *state;
    struct mxg_store *st = f->pg;
    char got[2048];
    int64_t z = 0, z2 = 0, kid = 0;
    assert_int_equal(MXG_STORE_CALL(st, zone_add, "example.com.", MXG_KIND_NATIVE, NULL, &z),
                     MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(st, begin), MXG_OK);
    struct mxg_record r = {
        .name = "www.example.com.", .type = "A", .content = "192.0.2.1", .ttl = 60, .auth = true};
    assert_int_equal(MXG_STORE_CALL(st, record_add, z, &r), MXG_OK);
    struct mxg_key k = {.flags = 257, .active = true, .published = true, .content = "k"};
    assert_int_equal(MXG_STORE_CALL(st, key_add, z, &k, &kid), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(st, commit), MXG_OK);
    const char *vals[] = {"1"};
    assert_int_equal(MXG_STORE_CALL(st, meta_set, z, "X-TEST", vals, 1), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(st, zone_set_kind, z, MXG_KIND_MASTER, NULL), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(st, zone_add, "example.net.", MXG_KIND_NATIVE, NULL, &z2),
                     MXG_OK);
    assert_int_equal(MXG_STORE_CALL(st, zone_delete, z2), MXG_OK);
    assert_string_equal(db_text(CHANGES, got, sizeof(got)), "");

    db_sql("INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled)"
           " VALUES (1, 'mail.example.com', 'A', '192.0.2.25', 300, 0, false);"
           "UPDATE records SET content = '198.51.100.1' WHERE name = 'www.example.com';"
           "UPDATE records SET ordername = 'www', auth = true;"
           "DELETE FROM records WHERE name = 'mail.example.com';"
           "UPDATE domains SET notified_serial = 9, last_check = 1;"
           "UPDATE domains SET master = '192.0.2.53' WHERE id = 1;"
           "INSERT INTO domainmetadata (domain_id, kind, content) VALUES (1, 'X-P', 'v');"
           "UPDATE cryptokeys SET active = false;"
           "INSERT INTO domains (name, type) VALUES ('example.org', 'NATIVE');"
           "DELETE FROM domains WHERE name = 'example.org';"
           "CREATE ROLE panel;"
           "GRANT SELECT, INSERT, UPDATE, DELETE ON records TO panel;"
           "GRANT USAGE ON SEQUENCE records_id_seq TO panel;"
           "SET ROLE panel;"
           "INSERT INTO records (domain_id, name, type, content, ttl)"
           " VALUES (1, 'p.example.com', 'TXT', '\"p\"', 60);"
           "RESET ROLE;"
           "REVOKE ALL ON records FROM panel; REVOKE ALL ON SEQUENCE records_id_seq FROM panel;"
           "DROP ROLE panel;");
    assert_string_equal(
        db_text(CHANGES, got, sizeof(got)),
        "records INSERT 1 -/-/-/- > mail.example.com/A/192.0.2.25/300;"
        "records UPDATE 1 www.example.com/A/192.0.2.1/60 > www.example.com/A/198.51.100.1/60;"
        "records DELETE 1 mail.example.com/A/192.0.2.25/300 > -/-/-/-;"
        "domains UPDATE 1 example.com/MASTER/-/- > example.com/MASTER/192.0.2.53/-;"
        "domainmetadata INSERT 1 -/-/-/- > -/X-P/v/-;"
        "cryptokeys UPDATE 1 -/-/k/257 > -/-/k/257;"
        "domains INSERT 3 -/-/-/- > example.org/NATIVE/-/-;"
        "domains DELETE 3 example.org/NATIVE/-/- > -/-/-/-;"
        "records INSERT 1 -/-/-/- > p.example.com/TXT/\"p\"/60;");
    assert_string_equal(db_text("SELECT count(*) FROM mxg_changes WHERE tbl = 'cryptokeys'"
                                " AND old_disabled = 0 AND new_disabled = 1",
                                got, sizeof(got)),
                        "1");
    /* One commit, one txid; the next commit another, and changes_list tells them apart. */
    db_sql("UPDATE records SET ttl = 61 WHERE name = 'www.example.com'");
    assert_string_equal(db_text("SELECT count(DISTINCT txid) FROM mxg_changes", got, sizeof(got)),
                        "2");
    struct commits c = {0};
    assert_int_equal(MXG_STORE_CALL(st, changes_list, 100, commit_cb, &c), MXG_OK);
    assert_int_equal(c.n, 10);
    assert_int_equal(c.distinct, 2);
}

/* The server drops the connection: a read comes back by itself; a transaction in progress
 * fails whole, and the next one works. */
static void test_connection_lost(void **state)
{
    struct fixture *f = *state;
    int64_t id = 0;
    assert_int_equal(MXG_STORE_CALL(f->pg, zone_add, "example.com.", MXG_KIND_NATIVE, NULL, &id),
                     MXG_OK);
    struct mxg_record r = {.name = "example.com.", .type = "A", .content = "192.0.2.1", .ttl = 60};
    assert_int_equal(MXG_STORE_CALL0(f->pg, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->pg, record_add, id, &r), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->pg, commit), MXG_OK);

    const char *kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                       " WHERE datname = 'mxgunit' AND pid <> pg_backend_pid()";
    admin(kill);
    int n = 0;
    assert_int_equal(MXG_STORE_CALL(f->pg, lookup, id, "example.com.", NULL, count_cb, &n), MXG_OK);
    assert_int_equal(n, 1);

    struct mxg_record r2 = {.name = "www.example.com.", .type = "A", .content = "192.0.2.2"};
    assert_int_equal(MXG_STORE_CALL0(f->pg, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->pg, record_add, id, &r2), MXG_OK);
    admin(kill);
    int rc = MXG_STORE_CALL(f->pg, record_add, id, &r);
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL0(f->pg, commit);
    else /* the server ended the transaction with the session */
        assert_int_equal(MXG_STORE_CALL0(f->pg, rollback), MXG_OK);
    assert_int_equal(rc, MXG_EIO);
    n = 0;
    assert_int_equal(MXG_STORE_CALL(f->pg, lookup, id, "www.example.com.", NULL, count_cb, &n),
                     MXG_OK);
    assert_int_equal(n, 0); /* nothing of the lost transaction */
    assert_int_equal(MXG_STORE_CALL0(f->pg, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->pg, record_add, id, &r2), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->pg, commit), MXG_OK);
    n = 0;
    assert_int_equal(MXG_STORE_CALL(f->pg, lookup, id, "www.example.com.", NULL, count_cb, &n),
                     MXG_OK);
    assert_int_equal(n, 1);
}

/* Another process's commit (another node) changes this handle's generation: the notification
 * arrives; without a commit the generation stays. */
static void test_generation_across_processes(void **state)
{
    struct fixture *f = *state;
    int64_t id = 0;
    assert_int_equal(MXG_STORE_CALL(f->pg, zone_add, "example.com.", MXG_KIND_NATIVE, NULL, &id),
                     MXG_OK);
    mxg_store_batch_reads(f->pg, true);
    uint64_t g0 = mxg_store_generation(f->pg);
    assert_int_equal(mxg_store_generation(f->pg), g0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[256];
        struct mxg_store *other = NULL;
        if (mxg_store_open(f->uri, &other, err, sizeof(err)) != MXG_OK)
            _exit(1);
        struct mxg_record r = {.name = "example.com.", .type = "A", .content = "192.0.2.7"};
        int rc = MXG_STORE_CALL0(other, begin);
        if (rc == MXG_OK)
            rc = MXG_STORE_CALL(other, record_add, id, &r);
        if (rc == MXG_OK)
            rc = MXG_STORE_CALL0(other, commit);
        mxg_store_close(other);
        _exit(rc == MXG_OK ? 0 : 2);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    bool changed = false;
    for (int i = 0; i < 200 && !changed; i++) {
        changed = mxg_store_generation(f->pg) != g0;
        if (!changed) {
            struct timespec ts = {0, 10000000L};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(changed);
    uint64_t g1 = mxg_store_generation(f->pg);
    assert_int_equal(mxg_store_generation(f->pg), g1);
    mxg_store_batch_reads(f->pg, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_as_sqlite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpgsql_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generation_across_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_capture, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
