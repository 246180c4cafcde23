/* backend.c -- remote-backend method dispatch over the store (no I/O of its own).
 *
 * Every reply carries "result"; a failure is {"result":false} with a "log" line saying why,
 * which pdns writes to its own log. Names arrive absolute and in any case; they are matched
 * in canonical (lowercase) form and echoed in lookup replies as asked. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>

#include "mxg/backend.h"
#include "mxg/backend_keys.h"
#include "mxg/chain_cache.h"
#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/hash.h"
#include "mxg/external.h"
#include "mxg/guard.h"
#include "mxg/log.h"
#include "mxg/proto.h"
#include "mxg/reply_cache.h"
#include "mxg/txn.h"
#include "mxg/writer.h"

struct commit_job;

struct mxg_backend {
    struct mxg_store *store;
    const struct mxg_config *cfg;
    struct mxg_backend_stats stats;
    /* The writer: commits run one at a time on the thread pool through wstore. */
    struct mxg_writer *writer;
    struct mxg_store *wstore;
    struct mxg_reply_cache *cache;  /* NULL: lookups run uncached */
    struct mxg_chain_cache *chains; /* auth flags and NSEC/NSEC3 chains of signed zones */
    bool external_queued;           /* a pass over the change log is queued or running */
};

struct mxg_session {
    struct mxg_backend *be;
    bool initialized;
    struct mxg_txn *txn; /* the open write transaction, if any */
    /* What the calls around the transaction tell of its source (audit "source"). */
    bool saw_api;       /* SOA-EDIT-API asked inside the transaction: the HTTP API */
    bool saw_dnsupdate; /* ALLOW-DNSUPDATE-FROM & co. asked: an RFC 2136 update */
    char *content;      /* MXG_CONTENT_MAX bytes for normalised record content */
    /* A commit on the writer thread: its reply goes to on_reply when it is done. */
    struct commit_job *pending;
    bool deferred; /* the request just handled is answered later, through on_reply */
    bool orphaned; /* freed by its connection while pending: the job frees it */
    void (*on_reply)(void *arg, char *reply, size_t len);
    void *on_reply_arg;
    uint64_t commit_t0; /* now_ns() when the commit in progress arrived */
};

const double mxg_commit_buckets[MXG_COMMIT_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                       0.1,   0.25,   0.5,   1,    2.5,   5};

void mxg_backend_count_decision(struct mxg_backend *be, const struct mxg_decision *d)
{
    bool seen[MXG_RULES_N + 1] = {false};
    if (!be || !d || (unsigned)d->verdict >= 4)
        return;
    for (size_t i = 0; i < d->n_findings; i++) {
        size_t r = mxg_rule_index(d->findings[i].rule);
        if (!seen[r]) {
            seen[r] = true;
            be->stats.rule_verdicts[r][d->verdict]++;
        }
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void count_commit_time(struct mxg_backend *be, uint64_t t0)
{
    uint64_t ns = now_ns() - t0;
    size_t b = 0;
    while (b < MXG_COMMIT_BUCKETS && (double)ns / 1e9 > mxg_commit_buckets[b])
        b++;
    be->stats.commit_hist[b]++;
    be->stats.commit_ns_sum += ns;
}

struct mxg_backend *mxg_backend_new(struct mxg_store *store, const struct mxg_config *cfg)
{
    struct mxg_backend *be = calloc(1, sizeof(*be));
    if (!be)
        return NULL;
    be->store = store;
    be->cfg = cfg;
    be->chains = mxg_chain_cache_new();
    if (!be->chains) {
        free(be);
        return NULL;
    }
    return be;
}

void mxg_backend_set_cache(struct mxg_backend *be, bool on)
{
    mxg_reply_cache_free(be->cache);
    be->cache = NULL;
    if (on && !(be->cache = mxg_reply_cache_new()))
        mxg_warn("no memory for the reply cache: lookups run uncached");
}

void mxg_backend_free(struct mxg_backend *be)
{
    if (!be)
        return;
    mxg_backend_set_cache(be, false);
    mxg_chain_cache_free(be->chains);
    free(be);
}

const struct mxg_backend_stats *mxg_backend_stats(const struct mxg_backend *be)
{
    return &be->stats;
}

struct mxg_session *mxg_session_new(struct mxg_backend *be)
{
    struct mxg_session *s = calloc(1, sizeof(*s));
    if (s)
        s->be = be;
    return s;
}

void mxg_session_on_reply(struct mxg_session *s, void (*cb)(void *arg, char *reply, size_t len),
                          void *arg)
{
    s->on_reply = cb;
    s->on_reply_arg = arg;
}

void mxg_session_free(struct mxg_session *s)
{
    if (!s)
        return;
    if (s->pending) {
        /* The commit finishes (pdns counts it as failed: it got no reply); then the job frees
         * the session. */
        s->orphaned = true;
        return;
    }
    if (s->txn) {
        mxg_info("connection closed with a transaction open on %s: rolled back",
                 mxg_txn_zone(s->txn));
        mxg_txn_free(s->txn);
    }
    free(s->content);
    free(s);
}

/* The open transaction when it is on zone_id, else NULL. */
static struct mxg_txn *txn_on(const struct mxg_session *s, int64_t zone_id)
{
    return (s->txn && mxg_txn_zone_id(s->txn) == zone_id) ? s->txn : NULL;
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* Sets {"result": false} with a log line; counts an error. Returns MXG_OK for chaining. */
static int fail(struct mxg_session *s, struct mxg_reply *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct mxg_session *s, struct mxg_reply *r, const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    mxg_reply_set(r, json_false());
    mxg_reply_log(r, "mxguard: %s", buf);
    s->be->stats.errors++;
    mxg_debug("request failed: %s", buf);
    return MXG_OK;
}

/* Fetches a required name parameter and canonicalises it. */
static int name_param(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r,
                      const char *key, const char **raw, char *canon, size_t canonlen)
{
    const char *v = NULL;
    int rc = mxg_param_string(req, key, &v);
    if (rc != MXG_OK) {
        fail(s, r, "%s: parameter '%s' %s", req->method_name, key,
             rc == MXG_ENOENT ? "is missing" : "must be a string");
        return rc;
    }
    rc = mxg_name_canon(v, canon, canonlen);
    if (rc != MXG_OK) {
        fail(s, r, "%s: invalid name in '%s': %.255s", req->method_name, key, v);
        return rc;
    }
    if (raw)
        *raw = v;
    return MXG_OK;
}

static int int_param(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r,
                     const char *key, int64_t *out)
{
    int rc = mxg_param_int(req, key, out);
    if (rc != MXG_OK)
        fail(s, r, "%s: parameter '%s' %s", req->method_name, key,
             rc == MXG_ENOENT ? "is missing" : "must be an integer");
    return rc;
}

static int store_failed(struct mxg_session *s, struct mxg_reply *r, const char *what, int rc)
{
    mxg_err("store: %s: %s", what, mxg_strerror(rc));
    return fail(s, r, "%s: %s", what, mxg_strerror(rc));
}

static json_t *domain_info(const struct mxg_zone *z)
{
    json_t *masters = json_array();
    const char *p = z->masters;
    while (masters && *p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, ", \t");
        if (n > 0)
            json_array_append_new(masters, json_stringn(p, n));
        p += n;
    }
    return json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:o*}", "id", (json_int_t)z->id, "zone", z->name,
                     "kind", mxg_zone_kind_name(z->kind), "serial", (json_int_t)z->serial,
                     "notified_serial", (json_int_t)z->notified_serial, "last_check",
                     (json_int_t)z->last_check, "masters", masters);
}

/* Looks a zone up by canonical name; replies false (with reason) when absent. */
static int zone_param(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r,
                      const char *key, struct mxg_zone *z)
{
    char canon[MXG_NAME_TEXT_MAX];
    int rc = name_param(s, req, r, key, NULL, canon, sizeof(canon));
    if (rc != MXG_OK)
        return rc;
    rc = MXG_STORE_CALL(s->be->store, zone_get, canon, z);
    if (rc == MXG_ENOENT) {
        mxg_reply_set(r, json_false());
        return rc;
    }
    if (rc != MXG_OK)
        store_failed(s, r, req->method_name, rc);
    return rc;
}

/* ---- lookup and list ---------------------------------------------------------------------- */

struct rec_ctx {
    json_t *arr;
    const char *qname; /* echoed owner, or NULL to use the stored name */
    bool skip_ent;
    /* A signed zone's chain: auth flags as pdns's rectify would set them (nsec.h). */
    const struct mxg_chain *chain;
};

