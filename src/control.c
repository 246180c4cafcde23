/* control.c -- control socket operations: check, scan, zones, audit, stats (no I/O). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>

#include "mxg/audit.h"
#include "mxg/control.h"
#include "mxg/proto.h"
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
        json_decref(body);
    } else {
        out = error_reply("store-error", "%s", mxg_strerror(rc));
    }
    mxg_guard_result_free(&res);
    mxg_txn_free(t);
    return out;
}

/* ---- scan ----------------------------------------------------------------------------- */

struct rrs {
    char content[16][MXG_NAME_TEXT_MAX];
    size_t n;
};

static int rrs_cb(void *ctx, const struct mxg_record *r)
{
    struct rrs *s = ctx;
    if (s->n < 16)
        snprintf(s->content[s->n++], MXG_NAME_TEXT_MAX, "%s", r->content);
    return 0;
}

static void rrs_get(struct mxg_store *st, const char *name, const char *type, struct rrs *out)
{
    struct mxg_zone z;
    out->n = 0;
    if (mxg_store_find_zone(st, name, &z) == MXG_OK)
        MXG_STORE_CALL(st, lookup, z.id, name, type, rrs_cb, out);
}

static bool in_ranges(const struct mxg_cidr *r, size_t n, const char *addr)
{
    uint8_t buf[16];
    int fam = inet_pton(AF_INET, addr, buf) == 1 ? 4 : inet_pton(AF_INET6, addr, buf) == 1 ? 6 : 0;
    for (size_t i = 0; fam && i < n; i++)
        if (mxg_cidr_contains(&r[i], fam, buf))
            return true;
    return false;
}

struct scan_ctx {
    struct mxg_control *c;
    json_t *zones;
    int broken;
};

/* Follows a CNAME chain from name; writes the final name. */
static void chase(struct mxg_store *st, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", name);
    for (int i = 0; i < 8; i++) {
        struct rrs cn;
        rrs_get(st, out, "CNAME", &cn);
        if (cn.n == 0 || mxg_name_canon(cn.content[0], out, outlen) != MXG_OK)
            return;
    }
}

static int scan_zone(void *arg, const struct mxg_zone *z)
{
    struct scan_ctx *s = arg;
    struct mxg_store *st = s->c->store;
    const struct mxg_config *cfg = s->c->cfg;
    json_t *reasons = json_array();
    const char *cls = "safe";
    struct rrs mx, a, aaaa;
    rrs_get(st, z->name, "MX", &mx);
    rrs_get(st, z->name, "A", &a);
    rrs_get(st, z->name, "AAAA", &aaaa);
    bool null_mx = mx.n == 1 && (strcmp(mx.content[0], "0 .") == 0);
    if (null_mx || (mx.n == 0 && cfg->implicit_mx == MXG_IMPLICIT_NO) ||
        (mx.n == 0 && a.n == 0 && aaaa.n == 0)) {
        cls = "no-mail";
        json_array_append_new(reasons, json_string(null_mx ? "null MX: the domain takes no mail"
                                                           : "no MX and no implicit mail"));
    } else {
        bool apex_target = mx.n == 0; /* implicit MX: the apex is the mail target */
        bool broken = false;
        char buf[3 * MXG_NAME_TEXT_MAX + 128];
        if (mx.n == 0)
            json_array_append_new(reasons, json_string("no MX: mail goes to the apex address "
                                                       "(implicit MX)"));
        for (size_t i = 0; i < mx.n; i++) {
            const char *p = mx.content[i];
            while (*p >= '0' && *p <= '9')
                p++;
            while (*p == ' ')
                p++;
            char target[MXG_NAME_TEXT_MAX], final[MXG_NAME_TEXT_MAX];
            if (mxg_name_canon(p, target, sizeof(target)) != MXG_OK)
                continue;
            chase(st, target, final, sizeof(final));
            if (strcmp(final, z->name) == 0) {
                apex_target = true;
                snprintf(buf, sizeof(buf), "MX %s reaches the apex", mx.content[i]);
                json_array_append_new(reasons, json_string(buf));
            }
            struct rrs ta, taaaa;
            rrs_get(st, final, "A", &ta);
            rrs_get(st, final, "AAAA", &taaaa);
            for (size_t k = 0; k < ta.n + taaaa.n; k++) {
                const char *addr = k < ta.n ? ta.content[k] : taaaa.content[k - ta.n];
                if (in_ranges(cfg->proxy_ranges, cfg->n_proxy_ranges, addr)) {
                    broken = true;
                    snprintf(buf, sizeof(buf), "mail target %s has %s inside proxy-ranges", final,
                             addr);
                    json_array_append_new(reasons, json_string(buf));
                }
            }
        }
        if (mx.n == 0) {
            for (size_t k = 0; k < a.n + aaaa.n; k++) {
                const char *addr = k < a.n ? a.content[k] : aaaa.content[k - a.n];
                if (in_ranges(cfg->proxy_ranges, cfg->n_proxy_ranges, addr)) {
                    broken = true;
                    snprintf(buf, sizeof(buf), "the apex (implicit MX) has %s inside proxy-ranges",
                             addr);
                    json_array_append_new(reasons, json_string(buf));
                }
            }
        }
        if (broken) {
            cls = "broken";
            s->broken++;
        } else if (apex_target && (a.n > 0 || aaaa.n > 0)) {
            cls = "at-risk";
            json_array_append_new(reasons, json_string("the apex has addresses and receives mail: "
                                                       "repointing it to a proxy would move mail"));
        } else {
            json_array_append_new(reasons, json_string("mail goes to a dedicated host"));
        }
    }
    json_t *o = json_pack("{s:s,s:s,s:o}", "zone", z->name, "class", cls, "reasons", reasons);
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

static json_t *op_zone_add(struct mxg_control *c, json_t *req)
{
    const char *name = str_arg(req, "zone"), *kind_s = str_arg(req, "kind");
    char canon[MXG_NAME_TEXT_MAX], masters[1024] = "", err[512];
    enum mxg_zone_kind kind = MXG_KIND_NATIVE;
    if (!name || mxg_name_canon(name, canon, sizeof(canon)) != MXG_OK)
        return error_reply("invalid-request", "'zone' must be a valid zone name");
    if (kind_s && mxg_zone_kind_parse(kind_s, &kind) != MXG_OK)
        return error_reply("invalid-request", "'kind' must be native, master or slave");
    const char *ns[16];
    size_t nns = 0;
    json_t *a = json_object_get(req, "ns"), *p = json_object_get(req, "primaries"), *v;
    size_t i;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v) || nns == 16)
            return error_reply("invalid-request", "'ns' must be at most 16 names");
        ns[nns++] = json_string_value(v);
    }
    json_array_foreach(p, i, v)
    {
        size_t used = strlen(masters);
        if (!json_is_string(v) || !is_address(json_string_value(v)) ||
            (size_t)snprintf(masters + used, sizeof(masters) - used, "%s%s", used ? "," : "",
                             json_string_value(v)) >= sizeof(masters) - used)
            return error_reply("invalid-request", "'primaries' must be addresses");
    }
    if (kind == MXG_KIND_SLAVE && !masters[0])
        return error_reply("invalid-request", "a slave zone needs 'primaries'");
    int rc = mxg_zone_create(c->store, c->cfg, canon, kind, masters, ns, nns, err, sizeof(err));
    if (rc != MXG_OK)
        return error_reply(rc == MXG_EEXIST ? "exists" : "invalid-request", "%s", err);
    zones_changed(c);
    return ok_reply();
}

