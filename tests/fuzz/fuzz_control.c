/* fuzz_control.c -- control-socket requests (mxg_control_handle, the daemon's control-socket
 * handler) over a fresh in-memory store holding two zones (example.com: mail at the apex, the
 * apex on an address, a mail CNAME; example.net: a dedicated mail host).
 *
 * The input is a session: request lines sent in order on one connection (at most 64 lines).
 * Invariants checked: every line gets exactly one reply line of valid JSON: an object with a
 * boolean "ok", and when it is false an "error" with a string "code" and "message"; the
 * read-only ops (check, scan, zone.list, audit.*, last-decision, stats) append nothing to the
 * audit log; a successful zone.add or zone.delete appends exactly one audit record, a failed
 * one none. zone.add/zone.delete only notify through the zones_changed hook (a no-op here, as
 * in the daemon, where it is asynchronous): pdns-control is unset, nothing is spawned, and no
 * op touches the filesystem. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mxg/backend.h"
#include "mxg/config.h"
#include "mxg/control.h"
#include "mxg/err.h"
#include "mxg/log.h"
#include "mxg/store.h"
#include "mxg/zoneops.h"

#define MAX_LINES 64

static struct mxg_config config;
static int ready;

static void no_rediscover(struct mxg_control *c)
{
    (void)c;
}

static void setup_once(void)
{
    char err[256];
    mxg_log_setup(MXG_LOG_STDERR, MXG_LOG_ERROR, "fuzz");
    if (mxg_config_load_string("mode=fix\nproxy-ranges=203.0.113.0/24,2001:db8:cd0::/48\n", "fuzz",
                               &config, err, sizeof(err)) != MXG_OK ||
        config.pdns_control != NULL)
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

static struct mxg_store *make_store(void)
{
    char err[256];
    struct mxg_store *st = NULL;
    if (mxg_store_sqlite_open(":memory:", &st, err, sizeof(err)) != MXG_OK)
        abort();
    const char *ns[] = {"ns1.example.com", "ns2.example.net"};
    if (mxg_zone_create(st, &config, "example.com.", MXG_KIND_MASTER, NULL, ns, 2, err,
                        sizeof(err)) != MXG_OK ||
        mxg_zone_create(st, &config, "example.net.", MXG_KIND_NATIVE, NULL, ns + 1, 1, err,
                        sizeof(err)) != MXG_OK)
        abort();
    add_record(st, "example.com.", "example.com.", "A", "192.0.2.1");
    add_record(st, "example.com.", "example.com.", "MX", "10 example.com");
    add_record(st, "example.com.", "mail.example.com.", "CNAME", "example.com");
    add_record(st, "example.com.", "www.example.com.", "A", "203.0.113.10");
    add_record(st, "example.net.", "example.net.", "MX", "10 mx.example.net");
    add_record(st, "example.net.", "example.net.", "A", "203.0.113.20");
    add_record(st, "example.net.", "mx.example.net.", "A", "198.51.100.7");
    return st;
}

static int64_t audit_seq(struct mxg_store *st)
{
    int64_t seq = 0;
    char hash[65];
    if (mxg_audit_head(st, &seq, hash) != MXG_OK)
        abort();
    return seq;
}

/* The op a line asks for, as the handler reads it ("" when it is not a request object). */
static void op_of(const char *line, size_t len, char *op, size_t oplen)
{
    json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    const char *s = json_string_value(json_object_get(req, "op"));
    snprintf(op, oplen, "%s", s ? s : "");
    json_decref(req);
}

static void one(struct mxg_control *c, const char *line, size_t len)
{
    char op[32];
    op_of(line, len, op, sizeof(op));
    int64_t before = audit_seq(c->store);
    char *reply = NULL;
    size_t rlen = 0;
    if (mxg_control_handle(c, line, len, &reply, &rlen) != MXG_OK)
        return; /* out of memory: the daemon closes the connection */
    if (rlen == 0 || reply[rlen - 1] != '\n' || memchr(reply, '\n', rlen - 1) ||
        strlen(reply) != rlen)
        abort();
    json_t *j = json_loadb(reply, rlen, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j))
        abort();
    json_t *ok = json_object_get(j, "ok");
    if (!json_is_boolean(ok))
        abort();
    if (json_is_false(ok)) {
        json_t *e = json_object_get(j, "error");
        if (!json_is_string(json_object_get(e, "code")) ||
            !json_is_string(json_object_get(e, "message")))
            abort();
    }
    int64_t after = audit_seq(c->store);
    bool writes = strcmp(op, "zone.add") == 0 || strcmp(op, "zone.delete") == 0;
    if (after != before + (writes && json_is_true(ok) ? 1 : 0))
        abort();
    json_decref(j);
    free(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup_once();
    struct mxg_store *st = make_store();
    struct mxg_backend *be = mxg_backend_new(st, &config);
    if (!be)
        abort();
    struct mxg_control c = {
        .store = st, .cfg = &config, .backend = be, .started = 1, .zones_changed = no_rediscover};
    const char *p = (const char *)data, *end = p + size;
    for (int lines = 0; p < end && lines < MAX_LINES; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        one(&c, p, len);
        p += len + 1;
    }
    mxg_backend_free(be);
    mxg_store_close(st);
    return 0;
}
