/* backend_keys.c -- pdns's DNSSEC key and TSIG methods over the store (see backend_keys.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "mxg/audit.h"
#include "mxg/backend_keys.h"
#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/guard.h"
#include "mxg/log.h"

/* ---- content checks ------------------------------------------------------------------------ */

static const struct {
    unsigned number;
    const char *name;
} KEY_ALGORITHMS[] = {
    {5, "RSASHA1"},          {7, "RSASHA1-NSEC3-SHA1"}, {8, "RSASHA256"}, {10, "RSASHA512"},
    {13, "ECDSAP256SHA256"}, {14, "ECDSAP384SHA384"},   {15, "ED25519"},  {16, "ED448"},
};

static const char *const TSIG_ALGORITHMS[] = {
    "hmac-md5",    "hmac-md5.sig-alg.reg.int",
    "hmac-sha1",   "hmac-sha224",
    "hmac-sha256", "hmac-sha384",
    "hmac-sha512",
};

const char *mxg_key_algorithm_name(unsigned alg)
{
    for (size_t i = 0; i < sizeof(KEY_ALGORITHMS) / sizeof(KEY_ALGORITHMS[0]); i++)
        if (KEY_ALGORITHMS[i].number == alg)
            return KEY_ALGORITHMS[i].name;
    return NULL;
}

int mxg_key_algorithm(const char *content, unsigned *alg)
{
    static const char key[] = "Algorithm:";
    const char *p = content;
    while (*p) {
        if (strncasecmp(p, key, sizeof(key) - 1) == 0) {
            p += sizeof(key) - 1;
            while (*p == ' ' || *p == '\t')
                p++;
            unsigned v = 0;
            size_t digits = 0;
            for (; *p >= '0' && *p <= '9' && v <= 255; p++, digits++)
                v = v * 10 + (unsigned)(*p - '0');
            if (digits == 0 || v > 255)
                return MXG_EINVAL;
            *alg = v;
            return MXG_OK;
        }
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
    }
    return MXG_EINVAL;
}

int mxg_key_content_check(const char *content, size_t len, unsigned *alg, char *why, size_t whylen)
{
    static const char head[] = "Private-key-format: v1.";
    if (len > MXG_KEY_CONTENT_MAX) {
        snprintf(why, whylen, "key content longer than %d bytes", MXG_KEY_CONTENT_MAX);
        return MXG_EINVAL;
    }
    if (strlen(content) != len) {
        snprintf(why, whylen, "key content contains a NUL byte");
        return MXG_EINVAL;
    }
    for (const unsigned char *c = (const unsigned char *)content; *c; c++)
        if ((*c < 0x20 || *c > 0x7e) && *c != '\n' && *c != '\r' && *c != '\t') {
            snprintf(why, whylen, "key content is not printable ASCII text");
            return MXG_EINVAL;
        }
    if (strncmp(content, head, sizeof(head) - 1) != 0) {
        snprintf(why, whylen, "key content is not an ISC private key (Private-key-format: v1.x)");
        return MXG_EINVAL;
    }
    if (mxg_key_algorithm(content, alg) != MXG_OK) {
        snprintf(why, whylen, "key content has no valid Algorithm line");
        return MXG_EINVAL;
    }
    if (!mxg_key_algorithm_name(*alg)) {
        snprintf(why, whylen, "DNSSEC algorithm %u is not one pdns signs with", *alg);
        return MXG_EINVAL;
    }
    return MXG_OK;
}

int mxg_tsig_algorithm(const char *in, char *out, size_t outlen)
{
    size_t n = strlen(in);
    if (n > 0 && in[n - 1] == '.')
        n--;
    for (size_t i = 0; i < sizeof(TSIG_ALGORITHMS) / sizeof(TSIG_ALGORITHMS[0]); i++) {
        const char *a = TSIG_ALGORITHMS[i];
        if (strlen(a) == n && strncasecmp(in, a, n) == 0 && strlen(a) < outlen) {
            snprintf(out, outlen, "%s", a);
            return MXG_OK;
        }
    }
    return MXG_EINVAL;
}

/* True for ASCII text (what a TSIG row or key content must be for pdns to use it). */
static bool ascii_text(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p > 0x7e)
            return false;
    return true;
}

