/* test_txn.c -- buffered transactions: overlay reads, replace semantics, apply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxg/err.h"
#include "mxg/store.h"
#include "mxg/txn.h"

struct fixture {
    struct mxg_store *st;
    int64_t zone;
};

static void add(struct mxg_store *st, int64_t id, const char *name, const char *type,
                const char *content)
{
    struct mxg_record r = {.name = name, .type = type, .content = content, .ttl = 60, .auth = true};
    assert_int_equal(MXG_STORE_CALL(st, record_add, id, &r), MXG_OK);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[128];
    assert_int_equal(mxg_store_sqlite_open(":memory:", &f->st, err, sizeof(err)), MXG_OK);
    assert_int_equal(
        MXG_STORE_CALL(f->st, zone_add, "example.com.", MXG_KIND_NATIVE, NULL, &f->zone), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    add(f->st, f->zone, "example.com.", "SOA", "ns1.example.com hostmaster.example.com 1 2 3 4 5");
    add(f->st, f->zone, "example.com.", "A", "192.0.2.1");
    add(f->st, f->zone, "example.com.", "MX", "10 example.com");
    add(f->st, f->zone, "www.example.com.", "A", "192.0.2.2");
    add(f->st, f->zone, "www.example.com.", "AAAA", "2001:db8::2");
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mxg_store_close(f->st);
    free(f);
    return 0;
}

struct seen {
    int n;
    char buf[1024];
};

static int seen_cb(void *ctx, const struct mxg_record *r)
{
    struct seen *s = ctx;
    size_t len = strlen(s->buf);
    snprintf(s->buf + len, sizeof(s->buf) - len, "%s%s %s %s", s->n ? "|" : "", r->name, r->type,
             r->content);
    s->n++;
    return 0;
}

static struct mxg_txn_rec R(const char *type, const char *content) {
    return (struct mxg_txn_rec){.type = (char *)(uintptr_t)type,
                                .content = (char *)(uintptr_t)content,
                                .ttl = 300,
                                .auth = true};
}

static void
test_replace_type_overlay_and_isolation(void **state)
{
    struct fixture *f = *state;
    struct mxg_txn *t;
    assert_int_equal(mxg_txn_new(f->zone, "example.com.", false, 7, &t), MXG_OK);
    assert_true(mxg_txn_empty(t));
    struct mxg_txn_rec a = R("A", "203.0.113.5");
    assert_int_equal(mxg_txn_replace(t, "example.com.", "A", &a, 1), MXG_OK);
    assert_false(mxg_txn_empty(t));
    struct seen s = {0};
    assert_int_equal(mxg_txn_lookup(t, f->st, "example.com.", NULL, seen_cb, &s), MXG_OK);
    assert_int_equal(s.n, 3); /* SOA, MX from the store, the new A */
    assert_non_null(strstr(s.buf, "A 203.0.113.5"));
    assert_null(strstr(s.buf, "192.0.2.1"));
    /* The store itself is untouched until apply. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(MXG_STORE_CALL(f->st, lookup, f->zone, "example.com.", "A", seen_cb, &s),
                     MXG_OK);
    assert_string_equal(s.buf, "example.com. A 192.0.2.1");
    /* Apply. */
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(mxg_txn_apply(t, f->st), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    memset(&s, 0, sizeof(s));
    assert_int_equal(MXG_STORE_CALL(f->st, lookup, f->zone, "example.com.", NULL, seen_cb, &s),
                     MXG_OK);
    assert_int_equal(s.n, 3);
    assert_non_null(strstr(s.buf, "A 203.0.113.5"));
    assert_non_null(strstr(s.buf, "MX 10 example.com"));
    mxg_txn_free(t);
}

