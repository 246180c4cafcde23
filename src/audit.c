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
#include "mxg/json.h"
#include "mxg/strbuf.h"

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

/* The length of the well-formed UTF-8 character at p (what json_string() accepts: no overlong
 * forms, surrogates or code points above U+10FFFF), or 0 when none starts there. */
static size_t utf8_char(const unsigned char *p)
{
    unsigned c = *p;
    unsigned need = c < 0x80                 ? 0
                    : c >= 0xc2 && c <= 0xdf ? 1
                    : (c & 0xf0) == 0xe0     ? 2
                    : c >= 0xf0 && c <= 0xf4 ? 3
                                             : 4;
    if (need == 4)
        return 0;
    unsigned cp = need == 0 ? c : c & (0x3fu >> need);
    for (unsigned i = 1; i <= need; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return need + 1;
}

static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    for (;;) {
        while (*p && *p < 0x80) /* ASCII, most of every record: one compare a byte */
            p++;
        if (!*p)
            return true;
        size_t n = utf8_char(p);
        if (n == 0)
            return false;
        p += n;
    }
}

/* A copy of s (not UTF-8) with each byte that does not begin a well-formed character made '?'.
 * NULL when out of memory. */
static char *utf8_fixed(const char *s)
{
    char *copy = strdup(s);
    if (!copy)
        return NULL;
    unsigned char *p = (unsigned char *)copy;
    while (*p) {
        size_t n = utf8_char(p);
        if (n == 0) {
            *p = '?';
            n = 1;
        }
        p += n;
    }
    return copy;
}

json_t *mxg_audit_text(const char *s)
{
    if (!s)
        s = "";
    if (utf8_valid(s))
        return json_string(s);
    char *copy = utf8_fixed(s);
    json_t *j = copy ? json_string(copy) : NULL;
    free(copy);
    return j;
}

static json_t *strings(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, mxg_audit_text(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
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
        json_t *o =
            json_pack("{s:o,s:o,s:o,s:o}", "name", mxg_audit_text(c[i].name), "type",
                      mxg_audit_text(c[i].type), "before", rrdata(c[i].before, c[i].n_before),
                      "after", rrdata(c[i].after, c[i].n_after));
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
            "{s:s,s:s,s:o,s:s,s:o,s:o,s:o}", "rule", f[i].rule, "severity",
            mxg_severity_name(f[i].severity), "name", mxg_audit_text(f[i].name), "family",
            f[i].family ? f[i].family : "", "old", strings(f[i].old_values, f[i].n_old), "new",
            strings(f[i].new_values, f[i].n_new), "reason", mxg_audit_text(f[i].reason));
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* The record's members but seq, time, prev and hash; lists false leaves "changes" and "fix"
 * out (mxg_audit_append writes them itself). */
static json_t *body_json(const struct mxg_audit_entry *e, bool lists)
{
    const struct mxg_decision *d = e->decision;
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o}", "zone", e->zone, "source",
                          e->source ? e->source : "unknown", "mode", e->mode ? e->mode : "",
                          "verdict", mxg_verdict_name(d ? d->verdict : MXG_VERDICT_ALLOW),
                          "findings", d ? findings_json(d->findings, d->n_findings) : json_array());
    if (!o)
        return NULL;
    if (lists &&
        (json_object_set_new(o, "changes", changes_json(e->changes, e->n_changes)) != 0 ||
         json_object_set_new(o, "fix", d ? changes_json(d->fix, d->n_fix) : json_array()) != 0))
        goto fail;
    if ((e->metadata && json_object_set(o, "metadata", e->metadata) != 0) ||
        (e->settings && json_object_set(o, "settings", e->settings) != 0) ||
        (e->keys && json_object_set(o, "keys", e->keys) != 0))
        goto fail;
    if (e->repairs > 0 && json_object_set_new(o, "repairs", json_integer(e->repairs)) != 0)
        goto fail;
    /* A refusal's other remedy (keep the apex, proxy only www): the 422 and the operator page
     * built from the record name it. */
    if (d && d->remedy && json_object_set_new(o, "remedy", mxg_audit_text(d->remedy)) != 0)
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