static bool is_b64(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

bool mxg_tsig_secret_ok(const char *s, size_t len)
{
    if (len == 0 || len > MXG_TSIG_SECRET_MAX || len % 4 != 0 || strlen(s) != len)
        return false;
    size_t pad = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '=')
            pad++;
        else if (!is_b64(c) || pad > 0)
            return false;
    }
    return pad <= 2;
}

/* ---- the calls ----------------------------------------------------------------------------- */

struct call {
    struct mxg_store *st;
    const struct mxg_config *cfg;
    const struct mxg_request *req;
    struct mxg_reply *r;
    bool *failed;
};

/* Answers false with a log line; returns MXG_EINVAL ("answered") for chaining. */
static int fail(struct call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct call *c, const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    mxg_reply_set(c->r, json_false());
    mxg_reply_log(c->r, "mxguard: %s", buf);
    *c->failed = true;
    mxg_debug("request failed: %s", buf);
    return MXG_EINVAL;
}

/* A store failure: MXG_ENOMEM goes up as it is, anything else is answered. */
static int store_failed(struct call *c, int rc)
{
    if (rc == MXG_ENOMEM)
        return rc;
    mxg_err("store: %s: %s", c->req->method_name, mxg_strerror(rc));
    return fail(c, "%s: %s", c->req->method_name, mxg_strerror(rc));
}

/* The canonical form of the name parameter key. */
static int name_param(struct call *c, const char *key, char *canon, size_t len)
{
    const char *v = NULL;
    int rc = mxg_param_string(c->req, key, &v);
    if (rc != MXG_OK)
        return fail(c, "%s: parameter '%s' %s", c->req->method_name, key,
                    rc == MXG_ENOENT ? "is missing" : "must be a string");
    if (mxg_name_canon(v, canon, len) != MXG_OK)
        return fail(c, "%s: invalid name in '%s': %.255s", c->req->method_name, key, v);
    return MXG_OK;
}

/* The zone named by the "name" parameter. */
static int zone_param(struct call *c, struct mxg_zone *z)
{
    char canon[MXG_NAME_TEXT_MAX];
    int rc = name_param(c, "name", canon, sizeof(canon));
    if (rc != MXG_OK)
        return rc;
    rc = MXG_STORE_CALL(c->st, zone_get, canon, z);
    if (rc == MXG_ENOENT)
        return fail(c, "%s: no zone %s", c->req->method_name, canon);
    return rc == MXG_OK ? MXG_OK : store_failed(c, rc);
}

/* A key's "active" or "published": a boolean, or 0/1 as pdns also reads them. */
static int flag_value(json_t *v, bool *out)
{
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return MXG_OK;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *out = json_integer_value(v) == 1;
        return MXG_OK;
    }
    return MXG_EINVAL;
}

/* Appends the audit record of the change made in the open store transaction (keys: its "keys"
 * member, taken; NULL when building it ran out of memory) and commits both; rolls back on any
 * failure. zone_id < 0: no zone (TSIG), the configured mode. */
static int commit_audited(struct call *c, const char *zone, int64_t zone_id, json_t *keys,
                          int64_t *seq)
{
    int rc = keys ? MXG_OK : MXG_ENOMEM;
    char hash[MXG_HASH_HEX] = "";
    char *text = NULL;
    if (rc == MXG_OK) {
        enum mxg_mode mode =
            zone_id >= 0 ? mxg_guard_effective_mode(c->st, c->cfg, zone_id) : c->cfg->mode;
        struct mxg_audit_entry e = {
            .zone = zone, .source = "dnssec", .mode = mxg_mode_name(mode), .keys = keys};
        rc = mxg_audit_append(c->st, &e, seq, hash, c->cfg->audit_syslog ? &text : NULL);
    }
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL0(c->st, commit);
    else
        mxg_store_abandon(c->st);
    if (rc == MXG_OK) {
        mxg_info("audit head %lld:%s", (long long)*seq, hash);
        if (text)
            syslog(LOG_INFO | LOG_DAEMON, "audit %s", text);
    }
    free(text);
    if (keys)
        json_decref(keys);
    return rc;
}

