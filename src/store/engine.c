/* engine.c -- helpers shared by the store engines (engine.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "mxg/err.h"

void mxg_engine_db_to_canon(const char *db, char *out, size_t outlen)
{
    size_t n = strlen(db);
    if (n + 2 > outlen)
        n = outlen - 2;
    for (size_t i = 0; i < n; i++) {
        char c = db[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        out[i] = c;
    }
    if (n == 0 || out[n - 1] != '.')
        out[n++] = '.';
    out[n] = '\0';
}

int64_t mxg_engine_soa_serial(const char *content, bool *ok)
{
    const char *p = content;
    for (int field = 0; field < 2; field++) {
        while (*p == ' ' || *p == '\t')
            p++;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    char *end = NULL;
    unsigned long long v = strtoull(p, &end, 10);
    *ok = end != p && v <= UINT32_MAX;
    return *ok ? (int64_t)v : 0;
}

void mxg_engine_zone(struct mxg_zone *z, int64_t id, const char *name_db, const char *type,
                     const char *master, int64_t last_check, int64_t notified, const char *soa)
{
    memset(z, 0, sizeof(*z));
    z->id = id;
    mxg_engine_db_to_canon(name_db, z->name, sizeof(z->name));
    if (mxg_zone_kind_parse(type, &z->kind) != MXG_OK)
        z->kind = MXG_KIND_NATIVE;
    snprintf(z->masters, sizeof(z->masters), "%s", master);
    z->last_check = last_check;
    z->notified_serial = notified;
    if (soa) {
        bool ok = false;
        z->serial = mxg_engine_soa_serial(soa, &ok);
        z->has_soa = true;
    }
}

bool mxg_engine_has_prio(const char *type)
{
    return strcmp(type, "MX") == 0 || strcmp(type, "SRV") == 0;
}

int mxg_engine_split_prio(const char *type, const char *content, long long *prio, const char **rest)
{
    *prio = -1;
    *rest = content;
    if (!mxg_engine_has_prio(type))
        return MXG_OK;
    char *end = NULL;
    long long v = strtoll(content, &end, 10);
    if (end == content || v < 0 || v > 65535)
        return MXG_EINVAL;
    while (*end == ' ' || *end == '\t')
        end++;
    *prio = v;
    *rest = end;
    return MXG_OK;
}

int mxg_engine_emit(const char *name, const char *type, const char *content, int64_t ttl,
                    bool has_prio, int64_t prio, bool auth, int64_t zone_id, mxg_record_cb cb,
                    void *ctx)
{
    char buf[MXG_CONTENT_MAX + 32];
    if (!type)
        type = "ENT";
    if (has_prio && mxg_engine_has_prio(type)) {
        snprintf(buf, sizeof(buf), "%lld %s", (long long)prio, content);
        content = buf;
    }
    struct mxg_record rec = {
        .name = name,
        .type = type,
        .content = content,
        .ttl = ttl < 0 ? 0 : (ttl > UINT32_MAX ? UINT32_MAX : (uint32_t)ttl),
        .domain_id = zone_id,
        .auth = auth,
    };
    return cb(ctx, &rec);
}

struct side_ctx {
    struct mxg_change_side *side;
    char *content;
};

static int side_content(void *ctx, const struct mxg_record *rec)
{
    struct side_ctx *c = ctx;
    c->content = strdup(rec->content);
    c->side->content = c->content;
    return c->content ? MXG_OK : MXG_ENOMEM;
}

static bool truthy(const char *v)
{
    return v && (strcmp(v, "1") == 0 || strcmp(v, "t") == 0 || strcmp(v, "true") == 0);
}

/* Fills side from cols for table tbl; *owned receives a string to free afterwards. */
static int change_side(const char *tbl, const struct mxg_engine_change_cols *cols,
                       struct mxg_change_side *side, char *name, size_t namelen, char **owned)
{
    *owned = NULL;
    side->present = true;
    long long ttl = cols->ttl ? strtoll(cols->ttl, NULL, 10) : 0;
    side->ttl = ttl < 0 ? 0 : (ttl > UINT32_MAX ? UINT32_MAX : (uint32_t)ttl);
    side->disabled = truthy(cols->disabled);
    if (strcmp(tbl, "records") == 0) {
        mxg_engine_db_to_canon(cols->name ? cols->name : "", name, namelen);
        side->name = name;
        side->type = cols->type && *cols->type ? cols->type : NULL;
        if (!side->type)
            return MXG_OK;
        struct side_ctx c = {.side = side};
        int rc = mxg_engine_emit(name, side->type, cols->content ? cols->content : "", (int64_t)ttl,
                                 cols->prio != NULL, cols->prio ? strtoll(cols->prio, NULL, 10) : 0,
                                 true, 0, side_content, &c);
        *owned = c.content;
        return rc;
    }
    if (strcmp(tbl, "domains") == 0) {
        mxg_engine_db_to_canon(cols->name ? cols->name : "", name, namelen);
        side->name = name;
        side->type = cols->type;
        side->content = cols->content;
    } else if (strcmp(tbl, "domainmetadata") == 0) {
        side->type = cols->type;
        side->content = cols->content;
    } else {
        side->published = truthy(cols->prio);
    }
    return MXG_OK;
}