json_t *mxg_audit_body(const struct mxg_audit_entry *e)
{
    return body_json(e, true);
}

/* ---- canonical text written directly ---------------------------------------------------- */

/* The change lists of an import are the bulk of its record (100,000 RRsets: megabytes): they
 * are written here as jansson's canonical dump writes them (keys sorted, compact, strings
 * escaped as dump_string() does without JSON_ENSURE_ASCII or JSON_ESCAPE_SLASH), not built as
 * objects, sorted and dumped. `audit verify` re-dumps every record with jansson and compares. */
/* A JSON string of s, which must be valid UTF-8 (json_string() refuses anything else). */
static void tb_str(struct mxg_strbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    mxg_strbuf_put(b, "\"", 1);
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *esc = NULL;
        char u[7];
        if (*p >= 0x20 && *p != '"' && *p != '\\')
            continue;
        switch (*p) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            memcpy(u, "\\u00", 4);
            u[4] = hex[*p >> 4];
            u[5] = hex[*p & 15];
            u[6] = '\0';
            esc = u;
            break;
        }
        mxg_strbuf_put(b, run, (size_t)((const char *)p - run));
        mxg_strbuf_puts(b, esc);
        run = (const char *)p + 1;
    }
    mxg_strbuf_puts(b, run);
    mxg_strbuf_put(b, "\"", 1);
}

/* As mxg_audit_text(): bytes that are not UTF-8 (another writer's owner name) written as '?'. */
static void tb_text(struct mxg_strbuf *b, const char *s)
{
    if (utf8_valid(s)) {
        tb_str(b, s);
        return;
    }
    char *copy = utf8_fixed(s);
    if (!copy) {
        b->failed = true;
        return;
    }
    tb_str(b, copy);
    free(copy);
}

/* ',"ttl":N}' with N in decimal, as jansson writes an integer (a change list holds one for each
 * record: snprintf was a tenth of the list's cost). */
static void tb_ttl(struct mxg_strbuf *b, uint32_t ttl)
{
    char num[16];
    size_t i = sizeof(num);
    num[--i] = '}';
    do {
        num[--i] = (char)('0' + ttl % 10);
        ttl /= 10;
    } while (ttl);
    mxg_strbuf_put(b, ",\"ttl\":", 7);
    mxg_strbuf_put(b, num + i, sizeof(num) - i);
}

static void tb_rrdata(struct mxg_strbuf *b, const struct mxg_rrdata *d, size_t n)
{
    mxg_strbuf_put(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        mxg_strbuf_puts(b, i ? ",{\"content\":" : "{\"content\":");
        /* as rrdata(): content that is not UTF-8 cannot be a JSON string */
        tb_str(b, utf8_valid(d[i].content) ? d[i].content : "(not UTF-8)");
        tb_ttl(b, d[i].ttl);
    }
    mxg_strbuf_put(b, "]", 1);
}

/* Room for the text of n changes, reserved at once (a large import's list is megabytes: growing
 * it by doubling would copy it over and over). */
static void tb_reserve_changes(struct mxg_strbuf *b, const struct mxg_rrset_change *c, size_t n)
{
    size_t need = b->len + 2;
    for (size_t i = 0; i < n; i++) {
        need += strlen(c[i].name) + strlen(c[i].type) + 48;
        for (size_t j = 0; j < c[i].n_after; j++)
            need += strlen(c[i].after[j].content) + 32;
        for (size_t j = 0; j < c[i].n_before; j++)
            need += strlen(c[i].before[j].content) + 32;
    }
    mxg_strbuf_reserve(b, need - b->len);
}

static void tb_changes(struct mxg_strbuf *b, const struct mxg_rrset_change *c, size_t n)
{
    tb_reserve_changes(b, c, n);
    mxg_strbuf_put(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        mxg_strbuf_puts(b, i ? ",{\"after\":" : "{\"after\":");
        tb_rrdata(b, c[i].after, c[i].n_after);
        mxg_strbuf_puts(b, ",\"before\":");
        tb_rrdata(b, c[i].before, c[i].n_before);
        mxg_strbuf_puts(b, ",\"name\":");
        tb_text(b, c[i].name);
        mxg_strbuf_puts(b, ",\"type\":");
        tb_text(b, c[i].type);
        mxg_strbuf_put(b, "}", 1);
    }
    mxg_strbuf_put(b, "]", 1);
}

