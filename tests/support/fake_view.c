/* fake_view.c -- the in-memory policy view of fake_view.h. */
#include "fake_view.h"

#include <stdarg.h>
#include <stdint.h>
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

/* The canonical target of MX ("10 host"), CNAME, ALIAS or DNAME content. */
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

static int f_zone_of(void *ctx, enum mxg_side side, const char *name, char *apex, size_t len)
{
    const struct fake_view *f = ctx;
    const char *best = NULL;
    const char *skip = side == MXG_BEFORE ? f->added : f->deleted;
    for (size_t i = 0; i < f->nz; i++)
        if ((!skip || strcmp(skip, f->zones[i]) != 0) && mxg_name_is_below(name, f->zones[i]) &&
            (!best || strlen(f->zones[i]) > strlen(best)))
            best = f->zones[i];
    if (!best)
        return MXG_ENOENT;
    snprintf(apex, len, "%s", best);
    return MXG_OK;
}

/* Whether record r is served on side: its zone is the deepest served zone of its name. */
static bool served(const struct fake_view *f, enum mxg_side side, const struct fake_rec *r)
{
    char z[MXG_NAME_TEXT_MAX];
    return f_zone_of((void *)(uintptr_t)f, side, r->name, z, sizeof(z)) == MXG_OK;
}

static int f_rrset(void *ctx, enum mxg_side side, const char *name, const char *type,
                   mxg_record_cb cb, void *cbctx)
{
    const struct fake_view *f = ctx;
    for (size_t i = 0; i < f->n[side]; i++) {
        const struct fake_rec *r = &f->rec[side][i];
        if (strcmp(r->name, name) != 0 || (type && strcmp(r->type, type) != 0) ||
            !served(f, side, r))
            continue;
        struct mxg_record rec = {
            .name = r->name, .type = r->type, .content = r->content, .ttl = r->ttl, .auth = true};
        int rc = cb(cbctx, &rec);
        if (rc)
            return rc;
    }
    return MXG_OK;
}

static int f_referrers(void *ctx, enum mxg_side side, const char *type, const char *target,
                       mxg_owner_cb cb, void *cbctx)
{
    const struct fake_view *f = ctx;
    for (size_t i = 0; i < f->n[side]; i++) {
        const struct fake_rec *r = &f->rec[side][i];
        char t[MXG_NAME_TEXT_MAX];
        if (strcmp(r->type, type) != 0 || target_of(type, r->content, t, sizeof(t)) != MXG_OK ||
            strcmp(t, target) != 0 || !served(f, side, r))
            continue;
        int rc = cb(cbctx, r->name);
        if (rc)
            return rc;
    }
    return MXG_OK;
}

static int f_referrers_below(void *ctx, enum mxg_side side, const char *type, const char *root,
                             mxg_owner_target_cb cb, void *cbctx)
{
    const struct fake_view *f = ctx;
    for (size_t i = 0; i < f->n[side]; i++) {
        const struct fake_rec *r = &f->rec[side][i];
        char t[MXG_NAME_TEXT_MAX];
        if (strcmp(r->type, type) != 0 || target_of(type, r->content, t, sizeof(t)) != MXG_OK ||
            strcmp(t, ".") == 0 || !mxg_name_is_below(t, root) || !served(f, side, r))
            continue;
        int rc = cb(cbctx, r->name, t);
        if (rc)
            return rc;
    }
    return MXG_OK;
}

static int f_has_below(void *ctx, enum mxg_side side, const char *name, bool *out)
{
    const struct fake_view *f = ctx;
    char z[MXG_NAME_TEXT_MAX], rz[MXG_NAME_TEXT_MAX];
    *out = false;
    if (f_zone_of(ctx, side, name, z, sizeof(z)) != MXG_OK)
        return MXG_OK;
    for (size_t i = 0; i < f->n[side] && !*out; i++) {
        const struct fake_rec *r = &f->rec[side][i];
        *out = strcmp(r->name, name) != 0 && mxg_name_is_below(r->name, name) &&
               f_zone_of(ctx, side, r->name, rz, sizeof(rz)) == MXG_OK && strcmp(rz, z) == 0;
    }
    return MXG_OK;
}

static int f_zone_info(void *ctx, const char *apex, enum mxg_mode *mode, bool *slave)
{
    const struct fake_view *f = ctx;
    for (size_t i = 0; i < f->nmodes; i++)
        if (strcmp(f->mode_zone[i], apex) == 0) {
            *mode = f->mode_val[i];
            *slave = f->mode_slave[i];
            return MXG_OK;
        }
    return MXG_ENOENT;
}

const struct mxg_view_ops FAKE_VIEW_OPS = {
    .rrset = f_rrset,
    .referrers = f_referrers,
    .referrers_below = f_referrers_below,
    .zone_of = f_zone_of,
    .has_below = f_has_below,
    .zone_info = f_zone_info,
};

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
