/* front_ui.c -- the read-only operator page /ui/ (PRODUCT.md §6): HTML from control replies.
 *
 * Pure: the front makes the control calls (stats, scan, audit.show, audit.verify) and hands the
 * replies in; this builds the page in memory. Markup is written by the helpers below: h_raw for
 * the page's own text, h_text for anything taken from the data (escaped), h_num for numbers.
 * An allocation failure sets a sticky flag; the page is then dropped whole. */
#include "mxg/front_ui.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mxg/strbuf.h"

/* ---- the output buffer ------------------------------------------------------------------- */

/* The page's own markup: never data. */
static void h_raw(struct mxg_strbuf *h, const char *s)
{
    mxg_strbuf_puts(h, s);
}

/* Text from the data, escaped for element content and quoted attribute values. */
static void h_text(struct mxg_strbuf *h, const char *s)
{
    if (!s)
        return;
    const char *run = s;
    for (const char *p = s; *p; p++) {
        const char *ent = NULL;
        switch (*p) {
        case '&':
            ent = "&amp;";
            break;
        case '<':
            ent = "&lt;";
            break;
        case '>':
            ent = "&gt;";
            break;
        case '"':
            ent = "&quot;";
            break;
        case '\'':
            ent = "&#39;";
            break;
        default:
            continue;
        }
        mxg_strbuf_put(h, run, (size_t)(p - run));
        h_raw(h, ent);
        run = p + 1;
    }
    h_raw(h, run);
}

static void h_num(struct mxg_strbuf *h, long long v)
{
    char b[32];
    int n = snprintf(b, sizeof(b), "%lld", v);
    if (n > 0 && (size_t)n < sizeof(b))
        mxg_strbuf_put(h, b, (size_t)n);
}

/* <tag class="cls">text</tag>, text escaped. */
static void h_elem(struct mxg_strbuf *h, const char *tag, const char *cls, const char *text)
{
    h_raw(h, "<");
    h_raw(h, tag);
    if (cls) {
        h_raw(h, " class=\"");
        h_raw(h, cls);
        h_raw(h, "\"");
    }
    h_raw(h, ">");
    h_text(h, text);
    h_raw(h, "</");
    h_raw(h, tag);
    h_raw(h, ">");
}

char *mxg_front_ui_escape(const char *s)
{
    struct mxg_strbuf h = {0};
    h_raw(&h, "");
    h_text(&h, s);
    if (h.failed) {
        free(h.p);
        return NULL;
    }
    return h.p;
}

/* ---- reading the replies ----------------------------------------------------------------- */

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static bool reply_ok(json_t *r)
{
    return json_is_object(r) && json_is_true(json_object_get(r, "ok"));
}

/* A section whose op failed: says so, with the reply's message. */
static void unavailable(struct mxg_strbuf *h, json_t *reply)
{
    const char *msg = jstr(json_object_get(reply, "error"), "message");
    h_raw(h, "<p class=\"unavailable\">Unavailable");
    if (msg) {
        h_raw(h, ": ");
        h_text(h, msg);
    }
    h_raw(h, ".</p>\n");
}

long long mxg_front_ui_after(json_t *stats, long long limit)
{
    const char *head = jstr(stats, "audit_head");
    if (!head || *head < '0' || *head > '9')
        return 0;
    char *end;
    errno = 0;
    long long seq = strtoll(head, &end, 10);
    if (errno || *end != ':' || seq <= limit)
        return 0;
    return seq - limit;
}

/* ---- HTTP Basic ------------------------------------------------------------------------- */

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64 (padding optional) of n characters into out; the decoded length, or -1. */
static long b64_decode(const char *s, size_t n, unsigned char *out, size_t outlen)
{
    while (n && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outlen)
                return -1;
            out[o++] = (unsigned char)((acc >> bits) & 0xffu);
        }
    }
    return (long)o;
}

bool mxg_front_basic_password(const char *value, char *out, size_t outlen)
{
    static const char scheme[] = "basic";
    unsigned char dec[1024];
    if (!value || !outlen || strncasecmp(value, scheme, strlen(scheme)) != 0)
        return false;
    const char *p = value + strlen(scheme);
    if (*p != ' ' && *p != '\t')
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strcspn(p, " \t");
    if (n == 0 || p[n + strspn(p + n, " \t")] != '\0')
        return false;
    long len = b64_decode(p, n, dec, sizeof(dec));
    if (len < 0 || memchr(dec, '\0', (size_t)len))
        return false;
    const unsigned char *colon = memchr(dec, ':', (size_t)len);
    if (!colon)
        return false;
    size_t plen = (size_t)len - (size_t)(colon + 1 - dec);
    if (plen + 1 > outlen)
        return false;
    memcpy(out, colon + 1, plen);
    out[plen] = '\0';
    return true;
}