int mxg_engine_change(int64_t id, const char *time, const char *tbl, const char *op,
                      int64_t domain_id, int64_t commit, const struct mxg_engine_change_cols *old,
                      const struct mxg_engine_change_cols *new_, mxg_change_cb cb, void *ctx)
{
    struct mxg_change c = {
        .id = id, .time = time, .tbl = tbl, .op = op, .domain_id = domain_id, .commit = commit};
    /* The sides' canonical names: they must live until cb has returned. */
    struct {
        char old[MXG_NAME_TEXT_MAX], new_[MXG_NAME_TEXT_MAX];
    } names;
    char *oown = NULL, *nown = NULL;
    int rc = MXG_OK;
    if (strcmp(op, "INSERT") != 0)
        rc = change_side(tbl, old, &c.old, names.old, sizeof(names.old), &oown);
    if (rc == MXG_OK && strcmp(op, "DELETE") != 0)
        rc = change_side(tbl, new_, &c.new_, names.new_, sizeof(names.new_), &nown);
    if (rc == MXG_OK)
        rc = cb(ctx, &c);
    free(oown);
    free(nown);
    return rc;
}

bool mxg_engine_target_type(const char *type)
{
    return strcmp(type, "MX") == 0 || strcmp(type, "CNAME") == 0 || strcmp(type, "ALIAS") == 0 ||
           strcmp(type, "DNAME") == 0;
}

int mxg_engine_target_key(const char *content, char *canon, size_t canonlen, uint8_t *key,
                          size_t *klen)
{
    if (mxg_name_canon(content, canon, canonlen) != MXG_OK || strcmp(canon, ".") == 0 ||
        mxg_name_rkey(canon, key, MXG_RKEY_MAX, klen) != MXG_OK)
        return MXG_ENOENT;
    return MXG_OK;
}

int mxg_engine_rkey_range(const char *name, uint8_t *lo, size_t *llen, uint8_t *hi, size_t *hlen)
{
    if (mxg_name_rkey(name, lo, MXG_RKEY_MAX - 1, llen) != MXG_OK)
        return MXG_EINVAL;
    if (*llen == 0) {
        *hlen = 64;
        memset(hi, 0xff, *hlen);
    } else {
        memcpy(hi, lo, *llen);
        *hlen = *llen;
        hi[*hlen - 1]++;
    }
    return MXG_OK;
}

const char *mxg_engine_kind_column(enum mxg_zone_kind kind)
{
    return kind == MXG_KIND_MASTER ? "MASTER" : kind == MXG_KIND_SLAVE ? "SLAVE" : "NATIVE";
}