static int add_record(void *ctx, const struct mxg_record *rec)
{
    struct rec_ctx *c = ctx;
    if (c->skip_ent && strcmp(rec->type, "ENT") == 0)
        return 0;
    /* Built by hand rather than with json_pack: this runs for every record of every lookup. */
    json_t *o = json_object();
    json_t *content = json_string(rec->content);
    if (!content) /* not UTF-8 (raw octets in a TXT written by another tool): as \DDD */
        content = json_string("");
    if (!o || !content) {
        if (o)
            json_decref(o);
        if (content)
            json_decref(content);
        return MXG_ENOMEM;
    }
    if (json_object_set_new_nocheck(o, "content", content) != 0) {
        json_decref(o);
        return MXG_ENOMEM;
    }
    if (json_object_set_new_nocheck(o, "qtype", json_string_nocheck(rec->type)) != 0 ||
        json_object_set_new_nocheck(o, "qname", json_string(c->qname ? c->qname : rec->name)) !=
            0 ||
        json_object_set_new_nocheck(o, "ttl", json_integer((json_int_t)rec->ttl)) != 0 ||
        json_object_set_new_nocheck(
            o, "auth",
            json_integer(
                (c->chain ? mxg_chain_auth(c->chain, rec->name, rec->type) : rec->auth) ? 1 : 0)) !=
            0 ||
        json_object_set_new_nocheck(o, "domain_id", json_integer((json_int_t)rec->domain_id)) !=
            0) {
        json_decref(o);
        return MXG_ENOMEM;
    }
    /* _new calls take the reference even when they fail: nothing to release here. */
    return json_array_append_new(c->arr, o) != 0 ? MXG_ENOMEM : 0;
}

static int m_lookup(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r)
{
    struct mxg_store *st = s->be->store;
    const char *qname = NULL, *qtype = NULL;
    char canon[MXG_NAME_TEXT_MAX];
    int64_t zone_id = -1;
    s->be->stats.lookups++;
    if (name_param(s, req, r, "qname", &qname, canon, sizeof(canon)) != MXG_OK)
        return MXG_OK;
    int rc = mxg_param_string(req, "qtype", &qtype);
    if (rc != MXG_OK)
        return fail(s, r, "lookup: parameter 'qtype' %s",
                    rc == MXG_ENOENT ? "is missing" : "must be a string");
    rc = mxg_param_int(req, "zone-id", &zone_id);
    if (rc == MXG_EINVAL)
        return fail(s, r, "lookup: parameter 'zone-id' must be an integer");
    if (rc == MXG_ENOENT)
        zone_id = -1;

    char type[MXG_TYPE_MAX];
    const char *type_filter = NULL;
    if (strcasecmp(qtype, "ANY") != 0) {
        uint16_t num;
        if (mxg_rrtype_parse(qtype, type, sizeof(type), &num) != MXG_OK)
            return fail(s, r, "lookup: unknown qtype '%.32s'", qtype);
        type_filter = type;
    }

    struct mxg_zone z;
    if (zone_id < 0) {
        rc = mxg_store_find_zone(st, canon, &z);
        if (rc == MXG_ENOENT) {
            mxg_reply_set(r, json_false());
            return MXG_OK;
        }
        if (rc != MXG_OK)
            return store_failed(s, r, "lookup", rc);
        zone_id = z.id;
    }

    struct rec_ctx c = {.arr = json_array(), .qname = qname, .skip_ent = type_filter != NULL};
    if (!c.arr)
        return MXG_ENOMEM;
    struct mxg_txn *t = txn_on(s, zone_id);
    rc = mxg_chain_cache_get(s->be->chains, st, zone_id, &c.chain);
    if (rc != MXG_OK) {
        json_decref(c.arr);
        return rc == MXG_ENOMEM ? rc : store_failed(s, r, "lookup", rc);
    }
    rc = t ? mxg_txn_lookup(t, st, canon, type_filter, add_record, &c)
           : MXG_STORE_CALL(st, lookup, zone_id, canon, type_filter, add_record, &c);
    if (rc != MXG_OK) {
        json_decref(c.arr);
        if (rc == MXG_ENOMEM)
            return rc;
        return store_failed(s, r, "lookup", rc);
    }
    if (json_array_size(c.arr) == 0 && !type_filter) {
        /* An empty non-terminal: nothing here, something below. */
        bool below = false;
        rc = t ? mxg_txn_has_below(t, st, canon, &below)
               : MXG_STORE_CALL(st, has_below, zone_id, canon, &below);
        if (rc != MXG_OK) {
            json_decref(c.arr);
            return store_failed(s, r, "lookup", rc);
        }
        if (below) {
            json_t *o =
                json_pack("{s:s,s:s,s:s,s:i,s:i,s:I}", "qtype", "ENT", "qname", qname, "content",
                          "", "ttl", 0, "auth", 1, "domain_id", (json_int_t)zone_id);
            if (!o || json_array_append_new(c.arr, o) != 0) {
                json_decref(c.arr);
                return MXG_ENOMEM;
            }
        }
    }
    if (json_array_size(c.arr) == 0) {
        json_decref(c.arr);
        mxg_reply_set(r, json_false());
        return MXG_OK;
    }
    mxg_reply_set(r, c.arr);
    return MXG_OK;
}

static int m_list(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r)
{
    struct mxg_store *st = s->be->store;
    struct mxg_zone z;
    int64_t id = -1;
    int rc = mxg_param_int(req, "domain_id", &id);
    if (rc == MXG_EINVAL)
        return fail(s, r, "list: parameter 'domain_id' must be an integer");
    /* The zone name decides; domain_id is only a cross-check (pdns sends -1 at times). */
    if (zone_param(s, req, r, "zonename", &z) != MXG_OK)
        return MXG_OK;
    if (id >= 0 && id != z.id)
        return fail(s, r, "list: domain_id %" PRId64 " is not zone %s", id, z.name);
    struct rec_ctx c = {.arr = json_array(), .qname = NULL, .skip_ent = true};
    if (!c.arr)
        return MXG_ENOMEM;
    struct mxg_txn *t = txn_on(s, z.id);
    rc = mxg_chain_cache_get(s->be->chains, st, z.id, &c.chain);
    if (rc != MXG_OK) {
        json_decref(c.arr);
        return rc == MXG_ENOMEM ? rc : store_failed(s, r, "list", rc);
    }
    rc = t ? mxg_txn_list(t, st, add_record, &c) : MXG_STORE_CALL(st, list, z.id, add_record, &c);
    if (rc != MXG_OK) {
        json_decref(c.arr);
        return rc == MXG_ENOMEM ? rc : store_failed(s, r, "list", rc);
    }
    if (json_array_size(c.arr) == 0) {
        json_decref(c.arr);
        return fail(s, r, "list: zone %s has no records", z.name);
    }
    mxg_reply_set(r, c.arr);
    return MXG_OK;
}

/* ---- zones -------------------------------------------------------------------------------- */

static int m_get_domain_info(struct mxg_session *s, const struct mxg_request *req,
                             struct mxg_reply *r)
{
    struct mxg_zone z;
    if (zone_param(s, req, r, "name", &z) != MXG_OK)
        return MXG_OK;
    json_t *info = domain_info(&z);
    if (!info)
        return MXG_ENOMEM;
    mxg_reply_set(r, info);
    return MXG_OK;
}

struct zones_ctx {
    json_t *arr;
    int filter; /* 0 all, 1 masters needing NOTIFY, 2 slaves with masters */
};

static int add_zone(void *ctx, const struct mxg_zone *z)
{
    struct zones_ctx *c = ctx;
    if (c->filter == 1 &&
        (z->kind != MXG_KIND_MASTER || !z->has_soa || z->serial == z->notified_serial))
        return 0;
    if (c->filter == 2 && (z->kind != MXG_KIND_SLAVE || z->masters[0] == '\0'))
        return 0;
    json_t *info = domain_info(z);
    if (!info || json_array_append_new(c->arr, info) != 0)
        return MXG_ENOMEM;
    return 0;
}

static int zones_reply(struct mxg_session *s, struct mxg_reply *r, int filter, const char *what)
{
    struct zones_ctx c = {.arr = json_array(), .filter = filter};
    if (!c.arr)
        return MXG_ENOMEM;
    int rc = MXG_STORE_CALL(s->be->store, zone_list, add_zone, &c);
    if (rc != MXG_OK) {
        json_decref(c.arr);
        return rc == MXG_ENOMEM ? rc : store_failed(s, r, what, rc);
    }
    mxg_reply_set(r, c.arr);
    return MXG_OK;
}

