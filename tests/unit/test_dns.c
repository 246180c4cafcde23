/* test_dns.c -- unit tests for dns_name.c, dns_rr.c and zonefile.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mxg/dns.h"
#include "mxg/err.h"

#ifndef MXG_TEST_DATA
#define MXG_TEST_DATA "tests/data"
#endif

#define ZONES MXG_TEST_DATA "/zones/unit"

static char content[MXG_CONTENT_MAX + 1];

/* ---- names ------------------------------------------------------------------------------ */

static void canon_ok(const char *in, const char *want)
{
    char out[MXG_NAME_TEXT_MAX + 1];
    int rc = mxg_name_canon(in, out, sizeof(out));
    if (rc != MXG_OK || strcmp(out, want) != 0) {
        print_error("mxg_name_canon(\"%s\") = %d \"%s\", want \"%s\"\n", in, rc,
                    rc == MXG_OK ? out : "", want);
        fail();
    }
}

static void canon_rc(const char *in, int want)
{
    char out[MXG_NAME_TEXT_MAX + 1];
    int rc = mxg_name_canon(in, out, sizeof(out));
    if (rc != want) {
        print_error("mxg_name_canon(\"%s\") = %d, want %d\n", in != NULL ? in : "(null)", rc, want);
        fail();
    }
}

/* n labels of len octets each, joined by dots. */
static char *labels_of(char *buf, size_t n, size_t len, bool trailing_dot)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        memset(buf + w, 'a' + (int)(i % 26), len);
        w += len;
        if (i + 1 < n || trailing_dot) {
            buf[w++] = '.';
        }
    }
    buf[w] = '\0';
    return buf;
}

static void test_name_canon(void **state)
{
    (void)state;
    char buf[MXG_NAME_TEXT_MAX * 2];
    char out[MXG_NAME_TEXT_MAX + 1];

    canon_ok("WWW.Example.COM", "www.example.com.");
    canon_ok("www.example.com.", "www.example.com.");
    canon_ok("", ".");
    canon_ok(".", ".");
    canon_ok("com", "com.");
    canon_ok("*.Example.com", "*.example.com.");
    canon_ok("_sip._UDP.example.com", "_sip._udp.example.com.");
    canon_ok("a\\065b.com", "aab.com.");   /* \DDD decoded, then lowercased */
    canon_ok("a\\.b.com", "a\\.b.com.");   /* escaped dot stays inside the label */
    canon_ok("a\\\\b.com", "a\\\\b.com."); /* escaped backslash */
    canon_ok("a b.com", "a\\032b.com.");   /* space and other unsafe octets as \DDD */
    canon_ok("a\\000b.", "a\\000b.");
    canon_ok("\\#x.", "#x."); /* pdns's form: printable ASCII but '.' and '\' unescaped */
    canon_ok(labels_of(buf, 1, 63, false), strcat(labels_of(out, 1, 63, false), "."));
    /* 3*64 + 62 + 1 = 255 octets of wire: the longest name. */
    labels_of(buf, 4, 63, false);
    buf[strlen(buf) - 2] = '\0';
    canon_rc(buf, MXG_OK);

    canon_rc(NULL, MXG_EINVAL);
    canon_rc("..", MXG_EINVAL);
    canon_rc("a..b", MXG_EINVAL);
    canon_rc(".com", MXG_EINVAL);
    canon_rc("a\\", MXG_EINVAL);
    canon_rc("a\\25", MXG_EINVAL);
    canon_rc("a\\256.", MXG_EINVAL);
    canon_rc(labels_of(buf, 1, 64, true), MXG_ERANGE);
    canon_rc(labels_of(buf, 2, 64, false), MXG_ERANGE);
    /* 64 octets written as escapes. */
    buf[0] = '\0';
    for (int i = 0; i < 64; i++) {
        strcat(buf, "\\065");
    }
    canon_rc(buf, MXG_ERANGE);
    /* 4*64 + 1 = 257 octets of wire. */
    canon_rc(labels_of(buf, 4, 63, true), MXG_ERANGE);
    /* 3*64 + 63 + 1 = 256. */
    labels_of(buf, 4, 63, false);
    buf[strlen(buf) - 1] = '\0';
    canon_rc(buf, MXG_ERANGE);
    /* Longer than any name text could be. */
    memset(buf, 'a', MXG_NAME_TEXT_MAX + 1);
    buf[MXG_NAME_TEXT_MAX + 1] = '\0';
    canon_rc(buf, MXG_ERANGE);
    /* Output too small. */
    assert_int_equal(mxg_name_canon("example.com", out, 12), MXG_ERANGE);
    assert_int_equal(mxg_name_canon("example.com", out, 13), MXG_OK);
    assert_string_equal(out, "example.com.");
    assert_int_equal(mxg_name_canon("example.com", out, 0), MXG_ERANGE);
    assert_int_equal(mxg_name_canon("example.com", NULL, 0), MXG_ERANGE);
}

/* Names as pdns 4.7 writes them (DNSName::toString: printable ASCII but '.' and '\' as it is,
 * "\." "\\" and \DDD for the rest), as a zone file or nsupdate writes them (RFC 1035 escapes),
 * and the canonical form, which is pdns's own, lowercased: the form pdns's gsqlite3 stores. */
static void test_name_pdns_form(void **state)
{
    (void)state;
    char buf[MXG_NAME_TEXT_MAX * 2];
    char out[MXG_NAME_TEXT_MAX + 1];

    /* What pdns sends for an owner "M\(ai\)L" written with nsupdate, and both spellings. */
    canon_ok("M(ai)L.example.com.", "m(ai)l.example.com.");
    canon_ok("M\\(ai\\)L.example.com", "m(ai)l.example.com.");
    canon_ok("m\\040ai\\041l.example.com", "m(ai)l.example.com.");
    /* Characters special in zone files are plain octets in pdns's names. */
    canon_ok("q\"uote.example.com.", "q\"uote.example.com.");
    canon_ok("q\\\"uote.example.com.", "q\"uote.example.com.");
    canon_ok("semi;colon.example.com.", "semi;colon.example.com.");
    canon_ok("semi\\;colon.example.com.", "semi;colon.example.com.");
    canon_ok("at@sign.example.com.", "at@sign.example.com.");
    canon_ok("dol$lar.example.com.", "dol$lar.example.com.");
    canon_ok("hash#.example.com.", "hash#.example.com.");
    canon_ok("p!u&n=c?t^u|a<t>i`o~n'{x}[y],+%.example.com.",
             "p!u&n=c?t^u|a<t>i`o~n'{x}[y],+%.example.com.");
    canon_ok("p\\!u\\&n\\=c\\?t\\^u\\|a\\<t\\>i\\`o\\~n\\'\\{x\\}\\[y\\]\\,\\+\\%.example.com.",
             "p!u&n=c?t^u|a<t>i`o~n'{x}[y],+%.example.com.");
    canon_ok("star*mid.example.com.", "star*mid.example.com.");
    /* '.' and '\' inside a label stay escaped; space, control octets, DEL and non-ASCII are
     * \DDD (raw or escaped on input), non-ASCII is not case-folded. */
    canon_ok("dot\\.inlabel.example.com.", "dot\\.inlabel.example.com.");
    canon_ok("dot\\046inlabel.example.com.", "dot\\.inlabel.example.com.");
    canon_ok("back\\\\slash.example.com.", "back\\\\slash.example.com.");
    canon_ok("back\\092slash.example.com.", "back\\\\slash.example.com.");
    canon_ok("sp\\032ace.example.com.", "sp\\032ace.example.com.");
    canon_ok("sp\\ ace.example.com.", "sp\\032ace.example.com.");
    canon_ok("tab\\009.example.com.", "tab\\009.example.com.");
    canon_ok("tab\t.example.com.", "tab\\009.example.com.");
    canon_ok("del\\127.example.com.", "del\\127.example.com.");
    canon_ok("nul\\000x.example.com.", "nul\\000x.example.com.");
    canon_ok("caf\\195\\169.example.com.", "caf\\195\\169.example.com.");
    canon_ok("caf\xc3\xa9.example.com.", "caf\\195\\169.example.com.");
    canon_ok("CAF\\195\\137.Example.COM", "caf\\195\\137.example.com."); /* É stays É */
    canon_ok("UPPER.Example.COM.", "upper.example.com.");
    canon_ok("\\065\\066.", "ab.");
    canon_ok("\\(", "(.");
    canon_ok("@", "@."); /* a label, not the origin */

    /* Both spellings are one name everywhere. */
    assert_true(mxg_name_is_below("x.m(ai)l.example.com.", "m\\(ai\\)l.example.com."));
    assert_true(mxg_name_is_below("m\\(ai\\)l.example.com", "m(ai)l.example.com."));
    assert_false(mxg_name_is_below("m(ai)l.example.com.", "ai)l.example.com."));
    uint8_t k1[MXG_NAME_WIRE_MAX * 2], k2[MXG_NAME_WIRE_MAX * 2];
    size_t l1 = 0, l2 = 0;
    assert_int_equal(mxg_name_rkey("m(ai)l.example.com.", k1, sizeof(k1), &l1), MXG_OK);
    assert_int_equal(mxg_name_rkey("M\\(AI\\)L.example.com.", k2, sizeof(k2), &l2), MXG_OK);
    assert_int_equal(l1, l2);
    assert_memory_equal(k1, k2, l1);
    assert_int_equal(mxg_name_parent("x.m(ai)l.example.com.", out, sizeof(out)), MXG_OK);
    assert_string_equal(out, "m(ai)l.example.com.");
    assert_int_equal(mxg_name_parent("a\\.b.c.", out, sizeof(out)), MXG_OK);
    assert_string_equal(out, "c.");
    assert_int_equal(mxg_name_labels("a\\.b\\\\.c."), 2);
    assert_int_equal(mxg_name_to_db("dot\\.inlabel.example.com.", out, sizeof(out)), MXG_OK);
    assert_string_equal(out, "dot\\.inlabel.example.com");
    assert_int_equal(mxg_name_to_db("a\\..", out, sizeof(out)), MXG_OK); /* label "a." */
    assert_string_equal(out, "a\\.");

    /* The limits count octets, whatever the spelling: 63 "(" are a label, 64 are not. */
    buf[0] = '\0';
    for (int i = 0; i < 63; i++) {
        strcat(buf, i % 2 ? "(" : "\\(");
    }
    canon_rc(buf, MXG_OK);
    strcat(buf, "(");
    canon_rc(buf, MXG_ERANGE);
    /* 255 octets of "\255" labels: 4 * 63 + ... = the longest name, every octet as \DDD. */
    buf[0] = '\0';
    for (int l = 0; l < 4; l++) {
        for (int i = 0; i < (l < 3 ? 63 : 61); i++) {
            strcat(buf, "\\255");
        }
        strcat(buf, ".");
    }
    assert_int_equal(mxg_name_canon(buf, out, sizeof(out)), MXG_OK);
    assert_string_equal(out, buf);
    assert_int_equal(strlen(out), 250 * 4 + 4);
    canon_rc("a\\1b.", MXG_EINVAL);  /* \D must be \DDD */
    canon_rc("a\\999.", MXG_EINVAL); /* over 255 */
    canon_rc("(..)", MXG_EINVAL);    /* empty label */
    canon_rc("a\\.\\", MXG_EINVAL);  /* trailing backslash */

    /* mxg_name_format: case kept, pdns's form or one master-file token. */
    assert_int_equal(mxg_name_format("M\\(ai\\)L.Example", MXG_NAME_PDNS, out, sizeof(out)),
                     MXG_OK);
    assert_string_equal(out, "M(ai)L.Example.");
    assert_int_equal(mxg_name_format("M(ai)L.Example", MXG_NAME_ZONEFILE, out, sizeof(out)),
                     MXG_OK);
    assert_string_equal(out, "M\\040ai\\041L.Example.");
    assert_int_equal(mxg_name_format("q\";@$#\\.\\\\ x*_-/.", MXG_NAME_ZONEFILE, out, sizeof(out)),
                     MXG_OK);
    assert_string_equal(out, "q\\034\\059\\064\\036\\035\\046\\092\\032x*_-/.");
    assert_int_equal(mxg_name_format("", MXG_NAME_ZONEFILE, out, sizeof(out)), MXG_OK);
    assert_string_equal(out, ".");
    assert_int_equal(mxg_name_format("a..b", MXG_NAME_PDNS, out, sizeof(out)), MXG_EINVAL);
    assert_int_equal(mxg_name_format("a", (enum mxg_name_style)7, out, sizeof(out)), MXG_EINVAL);
    assert_int_equal(mxg_name_format("abc", MXG_NAME_PDNS, out, 4), MXG_ERANGE);
    assert_int_equal(mxg_name_format("abc", MXG_NAME_PDNS, out, 5), MXG_OK);

    /* mxg_name_from_wire: lowercase, pdns's form; malformed wire refused. */
    static const uint8_t w1[] = {6, 'M', '(', 'a', 'i', ')', 'L', 3, 'a', '.', ' ', 0};
    assert_int_equal(mxg_name_from_wire(w1, sizeof(w1), out, sizeof(out)), MXG_OK);
    assert_string_equal(out, "m(ai)l.a\\.\\032.");
    static const uint8_t root[] = {0};
    assert_int_equal(mxg_name_from_wire(root, 1, out, sizeof(out)), MXG_OK);
    assert_string_equal(out, ".");
    assert_int_equal(mxg_name_from_wire(w1, sizeof(w1) - 1, out, sizeof(out)), MXG_EINVAL);
    static const uint8_t w64[65] = {64};
    assert_int_equal(mxg_name_from_wire(w64, sizeof(w64), out, sizeof(out)), MXG_EINVAL);
    assert_int_equal(mxg_name_from_wire(w1, sizeof(w1), out, 5), MXG_ERANGE);
    assert_int_equal(mxg_name_from_wire(NULL, 0, out, sizeof(out)), MXG_EINVAL);
    assert_int_equal(mxg_name_from_wire(w1, sizeof(w1), NULL, 0), MXG_ERANGE);
}

