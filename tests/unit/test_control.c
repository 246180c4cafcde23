/* test_control.c -- control socket ops over an in-memory store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxg/config.h"
#include "mxg/control.h"
#include "mxg/err.h"
#include "mxg/store.h"

struct fixture {
    struct mxg_config cfg;
    struct mxg_store *st;
    struct mxg_control ctl;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];
    assert_int_equal(
        mxg_config_load_string("proxy-ranges=203.0.113.0/24\n", "test", &f->cfg, err, sizeof(err)),
        MXG_OK);
    assert_int_equal(mxg_store_sqlite_open(":memory:", &f->st, err, sizeof(err)), MXG_OK);
    f->ctl = (struct mxg_control){.store = f->st, .cfg = &f->cfg};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mxg_store_close(f->st);
    mxg_config_free(&f->cfg);
    free(f);
    return 0;
}

static json_t *call(struct fixture *f, const char *line)
{
    char *reply = NULL;
    size_t len = 0;
    assert_int_equal(mxg_control_handle(&f->ctl, line, strlen(line), &reply, &len), MXG_OK);
    assert_true(len > 0 && reply[len - 1] == '\n');
    json_t *j = json_loadb(reply, len, 0, NULL);
    free(reply);
    assert_non_null(j);
    return j;
}

static void expect_ok(struct fixture *f, const char *line)
{
    json_t *j = call(f, line);
    if (!json_is_true(json_object_get(j, "ok")))
        fail_msg("%s -> %s", line, json_dumps(j, 0));
    json_decref(j);
}

static void expect_error(struct fixture *f, const char *line, const char *code)
{
    json_t *j = call(f, line);
    assert_true(json_is_false(json_object_get(j, "ok")));
    json_t *e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    assert_true(json_is_string(json_object_get(e, "message")));
    json_decref(j);
}

static void add(struct fixture *f, const char *zone, const char *name, const char *type,
                const char *content)
{
    struct mxg_zone z;
    assert_int_equal(MXG_STORE_CALL(f->st, zone_get, zone, &z), MXG_OK);
    struct mxg_record r = {
        .name = name, .type = type, .content = content, .ttl = 300, .auth = true};
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(MXG_STORE_CALL(f->st, record_add, z.id, &r), MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
}

static void test_bad_requests(void **state)
{
    struct fixture *f = *state;
    expect_error(f, "not json", "invalid-request");
    expect_error(f, "[1]", "invalid-request");
    expect_error(f, "{\"op\":7}", "invalid-request");
    expect_error(f, "{\"op\":\"frob\"}", "unknown-op");
    expect_error(f, "{\"op\":\"zone.add\"}", "invalid-request");
    expect_error(f, "{\"op\":\"zone.add\",\"zone\":\"a..b\"}", "invalid-request");
    expect_error(f, "{\"op\":\"zone.add\",\"zone\":\"x.example\",\"kind\":\"slave\"}",
                 "invalid-request");
    expect_error(f, "{\"op\":\"zone.delete\",\"zone\":\"nope.example\"}", "not-found");
    expect_error(f, "{\"op\":\"check\",\"zone\":\"nope.example\",\"patch\":{}}", "not-found");
    expect_error(f, "{\"op\":\"last-decision\"}", "invalid-request");
    expect_error(f, "{\"op\":\"audit.show\",\"verdict\":\"maybe\"}", "invalid-request");
    expect_error(f, "{\"op\":\"audit.show\",\"after\":-1}", "invalid-request");
    expect_error(f, "{\"op\":\"audit.verify\",\"expect_head\":\"x\"}", "invalid-request");
    expect_error(f, "{\"op\":\"stats\"}", "unavailable");
}

static void test_zones_and_audit(void **state)
{
    struct fixture *f = *state;
    expect_ok(f, "{\"op\":\"zone.add\",\"zone\":\"example.com\",\"ns\":[\"ns1.example.com\"]}");
    expect_error(f, "{\"op\":\"zone.add\",\"zone\":\"example.com.\"}", "exists");
    expect_ok(f, "{\"op\":\"zone.add\",\"zone\":\"sec.example\",\"kind\":\"slave\","
                 "\"primaries\":[\"192.0.2.1\"]}");
    json_t *j = call(f, "{\"op\":\"zone.list\"}");
    assert_int_equal(json_array_size(json_object_get(j, "zones")), 2);
    json_decref(j);
    expect_ok(f, "{\"op\":\"zone.delete\",\"zone\":\"sec.example\"}");
    /* Each CLI change left an audit record (source cli); the chain verifies. */
    j = call(f, "{\"op\":\"audit.show\"}");
    json_t *recs = json_object_get(j, "records");
    assert_int_equal(json_array_size(recs), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "source")),
                        "cli");
    json_decref(j);
    j = call(f, "{\"op\":\"audit.show\",\"zone\":\"example.com\",\"limit\":1}");
    assert_int_equal(json_array_size(json_object_get(j, "records")), 1);
    json_decref(j);
    j = call(f, "{\"op\":\"audit.export\",\"after\":2}");
    assert_int_equal(json_array_size(json_object_get(j, "records")), 1);
    json_decref(j);
    j = call(f, "{\"op\":\"audit.verify\"}");
    assert_true(json_is_true(json_object_get(j, "valid")));
    assert_int_equal(json_integer_value(json_object_get(j, "records")), 3);
    json_decref(j);
    j = call(f, "{\"op\":\"last-decision\",\"zone\":\"example.com\"}");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "record"), "seq")), 1);
    json_decref(j);
    expect_error(f, "{\"op\":\"last-decision\",\"zone\":\"other.example\"}", "not-found");

    /* Deleting a zone records every RRset it removes (the store is the before side, also for
     * a transaction that replaces the whole zone). */
    expect_ok(f, "{\"op\":\"zone.delete\",\"zone\":\"example.com\"}");
    j = call(f, "{\"op\":\"last-decision\",\"zone\":\"example.com\"}");
    json_t *changes = json_object_get(json_object_get(j, "record"), "changes");
    assert_true(json_array_size(changes) >= 2); /* SOA and NS at least */
    for (size_t i = 0; i < json_array_size(changes); i++) {
        json_t *c = json_array_get(changes, i);
        assert_true(json_array_size(json_object_get(c, "before")) > 0);
        assert_int_equal(json_array_size(json_object_get(c, "after")), 0);
    }
    json_decref(j);
}

