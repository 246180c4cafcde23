/* test_store_full.c -- a full disk under the store: commits fail cleanly, reads go on, nothing
 * is corrupted, and writes work again once there is space.
 *
 * A VFS shim wraps SQLite's default VFS and is registered as the default, so the store opens
 * its file through it. It counts the bytes written; once the budget is spent, xWrite fails with
 * SQLITE_FULL (after writing what still fits: a short write), and xTruncate and xSync fail with
 * SQLITE_FULL too. Writes go through the backend's commitTransaction, i.e. the guard, the audit
 * log and one store transaction, as pdns sends them. A second connection through the real VFS
 * checks the file: the records and the audit log byte for byte, and integrity_check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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
#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/store.h"
#include "mxg/zoneops.h"

#include "fixtures.h"

/* ---- the shim ------------------------------------------------------------------------------ */

static struct {
    sqlite3_vfs vfs;
    sqlite3_vfs *real;
    long long budget; /* bytes xWrite may still write; < 0: no limit */
    bool main_only;   /* the budget applies to the database file only, not the WAL */
    bool sync_fails;  /* xSync fails even while writes succeed */
    unsigned refused; /* writes, truncates and syncs refused */
} g;

struct shim_file {
    sqlite3_file base;
    sqlite3_file *real; /* follows this struct in the same allocation */
    bool main_db;
};

#define REAL(f) (((struct shim_file *)(f))->real)

static bool limited(sqlite3_file *f)
{
    return g.budget >= 0 && (!g.main_only || ((struct shim_file *)f)->main_db);
}

static bool full(sqlite3_file *f)
{
    return limited(f) && g.budget == 0;
}

static int f_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}

static int f_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), buf, amt, off);
}

static int f_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    if (!limited(f) || amt <= g.budget) {
        if (limited(f))
            g.budget -= amt;
        return REAL(f)->pMethods->xWrite(REAL(f), buf, amt, off);
    }
    if (g.budget > 0) /* what still fits is written: a short write, as write(2) does */
        REAL(f)->pMethods->xWrite(REAL(f), buf, (int)g.budget, off);
    g.budget = 0;
    g.refused++;
    return SQLITE_FULL;
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    if (full(f)) {
        g.refused++;
        return SQLITE_FULL;
    }
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
    if (full(f) || g.sync_fails) {
        g.refused++;
        return SQLITE_FULL;
    }
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int f_lock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int f_unlock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int f_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int f_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int f_device(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, amt, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods SHIM_IO = {
    .iVersion = 3,
    .xClose = f_close,
    .xRead = f_read,
    .xWrite = f_write,
    .xTruncate = f_truncate,
    .xSync = f_sync,
    .xFileSize = f_size,
    .xLock = f_lock,
    .xUnlock = f_unlock,
    .xCheckReservedLock = f_reserved,
    .xFileControl = f_control,
    .xSectorSize = f_sector,
    .xDeviceCharacteristics = f_device,
    .xShmMap = f_shm_map,
    .xShmLock = f_shm_lock,
    .xShmBarrier = f_shm_barrier,
    .xShmUnmap = f_shm_unmap,
    .xFetch = f_fetch,
    .xUnfetch = f_unfetch,
};

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out)
{
    struct shim_file *p = (struct shim_file *)file;
    p->real = (sqlite3_file *)(p + 1);
    p->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
    int rc = g.real->xOpen(g.real, name, p->real, flags, out);
    /* The shim needs every method the real file has (version 3: shm and mmap). */
    p->base.pMethods = (p->real->pMethods && p->real->pMethods->iVersion >= 3) ? &SHIM_IO : NULL;
    if (rc == SQLITE_OK && !p->base.pMethods) {
        if (p->real->pMethods)
            p->real->pMethods->xClose(p->real);
        return SQLITE_CANTOPEN;
    }
    return rc;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
    return g.real->xDelete(g.real, name, sync);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    return g.real->xAccess(g.real, name, flags, out);
}

static int v_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    return g.real->xFullPathname(g.real, name, n, out);
}

static void *v_dlopen(sqlite3_vfs *vfs, const char *name)
{
    return g.real->xDlOpen(g.real, name);
}

static void v_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
    g.real->xDlError(g.real, n, msg);
}

static void (*v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    return g.real->xDlSym(g.real, h, sym);
}

static void v_dlclose(sqlite3_vfs *vfs, void *h)
{
    g.real->xDlClose(g.real, h);
}