static void tb_json(struct mxg_strbuf *b, const json_t *v)
{
    size_t n = 0;
    char *t = mxg_json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY, &n);
    if (!t) {
        b->failed = true;
        return;
    }
    mxg_strbuf_put(b, t, n);
    free(t);
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct mxg_audit_start {
    struct mxg_strbuf head; /* '{"changes":' and the list */
    EVP_MD_CTX *md;         /* SHA-256 over head */
    size_t n;               /* changes in the list */
};

/* Writes '{"changes":' and the list into s->head and starts s->md over it; false when out of
 * memory (what s holds is freed by the caller). */
static bool start_fill(struct mxg_audit_start *s, const struct mxg_rrset_change *changes, size_t n)
{
    s->n = n;
    mxg_strbuf_puts(&s->head, "{\"changes\":");
    tb_changes(&s->head, changes, n);
    s->md = s->head.failed ? NULL : EVP_MD_CTX_new();
    return s->md && EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) &&
           EVP_DigestUpdate(s->md, s->head.p, s->head.len);
}

struct mxg_audit_start *mxg_audit_start(const struct mxg_rrset_change *changes, size_t n)
{
    struct mxg_audit_start *s = calloc(1, sizeof(*s));
    if (s && !start_fill(s, changes, n)) {
        mxg_audit_start_free(s);
        return NULL;
    }
    return s;
}

void mxg_audit_start_free(struct mxg_audit_start *s)
{
    if (!s)
        return;
    EVP_MD_CTX_free(s->md);
    free(s->head.p);
    free(s);
}

/* The canonical text of the record whose other members are in rec (seq, time and prev
 * included), with hash computed here and written into hash. Members in key order: "changes"
 * (from e->start when it was made ahead for these changes), "findings", "fix", then "hash",
 * then the rest, each after the one before it. */
static char *canonical_record(const struct mxg_audit_entry *e, json_t *rec, char hash[MXG_HASH_HEX])
{
    const char *keys[32] = {0};
    size_t nk = 0;
    const char *k;
    json_t *v;
    json_object_foreach(rec, k, v)
    {
        /* every member but "findings" must sort after "hash" */
        if (nk == sizeof(keys) / sizeof(keys[0]) ||
            (strcmp(k, "findings") != 0 && strcmp(k, "hash") <= 0))
            return NULL;
        keys[nk++] = k;
    }
    qsort(keys, nk, sizeof(keys[0]), key_cmp);
    const struct mxg_decision *d = e->decision;
    struct mxg_strbuf head = {0}, tail = {0};
    EVP_MD_CTX *md_ctx = NULL;
    bool ok;
    if (e->start && e->start->n == e->n_changes) {
        mxg_strbuf_reserve(&head, e->start->head.len + 4096);
        mxg_strbuf_put(&head, e->start->head.p, e->start->head.len);
        ok = (md_ctx = EVP_MD_CTX_new()) && EVP_MD_CTX_copy_ex(md_ctx, e->start->md);
    } else {
        struct mxg_audit_start own = {0};
        ok = start_fill(&own, e->changes, e->n_changes);
        head = own.head;
        md_ctx = own.md;
    }
    size_t hashed = head.len; /* what md_ctx has taken in */
    mxg_strbuf_puts(&head, ",\"findings\":");
    tb_json(&head, json_object_get(rec, "findings"));
    mxg_strbuf_puts(&head, ",\"fix\":");
    tb_changes(&head, d ? d->fix : NULL, d ? d->n_fix : 0);
    for (size_t i = 0; i < nk; i++) {
        if (strcmp(keys[i], "findings") == 0)
            continue;
        mxg_strbuf_puts(&tail, ",\"");
        mxg_strbuf_puts(&tail, keys[i]);
        mxg_strbuf_puts(&tail, "\":");
        tb_json(&tail, json_object_get(rec, keys[i]));
    }
    mxg_strbuf_put(&tail, "}", 1);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    ok = ok && !head.failed && !tail.failed &&
         EVP_DigestUpdate(md_ctx, head.p + hashed, head.len - hashed) &&
         EVP_DigestUpdate(md_ctx, tail.p, tail.len) && EVP_DigestFinal_ex(md_ctx, md, &mdlen) &&
         mdlen == 32;
    EVP_MD_CTX_free(md_ctx);
    if (ok) {
        for (unsigned int i = 0; i < mdlen; i++)
            snprintf(hash + 2 * (size_t)i, 3, "%02x", md[i]);
        mxg_strbuf_puts(&head, ",\"hash\":\"");
        mxg_strbuf_puts(&head, hash);
        mxg_strbuf_put(&head, "\"", 1);
        mxg_strbuf_put(&head, tail.p, tail.len);
    }
    free(tail.p);
    if (!ok || head.failed) {
        free(head.p);
        return NULL;
    }
    return head.p;
}

