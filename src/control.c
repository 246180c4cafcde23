/* control.c -- control socket operations: check, scan, zones, audit, stats (no I/O). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>

#include "mxg/array.h"
#include "mxg/audit.h"
#include "mxg/control.h"
#include "mxg/json.h"
#include "mxg/resolve.h"
#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/guard.h"
#include "mxg/limits.h"
#include "mxg/log.h"
#include "mxg/txn.h"
#include "mxg/zoneops.h"

static json_t *error_reply(const char *code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static json_t *error_reply(const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    return json_pack("{s:b,s:{s:s,s:s}}", "ok", 0, "error", "code", code, "message", msg);
}

static json_t *ok_reply(void)
{
    return json_pack("{s:b}", "ok", 1);
}

static const char *str_arg(json_t *req, const char *key)
{
    json_t *v = json_object_get(req, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A required zone argument, canonical, that exists. z->id stays 0 unless it was found: the
 * error reply itself is NULL when out of memory, so callers test both. */
static json_t *zone_arg(struct mxg_control *c, json_t *req, struct mxg_zone *z)
{
    const char *name = str_arg(req, "zone");
    char canon[MXG_NAME_TEXT_MAX];
    z->id = 0;
    if (!name)
        return error_reply("invalid-request", "'zone' must be a string");
    if (mxg_name_canon(name, canon, sizeof(canon)) != MXG_OK)
        return error_reply("invalid-request", "invalid zone name '%.255s'", name);
    int rc = MXG_STORE_CALL(c->store, zone_get, canon, z);
    if (rc == MXG_ENOENT)
        return error_reply("not-found", "no zone %s", canon);
    if (rc != MXG_OK)
        return error_reply("store-error", "%s", mxg_strerror(rc));
    return NULL;
}

/* ---- check ---------------------------------------------------------------------------- */

/* Turns a pdns API PATCH body into a transaction on zone z. */
static json_t *patch_to_txn(struct mxg_zone *z, json_t *patch, struct mxg_txn *t)
{
    json_t *rrsets = json_object_get(patch, "rrsets");
    if (!json_is_array(rrsets))
        return error_reply("invalid-request", "the PATCH body needs an 'rrsets' array");
    if (json_array_size(rrsets) > MXG_RRSET_MAX)
        return error_reply("invalid-request", "more than %d rrsets", MXG_RRSET_MAX);
    char *content = malloc(MXG_CONTENT_MAX);
    if (!content)
        return NULL;
    json_t *err = NULL;
    size_t i;
    json_t *rr;
    json_array_foreach(rrsets, i, rr)
    {
        const char *name = str_arg(rr, "name"), *type_in = str_arg(rr, "type"),
                   *ct = str_arg(rr, "changetype");
        char canon[MXG_NAME_TEXT_MAX], type[MXG_TYPE_MAX];
        uint16_t num;
        if (!name || !type_in || !ct) {
            err = error_reply("invalid-request", "rrset %zu needs name, type and changetype", i);
            break;
        }
        if (mxg_name_canon(name, canon, sizeof(canon)) != MXG_OK ||
            !mxg_name_is_below(canon, z->name)) {
            err = error_reply("invalid-request", "rrset %zu: %.255s is not a name in %s", i, name,
                              z->name);
            break;
        }
        if (mxg_rrtype_parse(type_in, type, sizeof(type), &num) != MXG_OK) {
            err = error_reply("invalid-request", "rrset %zu: unknown type '%.32s'", i, type_in);
            break;
        }
        bool del = strcasecmp(ct, "DELETE") == 0;
        if (!del && strcasecmp(ct, "REPLACE") != 0) {
            err = error_reply("invalid-request", "rrset %zu: changetype must be REPLACE or DELETE",
                              i);
            break;
        }
        json_t *records = json_object_get(rr, "records");
        json_t *jttl = json_object_get(rr, "ttl");
        size_t n = del ? 0 : json_array_size(records);
        if (!del && (!json_is_array(records) || !json_is_integer(jttl) ||
                     json_integer_value(jttl) < 0 || json_integer_value(jttl) > 2147483647)) {
            err =
                error_reply("invalid-request", "rrset %zu: REPLACE needs 'records' and a 'ttl'", i);
            break;
        }
        if (n > MXG_RRSET_MAX) {
            err =
                error_reply("invalid-request", "rrset %zu: more than %d records", i, MXG_RRSET_MAX);
            break;
        }
        struct mxg_txn_rec *recs = calloc(n ? n : 1, sizeof(*recs));
        if (!recs)
            break;
        for (size_t k = 0; k < n && !err; k++) {
            const char *c_in = str_arg(json_array_get(records, k), "content");
            char why[160] = "";
            if (!c_in || mxg_rr_normalize(type, c_in, content, MXG_CONTENT_MAX, why, sizeof(why)) !=
                             MXG_OK) {
                err = error_reply("invalid-request", "rrset %zu record %zu: %s", i, k,
                                  c_in ? why : "'content' must be a string");
                break;
            }
            recs[k].type = type;
            recs[k].content = strdup(content);
            recs[k].ttl = (uint32_t)json_integer_value(jttl);
            recs[k].auth = true;
            if (!recs[k].content)
                err = error_reply("internal", "out of memory");
        }
        if (!err && mxg_txn_replace(t, canon, type, recs, n) != MXG_OK)
            err = error_reply("invalid-request", "rrset %zu: too many records", i);
        for (size_t k = 0; k < n; k++)
            free(recs[k].content);
        free(recs);
        if (err)
            break;
    }
    free(content);
    return err;
}

