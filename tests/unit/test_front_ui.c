/* test_front_ui.c -- the operator page /ui/: the HTML from fixed control replies (sections,
 * escaping, a refusal with its remedy, a broken chain, empty and failed replies), the tail of
 * the audit log it asks for, HTTP Basic parsing and the route. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxg/front.h"
#include "mxg/front_ui.h"

static const char STATS[] =
    "{\"ok\": true, \"uptime\": 90061, \"requests\": 40, \"lookups\": 1234, \"cache_hits\": 77,"
    " \"errors\": 0, \"commits\": 9, \"allowed\": 6, \"warned\": 1, \"rejected\": 2, \"fixed\": 1,"
    " \"audit_head\": \"3:aa11\", \"api_refused\": 3}";

static const char SCAN[] =
    "{\"ok\": true, \"broken\": 1, \"zones\": ["
    " {\"zone\": \"safe.example.\", \"class\": \"safe\", \"reasons\": [\"every mail address is "
    "reached through a dedicated path\"]},"
    " {\"zone\": \"risky.example.\", \"class\": \"at-risk\", \"reasons\": [\"mail for "
    "risky.example. follows the apex risky.example.\"]},"
    " {\"zone\": \"nomail.example.\", \"class\": \"no-mail\", \"reasons\": [\"null MX\"]},"
    " {\"zone\": \"<b>&\\\"x.example.\", \"class\": \"broken\", \"reasons\": [\"mail in "
    "<proxy-ranges> & gone\"]},"
    " {\"zone\": \"odd.example.\", \"class\": \"mystery\", \"reasons\": []}"
    "]}";

/* Oldest first, as audit.show answers: an allow, a refusal with its remedy, a fix, an
 * unreadable record. */
static const char AUDIT[] =
    "{\"ok\": true, \"records\": ["
    " {\"seq\": 1, \"time\": \"2026-11-23T20:10:00.123Z\", \"zone\": \"safe.example.\","
    "  \"source\": \"api\", \"mode\": \"reject\", \"verdict\": \"allow\", \"findings\": [],"
    "  \"changes\": [{\"name\": \"www.safe.example.\", \"type\": \"A\","
    "   \"before\": [{\"content\": \"192.0.2.20\", \"ttl\": 3600}],"
    "   \"after\": [{\"content\": \"198.51.100.7\", \"ttl\": 3600}]}], \"fix\": [],"
    "  \"prev\": \"00\", \"hash\": \"h1\"},"
    " {\"seq\": 2, \"time\": \"2026-11-23T20:11:00.000Z\", \"zone\": \"risky.example.\","
    "  \"source\": \"http\", \"mode\": \"reject\", \"verdict\": \"reject\","
    "  \"findings\": [{\"rule\": \"mail-moved\", \"severity\": \"block\","
    "   \"name\": \"risky.example.\", \"family\": \"A\", \"old\": [\"192.0.2.10\"],"
    "   \"new\": [\"203.0.113.80\"], \"reason\": \"mail for risky.example. would move\"}],"
    "  \"changes\": [{\"name\": \"risky.example.\", \"type\": \"A\","
    "   \"before\": [{\"content\": \"192.0.2.10\", \"ttl\": 3600}],"
    "   \"after\": [{\"content\": \"203.0.113.80\", \"ttl\": 3600}]}], \"fix\": [],"
    "  \"remedy\": \"keep risky.example. at its current address & proxy only www\","
    "  \"prev\": \"h1\", \"hash\": \"h2\"},"
    " {\"seq\": 3, \"time\": \"2026-11-23T20:12:00.000Z\", \"zone\": \"fixme.example.\","
    "  \"source\": \"api\", \"mode\": \"fix\", \"verdict\": \"fix\","
    "  \"findings\": [{\"rule\": \"mail-moved\", \"severity\": \"block\","
    "   \"name\": \"fixme.example.\", \"family\": \"A\", \"old\": [], \"new\": [],"
    "   \"reason\": \"moved\"}],"
    "  \"changes\": [], \"fix\": [{\"name\": \"mail.fixme.example.\", \"type\": \"A\","
    "   \"before\": [], \"after\": [{\"content\": \"192.0.2.10\", \"ttl\": 3600}]}],"
    "  \"metadata\": {\"X-MXGUARD-MODE\": [\"fix\"]},"
    "  \"prev\": \"h2\", \"hash\": \"h3\"},"
    " {\"seq\": 4, \"error\": \"unreadable record\"}"
    "]}";