static void test_name_to_db(void **state)
{
    (void)state;
    char out[64];

    assert_int_equal(mxg_name_to_db("www.example.com.", out, sizeof(out)), MXG_OK);
    assert_string_equal(out, "www.example.com");
    assert_int_equal(mxg_name_to_db(".", out, sizeof(out)), MXG_OK);
    assert_string_equal(out, "");
    assert_int_equal(mxg_name_to_db("a\\..", out, sizeof(out)), MXG_OK);
    assert_string_equal(out, "a\\.");
    assert_int_equal(mxg_name_to_db("example.com.", out, 12), MXG_OK);
    assert_string_equal(out, "example.com");
    assert_int_equal(mxg_name_to_db("example.com.", out, 11), MXG_ERANGE);
    assert_int_equal(mxg_name_to_db(".", out, 0), MXG_ERANGE);
    assert_int_equal(mxg_name_to_db(NULL, out, sizeof(out)), MXG_ERANGE);
}

static void test_name_is_below(void **state)
{
    (void)state;
    assert_true(mxg_name_is_below("example.com.", "example.com."));
    assert_true(mxg_name_is_below("www.example.com.", "example.com."));
    assert_true(mxg_name_is_below("a.b.example.com.", "example.com."));
    assert_true(mxg_name_is_below("example.com.", "."));
    assert_true(mxg_name_is_below(".", "."));
    assert_false(mxg_name_is_below("xexample.com.", "example.com."));
    assert_false(mxg_name_is_below("example.com.", "www.example.com."));
    assert_false(mxg_name_is_below("example.org.", "example.com."));
    assert_false(mxg_name_is_below(".", "com."));
    /* Label-wise: "a.example" is one label here. */
    assert_false(mxg_name_is_below("a\\.example.com.", "example.com."));
    assert_true(mxg_name_is_below("x.a\\.example.com.", "a\\.example.com."));
    assert_false(mxg_name_is_below("bad..name.", "."));
    assert_false(mxg_name_is_below(NULL, "."));
    assert_false(mxg_name_is_below("com.", NULL));
}

static void test_name_parent(void **state)
{
    (void)state;
    char out[MXG_NAME_TEXT_MAX + 1];

    assert_int_equal(mxg_name_parent("www.example.com.", out, sizeof(out)), MXG_OK);
    assert_string_equal(out, "example.com.");
    assert_int_equal(mxg_name_parent("com.", out, sizeof(out)), MXG_OK);
    assert_string_equal(out, ".");
    assert_int_equal(mxg_name_parent("a\\.b.com.", out, sizeof(out)), MXG_OK);
    assert_string_equal(out, "com.");
    assert_int_equal(mxg_name_parent(".", out, sizeof(out)), MXG_ENOENT);
    assert_int_equal(mxg_name_parent("www.example.com.", out, 5), MXG_ERANGE);
    assert_int_equal(mxg_name_parent("bad..name.", out, sizeof(out)), MXG_EINVAL);
    assert_int_equal(mxg_name_parent(NULL, out, sizeof(out)), MXG_EINVAL);
}

static void test_name_labels(void **state)
{
    (void)state;
    assert_int_equal(mxg_name_labels("."), 0);
    assert_int_equal(mxg_name_labels("com."), 1);
    assert_int_equal(mxg_name_labels("www.example.com."), 3);
    assert_int_equal(mxg_name_labels("a\\.b.com."), 2);
    assert_int_equal(mxg_name_labels("bad..name."), MXG_EINVAL);
    assert_int_equal(mxg_name_labels(NULL), MXG_EINVAL);
}

struct key {
    uint8_t k[2 * MXG_NAME_WIRE_MAX + 2];
    size_t len;
};

static void rkey_of(const char *name, struct key *key)
{
    char canon[MXG_NAME_TEXT_MAX + 1];
    assert_int_equal(mxg_name_canon(name, canon, sizeof(canon)), MXG_OK);
    assert_int_equal(mxg_name_rkey(canon, key->k, sizeof(key->k), &key->len), MXG_OK);
}

static int key_cmp(const struct key *a, const struct key *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->k, b->k, n);
    if (c != 0) {
        return c;
    }
    return a->len < b->len ? -1 : (a->len > b->len ? 1 : 0);
}

static bool key_is_prefix(const struct key *p, const struct key *k)
{
    return p->len <= k->len && memcmp(p->k, k->k, p->len) == 0;
}

static void test_name_rkey(void **state)
{
    (void)state;
    struct key a, b, root;

    /* Layout: labels root-down, each terminated by 0x00. */
    rkey_of("www.Example.com.", &a);
    assert_int_equal(a.len, 16);
    assert_memory_equal(a.k, "com\0example\0www\0", 16);
    rkey_of(".", &root);
    assert_int_equal(root.len, 0);

    /* 0x00 and 0x01 inside labels are escaped; 0x00 only terminates. */
    rkey_of("\\000\\001\\002.", &a);
    assert_int_equal(a.len, 6);
    assert_memory_equal(a.k, "\x01\x01\x01\x02\x02\x00", 6);

    /* Prefix property. */
    rkey_of("example.com.", &a);
    rkey_of("www.example.com.", &b);
    assert_true(key_is_prefix(&a, &b));
    rkey_of("a.b.c.example.com.", &b);
    assert_true(key_is_prefix(&a, &b));
    assert_true(key_is_prefix(&root, &b));
    rkey_of("xexample.com.", &b);
    assert_false(key_is_prefix(&a, &b));
    rkey_of("example\\000.com.", &b);
    assert_false(key_is_prefix(&a, &b));
    rkey_of("example.com.x.", &b);
    assert_false(key_is_prefix(&a, &b));

    /* RFC 4034 section 6.1: the example names in canonical order... */
    static const char *const rfc[] = {
        "example.",         "a.example.",      "yljkjljk.a.example.",
        "Z.a.example.",     "zABC.a.EXAMPLE.", "z.example.",
        "\\001.z.example.", "*.z.example.",    "\\200.z.example.",
    };
    /* ...and more names around them: shorter label first, escaped 0x00/0x01/0x02 octets. */
    static const char *const more[] = {
        "exampla.",      "example.",         "a.example.",    "yljkjljk.a.example.",
        "Z.a.example.",  "zABC.a.EXAMPLE.",  "z.example.",    "\\001.z.example.",
        "*.z.example.",  "\\200.z.example.", "example\\000.", "example\\001.",
        "example\\002.", "a.example\\002.",  "examplez.",
    };
    const char *const *lists[] = {rfc, more};
    const size_t counts[] = {sizeof(rfc) / sizeof(rfc[0]), sizeof(more) / sizeof(more[0])};
    for (size_t l = 0; l < 2; l++) {
        for (size_t i = 0; i + 1 < counts[l]; i++) {
            rkey_of(lists[l][i], &a);
            rkey_of(lists[l][i + 1], &b);
            if (key_cmp(&a, &b) >= 0) {
                print_error("rkey order: \"%s\" !< \"%s\"\n", lists[l][i], lists[l][i + 1]);
                fail();
            }
        }
    }
    /* Case does not matter. */
    rkey_of("WWW.EXAMPLE.COM.", &a);
    rkey_of("www.example.com.", &b);
    assert_int_equal(key_cmp(&a, &b), 0);

    /* Errors. */
    uint8_t small[8];
    size_t len = 0;
    assert_int_equal(mxg_name_rkey("www.example.com.", small, sizeof(small), &len), MXG_ERANGE);
    assert_int_equal(mxg_name_rkey("\\000.", small, 2, &len), MXG_ERANGE);
    assert_int_equal(mxg_name_rkey("\\000.", small, 3, &len), MXG_OK);
    assert_int_equal(len, 3);
    assert_int_equal(mxg_name_rkey("a.", small, 1, &len), MXG_ERANGE);
    assert_int_equal(mxg_name_rkey("bad..name.", a.k, sizeof(a.k), &len), MXG_EINVAL);
    assert_int_equal(mxg_name_rkey(NULL, a.k, sizeof(a.k), &len), MXG_EINVAL);
    assert_int_equal(mxg_name_rkey("a.", NULL, 0, &len), MXG_EINVAL);
    assert_int_equal(mxg_name_rkey("a.", a.k, sizeof(a.k), NULL), MXG_EINVAL);
}

/* ---- types ------------------------------------------------------------------------------ */