static json_t *op_check(struct mxg_control *c, json_t *req)
{
    struct mxg_zone z;
    json_t *err = zone_arg(c, req, &z);
    if (err || z.id == 0)
        return err;
    json_t *patch = json_object_get(req, "patch");
    if (!json_is_object(patch))
        return error_reply("invalid-request", "'patch' must be a PATCH body object");
    struct mxg_txn *t = NULL;
    if (mxg_txn_new(z.id, z.name, false, 0, &t) != MXG_OK)
        return NULL;
    if ((err = patch_to_txn(&z, patch, t)) != NULL) {
        mxg_txn_free(t);
        return err;
    }
    struct mxg_guard_result res = {0};
    int rc = mxg_guard_check(c->store, c->cfg, t, &res);
    json_t *out = NULL;
    /* "record": "http" (the HTTP front): a refusal also gets its audit record, as a refused
     * commit does, so the 422 can name its seq. */
    const char *record = str_arg(req, "record");
    bool recorded = false;
    if (rc == MXG_OK && record && strcmp(record, "http") == 0 && res.judged &&
        res.decision.verdict == MXG_VERDICT_REJECT) {
        struct mxg_guard_opts ro = {.source = "http", .guarded = true};
        rc = mxg_guard_record_refusal(c->store, t, &ro, &res);
        recorded = rc == MXG_OK;
        if (recorded && c->backend)
            mxg_backend_count_decision(c->backend, &res.decision);
    }
    if (rc == MXG_OK) {
        struct mxg_audit_entry e = {.zone = z.name,
                                    .source = "check",
                                    .mode = mxg_mode_name(res.mode),
                                    .decision = res.judged ? &res.decision : NULL,
                                    .changes = res.changes,
                                    .n_changes = res.n_changes};
        json_t *body = mxg_audit_body(&e);
        json_t *remedies = json_array();
        if (body && remedies && res.judged && res.decision.remedy)
            json_array_append_new(remedies, json_string(res.decision.remedy));
        if (body && remedies)
            out = json_pack("{s:b,s:s,s:O,s:O,s:O,s:O,s:o,s:s}", "ok", 1, "zone", z.name, "verdict",
                            json_object_get(body, "verdict"), "findings",
                            json_object_get(body, "findings"), "fix", json_object_get(body, "fix"),
                            "changes", json_object_get(body, "changes"), "remedies", remedies,
                            "mode", mxg_mode_name(res.mode));
        else
            json_decref(remedies);
        if (out && recorded)
            json_object_set_new(out, "audit_seq", json_integer(res.audit_seq));
        json_decref(body);
    } else {
        out = error_reply("store-error", "%s", mxg_strerror(rc));
    }
    mxg_guard_result_free(&res);
    mxg_txn_free(t);
    return out;
}

/* ---- scan ----------------------------------------------------------------------------- */

struct scan_ctx {
    struct mxg_control *c;
    json_t *zones;
    int broken;
};

struct mx_owners {
    char **v;
    size_t n, cap;
};

static int mx_owner(void *ctx, const struct mxg_record *r)
{
    struct mx_owners *o = ctx;
    if (strcmp(r->type, "MX") != 0 || (o->n && strcmp(o->v[o->n - 1], r->name) == 0))
        return 0;
    if (MXG_ARRAY_RESERVE(o->v, o->cap, o->n + 1, 8) != MXG_OK)
        return MXG_ENOMEM;
    if (!(o->v[o->n] = strdup(r->name)))
        return MXG_ENOMEM;
    o->n++;
    return 0;
}