/* ---- the summary ------------------------------------------------------------------------ */

static void tile(struct mxg_strbuf *h, const char *label, long long v, const char *cls)
{
    h_raw(h, "<div class=\"tile");
    if (cls) {
        h_raw(h, " ");
        h_raw(h, cls);
    }
    h_raw(h, "\"><span class=\"label\">");
    h_raw(h, label);
    h_raw(h, "</span><span class=\"value\">");
    h_num(h, v);
    h_raw(h, "</span></div>\n");
}

static void uptime(struct mxg_strbuf *h, long long s)
{
    static const struct {
        long long secs;
        const char *unit;
    } units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}};
    bool any = false;
    h_raw(h, "<div class=\"tile\"><span class=\"label\">Uptime</span><span class=\"value\">");
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (s >= units[i].secs || any) {
            h_num(h, s / units[i].secs);
            h_raw(h, units[i].unit);
            h_raw(h, " ");
            s %= units[i].secs;
            any = true;
        }
    }
    h_num(h, s);
    h_raw(h, "s</span></div>\n");
}

/* The chain's state from audit.verify: valid, or broken with the first bad record. */
static void chain_state(struct mxg_strbuf *h, json_t *verify)
{
    h_raw(h, "<h3>Audit chain</h3>\n");
    if (!reply_ok(verify)) {
        unavailable(h, verify);
        return;
    }
    bool valid = json_is_true(json_object_get(verify, "valid"));
    h_raw(h, valid ? "<div id=\"chain\" class=\"chain ok\"><strong>Chain valid</strong>"
                   : "<div id=\"chain\" class=\"chain bad\"><strong>Chain BROKEN</strong>");
    h_raw(h, " &mdash; ");
    h_num(h, jint(verify, "records"));
    h_raw(h, " records checked.");
    if (!valid) {
        h_raw(h, " First bad record: <span class=\"first-bad\">seq ");
        h_num(h, jint(verify, "first_bad"));
        h_raw(h, "</span>");
        if (jstr(verify, "reason")) {
            h_raw(h, ": ");
            h_text(h, jstr(verify, "reason"));
        }
        h_raw(h, ". Run <code>mxguard audit verify</code> and compare with a head kept "
                 "elsewhere.");
    }
    h_raw(h, "<br>Head: <code class=\"head\">");
    h_text(h, jstr(verify, "head") ? jstr(verify, "head") : "?");
    h_raw(h, "</code></div>\n");
}

static void summary(struct mxg_strbuf *h, json_t *stats, json_t *verify)
{
    h_raw(h, "<section id=\"summary\">\n<h2>Summary</h2>\n");
    if (reply_ok(stats)) {
        h_raw(h, "<h3>Serving</h3>\n<div class=\"tiles\">\n");
        uptime(h, jint(stats, "uptime"));
        tile(h, "Lookups", jint(stats, "lookups"), NULL);
        tile(h, "Cache hits", jint(stats, "cache_hits"), NULL);
        tile(h, "Backend requests", jint(stats, "requests"), NULL);
        tile(h, "Backend errors", jint(stats, "errors"), jint(stats, "errors") ? "warn" : NULL);
        h_raw(h, "</div>\n<h3>Commits by verdict</h3>\n<div class=\"tiles\">\n");
        tile(h, "Commits", jint(stats, "commits"), NULL);
        tile(h, "Allowed", jint(stats, "allowed"), NULL);
        tile(h, "Warned", jint(stats, "warned"), jint(stats, "warned") ? "warn" : NULL);
        tile(h, "Refused", jint(stats, "rejected"), jint(stats, "rejected") ? "bad" : NULL);
        tile(h, "Fixed", jint(stats, "fixed"), NULL);
        /* PATCHes the API front refused before pdns saw them (the front's own counter). */
        if (json_is_integer(json_object_get(stats, "api_refused")))
            tile(h, "Refused by the API front", jint(stats, "api_refused"),
                 jint(stats, "api_refused") ? "bad" : NULL);
        h_raw(h, "</div>\n<p class=\"note\">Counters since the daemon started.</p>\n");
    } else {
        unavailable(h, stats);
    }
    chain_state(h, verify);
    h_raw(h, "</section>\n");
}