static int m_get_all_domains(struct mxg_session *s, const struct mxg_request *req,
                             struct mxg_reply *r)
{
    (void)req;
    return zones_reply(s, r, 0, "getAllDomains");
}

static int m_get_updated_masters(struct mxg_session *s, const struct mxg_request *req,
                                 struct mxg_reply *r)
{
    (void)req;
    return zones_reply(s, r, 1, "getUpdatedMasters");
}

static int m_get_unfresh_slave_infos(struct mxg_session *s, const struct mxg_request *req,
                                     struct mxg_reply *r)
{
    (void)req;
    return zones_reply(s, r, 2, "getUnfreshSlaveInfos");
}

static int zone_update(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r,
                       const char *key, bool notified)
{
    int64_t id, v = 0;
    if (int_param(s, req, r, "id", &id) != MXG_OK)
        return MXG_OK;
    if (notified) {
        if (int_param(s, req, r, key, &v) != MXG_OK)
            return MXG_OK;
        if (v < 0 || v > UINT32_MAX)
            return fail(s, r, "%s: serial out of range", req->method_name);
    } else {
        v = key ? (int64_t)time(NULL) : 0;
    }
    int rc = notified ? MXG_STORE_CALL(s->be->store, zone_set_notified, id, v)
                      : MXG_STORE_CALL(s->be->store, zone_set_last_check, id, v);
    if (rc == MXG_ENOENT)
        return fail(s, r, "%s: no zone with id %" PRId64, req->method_name, id);
    if (rc != MXG_OK)
        return store_failed(s, r, req->method_name, rc);
    mxg_reply_set(r, json_true());
    return MXG_OK;
}

static int m_set_notified(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r)
{
    return zone_update(s, req, r, "serial", true);
}

static int m_set_fresh(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r)
{
    return zone_update(s, req, r, "now", false);
}

static int m_set_stale(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r)
{
    return zone_update(s, req, r, NULL, false);
}

/* ---- metadata ----------------------------------------------------------------------------- */

struct meta_ctx {
    json_t *obj; /* getAllDomainMetadata: kind -> [values] */
    json_t *arr; /* getDomainMetadata: [values] */
};

static int add_meta(void *ctx, const char *kind, const char *value)
{
    struct meta_ctx *c = ctx;
    json_t *v = json_string(value);
    if (!v)
        v = json_string(""); /* not UTF-8: pdns could not use it either */
    if (!v)
        return MXG_ENOMEM;
    json_t *arr = c->arr;
    if (c->obj) {
        arr = json_object_get(c->obj, kind);
        if (!arr) {
            arr = json_array();
            if (!arr || json_object_set_new(c->obj, kind, arr) != 0) {
                json_decref(v);
                return MXG_ENOMEM;
            }
        }
    }
    if (json_array_append_new(arr, v) != 0)
        return MXG_ENOMEM;
    return 0;
}

static int m_get_all_domain_metadata(struct mxg_session *s, const struct mxg_request *req,
                                     struct mxg_reply *r)
{
    struct mxg_zone z;
    if (zone_param(s, req, r, "name", &z) != MXG_OK)
        return MXG_OK;
    struct meta_ctx c = {.obj = json_object()};
    if (!c.obj)
        return MXG_ENOMEM;
    struct mxg_txn *t = txn_on(s, z.id);
    int rc = t ? mxg_txn_meta_list(t, s->be->store, NULL, add_meta, &c)
               : MXG_STORE_CALL(s->be->store, meta_list, z.id, NULL, add_meta, &c);
    if (rc != MXG_OK) {
        json_decref(c.obj);
        return rc == MXG_ENOMEM ? rc : store_failed(s, r, "getAllDomainMetadata", rc);
    }
    mxg_reply_set(r, c.obj);
    return MXG_OK;
}

static int kind_param(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r,
                      const char **kind)
{
    int rc = mxg_param_string(req, "kind", kind);
    if (rc != MXG_OK) {
        fail(s, r, "%s: parameter 'kind' %s", req->method_name,
             rc == MXG_ENOENT ? "is missing" : "must be a string");
        return rc;
    }
    size_t n = strlen(*kind);
    if (n == 0 || n > MXG_META_KIND_MAX) {
        fail(s, r, "%s: metadata kind must be 1..%d characters", req->method_name,
             MXG_META_KIND_MAX);
        return MXG_EINVAL;
    }
    return MXG_OK;
}

static int m_get_domain_metadata(struct mxg_session *s, const struct mxg_request *req,
                                 struct mxg_reply *r)
{
    struct mxg_zone z;
    const char *kind = NULL;
    if (zone_param(s, req, r, "name", &z) != MXG_OK || kind_param(s, req, r, &kind) != MXG_OK)
        return MXG_OK;
    if (s->txn && strcasecmp(kind, "SOA-EDIT-API") == 0)
        s->saw_api = true;
    if (strcasecmp(kind, "ALLOW-DNSUPDATE-FROM") == 0 ||
        strcasecmp(kind, "TSIG-ALLOW-DNSUPDATE") == 0 ||
        strcasecmp(kind, "SOA-EDIT-DNSUPDATE") == 0)
        s->saw_dnsupdate = true;
    struct meta_ctx c = {.arr = json_array()};
    if (!c.arr)
        return MXG_ENOMEM;
    struct mxg_txn *t = txn_on(s, z.id);
    int rc = t ? mxg_txn_meta_list(t, s->be->store, kind, add_meta, &c)
               : MXG_STORE_CALL(s->be->store, meta_list, z.id, kind, add_meta, &c);
    if (rc != MXG_OK) {
        json_decref(c.arr);
        return rc == MXG_ENOMEM ? rc : store_failed(s, r, "getDomainMetadata", rc);
    }
    mxg_reply_set(r, c.arr);
    return MXG_OK;
}

static int m_set_domain_metadata(struct mxg_session *s, const struct mxg_request *req,
                                 struct mxg_reply *r)
{
    struct mxg_store *st = s->be->store;
    struct mxg_zone z;
    const char *kind = NULL;
    if (zone_param(s, req, r, "name", &z) != MXG_OK)
        return MXG_OK;
    if (kind_param(s, req, r, &kind) != MXG_OK)
        return MXG_OK;
    json_t *value = json_object_get(req->params, "value");
    if (!json_is_array(value))
        return fail(s, r, "setDomainMetadata: parameter 'value' must be an array of strings");
    size_t n = json_array_size(value);
    if (n > MXG_META_VALUES_MAX)
        return fail(s, r, "setDomainMetadata: more than %d values", MXG_META_VALUES_MAX);
    const char *vals[MXG_META_VALUES_MAX];
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(value, i);
        if (!json_is_string(v) || json_string_length(v) > MXG_META_VALUE_MAX ||
            strlen(json_string_value(v)) != json_string_length(v))
            return fail(s, r, "setDomainMetadata: value %zu is not a string of at most %d bytes", i,
                        MXG_META_VALUE_MAX);
        vals[i] = json_string_value(v);
    }
    if (strcasecmp(kind, "X-MXGUARD-MODE") == 0) {
        enum mxg_mode mode;
        if (n > 1 || (n == 1 && mxg_parse_mode(vals[0], &mode) != MXG_OK))
            return fail(s, r,
                        "setDomainMetadata: X-MXGUARD-MODE must be one of "
                        "off, warn, reject, fix");
    }
    struct mxg_txn *t = txn_on(s, z.id);
    if (t) {
        /* Inside a transaction on this zone it joins the transaction. */
        if (mxg_txn_meta_set(t, kind, vals, n) != MXG_OK)
            return MXG_ENOMEM;
        mxg_reply_set(r, json_true());
        return MXG_OK;
    }
    /* Outside a transaction this call is its own one-call transaction, audited like any. */
    struct mxg_txn *own = NULL;
    int rc = mxg_txn_new(z.id, z.name, false, 0, &own);
    if (rc == MXG_OK)
        rc = mxg_txn_meta_set(own, kind, vals, n);
    if (rc == MXG_OK) {
        struct mxg_guard_opts opts = {.source = "metadata", .guarded = true};
        struct mxg_guard_result res = {0};
        rc = mxg_guard_commit(st, s->be->cfg, own, &opts, &res);
        if (rc == MXG_OK && res.audited)
            mxg_info("audit head %lld:%s", (long long)res.audit_seq, res.audit_hash);
        mxg_guard_result_free(&res);
    }
    mxg_txn_free(own);
    if (rc == MXG_ENOMEM)
        return rc;
    if (rc != MXG_OK)
        return store_failed(s, r, "setDomainMetadata", rc);
    mxg_info("metadata %s of %s set (%zu value%s)", kind, z.name, n, n == 1 ? "" : "s");
    mxg_reply_set(r, json_true());
    return MXG_OK;
}

