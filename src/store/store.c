/* store.c -- engine selection and helpers shared by every store engine. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/log.h"
#include "mxg/store.h"

int mxg_store_open(const char *uri, struct mxg_store **out, char *err, size_t errlen)
{
    if (strncmp(uri, "sqlite:", 7) == 0 && uri[7] != '\0')
        return mxg_store_sqlite_open(uri + 7, out, err, errlen);
    if (strncmp(uri, "postgresql://", 13) == 0 || strncmp(uri, "postgres://", 11) == 0) {
        return mxg_store_pg_open(uri, out, err, errlen);
    }
    snprintf(err, errlen, "unknown store '%s' (expected sqlite:PATH or postgresql://...)", uri);
    return MXG_EINVAL;
}

void mxg_store_redact(const char *uri, char *out, size_t outlen)
{
    size_t n = 0;
    const char *auth = strstr(uri, "://");
    const char *at = auth ? strchr(auth + 3, '@') : NULL;
    const char *colon = auth ? strchr(auth + 3, ':') : NULL;
    const char *slash = auth ? strchr(auth + 3, '/') : NULL;
    for (const char *p = uri; *p && n + 1 < outlen;) {
        /* user:password@ -> user:***@ */
        if (at && colon && colon < at && (!slash || at < slash) && p == colon + 1) {
            n += (size_t)snprintf(out + n, outlen - n, "***");
            p = at;
            continue;
        }
        /* password=VALUE in the query -> password=*** */
        if ((p > uri && (p[-1] == '?' || p[-1] == '&')) && strncmp(p, "password=", 9) == 0) {
            n += (size_t)snprintf(out + n, outlen - n, "password=***");
            p += 9;
            while (*p && *p != '&')
                p++;
            continue;
        }
        out[n++] = *p++;
    }
    if (n >= outlen)
        n = outlen - 1;
    out[n] = '\0';
}

const char *mxg_zone_kind_name(enum mxg_zone_kind kind)
{
    switch (kind) {
    case MXG_KIND_MASTER:
        return "master";
    case MXG_KIND_SLAVE:
        return "slave";
    default:
        return "native";
    }
}

int mxg_zone_kind_parse(const char *s, enum mxg_zone_kind *out)
{
    if (strcasecmp(s, "native") == 0)
        *out = MXG_KIND_NATIVE;
    else if (strcasecmp(s, "master") == 0 || strcasecmp(s, "primary") == 0)
        *out = MXG_KIND_MASTER;
    else if (strcasecmp(s, "slave") == 0 || strcasecmp(s, "secondary") == 0)
        *out = MXG_KIND_SLAVE;
    else
        return MXG_EINVAL;
    return MXG_OK;
}

int mxg_store_find_zone(struct mxg_store *st, const char *name, struct mxg_zone *out)
{
    char cur[MXG_NAME_TEXT_MAX], parent[MXG_NAME_TEXT_MAX];
    snprintf(cur, sizeof(cur), "%s", name);
    for (int depth = 0; depth <= 128; depth++) {
        int rc = st->ops->zone_get(st, cur, out);
        if (rc != MXG_ENOENT)
            return rc;
        if (mxg_name_parent(cur, parent, sizeof(parent)) != MXG_OK)
            return MXG_ENOENT;
        memcpy(cur, parent, sizeof(cur));
    }
    return MXG_ENOENT;
}

void mxg_store_abandon(struct mxg_store *st)
{
    int rc = st->ops->rollback(st);
    if (rc != MXG_OK)
        mxg_warn("store rollback (%s) failed: %s", st->ops->name, mxg_strerror(rc));
}

int mxg_store_reopen(struct mxg_store *st, struct mxg_store **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!st->ops->reopen)
        return MXG_EUNSUPP;
    return st->ops->reopen(st, out, err, errlen);
}

int mxg_store_records_add(struct mxg_store *st, int64_t zone_id, const struct mxg_record *recs,
                          size_t n)
{
    if (st->ops->records_add)
        return st->ops->records_add(st, zone_id, recs, n);
    for (size_t i = 0; i < n; i++) {
        int rc = st->ops->record_add(st, zone_id, &recs[i]);
        if (rc != MXG_OK)
            return rc;
    }
    return MXG_OK;
}

void mxg_store_batch_reads(struct mxg_store *st, bool on)
{
    if (st->ops->batch_reads)
        st->ops->batch_reads(st, on);
}

void mxg_store_end_reads(struct mxg_store *st)
{
    if (st->ops->end_reads)
        st->ops->end_reads(st);
}

uint64_t mxg_store_generation(struct mxg_store *st)
{
    static _Thread_local uint64_t fallback;
    if (st->ops->generation)
        return st->ops->generation(st);
    return ++fallback | ((uint64_t)1 << 63);
}