/* ---- zones by class --------------------------------------------------------------------- */

static const char *const CLASSES[] = {"broken", "at-risk", "safe", "no-mail"};
#define N_CLASSES (sizeof(CLASSES) / sizeof(CLASSES[0]))

static bool known_class(const char *c)
{
    for (size_t i = 0; c && i < N_CLASSES; i++)
        if (strcmp(c, CLASSES[i]) == 0)
            return true;
    return false;
}

/* Whether zone z belongs to group cls (NULL: the group of classes not known here). */
static bool in_group(json_t *z, const char *cls)
{
    const char *c = jstr(z, "class");
    return cls ? c && strcmp(c, cls) == 0 : !known_class(c);
}

static void zone_row(struct mxg_strbuf *h, json_t *z, bool show_class)
{
    h_raw(h, "<tr><td class=\"zone\">");
    h_text(h, jstr(z, "zone") ? jstr(z, "zone") : "?");
    if (show_class) {
        h_raw(h, " <span class=\"cls\">(");
        h_text(h, jstr(z, "class") ? jstr(z, "class") : "no class");
        h_raw(h, ")</span>");
    }
    h_raw(h, "</td><td><ul class=\"reasons\">");
    json_t *r;
    size_t i;
    json_array_foreach(json_object_get(z, "reasons"), i, r)
    {
        if (json_is_string(r))
            h_elem(h, "li", NULL, json_string_value(r));
    }
    h_raw(h, "</ul></td></tr>\n");
}

static void zone_group(struct mxg_strbuf *h, json_t *zones, const char *cls)
{
    size_t n = 0, i;
    json_t *z;
    json_array_foreach(zones, i, z)
    {
        if (in_group(z, cls))
            n++;
    }
    if (n == 0)
        return;
    const char *id = cls ? cls : "other";
    h_raw(h, "<div class=\"group\" id=\"class-");
    h_raw(h, id);
    h_raw(h, "\">\n<h3><span class=\"badge c-");
    h_raw(h, id);
    h_raw(h, "\">");
    h_raw(h, id);
    h_raw(h, "</span> ");
    h_num(h, (long long)n);
    h_raw(h, n == 1 ? " zone" : " zones");
    h_raw(h, "</h3>\n<table><thead><tr><th>Zone</th><th>Why</th></tr></thead><tbody>\n");
    json_array_foreach(zones, i, z)
    {
        if (in_group(z, cls))
            zone_row(h, z, cls == NULL);
    }
    h_raw(h, "</tbody></table>\n</div>\n");
}

static void zones_section(struct mxg_strbuf *h, json_t *scan)
{
    h_raw(h, "<section id=\"zones\">\n<h2>Zones by class</h2>\n");
    json_t *zones = json_object_get(scan, "zones");
    if (!reply_ok(scan) || !json_is_array(zones)) {
        unavailable(h, scan);
    } else if (json_array_size(zones) == 0) {
        h_raw(h, "<p class=\"empty\">No zones are served.</p>\n");
    } else {
        h_raw(h, "<p class=\"counts\">");
        h_num(h, (long long)json_array_size(zones));
        h_raw(h, json_array_size(zones) == 1 ? " zone" : " zones");
        for (size_t c = 0; c < N_CLASSES; c++) {
            size_t n = 0, i;
            json_t *z;
            json_array_foreach(zones, i, z)
            {
                if (in_group(z, CLASSES[c]))
                    n++;
            }
            h_raw(h, c == 0 ? ": " : ", ");
            h_num(h, (long long)n);
            h_raw(h, " ");
            h_raw(h, CLASSES[c]);
        }
        h_raw(h, ".</p>\n");
        for (size_t c = 0; c < N_CLASSES; c++)
            zone_group(h, zones, CLASSES[c]);
        zone_group(h, zones, NULL);
    }
    h_raw(h, "</section>\n");
}

/* ---- decisions -------------------------------------------------------------------------- */

/* "a, b, c" of an array of strings. */
static void str_list(struct mxg_strbuf *h, json_t *a)
{
    json_t *v;
    size_t i;
    bool first = true;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v))
            continue;
        if (!first)
            h_raw(h, ", ");
        h_text(h, json_string_value(v));
        first = false;
    }
    if (first)
        h_raw(h, "&mdash;");
}

