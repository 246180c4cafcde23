/* copy.c -- a whole store copied into another, engine to engine, through the store interface
 * (mxguard store copy): zones with their kind, primaries and NOTIFY state, records, metadata,
 * DNSSEC keys, TSIG keys, autoprimaries and the audit chain as stored (seq, hash and text kept,
 * so the copy verifies and chains on). One transaction on the destination; then both stores are
 * read back and their digests compared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mxg/err.h"
#include "mxg/store.h"

/* ---- the digest of what a store holds -------------------------------------------------- */

struct digest {
    EVP_MD_CTX *md;
    struct mxg_store *st;
    struct mxg_store_copy_stats *count; /* NULL: do not count */
    bool failed;
};

static void feed(struct digest *d, const char *tag, const char *a, const char *b, const char *c,
                 long long n)
{
    char num[32];
    snprintf(num, sizeof(num), "%lld", n);
    const char *parts[] = {tag, a ? a : "", b ? b : "", c ? c : "", num};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (EVP_DigestUpdate(d->md, parts[i], strlen(parts[i]) + 1) != 1)
            d->failed = true;
}

static int rec_digest(void *ctx, const struct mxg_record *r)
{
    struct digest *d = ctx;
    if (strcmp(r->type, "ENT") == 0)
        return 0; /* pdns's rectify rows: not copied, nothing reads them as records */
    feed(d, r->auth ? "rec" : "rec-noauth", r->name, r->type, r->content, r->ttl);
    if (d->count)
        d->count->records++;
    return 0;
}

/* Metadata lines of one zone, sorted before they are fed: rows of different kinds may come
 * in another order from the copy (the values of one kind keep theirs). */
struct lines {
    char **v;
    size_t n, cap;
};

static int lines_add(struct lines *l, const char *kind, const char *value)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return MXG_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    size_t len = strlen(kind) + strlen(value) + 2;
    char *line = malloc(len);
    if (!line)
        return MXG_ENOMEM;
    snprintf(line, len, "%s\n%s", kind, value);
    l->v[l->n++] = line;
    return MXG_OK;
}

static void lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* Orders by kind only, keeping the values of a kind in their order (a stable sort). */
static void lines_sort(struct lines *l)
{
    for (size_t i = 1; i < l->n; i++) {
        char *x = l->v[i];
        size_t kx = strcspn(x, "\n"), j = i;
        for (; j > 0; j--) {
            const char *y = l->v[j - 1];
            size_t ky = strcspn(y, "\n");
            int c = memcmp(y, x, ky < kx ? ky : kx);
            if (c < 0 || (c == 0 && ky <= kx))
                break;
            l->v[j] = l->v[j - 1];
        }
        l->v[j] = x;
    }
}

static int meta_digest(void *ctx, const char *kind, const char *value)
{
    return lines_add(ctx, kind, value);
}

static int key_digest(void *ctx, const struct mxg_key *k)
{
    struct digest *d = ctx;
    feed(d, "key", k->active ? "active" : "inactive", k->published ? "published" : "unpublished",
         k->content, k->flags);
    if (d->count)
        d->count->keys++;
    return 0;
}

static int zone_digest(void *ctx, const struct mxg_zone *z)
{
    struct digest *d = ctx;
    feed(d, "zone", z->name, mxg_zone_kind_name(z->kind), z->masters, z->notified_serial);
    if (d->count)
        d->count->zones++;
    int rc = MXG_STORE_CALL(d->st, list, z->id, rec_digest, d);
    struct lines meta = {0};
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL(d->st, meta_list, z->id, NULL, meta_digest, &meta);
    if (rc == MXG_OK) {
        lines_sort(&meta);
        for (size_t i = 0; i < meta.n; i++)
            feed(d, "meta", meta.v[i], NULL, NULL, 0);
        if (d->count)
            d->count->metadata += (long long)meta.n;
    }
    lines_free(&meta);
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL(d->st, key_list, z->id, key_digest, d);
    return rc;
}

static int tsig_digest(void *ctx, const struct mxg_tsig *k)
{
    struct digest *d = ctx;
    feed(d, "tsig", k->name, k->algorithm, k->secret, 0);
    if (d->count)
        d->count->tsig_keys++;
    return 0;
}