static int v_random(sqlite3_vfs *vfs, int n, char *out)
{
    return g.real->xRandomness(g.real, n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
    return g.real->xSleep(g.real, us);
}

static int v_time(sqlite3_vfs *vfs, double *out)
{
    return g.real->xCurrentTime(g.real, out);
}

static int v_lasterr(sqlite3_vfs *vfs, int n, char *out)
{
    return g.real->xGetLastError(g.real, n, out);
}

static int v_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    return g.real->xCurrentTimeInt64(g.real, out);
}

static void shim_register(void)
{
    if (g.real)
        return;
    g.real = sqlite3_vfs_find(NULL);
    assert_non_null(g.real);
    assert_true(g.real->iVersion >= 2);
    g.vfs = (sqlite3_vfs){.iVersion = 2,
                          .szOsFile = (int)sizeof(struct shim_file) + g.real->szOsFile,
                          .mxPathname = g.real->mxPathname,
                          .zName = "mxg-full",
                          .xOpen = v_open,
                          .xDelete = v_delete,
                          .xAccess = v_access,
                          .xFullPathname = v_fullpath,
                          .xDlOpen = v_dlopen,
                          .xDlError = v_dlerror,
                          .xDlSym = v_dlsym,
                          .xDlClose = v_dlclose,
                          .xRandomness = v_random,
                          .xSleep = v_sleep,
                          .xCurrentTime = v_time,
                          .xGetLastError = v_lasterr,
                          .xCurrentTimeInt64 = v_time64};
    /* The default VFS from now on: the store opens its file through the shim. */
    assert_int_equal(sqlite3_vfs_register(&g.vfs, 1), SQLITE_OK);
}

/* ---- fixture ------------------------------------------------------------------------------- */

struct fixture {
    char path[64];
    struct mxg_config cfg;
    struct mxg_store *st;
    struct mxg_backend *be;
    struct mxg_session *s;
    sqlite3 *check; /* the same file through the real VFS */
};

static void add(struct mxg_store *st, int64_t id, const char *name, const char *type,
                const char *content)
{
    struct mxg_record r = {
        .name = name, .type = type, .content = content, .ttl = 300, .auth = true};
    assert_int_equal(MXG_STORE_CALL(st, record_add, id, &r), MXG_OK);
}

static void open_store(struct fixture *f)
{
    char uri[80], err[256];
    snprintf(uri, sizeof(uri), "sqlite:%s", f->path);
    int rc = mxg_store_open(uri, &f->st, err, sizeof(err));
    if (rc != MXG_OK)
        fail_msg("opening %s: %s", uri, err);
    f->be = mxg_backend_new(f->st, &f->cfg);
    f->s = mxg_session_new(f->be);
}

static void close_store(struct fixture *f)
{
    mxg_session_free(f->s);
    mxg_backend_free(f->be);
    mxg_store_close(f->st);
    f->s = NULL;
    f->be = NULL;
    f->st = NULL;
}

static void check_open(struct fixture *f)
{
    assert_int_equal(sqlite3_open_v2(f->path, &f->check, SQLITE_OPEN_READONLY, g.real->zName),
                     SQLITE_OK);
    sqlite3_busy_timeout(f->check, 2000);
}

static void check_close(struct fixture *f)
{
    sqlite3_close(f->check);
    f->check = NULL;
}