static const char VERIFY_OK[] =
    "{\"ok\": true, \"valid\": true, \"records\": 3, \"head\": \"3:aa11\"}";
static const char VERIFY_BAD[] =
    "{\"ok\": true, \"valid\": false, \"records\": 6, \"head\": \"9:bb22\", \"first_bad\": 7,"
    " \"reason\": \"record 7: hash does not recompute <edited>\"}";

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        fail_msg("fixture: %s at %d", e.text, e.line);
    return j;
}

/* The page from four fixtures (NULL: no reply). */
static char *page(const char *stats, const char *scan, const char *audit, const char *verify)
{
    json_t *s = stats ? load(stats) : NULL, *z = scan ? load(scan) : NULL,
           *a = audit ? load(audit) : NULL, *v = verify ? load(verify) : NULL;
    char *p = mxg_front_ui_page(s, z, a, v);
    json_decref(s);
    json_decref(z);
    json_decref(a);
    json_decref(v);
    assert_non_null(p);
    return p;
}

static const char *find(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);
    if (!p)
        fail_msg("'%s' not in the page", needle);
    return p;
}

static void test_sections(void **state)
{
    char *p = page(STATS, SCAN, AUDIT, VERIFY_OK);
    assert_int_equal(strncmp(p, "<!DOCTYPE html>", 15), 0);
    assert_non_null(strstr(p, "</html>\n"));
    assert_null(strstr(p, "<script"));
    assert_null(strstr(p, "http://"));
    assert_null(strstr(p, "https://"));
    /* the summary, then the zones, then the decisions */
    const char *sum = find(p, "<section id=\"summary\">"), *zon = find(p, "<section id=\"zones\">"),
               *dec = find(p, "<section id=\"decisions\">");
    assert_true(sum < zon && zon < dec);
    find(p, "1d 1h 1m 1s");
    find(p, "<span class=\"label\">Lookups</span><span class=\"value\">1234</span>");
    find(p, "<span class=\"label\">Commits</span><span class=\"value\">9</span>");
    find(p, "<div class=\"tile bad\"><span class=\"label\">Refused</span><span "
            "class=\"value\">2</span>");
    find(p, "<span class=\"label\">Refused by the API front</span><span class=\"value\">3</span>");
    find(p, "<div id=\"chain\" class=\"chain ok\"><strong>Chain valid</strong>");
    find(p, "<code class=\"head\">3:aa11</code>");
    assert_null(strstr(p, "BROKEN"));
    /* zones grouped by class, broken first; an unknown class is shown apart with its name */
    find(p, "5 zones: 1 broken, 1 at-risk, 1 safe, 1 no-mail.");
    const char *b = find(p, "id=\"class-broken\""), *r = find(p, "id=\"class-at-risk\""),
               *s = find(p, "id=\"class-safe\""), *n = find(p, "id=\"class-no-mail\""),
               *o = find(p, "id=\"class-other\"");
    assert_true(b < r && r < s && s < n && n < o);
    assert_true(strstr(p, "risky.example.") > r && strstr(p, "risky.example.") < s);
    find(p, "odd.example. <span class=\"cls\">(mystery)</span>");
    /* decisions newest first */
    const char *d4 = find(p, "<span class=\"seq\">#4</span> unreadable record"),
               *d3 = find(p, "<span class=\"seq\">#3</span>"),
               *d2 = find(p, "<span class=\"seq\">#2</span>"),
               *d1 = find(p, "<span class=\"seq\">#1</span>");
    assert_true(dec < d4 && d4 < d3 && d3 < d2 && d2 < d1);
    find(p, "The newest 4 audit records");
    /* the fix: its records, the metadata */
    find(p, "Fix written");
    find(p, "mail.fixme.example.");
    find(p, "<code>X-MXGUARD-MODE</code> = fix");
    /* an allow is not marked as a refusal and has no remedy */
    const char *a1 = d1;
    assert_null(strstr(a1, "class=\"remedy\""));
    assert_null(strstr(a1, "refused"));
    find(a1, "198.51.100.7");
    free(p);
}