/* ---- DNSSEC keys --------------------------------------------------------------------------- */

static int add_key_json(void *ctx, const struct mxg_key *k)
{
    /* Content pdns could not read either (not ASCII text) is left out rather than sent. */
    if (!ascii_text(k->content))
        return 0;
    json_t *o =
        json_pack("{s:I,s:I,s:b,s:b,s:s}", "id", (json_int_t)k->id, "flags", (json_int_t)k->flags,
                  "active", k->active, "published", k->published, "content", k->content);
    if (!o || json_array_append_new(ctx, o) != 0)
        return MXG_ENOMEM;
    return 0;
}

static int m_get_keys(struct call *c)
{
    struct mxg_zone z;
    int rc = zone_param(c, &z);
    if (rc != MXG_OK)
        return rc == MXG_ENOMEM ? rc : MXG_OK;
    json_t *arr = json_array();
    if (!arr)
        return MXG_ENOMEM;
    rc = MXG_STORE_CALL(c->st, key_list, z.id, add_key_json, arr);
    if (rc != MXG_OK) {
        json_decref(arr);
        return store_failed(c, rc) == MXG_ENOMEM ? MXG_ENOMEM : MXG_OK;
    }
    mxg_reply_set(c->r, arr);
    return MXG_OK;
}

/* What the audit record says of a key (never its content). */
struct key_state {
    int64_t id;
    unsigned flags;
    bool active, published;
    unsigned alg; /* 0: its content names none */
};

static int key_state_cb(void *ctx, const struct mxg_key *k)
{
    struct key_state *ks = ctx;
    ks->id = k->id;
    ks->flags = k->flags;
    ks->active = k->active;
    ks->published = k->published;
    if (mxg_key_algorithm(k->content, &ks->alg) != MXG_OK)
        ks->alg = 0;
    return 0;
}

static json_t *key_audit(const char *action, const struct key_state *ks)
{
    const char *name = mxg_key_algorithm_name(ks->alg);
    return json_pack("{s:s,s:{s:I,s:I,s:s,s:I,s:s?,s:b,s:b}}", "action", action, "key", "id",
                     (json_int_t)ks->id, "flags", (json_int_t)ks->flags, "role",
                     ks->flags == 257 ? "KSK" : "ZSK", "algorithm", (json_int_t)ks->alg,
                     "algorithm_name", name, "active", ks->active, "published", ks->published);
}

/* The audit form of one key (never its content), for mxg_keys_audit_zone_delete. */
static int key_removed_cb(void *ctx, const struct mxg_key *k)
{
    struct key_state ks;
    if (key_state_cb(&ks, k) != 0)
        return MXG_ENOMEM;
    json_t *one = key_audit("remove", &ks);
    json_t *key = one ? json_incref(json_object_get(one, "key")) : NULL;
    json_decref(one);
    if (!key || json_array_append_new(ctx, key) != 0)
        return MXG_ENOMEM;
    return 0;
}

int mxg_keys_audit_zone_delete(struct mxg_store *st, const struct mxg_config *cfg,
                               const struct mxg_zone *z, int64_t *seq)
{
    *seq = 0;
    json_t *list = json_array();
    if (!list)
        return MXG_ENOMEM;
    int rc = MXG_STORE_CALL(st, key_list, z->id, key_removed_cb, list);
    if (rc == MXG_OK && json_array_size(list) > 0) {
        json_t *keys = json_pack("{s:s,s:O}", "action", "zone-delete", "keys", list);
        char *text = NULL;
        if (!keys) {
            rc = MXG_ENOMEM;
        } else {
            char hash[MXG_HASH_HEX] = "";
            enum mxg_mode mode = mxg_guard_effective_mode(st, cfg, z->id);
            struct mxg_audit_entry e = {
                .zone = z->name, .source = "dnssec", .mode = mxg_mode_name(mode), .keys = keys};
            rc = mxg_audit_append(st, &e, seq, hash, cfg->audit_syslog ? &text : NULL);
            json_decref(keys);
        }
        /* As the guard's records: streamed before the commit; the store stays the record of
         * truth (a commit that then fails leaves a line here and no record there). */
        if (rc == MXG_OK && text)
            syslog(LOG_INFO | LOG_DAEMON, "audit %s", text);
        free(text);
    }
    json_decref(list);
    return rc;
}

