/* audit.c -- audit records: building, canonical serialisation, SHA-256 chain, verification. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "mxg/audit.h"
#include "mxg/err.h"
#include "mxg/proto.h"

static const char ZERO_HASH[] = "0000000000000000000000000000000000000000000000000000000000000000";

void mxg_audit_now(char buf[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

char *mxg_audit_canonical(json_t *obj)
{
    return mxg_json_dumps(obj, JSON_SORT_KEYS | JSON_COMPACT, NULL);
}

int mxg_audit_hash(json_t *obj, char hash[MXG_HASH_HEX])
{
    /* jansson's shallow copy skips a member it fails to insert: check that none is missing. */
    json_t *copy = json_copy(obj);
    if (!copy || json_object_size(copy) != json_object_size(obj)) {
        json_decref(copy);
        return MXG_ENOMEM;
    }
    json_object_del(copy, "hash");
    char *text = mxg_audit_canonical(copy);
    json_decref(copy);
    if (!text)
        return MXG_ENOMEM;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int ok = EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
    free(text);
    if (!ok || mdlen != 32)
        return MXG_ENOMEM;
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(hash + 2 * (size_t)i, 3, "%02x", md[i]);
    return MXG_OK;
}

static json_t *strings(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i] ? v[i] : "")) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* Whether s is well-formed UTF-8 (what json_string() accepts): no overlong forms, surrogates or
 * code points above U+10FFFF. */
static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p++;
        unsigned need = c < 0x80                 ? 0
                        : c >= 0xc2 && c <= 0xdf ? 1
                        : (c & 0xf0) == 0xe0     ? 2
                        : c >= 0xf0 && c <= 0xf4 ? 3
                                                 : 4;
        if (need == 4)
            return false;
        unsigned cp = need == 0 ? c : c & (0x3fu >> need);
        for (unsigned i = 0; i < need; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (*p & 0x3fu);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
    }
    return true;
}