static void test_refusal(void **state)
{
    char *p = page(STATS, SCAN, AUDIT, VERIFY_OK);
    /* the refusal is marked, with its rule, name, reason, values and remedy */
    const char *art = find(p, "<article class=\"decision refused\">");
    const char *end = find(art, "</article>");
    const char *seq = find(art, "<span class=\"seq\">#2</span>");
    assert_true(seq < end);
    const char *rule = find(art, "<code class=\"rule\">mail-moved</code> at <code "
                                 "class=\"name\">risky.example.</code> (A)");
    assert_true(rule < end);
    assert_true(find(art, "mail for risky.example. would move") < end);
    assert_true(find(art, "192.0.2.10 &rarr; 203.0.113.80") < end);
    assert_true(find(art, "<span class=\"badge v-reject\">reject</span>") < end);
    assert_true(find(art, "<span class=\"sev s-block\">block</span>") < end);
    const char *rem = find(art, "<div class=\"remedy\">");
    assert_true(rem < end);
    assert_true(find(rem, "keep risky.example. at its current address &amp; proxy only www") < end);
    assert_true(find(art, "Change asked for (not written)") < end);
    /* only one refusal in the fixture */
    assert_null(strstr(end, "decision refused"));
    free(p);

    /* a refusal without a recorded remedy says where to get one; with a fix, points at it */
    p = page(STATS, SCAN,
             "{\"ok\": true, \"records\": [{\"seq\": 5, \"zone\": \"a.example.\", \"verdict\": "
             "\"reject\", \"findings\": [], \"changes\": [], \"fix\": []}, {\"seq\": 6, \"zone\": "
             "\"b.example.\", \"verdict\": \"reject\", \"findings\": [], \"changes\": [], \"fix\": "
             "[{\"name\": \"mail.b.example.\", \"type\": \"A\", \"before\": [], \"after\": []}]}, "
             "{\"seq\": 7, \"zone\": \"c.example.\", \"verdict\": \"reject\", \"remedies\": "
             "[\"first way\", \"second way\"]}]}",
             VERIFY_OK);
    find(p, "none recorded; <code>mxguard check</code> with the same change names one");
    find(p, "apply the fix below (what mode=fix writes)");
    find(p, "Fix (what mode=fix would write)");
    const char *w1 = find(p, "<span class=\"remedy-text\">first way</span>");
    assert_true(find(p, "<span class=\"remedy-text\">second way</span>") > w1);
    free(p);
}

static void test_escaping(void **state)
{
    char *p = page(STATS, SCAN, AUDIT, VERIFY_BAD);
    /* the hostile zone name and reason, escaped everywhere */
    assert_null(strstr(p, "<b>"));
    assert_null(strstr(p, "<proxy-ranges>"));
    assert_null(strstr(p, "<edited>"));
    assert_null(strstr(p, "& "));
    assert_null(strstr(p, "\"x.example"));
    find(p, "&lt;b&gt;&amp;&quot;x.example.");
    find(p, "mail in &lt;proxy-ranges&gt; &amp; gone");
    free(p);

    char *e = mxg_front_ui_escape("a<b>&\"c'd");
    assert_string_equal(e, "a&lt;b&gt;&amp;&quot;c&#39;d");
    free(e);
    e = mxg_front_ui_escape("");
    assert_string_equal(e, "");
    free(e);
    e = mxg_front_ui_escape(NULL);
    assert_string_equal(e, "");
    free(e);
    e = mxg_front_ui_escape("plain.example.");
    assert_string_equal(e, "plain.example.");
    free(e);
}