/* ---- the head ------------------------------------------------------------------------ */

static bool is_hash(const char *s)
{
    return s && strlen(s) == MXG_HASH_HEX - 1 && strspn(s, "0123456789abcdef") == MXG_HASH_HEX - 1;
}

struct head_ctx {
    int64_t seq;
    char hash[MXG_HASH_HEX];
};

/* The record's own "hash" member, read from its canonical text without parsing it: keys are
 * sorted, and before "hash" only "changes", "findings" and "fix" come, whose objects have fixed
 * keys, so the first `"hash":"` is the top-level member (a quote inside a string is escaped).
 * Writes the 64 hex digits into out and returns true when that is what it finds. */
static bool record_hash_member(const char *record, char out[MXG_HASH_HEX])
{
    static const char key[] = "\"hash\":\"";
    const char *p = strstr(record, key);
    if (!p)
        return false;
    p += sizeof(key) - 1;
    if (strspn(p, "0123456789abcdef") != MXG_HASH_HEX - 1 || p[MXG_HASH_HEX - 1] != '"')
        return false;
    memcpy(out, p, MXG_HASH_HEX - 1);
    out[MXG_HASH_HEX - 1] = '\0';
    return true;
}

static int head_row(void *ctx, const struct mxg_audit_row *row)
{
    struct head_ctx *h = ctx;
    h->seq = row->seq;
    /* The common case, in time independent of the record's size (an import's record can be
     * megabytes): the record's hash member and the hash column agree. Both copies would have
     * to be edited alike to mislead the next append, and verify recomputes every record. */
    char quick[MXG_HASH_HEX];
    if (record_hash_member(row->record, quick) && is_hash(row->hash) &&
        strcmp(quick, row->hash) == 0) {
        memcpy(h->hash, quick, MXG_HASH_HEX);
        return 1;
    }
    json_t *o = NULL;
    json_error_t jerr;
    int rc = mxg_json_loadb(row->record, strlen(row->record), 0, &o, &jerr);
    if (rc == MXG_ENOMEM)
        return MXG_ENOMEM;
    const char *member = json_string_value(json_object_get(o, "hash"));
    char computed[MXG_HASH_HEX] = "";
    if (json_is_object(o) && is_hash(member) && (rc = mxg_audit_hash(o, computed)) != MXG_OK) {
        json_decref(o);
        return rc;
    }
    /* The record's own hash when it recomputes; for an altered record the hash column, the
     * other copy of the hash it was written with (see audit.h). */
    const char *use = is_hash(member) && strcmp(member, computed) == 0 ? member
                      : is_hash(row->hash)                             ? row->hash
                      : is_hash(member)                                ? member
                                                                       : ZERO_HASH;
    memcpy(h->hash, use, MXG_HASH_HEX);
    json_decref(o);
    return 1; /* the newest row is all it takes */
}