static json_t *rrdata(const struct mxg_rrdata *d, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        /* Content that is not UTF-8 (raw TXT bytes) cannot be a JSON string: pdns writes
         * such bytes as \DDD, so this only guards against a corrupt store. */
        json_t *c = json_string(d[i].content);
        if (!c && !utf8_valid(d[i].content)) /* else: out of memory, and json_pack fails */
            c = json_string("(not UTF-8)");
        json_t *o = json_pack("{s:o,s:I}", "content", c, "ttl", (json_int_t)d[i].ttl);
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *changes_json(const struct mxg_rrset_change *c, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *o = json_pack("{s:s,s:s,s:o,s:o}", "name", c[i].name, "type", c[i].type, "before",
                              rrdata(c[i].before, c[i].n_before), "after",
                              rrdata(c[i].after, c[i].n_after));
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *findings_json(const struct mxg_finding *f, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:s,s:o,s:o,s:s}", "rule", f[i].rule, "severity",
            mxg_severity_name(f[i].severity), "name", f[i].name ? f[i].name : "", "family",
            f[i].family ? f[i].family : "", "old", strings(f[i].old_values, f[i].n_old), "new",
            strings(f[i].new_values, f[i].n_new), "reason", f[i].reason ? f[i].reason : "");
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *mxg_audit_body(const struct mxg_audit_entry *e)
{
    const struct mxg_decision *d = e->decision;
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o}", "zone", e->zone, "source",
                          e->source ? e->source : "unknown", "mode", e->mode ? e->mode : "",
                          "verdict", mxg_verdict_name(d ? d->verdict : MXG_VERDICT_ALLOW),
                          "findings", d ? findings_json(d->findings, d->n_findings) : json_array(),
                          "changes", changes_json(e->changes, e->n_changes), "fix",
                          d ? changes_json(d->fix, d->n_fix) : json_array());
    if (o && e->metadata && json_object_set(o, "metadata", e->metadata) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int mxg_audit_append(struct mxg_store *st, const struct mxg_audit_entry *e, int64_t *seq,
                     char hash[MXG_HASH_HEX], char **record)
{
    if (record)
        *record = NULL;
    int64_t head = 0;
    char prev[MXG_HASH_HEX], when[32];
    int rc = MXG_STORE_CALL(st, audit_head, &head, prev);
    if (rc != MXG_OK)
        return rc;
    json_t *rec = mxg_audit_body(e);
    if (!rec)
        return MXG_ENOMEM;
    mxg_audit_now(when);
    if (json_object_set_new(rec, "seq", json_integer(head + 1)) != 0 ||
        json_object_set_new(rec, "time", json_string(when)) != 0 ||
        json_object_set_new(rec, "prev", json_string(prev)) != 0 ||
        mxg_audit_hash(rec, hash) != MXG_OK ||
        json_object_set_new(rec, "hash", json_string(hash)) != 0) {
        json_decref(rec);
        return MXG_ENOMEM;
    }
    char *text = mxg_audit_canonical(rec);
    const char *verdict = json_string_value(json_object_get(rec, "verdict"));
    rc = text ? MXG_STORE_CALL(st, audit_insert, head + 1, when, e->zone, verdict, text, hash)
              : MXG_ENOMEM;
    json_decref(rec);
    if (rc == MXG_OK) {
        *seq = head + 1;
        if (record) {
            *record = text;
            text = NULL;
        }
    }
    free(text);
    return rc;
}

struct verify_ctx {
    struct mxg_audit_verify *res;
    int64_t expect;
    char prev[MXG_HASH_HEX];
    int64_t want_seq; /* --expect-head */
    const char *want_hash;
    bool head_seen;
};

static int bad(struct verify_ctx *v, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(struct verify_ctx *v, int64_t seq, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    v->res->first_bad = seq;
    vsnprintf(v->res->reason, sizeof(v->res->reason), fmt, ap);
    va_end(ap);
    return MXG_EINVAL;
}

static int verify_one(void *ctx, int64_t seq, const char *record)
{
    struct verify_ctx *v = ctx;
    char num[32];
    snprintf(num, sizeof(num), "%" PRId64, v->expect);
    if (seq != v->expect)
        return bad(v, v->expect, "record %s is missing (the next stored record has another seq)",
                   num);
    json_t *o = NULL;
    json_error_t jerr;
    int prc = mxg_json_loadb(record, strlen(record), 0, &o, &jerr);
    if (prc == MXG_ENOMEM)
        return MXG_ENOMEM; /* not the record's fault: no verdict on it */
    if (prc != MXG_OK)
        return bad(v, seq, "record %s is not valid JSON", num);
    json_t *jseq = json_object_get(o, "seq");
    const char *prev = json_string_value(json_object_get(o, "prev"));
    const char *hash = json_string_value(json_object_get(o, "hash"));
    char computed[MXG_HASH_HEX] = "";
    int rc = MXG_OK;
    if (!json_is_integer(jseq) || json_integer_value(jseq) != seq)
        rc = bad(v, seq, "record %s carries another seq: moved or reordered", num);
    else if (!prev || strcmp(prev, v->prev) != 0)
        rc = bad(v, seq, "record %s does not chain to the previous record (prev differs)", num);
    else if (hash && (rc = mxg_audit_hash(o, computed)) != MXG_OK) {
        /* out of memory: no verdict on the record */
    } else if (!hash || strcmp(hash, computed) != 0)
        rc = bad(v, seq, "record %s was altered (its hash does not match its content)", num);
    if (rc == MXG_OK && hash) { /* hash is non-NULL whenever rc is MXG_OK */
        snprintf(v->prev, sizeof(v->prev), "%s", hash);
        v->res->records++;
        v->res->head_seq = seq;
        snprintf(v->res->head_hash, sizeof(v->res->head_hash), "%s", hash);
        if (v->want_hash && seq == v->want_seq) {
            v->head_seen = true;
            if (strcmp(hash, v->want_hash) != 0)
                rc = bad(v, seq, "record %s differs from the expected head", num);
        }
        v->expect++;
    }
    json_decref(o);
    return rc;
}

int mxg_audit_verify(struct mxg_store *st, const char *expect_head, struct mxg_audit_verify *res)
{
    memset(res, 0, sizeof(*res));
    struct verify_ctx v = {.res = res, .expect = 1};
    memcpy(v.prev, ZERO_HASH, sizeof(ZERO_HASH));
    memcpy(res->head_hash, ZERO_HASH, sizeof(ZERO_HASH));
    char want_hash[MXG_HASH_HEX] = "";
    if (expect_head) {
        char *end = NULL;
        errno = 0;
        long long s = strtoll(expect_head, &end, 10);
        size_t hexlen = *end == ':' ? strspn(end + 1, "0123456789abcdef") : 0;
        if (errno != 0 || end == expect_head || s < 1 || hexlen != MXG_HASH_HEX - 1 ||
            end[1 + hexlen] != '\0') {
            snprintf(res->reason, sizeof(res->reason), "expected head must be SEQ:HASH");
            return MXG_EPARSE;
        }
        memcpy(want_hash, end + 1, hexlen + 1);
        v.want_seq = s;
        v.want_hash = want_hash;
    }
    struct mxg_audit_filter f = {0};
    int rc = MXG_STORE_CALL(st, audit_list, &f, verify_one, &v);
    if (rc != MXG_OK)
        return rc;
    if (v.want_hash && !v.head_seen) {
        res->first_bad = v.want_seq;
        snprintf(res->reason, sizeof(res->reason),
                 "the log ends at seq %" PRId64 ": records up to the expected head %" PRId64
                 " were cut off",
                 res->head_seq, v.want_seq);
        return MXG_EINVAL;
    }
    return MXG_OK;
}