static void test_broken_chain(void **state)
{
    char *p = page(STATS, SCAN, AUDIT, VERIFY_BAD);
    const char *c = find(p, "<div id=\"chain\" class=\"chain bad\"><strong>Chain BROKEN</strong>");
    find(c, "6 records checked.");
    find(c, "First bad record: <span class=\"first-bad\">seq 7</span>: record 7: hash does not "
            "recompute &lt;edited&gt;");
    find(c, "<code class=\"head\">9:bb22</code>");
    assert_null(strstr(p, "Chain valid"));
    free(p);
}

static void test_empty(void **state)
{
    /* no zones, no records */
    char *p =
        page("{\"ok\": true, \"uptime\": 0, \"audit_head\": \"0:0000\"}",
             "{\"ok\": true, \"zones\": [], \"broken\": 0}", "{\"ok\": true, \"records\": []}",
             "{\"ok\": true, \"valid\": true, \"records\": 0, \"head\": \"0:0000\"}");
    find(p, "No zones are served.");
    find(p, "<span class=\"value\">0s</span>");
    /* not counted by the front: no tile */
    assert_null(strstr(p, "Refused by the API front"));
    find(p, "No decisions recorded yet.");
    find(p, "0 records checked.");
    assert_null(strstr(p, "<article"));
    assert_null(strstr(p, "class=\"group\""));
    free(p);

    /* no replies at all: each section says so, the page is still whole */
    p = page(NULL, NULL, NULL, NULL);
    assert_non_null(strstr(p, "</html>"));
    const char *u = find(p, "Unavailable.");
    u = find(u + 1, "Unavailable.");
    u = find(u + 1, "Unavailable.");
    u = find(u + 1, "Unavailable.");
    assert_null(strstr(u + 1, "Unavailable"));
    free(p);

    /* an error reply: its message, escaped */
    p = page("{\"ok\": false, \"error\": {\"code\": \"unavailable\", \"message\": \"stats come "
             "from a <running> daemon\"}}",
             "{\"ok\": true}", "{\"ok\": true, \"records\": 5}", "[]");
    find(p, "Unavailable: stats come from a &lt;running&gt; daemon.");
    free(p);
}

static void test_after(void **state)
{
    json_t *s = json_pack("{s:s}", "audit_head", "120:abcd");
    assert_int_equal(mxg_front_ui_after(s, 50), 70);
    assert_int_equal(mxg_front_ui_after(s, 120), 0);
    assert_int_equal(mxg_front_ui_after(s, 500), 0);
    json_object_set_new(s, "audit_head", json_string("0:0000"));
    assert_int_equal(mxg_front_ui_after(s, 50), 0);
    json_object_set_new(s, "audit_head", json_string("unknown"));
    assert_int_equal(mxg_front_ui_after(s, 50), 0);
    json_object_set_new(s, "audit_head", json_string("-5:00"));
    assert_int_equal(mxg_front_ui_after(s, 1), 0);
    json_object_set_new(s, "audit_head", json_string("99"));
    assert_int_equal(mxg_front_ui_after(s, 1), 0);
    json_object_set_new(s, "audit_head", json_integer(99));
    assert_int_equal(mxg_front_ui_after(s, 1), 0);
    json_decref(s);
    assert_int_equal(mxg_front_ui_after(NULL, 50), 0);
}