/* Classifies one zone with the policy's own model (the commit's classifier). */
static int scan_zone(void *arg, const struct mxg_zone *z)
{
    struct scan_ctx *s = arg;
    struct mxg_store *st = s->c->store;
    struct mx_owners own = {0};
    int rc = mx_owner(&own, &(struct mxg_record){.name = z->name, .type = "MX"});
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL(st, list, z->id, mx_owner, &own);
    struct mxg_scan_result res = {0};
    if (rc == MXG_OK) {
        struct mxg_guard_view_ctx vctx = {.st = st, .cfg = s->c->cfg};
        struct mxg_view view;
        mxg_guard_view(&vctx, &view);
        rc =
            mxg_policy_classify(&view, s->c->cfg, z->name, (const char *const *)own.v, own.n, &res);
        mxg_guard_view_done(&vctx);
    }
    for (size_t i = 0; i < own.n; i++)
        free(own.v[i]);
    free(own.v);
    if (rc != MXG_OK)
        return rc;
    json_t *reasons = json_array();
    for (size_t i = 0; reasons && i < res.n_reasons; i++)
        json_array_append_new(reasons, json_string(res.reasons[i]));
    if (reasons && res.n_reasons == 0)
        json_array_append_new(
            reasons, json_string(res.cls == MXG_SCAN_NO_MAIL
                                     ? "no mail domain: null MX, or no MX and no implicit mail"
                                     : "every mail address is reached through a dedicated path "
                                       "or lies outside the served data"));
    if (res.cls == MXG_SCAN_BROKEN)
        s->broken++;
    json_t *o = reasons ? json_pack("{s:s,s:s,s:o}", "zone", z->name, "class",
                                    mxg_scan_class_name(res.cls), "reasons", reasons)
                        : NULL;
    mxg_scan_result_free(&res);
    if (!o || json_array_append_new(s->zones, o) != 0)
        return MXG_ENOMEM;
    return 0;
}

static json_t *op_scan(struct mxg_control *c, json_t *req)
{
    (void)req;
    struct scan_ctx s = {.c = c, .zones = json_array()};
    if (!s.zones)
        return NULL;
    int rc = MXG_STORE_CALL(c->store, zone_list, scan_zone, &s);
    if (rc != MXG_OK) {
        json_decref(s.zones);
        return error_reply("store-error", "%s", mxg_strerror(rc));
    }
    return json_pack("{s:b,s:o,s:i}", "ok", 1, "zones", s.zones, "broken", s.broken);
}

static void zones_changed(struct mxg_control *c)
{
    if (c->zones_changed)
        c->zones_changed(c);
    else
        mxg_pdns_rediscover(c->cfg->pdns_control);
}

/* ---- zones ---------------------------------------------------------------------------- */

/* A primary as pdns takes it: an IPv4 or IPv6 address, "IPv4:port" or "[IPv6]:port". */
static bool is_address(const char *s)
{
    unsigned char buf[16];
    char host[64];
    if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
        return true;
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
        strlen(colon + 1) > 5 || strtoul(colon + 1, NULL, 10) > 65535 ||
        (size_t)(colon - s) >= sizeof(host))
        return false;
    if (s[0] == '[') {
        if (colon[-1] != ']' || colon - s < 3)
            return false;
        memcpy(host, s + 1, (size_t)(colon - s - 2));
        host[colon - s - 2] = '\0';
        return inet_pton(AF_INET6, host, buf) == 1;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    return inet_pton(AF_INET, host, buf) == 1;
}

/* The audit source a zone op names: "cli" (default) or "http" (the HTTP front). */
static bool source_arg(json_t *req, const char **source)
{
    *source = str_arg(req, "source");
    if (!*source)
        *source = "cli";
    return strcmp(*source, "cli") == 0 || strcmp(*source, "http") == 0;
}

/* "primaries": an array of addresses, joined with commas into masters. */
static json_t *primaries_arg(json_t *req, char *masters, size_t len)
{
    json_t *p = json_object_get(req, "primaries"), *v;
    size_t i;
    masters[0] = '\0';
    json_array_foreach(p, i, v)
    {
        size_t used = strlen(masters);
        if (!json_is_string(v) || !is_address(json_string_value(v)) ||
            (size_t)snprintf(masters + used, len - used, "%s%s", used ? "," : "",
                             json_string_value(v)) >= len - used)
            return error_reply("invalid-request", "'primaries' must be addresses");
    }
    return NULL;
}

