/* fuzz_backend.c -- remote-backend request decoding and dispatch over an in-memory store.
 * The input is a session: lines sent in order on one connection (after an initialize, so
 * every method is reached). Invariant checked: every line gets exactly one reply line of
 * valid JSON carrying "result" -- except a refused commitTransaction, which carries "log"
 * and deliberately no "result".
 * Every input starts from the same store: after an input that changed it (zones, records,
 * metadata, NOTIFY bookkeeping or the audit log), the store is opened afresh, so inputs replay
 * alone exactly as they ran and the store does not grow over a long run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "mxg/backend.h"
#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/log.h"
#include "mxg/store.h"
#include "mxg/zoneops.h"

static struct mxg_store *store;
static struct mxg_backend *backend;
static struct mxg_config config;

static char *baseline; /* the state every input starts from (see fingerprint) */

static void open_store(void)
{
    char err[256];
    if (mxg_store_sqlite_open(":memory:", &store, err, sizeof(err)) != MXG_OK)
        abort();
    const char *ns[] = {"ns1.example.com"};
    if (mxg_zone_create(store, &config, "example.com.", MXG_KIND_MASTER, NULL, ns, 1, err,
                        sizeof(err)) != MXG_OK)
        abort();
    backend = mxg_backend_new(store, &config);
    if (!backend)
        abort();
}

/* ---- a text fingerprint of everything a session can change ----------------------------- */

struct fp {
    char *buf;
    size_t len, cap;
};

static void fp_put(struct fp *f, const char *a, const char *b, const char *c, long long n)
{
    size_t need = strlen(a) + strlen(b) + strlen(c) + 32;
    if (f->len + need >= f->cap) {
        f->cap = (f->len + need) * 2;
        if (!(f->buf = realloc(f->buf, f->cap)))
            abort();
    }
    f->len += (size_t)snprintf(f->buf + f->len, f->cap - f->len, "%s|%s|%s|%lld\n", a, b, c, n);
}

static int fp_rec(void *ctx, const struct mxg_record *r)
{
    fp_put(ctx, r->name, r->type, r->content, (long long)r->ttl * 2 + r->auth);
    return 0;
}

static int fp_meta(void *ctx, const char *kind, const char *value)
{
    fp_put(ctx, "meta", kind, value, 0);
    return 0;
}

static int fp_zone(void *ctx, const struct mxg_zone *z)
{
    fp_put(ctx, z->name, mxg_zone_kind_name(z->kind), z->masters, (long long)z->id);
    fp_put(ctx, "", "", "", (long long)z->notified_serial);
    fp_put(ctx, "", "", "", (long long)z->last_check);
    if (MXG_STORE_CALL(store, list, z->id, fp_rec, ctx) != MXG_OK ||
        MXG_STORE_CALL(store, meta_list, z->id, NULL, fp_meta, ctx) != MXG_OK)
        abort();
    return 0;
}

static int fp_autoprimary(void *ctx, const char *ip, const char *ns, const char *account)
{
    fp_put(ctx, ip, ns, account, 0);
    return 0;
}

static char *fingerprint(void)
{
    struct fp f = {0};
    int64_t seq = 0;
    char hash[65];
    if (mxg_audit_head(store, &seq, hash) != MXG_OK)
        abort();
    fp_put(&f, "audit", "", "", (long long)seq); /* the hash covers the time */
    if (MXG_STORE_CALL(store, zone_list, fp_zone, &f) != MXG_OK ||
        MXG_STORE_CALL(store, autoprimary_list, fp_autoprimary, &f) != MXG_OK)
        abort();
    return f.buf;
}

static void setup_once(void)
{
    char err[256];
    mxg_log_setup(MXG_LOG_STDERR, MXG_LOG_ERROR, "fuzz");
    if (mxg_config_load_string("", "fuzz", &config, err, sizeof(err)) != MXG_OK)
        abort();
    open_store();
    baseline = fingerprint();
}

/* Back to the baseline when the input changed the store. */
static void reset_if_changed(void)
{
    char *now = fingerprint();
    if (strcmp(now, baseline) != 0) {
        mxg_backend_free(backend);
        mxg_store_close(store);
        open_store();
        char *again = fingerprint();
        if (strcmp(again, baseline) != 0)
            abort();
        free(again);
    }
    free(now);
}

static void one(struct mxg_session *s, const char *line, size_t len)
{
    char *reply = NULL;
    size_t rlen = 0;
    if (mxg_backend_handle(s, line, len, &reply, &rlen) != MXG_OK)
        return;
    if (rlen == 0 || reply[rlen - 1] != '\n' || memchr(reply, '\n', rlen - 1))
        abort();
    json_t *j = json_loadb(reply, rlen, 0, NULL);
    if (!j)
        abort();
    if (!json_object_get(j, "result")) {
        json_t *req = json_loadb(line, len, 0, NULL);
        const char *m = json_string_value(json_object_get(req, "method"));
        if (!m || strcasecmp(m, "commitTransaction") != 0 || !json_object_get(j, "log"))
            abort();
        json_decref(req);
    }
    json_decref(j);
    free(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!backend)
        setup_once();
    struct mxg_session *s = mxg_session_new(backend);
    static const char init[] = "{\"method\":\"initialize\",\"parameters\":{}}";
    one(s, init, sizeof(init) - 1);
    const char *p = (const char *)data, *end = p + size;
    int lines = 0;
    while (p < end && lines++ < 64) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        one(s, p, len);
        p += len + 1;
    }
    mxg_session_free(s);
    reset_if_changed();
    return 0;
}