static int setup(void **state)
{
    shim_register();
    g.budget = -1;
    g.main_only = false;
    g.sync_fails = false;
    g.refused = 0;
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];
    mxg_test_db_path(f->path, sizeof(f->path), "full");
    assert_int_equal(mxg_config_load_string("mode=reject\n", "test", &f->cfg, err, sizeof(err)),
                     MXG_OK);
    open_store(f);
    const char *ns[] = {"ns1.example.net"};
    assert_int_equal(mxg_zone_create(f->st, &f->cfg, "example.com.", MXG_KIND_MASTER, NULL, ns, 1,
                                     err, sizeof(err)),
                     MXG_OK);
    struct mxg_zone z;
    assert_int_equal(MXG_STORE_CALL(f->st, zone_get, "example.com.", &z), MXG_OK);
    assert_int_equal(z.id, 1);
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    add(f->st, z.id, "example.com.", "A", "192.0.2.1");
    add(f->st, z.id, "example.com.", "MX", "10 example.com");
    add(f->st, z.id, "www.example.com.", "A", "192.0.2.2");
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    check_open(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    g.budget = -1;
    g.main_only = false;
    g.sync_fails = false;
    check_close(f);
    if (f->st)
        close_store(f);
    mxg_config_free(&f->cfg);
    mxg_test_db_remove(f->path);
    free(f);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static void expect_true(struct mxg_session *s, const char *line)
{
    json_t *j = mxg_test_call(s, line);
    if (!json_is_true(json_object_get(j, "result"))) {
        char *d = json_dumps(j, 0);
        fail_msg("expected true for %.200s, got %s", line, d);
    }
    json_decref(j);
}

/* A commit pdns counts as failed: no "result", a "log" line saying why. */
static void expect_refused(struct mxg_session *s, const char *line, const char *why)
{
    json_t *j = mxg_test_call(s, line);
    json_t *log = json_object_get(j, "log");
    if (json_object_get(j, "result") || !json_is_array(log) ||
        !json_is_string(json_array_get(log, 0)) ||
        !strstr(json_string_value(json_array_get(log, 0)), why)) {
        char *d = json_dumps(j, 0);
        fail_msg("expected a refusal (%s), got %s", why, d);
    }
    json_decref(j);
}

#define START                                                                                      \
    "{\"method\":\"startTransaction\",\"parameters\":{\"domain\":\"example.com.\","                \
    "\"domain_id\":-1,\"trxid\":7}}"
#define COMMIT "{\"method\":\"commitTransaction\",\"parameters\":{\"trxid\":7}}"

static void replace(struct mxg_session *s, const char *name, const char *type, const char *content)
{
    char line[8192];
    snprintf(line, sizeof(line),
             "{\"method\":\"replaceRRSet\",\"parameters\":{\"domain_id\":1,\"qname\":\"%s\","
             "\"qtype\":\"%s\",\"trxid\":7,\"rrset\":[{\"qtype\":\"%s\",\"qname\":\"%s\","
             "\"content\":\"%s\",\"ttl\":120,\"auth\":true}]}}",
             name, type, type, name, content);
    expect_true(s, line);
}

/* Records at name of type, as pdns's lookup gets them; -1 when the lookup failed. */
static int count(struct mxg_session *s, const char *name, const char *type)
{
    char line[512];
    snprintf(line, sizeof(line),
             "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"%s\",\"qname\":\"%s\","
             "\"zone-id\":1}}",
             type, name);
    json_t *j = mxg_test_call(s, line);
    json_t *res = json_object_get(j, "result");
    /* false: nothing at the name; anything else is a failed read */
    int n = json_is_array(res) ? (int)json_array_size(res) : json_is_false(res) ? 0 : -1;
    json_decref(j);
    return n;
}

/* Everything in the file, through the real VFS: records, metadata and the audit log. */
static char *snapshot(struct fixture *f)
{
    static const char sql[] =
        "SELECT coalesce(group_concat(x, char(10)), '') FROM ("
        " SELECT 'r ' || domain_id || ' ' || name || ' ' || type || ' ' || prio || ' ' ||"
        "  content AS x FROM records"
        " UNION ALL SELECT 'm ' || domain_id || ' ' || kind || ' ' || content FROM domainmetadata"
        " UNION ALL SELECT 'n ' || domain_id || ' ' || hex(rkey) FROM mxg_names"
        " UNION ALL SELECT 'a ' || seq || ' ' || hash || ' ' || record FROM mxg_audit"
        " ORDER BY 1)";
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->check, sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    char *out = strdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return out;
}

static void integrity_ok(struct fixture *f)
{
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->check, "PRAGMA integrity_check", -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
    sqlite3_finalize(q);
}

static int64_t audit_ok(struct fixture *f)
{
    struct mxg_audit_verify v;
    memset(&v, 0, sizeof(v));
    int rc = mxg_audit_verify(f->st, NULL, &v);
    if (rc != MXG_OK)
        fail_msg("audit verify: %s (%s)", mxg_strerror(rc), v.reason);
    return v.head_seq;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_full_commit_fails_reads_go_on(void **state)
{
    struct fixture *f = *state;
    json_decref(mxg_test_call(f->s, "{\"method\":\"initialize\"}"));
    int64_t head = audit_ok(f);
    char *before = snapshot(f);

    expect_true(f->s, START);
    replace(f->s, "new.example.com.", "A", "203.0.113.9");
    g.budget = 0;
    expect_refused(f->s, COMMIT, "disk is full");
    assert_true(g.refused > 0);
    /* Reads go on while the disk is full, and the failed commit left nothing. */
    assert_int_equal(count(f->s, "www.example.com.", "A"), 1);
    assert_int_equal(count(f->s, "new.example.com.", "A"), 0);
    assert_int_equal(audit_ok(f), head);
    char *after = snapshot(f);
    assert_string_equal(after, before);
    free(after);
    /* A second attempt on the full disk fails the same way. */
    expect_true(f->s, START);
    replace(f->s, "new.example.com.", "A", "203.0.113.9");
    expect_refused(f->s, COMMIT, "disk is full");
    after = snapshot(f);
    assert_string_equal(after, before);
    free(after);
    integrity_ok(f);

    /* Space again: the same write goes through. */
    g.budget = -1;
    expect_true(f->s, START);
    replace(f->s, "new.example.com.", "A", "203.0.113.9");
    expect_true(f->s, COMMIT);
    assert_int_equal(count(f->s, "new.example.com.", "A"), 1);
    assert_int_equal(audit_ok(f), head + 1);
    integrity_ok(f);
    free(before);
}

static void test_full_guard_refusal_unrecorded(void **state)
{
    struct fixture *f = *state;
    json_decref(mxg_test_call(f->s, "{\"method\":\"initialize\"}"));
    int64_t head = audit_ok(f);
    char *before = snapshot(f);

    /* The apex (MX -> apex) moved: refused; on a full disk its audit record cannot be written
     * either, so the commit fails as a whole and the log says so. */
    g.budget = 0;
    expect_true(f->s, START);
    replace(f->s, "example.com.", "A", "203.0.113.7");
    expect_refused(f->s, COMMIT, "disk is full");
    char *after = snapshot(f);
    assert_string_equal(after, before);
    free(after);

    g.budget = -1;
    expect_true(f->s, START);
    replace(f->s, "example.com.", "A", "203.0.113.7");
    expect_refused(f->s, COMMIT, "the guard refused");
    assert_int_equal(audit_ok(f), head + 1);
    assert_int_equal(count(f->s, "example.com.", "A"), 1);
    json_t *j =
        mxg_test_call(f->s, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\",\"qname\":"
                            "\"example.com.\",\"zone-id\":1}}");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "result"), 0), "content")),
                        "192.0.2.1");
    json_decref(j);
    integrity_ok(f);
    free(before);
}