int mxg_audit_head(struct mxg_store *st, int64_t *seq, char hash[MXG_HASH_HEX])
{
    struct head_ctx h = {.seq = 0};
    memcpy(h.hash, ZERO_HASH, sizeof(ZERO_HASH));
    struct mxg_audit_filter f = {.newest_first = true, .limit = 1};
    int rc = MXG_STORE_CALL(st, audit_list, &f, head_row, &h);
    if (rc != MXG_OK && rc != 1)
        return rc;
    *seq = h.seq;
    memcpy(hash, h.hash, MXG_HASH_HEX);
    return MXG_OK;
}

/* The name this process writes into each record's "node" member ("" for none). Set once at
 * start, before any thread appends. */
static char audit_node[MXG_NODE_NAME_MAX + 1];

void mxg_audit_set_node(const char *name)
{
    snprintf(audit_node, sizeof(audit_node), "%s", name ? name : "");
}

int mxg_audit_append(struct mxg_store *st, const struct mxg_audit_entry *e, int64_t *seq,
                     char hash[MXG_HASH_HEX], char **record)
{
    if (record)
        *record = NULL;
    int64_t head = 0;
    char prev[MXG_HASH_HEX], when[32];
    int rc = mxg_audit_head(st, &head, prev);
    if (rc != MXG_OK)
        return rc;
    if (head == INT64_MAX) /* an edited seq column: no key is left to store a record under */
        return MXG_ERANGE;
    json_t *rec = body_json(e, false);
    if (!rec)
        return MXG_ENOMEM;
    mxg_audit_now(when);
    char *text = NULL;
    if (json_object_set_new(rec, "seq", json_integer(head + 1)) != 0 ||
        json_object_set_new(rec, "time", json_string(when)) != 0 ||
        json_object_set_new(rec, "prev", json_string(prev)) != 0 ||
        (audit_node[0] && json_object_set_new(rec, "node", json_string(audit_node)) != 0) ||
        !(text = canonical_record(e, rec, hash))) {
        json_decref(rec);
        return MXG_ENOMEM;
    }
    /* The columns are copies of the record's members, so that verify finds them equal. */
    const char *zone = json_string_value(json_object_get(rec, "zone"));
    const char *verdict = json_string_value(json_object_get(rec, "verdict"));
    rc = text ? MXG_STORE_CALL(st, audit_insert, head + 1, when, zone, verdict, text, hash)
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

/* ---- listing ------------------------------------------------------------------------- */

struct list_ctx {
    const struct mxg_audit_filter *f;
    mxg_audit_cb cb;
    void *ctx;
    int64_t matched;
    bool full; /* the limit is reached */
};

static bool member_is(json_t *o, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v && strcmp(v, want) == 0;
}

static int list_row(void *ctx, const struct mxg_audit_row *row)
{
    struct list_ctx *l = ctx;
    const struct mxg_audit_filter *f = l->f;
    json_t *o = NULL;
    json_error_t jerr;
    int rc = mxg_json_loadb(row->record, strlen(row->record), 0, &o, &jerr);
    if (rc == MXG_ENOMEM)
        return MXG_ENOMEM;
    if (o && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    json_t *jseq = json_object_get(o, "seq");
    int64_t seq = json_is_integer(jseq) ? (int64_t)json_integer_value(jseq) : row->seq;
    const char *time = json_string_value(json_object_get(o, "time"));
    bool match = seq > f->after_seq && (!f->zone || member_is(o, "zone", f->zone)) &&
                 (!f->verdict || member_is(o, "verdict", f->verdict)) &&
                 (!f->since || (time && strcmp(time, f->since) >= 0)) &&
                 (!f->until || (time && strcmp(time, f->until) < 0));
    int r = match ? l->cb(l->ctx, seq, row->record, o) : 0;
    json_decref(o);
    if (r != 0 || !match)
        return r;
    if (f->limit > 0 && ++l->matched >= f->limit) {
        l->full = true;
        return 1;
    }
    return 0;
}

int mxg_audit_list(struct mxg_store *st, const struct mxg_audit_filter *f, mxg_audit_cb cb,
                   void *ctx)
{
    /* The store reads every row in seq-column order; every filter is applied here, to the
     * record itself (an SQL filter on the columns would trust them). */
    struct mxg_audit_filter all = {.newest_first = f->newest_first};
    struct list_ctx l = {.f = f, .cb = cb, .ctx = ctx};
    int rc = MXG_STORE_CALL(st, audit_list, &all, list_row, &l);
    return l.full && rc == 1 ? MXG_OK : rc;
}

/* ---- verification -------------------------------------------------------------------- */

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

/* Which stored column of row disagrees with the record o (whose hash is hash), or NULL. */
static const char *bad_column(const struct mxg_audit_row *row, json_t *o, const char *hash)
{
    if (strcmp(row->hash, hash) != 0)
        return "hash";
    if (!member_is(o, "time", row->time))
        return "time";
    if (!member_is(o, "zone", row->zone))
        return "zone";
    if (!member_is(o, "verdict", row->verdict))
        return "verdict";
    return NULL;
}

/* The checks of one record that need its parsed text; MXG_ENOMEM gives no verdict on it. */
static int verify_record(struct verify_ctx *v, const struct mxg_audit_row *row, json_t *o,
                         const char *num)
{
    int64_t seq = row->seq;
    char *canon = mxg_audit_canonical(o);
    if (!canon)
        return MXG_ENOMEM;
    bool canonical = strcmp(canon, row->record) == 0;
    free(canon);
    if (!canonical)
        return bad(v, seq, "record %s is not in canonical form: its text was edited", num);
    json_t *jseq = json_object_get(o, "seq");
    const char *prev = json_string_value(json_object_get(o, "prev"));
    const char *hash = json_string_value(json_object_get(o, "hash"));
    if (!json_is_integer(jseq) || json_integer_value(jseq) != seq)
        return bad(v, seq, "record %s carries another seq: moved or reordered", num);
    if (!prev || strcmp(prev, v->prev) != 0)
        return bad(v, seq, "record %s does not chain to the previous record (prev differs)", num);
    char computed[MXG_HASH_HEX] = "";
    int rc = hash ? mxg_audit_hash(o, computed) : MXG_OK;
    if (rc != MXG_OK)
        return rc; /* out of memory: no verdict on the record */
    if (!hash || strcmp(hash, computed) != 0)
        return bad(v, seq, "record %s was altered (its hash does not match its content)", num);
    const char *col = bad_column(row, o, hash);
    if (col)
        return bad(v, seq, "record %s: the stored %s column differs from the record's %s", num, col,
                   col);
    snprintf(v->prev, sizeof(v->prev), "%s", hash);
    v->res->records++;
    v->res->head_seq = seq;
    snprintf(v->res->head_hash, sizeof(v->res->head_hash), "%s", hash);
    if (v->want_hash && seq == v->want_seq) {
        v->head_seen = true;
        if (strcmp(hash, v->want_hash) != 0)
            return bad(v, seq, "record %s differs from the expected head", num);
    }
    v->expect++;
    return MXG_OK;
}

static int verify_one(void *ctx, const struct mxg_audit_row *row)
{
    struct verify_ctx *v = ctx;
    char num[32];
    snprintf(num, sizeof(num), "%" PRId64, v->expect);
    json_t *o = NULL;
    json_error_t jerr;
    int prc = mxg_json_loadb(row->record, strlen(row->record), 0, &o, &jerr);
    if (prc == MXG_ENOMEM)
        return MXG_ENOMEM; /* not the record's fault: no verdict on it */
    json_t *jseq = json_object_get(o, "seq");
    int rc;
    if (row->seq != v->expect && json_is_integer(jseq) && json_integer_value(jseq) == v->expect)
        rc = bad(v, v->expect,
                 "record %s is stored under seq %" PRId64 ": its seq column was edited", num,
                 row->seq);
    else if (row->seq != v->expect)
        rc =
            bad(v, v->expect, "record %s is missing (the next stored record has another seq)", num);
    else if (prc != MXG_OK || !json_is_object(o))
        rc = bad(v, row->seq, "record %s is not a valid JSON object", num);
    else if (strlen(row->record) != row->record_len)
        rc = bad(v, row->seq, "record %s holds a NUL byte: its text was edited", num);
    else
        rc = verify_record(v, row, o, num);
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
