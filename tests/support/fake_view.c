/* fake_view.c -- the in-memory policy view of fake_view.h. */
#include "fake_view.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxg/dns.h"
#include "mxg/err.h"

void fake_add(struct fake_view *f, int side, const char *name, const char *type,
              const char *content, uint32_t ttl)
{
    if (f->n[side] >= FAKE_MAXREC) {
        fputs("fake_view: record table full\n", stderr);
        abort();
    }
    struct fake_rec *r = &f->rec[side][f->n[side]++];
    snprintf(r->name, sizeof(r->name), "%s", name);
    snprintf(r->type, sizeof(r->type), "%s", type);
    snprintf(r->content, sizeof(r->content), "%s", content);
    r->ttl = ttl;
}

void fake_both(struct fake_view *f, const char *name, const char *type, const char *content)
{
    fake_add(f, MXG_BEFORE, name, type, content, 3600);
    fake_add(f, MXG_AFTER, name, type, content, 3600);
}

void fake_del_after(struct fake_view *f, const char *name, const char *type)
{
    size_t k = 0;
    for (size_t i = 0; i < f->n[MXG_AFTER]; i++) {
        const struct fake_rec *r = &f->rec[MXG_AFTER][i];
        if (strcmp(r->name, name) == 0 && (!type || strcmp(r->type, type) == 0))
            continue;
        f->rec[MXG_AFTER][k++] = *r;
    }
    f->n[MXG_AFTER] = k;
}

void fake_set_after(struct fake_view *f, const char *name, const char *type, ...)
{
    fake_del_after(f, name, type);
    va_list ap;
    va_start(ap, type);
    for (const char *c = va_arg(ap, const char *); c; c = va_arg(ap, const char *))
        fake_add(f, MXG_AFTER, name, type, c, 3600);
    va_end(ap);
}

bool fake_has(const struct fake_view *f, int side, const struct fake_rec *like, bool ttl)
{
    for (size_t i = 0; i < f->n[side]; i++) {
        const struct fake_rec *r = &f->rec[side][i];
        if (strcmp(r->name, like->name) == 0 && strcmp(r->type, like->type) == 0 &&
            strcmp(r->content, like->content) == 0 && (!ttl || r->ttl == like->ttl))
            return true;
    }
    return false;
}

static int f_rrset(void *ctx, enum mxg_side side, const char *name, const char *type,
                   mxg_record_cb cb, void *cbctx)
{
    const struct fake_view *f = ctx;
    for (size_t i = 0; i < f->n[side]; i++) {
        const struct fake_rec *r = &f->rec[side][i];
        if (strcmp(r->name, name) != 0 || (type && strcmp(r->type, type) != 0))
            continue;
        struct mxg_record rec = {
            .name = r->name, .type = r->type, .content = r->content, .ttl = r->ttl, .auth = true};
        int rc = cb(cbctx, &rec);
        if (rc)
            return rc;
    }
    return MXG_OK;
}

/* The canonical target of MX ("10 host"), CNAME or ALIAS content. */
static int target_of(const char *type, const char *content, char *out, size_t len)
{
    const char *p = content;
    if (strcmp(type, "MX") == 0) {
        while (*p >= '0' && *p <= '9')
            p++;
        while (*p == ' ')
            p++;
    }
    return mxg_name_canon(p, out, len);
}

static int f_referrers(void *ctx, enum mxg_side side, const char *type, const char *target,
                       int (*cb)(void *cbctx, const char *owner), void *cbctx)
{
    const struct fake_view *f = ctx;
    for (size_t i = 0; i < f->n[side]; i++) {
        const struct fake_rec *r = &f->rec[side][i];
        char t[MXG_NAME_TEXT_MAX];
        if (strcmp(r->type, type) != 0 || target_of(type, r->content, t, sizeof(t)) != MXG_OK ||
            strcmp(t, target) != 0)
            continue;
        int rc = cb(cbctx, r->name);
        if (rc)
            return rc;
    }
    return MXG_OK;
}

static int f_zone_of(void *ctx, const char *name, char *apex, size_t len)
{
    const struct fake_view *f = ctx;
    const char *best = NULL;
    for (size_t i = 0; i < f->nz; i++)
        if (mxg_name_is_below(name, f->zones[i]) && (!best || strlen(f->zones[i]) > strlen(best)))
            best = f->zones[i];
    if (!best)
        return MXG_ENOENT;
    snprintf(apex, len, "%s", best);
    return MXG_OK;
}

const struct mxg_view_ops FAKE_VIEW_OPS = {f_rrset, f_referrers, f_zone_of};

size_t fake_touched(const struct fake_view *f, const char **names, size_t max)
{
    size_t n = 0;
    for (int side = 0; side < 2; side++)
        for (size_t i = 0; i < f->n[side]; i++) {
            const struct fake_rec *r = &f->rec[side][i];
            if (fake_has(f, !side, r, true))
                continue;
            bool seen = false;
            for (size_t j = 0; j < n && !seen; j++)
                seen = strcmp(names[j], r->name) == 0;
            if (!seen && n < max)
                names[n++] = r->name;
        }
    return n;
}