static json_t *op_zone_add(struct mxg_control *c, json_t *req)
{
    const char *name = str_arg(req, "zone"), *kind_s = str_arg(req, "kind"), *source;
    char canon[MXG_NAME_TEXT_MAX], masters[1024] = "", err[512];
    enum mxg_zone_kind kind = MXG_KIND_NATIVE;
    if (!name || mxg_name_canon(name, canon, sizeof(canon)) != MXG_OK)
        return error_reply("invalid-request", "'zone' must be a valid zone name");
    if (kind_s && mxg_zone_kind_parse(kind_s, &kind) != MXG_OK)
        return error_reply("invalid-request", "'kind' must be native, master or slave");
    if (!source_arg(req, &source))
        return error_reply("invalid-request", "'source' must be cli or http");
    const char *ns[16];
    size_t nns = 0;
    json_t *a = json_object_get(req, "ns"), *v;
    size_t i;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v) || nns == 16)
            return error_reply("invalid-request", "'ns' must be at most 16 names");
        ns[nns++] = json_string_value(v);
    }
    json_t *bad = primaries_arg(req, masters, sizeof(masters));
    if (bad)
        return bad;
    /* pdns's API creates a secondary without primaries; the CLI asks for them. */
    bool pdns_form = json_is_true(json_object_get(req, "pdns_form"));
    if (kind == MXG_KIND_SLAVE && !masters[0] && !pdns_form)
        return error_reply("invalid-request", "a slave zone needs 'primaries'");
    json_t *serial = json_object_get(req, "serial");
    const struct mxg_zone_spec spec = {.pdns_form = pdns_form,
                                       .serial = serial ? (long long)json_integer_value(serial) : 0,
                                       .zone = canon,
                                       .kind = kind,
                                       .masters = masters,
                                       .ns = ns,
                                       .nns = nns,
                                       .soa_edit_api = str_arg(req, "soa_edit_api"),
                                       .source = source};
    int rc = mxg_zone_create_spec(c->store, c->cfg, &spec, err, sizeof(err));
    if (rc != MXG_OK)
        return error_reply(rc == MXG_EEXIST  ? "exists"
                           : rc == MXG_EBUSY ? "refused"
                                             : "invalid-request",
                           "%s", err);
    zones_changed(c);
    return ok_reply();
}

static json_t *op_zone_delete(struct mxg_control *c, json_t *req)
{
    struct mxg_zone z;
    char err[512];
    const char *source;
    if (!source_arg(req, &source))
        return error_reply("invalid-request", "'source' must be cli or http");
    json_t *e = zone_arg(c, req, &z);
    if (e || z.id == 0)
        return e;
    int rc = mxg_zone_remove(c->store, c->cfg, z.name, source, err, sizeof(err));
    if (rc != MXG_OK)
        return error_reply(rc == MXG_EBUSY ? "refused" : "store-error", "%s", err);
    zones_changed(c);
    return ok_reply();
}

/* zone.set: the zone's kind and primaries (pdns's PUT /zones/{id} "kind", "masters"). */
static json_t *op_zone_set(struct mxg_control *c, json_t *req)
{
    struct mxg_zone z;
    char err[512], masters[1024];
    const char *source, *kind_s = str_arg(req, "kind");
    if (!source_arg(req, &source))
        return error_reply("invalid-request", "'source' must be cli or http");
    json_t *e = zone_arg(c, req, &z);
    if (e || z.id == 0)
        return e;
    enum mxg_zone_kind kind = z.kind;
    if (kind_s && mxg_zone_kind_parse(kind_s, &kind) != MXG_OK)
        return error_reply("invalid-request", "'kind' must be native, master or slave");
    if (json_object_get(req, "primaries")) {
        json_t *bad = primaries_arg(req, masters, sizeof(masters));
        if (bad)
            return bad;
    } else {
        snprintf(masters, sizeof(masters), "%s", z.masters);
    }
    /* pdns's API makes a secondary without primaries; the CLI asks for them. */
    if (kind == MXG_KIND_SLAVE && !masters[0] && strcmp(source, "cli") == 0)
        return error_reply("invalid-request", "a slave zone needs 'primaries'");
    int rc = mxg_zone_set_kind(c->store, c->cfg, z.name, kind, masters, source, err, sizeof(err));
    if (rc != MXG_OK)
        return error_reply(rc == MXG_EINVAL ? "invalid-request" : "store-error", "%s", err);
    zones_changed(c);
    return ok_reply();
}

static int zone_json(void *ctx, const struct mxg_zone *z)
{
    json_t *o = json_pack("{s:s,s:I,s:s,s:I,s:s}", "zone", z->name, "id", (json_int_t)z->id, "kind",
                          mxg_zone_kind_name(z->kind), "serial", (json_int_t)z->serial, "masters",
                          z->masters);
    return (!o || json_array_append_new(ctx, o) != 0) ? MXG_ENOMEM : 0;
}

