/* fuzz_policy.c -- the policy over small random before/after zone pairs.
 *
 * Input: byte 0 picks the transaction's zone; then pairs of bytes, each one record: byte A =
 * states (bits 0-1: before, after, both), owner (bits 2-4), type (bits 5-7); byte B = value
 * (bits 0-6) and TTL (bit 7). Records outside the transaction's zone go to both states.
 * Every input is judged in every mode, classify and implicit-mx setting. Invariants: no crash or
 * leak; verdicts consistent with the findings; a FIX decision only writes names of the
 * transaction's zone (the guard adds it to that zone's transaction as it is); and, applied to
 * AFTER and judged again, it leaves no blocking mail-moved finding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxg/config.h"
#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/policy.h"

#define MAXREC 48

struct frec {
    char name[64];
    char type[8];
    char content[64];
    uint32_t ttl;
};

struct fake {
    struct frec rec[2][MAXREC];
    size_t n[2];
};

static const char *const ZONES[] = {"example.com.", "provider.example.", "example.net."};
static const char *const OWNERS[] = {
    "example.com.",     "mail.example.com.",     "mx.example.com.",  "www.example.com.",
    "sub.example.com.", "mx1.provider.example.", "cdn.example.net.", "smtp.example.com."};
static const char *const TYPES[] = {"A", "AAAA", "MX", "CNAME", "ALIAS", "A", "MX", "TXT"};
static const char *const V4[] = {"192.0.2.1", "192.0.2.2", "203.0.113.10", "198.51.100.7"};
static const char *const V6[] = {"2001:db8::1", "2001:db8::2", "2001:db8:cd0::1",
                                 "2001:0db8:0:0:0:0:0:1"};
static const char *const TARGETS[] = {
    "example.com",     "mail.example.com",   "mx.example.com",
    "www.example.com", "sub.example.com",    "mx1.provider.example",
    "cdn.example.net", "aspmx.l.google.com", ".",
    "192.0.2.1"};
static const char *const TXTS[] = {"\"v=spf1 a mx -all\"", "\"v=spf1 +a -all\"",
                                   "\"v=spf1 ip4:192.0.2.0/24 -all\"", "\"hello\""};

static struct mxg_config configs[2][3];
static int ready;

static void setup_once(void)
{
    static const char *const classify[] = {"classify=strict\nmail-ranges=198.51.100.0/24\n",
                                           "classify=proxy\n"};
    static const char *const implicit[] = {"implicit-mx=no\n", "implicit-mx=warn\n",
                                           "implicit-mx=yes\n"};
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 3; i++) {
            char text[512], err[256];
            snprintf(text, sizeof(text), "%s%sproxy-ranges=203.0.113.0/24,2001:db8:cd0::/48\n",
                     classify[c], implicit[i]);
            if (mxg_config_load_string(text, "fuzz", &configs[c][i], err, sizeof(err)) != MXG_OK)
                abort();
        }
    ready = 1;
}

static bool name_is_below(const char *name, const char *zone)
{
    return mxg_name_is_below(name, zone);
}

static int f_rrset(void *ctx, enum mxg_side side, const char *name, const char *type,
                   mxg_record_cb cb, void *cbctx)
{
    struct fake *f = ctx;
    for (size_t i = 0; i < f->n[side]; i++) {
        const struct frec *r = &f->rec[side][i];
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

static int f_referrers(void *ctx, enum mxg_side side, const char *type, const char *target,
                       int (*cb)(void *cbctx, const char *owner), void *cbctx)
{
    struct fake *f = ctx;
    for (size_t i = 0; i < f->n[side]; i++) {
        const struct frec *r = &f->rec[side][i];
        if (strcmp(r->type, type) != 0)
            continue;
        const char *p = r->content;
        if (strcmp(type, "MX") == 0) {
            while (*p >= '0' && *p <= '9')
                p++;
            while (*p == ' ')
                p++;
        }
        char t[MXG_NAME_TEXT_MAX];
        if (mxg_name_canon(p, t, sizeof(t)) != MXG_OK || strcmp(t, target) != 0)
            continue;
        int rc = cb(cbctx, r->name);
        if (rc)
            return rc;
    }
    return MXG_OK;
}

static int f_zone_of(void *ctx, const char *name, char *apex, size_t len)
{
    (void)ctx;
    (void)ctx;
    for (size_t i = 0; i < sizeof(ZONES) / sizeof(ZONES[0]); i++)
        if (name_is_below(name, ZONES[i])) {
            snprintf(apex, len, "%s", ZONES[i]);
            return MXG_OK;
        }
    return MXG_ENOENT;
}

static const struct mxg_view_ops FAKE_OPS = {f_rrset, f_referrers, f_zone_of};

static bool has_rec(const struct fake *f, int side, const struct frec *like, bool ttl)
{
    for (size_t i = 0; i < f->n[side]; i++) {
        const struct frec *r = &f->rec[side][i];
        if (strcmp(r->name, like->name) == 0 && strcmp(r->type, like->type) == 0 &&
            strcmp(r->content, like->content) == 0 && (!ttl || r->ttl == like->ttl))
            return true;
    }
    return false;
}

static void add(struct fake *f, int side, const struct frec *r)
{
    if (f->n[side] < MAXREC && !has_rec(f, side, r, false))
        f->rec[side][f->n[side]++] = *r;
}

static size_t touched(const struct fake *f, const char **names, size_t max)
{
    size_t n = 0;
    for (int side = 0; side < 2; side++)
        for (size_t i = 0; i < f->n[side]; i++) {
            const struct frec *r = &f->rec[side][i];
            if (has_rec(f, !side, r, true))
                continue;
            bool seen = false;
            for (size_t j = 0; j < n && !seen; j++)
                seen = strcmp(names[j], r->name) == 0;
            if (!seen && n < max)
                names[n++] = r->name;
        }
    return n;
}

static bool is_move(const struct mxg_finding *f)
{
    return strcmp(f->rule, "mail-moved") == 0 || strcmp(f->rule, "implicit-mail-moved") == 0;
}

static void check_consistent(const struct mxg_decision *d, const char *zone, enum mxg_mode mode,
                             bool slave)
{
    bool blocking = false;
    for (size_t i = 0; i < d->n_findings; i++) {
        const struct mxg_finding *f = &d->findings[i];
        if (f->severity == MXG_SEV_OFF || !f->name || !f->rule || !f->family || !f->reason)
            abort();
        blocking |= f->severity == MXG_SEV_BLOCK;
    }
    if (mode == MXG_MODE_OFF && d->verdict != MXG_VERDICT_ALLOW)
        abort();
    if (d->verdict == MXG_VERDICT_REJECT &&
        (!blocking || slave || (mode != MXG_MODE_REJECT && mode != MXG_MODE_FIX)))
        abort();
    if (d->verdict == MXG_VERDICT_FIX && (mode != MXG_MODE_FIX || d->n_fix == 0 || slave))
        abort();
    if (d->verdict != MXG_VERDICT_FIX && d->n_fix != 0)
        abort();
    for (size_t i = 0; i < d->n_fix; i++)
        if (!d->fix[i].name || !d->fix[i].type || !mxg_name_is_below(d->fix[i].name, zone))
            abort();
    if (d->verdict == MXG_VERDICT_ALLOW && mode != MXG_MODE_OFF && d->n_findings != 0)
        abort();
}

/* Applies the fix to AFTER and judges again: no blocking move may remain. */
static void check_fix(const struct fake *f, const char *zone, const struct mxg_config *cfg,
                      const struct mxg_decision *d)
{
    struct fake *g = malloc(sizeof(*g));
    if (!g)
        abort();
    memcpy(g, f, sizeof(*g));
    for (size_t i = 0; i < d->n_fix; i++) {
        const struct mxg_rrset_change *c = &d->fix[i];
        size_t k = 0;
        for (size_t j = 0; j < g->n[MXG_AFTER]; j++) {
            const struct frec *r = &g->rec[MXG_AFTER][j];
            if (strcmp(r->name, c->name) == 0 && strcmp(r->type, c->type) == 0)
                continue;
            g->rec[MXG_AFTER][k++] = *r;
        }
        g->n[MXG_AFTER] = k;
        for (size_t j = 0; j < c->n_after; j++) {
            struct frec r = {.ttl = c->after[j].ttl};
            if (strlen(c->name) >= sizeof(r.name) || strlen(c->type) >= sizeof(r.type) ||
                strlen(c->after[j].content) >= sizeof(r.content) || g->n[MXG_AFTER] >= MAXREC)
                abort();
            strcpy(r.name, c->name);
            strcpy(r.type, c->type);
            strcpy(r.content, c->after[j].content);
            g->rec[MXG_AFTER][g->n[MXG_AFTER]++] = r;
        }
    }
    const char *names[2 * MAXREC];
    struct mxg_view view = {&FAKE_OPS, g};
    struct mxg_policy_input in = {.zone = zone,
                                  .names = names,
                                  .n_names = touched(g, names, sizeof(names) / sizeof(names[0])),
                                  .mode = MXG_MODE_REJECT};
    struct mxg_decision d2;
    if (mxg_policy_evaluate(&view, &in, cfg, &d2) != MXG_OK)
        abort();
    for (size_t i = 0; i < d2.n_findings; i++)
        if (d2.findings[i].severity == MXG_SEV_BLOCK && is_move(&d2.findings[i]))
            abort();
    mxg_decision_free(&d2);
    free(g);
}