/* zone.set: kind and primaries, audited with both sides; soa_edit_api and source on zone.add. */
static void test_zone_settings(void **state)
{
    struct fixture *f = *state;
    expect_ok(f, "{\"op\":\"zone.add\",\"zone\":\"example.com\",\"soa_edit_api\":\"EPOCH\","
                 "\"source\":\"http\"}");
    json_t *j = call(f, "{\"op\":\"last-decision\",\"zone\":\"example.com\"}");
    json_t *rec = json_object_get(j, "record");
    assert_string_equal(json_string_value(json_object_get(rec, "source")), "http");
    char *meta = json_dumps(json_object_get(rec, "metadata"), JSON_COMPACT);
    assert_non_null(meta);
    assert_non_null(strstr(meta, "EPOCH"));
    free(meta);
    json_decref(j);
    expect_ok(f, "{\"op\":\"zone.set\",\"zone\":\"example.com\",\"kind\":\"slave\","
                 "\"primaries\":[\"192.0.2.1\",\"192.0.2.2:5300\"],\"source\":\"http\"}");
    j = call(f, "{\"op\":\"zone.list\"}");
    json_t *z = json_array_get(json_object_get(j, "zones"), 0);
    assert_string_equal(json_string_value(json_object_get(z, "kind")), "slave");
    assert_string_equal(json_string_value(json_object_get(z, "masters")),
                        "192.0.2.1,192.0.2.2:5300");
    json_decref(j);
    j = call(f, "{\"op\":\"last-decision\",\"zone\":\"example.com\"}");
    rec = json_object_get(j, "record");
    json_t *kind = json_object_get(json_object_get(rec, "settings"), "kind");
    assert_string_equal(json_string_value(json_array_get(kind, 0)), "native");
    assert_string_equal(json_string_value(json_array_get(kind, 1)), "slave");
    assert_string_equal(json_string_value(json_object_get(rec, "verdict")), "allow");
    json_decref(j);
    /* Only the kind: the primaries stay; a slave without primaries, bad ones, bad source. */
    expect_ok(f, "{\"op\":\"zone.set\",\"zone\":\"example.com\",\"kind\":\"master\"}");
    expect_error(f,
                 "{\"op\":\"zone.set\",\"zone\":\"example.com\",\"kind\":\"slave\","
                 "\"primaries\":[]}",
                 "invalid-request");
    expect_error(f, "{\"op\":\"zone.set\",\"zone\":\"example.com\",\"primaries\":[\"x y\"]}",
                 "invalid-request");
    expect_error(f, "{\"op\":\"zone.set\",\"zone\":\"example.com\",\"kind\":\"bogus\"}",
                 "invalid-request");
    expect_error(f, "{\"op\":\"zone.set\",\"zone\":\"example.com\",\"source\":\"api\"}",
                 "invalid-request");
    expect_error(f, "{\"op\":\"zone.set\",\"zone\":\"nope.example\",\"kind\":\"master\"}",
                 "not-found");
    j = call(f, "{\"op\":\"audit.verify\"}");
    assert_true(json_is_true(json_object_get(j, "valid")));
    assert_int_equal(json_integer_value(json_object_get(j, "records")), 3);
    json_decref(j);
}