static void type_ok(const char *in, const char *want, uint16_t wantnum)
{
    char out[MXG_TYPE_MAX];
    uint16_t num = 0;
    int rc = mxg_rrtype_parse(in, out, sizeof(out), &num);
    if (rc != MXG_OK || strcmp(out, want) != 0 || num != wantnum) {
        print_error("mxg_rrtype_parse(\"%s\") = %d \"%s\" %u\n", in, rc, out, num);
        fail();
    }
}

static void type_bad(const char *in)
{
    char out[MXG_TYPE_MAX];
    uint16_t num = 0;
    int rc = mxg_rrtype_parse(in, out, sizeof(out), &num);
    if (rc != MXG_EINVAL) {
        print_error("mxg_rrtype_parse(\"%s\") = %d, want MXG_EINVAL\n", in ? in : "(null)", rc);
        fail();
    }
}

static void test_rrtype_parse(void **state)
{
    (void)state;
    type_ok("a", "A", 1);
    type_ok("Mx", "MX", 15);
    type_ok("aaaa", "AAAA", 28);
    type_ok("nsec3param", "NSEC3PARAM", 51);
    type_ok("TYPE65534", "TYPE65534", 65534);
    type_ok("type1", "A", 1);
    type_ok("TYPE257", "CAA", 257);
    type_ok("TYPE7", "MB", 7); /* obsolete, no mnemonic in knot: pdns's */
    type_ok("mg", "MG", 8);
    type_ok("NULL", "TYPE10", 10); /* knot's name, which pdns does not know */
    type_ok("A6", "A6", 38);
    type_ok("DLV", "DLV", 32769);
    type_ok("alias", "ALIAS", 65401);
    type_ok("TYPE65401", "ALIAS", 65401);
    type_ok("Lua", "LUA", 65402);
    type_ok("TYPE65535", "TYPE65535", 65535);

    type_bad("ANY");
    type_bad("any");
    type_bad("TYPE0");
    type_bad("TYPE00");
    type_bad("ENT");
    type_bad("TYPE255");
    type_bad("AXFR");
    type_bad("IXFR");
    type_bad("OPT");
    type_bad("TSIG");
    type_bad("TKEY");
    type_bad("TYPE253");
    type_bad("TYPE254");
    type_bad("TYPE65536");
    type_bad("TYPE");
    type_bad("TYPE+1");
    type_bad("TYPE-1");
    type_bad("TYPE 1");
    type_bad("TYPE1x");
    type_bad("FOO");
    type_bad("");
    type_bad("A ");
    type_bad("TYPE1234567890123");
    type_bad(NULL);

    char small[3];
    uint16_t num = 0;
    assert_int_equal(mxg_rrtype_parse("MX", small, sizeof(small), &num), MXG_OK);
    assert_int_equal(mxg_rrtype_parse("AAAA", small, sizeof(small), &num), MXG_ERANGE);
    assert_int_equal(mxg_rrtype_parse("MX", small, sizeof(small), NULL), MXG_EINVAL);
}

static void test_rrtype_name(void **state)
{
    (void)state;
    char out[MXG_TYPE_MAX];

    assert_int_equal(mxg_rrtype_name(15, out, sizeof(out)), MXG_OK);
    assert_string_equal(out, "MX");
    assert_int_equal(mxg_rrtype_name(999, out, sizeof(out)), MXG_OK);
    assert_string_equal(out, "TYPE999");
    assert_int_equal(mxg_rrtype_name(65401, out, sizeof(out)), MXG_OK);
    assert_string_equal(out, "ALIAS");
    assert_int_equal(mxg_rrtype_name(65402, out, sizeof(out)), MXG_OK);
    assert_string_equal(out, "LUA");
    assert_int_equal(mxg_rrtype_name(0, out, sizeof(out)), MXG_EINVAL);
    assert_int_equal(mxg_rrtype_name(255, out, sizeof(out)), MXG_EINVAL);
    assert_int_equal(mxg_rrtype_name(41, out, sizeof(out)), MXG_EINVAL);
    assert_int_equal(mxg_rrtype_name(15, out, 2), MXG_ERANGE);
    assert_int_equal(mxg_rrtype_name(65401, out, 5), MXG_ERANGE);
    assert_int_equal(mxg_rrtype_name(15, NULL, 0), MXG_ERANGE);
}

/* ---- content ---------------------------------------------------------------------------- */

struct norm_case {
    const char *type;
    const char *in;
    const char *want;
};