static int ap_digest(void *ctx, const char *ip, const char *ns, const char *account)
{
    struct digest *d = ctx;
    feed(d, "autoprimary", ip, ns, account, 0);
    if (d->count)
        d->count->autoprimaries++;
    return 0;
}

static int audit_digest(void *ctx, const struct mxg_audit_row *row)
{
    struct digest *d = ctx;
    feed(d, "audit", row->time, row->record, row->hash, row->seq);
    if (d->count)
        d->count->audit_records++;
    return 0;
}

/* SHA-256 over everything the interface reads of st, in the engines' common order. */
static int store_digest(struct mxg_store *st, unsigned char out[EVP_MAX_MD_SIZE],
                        struct mxg_store_copy_stats *count)
{
    struct digest d = {.md = EVP_MD_CTX_new(), .st = st, .count = count};
    if (!d.md || EVP_DigestInit_ex(d.md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(d.md);
        return MXG_ENOMEM;
    }
    struct mxg_audit_filter all = {0};
    int rc = MXG_STORE_CALL(st, zone_list, zone_digest, &d);
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL(st, tsig_list, tsig_digest, &d);
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL(st, autoprimary_list, ap_digest, &d);
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL(st, audit_list, &all, audit_digest, &d);
    unsigned int len = 0;
    if (rc == MXG_OK && (d.failed || EVP_DigestFinal_ex(d.md, out, &len) != 1))
        rc = MXG_ENOMEM;
    EVP_MD_CTX_free(d.md);
    return rc;
}

/* ---- the copy ---------------------------------------------------------------------------- */

struct copy {
    struct mxg_store *from, *to;
    int64_t to_zone;
    char *err;
    size_t errlen;
};

static int copy_record(void *ctx, const struct mxg_record *r)
{
    struct copy *c = ctx;
    if (strcmp(r->type, "ENT") == 0)
        return 0;
    int rc = MXG_STORE_CALL(c->to, record_add, c->to_zone, r);
    if (rc != MXG_OK)
        snprintf(c->err, c->errlen, "record %s %s: %s", r->name, r->type, mxg_strerror(rc));
    return rc;
}

static int gather_meta(void *ctx, const char *kind, const char *value)
{
    return lines_add(ctx, kind, value);
}

/* The zone's metadata, kind by kind (each kind's values in their order). */
static int copy_meta(struct copy *c, int64_t from_zone)
{
    struct lines all = {0};
    int rc = MXG_STORE_CALL(c->from, meta_list, from_zone, NULL, gather_meta, &all);
    if (rc == MXG_OK)
        lines_sort(&all);
    const char **values = rc == MXG_OK ? calloc(all.n + 1, sizeof(*values)) : NULL;
    if (rc == MXG_OK && !values)
        rc = MXG_ENOMEM;
    for (size_t i = 0; rc == MXG_OK && i < all.n;) {
        size_t kl = strcspn(all.v[i], "\n"), n = 0, j = i;
        for (; j < all.n && strcspn(all.v[j], "\n") == kl && memcmp(all.v[j], all.v[i], kl) == 0;
             j++)
            values[n++] = all.v[j] + kl + 1;
        char kind[64];
        snprintf(kind, sizeof(kind), "%.*s", (int)kl, all.v[i]);
        rc = MXG_STORE_CALL(c->to, meta_set, c->to_zone, kind, values, n);
        i = j;
    }
    free(values);
    lines_free(&all);
    return rc;
}

static int copy_key(void *ctx, const struct mxg_key *k)
{
    struct copy *c = ctx;
    int64_t id = 0;
    return MXG_STORE_CALL(c->to, key_add, c->to_zone, k, &id);
}

static int copy_zone(void *ctx, const struct mxg_zone *z)
{
    struct copy *c = ctx;
    int rc = MXG_STORE_CALL(c->to, zone_add, z->name, z->kind, z->masters, &c->to_zone);
    if (rc == MXG_OK && z->notified_serial)
        rc = MXG_STORE_CALL(c->to, zone_set_notified, c->to_zone, z->notified_serial);
    if (rc == MXG_OK && z->last_check)
        rc = MXG_STORE_CALL(c->to, zone_set_last_check, c->to_zone, z->last_check);
    if (rc != MXG_OK) {
        snprintf(c->err, c->errlen, "zone %s: %s", z->name, mxg_strerror(rc));
        return rc;
    }
    if ((rc = MXG_STORE_CALL(c->from, list, z->id, copy_record, c)) != MXG_OK)
        return rc;
    rc = copy_meta(c, z->id);
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL(c->from, key_list, z->id, copy_key, c);
    if (rc != MXG_OK && c->err[0] == '\0')
        snprintf(c->err, c->errlen, "zone %s: %s", z->name, mxg_strerror(rc));
    return rc;
}

static int copy_tsig(void *ctx, const struct mxg_tsig *k)
{
    struct copy *c = ctx;
    return MXG_STORE_CALL(c->to, tsig_set, k);
}

static int copy_ap(void *ctx, const char *ip, const char *ns, const char *account)
{
    struct copy *c = ctx;
    return MXG_STORE_CALL(c->to, autoprimary_add, ip, ns, account);
}

static int copy_audit(void *ctx, const struct mxg_audit_row *row)
{
    struct copy *c = ctx;
    return MXG_STORE_CALL(c->to, audit_insert, row->seq, row->time, row->zone, row->verdict,
                          row->record, row->hash);
}

static int any_zone(void *ctx, const struct mxg_zone *z)
{
    (void)z;
    *(bool *)ctx = true;
    return 1;
}

static int any_row(void *ctx, const struct mxg_audit_row *row)
{
    (void)row;
    *(bool *)ctx = true;
    return 1;
}

int mxg_store_copy(struct mxg_store *from, struct mxg_store *to, struct mxg_store_copy_stats *stats,
                   char *err, size_t errlen)
{
    memset(stats, 0, sizeof(*stats));
    err[0] = '\0';
    bool used = false;
    struct mxg_audit_filter one = {.limit = 1};
    int rc = MXG_STORE_CALL(to, zone_list, any_zone, &used);
    if (rc == MXG_OK || rc == 1)
        rc = MXG_STORE_CALL(to, audit_list, &one, any_row, &used);
    if (rc != MXG_OK && rc != 1) {
        snprintf(err, errlen, "reading the destination: %s", mxg_strerror(rc));
        return rc;
    }
    if (used) {
        snprintf(err, errlen, "the destination already holds zones or audit records");
        return MXG_EEXIST;
    }
    struct copy c = {.from = from, .to = to, .err = err, .errlen = errlen};
    if ((rc = MXG_STORE_CALL0(to, begin)) != MXG_OK) {
        snprintf(err, errlen, "destination transaction: %s", mxg_strerror(rc));
        return rc;
    }
    struct mxg_audit_filter all = {0};
    rc = MXG_STORE_CALL(from, zone_list, copy_zone, &c);
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL(from, tsig_list, copy_tsig, &c);
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL(from, autoprimary_list, copy_ap, &c);
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL(from, audit_list, &all, copy_audit, &c);
    if (rc != MXG_OK) {
        mxg_store_abandon(to);
        if (err[0] == '\0')
            snprintf(err, errlen, "copying: %s", mxg_strerror(rc));
        return rc;
    }
    if ((rc = MXG_STORE_CALL0(to, commit)) != MXG_OK) {
        snprintf(err, errlen, "committing the copy: %s", mxg_strerror(rc));
        return rc;
    }
    /* Read both back: the copy holds exactly what the source does. */
    unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
    struct mxg_store_copy_stats check;
    memset(&check, 0, sizeof(check));
    if ((rc = store_digest(from, a, stats)) != MXG_OK ||
        (rc = store_digest(to, b, &check)) != MXG_OK) {
        snprintf(err, errlen, "verifying the copy: %s", mxg_strerror(rc));
        return rc;
    }
    if (memcmp(a, b, 32) != 0 || memcmp(&check, stats, sizeof(check)) != 0) {
        snprintf(err, errlen, "verifying the copy: the destination differs from the source");
        return MXG_ESTORE;
    }
    return MXG_OK;
}