/* The space runs out at every point of a commit: while the WAL frames of the change are written,
 * at the commit frame, while syncing, at a checkpoint. Each commit is applied whole or not at
 * all, the file stays sound, and the next commit with space works. */
static void test_full_at_every_point(void **state)
{
    struct fixture *f = *state;
    json_decref(mxg_test_call(f->s, "{\"method\":\"initialize\"}"));
    int ok = 0, failed = 0;
    /* Sized for the 16 KiB pages of a store mxguard creates: a WAL frame is 16,408 bytes. */
    for (long long budget = 0; budget <= 360000; budget += (budget < 36000 ? 389 : 6121)) {
        int64_t head = audit_ok(f);
        char *before = snapshot(f);
        char name[64], content[32];
        int n = ok + failed;
        expect_true(f->s, START);
        for (int k = 0; k < 8; k++) {
            snprintf(name, sizeof(name), "h%d-%d.example.com.", n, k);
            snprintf(content, sizeof(content), "198.51.100.%d", k + 1);
            replace(f->s, name, "A", content);
        }
        replace(f->s, "www.example.com.", "TXT", n % 2 ? "\\\"odd\\\"" : "\\\"even\\\"");
        g.budget = budget;
        json_t *j = mxg_test_call(f->s, COMMIT);
        bool committed = json_is_true(json_object_get(j, "result"));
        json_decref(j);
        g.budget = -1;
        int present = 0;
        for (int k = 0; k < 8; k++) {
            snprintf(name, sizeof(name), "h%d-%d.example.com.", n, k);
            present += count(f->s, name, "A");
        }
        if (committed) {
            ok++;
            assert_int_equal(present, 8);
            assert_int_equal(audit_ok(f), head + 1);
        } else {
            failed++;
            assert_int_equal(present, 0);
            assert_int_equal(audit_ok(f), head);
            char *after = snapshot(f);
            assert_string_equal(after, before);
            free(after);
        }
        free(before);
        integrity_ok(f);
    }
    /* Both outcomes happened: the sweep crossed the commit's size. */
    assert_true(failed > 0);
    assert_true(ok > 0);
    print_message("  %d commits failed for want of space, %d fit\n", failed, ok);
}