static void finding(struct mxg_strbuf *h, json_t *f)
{
    const char *sev = jstr(f, "severity") ? jstr(f, "severity") : "?";
    h_raw(h, "<li class=\"finding\"><span class=\"sev s-");
    h_raw(h, strcmp(sev, "block") == 0 ? "block" : strcmp(sev, "warn") == 0 ? "warn" : "other");
    h_raw(h, "\">");
    h_text(h, sev);
    h_raw(h, "</span> <code class=\"rule\">");
    h_text(h, jstr(f, "rule") ? jstr(f, "rule") : "?");
    h_raw(h, "</code> at <code class=\"name\">");
    h_text(h, jstr(f, "name") ? jstr(f, "name") : "?");
    h_raw(h, "</code>");
    const char *family = jstr(f, "family");
    if (family && *family) {
        h_raw(h, " (");
        h_text(h, family);
        h_raw(h, ")");
    }
    const char *why = jstr(f, "reason") ? jstr(f, "reason") : jstr(f, "message");
    if (why) {
        h_raw(h, ": <span class=\"reason\">");
        h_text(h, why);
        h_raw(h, "</span>");
    }
    if (json_array_size(json_object_get(f, "old")) || json_array_size(json_object_get(f, "new"))) {
        h_raw(h, " <span class=\"values\">[");
        str_list(h, json_object_get(f, "old"));
        h_raw(h, " &rarr; ");
        str_list(h, json_object_get(f, "new"));
        h_raw(h, "]</span>");
    }
    h_raw(h, "</li>\n");
}

/* One side of a change: "content (ttl), ..." */
static void rr_side(struct mxg_strbuf *h, json_t *side)
{
    json_t *d;
    size_t i;
    if (json_array_size(side) == 0) {
        h_raw(h, "<span class=\"none\">none</span>");
        return;
    }
    json_array_foreach(side, i, d)
    {
        if (i)
            h_raw(h, "<br>");
        h_text(h, jstr(d, "content") ? jstr(d, "content") : "?");
        if (json_is_integer(json_object_get(d, "ttl"))) {
            h_raw(h, " <span class=\"ttl\">ttl ");
            h_num(h, jint(d, "ttl"));
            h_raw(h, "</span>");
        }
    }
}

/* A changes or fix list as a table: name, type, before, after. */
static void rrsets(struct mxg_strbuf *h, json_t *list, const char *cls, const char *title)
{
    json_t *c;
    size_t i;
    if (json_array_size(list) == 0)
        return;
    h_raw(h, "<div class=\"");
    h_raw(h, cls);
    h_raw(h, "\"><span class=\"what\">");
    h_raw(h, title);
    h_raw(h, "</span><table class=\"rr\"><thead><tr><th>Name</th><th>Type</th><th>Before</th>"
             "<th>After</th></tr></thead><tbody>\n");
    json_array_foreach(list, i, c)
    {
        h_raw(h, "<tr><td>");
        h_text(h, jstr(c, "name") ? jstr(c, "name") : "?");
        h_raw(h, "</td><td>");
        h_text(h, jstr(c, "type") ? jstr(c, "type") : "?");
        h_raw(h, "</td><td>");
        rr_side(h, json_object_get(c, "before"));
        h_raw(h, "</td><td>");
        rr_side(h, json_object_get(c, "after"));
        h_raw(h, "</td></tr>\n");
    }
    h_raw(h, "</tbody></table></div>\n");
}

/* The remedy of a refusal: the record's "remedy" (or "remedies"), else what to do instead. */
static void remedy(struct mxg_strbuf *h, json_t *rec, bool refused)
{
    json_t *many = json_object_get(rec, "remedies");
    const char *one = jstr(rec, "remedy");
    size_t n = one ? 1 : 0;
    json_t *v;
    size_t i;
    json_array_foreach(many, i, v)
    {
        if (json_is_string(v))
            n++;
    }
    if (n == 0 && !refused)
        return;
    h_raw(h, "<div class=\"remedy\"><span class=\"what\">Remedy</span> ");
    if (one)
        h_elem(h, "span", "remedy-text", one);
    json_array_foreach(many, i, v)
    {
        if (json_is_string(v) && !(one && strcmp(one, json_string_value(v)) == 0))
            h_elem(h, "span", "remedy-text", json_string_value(v));
    }
    if (n == 0 && json_array_size(json_object_get(rec, "fix")))
        h_raw(h, "<span class=\"remedy-text\">apply the fix below (what mode=fix writes)</span>");
    else if (n == 0)
        h_raw(h, "<span class=\"remedy-text\">none recorded; <code>mxguard check</code> with "
                 "the same change names one</span>");
    h_raw(h, "</div>\n");
}