static const struct norm_case norm_ok[] = {
    /* pdns form, zone-file form, spacing, case of the type */
    {"A", "192.0.2.1", "192.0.2.1"},
    {"a", "  192.0.2.1\t", "192.0.2.1"},
    {"A", "\\# 4 c0000201", "192.0.2.1"},
    {"AAAA", "2001:DB8:0:0::0001", "2001:db8::1"},
    {"MX", "10 mail.example.com", "10 mail.example.com"},
    {"MX", "10 mail.example.com.", "10 mail.example.com"},
    {"mx", "10   Mail.Example.COM.", "10 Mail.Example.COM"},
    {"MX", "0 .", "0 ."},
    {"MX", "10 @", "10 ."},
    {"MX", "\\# 5 000a016100", "10 a"},
    {"NS", "ns1.example.com", "ns1.example.com"},
    {"CNAME", "www.example.com.", "www.example.com"},
    {"PTR", "a\\.b.example.", "a\\.b.example"},
    {"PTR", "a\\\\.example.", "a\\\\.example"},
    {"PTR", "a b\\ c.example.", NULL}, /* two tokens: refused below, not here */
    {"DNAME", "target.example.", "target.example"},
    {"SRV", "0 5 5060 sip.example.com.", "0 5 5060 sip.example.com"},
    {"SRV", "0 0 0 .", "0 0 0 ."},
    {"SOA", "ns1.example.com. hostmaster.example.com. 2024010101 10800 3600 604800 3600",
     "ns1.example.com hostmaster.example.com 2024010101 10800 3600 604800 3600"},
    {"SOA", "ns1.example.com hostmaster.example.com 1 1h 1m 1w 1d",
     "ns1.example.com hostmaster.example.com 1 3600 60 604800 86400"},
    {"TXT", "\"v=spf1 -all\"", "\"v=spf1 -all\""},
    {"TXT", "v=spf1 -all", "\"v=spf1 -all\""},
    {"TXT", "\"a b\" \"c\"", "\"a b\" \"c\""},
    {"TXT", "\"a b\"   c", "\"a b\" \"c\""},
    {"TXT", "", "\"\""},
    {"TXT", "\"\"", "\"\""},
    {"TXT", "say \"hi\"", "\"say \\\"hi\\\"\""},
    {"TXT", "semi;colon (paren)", "\"semi;colon (paren)\""},
    {"TXT", "\"a;b\"", "\"a;b\""},
    {"TXT", "\"tab\\009 utf8 \\195\\169\"", "\"tab\\009 utf8 \xc3\xa9\""},
    /* Invalid UTF-8 (a lone continuation octet, an overlong form) stays escaped. */
    {"TXT", "\"x\\169y\\192\\175\"", "\"x\\169y\\192\\175\""},
    {"SPF", "\"v=spf1 \\226\\130\\172 -all\"", "\"v=spf1 \xe2\x82\xac -all\""},
    {"TXT", "trail\\ ", "\"trail \""},
    /* UTF-8 in TXT stays raw UTF-8, as pdns stores it; in names it is \DDD. */
    {"TXT", "caf\xc3\xa9", "\"caf\xc3\xa9\""},
    {"TXT", "\"caf\\\xc3\xa9\"", "\"caf\xc3\xa9\""},
    {"CNAME", "caf\xc3\xa9.example.", "caf\\195\\169.example"},
    {"TXT", "\"back\\\\slash\"", "\"back\\\\slash\""},
    {"SPF", "v=spf1 mx -all", "\"v=spf1 mx -all\""},
    {"SPF", "\"v=spf1 -all\"", "\"v=spf1 -all\""},
    {"CAA", "0 issue \"letsencrypt.org\"", "0 issue \"letsencrypt.org\""},
    {"CAA", "128 iodef \"mailto:a@example.com\"", "128 iodef \"mailto:a@example.com\""},
    {"HINFO", "PC \"Linux x\"", "\"PC\" \"Linux x\""},
    {"NAPTR", "100 10 \"S\" \"SIP+D2U\" \"!^.*$!sip:a@b!\" _sip._udp.example.com.",
     "100 10 \"S\" \"SIP+D2U\" \"!^.*$!sip:a@b!\" _sip._udp.example.com"},
    {"NAPTR", "100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:a b@c!\" .",
     "100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:a b@c!\" ."},
    {"SSHFP", "1 1 ABCDEF0123", "1 1 abcdef0123"},
    {"TLSA", "3 1 1 ABCDEF0123456789", "3 1 1 abcdef0123456789"},
    {"SMIMEA", "3 1 1 ABCD", "3 1 1 abcd"},
    {"DS", "12345 13 2 ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
     "12345 13 2 abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"},
    {"CDS", "0 0 0 00", "0 0 0 00"},
    {"DNSKEY",
     "257 3 13 "
     "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
     "257 3 13 "
     "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="},
    {"DNSKEY", "256 3 8 AwEA AbMZ 7g==", "256 3 8 AwEAAbMZ7g=="},
    {"DNSKEY", "256 3 8 AwEAAbMZ7q==", "256 3 8 AwEAAbMZ7g=="}, /* knot re-encodes base64 */
    {"RRSIG", "A 13 2 3600 20240101000000 20231201000000 12345 example.com. AAAA",
     "A 13 2 3600 20240101000000 20231201000000 12345 example.com AAAA"},
    /* Times are dates between 1970 and 2106 whatever today is. */
    {"RRSIG", "A 13 2 3600 21050101000000 19700101000001 12345 . AAAA",
     "A 13 2 3600 21050101000000 19700101000001 12345 . AAAA"},
    {"NSEC", "next.example. A NS RRSIG", "next.example A NS RRSIG"},
    {"NSEC3", "1 0 10 AABB 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S A RRSIG",
     "1 0 10 aabb 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG"},
    {"NSEC3PARAM", "1 0 10 -", "1 0 10 -"},
    {"NSEC3PARAM", "1 0 10 CAFE", "1 0 10 cafe"},
    {"LOC", "52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m",
     "52 22 23 N 4 53 32 E -2m 1m 10000m 10m"},
    {"LOC", "51 30 12.748 N 0 7 39.611 W 0.00m", "51 30 12.748 N 0 7 39.611 W 0m 1m 10000m 10m"},
    {"RP", "admin.example.com. txt.example.com.", "admin.example.com txt.example.com"},
    {"RP", "admin.example.com. .", "admin.example.com ."},
    {"AFSDB", "1 afs.example.com.", "1 afs.example.com"},
    {"KX", "10 kx.example.com.", "10 kx.example.com"},
    {"MINFO", "r.example. e.example.", "r.example e.example"},
    {"LP", "10 l64.example.", "10 l64.example"},
    {"SVCB", "1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1",
     "1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1"},
    {"HTTPS", "1 svc.example.com. alpn=h2", "1 svc.example.com alpn=h2"},
    {"HTTPS", "0 svc.example.com.", "0 svc.example.com"},
    {"IPSECKEY", "10 3 2 gw.example.com. AQID", "10 3 2 gw.example.com AQID"},
    {"IPSECKEY", "10 1 2 192.0.2.1 AQID", "10 1 2 192.0.2.1 AQID"},
    {"IPSECKEY", "10 0 2 . AQID", "10 0 2 . AQID"},
    {"URI", "10 1 \"https://example.com/\"", "10 1 \"https://example.com/\""},
    {"EUI48", "00-1A-2B-3C-4D-5E", "00-1a-2b-3c-4d-5e"},
    {"EUI64", "00-1A-2B-3C-4D-5E-6F-70", "00-1a-2b-3c-4d-5e-6f-70"},
    {"NID", "10 0014:4FFF:FF20:EE64", "10 0014:4fff:ff20:ee64"},
    {"L32", "10 10.1.2.0", "10 10.1.2.0"},
    {"APL", "1:192.168.0.0/16 !2:fe80::/10", "1:192.168.0.0/16 !2:fe80::/10"},
    {"APL", "", ""},
    {"OPENPGPKEY", "AQID", "AQID"},
    {"DHCID", "AQID", "AQID"},
    {"CSYNC", "1 3 A NS", "1 3 A NS"},
    {"ZONEMD", "2018031500 1 1 ABCD", "2018031500 1 1 abcd"},
    {"CERT", "1 2 3 AQID", "1 2 3 AQID"},
    {"TYPE999", "\\# 2 ABCD", "\\# 2 abcd"},
    {"TYPE999", "\\# 0", "\\# 0"},
    {"TYPE7", "\\# 3 016100", "a"}, /* MB: read and rendered as its twin, CNAME */
    {"MB", "mail.example.", "mail.example"},
    {"RKEY", "0 3 8 AwEAAQ==", "0 3 8 AwEAAQ=="},
    {"DLV", "12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE49FD46E6C4B45C55D4AC69CB",
     "12345 8 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de49fd46e6c4b45c55d4ac69cb"},
    {"NULL", "\\# 1 00", "\\# 1 00"},
    {"ALIAS", "target.example.com.", "target.example.com"},
    {"ALIAS", " Target.Example.com ", "Target.Example.com"},
    {"TYPE65401", "target.example.com", "target.example.com"},
    {"LUA", "A \"ifportup(443, {'192.0.2.1'})\"", "A \"ifportup(443, {'192.0.2.1'})\""},
    /* Names in content as pdns 4.7 sends them (DNS UPDATE, API, pdnsutil): DNSName's text form,
     * where '(' ')' ';' '"' '@' '$' '#' are plain octets; kept as they are, case too. */
    {"CNAME", "M(ai)L.example.com", "M(ai)L.example.com"},
    {"CNAME", "semi;colon.example.com", "semi;colon.example.com"},
    {"CNAME", "q\"uote.example.com", "q\"uote.example.com"},
    {"CNAME", "at@sign.example.com", "at@sign.example.com"},
    {"CNAME", "dol$lar.example.com", "dol$lar.example.com"},
    {"CNAME", "hash#.example.com", "hash#.example.com"},
    {"CNAME", "p!u&n=c?t^u|a<t>i`o~n'{x}[y],+%.example.com",
     "p!u&n=c?t^u|a<t>i`o~n'{x}[y],+%.example.com"},
    {"CNAME", "sp\\032ace.example.com", "sp\\032ace.example.com"},
    {"CNAME", "dot\\.inlabel.example.com", "dot\\.inlabel.example.com"},
    {"CNAME", "back\\\\slash.example.com", "back\\\\slash.example.com"},
    {"CNAME", "caf\\195\\169.example.com", "caf\\195\\169.example.com"},
    {"CNAME", "tab\\009.example.com", "tab\\009.example.com"},
    {"CNAME", "del\\127.nul\\000.example.com", "del\\127.nul\\000.example.com"},
    {"CNAME", "UPPER.Example.COM", "UPPER.Example.COM"},
    {"CNAME", "relative-u", "relative-u"}, /* pdnsutil add-record keeps it so */
    /* The same names in RFC 1035 escaping (zone file, panel) end up in pdns's form. */
    {"CNAME", "M\\(ai\\)L.example.com.", "M(ai)L.example.com"},
    {"CNAME", "semi\\;colon.example.com.", "semi;colon.example.com"},
    {"CNAME", "q\\\"uote.example.com.", "q\"uote.example.com"},
    {"CNAME", "x.\\#y.example.", "x.#y.example"},
    {"MX", "10 semi;colon.example.com", "10 semi;colon.example.com"},
    {"MX", "10 M(ai)L.example.com", "10 M(ai)L.example.com"},
    {"MX", "10 (mail)", "10 (mail)"},
    {"MX", "10 \\@.example.com", "10 @.example.com"},
    {"SRV", "0 0 25 sp\\032ace.example.com", "0 0 25 sp\\032ace.example.com"},
    {"SRV", "0 5 25 q\"uote.example.com", "0 5 25 q\"uote.example.com"},
    {"PTR", "dot\\.inlabel.example.com", "dot\\.inlabel.example.com"},
    {"NS", "q\"uote.example.com", "q\"uote.example.com"},
    {"NS", "at@sign.example.com", "at@sign.example.com"},
    {"DNAME", "(x);y.example", "(x);y.example"},
    {"ALIAS", "M(ai)L.example.com", "M(ai)L.example.com"},
    {"SOA", "ns(1).example.com host;master.example.com 1 2 3 4 5",
     "ns(1).example.com host;master.example.com 1 2 3 4 5"},
    {"RP", "a;b.example.com t\"x.example.com", "a;b.example.com t\"x.example.com"},
    {"AFSDB", "1 a(f)s.example.com", "1 a(f)s.example.com"},
    {"NAPTR", "100 10 \"S\" \"SIP+D2U\" \"\" _sip(x)._udp.example.com",
     "100 10 \"S\" \"SIP+D2U\" \"\" _sip(x)._udp.example.com"},
    {"NAPTR", "100 10 \"S\" \"a b\" \"!^(.*)$!x;y!\" q\"x.example",
     "100 10 \"S\" \"a b\" \"!^(.*)$!x;y!\" q\"x.example"},
    {"IPSECKEY", "10 3 2 g(w).example.com AQID", "10 3 2 g(w).example.com AQID"},
    {"HTTPS", "1 s;vc.example.com alpn=h2", "1 s;vc.example.com alpn=h2"},
    {"RRSIG", "A 13 2 3600 20240101000000 20231201000000 12345 ex(a)mple.com AAAA",
     "A 13 2 3600 20240101000000 20231201000000 12345 ex(a)mple.com AAAA"},
    {"NSEC", "n\"ext.example A NS", "n\"ext.example A NS"},
    {"KX", "10 k;x.example.com", "10 k;x.example.com"},
    /* TXT as pdns sends it from DNS UPDATE (escapes) and from the API (raw UTF-8). */
    {"TXT", "\"a;b\" \"(p)\" \"q\\\"uote\" \"@$#\"", "\"a;b\" \"(p)\" \"q\\\"uote\" \"@$#\""},
};

static void test_rr_normalize_ok(void **state)
{
    (void)state;
    char err[256];
    static char again[MXG_CONTENT_MAX + 1];

    for (size_t i = 0; i < sizeof(norm_ok) / sizeof(norm_ok[0]); i++) {
        const struct norm_case *c = &norm_ok[i];
        if (c->want == NULL) {
            continue;
        }
        err[0] = '\0';
        int rc = mxg_rr_normalize(c->type, c->in, content, sizeof(content), err, sizeof(err));
        if (rc != MXG_OK || strcmp(content, c->want) != 0) {
            print_error("%s \"%s\": rc %d \"%s\" (%s), want \"%s\"\n", c->type, c->in, rc, content,
                        err, c->want);
            fail();
        }
        /* pdns content normalises to itself. */
        rc = mxg_rr_normalize(c->type, content, again, sizeof(again), err, sizeof(err));
        if (rc != MXG_OK || strcmp(again, content) != 0) {
            print_error("%s \"%s\": not stable: rc %d \"%s\" (%s)\n", c->type, content, rc, again,
                        err);
            fail();
        }
    }
}

struct norm_err {
    const char *type;
    const char *in;
    int rc;
    const char *reason; /* substring of err */
};

static const struct norm_err norm_bad[] = {
    {"A", "192.0.2.999", MXG_EINVAL, "invalid A content: invalid IPv4 address"},
    {"A", "192.0.2.1 192.0.2.2", MXG_EINVAL, "invalid A content"},
    {"A", "", MXG_EINVAL, "empty A content"},
    {"A", "   ", MXG_EINVAL, "empty A content"},
    {"A", "\\# 3 c00002", MXG_EINVAL, "malformed A rdata"},
    {"A", "\\# 5 c000020101", MXG_EINVAL, "malformed A rdata"},
    {"AAAA", "192.0.2.1", MXG_EINVAL, "invalid AAAA content"},
    {"MX", "mail.example.com", MXG_EINVAL, "invalid MX content"},
    {"MX", "70000 mail.example.com", MXG_EINVAL, "invalid MX content"},
    {"MX", "10", MXG_EINVAL, "invalid MX content"},
    {"MX", "10 bad..name", MXG_EINVAL, "invalid MX content"},
    {"CNAME", "\\# 3 c00000", MXG_EINVAL, "CNAME rdata"}, /* compression pointer */
    {"CNAME", "\\# 2 0100", MXG_EINVAL, "malformed CNAME rdata"},
    {"SRV", "0 5 sip.example.com", MXG_EINVAL, "invalid SRV content"},
    {"CAA", "0 issue", MXG_EINVAL, "invalid CAA content"},
    {"DS", "12345 13 2 XYZ", MXG_EINVAL, "invalid DS content"},
    {"TXT", "\"unterminated", MXG_EINVAL, "unterminated quoted string"},
    {"TXT", "abc\\", MXG_EINVAL, "ends with a backslash"},
    {"TXT", "\"a\" ; comment", MXG_EINVAL, "comment"},
    {"ALIAS", "a b", MXG_EINVAL, "invalid ALIAS content"},
    {"ALIAS", "bad..name", MXG_EINVAL, "invalid ALIAS content"},
    /* Smuggling a second record, a comment or a multi-line block. */
    {"CNAME", "a.example.\nwww 3600 IN A 192.0.2.1", MXG_EINVAL, "control character"},
    {"CNAME", "a.example.\r", MXG_EINVAL, "control character"},
    {"TXT", "\"a\"\n\"b\"", MXG_EINVAL, "control character"},
    {"TXT", "a\nb", MXG_EINVAL, "control character"},
    {"MX", "10 mail.\\", MXG_EINVAL, "invalid MX content: invalid name 'mail.\\'"},
    {"MX", "10 mail ; comment", MXG_EINVAL, "comment"},
    {"MX", "10 (mail) (", MXG_EINVAL, "parenthesis"},
    {"MX", "10 m(ai)l.example ; comment", MXG_EINVAL, "comment"},
    {"CNAME", "m(ai)l.example. )", MXG_EINVAL, "parenthesis"},
    {"CNAME", "q\"uote.example. \"", MXG_EINVAL, "unterminated"},
    {"CNAME", "a\\256.example.", MXG_EINVAL, "invalid CNAME content: invalid name"},
    {"CNAME", "a\\1b.example.", MXG_EINVAL, "invalid CNAME content: invalid name"},
    {"CNAME", "(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((.x", MXG_EINVAL,
     "label over 63"},
    {"MX", "10 m(ai)l.\\\x01", MXG_EINVAL, "control character"},
    /* pdns reads a name in content up to the next blank, escaped or not ("Unable to parse DNS
     * name 'sp\\'"). */
    {"CNAME", "sp\\ ace.example.com.", MXG_EINVAL, "invalid CNAME content: invalid name 'sp\\'"},
    {"SRV", "0 0 25 a(b).example c.example", MXG_EINVAL, "invalid SRV content"},
    {"A", "192.0.2.1 (", MXG_EINVAL, "parenthesis"},
    {"A", "192.0.2.1 )", MXG_EINVAL, "parenthesis"},
    {"MX", "10 mail.\\\x01", MXG_EINVAL, "control character"},
    {"A", "\x7f", MXG_EINVAL, "control character"},
    /* Types */
    {"ANY", "x", MXG_EINVAL, "unknown record type"},
    {"ENT", "", MXG_EINVAL, "unknown record type"},
    {"TYPE0", "\\# 0", MXG_EINVAL, "unknown record type"},
    {"FOO", "x", MXG_EINVAL, "unknown record type"},
    {"TYPE999", "ab", MXG_EINVAL, "invalid TYPE999 content"},
};