static void test_replace_any_delete_and_type0(void **state)
{
    struct fixture *f = *state;
    struct mxg_txn *t;
    assert_int_equal(mxg_txn_new(f->zone, "example.com.", false, 1, &t), MXG_OK);
    /* DELETE of a whole name (ANY with an empty set). */
    assert_int_equal(mxg_txn_replace(t, "www.example.com.", NULL, NULL, 0), MXG_OK);
    struct seen s = {0};
    assert_int_equal(mxg_txn_lookup(t, f->st, "www.example.com.", NULL, seen_cb, &s), MXG_OK);
    assert_int_equal(s.n, 0);
    /* pdns's TYPE0 quirk: records of other types under qtype TYPE0, then the real replace. */
    struct mxg_txn_rec txt = R("TXT", "\"x\"");
    assert_int_equal(mxg_txn_replace(t, "new.example.com.", "TYPE0", &txt, 1), MXG_OK);
    assert_int_equal(mxg_txn_replace(t, "new.example.com.", "TXT", &txt, 1), MXG_OK);
    memset(&s, 0, sizeof(s));
    assert_int_equal(mxg_txn_lookup(t, f->st, "new.example.com.", NULL, seen_cb, &s), MXG_OK);
    assert_int_equal(s.n, 1);
    /* feedRecord appends; an exact duplicate is kept once. */
    struct mxg_txn_rec a1 = R("A", "198.51.100.1"), a2 = R("A", "198.51.100.2");
    assert_int_equal(mxg_txn_add(t, "new.example.com.", &a1), MXG_OK);
    assert_int_equal(mxg_txn_add(t, "new.example.com.", &a2), MXG_OK);
    assert_int_equal(mxg_txn_add(t, "new.example.com.", &a1), MXG_OK);
    assert_int_equal(mxg_txn_record_count(t), 3);
    memset(&s, 0, sizeof(s));
    assert_int_equal(mxg_txn_lookup(t, f->st, "new.example.com.", "A", seen_cb, &s), MXG_OK);
    assert_int_equal(s.n, 2);
    /* Replacing A drops the buffered A records too. */
    assert_int_equal(mxg_txn_replace(t, "new.example.com.", "A", NULL, 0), MXG_OK);
    assert_int_equal(mxg_txn_record_count(t), 1);
    /* An ENT shows for the parent of a new name, through the overlay. */
    bool below = false;
    struct mxg_txn_rec srv = R("SRV", "0 5 5060 sip.example.com");
    assert_int_equal(mxg_txn_add(t, "_sip._udp.example.com.", &srv), MXG_OK);
    assert_int_equal(mxg_txn_has_below(t, f->st, "_udp.example.com.", &below), MXG_OK);
    assert_true(below);
    assert_int_equal(mxg_txn_has_below(t, f->st, "_tcp.example.com.", &below), MXG_OK);
    assert_false(below);
    /* list: untouched names from the store, touched ones from the overlay. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(mxg_txn_list(t, f->st, seen_cb, &s), MXG_OK);
    assert_int_equal(s.n, 5); /* SOA A MX + new TXT + SRV; www gone */
    assert_null(strstr(s.buf, "www"));
    assert_int_equal(mxg_txn_name_count(t), 3);
    assert_string_equal(mxg_txn_name_at(t, 0)->name, "www.example.com.");
    assert_null(mxg_txn_name_at(t, 9));
    mxg_txn_free(t);
}