/* The log line of a key change; action as in the audit record ("add", "activate", ...). */
static void key_logged(const struct mxg_zone *z, const char *action, const struct key_state *ks,
                       int64_t seq)
{
    size_t n = strlen(action);
    mxg_info("zone %s: DNSSEC key %" PRId64 " (%s, algorithm %u) %s%s; audit seq %" PRId64, z->name,
             ks->id, ks->flags == 257 ? "KSK" : "ZSK", ks->alg, action,
             n > 0 && action[n - 1] == 'e' ? "d" : "ed", seq);
}

/* The members of addDomainKey's "key" object, checked. */
static int parse_new_key(struct call *c, struct mxg_key *k, unsigned *alg)
{
    json_t *key = json_object_get(c->req->params, "key");
    if (!json_is_object(key))
        return fail(c, "addDomainKey: parameter 'key' must be an object");
    json_t *jf = json_object_get(key, "flags"), *ja = json_object_get(key, "active"),
           *jp = json_object_get(key, "published"), *jc = json_object_get(key, "content");
    if (!json_is_integer(jf) || (json_integer_value(jf) != 256 && json_integer_value(jf) != 257))
        return fail(c, "addDomainKey: key flags must be 256 (ZSK) or 257 (KSK)");
    k->flags = (unsigned)json_integer_value(jf);
    if (flag_value(ja, &k->active) != MXG_OK)
        return fail(c, "addDomainKey: key 'active' must be a boolean");
    k->published = true;
    if (jp && flag_value(jp, &k->published) != MXG_OK)
        return fail(c, "addDomainKey: key 'published' must be a boolean");
    if (!json_is_string(jc))
        return fail(c, "addDomainKey: key 'content' must be a string");
    char why[160];
    if (mxg_key_content_check(json_string_value(jc), json_string_length(jc), alg, why,
                              sizeof(why)) != MXG_OK)
        return fail(c, "addDomainKey: %s", why);
    k->content = json_string_value(jc);
    return MXG_OK;
}

static int m_add_key(struct call *c)
{
    struct mxg_zone z;
    struct mxg_key k = {0};
    unsigned alg = 0;
    int rc = zone_param(c, &z);
    if (rc == MXG_OK)
        rc = parse_new_key(c, &k, &alg);
    if (rc != MXG_OK)
        return rc == MXG_ENOMEM ? rc : MXG_OK;
    int64_t id = -1, seq = 0;
    rc = MXG_STORE_CALL0(c->st, begin);
    if (rc != MXG_OK)
        return store_failed(c, rc) == MXG_ENOMEM ? MXG_ENOMEM : MXG_OK;
    rc = MXG_STORE_CALL(c->st, key_add, z.id, &k, &id);
    struct key_state ks = {
        .id = id, .flags = k.flags, .active = k.active, .published = k.published, .alg = alg};
    if (rc != MXG_OK)
        mxg_store_abandon(c->st);
    else
        rc = commit_audited(c, z.name, z.id, key_audit("add", &ks), &seq);
    if (rc != MXG_OK)
        return store_failed(c, rc) == MXG_ENOMEM ? MXG_ENOMEM : MXG_OK;
    key_logged(&z, "add", &ks, seq);
    json_t *res = json_integer((json_int_t)id);
    if (!res)
        return MXG_ENOMEM;
    mxg_reply_set(c->r, res);
    return MXG_OK;
}

/* removeDomainKey and the four flag changes: action names the change in the audit record;
 * active and published are the new flags (-1: unchanged). */