static void test_basic(void **state)
{
    char pw[64];
    assert_true(mxg_front_basic_password("Basic b3A6a2V5LTE=", pw, sizeof(pw)));
    assert_string_equal(pw, "key-1");
    /* the scheme in any case, more than one space, trailing space */
    assert_true(mxg_front_basic_password("bAsIc   b3A6a2V5LTE=  ", pw, sizeof(pw)));
    assert_string_equal(pw, "key-1");
    /* the password may hold ':', the user may be empty, padding may be left out */
    assert_true(mxg_front_basic_password("Basic b3A6YTpi", pw, sizeof(pw)));
    assert_string_equal(pw, "a:b");
    assert_true(mxg_front_basic_password("Basic OnB3", pw, sizeof(pw)));
    assert_string_equal(pw, "pw");
    assert_true(mxg_front_basic_password("Basic b3A6a2V5LTE", pw, sizeof(pw)));
    assert_string_equal(pw, "key-1");
    assert_true(mxg_front_basic_password("Basic b3A6", pw, sizeof(pw)));
    assert_string_equal(pw, "");
    /* not Basic, malformed, no ':', a NUL byte, too long */
    assert_false(mxg_front_basic_password(NULL, pw, sizeof(pw)));
    assert_false(mxg_front_basic_password("", pw, sizeof(pw)));
    assert_false(mxg_front_basic_password("Bearer b3A6a2V5LTE=", pw, sizeof(pw)));
    assert_false(mxg_front_basic_password("Basic", pw, sizeof(pw)));
    assert_false(mxg_front_basic_password("Basic ", pw, sizeof(pw)));
    assert_false(mxg_front_basic_password("Basicb3A6a2V5LTE=", pw, sizeof(pw)));
    assert_false(mxg_front_basic_password("Basic b3A6a2V5LTE= extra", pw, sizeof(pw)));
    assert_false(mxg_front_basic_password("Basic b3A6a2V5L!E=", pw, sizeof(pw)));
    assert_false(mxg_front_basic_password("Basic b", pw, sizeof(pw)));
    assert_false(mxg_front_basic_password("Basic bm9jb2xvbg==", pw, sizeof(pw)));
    assert_false(mxg_front_basic_password("Basic b3A6awBleQ==", pw, sizeof(pw)));
    assert_false(mxg_front_basic_password(
        "Basic b3A6eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eA==", pw, 40));
    assert_true(mxg_front_basic_password(
        "Basic b3A6eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eA==", pw, 41));
    assert_int_equal(strlen(pw), 40);
    assert_false(mxg_front_basic_password("Basic b3A6a2V5LTE=", pw, 0));
    /* longer than any key: refused, not cut */
    char big[3000] = "Basic ";
    memset(big + 6, 'Q', 2992);
    big[6 + 2992] = '\0';
    assert_false(mxg_front_basic_password(big, pw, sizeof(pw)));
}

static void test_route(void **state)
{
    char zone[64];
    assert_int_equal(mxg_front_route("GET", "/ui/", zone, sizeof(zone)), MXG_ROUTE_UI);
    assert_string_equal(zone, "");
    assert_int_equal(mxg_front_route("GET", "/ui", zone, sizeof(zone)), MXG_ROUTE_UI);
    assert_int_equal(mxg_front_route("get", "/ui/", zone, sizeof(zone)), MXG_ROUTE_UI);
    assert_int_equal(mxg_front_route("HEAD", "/ui/", zone, sizeof(zone)), MXG_ROUTE_UI);
    assert_int_equal(mxg_front_route("POST", "/ui/", zone, sizeof(zone)), MXG_ROUTE_BAD_METHOD);
    assert_int_equal(mxg_front_route("DELETE", "/ui", zone, sizeof(zone)), MXG_ROUTE_BAD_METHOD);
    assert_int_equal(mxg_front_route("GET", "/uix", zone, sizeof(zone)), MXG_ROUTE_FORWARD);
    assert_true(mxg_front_operator_only(MXG_ROUTE_UI));
    /* a Basic password is a key like any other: the panel key is not the operator's */
    char pw[64];
    assert_true(mxg_front_basic_password("Basic b3A6a2V5LTE=", pw, sizeof(pw)));
    assert_int_equal(mxg_front_auth(pw, "panel", "key-1"), MXG_AUTH_OPERATOR);
    assert_int_equal(mxg_front_auth(pw, "key-1", "operator"), MXG_AUTH_PANEL);
    assert_int_equal(mxg_front_auth(pw, "panel", "operator"), MXG_AUTH_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sections), cmocka_unit_test(test_refusal),
        cmocka_unit_test(test_escaping), cmocka_unit_test(test_broken_chain),
        cmocka_unit_test(test_empty),    cmocka_unit_test(test_after),
        cmocka_unit_test(test_basic),    cmocka_unit_test(test_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