static void metadata(struct mxg_strbuf *h, json_t *md)
{
    const char *kind;
    json_t *vals;
    if (!json_is_object(md) || json_object_size(md) == 0)
        return;
    h_raw(h, "<div class=\"metadata\"><span class=\"what\">Metadata</span><ul>");
    json_object_foreach(md, kind, vals)
    {
        h_raw(h, "<li><code>");
        h_text(h, kind);
        h_raw(h, "</code> = ");
        str_list(h, vals);
        h_raw(h, "</li>");
    }
    h_raw(h, "</ul></div>\n");
}

static const char *verdict_class(const char *v)
{
    if (!v)
        return "v-other";
    if (strcmp(v, "reject") == 0)
        return "v-reject";
    if (strcmp(v, "warn") == 0)
        return "v-warn";
    if (strcmp(v, "fix") == 0)
        return "v-fix";
    if (strcmp(v, "allow") == 0)
        return "v-allow";
    return "v-other";
}

/* The head line of a decision: seq, time, zone, source, mode, verdict. */
static void decision_head(struct mxg_strbuf *h, json_t *rec, const char *verdict)
{
    h_raw(h, "<header><span class=\"seq\">#");
    h_num(h, jint(rec, "seq"));
    h_raw(h, "</span> <span class=\"badge ");
    h_raw(h, verdict_class(verdict));
    h_raw(h, "\">");
    h_text(h, verdict ? verdict : "?");
    h_raw(h, "</span> <strong class=\"zone\">");
    h_text(h, jstr(rec, "zone") ? jstr(rec, "zone") : "?");
    h_raw(h, "</strong> <span class=\"meta\">");
    h_text(h, jstr(rec, "time") ? jstr(rec, "time") : "");
    h_raw(h, " &middot; source ");
    h_text(h, jstr(rec, "source") ? jstr(rec, "source") : "?");
    const char *mode = jstr(rec, "mode");
    if (mode && *mode) {
        h_raw(h, " &middot; mode ");
        h_text(h, mode);
    }
    h_raw(h, "</span></header>\n");
}

static void decision(struct mxg_strbuf *h, json_t *rec)
{
    if (!jstr(rec, "verdict") && jstr(rec, "error")) {
        h_raw(h, "<article class=\"decision unreadable\"><header><span class=\"seq\">#");
        h_num(h, jint(rec, "seq"));
        h_raw(h, "</span> ");
        h_text(h, jstr(rec, "error"));
        h_raw(h, "</header></article>\n");
        return;
    }
    const char *verdict = jstr(rec, "verdict");
    bool refused = verdict && strcmp(verdict, "reject") == 0;
    h_raw(h, refused ? "<article class=\"decision refused\">\n" : "<article class=\"decision\">\n");
    decision_head(h, rec, verdict);
    json_t *findings = json_object_get(rec, "findings");
    if (json_array_size(findings)) {
        json_t *f;
        size_t i;
        h_raw(h, "<ul class=\"findings\">\n");
        json_array_foreach(findings, i, f)
        {
            finding(h, f);
        }
        h_raw(h, "</ul>\n");
    }
    remedy(h, rec, refused);
    rrsets(h, json_object_get(rec, "changes"), "changes",
           refused ? "Change asked for (not written)" : "Changes");
    rrsets(h, json_object_get(rec, "fix"), "fix",
           verdict && strcmp(verdict, "fix") == 0 ? "Fix written"
                                                  : "Fix (what mode=fix would write)");
    metadata(h, json_object_get(rec, "metadata"));
    h_raw(h, "</article>\n");
}

static void decisions_section(struct mxg_strbuf *h, json_t *audit)
{
    h_raw(h, "<section id=\"decisions\">\n<h2>Latest decisions</h2>\n");
    json_t *recs = json_object_get(audit, "records");
    if (!reply_ok(audit) || !json_is_array(recs)) {
        unavailable(h, audit);
    } else if (json_array_size(recs) == 0) {
        h_raw(h, "<p class=\"empty\">No decisions recorded yet.</p>\n");
    } else {
        h_raw(h, "<p class=\"note\">The newest ");
        h_num(h, (long long)json_array_size(recs));
        h_raw(h, " audit records, newest first; refusals are marked.</p>\n");
        for (size_t i = json_array_size(recs); i > 0; i--)
            decision(h, json_array_get(recs, i - 1));
    }
    h_raw(h, "</section>\n");
}