static json_t *op_zone_list(struct mxg_control *c, json_t *req)
{
    (void)req;
    json_t *zones = json_array();
    int rc = zones ? MXG_STORE_CALL(c->store, zone_list, zone_json, zones) : MXG_ENOMEM;
    if (rc != MXG_OK) {
        json_decref(zones);
        return error_reply("store-error", "%s", mxg_strerror(rc));
    }
    return json_pack("{s:b,s:o}", "ok", 1, "zones", zones);
}

/* ---- audit ---------------------------------------------------------------------------- */

static int audit_json(void *ctx, int64_t seq, const char *record, json_t *obj)
{
    (void)record;
    json_t *o = obj ? json_incref(obj)
                    : json_pack("{s:I,s:s}", "seq", (json_int_t)seq, "error", "unreadable record");
    return (!o || json_array_append_new(ctx, o) != 0) ? MXG_ENOMEM : 0;
}

static json_t *audit_query(struct mxg_control *c, struct mxg_audit_filter *f)
{
    json_t *recs = json_array();
    int rc = recs ? mxg_audit_list(c->store, f, audit_json, recs) : MXG_ENOMEM;
    if (rc != MXG_OK) {
        json_decref(recs);
        return error_reply("store-error", "%s", mxg_strerror(rc));
    }
    return json_pack("{s:b,s:o}", "ok", 1, "records", recs);
}