/* ---- misc --------------------------------------------------------------------------------- */

static int m_initialize(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r)
{
    (void)req;
    s->initialized = true;
    mxg_reply_set(r, json_true());
    return MXG_OK;
}

static int m_direct_backend_cmd(struct mxg_session *s, const struct mxg_request *req,
                                struct mxg_reply *r)
{
    const char *q = NULL;
    int rc = mxg_param_string(req, "query", &q);
    if (rc != MXG_OK)
        return fail(s, r, "directBackendCmd: parameter 'query' must be a string");
    if (strcasecmp(q, "ping") == 0) {
        mxg_reply_set(r, json_string("pong"));
    } else if (strcasecmp(q, "version") == 0) {
        mxg_reply_set(r, json_string("mxguard " MXG_VERSION));
    } else if (strcasecmp(q, "help") == 0) {
        mxg_reply_set(r, json_string("commands: ping, version, help"));
    } else {
        return fail(s, r, "directBackendCmd: unknown command '%.64s' (try help)", q);
    }
    return MXG_OK;
}

/* ---- transactions and writes -------------------------------------------------------------- */

/* Refuses a write: false with a log line naming the record, and the transaction is poisoned so
 * that its commit is refused too (DNS UPDATE and AXFR-in ignore false from single writes) and
 * audited with the finding invalid-record naming the write: its owner name and content (NULL
 * when the write has none). */
