/* fuzz_zonefile.c -- master-file import (mxg_zone_import: zonefile.c through libzscanner, then
 * one guarded store transaction) into a fresh in-memory store.
 *
 * The input is the text of a master file, written to input.zone in a private temporary
 * directory (so a relative $INCLUDE resolves there). The zone imported into is the first
 * $ORIGIN of the input when it is a valid name, else example.com; the store already holds
 * example.com (mail at the apex) and example.net, so imports both replace a guarded zone and
 * create new ones. Inputs of odd length run in mode fix, even length in mode reject.
 * Invariants checked: no crash, leak or hang; an import either succeeds (the zone then exists
 * with an SOA, and exactly one audit record was added) or fails with a message; a failed or
 * refused import leaves every zone, record and metadata as it was (a refusal adds only its audit
 * record, a failure nothing). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mxg/config.h"
#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/guard.h"
#include "mxg/log.h"
#include "mxg/store.h"
#include "mxg/zoneops.h"

static struct mxg_config configs[2];
static char dir[64];
static char path[128];
static int ready;

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

static void setup_once(void)
{
    char err[256];
    mxg_log_setup(MXG_LOG_STDERR, MXG_LOG_ERROR, "fuzz");
    static const char *const text[] = {
        "mode=reject\nproxy-ranges=203.0.113.0/24,2001:db8:cd0::/48\n",
        "mode=fix\nproxy-ranges=203.0.113.0/24,2001:db8:cd0::/48\n"};
    for (int i = 0; i < 2; i++)
        if (mxg_config_load_string(text[i], "fuzz", &configs[i], err, sizeof(err)) != MXG_OK ||
            configs[i].pdns_control != NULL)
            abort();
    snprintf(dir, sizeof(dir), "/tmp/mxg_fuzz_zonefile.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof(path), "%s/input.zone", dir);
    if (atexit(cleanup) != 0)
        abort();
    ready = 1;
}

static void add_record(struct mxg_store *st, const char *zone, const char *name, const char *type,
                       const char *content)
{
    struct mxg_zone z;
    struct mxg_record r = {
        .name = name, .type = type, .content = content, .ttl = 300, .auth = true};
    if (MXG_STORE_CALL(st, zone_get, zone, &z) != MXG_OK || MXG_STORE_CALL0(st, begin) != MXG_OK ||
        MXG_STORE_CALL(st, record_add, z.id, &r) != MXG_OK || MXG_STORE_CALL0(st, commit) != MXG_OK)
        abort();
}

static struct mxg_store *make_store(const struct mxg_config *cfg)
{
    char err[256];
    struct mxg_store *st = NULL;
    if (mxg_store_sqlite_open(":memory:", &st, err, sizeof(err)) != MXG_OK)
        abort();
    const char *ns[] = {"ns1.example.com", "ns2.example.net"};
    if (mxg_zone_create(st, cfg, "example.com.", MXG_KIND_MASTER, NULL, ns, 2, err, sizeof(err)) !=
            MXG_OK ||
        mxg_zone_create(st, cfg, "example.net.", MXG_KIND_NATIVE, NULL, ns + 1, 1, err,
                        sizeof(err)) != MXG_OK)
        abort();
    add_record(st, "example.com.", "example.com.", "A", "192.0.2.1");
    add_record(st, "example.com.", "example.com.", "MX", "10 example.com");
    add_record(st, "example.com.", "mail.example.com.", "CNAME", "example.com");
    add_record(st, "example.net.", "example.net.", "MX", "10 mx.example.net");
    add_record(st, "example.net.", "mx.example.net.", "A", "198.51.100.7");
    return st;
}

/* ---- a text snapshot of the store: zones, their records and metadata ------------------------ */

struct snap {
    char *buf;
    size_t len, cap;
    struct mxg_store *st;
};

