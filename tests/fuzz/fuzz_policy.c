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

#include "fake_view.h"

#define INPUT_RECORDS 96 /* the most records one input describes */

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

/* Adds r to one side unless it is there already (TTL aside) or the side is full. */
static void add(struct fake_view *f, int side, const struct fake_rec *r)
{
    if (f->n[side] < FAKE_MAXREC && !fake_has(f, side, r, false))
        f->rec[side][f->n[side]++] = *r;
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
    /* PRODUCT.md §4: warn when a blocking finding is committed anyway (off, warn, slave). */
    if ((mode == MXG_MODE_OFF || mode == MXG_MODE_WARN || slave) &&
        d->verdict != (blocking ? MXG_VERDICT_WARN : MXG_VERDICT_ALLOW))
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
    if (d->verdict == MXG_VERDICT_ALLOW && blocking)
        abort();
}

/* Applies the fix to AFTER and judges again: no blocking move may remain. */
static void check_fix(const struct fake_view *f, const char *zone, const struct mxg_config *cfg,
                      const struct mxg_decision *d)
{
    struct fake_view *g = malloc(sizeof(*g));
    if (!g)
        abort();
    memcpy(g, f, sizeof(*g));
    for (size_t i = 0; i < d->n_fix; i++) {
        const struct mxg_rrset_change *c = &d->fix[i];
        fake_del_after(g, c->name, c->type);
        for (size_t j = 0; j < c->n_after; j++) {
            struct fake_rec r;
            if (strlen(c->name) >= sizeof(r.name) || strlen(c->type) >= sizeof(r.type) ||
                strlen(c->after[j].content) >= sizeof(r.content))
                abort(); /* the fake cannot hold it: the check would be void */
            fake_add(g, MXG_AFTER, c->name, c->type, c->after[j].content, c->after[j].ttl);
        }
    }
    const char *names[2 * FAKE_MAXREC];
    struct mxg_view view = {&FAKE_VIEW_OPS, g};
    struct mxg_policy_input in = {.zone = zone,
                                  .names = names,
                                  .n_names =
                                      fake_touched(g, names, sizeof(names) / sizeof(names[0])),
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
    struct fake_view *f = calloc(1, sizeof(*f));
    if (!f)
        abort();
    for (size_t z = 0; z < sizeof(ZONES) / sizeof(ZONES[0]); z++)
        f->zones[f->nz++] = ZONES[z];
    for (size_t i = 1; i + 1 < size && i < 1 + 2 * INPUT_RECORDS; i += 2) {
        uint8_t a = data[i], b = data[i + 1];
        int states = a & 3, owner = (a >> 2) & 7, type = (a >> 5) & 7;
        struct fake_rec r = {.ttl = (b & 0x80) ? 300 : 3600};
        snprintf(r.name, sizeof(r.name), "%s", OWNERS[owner]);
        snprintf(r.type, sizeof(r.type), "%s", TYPES[type]);
        value(type, b & 0x7f, r.content, sizeof(r.content));
        if (!mxg_name_is_below(r.name, zone) || states == 0 || states == 3) {
            add(f, MXG_BEFORE, &r);
            add(f, MXG_AFTER, &r);
        } else {
            add(f, states == 1 ? MXG_BEFORE : MXG_AFTER, &r);
        }
    }
    const char *names[2 * FAKE_MAXREC];
    struct mxg_view view = {&FAKE_VIEW_OPS, f};
    size_t n = fake_touched(f, names, sizeof(names) / sizeof(names[0]));
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