static void test_wipe(void **state)
{
    struct fixture *f = *state;
    struct mxg_txn *t;
    assert_int_equal(mxg_txn_new(f->zone, "example.com.", true, 1, &t), MXG_OK);
    assert_false(mxg_txn_empty(t)); /* a wipe changes the zone even with nothing fed */
    struct mxg_txn_rec soa = R("SOA", "ns1.example.com hostmaster.example.com 2 2 3 4 5");
    assert_int_equal(mxg_txn_add(t, "example.com.", &soa), MXG_OK);
    struct seen s = {0};
    assert_int_equal(mxg_txn_lookup(t, f->st, "www.example.com.", NULL, seen_cb, &s), MXG_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(mxg_txn_list(t, f->st, seen_cb, &s), MXG_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(mxg_txn_apply(t, f->st), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    memset(&s, 0, sizeof(s));
    assert_int_equal(MXG_STORE_CALL(f->st, list, f->zone, seen_cb, &s), MXG_OK);
    assert_int_equal(s.n, 1);
    assert_non_null(strstr(s.buf, " 2 2 3 4 5"));
    mxg_txn_free(t);
}

static int meta_cb(void *ctx, const char *kind, const char *value)
{
    struct seen *s = ctx;
    size_t len = strlen(s->buf);
    snprintf(s->buf + len, sizeof(s->buf) - len, "%s%s=%s", s->n ? "|" : "", kind, value);
    s->n++;
    return 0;
}

static void test_metadata_and_poison(void **state)
{
    struct fixture *f = *state;
    const char *v[] = {"1"};
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, meta_set, f->zone, "API-RECTIFY", v, 1), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    struct mxg_txn *t;
    assert_int_equal(mxg_txn_new(f->zone, "example.com.", false, 1, &t), MXG_OK);
    const char *nv[] = {"fix"};
    assert_int_equal(mxg_txn_meta_set(t, "X-MXGUARD-MODE", nv, 1), MXG_OK);
    assert_int_equal(mxg_txn_meta_set(t, "api-rectify", NULL, 0), MXG_OK);
    struct seen s = {0};
    assert_int_equal(mxg_txn_meta_list(t, f->st, NULL, meta_cb, &s), MXG_OK);
    assert_string_equal(s.buf, "X-MXGUARD-MODE=fix");
    assert_null(mxg_txn_poisoned(t));
    mxg_txn_poison(t, "bad A");
    mxg_txn_poison(t, "second reason is not kept");
    assert_string_equal(mxg_txn_poisoned(t), "bad A");
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(mxg_txn_apply(t, f->st), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    memset(&s, 0, sizeof(s));
    assert_int_equal(MXG_STORE_CALL(f->st, meta_list, f->zone, NULL, meta_cb, &s), MXG_OK);
    assert_string_equal(s.buf, "X-MXGUARD-MODE=fix");
    mxg_txn_free(t);
}

static void test_many_names(void **state)
{
    struct fixture *f = *state;
    struct mxg_txn *t;
    assert_int_equal(mxg_txn_new(f->zone, "example.com.", false, 1, &t), MXG_OK);
    char name[64], addr[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "h%d.example.com.", i);
        snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
        struct mxg_txn_rec a = R("A", addr);
        assert_int_equal(mxg_txn_add(t, name, &a), MXG_OK);
    }
    assert_int_equal(mxg_txn_name_count(t), 5000);
    struct seen s = {0};
    assert_int_equal(mxg_txn_lookup(t, f->st, "h4321.example.com.", NULL, seen_cb, &s), MXG_OK);
    assert_string_equal(s.buf, "h4321.example.com. A 10.0.16.225");
    mxg_txn_free(t);
}

struct refs {
    int n;
    char buf[512];
};

static int refs_cb(void *ctx, const struct mxg_txn_name *e)
{
    struct refs *r = ctx;
    size_t len = strlen(r->buf);
    snprintf(r->buf + len, sizeof(r->buf) - len, "%s%s", r->n++ ? "|" : "", e->name);
    return 0;
}

static const char *refs_of(struct mxg_txn *t, const char *type, const char *target, struct refs *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(mxg_txn_referrers(t, type, target, refs_cb, r), MXG_OK);
    return r->buf;
}

/* The index of added MX/CNAME/ALIAS targets: each owner once, case and priority ignored, and
 * rebuilt after every change. */
static void test_referrers_index(void **state)
{
    struct fixture *f = *state;
    struct mxg_txn *t;
    struct refs r;
    assert_int_equal(mxg_txn_new(f->zone, "example.com.", false, 1, &t), MXG_OK);
    assert_string_equal(refs_of(t, "MX", "example.com.", &r), "");
    struct mxg_txn_rec mx[] = {R("MX", "10 Mail.Example.com"), R("MX", "20 mail.example.com.")};
    assert_int_equal(mxg_txn_replace(t, "example.com.", "MX", mx, 2), MXG_OK);
    struct mxg_txn_rec cn = R("CNAME", "mail.example.com");
    assert_int_equal(mxg_txn_add(t, "smtp.example.com.", &cn), MXG_OK);
    assert_string_equal(refs_of(t, "MX", "mail.example.com.", &r), "example.com.");
    assert_string_equal(refs_of(t, "CNAME", "mail.example.com.", &r), "smtp.example.com.");
    assert_string_equal(refs_of(t, "ALIAS", "mail.example.com.", &r), "");
    assert_string_equal(refs_of(t, "MX", "example.com.", &r), "");
    /* A change after the first query is seen. */
    struct mxg_txn_rec mx2 = R("MX", "5 mail.example.com");
    assert_int_equal(mxg_txn_add(t, "sub.example.com.", &mx2), MXG_OK);
    assert_string_equal(refs_of(t, "MX", "mail.example.com.", &r), "example.com.|sub.example.com.");
    assert_int_equal(mxg_txn_replace(t, "example.com.", "MX", NULL, 0), MXG_OK);
    assert_string_equal(refs_of(t, "MX", "mail.example.com.", &r), "sub.example.com.");
    /* Thousands of owners: only the matching ones. */
    char name[64], content[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof(name), "h%d.example.com.", i);
        snprintf(content, sizeof(content), "10 m%d.example.com", i % 1000);
        struct mxg_txn_rec m = R("MX", content);
        assert_int_equal(mxg_txn_add(t, name, &m), MXG_OK);
    }
    assert_string_equal(refs_of(t, "MX", "m7.example.com.", &r),
                        "h7.example.com.|h1007.example.com.|h2007.example.com.");
    mxg_txn_free(t);
}

struct below {
    int n;
    char buf[1024];
};

static int below_cb(void *ctx, const struct mxg_txn_name *e, const char *target)
{
    struct below *b = ctx;
    size_t len = strlen(b->buf);
    snprintf(b->buf + len, sizeof(b->buf) - len, "%s%s>%s", b->n++ ? "|" : "", e->name, target);
    return 0;
}

static const char *below_of(struct mxg_txn *t, const char *type, const char *root, struct below *b)
{
    memset(b, 0, sizeof(*b));
    assert_int_equal(mxg_txn_referrers_below(t, type, root, below_cb, b), MXG_OK);
    return b->buf;
}

static int stop_cb(void *ctx, const struct mxg_txn_name *e, const char *target)
{
    (*(int *)ctx)++;
    return 7;
}

/* The added records whose target is at or below a name: label-wise, case and priority ignored,
 * each (name, target) once, null MX left out, only what the transaction adds. */
static void test_referrers_below(void **state)
{
    struct fixture *f = *state;
    struct mxg_txn *t;
    struct below b;
    struct refs r;
    assert_int_equal(mxg_txn_new(f->zone, "example.com.", false, 1, &t), MXG_OK);
    /* The stored MX (example.com. -> example.com.) is not the transaction's. */
    assert_string_equal(below_of(t, "MX", ".", &b), "");
    struct mxg_txn_rec mx[] = {R("MX", "10 Mail.Example.com"), R("MX", "20 mail.example.com."),
                               R("MX", "30 mx.example.org")};
    assert_int_equal(mxg_txn_replace(t, "example.com.", "MX", mx, 3), MXG_OK);
    struct mxg_txn_rec null_mx = R("MX", "0 .");
    assert_int_equal(mxg_txn_add(t, "nomail.example.com.", &null_mx), MXG_OK);
    struct mxg_txn_rec cn = R("CNAME", "www.sub.example.com");
    assert_int_equal(mxg_txn_add(t, "c.example.com.", &cn), MXG_OK);
    struct mxg_txn_rec xcn = R("CNAME", "xexample.com");
    assert_int_equal(mxg_txn_add(t, "d.example.com.", &xcn), MXG_OK);
    struct mxg_txn_rec dn = R("DNAME", "EXAMPLE.com");
    assert_int_equal(mxg_txn_add(t, "e.example.com.", &dn), MXG_OK);
    struct mxg_txn_rec al = R("ALIAS", "deep.a.b.example.com");
    assert_int_equal(mxg_txn_add(t, "f.example.com.", &al), MXG_OK);
    struct mxg_txn_rec txt = R("TXT", "\"mail.example.com\"");
    assert_int_equal(mxg_txn_add(t, "g.example.com.", &txt), MXG_OK);

    assert_string_equal(below_of(t, "MX", "example.com.", &b), "example.com.>mail.example.com.");
    assert_string_equal(below_of(t, "MX", "EXAMPLE.COM", &b), "example.com.>mail.example.com.");
    assert_string_equal(below_of(t, "MX", ".", &b),
                        "example.com.>mail.example.com.|example.com.>mx.example.org.");
    assert_string_equal(below_of(t, "MX", "mail.example.com.", &b),
                        "example.com.>mail.example.com.");
    assert_string_equal(below_of(t, "MX", "ail.example.com.", &b), "");
    assert_string_equal(below_of(t, "MX", "x.mail.example.com.", &b), "");
    assert_string_equal(below_of(t, "CNAME", "example.com.", &b),
                        "c.example.com.>www.sub.example.com.");
    assert_string_equal(below_of(t, "CNAME", "xexample.com.", &b), "d.example.com.>xexample.com.");
    assert_string_equal(below_of(t, "CNAME", ".", &b),
                        "c.example.com.>www.sub.example.com.|d.example.com.>xexample.com.");
    assert_string_equal(below_of(t, "DNAME", "example.com.", &b), "e.example.com.>example.com.");
    assert_string_equal(below_of(t, "DNAME", "www.example.com.", &b), "");
    assert_string_equal(below_of(t, "ALIAS", "b.example.com.", &b),
                        "f.example.com.>deep.a.b.example.com.");
    assert_string_equal(below_of(t, "ALIAS", "x.deep.a.b.example.com.", &b), "");
    /* The exact index takes DNAME too. */
    assert_string_equal(refs_of(t, "DNAME", "example.com.", &r), "e.example.com.");
    assert_string_equal(refs_of(t, "DNAME", "www.example.com.", &r), "");

    assert_int_equal(mxg_txn_referrers_below(t, "TXT", ".", below_cb, &b), MXG_EINVAL);
    assert_int_equal(mxg_txn_referrers_below(t, "MX", "a..b.", below_cb, &b), MXG_EINVAL);
    int calls = 0;
    assert_int_equal(mxg_txn_referrers_below(t, "MX", ".", stop_cb, &calls), 7);
    assert_int_equal(calls, 1);

    /* Changes are seen: a replaced RRset's records are gone. */
    assert_int_equal(mxg_txn_replace(t, "example.com.", "MX", NULL, 0), MXG_OK);
    assert_string_equal(below_of(t, "MX", ".", &b), "");
    assert_int_equal(mxg_txn_replace(t, "c.example.com.", NULL, NULL, 0), MXG_OK);
    assert_string_equal(below_of(t, "CNAME", "example.com.", &b), "");
    mxg_txn_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replace_type_overlay_and_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_any_delete_and_type0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadata_and_poison, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_referrers_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_referrers_below, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