static void put(struct snap *s, const char *a, const char *b, const char *c, const char *d)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + strlen(d) + 5;
    if (s->len + n >= s->cap) {
        s->cap = (s->len + n) * 2;
        s->buf = realloc(s->buf, s->cap);
        if (!s->buf)
            abort();
    }
    s->len += (size_t)snprintf(s->buf + s->len, s->cap - s->len, "%s|%s|%s|%s\n", a, b, c, d);
}

static int snap_rec(void *ctx, const struct mxg_record *r)
{
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%u", r->ttl);
    put(ctx, r->name, r->type, r->content, ttl);
    return 0;
}

static int snap_meta(void *ctx, const char *kind, const char *value)
{
    put(ctx, "meta", kind, value, "");
    return 0;
}

static int snap_zone(void *ctx, const struct mxg_zone *z)
{
    struct snap *s = ctx;
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)z->id);
    put(s, "zone", z->name, id, mxg_zone_kind_name(z->kind));
    if (MXG_STORE_CALL(s->st, list, z->id, snap_rec, s) != MXG_OK ||
        MXG_STORE_CALL(s->st, meta_list, z->id, NULL, snap_meta, s) != MXG_OK)
        abort();
    return 0;
}

static char *snapshot(struct mxg_store *st)
{
    struct snap s = {.st = st};
    put(&s, "", "", "", "");
    if (MXG_STORE_CALL(st, zone_list, snap_zone, &s) != MXG_OK)
        abort();
    return s.buf;
}

static int64_t audit_seq(struct mxg_store *st)
{
    int64_t seq = 0;
    char hash[65];
    if (mxg_audit_head(st, &seq, hash) != MXG_OK)
        abort();
    return seq;
}

/* The first "$ORIGIN name" of the input, canonical; example.com when there is none. */
static void zone_of(const uint8_t *data, size_t size, char *zone, size_t zonelen)
{
    static const char key[] = "$ORIGIN";
    const uint8_t *p = NULL, *end = data + size;
    snprintf(zone, zonelen, "example.com.");
    for (size_t i = 0; !p && i + sizeof(key) - 1 <= size; i++)
        if (memcmp(data + i, key, sizeof(key) - 1) == 0)
            p = data + i + sizeof(key) - 1;
    if (!p)
        return;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    char name[256];
    size_t n = 0;
    while (p < end && n + 1 < sizeof(name) && !isspace(*p) && *p != ';' && *p != '\0')
        name[n++] = (char)*p++;
    name[n] = '\0';
    char canon[MXG_NAME_TEXT_MAX];
    if (n > 0 && mxg_name_canon(name, canon, sizeof(canon)) == MXG_OK)
        snprintf(zone, zonelen, "%s", canon);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup_once();
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
    const struct mxg_config *cfg = &configs[size & 1];
    char zone[MXG_NAME_TEXT_MAX];
    zone_of(data, size, zone, sizeof(zone));

    struct mxg_store *st = make_store(cfg);
    char *before = snapshot(st);
    int64_t seq = audit_seq(st);
    struct mxg_guard_result res = {0};
    size_t count = 0;
    char err[1024];
    memset(err, 'x', sizeof(err));
    err[sizeof(err) - 1] = '\0';
    int rc = mxg_zone_import(st, cfg, zone, path, &count, &res, err, sizeof(err));
    char *after = snapshot(st);
    int64_t seq2 = audit_seq(st);
    if (rc != MXG_OK) {
        /* A clean error: a message, nothing changed, no audit record. */
        if (!err[0] || strlen(err) >= sizeof(err) - 1 || strcmp(before, after) != 0 || seq2 != seq)
            abort();
    } else if (res.refused) {
        if (!err[0] || strcmp(before, after) != 0 || seq2 != seq + 1 || res.audit_seq != seq2)
            abort();
    } else {
        struct mxg_zone z;
        if (seq2 != seq + 1 || MXG_STORE_CALL(st, zone_get, zone, &z) != MXG_OK || !z.has_soa ||
            count == 0)
            abort();
    }
    mxg_guard_result_free(&res);
    free(before);
    free(after);
    mxg_store_close(st);
    return 0;
}