static int key_change(struct call *c, const struct mxg_zone *z, int64_t id, const char *action,
                      int active, int published)
{
    struct key_state ks = {0};
    int64_t seq = 0;
    int rc = MXG_STORE_CALL0(c->st, begin);
    if (rc != MXG_OK)
        return rc;
    rc = MXG_STORE_CALL(c->st, key_get, z->id, id, key_state_cb, &ks);
    bool remove = strcmp(action, "remove") == 0;
    bool same = (active < 0 || (active != 0) == ks.active) &&
                (published < 0 || (published != 0) == ks.published);
    if (rc == MXG_OK && !remove && same) /* nothing to change: no audit record either */
        return MXG_STORE_CALL0(c->st, rollback);
    if (rc == MXG_OK)
        rc = remove ? MXG_STORE_CALL(c->st, key_remove, z->id, id)
                    : MXG_STORE_CALL(c->st, key_set_flags, z->id, id, active, published);
    if (rc != MXG_OK) {
        mxg_store_abandon(c->st);
        return rc;
    }
    ks.active = active < 0 ? ks.active : active != 0;
    ks.published = published < 0 ? ks.published : published != 0;
    rc = commit_audited(c, z->name, z->id, key_audit(action, &ks), &seq);
    if (rc == MXG_OK)
        key_logged(z, action, &ks, seq);
    return rc;
}

static int m_key_state(struct call *c, const char *action, int active, int published)
{
    struct mxg_zone z;
    int64_t id = -1;
    int rc = zone_param(c, &z);
    if (rc != MXG_OK)
        return rc == MXG_ENOMEM ? rc : MXG_OK;
    rc = mxg_param_int(c->req, "id", &id);
    if (rc != MXG_OK || id < 0) {
        fail(c, "%s: parameter 'id' %s", c->req->method_name,
             rc == MXG_ENOENT ? "is missing" : "must be a non-negative integer");
        return MXG_OK;
    }
    rc = key_change(c, &z, id, action, active, published);
    if (rc == MXG_ENOENT) {
        fail(c, "%s: zone %s has no key with id %" PRId64, c->req->method_name, z.name, id);
        return MXG_OK;
    }
    if (rc != MXG_OK)
        return store_failed(c, rc) == MXG_ENOMEM ? MXG_ENOMEM : MXG_OK;
    mxg_reply_set(c->r, json_true());
    return MXG_OK;
}

/* ---- TSIG keys ----------------------------------------------------------------------------- */

/* The "name" parameter as a TSIG key name: canonical, not the root. */
static int tsig_name(struct call *c, char *canon, size_t len)
{
    int rc = name_param(c, "name", canon, len);
    if (rc == MXG_OK && strcmp(canon, ".") == 0)
        return fail(c, "%s: a TSIG key cannot be named '.'", c->req->method_name);
    return rc;
}

static int tsig_get_cb(void *ctx, const struct mxg_tsig *k)
{
    json_t **out = ctx;
    if (!*k->algorithm || !*k->secret || !ascii_text(k->algorithm) || !ascii_text(k->secret))
        return 0; /* pdns needs both, as text */
    *out = json_pack("{s:s,s:s}", "algorithm", k->algorithm, "content", k->secret);
    return *out ? 0 : MXG_ENOMEM;
}

static int m_get_tsig(struct call *c)
{
    char name[MXG_NAME_TEXT_MAX];
    if (tsig_name(c, name, sizeof(name)) != MXG_OK)
        return MXG_OK;
    json_t *res = NULL;
    int rc = MXG_STORE_CALL(c->st, tsig_get, name, tsig_get_cb, &res);
    if (rc == MXG_ENOMEM)
        return rc;
    if (rc != MXG_OK && rc != MXG_ENOENT)
        return store_failed(c, rc) == MXG_ENOMEM ? MXG_ENOMEM : MXG_OK;
    /* An unknown key is no error: pdns asks for the key a signed message names. */
    mxg_reply_set(c->r, res ? res : json_false());
    return MXG_OK;
}

static int tsig_list_cb(void *ctx, const struct mxg_tsig *k)
{
    /* A row pdns could not use either (edited by hand: no text) is left out. */
    if (!*k->algorithm || !*k->secret || !ascii_text(k->algorithm) || !ascii_text(k->secret))
        return 0;
    json_t *o = json_pack("{s:s,s:s,s:s}", "name", k->name, "algorithm", k->algorithm, "content",
                          k->secret);
    if (!o || json_array_append_new(ctx, o) != 0)
        return MXG_ENOMEM;
    return 0;
}