static void test_rr_normalize_errors(void **state)
{
    (void)state;
    char err[256];

    for (size_t i = 0; i < sizeof(norm_bad) / sizeof(norm_bad[0]); i++) {
        const struct norm_err *c = &norm_bad[i];
        err[0] = '\0';
        strcpy(content, "junk");
        int rc = mxg_rr_normalize(c->type, c->in, content, sizeof(content), err, sizeof(err));
        if (rc != c->rc || strstr(err, c->reason) == NULL || content[0] != '\0') {
            print_error("%s \"%s\": rc %d err \"%s\" out \"%s\", want %d \"%s\"\n", c->type, c->in,
                        rc, err, content, c->rc, c->reason);
            fail();
        }
        /* err may be NULL. */
        assert_int_equal(mxg_rr_normalize(c->type, c->in, content, sizeof(content), NULL, 0),
                         c->rc);
    }

    /* The "two tokens" PTR from the success table is an error. */
    assert_int_equal(
        mxg_rr_normalize("PTR", "a b\\ c.example.", content, sizeof(content), err, sizeof(err)),
        MXG_EINVAL);
    /* NULL arguments. */
    assert_int_equal(mxg_rr_normalize(NULL, "x", content, sizeof(content), err, sizeof(err)),
                     MXG_EINVAL);
    assert_int_equal(mxg_rr_normalize("A", NULL, content, sizeof(content), err, sizeof(err)),
                     MXG_EINVAL);
    assert_int_equal(mxg_rr_normalize("A", "192.0.2.1", NULL, 0, err, sizeof(err)), MXG_ERANGE);
    /* A small err buffer is truncated, not overrun. */
    char tiny[4] = "xxx";
    assert_int_equal(mxg_rr_normalize("A", "x", content, sizeof(content), tiny, 2), MXG_EINVAL);
    assert_int_equal(tiny[1], '\0');
    assert_int_equal(tiny[2], 'x');
}

static void test_rr_normalize_range(void **state)
{
    (void)state;
    char err[256];
    char small[8];

    /* Output too small (plain and after trailing-dot removal). */
    assert_int_equal(mxg_rr_normalize("A", "192.0.2.1", small, sizeof(small), err, sizeof(err)),
                     MXG_ERANGE);
    assert_string_equal(small, "");
    char exact[10];
    assert_int_equal(mxg_rr_normalize("A", "192.0.2.1", exact, sizeof(exact), err, sizeof(err)),
                     MXG_OK);
    assert_string_equal(exact, "192.0.2.1");
    /* "10 a.b.c." renders 9 + 1 bytes in knot but 8 + 1 in pdns form. */
    char nine[9];
    assert_int_equal(mxg_rr_normalize("MX", "10 a.b.c.", nine, sizeof(nine), err, sizeof(err)),
                     MXG_OK);
    assert_string_equal(nine, "10 a.b.c");
    assert_int_equal(mxg_rr_normalize("MX", "10 a.b.c.", nine, 8, err, sizeof(err)), MXG_ERANGE);
    assert_int_equal(mxg_rr_normalize("LUA", "A \"x\"", small, 5, err, sizeof(err)), MXG_ERANGE);
    assert_int_equal(mxg_rr_normalize("LUA", "A \"x\"", small, 6, err, sizeof(err)), MXG_OK);
    assert_string_equal(small, "A \"x\"");

    /* Content over MXG_CONTENT_MAX. */
    char *big = malloc(MXG_CONTENT_MAX + 2);
    assert_non_null(big);
    memset(big, 'a', MXG_CONTENT_MAX + 1);
    big[MXG_CONTENT_MAX + 1] = '\0';
    assert_int_equal(mxg_rr_normalize("TXT", big, content, sizeof(content), err, sizeof(err)),
                     MXG_ERANGE);
    assert_int_equal(mxg_rr_normalize("LUA", big, content, sizeof(content), err, sizeof(err)),
                     MXG_ERANGE);
    /* Rdata over 64 KiB. */
    big[0] = '\0';
    for (int i = 0; i < 22000; i++) {
        strcat(big + (size_t)i * 5, "\"ab\" ");
    }
    assert_int_equal(mxg_rr_normalize("TXT", big, content, sizeof(content), err, sizeof(err)),
                     MXG_ERANGE);
    /* One string too long for zscanner (which reports "text is too long"): invalid. */
    memset(big, 'a', 70000);
    big[70000] = '\0';
    assert_int_equal(mxg_rr_normalize("TXT", big, content, sizeof(content), err, sizeof(err)),
                     MXG_EINVAL);
    /* An item over 255 octets where the type has no string splitting. */
    memset(big, 'a', 300);
    strcpy(big + 300, " x");
    assert_int_equal(mxg_rr_normalize("HINFO", big, content, sizeof(content), err, sizeof(err)),
                     MXG_EINVAL);
    /* Long TXT given as one string: zscanner accepts it and splits it at 255 octets. */
    memset(big, 'b', 300);
    big[300] = '\0';
    assert_int_equal(mxg_rr_normalize("TXT", big, content, sizeof(content), err, sizeof(err)),
                     MXG_OK);
    assert_int_equal(strlen(content), 300 + 5);
    assert_int_equal(content[256], '"');
    assert_int_equal(content[257], ' ');
    free(big);
}