enum { NAMES = 800 };

/* A TXT record of 16 strings of 240 characters, escaped for a JSON string. */
static char *big_txt(void)
{
    char *big = malloc(4200);
    assert_non_null(big);
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        big[o++] = '\\';
        big[o++] = '"';
        memset(big + o, 'a' + i, 240);
        o += 240;
        big[o++] = '\\';
        big[o++] = '"';
        big[o++] = ' ';
    }
    big[o - 1] = '\0';
    return big;
}

/* Starts a transaction writing n such records (NAMES of them: 3.3 MB). */
static void write_big(struct mxg_session *s, int tag, const char *big, int n)
{
    char name[64];
    expect_true(s, START);
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "big%d-%d.example.com.", tag, i);
        replace(s, name, "TXT", big);
    }
}

static int count_big(struct mxg_session *s, int tag, int n)
{
    char name[64];
    int present = 0;
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "big%d-%d.example.com.", tag, i);
        present += count(s, name, "TXT");
    }
    return present;
}

/* A transaction larger than SQLite's page cache spills to the WAL before COMMIT: the space runs
 * out inside a statement, not at COMMIT. */
static void test_full_inside_large_transaction(void **state)
{
    struct fixture *f = *state;
    json_decref(mxg_test_call(f->s, "{\"method\":\"initialize\"}"));
    char *big = big_txt();
    long long budgets[] = {0, 4096, 300000, 1500000, 3000000, -1};
    for (size_t b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++) {
        int64_t head = audit_ok(f);
        char *before = snapshot(f);
        write_big(f->s, (int)b, big, NAMES);
        g.budget = budgets[b];
        json_t *j = mxg_test_call(f->s, COMMIT);
        bool committed = json_is_true(json_object_get(j, "result"));
        json_decref(j);
        g.budget = -1;
        int present = count_big(f->s, (int)b, NAMES);
        if (budgets[b] < 0) {
            assert_true(committed);
        } else {
            assert_false(committed);
        }
        if (committed) {
            assert_int_equal(present, NAMES);
            assert_int_equal(audit_ok(f), head + 1);
        } else {
            assert_int_equal(present, 0);
            assert_int_equal(audit_ok(f), head);
            char *after = snapshot(f);
            assert_string_equal(after, before);
            free(after);
        }
        free(before);
        integrity_ok(f);
    }
    free(big);
}

/* Closing the store on a full disk (its last checkpoint fails) loses nothing committed; a
 * store opened while the disk is full serves reads and refuses writes. */
static void test_full_close_and_reopen(void **state)
{
    struct fixture *f = *state;
    json_decref(mxg_test_call(f->s, "{\"method\":\"initialize\"}"));
    expect_true(f->s, START);
    replace(f->s, "kept.example.com.", "A", "192.0.2.77");
    expect_true(f->s, COMMIT);
    int64_t head = audit_ok(f);
    char *before = snapshot(f);

    /* The store's handle is the last connection: closing it checkpoints the WAL into the
     * database file and deletes the WAL -- on a full disk, the checkpoint fails and the WAL stays.
     */
    g.budget = 0;
    check_close(f);
    close_store(f);
    check_open(f);
    open_store(f); /* still full */
    json_decref(mxg_test_call(f->s, "{\"method\":\"initialize\"}"));
    assert_int_equal(count(f->s, "kept.example.com.", "A"), 1);
    assert_int_equal(audit_ok(f), head);
    expect_true(f->s, START);
    replace(f->s, "more.example.com.", "A", "192.0.2.78");
    expect_refused(f->s, COMMIT, "disk is full");
    char *after = snapshot(f);
    assert_string_equal(after, before);
    free(after);

    g.budget = -1;
    check_close(f);
    close_store(f);
    check_open(f);
    open_store(f);
    json_decref(mxg_test_call(f->s, "{\"method\":\"initialize\"}"));
    assert_int_equal(count(f->s, "kept.example.com.", "A"), 1);
    expect_true(f->s, START);
    replace(f->s, "more.example.com.", "A", "192.0.2.78");
    expect_true(f->s, COMMIT);
    assert_int_equal(count(f->s, "more.example.com.", "A"), 1);
    assert_int_equal(audit_ok(f), head + 1);
    integrity_ok(f);
    free(before);
}