static int m_get_tsigs(struct call *c)
{
    json_t *arr = json_array();
    if (!arr)
        return MXG_ENOMEM;
    int rc = MXG_STORE_CALL(c->st, tsig_list, tsig_list_cb, arr);
    if (rc != MXG_OK) {
        json_decref(arr);
        return store_failed(c, rc) == MXG_ENOMEM ? MXG_ENOMEM : MXG_OK;
    }
    mxg_reply_set(c->r, arr);
    return MXG_OK;
}

/* The stored key of a name, as far as a change needs it. */
struct tsig_old {
    bool found;
    char algorithm[64];
    const char *secret; /* the new secret, compared while the row is at hand */
    bool same_secret;
};

static int tsig_old_cb(void *ctx, const struct mxg_tsig *k)
{
    struct tsig_old *o = ctx;
    o->found = true;
    snprintf(o->algorithm, sizeof(o->algorithm), "%s", k->algorithm);
    o->same_secret = o->secret && strcmp(o->secret, k->secret) == 0;
    return 0;
}

static int tsig_set_params(struct call *c, char *alg, size_t alglen, const char **secret)
{
    const char *a = NULL;
    if (mxg_param_string(c->req, "algorithm", &a) != MXG_OK)
        return fail(c, "setTSIGKey: parameter 'algorithm' must be a string");
    if (mxg_tsig_algorithm(a, alg, alglen) != MXG_OK)
        return fail(c,
                    "setTSIGKey: unknown algorithm '%.64s' (hmac-md5, hmac-sha1, hmac-sha224, "
                    "hmac-sha256, hmac-sha384, hmac-sha512)",
                    a);
    if (mxg_param_string(c->req, "content", secret) != MXG_OK)
        return fail(c, "setTSIGKey: parameter 'content' must be a string");
    if (!mxg_tsig_secret_ok(*secret, strlen(*secret)))
        return fail(c, "setTSIGKey: the secret must be base64 of at most %d characters",
                    MXG_TSIG_SECRET_MAX);
    return MXG_OK;
}

/* Replaces (or adds) a TSIG key and audits it; *changed is false when it was already so. */
static int tsig_store(struct call *c, const struct mxg_tsig *k, bool *changed)
{
    struct tsig_old old = {.secret = k->secret};
    int64_t seq = 0;
    int rc = MXG_STORE_CALL0(c->st, begin);
    if (rc != MXG_OK)
        return rc;
    rc = MXG_STORE_CALL(c->st, tsig_get, k->name, tsig_old_cb, &old);
    if (rc == MXG_ENOENT)
        rc = MXG_OK;
    *changed = !(old.found && old.same_secret && strcmp(old.algorithm, k->algorithm) == 0);
    if (rc == MXG_OK && *changed)
        rc = MXG_STORE_CALL(c->st, tsig_set, k);
    if (rc != MXG_OK) {
        mxg_store_abandon(c->st);
        return rc;
    }
    if (!*changed) /* the key is already so: no audit record */
        return MXG_STORE_CALL0(c->st, rollback);
    json_t *keys = json_pack("{s:s,s:{s:s,s:s}}", "action", old.found ? "tsig-replace" : "tsig-add",
                             "tsig", "name", k->name, "algorithm", k->algorithm);
    if (keys && old.found &&
        (json_object_set_new(keys, "before", json_pack("{s:s}", "algorithm", old.algorithm)) != 0 ||
         json_object_set_new(keys, "secret_changed", json_boolean(!old.same_secret)) != 0)) {
        json_decref(keys);
        keys = NULL;
    }
    rc = commit_audited(c, ".", -1, keys, &seq);
    if (rc == MXG_OK)
        mxg_info("TSIG key %s (%s) %s; audit seq %" PRId64, k->name, k->algorithm,
                 old.found ? "replaced" : "added", seq);
    return rc;
}

static int m_set_tsig(struct call *c)
{
    char name[MXG_NAME_TEXT_MAX], alg[64];
    const char *secret = NULL;
    if (tsig_name(c, name, sizeof(name)) != MXG_OK ||
        tsig_set_params(c, alg, sizeof(alg), &secret) != MXG_OK)
        return MXG_OK;
    struct mxg_tsig k = {.name = name, .algorithm = alg, .secret = secret};
    bool changed = false;
    int rc = tsig_store(c, &k, &changed);
    if (rc != MXG_OK)
        return store_failed(c, rc) == MXG_ENOMEM ? MXG_ENOMEM : MXG_OK;
    mxg_reply_set(c->r, json_true());
    return MXG_OK;
}