static void test_rr_from_wire(void **state)
{
    (void)state;
    char err[256];
    char small[8];
    static const uint8_t mx[] = {0,   10,  4,   'm', 'a', 'i', 'l', 7,
                                 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
    static const uint8_t ptr_compressed[] = {0xc0, 0x00};
    static const uint8_t a_short[] = {192, 0, 2};
    static const uint8_t txt_bad[] = {5, 'a'};
    static const uint8_t alias[] = {3, 'f', 'o', 'o', 0};

    assert_int_equal(
        mxg_rr_from_wire(15, mx, sizeof(mx), content, sizeof(content), err, sizeof(err)), MXG_OK);
    assert_string_equal(content, "10 mail.example");
    assert_int_equal(
        mxg_rr_from_wire(65401, alias, sizeof(alias), content, sizeof(content), err, sizeof(err)),
        MXG_OK);
    assert_string_equal(content, "foo");
    /* Names in rdata come out in pdns's form, case kept: "M(ai)L.a\.b\032c." */
    static const uint8_t cname_esc[] = {6,   'M', '(', 'a', 'i', ')', 'L', 5,   'a', '.',
                                        'b', ' ', 'c', 4,   'q', '"', ';', '@', 0};
    assert_int_equal(mxg_rr_from_wire(5, cname_esc, sizeof(cname_esc), content, sizeof(content),
                                      err, sizeof(err)),
                     MXG_OK);
    assert_string_equal(content, "M(ai)L.a\\.b\\032c.q\";@");
    static const uint8_t mx_esc[] = {0, 10, 3, '#', '\\', '$', 2, 0xc3, 0xa9, 0};
    assert_int_equal(
        mxg_rr_from_wire(15, mx_esc, sizeof(mx_esc), content, sizeof(content), err, sizeof(err)),
        MXG_OK);
    assert_string_equal(content, "10 #\\\\$.\\195\\169");
    /* ... and normalise to themselves. */
    static char again[MXG_CONTENT_MAX + 1];
    assert_int_equal(mxg_rr_normalize("MX", content, again, sizeof(again), err, sizeof(err)),
                     MXG_OK);
    assert_string_equal(again, content);
    assert_int_equal(mxg_rr_from_wire(999, NULL, 0, content, sizeof(content), err, sizeof(err)),
                     MXG_OK);
    assert_string_equal(content, "\\# 0");

    assert_int_equal(mxg_rr_from_wire(12, ptr_compressed, sizeof(ptr_compressed), content,
                                      sizeof(content), err, sizeof(err)),
                     MXG_EINVAL);
    assert_int_equal(
        mxg_rr_from_wire(1, a_short, sizeof(a_short), content, sizeof(content), err, sizeof(err)),
        MXG_EINVAL);
    assert_non_null(strstr(err, "malformed A rdata"));
    assert_int_equal(mxg_rr_from_wire(1, NULL, 0, content, sizeof(content), err, sizeof(err)),
                     MXG_EINVAL);
    assert_int_equal(mxg_rr_from_wire(1, NULL, 4, content, sizeof(content), err, sizeof(err)),
                     MXG_EINVAL);
    /* TXT passes the descriptor check (remainder) but its string length overruns: knot's
     * renderer refuses it. */
    assert_int_equal(
        mxg_rr_from_wire(16, txt_bad, sizeof(txt_bad), content, sizeof(content), err, sizeof(err)),
        MXG_EINVAL);
    assert_int_equal(
        mxg_rr_from_wire(16, txt_bad, sizeof(txt_bad), small, sizeof(small), err, sizeof(err)),
        MXG_EINVAL);
    assert_int_equal(
        mxg_rr_from_wire(65402, alias, sizeof(alias), content, sizeof(content), err, sizeof(err)),
        MXG_EINVAL);
    assert_non_null(strstr(err, "LUA"));
    assert_int_equal(mxg_rr_from_wire(255, NULL, 0, content, sizeof(content), err, sizeof(err)),
                     MXG_EINVAL);
    assert_int_equal(mxg_rr_from_wire(0, NULL, 0, content, sizeof(content), err, sizeof(err)),
                     MXG_EINVAL);
    assert_int_equal(mxg_rr_from_wire(15, mx, sizeof(mx), small, sizeof(small), err, sizeof(err)),
                     MXG_ERANGE);
    assert_int_equal(mxg_rr_from_wire(15, mx, sizeof(mx), NULL, 0, err, sizeof(err)), MXG_ERANGE);
    assert_int_equal(mxg_rr_from_wire(16, mx, 70000, content, sizeof(content), err, sizeof(err)),
                     MXG_ERANGE);

    /* Layouts knot 3.2's renderer would read past the rdata for, or render in a form that does
     * not parse back. Each is first shown valid, then broken. */
    static const struct {
        uint16_t type;
        size_t len;
        uint8_t d[24];
        const char *want; /* NULL: MXG_EINVAL */
    } lay[] = {
        {50, 10, {1, 0, 0, 1, 1, 0xaa, 2, 0xbb, 0xcc, 0}, NULL}, /* NSEC3: empty bitmap window */
        {50, 13, {1, 0, 0, 1, 1, 0xaa, 2, 0xbb, 0xcc, 0, 1, 0x40}, NULL},
        {50, 12, {1, 0, 0, 1, 1, 0xaa, 2, 0xbb, 0xcc, 0, 1, 0x40}, "1 0 1 aa nf60==== A"},
        {50,
         16,
         {0x54, 0x16, 0x02, 0x07, 0x09, 0x84, 0x05, 0x2a, 0x00, 0x1c, 0x27, 0x26, 0x0e, 0x1e, 0x22,
          0x0e},
         NULL},                                        /* salt overruns: crashed knot */
        {50, 9, {1, 0, 0, 1, 1, 0xaa, 0, 0, 0}, NULL}, /* empty hash */
        {51, 6, {1, 0, 0, 1, 1, 0xab}, "1 0 1 ab"},    /* NSEC3PARAM */
        {51, 6, {1, 0, 0, 1, 2, 0xab}, NULL},
        {47, 7, {0, 1, 1, 0x40, 0, 1, 0x40}, NULL},      /* NSEC: windows out of order */
        {47, 7, {0, 0, 1, 0x40, 1, 1, 0x40}, ". A CAA"}, /* NSEC: ascending */
        {62, 5, {0, 0, 0, 1, 0}, NULL},                  /* CSYNC: short */
        {45, 8, {10, 3, 0, 2, 'g', 'w', 0xc0, 0}, NULL}, /* IPSECKEY: pointer */
        {45, 6, {10, 3, 0, 3, 'g', 'w'}, NULL},          /* IPSECKEY: name overruns */
        {45, 7, {10, 3, 0, 2, 'g', 'w', 0}, "10 3 0 gw"},
        {45, 6, {10, 1, 0, 192, 0, 2}, NULL}, /* IPSECKEY: short address */
        {45, 3, {10, 4, 0}, NULL},            /* IPSECKEY: gateway type 4 */
        {64, 4, {0, 1, 1, 'a'}, NULL},        /* SVCB: target overruns */
        {64, 5, {0, 1, 1, 'a', 0}, "1 a"},
        {257, 9, {0, 5, 'i', 's', 's', 'u', 'e', 'c', 'a'}, "0 issue \"ca\""},
        {257, 9, {0, 5, 'i', 's', 's', ';', 'e', 'c', 'a'}, NULL}, /* CAA: tag not alnum */
        {257, 2, {0, 0}, NULL},
    };
    for (size_t i = 0; i < sizeof(lay) / sizeof(lay[0]); i++) {
        int rc = mxg_rr_from_wire(lay[i].type, lay[i].d, lay[i].len, content, sizeof(content), err,
                                  sizeof(err));
        if (lay[i].want == NULL ? rc != MXG_EINVAL
                                : (rc != MXG_OK || strcmp(content, lay[i].want) != 0)) {
            print_error("layout %zu (type %u): rc %d \"%s\" %s\n", i, lay[i].type, rc, content,
                        err);
            fail();
        }
    }
    /* The same through the generic form of mxg_rr_normalize. */
    assert_int_equal(mxg_rr_normalize("NSEC3", "\\# 16 54160207098405 2a001c27260e1e220e", content,
                                      sizeof(content), err, sizeof(err)),
                     MXG_EINVAL);
    assert_int_equal(mxg_rr_normalize("NSEC3", "\\# 12 0100000101aa 02bbcc000140", content,
                                      sizeof(content), err, sizeof(err)),
                     MXG_OK);
    assert_string_equal(content, "1 0 1 aa nf60==== A");

    /* NSEC with every type in its bitmap renders past MXG_CONTENT_MAX. */
    size_t len = 1 + 256 * 34;
    uint8_t *nsec = malloc(len);
    assert_non_null(nsec);
    nsec[0] = 0;
    for (size_t w = 0; w < 256; w++) {
        uint8_t *win = nsec + 1 + w * 34;
        win[0] = (uint8_t)w;
        win[1] = 32;
        memset(win + 2, 0xff, 32);
    }
    assert_int_equal(mxg_rr_from_wire(47, nsec, len, content, sizeof(content), err, sizeof(err)),
                     MXG_ERANGE);
    free(nsec);
}

/* ---- zone files ------------------------------------------------------------------------- */

struct rec {
    char owner[MXG_NAME_TEXT_MAX + 1];
    char type[MXG_TYPE_MAX];
    uint32_t ttl;
    char content[256];
    unsigned long line;
    char file[512];
};

struct collect {
    struct rec recs[64];
    size_t n;
    size_t stop_after; /* 0: never */
};

static int collect_cb(void *ctx, const struct mxg_zf_record *r)
{
    struct collect *c = ctx;
    if (c->n >= sizeof(c->recs) / sizeof(c->recs[0])) {
        return MXG_ERANGE;
    }
    struct rec *o = &c->recs[c->n++];
    snprintf(o->owner, sizeof(o->owner), "%s", r->owner);
    snprintf(o->type, sizeof(o->type), "%s", r->type);
    o->ttl = r->ttl;
    snprintf(o->content, sizeof(o->content), "%s", r->content);
    o->line = r->line;
    snprintf(o->file, sizeof(o->file), "%s", r->file);
    if (c->stop_after != 0 && c->n >= c->stop_after) {
        return 42;
    }
    return 0;
}

static void check_rec(const struct rec *r, const char *owner, const char *type, uint32_t ttl,
                      const char *want, unsigned long line, const char *file_suffix)
{
    size_t fl = strlen(r->file), sl = strlen(file_suffix);
    if (strcmp(r->owner, owner) != 0 || strcmp(r->type, type) != 0 || r->ttl != ttl ||
        strcmp(r->content, want) != 0 || r->line != line || fl < sl ||
        strcmp(r->file + fl - sl, file_suffix) != 0) {
        print_error("got %s %s %u \"%s\" %s:%lu\nwant %s %s %u \"%s\" *%s:%lu\n", r->owner, r->type,
                    r->ttl, r->content, r->file, r->line, owner, type, ttl, want, file_suffix,
                    line);
        fail();
    }
}

static void test_zonefile_fixture(void **state)
{
    (void)state;
    char err[512] = "";
    struct collect *c = calloc(1, sizeof(*c));
    assert_non_null(c);

    int rc = mxg_zonefile_parse(ZONES "/example.com.zone", "ignored.example.", 86400, collect_cb, c,
                                err, sizeof(err));
    if (rc != MXG_OK) {
        print_error("parse: %d %s\n", rc, err);
        fail();
    }
    assert_int_equal(c->n, 14);
    const char *z = "example.com.zone", *inc = "inc/hosts.inc";
    check_rec(&c->recs[0], "example.com.", "SOA", 7200,
              "ns1.example.com hostmaster.example.com 2024010101 10800 3600 604800 3600", 4, z);
    check_rec(&c->recs[1], "example.com.", "NS", 7200, "ns1.example.com", 10, z);
    check_rec(&c->recs[2], "example.com.", "NS", 7200, "ns2.example.net", 11, z);
    check_rec(&c->recs[3], "example.com.", "MX", 300, "10 mail.example.com", 12, z);
    check_rec(&c->recs[4], "www.example.com.", "A", 60, "192.0.2.1", 13, z);
    check_rec(&c->recs[5], "www.example.com.", "AAAA", 7200, "2001:db8::1", 14, z);
    check_rec(&c->recs[6], "txt.example.com.", "TXT", 7200, "\"v=spf1 -all\"", 15, z);
    check_rec(&c->recs[7], "txt.example.com.", "TXT", 7200, "\"a b\" \"c\"", 16, z);
    check_rec(&c->recs[8], "_sip._udp.example.com.", "SRV", 7200, "0 5 5060 sip.example.com", 17,
              z);
    check_rec(&c->recs[9], "example.com.", "CAA", 7200, "0 issue \"letsencrypt.org\"", 18, z);
    /* pdns ignores $INCLUDE's origin argument: the included names stay under example.com. */
    check_rec(&c->recs[10], "host1.example.com.", "A", 7200, "192.0.2.10", 2, inc);
    check_rec(&c->recs[11], "example.com.", "MX", 7200, "0 .", 3, inc);
    check_rec(&c->recs[12], "after.example.com.", "CNAME", 7200, "www.example.com", 21, z);
    check_rec(&c->recs[13], "last.example.com.", "PTR", 3600, "host.example.org", 23, z);

    /* Callback return stops the parse. */
    memset(c, 0, sizeof(*c));
    c->stop_after = 3;
    assert_int_equal(
        mxg_zonefile_parse(ZONES "/example.com.zone", NULL, 3600, collect_cb, c, err, sizeof(err)),
        42);
    assert_int_equal(c->n, 3);
    /* Also from inside an included file. */
    memset(c, 0, sizeof(*c));
    c->stop_after = 11;
    assert_int_equal(
        mxg_zonefile_parse(ZONES "/example.com.zone", NULL, 3600, collect_cb, c, err, sizeof(err)),
        42);
    assert_int_equal(c->n, 11);
    free(c);
}

static char tmpdir[256];

static const char *write_tmp(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    return path;
}

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mxg_test_dns.XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown_tmp(void **state)
{
    (void)state;
    static const char *const names[] = {
        "plain.zone", "bad.zone",   "badinc.zone", "self.zone",   "ch.zone",   "any.zone",
        "lua.zone",   "empty.zone", "multi.zone",  "bad2.zone",   "wire.zone", "dir",
        "fifo",       "fifo.zone",  "zero.zone",   "tty.zone",    "soa2.inc",  "soa2.zone",
        "esc.zone",   "pdns.zone",  "gen.zone",    "genbad.zone", "inc2.zone", "inc2.inc",
        "svcb.zone",  "big.zone",   "bigbad.zone", "big.inc"};
    char path[512];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
        rmdir(path);
    }
    return rmdir(tmpdir);
}

static int parse_tmp(const char *name, const char *text, const char *origin, uint32_t ttl,
                     struct collect *c, char *err, size_t errlen)
{
    char path[512];
    snprintf(path, sizeof(path), "%s", write_tmp(name, text));
    memset(c, 0, sizeof(*c));
    err[0] = '\0';
    return mxg_zonefile_parse(path, origin, ttl, collect_cb, c, err, errlen);
}

static void expect_parse_error(const char *name, const char *text, const char *where,
                               const char *reason)
{
    char err[512];
    char want[600];
    struct collect *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    int rc = parse_tmp(name, text, "example.com.", 3600, c, err, sizeof(err));
    snprintf(want, sizeof(want), "%s/%s:%s", tmpdir, name, where);
    if (rc != MXG_EPARSE || strncmp(err, want, strlen(want)) != 0 || strstr(err, reason) == NULL) {
        print_error("%s: rc %d err \"%s\", want \"%s ... %s\"\n", name, rc, err, want, reason);
        fail();
    }
    free(c);
}