/* RFC 3339 as the audit log writes it, or a prefix of it: YYYY-MM-DD[THH:MM[:SS[.fff]]][Z]. */
static bool is_time(const char *s)
{
    static const char form[] = "dddd-dd-ddTdd:dd:dd";
    size_t i = 0;
    for (; s[i] && form[i]; i++) {
        if (form[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != form[i])
            return false;
    }
    if (i != 10 && i != 16 && i != 19)
        return false;
    if (i == 19 && s[i] == '.') {
        size_t k = ++i;
        while (s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == k)
            return false;
    }
    if (i > 10 && s[i] == 'Z')
        i++;
    return s[i] == '\0';
}

static json_t *filter_args(json_t *req, struct mxg_audit_filter *f, char *zone, size_t zonelen)
{
    memset(f, 0, sizeof(*f));
    const char *z = str_arg(req, "zone");
    if (z) {
        if (mxg_name_canon(z, zone, zonelen) != MXG_OK)
            return error_reply("invalid-request", "invalid zone '%.255s'", z);
        f->zone = zone;
    }
    f->verdict = str_arg(req, "verdict");
    if (f->verdict && strcmp(f->verdict, "allow") != 0 && strcmp(f->verdict, "warn") != 0 &&
        strcmp(f->verdict, "reject") != 0 && strcmp(f->verdict, "fix") != 0)
        return error_reply("invalid-request", "'verdict' must be allow, warn, reject or fix");
    f->since = str_arg(req, "since");
    f->until = str_arg(req, "until");
    if ((f->since && !is_time(f->since)) || (f->until && !is_time(f->until)))
        return error_reply("invalid-request",
                           "'since' and 'until' must be RFC 3339 times (2024-05-01T12:00:00Z)");
    if (f->since && f->until && strcmp(f->since, f->until) > 0)
        return error_reply("invalid-request", "'since' is after 'until'");
    json_t *after = json_object_get(req, "after"), *limit = json_object_get(req, "limit");
    if (after && (!json_is_integer(after) || json_integer_value(after) < 0))
        return error_reply("invalid-request", "'after' must be a sequence number");
    if (limit && (!json_is_integer(limit) || json_integer_value(limit) < 0))
        return error_reply("invalid-request", "'limit' must be a count");
    f->after_seq = after ? json_integer_value(after) : 0;
    f->limit = limit ? json_integer_value(limit) : 0;
    return NULL;
}

static json_t *op_audit_show(struct mxg_control *c, json_t *req)
{
    struct mxg_audit_filter f;
    char zone[MXG_NAME_TEXT_MAX];
    json_t *e = filter_args(req, &f, zone, sizeof(zone));
    return e ? e : audit_query(c, &f);
}

/* ---- resolve ---------------------------------------------------------------------------- */

static int cmp_addr_text(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* The model's answer for a name: what pdns answers for an A or AAAA query, with its path and
 * whether the path is shared (the guard's own model: PRODUCT.md §3). */
static json_t *op_resolve(struct mxg_control *c, json_t *req)
{
    const char *name = str_arg(req, "name"), *type = str_arg(req, "type");
    char canon[MXG_NAME_TEXT_MAX];
    if (!name || mxg_name_canon(name, canon, sizeof(canon)) != MXG_OK)
        return error_reply("invalid-request", "'name' must be a valid name");
    int fam = 4;
    if (type && strcasecmp(type, "AAAA") == 0)
        fam = 6;
    else if (type && strcasecmp(type, "A") != 0)
        return error_reply("invalid-request", "'type' must be A or AAAA");
    struct mxg_guard_view_ctx vctx = {.st = c->store, .cfg = c->cfg};
    struct mxg_view view;
    mxg_guard_view(&vctx, &view);
    struct mxg_resolve_opts ro = {.dname_processing = c->cfg->dname_processing,
                                  .expand_alias = c->cfg->expand_alias};
    struct mxg_resolution r;
    int rc = mxg_resolve(&view, MXG_BEFORE, canon, fam, &ro, &r);
    if (rc != MXG_OK) {
        mxg_guard_view_done(&vctx);
        return error_reply("store-error", "%s", mxg_strerror(rc));
    }
    bool shared = false;
    char why[3 * MXG_NAME_TEXT_MAX] = "";
    rc = mxg_policy_path_shared(&view, c->cfg, &r, &shared, why, sizeof(why));
    mxg_guard_view_done(&vctx);
    json_t *addrs = json_array(), *unknown = json_array(), *path = json_array();
    /* The addresses as text, sorted as strings (a stable order for scripts). */
    char(*text)[INET6_ADDRSTRLEN] = r.n_addrs ? calloc(r.n_addrs, sizeof(*text)) : NULL;
    if (r.n_addrs && !text)
        rc = MXG_ENOMEM;
    size_t nt = 0;
    for (size_t i = 0; text && i < r.n_addrs; i++)
        if (inet_ntop(fam == 4 ? AF_INET : AF_INET6, r.addrs[i], text[nt], INET6_ADDRSTRLEN))
            nt++;
    if (nt > 1)
        qsort(text, nt, sizeof(*text), cmp_addr_text);
    for (size_t i = 0; addrs && i < nt; i++)
        json_array_append_new(addrs, json_string(text[i]));
    free(text);
    if (unknown && r.unknown)
        json_array_append_new(unknown, json_string(r.unknown));
    for (size_t i = 0; path && i < r.n_steps; i++)
        json_array_append_new(path, json_pack("{s:s,s:s}", "name", r.steps[i].name, "role",
                                              mxg_step_role_name(r.steps[i].role)));
    json_t *out = NULL;
    if (rc == MXG_OK && addrs && unknown && path)
        out = json_pack("{s:b,s:s,s:s,s:s,s:O,s:O,s:O,s:b,s:s}", "ok", 1, "name", canon, "type",
                        fam == 4 ? "A" : "AAAA", "result", mxg_res_kind_name(r.kind), "addresses",
                        addrs, "unknown", unknown, "path", path, "shared", shared, "shared_reason",
                        why);
    else if (rc != MXG_OK)
        out = error_reply("store-error", "%s", mxg_strerror(rc));
    json_decref(addrs);
    json_decref(unknown);
    json_decref(path);
    mxg_resolution_free(&r);
    return out;
}

static json_t *op_last_decision(struct mxg_control *c, json_t *req)
{
    struct mxg_audit_filter f;
    char zone[MXG_NAME_TEXT_MAX];
    json_t *e = filter_args(req, &f, zone, sizeof(zone));
    if (e)
        return e;
    if (!f.zone)
        return error_reply("invalid-request", "'zone' is required");
    f.limit = 1;
    f.newest_first = true;
    json_t *r = audit_query(c, &f);
    json_t *recs = json_object_get(r, "records");
    if (recs && json_array_size(recs) == 0) {
        json_decref(r);
        return error_reply("not-found", "no decision recorded for %s", zone);
    }
    if (recs) {
        json_t *out = json_pack("{s:b,s:O}", "ok", 1, "record", json_array_get(recs, 0));
        json_decref(r);
        return out;
    }
    return r;
}

static json_t *op_audit_verify(struct mxg_control *c, json_t *req)
{
    struct mxg_audit_verify v;
    const char *head = str_arg(req, "expect_head");
    int rc = mxg_audit_verify(c->store, head, &v);
    if (rc == MXG_EPARSE)
        return error_reply("invalid-request", "%s", v.reason);
    if (rc != MXG_OK && rc != MXG_EINVAL)
        return error_reply("store-error", "%s", mxg_strerror(rc));
    char headbuf[96];
    snprintf(headbuf, sizeof(headbuf), "%" PRId64 ":%s", v.head_seq, v.head_hash);
    json_t *out = json_pack("{s:b,s:b,s:I,s:s}", "ok", 1, "valid", rc == MXG_OK, "records",
                            (json_int_t)v.records, "head", headbuf);
    if (out && rc != MXG_OK) {
        json_object_set_new(out, "first_bad", json_integer(v.first_bad));
        json_object_set_new(out, "reason", json_string(v.reason));
    }
    return out;
}

/* ---- stats ---------------------------------------------------------------------------- */

/* {"mail-moved": {"reject": n, ...}, ...}: the rules and verdicts seen, nothing for zeros. */
static json_t *rule_verdicts_json(const struct mxg_backend_stats *s)
{
    json_t *o = json_object();
    for (size_t r = 0; o && r <= MXG_RULES_N; r++) {
        json_t *v = NULL;
        for (int k = 0; k < 4; k++) {
            if (!s->rule_verdicts[r][k])
                continue;
            if (!v && (v = json_object()) != NULL)
                json_object_set_new(o, mxg_rule_name(r), v);
            if (v)
                json_object_set_new(v, mxg_verdict_name((enum mxg_verdict)k),
                                    json_integer((json_int_t)s->rule_verdicts[r][k]));
        }
    }
    return o;
}

/* {"buckets": [[le, cumulative count], ...], "count": n, "sum": seconds} */
static json_t *commit_hist_json(const struct mxg_backend_stats *s)
{
    json_t *b = json_array();
    uint64_t cum = 0;
    for (size_t i = 0; b && i < MXG_COMMIT_BUCKETS; i++) {
        cum += s->commit_hist[i];
        json_array_append_new(b, json_pack("[f,I]", mxg_commit_buckets[i], (json_int_t)cum));
    }
    cum += s->commit_hist[MXG_COMMIT_BUCKETS];
    return json_pack("{s:o,s:I,s:f}", "buckets", b ? b : json_array(), "count", (json_int_t)cum,
                     "sum", (double)s->commit_ns_sum / 1e9);
}

static json_t *op_stats(struct mxg_control *c, json_t *req)
{
    (void)req;
    if (!c->backend)
        return error_reply("unavailable", "stats come from a running daemon");
    const struct mxg_backend_stats *s = mxg_backend_stats(c->backend);
    int64_t seq = 0;
    char hash[MXG_HASH_HEX];
    if (mxg_audit_head(c->store, &seq, hash) != MXG_OK)
        snprintf(hash, sizeof(hash), "unknown");
    char head[96];
    snprintf(head, sizeof(head), "%" PRId64 ":%s", seq, hash);
    json_t *out = json_pack(
        "{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:o,s:o}", "ok", 1, "uptime",
        (json_int_t)((uint64_t)time(NULL) - c->started), "requests", (json_int_t)s->requests,
        "lookups", (json_int_t)s->lookups, "cache_hits", (json_int_t)s->cache_hits, "errors",
        (json_int_t)s->errors, "commits", (json_int_t)s->commits, "allowed", (json_int_t)s->allowed,
        "warned", (json_int_t)s->warned, "rejected", (json_int_t)s->rejected, "fixed",
        (json_int_t)s->fixed, "audit_head", head, "rule_verdicts", rule_verdicts_json(s),
        "commit_seconds", commit_hist_json(s));
    if (out)
        json_object_set_new(out, "external",
                            json_pack("{s:I,s:I,s:I,s:I}", "records", (json_int_t)s->external,
                                      "moves", (json_int_t)s->external_moves, "fixed",
                                      (json_int_t)s->external_fixed, "errors",
                                      (json_int_t)s->external_errors));
    if (out && c->more_stats)
        c->more_stats(c, out);
    return out;
}

/* ---- dispatch ------------------------------------------------------------------------- */

/* The members each op takes, with their JSON type. Any other member, or one of another type, is
 * refused: a misspelt or mistyped filter ("zon", "zone": 5) would otherwise be ignored and the
 * op would answer about something else than was asked. */
struct member {
    const char *key;
    json_type type;
};

static const struct member M_NONE[] = {{NULL, JSON_NULL}};
static const struct member M_RESOLVE[] = {
    {"name", JSON_STRING}, {"type", JSON_STRING}, {NULL, JSON_NULL}};
static const struct member M_CHECK[] = {
    {"zone", JSON_STRING}, {"patch", JSON_OBJECT}, {"record", JSON_STRING}, {NULL, JSON_NULL}};
static const struct member M_ZONE_ADD[] = {
    {"zone", JSON_STRING},     {"kind", JSON_STRING},         {"ns", JSON_ARRAY},
    {"primaries", JSON_ARRAY}, {"soa_edit_api", JSON_STRING}, {"source", JSON_STRING},
    {"pdns_form", JSON_TRUE},  {"serial", JSON_INTEGER},      {NULL, JSON_NULL}};
static const struct member M_ZONE_DEL[] = {
    {"zone", JSON_STRING}, {"source", JSON_STRING}, {NULL, JSON_NULL}};
static const struct member M_ZONE_SET[] = {{"zone", JSON_STRING},
                                           {"kind", JSON_STRING},
                                           {"primaries", JSON_ARRAY},
                                           {"source", JSON_STRING},
                                           {NULL, JSON_NULL}};
static const struct member M_AUDIT[] = {{"zone", JSON_STRING},   {"verdict", JSON_STRING},
                                        {"since", JSON_STRING},  {"until", JSON_STRING},
                                        {"after", JSON_INTEGER}, {"limit", JSON_INTEGER},
                                        {NULL, JSON_NULL}};
static const struct member M_VERIFY[] = {{"expect_head", JSON_STRING}, {NULL, JSON_NULL}};

static const char *type_name(json_type t)
{
    switch (t) {
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_ARRAY:
        return "an array";
    case JSON_OBJECT:
        return "an object";
    default:
        return "of another type";
    }
}

static json_t *check_members(json_t *req, const char *op, const struct member *m)
{
    const char *key;
    json_t *v;
    json_object_foreach(req, key, v)
    {
        if (strcmp(key, "op") == 0)
            continue;
        const struct member *k = m;
        while (k->key && strcmp(k->key, key) != 0)
            k++;
        if (!k->key)
            return error_reply("invalid-request", "op %s takes no member '%.64s'", op, key);
        if (json_typeof(v) != k->type)
            return error_reply("invalid-request", "'%s' must be %s", k->key, type_name(k->type));
    }
    return NULL;
}

json_t *mxg_control_call(struct mxg_control *c, json_t *req)
{
    static const struct {
        const char *op;
        json_t *(*fn)(struct mxg_control *, json_t *);
        const struct member *members;
    } OPS[] = {
        {"check", op_check, M_CHECK},
        {"scan", op_scan, M_NONE},
        {"resolve", op_resolve, M_RESOLVE},
        {"zone.add", op_zone_add, M_ZONE_ADD},
        {"zone.delete", op_zone_delete, M_ZONE_DEL},
        {"zone.set", op_zone_set, M_ZONE_SET},
        {"zone.list", op_zone_list, M_NONE},
        {"audit.show", op_audit_show, M_AUDIT},
        {"audit.export", op_audit_show, M_AUDIT},
        {"audit.verify", op_audit_verify, M_VERIFY},
        {"last-decision", op_last_decision, M_AUDIT},
        {"stats", op_stats, M_NONE},
    };
    if (!json_is_object(req))
        return error_reply("invalid-request", "a request is a JSON object");
    const char *op = str_arg(req, "op");
    if (!op)
        return error_reply("invalid-request", "'op' must be a string");
    for (size_t i = 0; i < sizeof(OPS) / sizeof(OPS[0]); i++) {
        if (strcmp(op, OPS[i].op) == 0) {
            json_t *bad = check_members(req, op, OPS[i].members);
            return bad ? bad : OPS[i].fn(c, req);
        }
    }
    return error_reply("unknown-op", "unknown op '%.64s'", op);
}

int mxg_control_handle(struct mxg_control *c, const char *line, size_t len, char **reply,
                       size_t *replylen)
{
    json_error_t jerr;
    json_t *req = NULL;
    int prc = mxg_json_loadb(line, len, JSON_REJECT_DUPLICATES, &req, &jerr);
    json_t *out = req ? mxg_control_call(c, req)
                  : prc == MXG_ENOMEM
                      ? NULL
                      : error_reply("invalid-request", "malformed JSON at column %d: %s",
                                    jerr.column, jerr.text);
    if (req)
        json_decref(req);
    if (!out)
        out = error_reply("internal", "out of memory");
    char *text = out ? mxg_json_dumps(out, JSON_COMPACT, NULL) : NULL;
    json_decref(out);
    if (!text)
        return MXG_ENOMEM;
    size_t n = strlen(text);
    char *buf = realloc(text, n + 2);
    if (!buf) {
        free(text);
        return MXG_ENOMEM;
    }
    buf[n] = '\n';
    buf[n + 1] = '\0';
    *reply = buf;
    *replylen = n + 1;
    return MXG_OK;
}