static int m_delete_tsig(struct call *c)
{
    char name[MXG_NAME_TEXT_MAX];
    if (tsig_name(c, name, sizeof(name)) != MXG_OK)
        return MXG_OK;
    struct tsig_old old = {0};
    int64_t seq = 0;
    int rc = MXG_STORE_CALL0(c->st, begin);
    if (rc == MXG_OK) {
        rc = MXG_STORE_CALL(c->st, tsig_get, name, tsig_old_cb, &old);
        if (rc == MXG_OK)
            rc = MXG_STORE_CALL(c->st, tsig_delete, name);
        if (rc == MXG_OK)
            rc = commit_audited(c, ".", -1,
                                json_pack("{s:s,s:{s:s,s:s}}", "action", "tsig-delete", "tsig",
                                          "name", name, "algorithm", old.algorithm),
                                &seq);
        else
            mxg_store_abandon(c->st);
    }
    if (rc == MXG_ENOENT) {
        fail(c, "deleteTSIGKey: no TSIG key %s", name);
        return MXG_OK;
    }
    if (rc != MXG_OK)
        return store_failed(c, rc) == MXG_ENOMEM ? MXG_ENOMEM : MXG_OK;
    mxg_info("TSIG key %s (%s) deleted; audit seq %" PRId64, name, old.algorithm, seq);
    mxg_reply_set(c->r, json_true());
    return MXG_OK;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

bool mxg_keys_method(enum mxg_method m)
{
    switch (m) {
    case MXG_M_GET_DOMAIN_KEYS:
    case MXG_M_ADD_DOMAIN_KEY:
    case MXG_M_REMOVE_DOMAIN_KEY:
    case MXG_M_ACTIVATE_DOMAIN_KEY:
    case MXG_M_DEACTIVATE_DOMAIN_KEY:
    case MXG_M_PUBLISH_DOMAIN_KEY:
    case MXG_M_UNPUBLISH_DOMAIN_KEY:
    case MXG_M_GET_TSIG_KEY:
    case MXG_M_GET_TSIG_KEYS:
    case MXG_M_SET_TSIG_KEY:
    case MXG_M_DELETE_TSIG_KEY:
        return true;
    default:
        return false;
    }
}

int mxg_keys_handle(struct mxg_store *st, const struct mxg_config *cfg,
                    const struct mxg_request *req, struct mxg_reply *r, bool *failed)
{
    struct call c = {.st = st, .cfg = cfg, .req = req, .r = r, .failed = failed};
    *failed = false;
    switch (req->method) {
    case MXG_M_GET_DOMAIN_KEYS:
        return m_get_keys(&c);
    case MXG_M_ADD_DOMAIN_KEY:
        return m_add_key(&c);
    case MXG_M_REMOVE_DOMAIN_KEY:
        return m_key_state(&c, "remove", -1, -1);
    case MXG_M_ACTIVATE_DOMAIN_KEY:
        return m_key_state(&c, "activate", 1, -1);
    case MXG_M_DEACTIVATE_DOMAIN_KEY:
        return m_key_state(&c, "deactivate", 0, -1);
    case MXG_M_PUBLISH_DOMAIN_KEY:
        return m_key_state(&c, "publish", -1, 1);
    case MXG_M_UNPUBLISH_DOMAIN_KEY:
        return m_key_state(&c, "unpublish", -1, 0);
    case MXG_M_GET_TSIG_KEY:
        return m_get_tsig(&c);
    case MXG_M_GET_TSIG_KEYS:
        return m_get_tsigs(&c);
    case MXG_M_SET_TSIG_KEY:
        return m_set_tsig(&c);
    case MXG_M_DELETE_TSIG_KEY:
        return m_delete_tsig(&c);
    default:
        fail(&c, "%s is not a key method", req->method_name);
        return MXG_OK;
    }
}