static void test_zonefile_defaults(void **state)
{
    (void)state;
    char err[512];
    struct collect *c = calloc(1, sizeof(*c));
    assert_non_null(c);

    /* No $ORIGIN, no $TTL: the parameters apply. */
    assert_int_equal(parse_tmp("plain.zone",
                               "@ IN NS ns1\n"
                               "www IN CNAME @\n"
                               "abs.other. 5 IN MX 10 mx.other.\n"
                               "t IN TXT v=spf1\n"
                               "l IN LOC 52 22 23.000 N 4 53 32.000 E -2.00m\n"
                               "u IN TYPE999 \\# 2 ABCD\n"
                               "k IN DS 1 2 3 ABCD",
                               "Example.ORG", 900, c, err, sizeof(err)),
                     MXG_OK);
    assert_int_equal(c->n, 7);
    check_rec(&c->recs[0], "example.org.", "NS", 900, "ns1.example.org", 1, "plain.zone");
    check_rec(&c->recs[1], "www.example.org.", "CNAME", 900, "example.org", 2, "plain.zone");
    check_rec(&c->recs[2], "abs.other.", "MX", 5, "10 mx.other", 3, "plain.zone");
    check_rec(&c->recs[3], "t.example.org.", "TXT", 900, "\"v=spf1\"", 4, "plain.zone");
    check_rec(&c->recs[4], "l.example.org.", "LOC", 900, "52 22 23 N 4 53 32 E -2m 1m 10000m 10m",
              5, "plain.zone");
    check_rec(&c->recs[5], "u.example.org.", "TYPE999", 900, "\\# 2 abcd", 6, "plain.zone");
    /* Last line without newline. */
    check_rec(&c->recs[6], "k.example.org.", "DS", 900, "1 2 3 abcd", 7, "plain.zone");

    /* Empty file: no records. */
    assert_int_equal(parse_tmp("empty.zone", "", NULL, 3600, c, err, sizeof(err)), MXG_OK);
    assert_int_equal(c->n, 0);

    /* A multi-line record is reported at its first line, after comments and directives. */
    assert_int_equal(parse_tmp("multi.zone",
                               "; comment\n"
                               "\n"
                               "$TTL 60\n"
                               "a IN SOA ns hm (\n"
                               "  1 2 3 4 5 )\n"
                               "  ; indented comment\n"
                               "b IN TXT ( \"x\"\n"
                               " \"y\" ) ; done\n"
                               "\n"
                               "c IN A 192.0.2.1\n",
                               "example.", 1, c, err, sizeof(err)),
                     MXG_OK);
    assert_int_equal(c->n, 3);
    check_rec(&c->recs[0], "a.example.", "SOA", 60, "ns.example hm.example 1 2 3 4 5", 4,
              "multi.zone");
    check_rec(&c->recs[1], "b.example.", "TXT", 60, "\"x\" \"y\"", 7, "multi.zone");
    check_rec(&c->recs[2], "c.example.", "A", 60, "192.0.2.1", 10, "multi.zone");
    free(c);
}

static void test_zonefile_errors(void **state)
{
    (void)state;
    char err[512];
    struct collect *c = calloc(1, sizeof(*c));
    assert_non_null(c);

    expect_parse_error("bad.zone", "a IN A 192.0.2.1\n\nb IN A 192.0.2.999\nc IN A 192.0.2.3\n",
                       "3: ", "invalid IPv4 address");
    expect_parse_error("bad2.zone", "a IN MX ( 10\n  mail\n",
                       "3: ", "unclosed last multiline block");
    expect_parse_error("badinc.zone", "a IN A 192.0.2.1\n$INCLUDE missing.inc\n",
                       "2: ", "cannot read included file");
    expect_parse_error("self.zone", "a IN A 192.0.2.1\n$INCLUDE self.zone\n", "",
                       "nested too deeply");
    expect_parse_error("ch.zone", "a CH TXT \"x\"\n", "1: ", "");
    expect_parse_error("any.zone", "a IN TYPE255 \\# 0\n", "1: ", "not allowed");
    expect_parse_error("lua.zone", "a IN TYPE65402 \\# 1 00\n", "1: ", "LUA");
    expect_parse_error("wire.zone", "a IN A 192.0.2.1\na IN A \\# 3 c00002\n",
                       "2: ", "malformed A rdata");

    /* Records before the error were delivered. */
    assert_int_equal(
        parse_tmp("bad.zone", "a IN A 192.0.2.1\nb IN A x\n", "example.", 1, c, err, sizeof(err)),
        MXG_EPARSE);
    assert_int_equal(c->n, 1);

    /* Missing file, directory. */
    memset(c, 0, sizeof(*c));
    assert_int_equal(
        mxg_zonefile_parse("/nonexistent/zone", ".", 1, collect_cb, c, err, sizeof(err)), MXG_EIO);
    assert_non_null(strstr(err, "/nonexistent/zone"));
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/dir", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(mxg_zonefile_parse(dir, ".", 1, collect_cb, c, err, sizeof(err)), MXG_EIO);

    /* Bad origin, bad arguments; err may be NULL. */
    assert_int_equal(
        parse_tmp("plain.zone", "a IN A 192.0.2.1\n", "bad..origin", 1, c, err, sizeof(err)),
        MXG_EINVAL);
    assert_int_equal(mxg_zonefile_parse(NULL, ".", 1, collect_cb, c, err, sizeof(err)), MXG_EINVAL);
    assert_int_equal(mxg_zonefile_parse(dir, ".", 1, NULL, c, err, sizeof(err)), MXG_EINVAL);
    assert_int_equal(mxg_zonefile_parse("/nonexistent/zone", ".", 1, collect_cb, c, NULL, 0),
                     MXG_EIO);
    free(c);
}

/* Owners and names in content with characters that need escaping in a zone file are passed
 * on in pdns's form, as pdnsutil load-zone stores them. */
/* What libzscanner refuses and pdns reads: read again record by record (UTF-8 as \\DDD, the
 * twin of a type knot does not know, LUA as text), with the scanner's state kept around it. */
static void test_zonefile_pdns_types(void **state)
{
    (void)state;
    char err[512];
    struct collect *c = calloc(1, sizeof(*c));
    assert_non_null(c);

    assert_int_equal(
        parse_tmp("pdns.zone",
                  "$TTL 60\n"
                  "a IN TXT \"caf\xc3\xa9 \xe2\x80\x93"
                  "all\"\n"
                  "  IN MB mail\n"
                  "b 5m ALIAS cdn.example.net.\n"
                  "  LUA A \"ifportup(443, {'192.0.2.1'})\"\n"
                  "caf\xc3\xa9 IN A 192.0.2.9\n"
                  "c IN DLV ( 1 8 2\n"
                  "   49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE49FD46E6C4B45C55D4AC69CB )\n"
                  "  IN A 192.0.2.3 ; the owner of the record before\n",
                  "example.com.", 300, c, err, sizeof(err)),
        MXG_OK);
    assert_int_equal(c->n, 7);
    check_rec(&c->recs[0], "a.example.com.", "TXT", 60,
              "\"caf\xc3\xa9 \xe2\x80\x93"
              "all\"",
              2, "pdns.zone");
    check_rec(&c->recs[1], "a.example.com.", "MB", 60, "mail.example.com", 3, "pdns.zone");
    check_rec(&c->recs[2], "b.example.com.", "ALIAS", 300, "cdn.example.net", 4, "pdns.zone");
    check_rec(&c->recs[3], "b.example.com.", "LUA", 60, "A \"ifportup(443, {'192.0.2.1'})\"", 5,
              "pdns.zone");
    check_rec(&c->recs[4], "caf\\195\\169.example.com.", "A", 60, "192.0.2.9", 6, "pdns.zone");
    check_rec(&c->recs[5], "c.example.com.", "DLV", 60,
              "1 8 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de49fd46e6c4b45c55d4ac69cb", 7,
              "pdns.zone");
    check_rec(&c->recs[6], "c.example.com.", "A", 60, "192.0.2.3", 9, "pdns.zone");

    /* Content pdns could not read back is refused with its line. */
    expect_parse_error("svcb.zone", "a IN A 192.0.2.1\nb IN HTTPS 0 . alpn=h2\n",
                       "2: ", "takes no parameters");
    expect_parse_error("svcb.zone", "a IN CERT 0 0 0 AAAA\n", "1: ", "CERT type 0");
    expect_parse_error("svcb.zone", "a IN A 192.0.2.1\nb IN MB two words\n",
                       "2: ", "unexpected data");
    expect_parse_error("svcb.zone", "a IN FOO x\n", "1: ", "unknown record type FOO");
    expect_parse_error("svcb.zone", "a IN LUA XX \"x\"\n", "1: ", "invalid LUA content");

    /* $INCLUDE: pdns's reading (the origin argument ignored, $ORIGIN and $TTL kept after). */
    write_tmp("inc2.inc", "x IN A 192.0.2.7\n$ORIGIN sub.example.com.\n$TTL 9\n");
    assert_int_equal(parse_tmp("inc2.zone", "$INCLUDE inc2.inc other.example.\ny IN A 192.0.2.8\n",
                               "example.com.", 300, c, err, sizeof(err)),
                     MXG_OK);
    assert_int_equal(c->n, 2);
    check_rec(&c->recs[0], "x.example.com.", "A", 300, "192.0.2.7", 1, "inc2.inc");
    check_rec(&c->recs[1], "y.sub.example.com.", "A", 9, "192.0.2.8", 2, "inc2.zone");
    free(c);
}

static void test_zonefile_generate(void **state)
{
    (void)state;
    char err[512];
    struct collect *c = calloc(1, sizeof(*c));
    assert_non_null(c);

    assert_int_equal(parse_tmp("gen.zone",
                               "a IN A 192.0.2.1\n"
                               "$GENERATE 1-3 h$ A 192.0.2.$\n"
                               "$GENERATE 10-30/10 g${-9,3,x} 30 IN CNAME t${0,2,X}\n"
                               "$GENERATE 1-1 t$ TXT \"\\$ and \\\\\\\\\" ; a comment\n"
                               "$GENERATE 255-255 ${0,0,n} PTR r$\n"
                               "z IN A 192.0.2.9\n",
                               "example.com.", 300, c, err, sizeof(err)),
                     MXG_OK);
    assert_int_equal(c->n, 10);
    check_rec(&c->recs[0], "a.example.com.", "A", 300, "192.0.2.1", 1, "gen.zone");
    check_rec(&c->recs[1], "h1.example.com.", "A", 300, "192.0.2.1", 2, "gen.zone");
    check_rec(&c->recs[3], "h3.example.com.", "A", 300, "192.0.2.3", 2, "gen.zone");
    check_rec(&c->recs[4], "g001.example.com.", "CNAME", 30, "t0A.example.com", 3, "gen.zone");
    check_rec(&c->recs[6], "g015.example.com.", "CNAME", 30, "t1E.example.com", 3, "gen.zone");
    check_rec(&c->recs[7], "t1.example.com.", "TXT", 300, "\"$ and \\\\\"", 4, "gen.zone");
    check_rec(&c->recs[8], "f.f.example.com.", "PTR", 300, "r255.example.com", 5, "gen.zone");
    check_rec(&c->recs[9], "z.example.com.", "A", 300, "192.0.2.9", 6, "gen.zone");

    expect_parse_error("genbad.zone", "a A 192.0.2.1\n$GENERATE 3-1 h$ A 192.0.2.$\n",
                       "2: ", "start may not pass stop");
    expect_parse_error("genbad.zone", "$GENERATE 1-70000 h$ A 192.0.2.1\n",
                       "1: ", "at most 65536 records");
    expect_parse_error("genbad.zone", "$GENERATE 1-2 h${x} A 192.0.2.1\n", "1: ", "bad ${x}");
    expect_parse_error("genbad.zone", "$GENERATE 1-2\n", "1: ", "without a record");
    expect_parse_error("genbad.zone", "$GENERATE x\n", "1: ", "not start-stop");
    expect_parse_error("genbad.zone", "$GENERATE 1-2 \\$ORIGIN evil.\n",
                       "1: ", "makes a directive");
    expect_parse_error("genbad.zone", "$GENERATE 250-260 h$ A 192.0.2.$\n",
                       "1: ", "invalid IPv4 address");
    expect_parse_error("genbad.zone", "$FOO bar\n", "1: ", "unknown directive $FOO");
    free(c);
}