static json_t *op_zone_delete(struct mxg_control *c, json_t *req)
{
    struct mxg_zone z;
    char err[512];
    json_t *e = zone_arg(c, req, &z);
    if (e || z.id == 0)
        return e;
    int rc = mxg_zone_remove(c->store, c->cfg, z.name, err, sizeof(err));
    if (rc != MXG_OK)
        return error_reply("store-error", "%s", err);
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

static int audit_json(void *ctx, int64_t seq, const char *record)
{
    json_t *o = NULL;
    json_error_t jerr;
    int rc = mxg_json_loadb(record, strlen(record), 0, &o, &jerr);
    if (rc == MXG_ENOMEM)
        return MXG_ENOMEM;
    if (!o)
        o = json_pack("{s:I,s:s}", "seq", (json_int_t)seq, "error", "unreadable record");
    return (!o || json_array_append_new(ctx, o) != 0) ? MXG_ENOMEM : 0;
}

static json_t *audit_query(struct mxg_control *c, struct mxg_audit_filter *f)
{
    json_t *recs = json_array();
    int rc = recs ? MXG_STORE_CALL(c->store, audit_list, f, audit_json, recs) : MXG_ENOMEM;
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

static json_t *op_stats(struct mxg_control *c, json_t *req)
{
    (void)req;
    if (!c->backend)
        return error_reply("unavailable", "stats come from a running daemon");
    const struct mxg_backend_stats *s = mxg_backend_stats(c->backend);
    int64_t seq = 0;
    char hash[MXG_HASH_HEX];
    MXG_STORE_CALL(c->store, audit_head, &seq, hash);
    char head[96];
    snprintf(head, sizeof(head), "%" PRId64 ":%s", seq, hash);
    return json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s}", "ok", 1, "uptime",
                     (json_int_t)((uint64_t)time(NULL) - c->started), "requests",
                     (json_int_t)s->requests, "lookups", (json_int_t)s->lookups, "cache_hits",
                     (json_int_t)s->cache_hits, "errors", (json_int_t)s->errors, "commits",
                     (json_int_t)s->commits, "allowed", (json_int_t)s->allowed, "warned",
                     (json_int_t)s->warned, "rejected", (json_int_t)s->rejected, "fixed",
                     (json_int_t)s->fixed, "audit_head", head);
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
static const struct member M_CHECK[] = {
    {"zone", JSON_STRING}, {"patch", JSON_OBJECT}, {NULL, JSON_NULL}};
static const struct member M_ZONE_ADD[] = {{"zone", JSON_STRING},
                                           {"kind", JSON_STRING},
                                           {"ns", JSON_ARRAY},
                                           {"primaries", JSON_ARRAY},
                                           {NULL, JSON_NULL}};
static const struct member M_ZONE[] = {{"zone", JSON_STRING}, {NULL, JSON_NULL}};
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
        {"zone.add", op_zone_add, M_ZONE_ADD},
        {"zone.delete", op_zone_delete, M_ZONE},
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