static int refuse_writev(struct mxg_session *s, struct mxg_reply *r, const char *name,
                         const char *content, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static int refuse_write(struct mxg_session *s, struct mxg_reply *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse_rr(struct mxg_session *s, struct mxg_reply *r, const char *name,
                     const char *content, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int refuse_write(struct mxg_session *s, struct mxg_reply *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = refuse_writev(s, r, NULL, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

static int refuse_rr(struct mxg_session *s, struct mxg_reply *r, const char *name,
                     const char *content, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = refuse_writev(s, r, name, content, fmt, ap);
    va_end(ap);
    return rc;
}

static int refuse_writev(struct mxg_session *s, struct mxg_reply *r, const char *name,
                         const char *content, const char *fmt, va_list ap)
{
    char buf[400];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    if (s->txn)
        mxg_txn_poison_write(s->txn, name, content, buf);
    mxg_warn("write refused: %s", buf);
    return fail(s, r, "%s", buf);
}

/* Checks that a write belongs to the open transaction: trxid (and domain_id when given). */
static int write_txn(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r)
{
    int64_t trxid = -1, domain_id = -1;
    int rc = mxg_param_int(req, "trxid", &trxid);
    if (rc == MXG_EINVAL) {
        refuse_write(s, r, "%s: parameter 'trxid' must be an integer", req->method_name);
        return MXG_EINVAL;
    }
    if (!s->txn || trxid == -1 || (rc == MXG_OK && trxid != mxg_txn_trxid(s->txn))) {
        fail(s, r, "%s outside a transaction (trxid %" PRId64 ")", req->method_name, trxid);
        return MXG_ETXN;
    }
    rc = mxg_param_int(req, "domain_id", &domain_id);
    if (rc == MXG_EINVAL ||
        (rc == MXG_OK && domain_id >= 0 && domain_id != mxg_txn_zone_id(s->txn))) {
        refuse_write(s, r, "%s: domain_id is not the zone of the transaction (%s)",
                     req->method_name, mxg_txn_zone(s->txn));
        return MXG_EINVAL;
    }
    return MXG_OK;
}

/* Parses one record object of replaceRRSet/feedRecord into rec (strings point into
 * s->content and the request) and its canonical owner into name. */
static int parse_write_rr(struct mxg_session *s, struct mxg_reply *r, const char *method, json_t *o,
                          char *name, size_t namelen, char *type, size_t typelen,
                          struct mxg_txn_rec *rec)
{
    if (!json_is_object(o))
        return refuse_write(s, r, "%s: record is not an object", method), MXG_EINVAL;
    json_t *jn = json_object_get(o, "qname"), *jt = json_object_get(o, "qtype"),
           *jc = json_object_get(o, "content"), *jl = json_object_get(o, "ttl"),
           *ja = json_object_get(o, "auth");
    if (!json_is_string(jn) || !json_is_string(jt) || !json_is_string(jc))
        return refuse_write(s, r, "%s: record needs string qname, qtype and content", method),
               MXG_EINVAL;
    const char *qname = json_string_value(jn), *qtype = json_string_value(jt),
               *content = json_string_value(jc);
    if (mxg_name_canon(qname, name, namelen) != MXG_OK)
        return refuse_rr(s, r, qname, content, "%s: invalid owner name '%.255s'", method, qname),
               MXG_EINVAL;
    if (!mxg_name_is_below(name, mxg_txn_zone(s->txn)))
        return refuse_rr(s, r, name, content, "%s: %s is not in zone %s", method, name,
                         mxg_txn_zone(s->txn)),
               MXG_EINVAL;
    uint16_t num;
    if (mxg_rrtype_parse(qtype, type, typelen, &num) != MXG_OK)
        return refuse_rr(s, r, name, content, "%s: %s: unknown or unstorable type '%.32s'", method,
                         name, qtype),
               MXG_EINVAL;
    json_int_t ttl = 0;
    /* A real is range-checked before the cast: converting 1e300 to an integer is undefined. */
    double dttl = json_is_real(jl) ? json_real_value(jl) : 0.0;
    if (json_is_integer(jl))
        ttl = json_integer_value(jl);
    else if (json_is_real(jl) && (dttl < 0.0 || dttl > 2147483647.0))
        return refuse_rr(s, r, name, content, "%s: %s %s: ttl %g out of range", method, name, type,
                         dttl),
               MXG_EINVAL;
    else if (json_is_real(jl) && dttl == (double)(json_int_t)dttl)
        ttl = (json_int_t)dttl;
    else
        return refuse_rr(s, r, name, content, "%s: %s %s: ttl must be an integer", method, name,
                         type),
               MXG_EINVAL;
    /* pdns sends auth as a boolean; 0/1 are read as such, anything else is not guessed at. */
    if (ja && !json_is_boolean(ja) && !json_is_null(ja) &&
        !(json_is_integer(ja) && (json_integer_value(ja) == 0 || json_integer_value(ja) == 1)))
        return refuse_rr(s, r, name, content, "%s: %s %s: auth must be a boolean", method, name,
                         type),
               MXG_EINVAL;
    if (ttl < 0 || ttl > 2147483647)
        return refuse_rr(s, r, name, content, "%s: %s %s: ttl %lld out of range", method, name,
                         type, (long long)ttl),
               MXG_EINVAL;
    if (json_string_length(jc) != strlen(content) || json_string_length(jc) >= MXG_CONTENT_MAX)
        return refuse_rr(s, r, name, content, "%s: %s %s: content too long or contains NUL", method,
                         name, type),
               MXG_EINVAL;
    char why[160] = "";
    if (mxg_rr_normalize(type, content, s->content, MXG_CONTENT_MAX, why, sizeof(why)) != MXG_OK)
        return refuse_rr(s, r, name, content, "%s: %s %s '%.200s': %s", method, name, type, content,
                         why[0] ? why : "invalid content"),
               MXG_EINVAL;
    rec->type = type;
    rec->content = s->content;
    /* pdns sends content in its own form already: keep it byte for byte (escapes, LOC precision,
     * case), so that what a client wrote is what it reads back. Knot's rendering is kept only
     * where pdns's form would not be valid for its own API: unquoted TXT/SPF. */
    if (!((strcmp(type, "TXT") == 0 || strcmp(type, "SPF") == 0) && content[0] != '"'))
        memcpy(s->content, content, json_string_length(jc) + 1);
    rec->ttl = (uint32_t)ttl;
    rec->auth = !json_is_false(ja) && !(json_is_integer(ja) && json_integer_value(ja) == 0);
    return MXG_OK;
}

static int m_start_transaction(struct mxg_session *s, const struct mxg_request *req,
                               struct mxg_reply *r)
{
    struct mxg_zone z;
    int64_t domain_id = -1, trxid = 0;
    if (zone_param(s, req, r, "domain", &z) != MXG_OK) {
        if (json_is_false(r->result) && !r->log)
            fail(s, r, "startTransaction: no such zone");
        return MXG_OK;
    }
    if (int_param(s, req, r, "trxid", &trxid) != MXG_OK)
        return MXG_OK;
    int rc = mxg_param_int(req, "domain_id", &domain_id);
    if (rc == MXG_EINVAL)
        return fail(s, r, "startTransaction: parameter 'domain_id' must be an integer");
    if (domain_id >= 0 && domain_id != z.id)
        return fail(s, r, "startTransaction: domain_id %" PRId64 " is not zone %s", domain_id,
                    z.name);
    if (s->txn) {
        mxg_warn("startTransaction on %s while a transaction on %s is open: the old one is "
                 "rolled back",
                 z.name, mxg_txn_zone(s->txn));
        mxg_txn_free(s->txn);
        s->txn = NULL;
    }
    if (!s->content && !(s->content = malloc(MXG_CONTENT_MAX)))
        return MXG_ENOMEM;
    if (mxg_txn_new(z.id, z.name, domain_id >= 0, trxid, &s->txn) != MXG_OK)
        return MXG_ENOMEM;
    s->saw_api = false;
    mxg_debug("transaction %" PRId64 " on %s started%s", trxid, z.name,
              domain_id >= 0 ? " (replaces the whole zone)" : "");
    mxg_reply_set(r, json_true());
    return MXG_OK;
}

/* Finds the transaction a commit/abort names. Unknown trxid with no open transaction: a
 * harmless no-op (pdns sends the abort of a dropped connection on a new one). */
static int end_txn(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r,
                   bool *found)
{
    int64_t trxid = 0;
    *found = false;
    if (int_param(s, req, r, "trxid", &trxid) != MXG_OK)
        return MXG_EINVAL;
    if (!s->txn) {
        mxg_debug("%s of unknown transaction %" PRId64 ": nothing to do", req->method_name, trxid);
        mxg_reply_set(r, json_true());
        return MXG_OK;
    }
    if (trxid != mxg_txn_trxid(s->txn)) {
        fail(s, r, "%s: trxid %" PRId64 " is not the open transaction %" PRId64, req->method_name,
             trxid, mxg_txn_trxid(s->txn));
        return MXG_EINVAL;
    }
    *found = true;
    return MXG_OK;
}

static int m_abort_transaction(struct mxg_session *s, const struct mxg_request *req,
                               struct mxg_reply *r)
{
    bool found;
    if (end_txn(s, req, r, &found) != MXG_OK || !found)
        return MXG_OK;
    mxg_debug("transaction on %s aborted", mxg_txn_zone(s->txn));
    s->saw_dnsupdate = false;
    mxg_txn_free(s->txn);
    s->txn = NULL;
    mxg_reply_set(r, json_true());
    return MXG_OK;
}

/* A commit that must not happen is answered without "result": pdns then reports a failure to
 * its client (API 500, DNS UPDATE SERVFAIL, pdnsutil error) instead of ignoring it. */
static void refuse_commit(struct mxg_session *s, struct mxg_reply *r, const char *why)
{
    mxg_reply_clear(r);
    r->no_result = true;
    mxg_reply_log(r, "mxguard: commit refused: %s", why);
    s->be->stats.errors++;
}

/* The audit "source": a best guess from the call pattern around the transaction. */
static const char *txn_source(const struct mxg_session *s, const struct mxg_txn *t)
{
    struct mxg_zone z;
    bool slave = MXG_STORE_CALL(s->be->store, zone_get_by_id, mxg_txn_zone_id(t), &z) == MXG_OK &&
                 z.kind == MXG_KIND_SLAVE;
    if (mxg_txn_wipes(t))
        return slave ? "axfr" : "pdnsutil";
    if (slave)
        return "ixfr";
    if (s->saw_dnsupdate)
        return "dnsupdate";
    if (s->saw_api)
        return "api";
    if (mxg_txn_name_count(t) == 0 && mxg_txn_meta_count(t) > 0)
        return "metadata";
    return "pdnsutil";
}

/* One log line per decision; refusals and fixes at warning level, with the audit seq. */
static void log_decision(const struct mxg_txn *t, const struct mxg_guard_opts *o,
                         const struct mxg_guard_result *res)
{
    enum mxg_verdict v = res->judged ? res->decision.verdict : MXG_VERDICT_ALLOW;
    char what[600] = "";
    size_t used = 0;
    for (size_t i = 0; res->judged && i < res->decision.n_findings && used < sizeof(what); i++) {
        const struct mxg_finding *f = &res->decision.findings[i];
        int n = snprintf(what + used, sizeof(what) - used, "%s%s %s%s%s", i ? "; " : "", f->rule,
                         f->name ? f->name : "", f->family && *f->family ? " " : "",
                         f->family ? f->family : "");
        if (n > 0)
            used += (size_t)n;
    }
    enum mxg_log_level lvl = (v == MXG_VERDICT_REJECT || v == MXG_VERDICT_FIX) ? MXG_LOG_WARNING
                             : (v == MXG_VERDICT_WARN)                         ? MXG_LOG_INFO
                                                                               : MXG_LOG_DEBUG;
    mxg_log(lvl, "zone %s: %s change %s in mode %s (%zu rrset%s changed)%s%s; audit seq %lld",
            mxg_txn_zone(t), o->source, v == MXG_VERDICT_REJECT ? "refused" : mxg_verdict_name(v),
            mxg_mode_name(res->mode), res->n_changes, res->n_changes == 1 ? "" : "s",
            used ? ": " : "", what, (long long)res->audit_seq);
    if (res->audited)
        mxg_info("audit head %lld:%s", (long long)res->audit_seq, res->audit_hash);
}

/* The reply and counters for a finished commit (loop thread). */
static void commit_outcome(struct mxg_session *s, struct mxg_reply *r, struct mxg_txn *t,
                           const struct mxg_guard_opts *opts, struct mxg_guard_result *res, int rc)
{
    const char *poisoned = mxg_txn_poisoned(t) ? "a write of this transaction was refused" : NULL;
    count_commit_time(s->be, s->commit_t0);
    if (rc == MXG_OK && res->judged)
        mxg_backend_count_decision(s->be, &res->decision);
    if (rc != MXG_OK) {
        mxg_err("commit on %s failed: %s", mxg_txn_zone(t), mxg_strerror(rc));
        s->be->stats.rejected++;
        refuse_commit(s, r, poisoned ? poisoned : mxg_strerror(rc));
        return;
    }
    log_decision(t, opts, res);
    if (res->refused) {
        s->be->stats.rejected++;
        refuse_commit(s, r,
                      poisoned ? poisoned : "the guard refused the change (see the audit log)");
        return;
    }
    enum mxg_verdict v = res->judged ? res->decision.verdict : MXG_VERDICT_ALLOW;
    if (v == MXG_VERDICT_FIX)
        s->be->stats.fixed++;
    else if (v == MXG_VERDICT_WARN)
        s->be->stats.warned++;
    else
        s->be->stats.allowed++;
    mxg_reply_set(r, json_true());
}

struct commit_job {
    bool external; /* a pass over the change log (s and txn NULL) */
    struct mxg_backend *be;
    struct mxg_external_result xres;
    struct mxg_session *s;
    struct mxg_txn *txn;
    struct mxg_guard_opts opts;
    struct mxg_guard_result res;
    int rc;
};

/* On the writer's thread. */
static void commit_work(void *arg)
{
    struct commit_job *j = arg;
    if (j->external) {
        struct mxg_backend *be = j->be;
        j->rc = mxg_external_pass(be->wstore, be->cfg, 0, &j->xres);
        return;
    }
    j->rc = mxg_guard_commit(j->be->wstore, j->be->cfg, j->txn, &j->opts, &j->res);
}

static void external_done(struct mxg_backend *be, struct commit_job *j, bool ran)
{
    be->external_queued = false;
    int rc = ran ? j->rc : MXG_ESTORE;
    if (rc != MXG_OK) {
        be->stats.external_errors++;
        mxg_warn("out-of-band writes: pass failed (%s); the log is kept for the next one",
                 mxg_strerror(rc));
    } else {
        be->stats.external += j->xres.records;
        be->stats.external_moves += j->xres.moves;
        be->stats.external_fixed += j->xres.fixed;
        if (j->xres.records)
            mxg_info("out-of-band writes: %zu log rows, %zu audit records (%zu moved mail, %zu "
                     "repaired)",
                     j->xres.rows, j->xres.records, j->xres.moves, j->xres.fixed);
    }
    bool more = rc == MXG_OK && j->xres.more;
    free(j);
    if (more)
        mxg_backend_external(be);
}

/* Back on the loop thread. */
static void commit_done(void *arg, bool ran)
{
    struct commit_job *j = arg;
    struct mxg_backend *be = j->be;
    /* Whatever is read from here on sees the commit or the pass. */
    mxg_store_end_reads(be->store);
    if (j->external) {
        external_done(be, j, ran);
        return;
    }
    struct mxg_session *s = j->s;
    struct mxg_reply r;
    mxg_reply_init(&r);
    commit_outcome(s, &r, j->txn, &j->opts, &j->res, ran ? j->rc : MXG_ESTORE);
    s->pending = NULL;
    char *reply = NULL;
    size_t len = 0;
    if (s->orphaned) {
        mxg_reply_clear(&r);
        mxg_session_free(s);
    } else if (s->on_reply) {
        if (mxg_reply_encode(&r, &reply, &len) != MXG_OK) {
            /* Out of memory: a fixed failure, so that pdns is not left waiting (and with no
             * memory for that either, a NULL reply: the connection is closed). */
            static const char oom[] = "{\"result\":false,\"log\":[\"mxguard: out of memory\"]}\n";
            reply = strdup(oom);
            len = reply ? sizeof(oom) - 1 : 0;
        }
        s->on_reply(s->on_reply_arg, reply, len);
    } else {
        mxg_reply_clear(&r);
    }
    mxg_guard_result_free(&j->res);
    mxg_txn_free(j->txn);
    free(j);
}

static int commit_async(struct mxg_session *s, struct mxg_txn *t, const char *source)
{
    struct commit_job *j = calloc(1, sizeof(*j));
    if (!j) {
        mxg_txn_free(t);
        return MXG_ENOMEM;
    }
    *j = (struct commit_job){
        .be = s->be, .s = s, .txn = t, .opts = {.source = source, .guarded = true}};
    s->pending = j;
    s->deferred = true;
    int rc = mxg_writer_submit(s->be->writer, commit_work, commit_done, j);
    if (rc != MXG_OK) {
        s->pending = NULL;
        s->deferred = false;
        mxg_txn_free(t);
        free(j);
    }
    return rc;
}

void mxg_backend_set_async(struct mxg_backend *be, struct mxg_writer *writer,
                           struct mxg_store *wstore)
{
    be->writer = writer;
    be->wstore = wstore;
}

void mxg_backend_external(struct mxg_backend *be)
{
    if (!be->writer || be->external_queued)
        return;
    struct commit_job *j = calloc(1, sizeof(*j));
    if (!j)
        return; /* the next tick asks again */
    j->external = true;
    j->be = be;
    be->external_queued = true;
    if (mxg_writer_submit(be->writer, commit_work, commit_done, j) != MXG_OK) {
        be->external_queued = false;
        free(j);
    }
}

bool mxg_backend_busy(const struct mxg_backend *be)
{
    return be->writer && mxg_writer_busy(be->writer);
}

static int m_commit_transaction(struct mxg_session *s, const struct mxg_request *req,
                                struct mxg_reply *r)
{
    bool found;
    if (end_txn(s, req, r, &found) != MXG_OK || !found)
        return MXG_OK;
    struct mxg_txn *t = s->txn;
    s->txn = NULL;
    struct mxg_store *st = s->be->store;
    /* The flags describe this transaction only (DNS UPDATE asks its ACL metadata just before). */
    const char *source = txn_source(s, t);
    s->saw_dnsupdate = false;
    /* A poisoned transaction goes the way of every commit, which refuses it and audits the
     * refusal (finding invalid-record), even when nothing of it was buffered. */
    const char *poison = mxg_txn_poisoned(t);
    if (poison)
        mxg_warn("commit on %s refused: the transaction had a refused write (%s)", mxg_txn_zone(t),
                 poison);
    else if (mxg_txn_empty(t)) {
        mxg_txn_free(t);
        mxg_reply_set(r, json_true());
        return MXG_OK;
    }
    s->be->stats.commits++;
    s->commit_t0 = now_ns();
    if (s->be->writer)
        return commit_async(s, t, source);
    struct mxg_guard_opts opts = {.source = source, .guarded = true};
    struct mxg_guard_result res = {0};
    int rc = mxg_guard_commit(st, s->be->cfg, t, &opts, &res);
    commit_outcome(s, r, t, &opts, &res, rc);
    mxg_guard_result_free(&res);
    mxg_txn_free(t);
    return MXG_OK;
}

static int m_replace_rrset(struct mxg_session *s, const struct mxg_request *req,
                           struct mxg_reply *r)
{
    if (write_txn(s, req, r) != MXG_OK)
        return MXG_OK;
    const char *qname = NULL, *qtype = NULL;
    char name[MXG_NAME_TEXT_MAX], type[MXG_TYPE_MAX];
    if (mxg_param_string(req, "qname", &qname) != MXG_OK ||
        mxg_param_string(req, "qtype", &qtype) != MXG_OK)
        return refuse_write(s, r, "replaceRRSet: parameters 'qname' and 'qtype' must be strings");
    if (mxg_name_canon(qname, name, sizeof(name)) != MXG_OK)
        return refuse_rr(s, r, qname, NULL, "replaceRRSet: invalid name '%.255s'", qname);
    if (!mxg_name_is_below(name, mxg_txn_zone(s->txn)))
        return refuse_rr(s, r, name, NULL, "replaceRRSet: %s is not in zone %s", name,
                         mxg_txn_zone(s->txn));
    const char *del_type = type;
    uint16_t num;
    if (strcasecmp(qtype, "ANY") == 0)
        del_type = NULL;
    else if (strcasecmp(qtype, "TYPE0") == 0 || strcasecmp(qtype, "ENT") == 0)
        snprintf(type, sizeof(type), "TYPE0"); /* pdns 4.x quirk: deletes nothing stored */
    else if (mxg_rrtype_parse(qtype, type, sizeof(type), &num) != MXG_OK)
        return refuse_rr(s, r, name, NULL, "replaceRRSet: %s: unknown type '%.32s'", name, qtype);
    json_t *rrset = json_object_get(req->params, "rrset");
    if (!json_is_array(rrset))
        return refuse_rr(s, r, name, NULL, "replaceRRSet: parameter 'rrset' must be an array");
    size_t n = json_array_size(rrset);
    if (n > MXG_RRSET_MAX)
        return refuse_rr(s, r, name, NULL, "replaceRRSet: %s: more than %d records", name,
                         MXG_RRSET_MAX);
    struct mxg_txn_rec *recs = calloc(n ? n : 1, sizeof(*recs));
    if (!recs)
        return MXG_ENOMEM;
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < n; i++) {
        char rname[MXG_NAME_TEXT_MAX], rtype[MXG_TYPE_MAX];
        struct mxg_txn_rec rec;
        rc = parse_write_rr(s, r, "replaceRRSet", json_array_get(rrset, i), rname, sizeof(rname),
                            rtype, sizeof(rtype), &rec);
        if (rc != MXG_OK)
            break;
        if (strcmp(rname, name) != 0) {
            refuse_rr(s, r, rname, rec.content, "replaceRRSet: record owner %s differs from %s",
                      rname, name);
            rc = MXG_EINVAL;
            break;
        }
        recs[i].type = strdup(rec.type);
        recs[i].content = strdup(rec.content);
        recs[i].ttl = rec.ttl;
        recs[i].auth = rec.auth;
        if (!recs[i].type || !recs[i].content)
            rc = MXG_ENOMEM;
    }
    if (rc == MXG_OK) {
        rc = mxg_txn_replace(s->txn, name, del_type, recs, n);
        if (rc == MXG_ERANGE) {
            refuse_rr(s, r, name, NULL, "replaceRRSet: transaction exceeds %d records",
                      MXG_TXN_RECORDS_MAX);
            rc = MXG_OK;
        } else if (rc == MXG_OK) {
            mxg_reply_set(r, json_true());
        }
    } else if (rc == MXG_EINVAL) {
        rc = MXG_OK; /* already answered */
    }
    for (size_t i = 0; i < n; i++) {
        free(recs[i].type);
        free(recs[i].content);
    }
    free(recs);
    return rc;
}

static int m_feed_record(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r)
{
    if (write_txn(s, req, r) != MXG_OK)
        return MXG_OK;
    char name[MXG_NAME_TEXT_MAX], type[MXG_TYPE_MAX];
    struct mxg_txn_rec rec;
    if (parse_write_rr(s, r, "feedRecord", json_object_get(req->params, "rr"), name, sizeof(name),
                       type, sizeof(type), &rec) != MXG_OK)
        return MXG_OK;
    int rc = mxg_txn_add(s->txn, name, &rec);
    if (rc == MXG_ERANGE)
        return refuse_rr(s, r, name, rec.content, "feedRecord: transaction exceeds %d records",
                         MXG_TXN_RECORDS_MAX);
    if (rc != MXG_OK)
        return rc;
    mxg_reply_set(r, json_true());
    return MXG_OK;
}

/* feedEnts/feedEnts3 (AXFR-in): mxguard derives empty non-terminals from the names it holds,
 * so the markers are checked and acknowledged, not stored. */
static int m_feed_ents(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r)
{
    if (write_txn(s, req, r) != MXG_OK)
        return MXG_OK;
    json_t *ents = json_object_get(req->params, "nonterm");
    if (!json_is_array(ents))
        return refuse_write(s, r, "%s: parameter 'nonterm' must be an array", req->method_name);
    size_t i;
    json_t *e;
    json_array_foreach(ents, i, e)
    {
        json_t *n = json_is_object(e) ? json_object_get(e, "nonterm") : e;
        char canon[MXG_NAME_TEXT_MAX];
        if (!json_is_string(n) || mxg_name_canon(json_string_value(n), canon, sizeof(canon)) ||
            !mxg_name_is_below(canon, mxg_txn_zone(s->txn)))
            return refuse_rr(s, r, json_string_value(n), NULL,
                             "%s: entry %zu is not a name in zone %s", req->method_name, i,
                             mxg_txn_zone(s->txn));
    }
    mxg_reply_set(r, json_true());
    return MXG_OK;
}

/* ---- search and autosecondary --------------------------------------------------------- */

/* searchRecords: the API's search string, with * and ? as wildcards, over names and content. */
static int m_search_records(struct mxg_session *s, const struct mxg_request *req,
                            struct mxg_reply *r)
{
    const char *pattern = NULL;
    int64_t max = 100;
    if (mxg_param_string(req, "pattern", &pattern) != MXG_OK)
        return fail(s, r, "searchRecords: parameter 'pattern' must be a string");
    int rc = mxg_param_int(req, "maxResults", &max);
    if (rc == MXG_EINVAL || max < 0)
        return fail(s, r, "searchRecords: parameter 'maxResults' must be a non-negative integer");
    if (max > 10000)
        max = 10000;
    size_t plen = strlen(pattern);
    if (plen > MXG_NAME_TEXT_MAX)
        return fail(s, r, "searchRecords: pattern longer than %d bytes", MXG_NAME_TEXT_MAX);
    char like[2 * MXG_NAME_TEXT_MAX + 1];
    size_t o = 0;
    for (size_t i = 0; i < plen; i++) {
        char c = pattern[i];
        if (c == '*') {
            like[o++] = '%';
        } else if (c == '?') {
            like[o++] = '_';
        } else {
            if (c == '%' || c == '_' || c == '\\')
                like[o++] = '\\';
            like[o++] = c;
        }
    }
    like[o] = '\0';
    struct rec_ctx c = {.arr = json_array(), .qname = NULL, .skip_ent = true};
    if (!c.arr)
        return MXG_ENOMEM;
    rc = MXG_STORE_CALL(s->be->store, search, like, (unsigned)max, add_record, &c);
    if (rc != MXG_OK) {
        json_decref(c.arr);
        return rc == MXG_ENOMEM ? rc : store_failed(s, r, "searchRecords", rc);
    }
    mxg_reply_set(r, c.arr);
    return MXG_OK;
}

/* superMasterBackend: is the NOTIFY sender an autoprimary for one of the zone's nameservers? */
static int m_super_master_backend(struct mxg_session *s, const struct mxg_request *req,
                                  struct mxg_reply *r)
{
    const char *ip = NULL;
    char domain[MXG_NAME_TEXT_MAX];
    if (mxg_param_string(req, "ip", &ip) != MXG_OK)
        return fail(s, r, "superMasterBackend: parameter 'ip' must be a string");
    if (name_param(s, req, r, "domain", NULL, domain, sizeof(domain)) != MXG_OK)
        return MXG_OK;
    json_t *nsset = json_object_get(req->params, "nsset");
    if (!json_is_array(nsset))
        return fail(s, r, "superMasterBackend: parameter 'nsset' must be an array");
    size_t i;
    json_t *ns;
    json_array_foreach(nsset, i, ns)
    {
        json_t *content = json_object_get(ns, "content");
        char canon[MXG_NAME_TEXT_MAX], account[256];
        if (!json_is_string(content) ||
            mxg_name_canon(json_string_value(content), canon, sizeof(canon)) != MXG_OK)
            continue;
        int rc =
            MXG_STORE_CALL(s->be->store, autoprimary_find, ip, canon, account, sizeof(account));
        if (rc == MXG_OK) {
            json_t *res = json_pack("{s:s,s:s}", "nameserver", canon, "account", account);
            if (!res)
                return MXG_ENOMEM;
            mxg_info("autoprimary %s (nameserver %s) may create zone %s", ip, canon, domain);
            mxg_reply_set(r, res);
            return MXG_OK;
        }
        if (rc != MXG_ENOENT)
            return store_failed(s, r, "superMasterBackend", rc);
    }
    mxg_info("NOTIFY for unknown zone %s from %s: not an autoprimary", domain, ip);
    mxg_reply_set(r, json_false());
    return MXG_OK;
}

static int m_create_slave_domain(struct mxg_session *s, const struct mxg_request *req,
                                 struct mxg_reply *r)
{
    const char *ip = NULL;
    char domain[MXG_NAME_TEXT_MAX];
    unsigned char addr[16];
    if (mxg_param_string(req, "ip", &ip) != MXG_OK ||
        (inet_pton(AF_INET, ip, addr) != 1 && inet_pton(AF_INET6, ip, addr) != 1))
        return fail(s, r, "createSlaveDomain: parameter 'ip' must be an address");
    if (name_param(s, req, r, "domain", NULL, domain, sizeof(domain)) != MXG_OK)
        return MXG_OK;
    struct mxg_store *st = s->be->store;
    int64_t id = 0;
    int rc = MXG_STORE_CALL0(st, begin);
    if (rc == MXG_OK) {
        rc = MXG_STORE_CALL(st, zone_add, domain, MXG_KIND_SLAVE, ip, &id);
        if (rc == MXG_OK)
            rc = MXG_STORE_CALL0(st, commit);
        else
            mxg_store_abandon(st);
    }
    if (rc == MXG_EEXIST)
        return fail(s, r, "createSlaveDomain: zone %s already exists", domain);
    if (rc != MXG_OK)
        return store_failed(s, r, "createSlaveDomain", rc);
    mxg_info("secondary zone %s created for autoprimary %s", domain, ip);
    mxg_reply_set(r, json_true());
    return MXG_OK;
}

/* Name relative to apex as pdns wants it back: "" for the apex, else without the zone. */
static void relative(const char *name, const char *apex, char *out, size_t outlen)
{
    size_t n = strlen(name), a = strlen(apex);
    if (strcmp(name, apex) == 0 || n <= a)
        snprintf(out, outlen, "%s", "");
    else if (strcmp(apex, ".") == 0)
        snprintf(out, outlen, "%.*s", (int)(n - 1), name);
    else
        snprintf(out, outlen, "%.*s", (int)(n - a - 1), name);
}

/* getBeforeAndAfterNamesAbsolute {id, qname}: NSEC -- qname relative to the zone with a trailing
 * dot ("www.", "." for the apex), the names before (or equal) and after in the chain, relative;
 * NSEC3 -- qname a hash label, the hashes before (or equal) and after, and the absolute owner of
 * the first as "unhashed". */
static int m_get_before_and_after(struct mxg_session *s, const struct mxg_request *req,
                                  struct mxg_reply *r)
{
    struct mxg_store *st = s->be->store;
    int64_t id;
    const char *qname;
    struct mxg_zone z;
    if (mxg_param_int(req, "id", &id) != MXG_OK)
        return fail(s, r, "getBeforeAndAfterNamesAbsolute: parameter 'id' must be an integer");
    if (mxg_param_string(req, "qname", &qname) != MXG_OK || strlen(qname) >= MXG_NAME_TEXT_MAX)
        return fail(s, r, "getBeforeAndAfterNamesAbsolute: parameter 'qname' must be a name");
    int rc = MXG_STORE_CALL(st, zone_get_by_id, id, &z);
    if (rc == MXG_ENOENT)
        return fail(s, r, "getBeforeAndAfterNamesAbsolute: no zone with id %" PRId64, id);
    const struct mxg_chain *chain = NULL;
    if (rc == MXG_OK)
        rc = mxg_chain_cache_get(s->be->chains, st, id, &chain);
    if (rc != MXG_OK)
        return rc == MXG_ENOMEM ? rc : store_failed(s, r, "getBeforeAndAfterNamesAbsolute", rc);
    if (!chain)
        return fail(s, r, "getBeforeAndAfterNamesAbsolute: zone %s has no DNSSEC keys", z.name);
    const char *before, *after, *owner = "";
    char q[MXG_NAME_TEXT_MAX];
    size_t ql = strlen(qname);
    snprintf(q, sizeof(q), "%.*s", (int)(ql && qname[ql - 1] == '.' ? ql - 1 : ql), qname);
    rc = mxg_chain_nsec3(chain, q, &before, &after, &owner);
    if (rc == MXG_EINVAL) { /* an NSEC chain */
        char canon[MXG_NAME_TEXT_MAX], abs[MXG_NAME_TEXT_MAX * 2];
        if (!q[0])
            snprintf(abs, sizeof(abs), "%s", z.name);
        else
            snprintf(abs, sizeof(abs), "%s.%s", q, strcmp(z.name, ".") == 0 ? "" : z.name);
        if (mxg_name_canon(abs, canon, sizeof(canon)) != MXG_OK)
            return fail(s, r, "getBeforeAndAfterNamesAbsolute: qname '%.255s' does not parse",
                        qname);
        rc = mxg_chain_nsec(chain, canon, &before, &after);
        if (rc == MXG_OK) {
            char b[MXG_NAME_TEXT_MAX], a[MXG_NAME_TEXT_MAX];
            relative(before, z.name, b, sizeof(b));
            relative(after, z.name, a, sizeof(a));
            mxg_reply_set(r, json_pack("{s:s,s:s,s:s}", "before", b, "after", a, "unhashed", b));
            return MXG_OK;
        }
    }
    if (rc == MXG_ENOENT)
        return fail(s, r, "getBeforeAndAfterNamesAbsolute: zone %s has no names", z.name);
    if (rc != MXG_OK)
        return fail(s, r, "getBeforeAndAfterNamesAbsolute: '%.255s' is no hash", qname);
    mxg_reply_set(r,
                  json_pack("{s:s,s:s,s:s}", "before", before, "after", after, "unhashed", owner));
    return MXG_OK;
}

/* The DNSSEC key and TSIG methods (backend_keys.c). */
static int m_keys(struct mxg_session *s, const struct mxg_request *req, struct mxg_reply *r)
{
    bool failed = false;
    int rc = mxg_keys_handle(s->be->store, s->be->cfg, req, r, &failed);
    if (failed)
        s->be->stats.errors++;
    return rc;
}

typedef int (*handler_fn)(struct mxg_session *, const struct mxg_request *, struct mxg_reply *);

static const handler_fn HANDLERS[MXG_M_COUNT] = {
    [MXG_M_INITIALIZE] = m_initialize,
    [MXG_M_LOOKUP] = m_lookup,
    [MXG_M_LIST] = m_list,
    [MXG_M_GET_ALL_DOMAINS] = m_get_all_domains,
    [MXG_M_GET_DOMAIN_INFO] = m_get_domain_info,
    [MXG_M_GET_ALL_DOMAIN_METADATA] = m_get_all_domain_metadata,
    [MXG_M_GET_DOMAIN_METADATA] = m_get_domain_metadata,
    [MXG_M_SET_DOMAIN_METADATA] = m_set_domain_metadata,
    [MXG_M_GET_UPDATED_MASTERS] = m_get_updated_masters,
    [MXG_M_SET_NOTIFIED] = m_set_notified,
    [MXG_M_DIRECT_BACKEND_CMD] = m_direct_backend_cmd,
    [MXG_M_START_TRANSACTION] = m_start_transaction,
    [MXG_M_COMMIT_TRANSACTION] = m_commit_transaction,
    [MXG_M_ABORT_TRANSACTION] = m_abort_transaction,
    [MXG_M_REPLACE_RRSET] = m_replace_rrset,
    [MXG_M_FEED_RECORD] = m_feed_record,
    [MXG_M_FEED_ENTS] = m_feed_ents,
    [MXG_M_FEED_ENTS3] = m_feed_ents,
    [MXG_M_GET_UNFRESH_SLAVE_INFOS] = m_get_unfresh_slave_infos,
    [MXG_M_SET_FRESH] = m_set_fresh,
    [MXG_M_SET_STALE] = m_set_stale,
    [MXG_M_SUPER_MASTER_BACKEND] = m_super_master_backend,
    [MXG_M_CREATE_SLAVE_DOMAIN] = m_create_slave_domain,
    [MXG_M_GET_DOMAIN_KEYS] = m_keys,
    [MXG_M_ADD_DOMAIN_KEY] = m_keys,
    [MXG_M_REMOVE_DOMAIN_KEY] = m_keys,
    [MXG_M_ACTIVATE_DOMAIN_KEY] = m_keys,
    [MXG_M_DEACTIVATE_DOMAIN_KEY] = m_keys,
    [MXG_M_PUBLISH_DOMAIN_KEY] = m_keys,
    [MXG_M_UNPUBLISH_DOMAIN_KEY] = m_keys,
    [MXG_M_GET_TSIG_KEY] = m_keys,
    [MXG_M_GET_TSIG_KEYS] = m_keys,
    [MXG_M_SET_TSIG_KEY] = m_keys,
    [MXG_M_DELETE_TSIG_KEY] = m_keys,
    [MXG_M_GET_BEFORE_AND_AFTER] = m_get_before_and_after,
    [MXG_M_SEARCH_RECORDS] = m_search_records,
};

int mxg_backend_handle(struct mxg_session *s, const char *line, size_t len, char **reply,
                       size_t *replylen)
{
    struct mxg_request req;
    struct mxg_reply r;
    char err[256];
    mxg_reply_init(&r);
    s->be->stats.requests++;
    int rc = mxg_proto_decode(line, len, &req, err, sizeof(err));
    if (rc != MXG_OK) {
        fail(s, &r, "bad request: %s", err);
    } else if (req.method != MXG_M_INITIALIZE && !s->initialized) {
        fail(s, &r, "%s before initialize", req.method_name);
    } else if (req.method == MXG_M_UNKNOWN || !HANDLERS[req.method]) {
        fail(s, &r, "unknown method '%.64s'", req.method_name);
    } else {
        /* A lookup outside a transaction may be answered from the reply cache. */
        struct mxg_reply_cache *c = s->be->cache;
        struct mxg_cache_key key;
        bool keyed = c && req.method == MXG_M_LOOKUP && !s->txn && mxg_reply_cache_key(&req, &key);
        if (keyed) {
            rc = mxg_reply_cache_get(c, mxg_store_generation(s->be->store), &key, reply, replylen);
            if (rc != MXG_ENOENT) {
                mxg_request_free(&req);
                if (rc == MXG_OK) {
                    s->be->stats.lookups++;
                    s->be->stats.cache_hits++;
                }
                return rc;
            }
        }
        uint64_t errors = s->be->stats.errors;
        rc = HANDLERS[req.method](s, &req, &r);
        if (keyed && rc == MXG_OK && s->be->stats.errors == errors) {
            if (!r.result && !r.no_result)
                mxg_reply_set(&r, json_false());
            rc = mxg_reply_encode(&r, reply, replylen);
            if (rc == MXG_OK)
                mxg_reply_cache_put(c, mxg_store_generation(s->be->store), &key, *reply, *replylen);
            mxg_request_free(&req);
            return rc;
        }
        if (rc == MXG_OK && s->deferred) {
            /* A commit on the writer: the reply comes through the session's on_reply. */
            s->deferred = false;
            mxg_request_free(&req);
            mxg_reply_clear(&r);
            *reply = NULL;
            *replylen = 0;
            return MXG_OK;
        }
        if (rc != MXG_OK) {
            mxg_reply_clear(&r);
            fail(s, &r, "%s: %s", req.method_name, mxg_strerror(rc));
        }
        if (!r.result && !r.no_result)
            mxg_reply_set(&r, json_false());
    }
    mxg_request_free(&req);
    return mxg_reply_encode(&r, reply, replylen);
}