static void value(int type, uint8_t v, char *out, size_t len)
{
    switch (type) {
    case 0:
    case 5:
        snprintf(out, len, "%s", V4[v % 4]);
        break;
    case 1:
        snprintf(out, len, "%s", V6[v % 4]);
        break;
    case 2:
    case 6:
        snprintf(out, len, "%u %s", (unsigned)(v % 3) * 10, TARGETS[(v / 3) % 10]);
        break;
    case 7:
        snprintf(out, len, "%s", TXTS[v % 4]);
        break;
    default:
        snprintf(out, len, "%s", TARGETS[v % 8]);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup_once();
    if (size < 1)
        return 0;
    const char *zone = ZONES[data[0] % 3];
    bool slave = (data[0] & 0x80) != 0;
    struct fake *f = calloc(1, sizeof(*f));
    if (!f)
        abort();
    for (size_t i = 1; i + 1 < size && i < 1 + 2 * 2 * MAXREC; i += 2) {
        uint8_t a = data[i], b = data[i + 1];
        int states = a & 3, owner = (a >> 2) & 7, type = (a >> 5) & 7;
        struct frec r = {.ttl = (b & 0x80) ? 300 : 3600};
        snprintf(r.name, sizeof(r.name), "%s", OWNERS[owner]);
        snprintf(r.type, sizeof(r.type), "%s", TYPES[type]);
        value(type, b & 0x7f, r.content, sizeof(r.content));
        if (!name_is_below(r.name, zone) || states == 0 || states == 3) {
            add(f, MXG_BEFORE, &r);
            add(f, MXG_AFTER, &r);
        } else {
            add(f, states == 1 ? MXG_BEFORE : MXG_AFTER, &r);
        }
    }
    const char *names[2 * MAXREC];
    struct mxg_view view = {&FAKE_OPS, f};
    size_t n = touched(f, names, sizeof(names) / sizeof(names[0]));
    static const enum mxg_mode modes[] = {MXG_MODE_OFF, MXG_MODE_WARN, MXG_MODE_REJECT,
                                          MXG_MODE_FIX};
    for (int c = 0; c < 2; c++)
        for (int im = 0; im < 3; im++)
            for (int m = 0; m < 4; m++) {
                struct mxg_policy_input in = {
                    .zone = zone, .names = names, .n_names = n, .mode = modes[m], .slave = slave};
                struct mxg_decision d;
                if (mxg_policy_evaluate(&view, &in, &configs[c][im], &d) != MXG_OK)
                    abort();
                check_consistent(&d, zone, modes[m], slave);
                if (d.verdict == MXG_VERDICT_FIX)
                    check_fix(f, zone, &configs[c][im], &d);
                mxg_decision_free(&d);
            }
    free(f);
    return 0;
}