static void test_zonefile_escaped_names(void **state)
{
    (void)state;
    char err[512];
    struct collect *c = calloc(1, sizeof(*c));
    assert_non_null(c);

    assert_int_equal(parse_tmp("esc.zone",
                               "M\\(ai\\)L IN A 192.0.2.1\n"
                               "semi\\;colon IN CNAME q\\\"uote\n"
                               "sp\\032ace IN MX 10 at\\@sign.Example.COM.\n"
                               "dot\\.in\\\\x IN PTR caf\\195\\169\n"
                               "UP\\$ IN TXT \"a;b\" \"(p)\"\n",
                               "example.com.", 300, c, err, sizeof(err)),
                     MXG_OK);
    assert_int_equal(c->n, 5);
    check_rec(&c->recs[0], "m(ai)l.example.com.", "A", 300, "192.0.2.1", 1, "esc.zone");
    check_rec(&c->recs[1], "semi;colon.example.com.", "CNAME", 300, "q\"uote.example.com", 2,
              "esc.zone");
    check_rec(&c->recs[2], "sp\\032ace.example.com.", "MX", 300, "10 at@sign.Example.COM", 3,
              "esc.zone");
    check_rec(&c->recs[3], "dot\\.in\\\\x.example.com.", "PTR", 300, "caf\\195\\169.example.com", 4,
              "esc.zone");
    check_rec(&c->recs[4], "up$.example.com.", "TXT", 300, "\"a;b\" \"(p)\"", 5, "esc.zone");
    free(c);
}

static int einval_cb(void *ctx, const struct mxg_zf_record *r)
{
    (void)ctx;
    return strcmp(r->file + strlen(r->file) - 4, ".inc") == 0 ? MXG_EINVAL : 0;
}

/* $INCLUDE and the file itself: only regular files are read. A FIFO would block the open until
 * a writer appears and a device such as /dev/zero never ends: both are refused at once (the
 * alarm turns a hang into a failure). */
static void test_zonefile_not_regular(void **state)
{
    (void)state;
    char err[512], fifo[512];
    struct collect *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(20);
    expect_parse_error("fifo.zone", "a IN A 192.0.2.1\n$INCLUDE fifo\nb IN A 192.0.2.2\n",
                       "2: ", "cannot read included file");
    expect_parse_error("fifo.zone", "a IN A 192.0.2.1\n$INCLUDE fifo\n",
                       "2: ", "not a regular file");
    expect_parse_error("zero.zone", "$INCLUDE /dev/zero\n", "1: ", "not a regular file");
    /* /dev/stdin on a pipe whose writer stays open. */
    int pipefd[2] = {-1, -1}, saved = dup(0);
    assert_true(saved >= 0 && pipe(pipefd) == 0 && dup2(pipefd[0], 0) == 0);
    expect_parse_error("tty.zone", "a IN A 192.0.2.1\n$INCLUDE /dev/stdin\n",
                       "2: ", "cannot read included file /dev/stdin");
    assert_int_equal(dup2(saved, 0), 0);
    close(saved);
    close(pipefd[0]);
    close(pipefd[1]);
    assert_int_equal(mxg_zonefile_parse(fifo, ".", 1, collect_cb, c, err, sizeof(err)), MXG_EIO);
    assert_non_null(strstr(err, "not a regular file"));
    assert_int_equal(mxg_zonefile_parse("/dev/zero", ".", 1, collect_cb, c, err, sizeof(err)),
                     MXG_EIO);
    alarm(0);

    /* An error from inside an included file keeps its code and message: it is not mistaken
     * for the file being unreadable. */
    write_tmp("soa2.inc", "b IN A 192.0.2.2\n");
    assert_int_equal(parse_tmp("soa2.zone", "a IN A 192.0.2.1\n$INCLUDE soa2.inc\n", "example.", 1,
                               c, err, sizeof(err)),
                     MXG_OK);
    memset(c, 0, sizeof(*c));
    err[0] = '\0';
    char path[512];
    snprintf(path, sizeof(path), "%s/soa2.zone", tmpdir);
    assert_int_equal(mxg_zonefile_parse(path, "example.", 1, einval_cb, c, err, sizeof(err)),
                     MXG_EINVAL);
    assert_null(strstr(err, "cannot read"));
    free(c);
}

/* What a parse passed to its callback: how many records and a digest of them in order. */
struct seen {
    size_t n;
    uint64_t digest;
    size_t fail_at; /* the callback fails on this record (1-based); 0: never */
};

static int seen_cb(void *ctx, const struct mxg_zf_record *r)
{
    struct seen *s = ctx;
    char line[2048];
    int len = snprintf(line, sizeof(line), "%s|%s|%u|%s|%lu|%s", r->owner, r->type, r->ttl,
                       r->content, r->line, r->file);
    for (int i = 0; i < len; i++)
        s->digest = (s->digest ^ (unsigned char)line[i]) * 1099511628211u;
    if (++s->n == s->fail_at)
        return 42;
    return 0;
}

/* A zone of n records of several types; bad_line > 0 puts a syntax error on that line. The
 * text is malloc()ed. */
static char *big_zone(unsigned n, unsigned bad_line)
{
    size_t cap = (size_t)n * 96 + 512, len = 0;
    char *t = malloc(cap);
    assert_non_null(t);
    len += (size_t)snprintf(t + len, cap - len,
                            "$ORIGIN big.example.\n$TTL 300\n"
                            "@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\n$INCLUDE big.inc\n");
    for (unsigned i = 6; i < n + 6; i++) {
        if (i == bad_line)
            len += (size_t)snprintf(t + len, cap - len, "h%u IN A 300.1.2.3\n", i);
        else if (i % 4 == 0)
            len += (size_t)snprintf(t + len, cap - len, "h%u 60 IN A 10.0.%u.%u\n", i,
                                    i / 256 % 256, i % 256);
        else if (i % 4 == 1)
            len += (size_t)snprintf(t + len, cap - len, "  IN MX %u mx%u\n", i % 50, i % 7);
        else if (i % 4 == 2)
            len += (size_t)snprintf(t + len, cap - len, "t%u TXT \"v=spf1 -all\" \"%u\"\n", i, i);
        else
            len += (size_t)snprintf(t + len, cap - len, "c%u CNAME h%u\n", i, i - 3);
    }
    return t;
}

/* The file read on a second thread: the same records in the same order as the plain parse,
 * across many batches; the same error and the records before it; a callback's failure stops
 * it there, its own result returned. */
static void test_zonefile_ahead(void **state)
{
    (void)state;
    char err1[512], err2[512], path[512];
    write_tmp("big.inc", "ns1 A 192.0.2.1\n");
    char *text = big_zone(5000, 0);
    snprintf(path, sizeof(path), "%s", write_tmp("big.zone", text));
    free(text);
    struct seen a = {0}, b = {0};
    assert_int_equal(mxg_zonefile_parse(path, ".", 3600, seen_cb, &a, err1, sizeof(err1)), MXG_OK);
    assert_int_equal(mxg_zonefile_parse_ahead(path, ".", 3600, seen_cb, &b, err2, sizeof(err2)),
                     MXG_OK);
    assert_int_equal(a.n, 5003);
    assert_int_equal(b.n, a.n);
    assert_true(b.digest == a.digest);
    assert_string_equal(err2, "");
    for (size_t at = 1; at <= 5003; at += 1023) {
        b = (struct seen){.fail_at = at};
        assert_int_equal(mxg_zonefile_parse_ahead(path, ".", 3600, seen_cb, &b, err2, sizeof(err2)),
                         42);
        assert_int_equal(b.n, at);
        assert_string_equal(err2, ""); /* the callback's to write */
    }

    text = big_zone(5000, 3001);
    snprintf(path, sizeof(path), "%s", write_tmp("bigbad.zone", text));
    free(text);
    a = (struct seen){0};
    b = (struct seen){0};
    assert_int_equal(mxg_zonefile_parse(path, ".", 3600, seen_cb, &a, err1, sizeof(err1)),
                     MXG_EPARSE);
    assert_int_equal(mxg_zonefile_parse_ahead(path, ".", 3600, seen_cb, &b, err2, sizeof(err2)),
                     MXG_EPARSE);
    assert_non_null(strstr(err1, "bigbad.zone:3001:"));
    assert_string_equal(err2, err1);
    assert_int_equal(b.n, a.n);
    assert_true(b.digest == a.digest);

    assert_int_equal(
        mxg_zonefile_parse("/nonexistent/zone", ".", 1, seen_cb, &a, err1, sizeof(err1)), MXG_EIO);
    assert_int_equal(
        mxg_zonefile_parse_ahead("/nonexistent/zone", ".", 1, seen_cb, &b, err2, sizeof(err2)),
        MXG_EIO);
    assert_string_equal(err2, err1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_canon),
        cmocka_unit_test(test_name_pdns_form),
        cmocka_unit_test(test_name_to_db),
        cmocka_unit_test(test_name_is_below),
        cmocka_unit_test(test_name_parent),
        cmocka_unit_test(test_name_labels),
        cmocka_unit_test(test_name_rkey),
        cmocka_unit_test(test_rrtype_parse),
        cmocka_unit_test(test_rrtype_name),
        cmocka_unit_test(test_rr_normalize_ok),
        cmocka_unit_test(test_rr_normalize_errors),
        cmocka_unit_test(test_rr_normalize_range),
        cmocka_unit_test(test_rr_from_wire),
        cmocka_unit_test(test_zonefile_fixture),
        cmocka_unit_test(test_zonefile_defaults),
        cmocka_unit_test(test_zonefile_errors),
        cmocka_unit_test(test_zonefile_not_regular),
        cmocka_unit_test(test_zonefile_escaped_names),
        cmocka_unit_test(test_zonefile_pdns_types),
        cmocka_unit_test(test_zonefile_generate),
        cmocka_unit_test(test_zonefile_ahead),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