/* ---- the page --------------------------------------------------------------------------- */

static const char STYLE[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;"
    "background:#f5f6f8;color:#1d2330}"
    "header.top{background:#1d2330;color:#fff;padding:14px 24px}"
    "header.top h1{margin:0;font-size:20px}header.top p{margin:2px 0 0;color:#b8c0cc}"
    "main{max-width:1180px;margin:0 auto;padding:8px 24px 40px}"
    "section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:12px 18px;"
    "margin:16px 0}"
    "h2{font-size:17px;margin:4px 0 10px}h3{font-size:15px;margin:14px 0 6px}"
    ".tiles{display:flex;flex-wrap:wrap;gap:8px}"
    ".tile{border:1px solid #dde1e7;border-radius:4px;padding:6px 12px;min-width:110px}"
    ".tile .label{display:block;color:#5b6473;font-size:12px}"
    ".tile .value{font-size:18px;font-weight:600}"
    ".tile.warn .value{color:#a15c00}.tile.bad .value{color:#b3261e}"
    ".chain{padding:8px 12px;border-radius:4px}"
    ".chain.ok{background:#e7f5ea;border:1px solid #9fd3ab}"
    ".chain.bad{background:#fdecea;border:1px solid #e59a93;color:#7d1a13}"
    "code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}"
    ".head{word-break:break-all}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;vertical-align:top;padding:4px 8px;border-bottom:1px solid #eceef2}"
    "th{color:#5b6473;font-weight:600;font-size:12px}"
    "td.zone{white-space:nowrap;font-weight:600;width:30%}ul{margin:0;padding-left:18px}"
    ".rr th:first-child{width:30%}.rr th:nth-child(2){width:8%}"
    ".badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;"
    "font-weight:600;color:#fff;background:#6b7280}"
    ".c-broken,.v-reject{background:#b3261e}.c-at-risk,.v-warn{background:#c77700}"
    ".c-safe,.v-allow{background:#2e7d32}.c-no-mail{background:#6b7280}.v-fix{background:#1565c0}"
    ".decision{border:1px solid #dde1e7;border-left:4px solid #9aa3b0;border-radius:4px;"
    "padding:8px 12px;margin:10px 0}"
    ".decision.refused{border-left-color:#b3261e;background:#fff5f4}"
    ".decision header{margin-bottom:4px}.seq{color:#5b6473;font-weight:600}"
    ".meta{color:#5b6473;font-size:12px}"
    ".sev{font-size:11px;font-weight:700;text-transform:uppercase;padding:0 4px;border-radius:3px}"
    ".s-block{background:#fdecea;color:#b3261e}.s-warn{background:#fff4e0;color:#a15c00}"
    ".s-other{background:#eceef2}"
    ".remedy{margin:6px 0;padding:6px 10px;background:#eef4ff;border:1px solid #b9cdf3;"
    "border-radius:4px}.remedy-text{display:block}"
    ".what{display:block;font-weight:600;font-size:12px;color:#5b6473;margin-top:6px}"
    ".rr td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}"
    ".ttl,.none,.note,.cls{color:#7a8391;font-size:12px}"
    ".unavailable{color:#b3261e;font-weight:600}.empty{color:#5b6473;font-style:italic}";

char *mxg_front_ui_page(json_t *stats, json_t *scan, json_t *audit, json_t *verify)
{
    struct mxg_strbuf h = {0};
    h_raw(&h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
              "<meta name=\"robots\" content=\"noindex\">\n"
              "<title>mxguard operator page</title>\n<style>");
    h_raw(&h, STYLE);
    h_raw(&h, "</style>\n</head>\n<body>\n<header class=\"top\"><h1>mxguard</h1>"
              "<p>Operator page (read-only): the guard's state, zones by class, latest "
              "decisions. Reload to refresh.</p></header>\n<main>\n");
    summary(&h, stats, verify);
    zones_section(&h, scan);
    decisions_section(&h, audit);
    h_raw(&h, "</main>\n</body>\n</html>\n");
    if (h.failed) {
        free(h.p);
        return NULL;
    }
    return h.p;
}