static void test_check_writes_nothing(void **state)
{
    struct fixture *f = *state;
    expect_ok(f, "{\"op\":\"zone.add\",\"zone\":\"example.com\",\"ns\":[\"ns1.example.com\"]}");
    json_t *j = call(f, "{\"op\":\"check\",\"zone\":\"example.com\",\"patch\":{\"rrsets\":[{"
                        "\"name\":\"www.example.com.\",\"type\":\"A\",\"ttl\":300,\"changetype\":"
                        "\"REPLACE\",\"records\":[{\"content\":\"192.0.2.80\"}]}]}}");
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), "allow");
    assert_true(json_is_array(json_object_get(j, "findings")));
    assert_true(json_is_array(json_object_get(j, "fix")));
    assert_true(json_is_array(json_object_get(j, "remedies")));
    json_decref(j);
    j = call(f, "{\"op\":\"audit.show\"}");
    assert_int_equal(json_array_size(json_object_get(j, "records")), 1); /* zone.add only */
    json_decref(j);
    expect_error(f,
                 "{\"op\":\"check\",\"zone\":\"example.com\",\"patch\":{\"rrsets\":[{\"name\":"
                 "\"www.example.org.\",\"type\":\"A\",\"changetype\":\"DELETE\"}]}}",
                 "invalid-request");
    expect_error(f,
                 "{\"op\":\"check\",\"zone\":\"example.com\",\"patch\":{\"rrsets\":[{\"name\":"
                 "\"www.example.com.\",\"type\":\"A\",\"ttl\":1,\"changetype\":\"REPLACE\","
                 "\"records\":[{\"content\":\"999.1.1.1\"}]}]}}",
                 "invalid-request");
    expect_error(f,
                 "{\"op\":\"check\",\"zone\":\"example.com\",\"patch\":{\"rrsets\":[{\"name\":"
                 "\"www.example.com.\",\"type\":\"A\",\"changetype\":\"UPSERT\"}]}}",
                 "invalid-request");
}

static const char *class_of(json_t *scan, const char *zone)
{
    size_t i;
    json_t *z;
    json_array_foreach(json_object_get(scan, "zones"), i, z)
    {
        if (strcmp(json_string_value(json_object_get(z, "zone")), zone) == 0)
            return json_string_value(json_object_get(z, "class"));
    }
    return "?";
}

static void test_scan(void **state)
{
    struct fixture *f = *state;
    const char *zones[] = {"risk.example", "null.example", "safe.example", "broken.example"};
    for (size_t i = 0; i < 4; i++) {
        char line[128];
        snprintf(line, sizeof(line), "{\"op\":\"zone.add\",\"zone\":\"%s\"}", zones[i]);
        expect_ok(f, line);
    }
    add(f, "risk.example.", "risk.example.", "A", "192.0.2.10");
    add(f, "risk.example.", "risk.example.", "MX", "10 risk.example");
    add(f, "null.example.", "null.example.", "MX", "0 .");
    add(f, "null.example.", "null.example.", "A", "192.0.2.11");
    add(f, "safe.example.", "safe.example.", "A", "192.0.2.12");
    add(f, "safe.example.", "safe.example.", "MX", "10 mail.safe.example");
    add(f, "safe.example.", "mail.safe.example.", "A", "192.0.2.13");
    add(f, "broken.example.", "broken.example.", "A", "203.0.113.7");
    add(f, "broken.example.", "broken.example.", "MX", "10 broken.example");
    json_t *j = call(f, "{\"op\":\"scan\"}");
    assert_string_equal(class_of(j, "risk.example."), "at-risk");
    assert_string_equal(class_of(j, "null.example."), "no-mail");
    assert_string_equal(class_of(j, "safe.example."), "safe");
    assert_string_equal(class_of(j, "broken.example."), "broken");
    assert_int_equal(json_integer_value(json_object_get(j, "broken")), 1);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zones_and_audit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zone_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