/* The database file cannot grow while the WAL still can: the commit succeeds, the checkpoint
 * that copies it into the database file fails (SQLite retries it later), nothing is lost, also
 * when the last connection closes with the checkpoint still failing. */
static void test_full_checkpoint_fails(void **state)
{
    struct fixture *f = *state;
    json_decref(mxg_test_call(f->s, "{\"method\":\"initialize\"}"));
    int64_t head = audit_ok(f);
    char *big = big_txt();
    g.main_only = true;
    g.budget = 0;
    /* 13 MB: 1,000+ WAL frames of 16 KiB, so the commit runs a checkpoint */
    write_big(f->s, 1, big, 4 * NAMES);
    expect_true(f->s, COMMIT);
    assert_true(g.refused > 0);
    assert_int_equal(count_big(f->s, 1, 4 * NAMES), 4 * NAMES);
    assert_int_equal(audit_ok(f), head + 1);
    integrity_ok(f);
    check_close(f);
    close_store(f);
    g.budget = -1;
    g.main_only = false;
    check_open(f);
    open_store(f);
    json_decref(mxg_test_call(f->s, "{\"method\":\"initialize\"}"));
    assert_int_equal(count_big(f->s, 1, 4 * NAMES), 4 * NAMES);
    assert_int_equal(audit_ok(f), head + 1);
    integrity_ok(f);
    free(big);
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return; /* a file SQLite has not created (or deleted): nothing to copy */
    FILE *out = fopen(to, "wb");
    assert_non_null(out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    assert_int_equal(fclose(in), 0);
    assert_int_equal(fclose(out), 0);
}

/* fsync fails while writes succeed (a thin-provisioned or network file system that runs out of
 * space): the commit is answered as failed and is not seen afterwards; a copy of the files taken
 * at that moment (the state a crash would leave) recovers with the commit whole -- its records
 * and its audit record -- or not at all. */
static void test_full_sync_fails(void **state)
{
    struct fixture *f = *state;
    json_decref(mxg_test_call(f->s, "{\"method\":\"initialize\"}"));
    int64_t head = audit_ok(f);
    char *before = snapshot(f);
    expect_true(f->s, START);
    replace(f->s, "synced.example.com.", "A", "192.0.2.80");
    replace(f->s, "synced2.example.com.", "A", "192.0.2.81");
    g.sync_fails = true;
    expect_refused(f->s, COMMIT, "disk is full");
    g.sync_fails = false;
    assert_int_equal(count(f->s, "synced.example.com.", "A"), 0);
    assert_int_equal(audit_ok(f), head);
    char *after = snapshot(f);
    assert_string_equal(after, before);
    free(after);
    integrity_ok(f);

    struct fixture c = {.cfg = f->cfg};
    char from[100], to[100];
    snprintf(c.path, sizeof(c.path), "%.40s-copy", f->path);
    const char *copy = c.path;
    mxg_test_db_remove(copy);
    copy_file(f->path, copy);
    snprintf(from, sizeof(from), "%s-wal", f->path);
    snprintf(to, sizeof(to), "%s-wal", copy);
    copy_file(from, to);
    open_store(&c);
    check_open(&c);
    json_decref(mxg_test_call(c.s, "{\"method\":\"initialize\"}"));
    int n = count(c.s, "synced.example.com.", "A");
    assert_true(n == 0 || n == 1);
    assert_int_equal(count(c.s, "synced2.example.com.", "A"), n);
    assert_int_equal(audit_ok(&c), head + n);
    integrity_ok(&c);
    print_message("  after a crash, the commit whose fsync failed would be %s\n",
                  n ? "there, whole" : "absent");
    check_close(&c);
    close_store(&c);
    mxg_test_db_remove(copy);

    /* The store goes on: the same commit again, with a working fsync. */
    expect_true(f->s, START);
    replace(f->s, "synced.example.com.", "A", "192.0.2.80");
    replace(f->s, "synced2.example.com.", "A", "192.0.2.81");
    expect_true(f->s, COMMIT);
    assert_int_equal(count(f->s, "synced2.example.com.", "A"), 1);
    assert_int_equal(audit_ok(f), head + 1);
    integrity_ok(f);
    free(before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_commit_fails_reads_go_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_guard_refusal_unrecorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_at_every_point, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_inside_large_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_close_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_checkpoint_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_sync_fails, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
