/* test_backend.c -- every remote-backend method's reply shape, over a real SQLite store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "mxg/audit.h"
#include "mxg/backend.h"
#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/store.h"
#include "mxg/zoneops.h"

#include "fixtures.h"

struct fixture {
    struct mxg_config cfg;
    struct mxg_store *st;
    struct mxg_backend *be;
    struct mxg_session *s;
    int64_t zone_id;
};

static void add(struct mxg_store *st, int64_t id, const char *name, const char *type,
                const char *content)
{
    struct mxg_record r = {
        .name = name, .type = type, .content = content, .ttl = 300, .auth = true};
    assert_int_equal(MXG_STORE_CALL(st, record_add, id, &r), MXG_OK);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];
    assert_int_equal(mxg_config_load_string("", "test", &f->cfg, err, sizeof(err)), MXG_OK);
    assert_int_equal(mxg_store_sqlite_open(":memory:", &f->st, err, sizeof(err)), MXG_OK);
    const char *ns[] = {"ns1.example.com"};
    assert_int_equal(mxg_zone_create(f->st, &f->cfg, "example.com.", MXG_KIND_MASTER, NULL, ns, 1,
                                     err, sizeof(err)),
                     MXG_OK);
    struct mxg_zone z;
    assert_int_equal(MXG_STORE_CALL(f->st, zone_get, "example.com.", &z), MXG_OK);
    f->zone_id = z.id;
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    add(f->st, z.id, "example.com.", "A", "192.0.2.1");
    add(f->st, z.id, "example.com.", "MX", "10 example.com");
    add(f->st, z.id, "www.example.com.", "A", "192.0.2.2");
    add(f->st, z.id, "_sip._tcp.example.com.", "SRV", "0 5 5060 sip.example.com");
    add(f->st, z.id, "txt.example.com.", "TXT", "\"v=spf1 -all\"");
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    f->be = mxg_backend_new(f->st, &f->cfg);
    f->s = mxg_session_new(f->be);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mxg_session_free(f->s);
    mxg_backend_free(f->be);
    mxg_store_close(f->st);
    mxg_config_free(&f->cfg);
    free(f);
    return 0;
}

static json_t *init_call(struct mxg_session *s, const char *line)
{
    json_decref(mxg_test_call(s, "{\"method\":\"initialize\",\"parameters\":{\"path\":\"/x\"}}"));
    return mxg_test_call(s, line);
}

static void assert_false_with_log(json_t *j)
{
    assert_true(json_is_false(json_object_get(j, "result")));
    json_t *log = json_object_get(j, "log");
    assert_true(json_is_array(log));
    assert_true(json_is_string(json_array_get(log, 0)));
}

static void test_initialize_first(void **state)
{
    struct fixture *f = *state;
    json_t *j = mxg_test_call(f->s, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\","
                                    "\"qname\":\"example.com.\",\"zone-id\":-1}}");
    assert_false_with_log(j);
    json_decref(j);
    j = mxg_test_call(f->s, "{\"method\":\"initialize\",\"parameters\":{\"timeout\":\"2000\"}}");
    assert_true(json_is_true(json_object_get(j, "result")));
    json_decref(j);
}

static void test_bad_requests(void **state)
{
    struct fixture *f = *state;
    const char *bad[] = {
        "",
        "{",
        "[]",
        "42",
        "{\"method\":1}",
        "{\"parameters\":{}}",
        "{\"method\":\"lookup\",\"parameters\":[]}",
        "{\"method\":\"lookup\",\"parameters\":{\"qtype\":1,\"qname\":\"a.\"}}",
        "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\",\"qname\":7}}",
        "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\",\"qname\":\"a..b.\"}}",
        "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"NOPE\",\"qname\":\"example.com.\"}}",
        ("{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\",\"qname\":\"example.com.\","
         "\"zone-id\":\"x\"}}"),
        "{\"method\":\"noSuchMethod\",\"parameters\":{}}",
        "{\"method\":\"getDomainInfo\",\"parameters\":{}}",
        "{\"method\":\"setNotified\",\"parameters\":{\"id\":1.5,\"serial\":1}}",
        "{\"method\":\"setNotified\",\"parameters\":{\"id\":1,\"serial\":-1}}",
        "{\"method\":\"directBackendCmd\",\"parameters\":{\"query\":\"rm -rf\"}}",
        "{\"method\":\"lookup\",\"method\":\"list\",\"parameters\":{}}",
    };
    json_decref(init_call(f->s, "{\"method\":\"initialize\"}"));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *reply = NULL;
        size_t len = 0;
        assert_int_equal(mxg_backend_handle(f->s, bad[i], strlen(bad[i]), &reply, &len), MXG_OK);
        json_t *j = json_loadb(reply, len, 0, NULL);
        free(reply);
        assert_non_null(j);
        assert_false_with_log(j);
        json_decref(j);
    }
    /* A label over 63 and a name over 255 octets. */
    char line[1200];
    char label[70];
    memset(label, 'a', 64);
    label[64] = '\0';
    snprintf(
        line, sizeof(line),
        "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\",\"qname\":\"%s.example.com.\"}}",
        label);
    json_t *j = mxg_test_call(f->s, line);
    assert_false_with_log(j);
    json_decref(j);
}

static void test_lookup_any_echoes_case(void **state)
{
    struct fixture *f = *state;
    json_t *j = init_call(f->s, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\","
                                "\"qname\":\"WwW.Example.COM.\",\"zone-id\":1}}");
    json_t *res = json_object_get(j, "result");
    assert_true(json_is_array(res));
    assert_int_equal(json_array_size(res), 1);
    json_t *r = json_array_get(res, 0);
    assert_string_equal(json_string_value(json_object_get(r, "qname")), "WwW.Example.COM.");
    assert_string_equal(json_string_value(json_object_get(r, "qtype")), "A");
    assert_string_equal(json_string_value(json_object_get(r, "content")), "192.0.2.2");
    assert_int_equal(json_integer_value(json_object_get(r, "ttl")), 300);
    assert_int_equal(json_integer_value(json_object_get(r, "auth")), 1);
    assert_int_equal(json_integer_value(json_object_get(r, "domain_id")), f->zone_id);
    json_decref(j);
}

static void test_lookup_soa_only_and_mx_prio(void **state)
{
    struct fixture *f = *state;
    json_t *j =
        init_call(f->s, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"SOA\","
                        "\"qname\":\"example.com.\",\"zone-id\":-1,\"remote\":\"0.0.0.0\"}}");
    json_t *res = json_object_get(j, "result");
    assert_int_equal(json_array_size(res), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "qtype")), "SOA");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(res, 0), "domain_id")),
                     f->zone_id);
    json_decref(j);
    j = mxg_test_call(f->s, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"mx\","
                            "\"qname\":\"example.com.\",\"zone-id\":1}}");
    res = json_object_get(j, "result");
    assert_int_equal(json_array_size(res), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "content")),
                        "10 example.com");
    json_decref(j);
    /* ANY at the apex: SOA, NS, A, MX. */
    j = mxg_test_call(f->s, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\","
                            "\"qname\":\"example.com.\",\"zone-id\":1}}");
    assert_int_equal(json_array_size(json_object_get(j, "result")), 4);
    json_decref(j);
}

static void test_lookup_ent_and_nothing(void **state)
{
    struct fixture *f = *state;
    json_t *j = init_call(f->s, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\","
                                "\"qname\":\"_TCP.example.com.\",\"zone-id\":1}}");
    json_t *res = json_object_get(j, "result");
    assert_int_equal(json_array_size(res), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "qtype")), "ENT");
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "qname")),
                        "_TCP.example.com.");
    json_decref(j);
    /* No ENT for a specific type. */
    j = mxg_test_call(f->s, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"SOA\","
                            "\"qname\":\"_tcp.example.com.\",\"zone-id\":1}}");
    assert_true(json_is_false(json_object_get(j, "result")));
    json_decref(j);
    /* "xwww" is beside www, not below anything. */
    j = mxg_test_call(f->s, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\","
                            "\"qname\":\"ip._tcp.example.com.\",\"zone-id\":1}}");
    assert_true(json_is_false(json_object_get(j, "result")));
    json_decref(j);
    j = mxg_test_call(f->s, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\","
                            "\"qname\":\"www.example.org.\",\"zone-id\":-1}}");
    assert_true(json_is_false(json_object_get(j, "result")));
    json_decref(j);
    /* zone-id as a numeric string and as a double, as pdns sometimes sends. */
    j = mxg_test_call(f->s, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\","
                            "\"qname\":\"www.example.com.\",\"zone-id\":\"1\"}}");
    assert_int_equal(json_array_size(json_object_get(j, "result")), 1);
    json_decref(j);
    j = mxg_test_call(f->s, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\","
                            "\"qname\":\"www.example.com.\",\"zone-id\":1.0}}");
    assert_int_equal(json_array_size(json_object_get(j, "result")), 1);
    json_decref(j);
}

static void test_list(void **state)
{
    struct fixture *f = *state;
    json_t *j = init_call(f->s, "{\"method\":\"list\",\"parameters\":{\"zonename\":"
                                "\"example.com.\",\"domain_id\":1,\"include_disabled\":false}}");
    json_t *res = json_object_get(j, "result");
    assert_int_equal(json_array_size(res), 7);
    size_t i;
    json_t *r;
    json_array_foreach(res, i, r)
    {
        assert_true(json_is_string(json_object_get(r, "qname")));
        assert_true(json_is_integer(json_object_get(r, "ttl")));
        assert_string_not_equal(json_string_value(json_object_get(r, "qtype")), "ENT");
    }
    json_decref(j);
    j = mxg_test_call(f->s, "{\"method\":\"list\",\"parameters\":{\"zonename\":\"nope.example.\","
                            "\"domain_id\":-1}}");
    assert_true(json_is_false(json_object_get(j, "result")));
    json_decref(j);
    j = mxg_test_call(f->s, "{\"method\":\"list\",\"parameters\":{\"zonename\":\"example.com.\","
                            "\"domain_id\":99}}");
    assert_false_with_log(j);
    json_decref(j);
}

static void test_domains(void **state)
{
    struct fixture *f = *state;
    json_t *j = init_call(f->s, "{\"method\":\"getDomainInfo\",\"parameters\":{\"name\":"
                                "\"EXAMPLE.com\"}}");
    json_t *res = json_object_get(j, "result");
    assert_string_equal(json_string_value(json_object_get(res, "zone")), "example.com.");
    assert_string_equal(json_string_value(json_object_get(res, "kind")), "master");
    assert_true(json_integer_value(json_object_get(res, "serial")) > 2020000000);
    assert_int_equal(json_integer_value(json_object_get(res, "id")), f->zone_id);
    assert_true(json_is_array(json_object_get(res, "masters")));
    json_int_t serial = json_integer_value(json_object_get(res, "serial"));
    json_decref(j);

    j = mxg_test_call(f->s,
                      "{\"method\":\"getDomainInfo\",\"parameters\":{\"name\":\"example.org.\"}}");
    assert_true(json_is_false(json_object_get(j, "result")));
    json_decref(j);

    j = mxg_test_call(f->s,
                      "{\"method\":\"getAllDomains\",\"parameters\":{\"include_disabled\":true}}");
    assert_int_equal(json_array_size(json_object_get(j, "result")), 1);
    json_decref(j);

    /* A master whose serial was never notified is returned until setNotified. */
    j = mxg_test_call(f->s, "{\"method\":\"getUpdatedMasters\",\"parameters\":{}}");
    assert_int_equal(json_array_size(json_object_get(j, "result")), 1);
    json_decref(j);
    char line[200];
    snprintf(line, sizeof(line),
             "{\"method\":\"setNotified\",\"parameters\":{\"id\":%lld,\"serial\":%lld}}",
             (long long)f->zone_id, (long long)serial);
    j = mxg_test_call(f->s, line);
    assert_true(json_is_true(json_object_get(j, "result")));
    json_decref(j);
    j = mxg_test_call(f->s, "{\"method\":\"getUpdatedMasters\",\"parameters\":{}}");
    assert_int_equal(json_array_size(json_object_get(j, "result")), 0);
    json_decref(j);
    j = mxg_test_call(f->s,
                      "{\"method\":\"setNotified\",\"parameters\":{\"id\":4242,\"serial\":1}}");
    assert_false_with_log(j);
    json_decref(j);
}

static void test_metadata(void **state)
{
    struct fixture *f = *state;
    json_t *j = init_call(f->s, "{\"method\":\"getAllDomainMetadata\",\"parameters\":{\"name\":"
                                "\"example.com.\"}}");
    json_t *res = json_object_get(j, "result");
    assert_string_equal(json_string_value(json_array_get(json_object_get(res, "SOA-EDIT-API"), 0)),
                        "DEFAULT");
    json_decref(j);
    j = mxg_test_call(f->s,
                      "{\"method\":\"setDomainMetadata\",\"parameters\":{\"name\":\"example.com.\","
                      "\"kind\":\"ALSO-NOTIFY\",\"value\":[\"192.0.2.53\",\"192.0.2.54\"]}}");
    assert_true(json_is_true(json_object_get(j, "result")));
    json_decref(j);
    j = mxg_test_call(f->s,
                      "{\"method\":\"getDomainMetadata\",\"parameters\":{\"name\":\"example.com.\","
                      "\"kind\":\"ALSO-NOTIFY\"}}");
    assert_int_equal(json_array_size(json_object_get(j, "result")), 2);
    json_decref(j);
    /* Empty array deletes. */
    j = mxg_test_call(f->s,
                      "{\"method\":\"setDomainMetadata\",\"parameters\":{\"name\":\"example.com.\","
                      "\"kind\":\"ALSO-NOTIFY\",\"value\":[]}}");
    assert_true(json_is_true(json_object_get(j, "result")));
    json_decref(j);
    j = mxg_test_call(f->s,
                      "{\"method\":\"getDomainMetadata\",\"parameters\":{\"name\":\"example.com.\","
                      "\"kind\":\"ALSO-NOTIFY\"}}");
    assert_int_equal(json_array_size(json_object_get(j, "result")), 0);
    json_decref(j);
    /* X-MXGUARD-MODE accepts the four modes in any case, refuses others. */
    j = mxg_test_call(f->s,
                      "{\"method\":\"setDomainMetadata\",\"parameters\":{\"name\":\"example.com.\","
                      "\"kind\":\"X-MXGUARD-MODE\",\"value\":[\"Fix\"]}}");
    assert_true(json_is_true(json_object_get(j, "result")));
    json_decref(j);
    const char *bad[] = {
        "{\"method\":\"setDomainMetadata\",\"parameters\":{\"name\":\"example.com.\","
        "\"kind\":\"X-MXGUARD-MODE\",\"value\":[\"block\"]}}",
        "{\"method\":\"setDomainMetadata\",\"parameters\":{\"name\":\"example.com.\","
        "\"kind\":\"ALSO-NOTIFY\",\"value\":\"1.2.3.4\"}}",
        "{\"method\":\"setDomainMetadata\",\"parameters\":{\"name\":\"example.com.\","
        "\"kind\":\"ALSO-NOTIFY\",\"value\":[1]}}",
        "{\"method\":\"setDomainMetadata\",\"parameters\":{\"name\":\"example.com.\","
        "\"kind\":\"\",\"value\":[]}}",
        "{\"method\":\"setDomainMetadata\",\"parameters\":{\"name\":\"nope.example.\","
        "\"kind\":\"X\",\"value\":[]}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = mxg_test_call(f->s, bad[i]);
        assert_true(json_is_false(json_object_get(j, "result")));
        json_decref(j);
    }
    j = mxg_test_call(f->s,
                      "{\"method\":\"getDomainMetadata\",\"parameters\":{\"name\":\"example.com.\","
                      "\"kind\":\"X-MXGUARD-MODE\"}}");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "result"), 0)), "Fix");
    json_decref(j);
}

static void test_direct_backend_cmd(void **state)
{
    struct fixture *f = *state;
    json_t *j = init_call(f->s, "{\"method\":\"directBackendCmd\",\"parameters\":{\"query\":"
                                "\"ping\"}}");
    assert_string_equal(json_string_value(json_object_get(j, "result")), "pong");
    json_decref(j);
    j = mxg_test_call(f->s,
                      "{\"method\":\"DIRECTBACKENDCMD\",\"parameters\":{\"query\":\"version\"}}");
    assert_true(strncmp(json_string_value(json_object_get(j, "result")), "mxguard ", 8) == 0);
    json_decref(j);
}

static void test_unknown_method_logs(void **state)
{
    struct fixture *f = *state;
    json_t *j = init_call(f->s, "{\"method\":\"getBeforeAndAfterNamesAbsolute\","
                                "\"parameters\":{\"id\":1,\"qname\":\"www.\"}}");
    assert_false_with_log(j);
    json_decref(j);
}

static json_t *result_of(json_t *j)
{
    return json_object_get(j, "result");
}

static int a_count(struct mxg_session *s, const char *name)
{
    char line[300];
    snprintf(line, sizeof(line),
             "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\",\"qname\":\"%s\","
             "\"zone-id\":1}}",
             name);
    json_t *j = mxg_test_call(s, line);
    int n = json_is_array(result_of(j)) ? (int)json_array_size(result_of(j)) : 0;
    json_decref(j);
    return n;
}

#define START                                                                                      \
    "{\"method\":\"startTransaction\",\"parameters\":{\"domain\":\"example.com.\","                \
    "\"domain_id\":-1,\"trxid\":1795457965}}"
#define COMMIT "{\"method\":\"commitTransaction\",\"parameters\":{\"trxid\":1795457965}}"
#define ABORT "{\"method\":\"abortTransaction\",\"parameters\":{\"trxid\":1795457965}}"
#define REPLACE_NEW_A(content)                                                                     \
    "{\"method\":\"replaceRRSet\",\"parameters\":{\"domain_id\":1,\"qname\":\"new.example.com.\"," \
    "\"qtype\":\"A\",\"trxid\":1795457965,\"rrset\":[{\"qtype\":\"A\",\"qname\":"                  \
    "\"new.example.com.\",\"qclass\":1,\"content\":\"" content "\",\"ttl\":120,\"auth\":true}]}}"

static void expect_true(struct mxg_session *s, const char *line)
{
    json_t *j = mxg_test_call(s, line);
    if (!json_is_true(result_of(j)))
        fail_msg("expected true for %s, got %s", line, json_dumps(j, 0));
    json_decref(j);
}

static void test_txn_read_your_writes_and_isolation(void **state)
{
    struct fixture *f = *state;
    struct mxg_session *other = mxg_session_new(f->be);
    json_decref(init_call(other, "{\"method\":\"initialize\"}"));
    json_decref(init_call(f->s, "{\"method\":\"initialize\"}"));
    expect_true(f->s, START);
    expect_true(f->s, REPLACE_NEW_A("203.0.113.9"));
    assert_int_equal(a_count(f->s, "new.example.com."), 1);
    assert_int_equal(a_count(other, "new.example.com."), 0);
    expect_true(f->s, COMMIT);
    assert_int_equal(a_count(other, "new.example.com."), 1);
    /* A second commit/abort without a start is a harmless no-op. */
    expect_true(f->s, COMMIT);
    expect_true(f->s, ABORT);
    mxg_session_free(other);
}

static void test_txn_abort_and_disconnect_roll_back(void **state)
{
    struct fixture *f = *state;
    json_decref(init_call(f->s, "{\"method\":\"initialize\"}"));
    expect_true(f->s, START);
    expect_true(f->s, REPLACE_NEW_A("203.0.113.9"));
    expect_true(f->s, ABORT);
    assert_int_equal(a_count(f->s, "new.example.com."), 0);
    /* A connection that goes away mid-transaction leaves nothing behind. */
    struct mxg_session *gone = mxg_session_new(f->be);
    json_decref(init_call(gone, "{\"method\":\"initialize\"}"));
    expect_true(gone, START);
    expect_true(gone, REPLACE_NEW_A("203.0.113.9"));
    mxg_session_free(gone);
    assert_int_equal(a_count(f->s, "new.example.com."), 0);
}

static void test_txn_poisoned_commit_has_no_result(void **state)
{
    struct fixture *f = *state;
    json_decref(init_call(f->s, "{\"method\":\"initialize\"}"));
    const char *bad[] = {
        REPLACE_NEW_A("999.1.1.1"),
        "{\"method\":\"replaceRRSet\",\"parameters\":{\"domain_id\":1,\"qname\":"
        "\"www.example.org.\",\"qtype\":\"A\",\"trxid\":1795457965,\"rrset\":[]}}",
        "{\"method\":\"replaceRRSet\",\"parameters\":{\"domain_id\":1,\"qname\":"
        "\"new.example.com.\",\"qtype\":\"MX\",\"trxid\":1795457965,\"rrset\":[{\"qtype\":"
        "\"MX\",\"qname\":\"new.example.com.\",\"content\":\"mail.example.com\",\"ttl\":1}]}}",
        "{\"method\":\"feedRecord\",\"parameters\":{\"trxid\":1795457965,\"rr\":{\"qtype\":"
        "\"A\",\"qname\":\"x.example.com.\",\"content\":\"192.0.2.1\",\"ttl\":\"60\"}}}",
        "{\"method\":\"feedRecord\",\"parameters\":{\"trxid\":1795457965,\"rr\":{\"qtype\":"
        "\"A\",\"qname\":\"x.example.com.\",\"content\":\"192.0.2.1\",\"ttl\":-5}}}",
        "{\"method\":\"replaceRRSet\",\"parameters\":{\"domain_id\":1,\"qname\":"
        "\"new.example.com.\",\"qtype\":\"A\",\"trxid\":1795457965,\"rrset\":[{\"qtype\":"
        "\"A\",\"qname\":\"other.example.com.\",\"content\":\"192.0.2.1\",\"ttl\":1}]}}",
        "{\"method\":\"replaceRRSet\",\"parameters\":{\"domain_id\":7,\"qname\":"
        "\"new.example.com.\",\"qtype\":\"A\",\"trxid\":1795457965,\"rrset\":[]}}",
        "{\"method\":\"replaceRRSet\",\"parameters\":{\"domain_id\":1,\"qname\":"
        "\"new.example.com.\",\"qtype\":\"A\",\"trxid\":1795457965,\"rrset\":{}}}",
        "{\"method\":\"feedEnts\",\"parameters\":{\"domain_id\":1,\"trxid\":1795457965,"
        "\"nonterm\":[{\"nonterm\":\"a.example.org.\",\"auth\":true}]}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_true(f->s, START);
        expect_true(f->s, REPLACE_NEW_A("203.0.113.9"));
        json_t *j = mxg_test_call(f->s, bad[i]);
        if (!json_is_false(result_of(j)))
            fail_msg("write %zu was accepted: %s", i, bad[i]);
        json_decref(j);
        j = mxg_test_call(f->s, COMMIT);
        assert_null(result_of(j)); /* refused: pdns reports a failure */
        assert_true(json_is_array(json_object_get(j, "log")));
        json_decref(j);
        assert_int_equal(a_count(f->s, "new.example.com."), 0);
    }
}

static int newest_cb(void *ctx, int64_t seq, const char *record, json_t *obj)
{
    (void)seq;
    (void)record;
    json_t **out = ctx;
    *out = json_incref(obj);
    return 0;
}

/* The newest audit record (caller decrefs), and how many records there are in *count. */
static json_t *newest_audit(struct fixture *f, size_t *count)
{
    struct mxg_audit_filter flt = {.newest_first = true, .limit = 1};
    json_t *rec = NULL;
    assert_int_equal(mxg_audit_list(f->st, &flt, newest_cb, &rec), MXG_OK);
    int64_t seq = 0;
    char hash[MXG_HASH_HEX];
    assert_int_equal(mxg_audit_head(f->st, &seq, hash), MXG_OK);
    *count = (size_t)seq;
    return rec;
}

/* A poisoned commit (PRODUCT.md §5): exactly one audit record, verdict reject, the finding
 * invalid-record naming the refused write, the buffered changes; counted as a refusal. */
static void poisoned_commit(struct fixture *f, const char *good, const char *bad, const char *name,
                            const char *new_value, const char *reason, size_t n_changes)
{
    size_t before = 0, after = 0;
    json_decref(newest_audit(f, &before));
    uint64_t commits = mxg_backend_stats(f->be)->commits;
    uint64_t rejected = mxg_backend_stats(f->be)->rejected;
    expect_true(f->s, START);
    if (good)
        expect_true(f->s, good);
    json_t *j = mxg_test_call(f->s, bad);
    assert_true(json_is_false(result_of(j)));
    json_decref(j);
    j = mxg_test_call(f->s, COMMIT);
    assert_null(result_of(j));
    assert_non_null(strstr(json_string_value(json_array_get(json_object_get(j, "log"), 0)),
                           "a write of this transaction was refused"));
    json_decref(j);
    assert_int_equal(a_count(f->s, "new.example.com."), 0);
    assert_int_equal(mxg_backend_stats(f->be)->commits, commits + 1);
    assert_int_equal(mxg_backend_stats(f->be)->rejected, rejected + 1);
    json_t *rec = newest_audit(f, &after);
    assert_int_equal(after, before + 1);
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "verdict")), "reject");
    assert_string_equal(json_string_value(json_object_get(rec, "zone")), "example.com.");
    json_t *fs = json_object_get(rec, "findings");
    assert_int_equal(json_array_size(fs), 1);
    json_t *fd = json_array_get(fs, 0);
    assert_string_equal(json_string_value(json_object_get(fd, "rule")), "invalid-record");
    assert_string_equal(json_string_value(json_object_get(fd, "severity")), "block");
    assert_string_equal(json_string_value(json_object_get(fd, "name")), name);
    assert_string_equal(json_string_value(json_object_get(fd, "family")), "");
    assert_int_equal(json_array_size(json_object_get(fd, "old")), 0);
    assert_int_equal(json_array_size(json_object_get(fd, "new")), 1);
    const char *nv = json_string_value(json_array_get(json_object_get(fd, "new"), 0));
    if (new_value)
        assert_string_equal(nv, new_value);
    const char *why = json_string_value(json_object_get(fd, "reason"));
    if (!strstr(why, reason))
        fail_msg("reason '%s' does not contain '%s'", why, reason);
    if (!new_value)
        assert_string_equal(nv, why); /* no content: the reason */
    assert_int_equal(json_array_size(json_object_get(rec, "changes")), n_changes);
    assert_int_equal(json_array_size(json_object_get(rec, "fix")), 0);
    json_decref(rec);
}

static void test_txn_poisoned_commit_is_audited(void **state)
{
    struct fixture *f = *state;
    json_decref(init_call(f->s, "{\"method\":\"initialize\"}"));
    /* Invalid content after a valid write: the write's name and content; the valid write is in
     * the record's changes. */
    poisoned_commit(f, REPLACE_NEW_A("203.0.113.9"), REPLACE_NEW_A("999.1.1.1"), "new.example.com.",
                    "999.1.1.1", "invalid A content", 1);
    size_t n = 0;
    json_t *rec = newest_audit(f, &n);
    json_t *ch = json_array_get(json_object_get(rec, "changes"), 0);
    assert_string_equal(json_string_value(json_object_get(ch, "name")), "new.example.com.");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(ch, "after"), 0), "content")),
                        "203.0.113.9");
    json_decref(rec);
    /* Nothing buffered: the record is written all the same, with no changes. */
    poisoned_commit(
        f, NULL,
        "{\"method\":\"feedRecord\",\"parameters\":{\"trxid\":1795457965,\"rr\":{\"qtype\":"
        "\"A\",\"qname\":\"x.example.com.\",\"content\":\"192.0.2.1\",\"ttl\":-5}}}",
        "x.example.com.", "192.0.2.1", "ttl -5 out of range", 0);
    /* A name outside the zone, no content: the name and the reason. */
    poisoned_commit(f, NULL,
                    "{\"method\":\"replaceRRSet\",\"parameters\":{\"domain_id\":1,\"qname\":"
                    "\"www.example.org.\",\"qtype\":\"A\",\"trxid\":1795457965,\"rrset\":[]}}",
                    "www.example.org.", NULL, "is not in zone example.com.", 0);
    /* No name at all (a domain_id of another zone): the zone. */
    poisoned_commit(f, REPLACE_NEW_A("203.0.113.9"),
                    "{\"method\":\"replaceRRSet\",\"parameters\":{\"domain_id\":7,\"qname\":"
                    "\"new.example.com.\",\"qtype\":\"A\",\"trxid\":1795457965,\"rrset\":[]}}",
                    "example.com.", NULL, "domain_id is not the zone", 1);
    /* An owner name that is not a name, 300 non-ASCII characters long: the log line cuts it in
     * the middle of a character; the record is written anyway, as valid UTF-8. */
    char line[4096], qname[2048] = "";
    for (int i = 0; i < 300; i++)
        strcat(qname, "\\u00e9");
    strcat(qname, ".example.com.");
    snprintf(line, sizeof(line),
             "{\"method\":\"replaceRRSet\",\"parameters\":{\"domain_id\":1,\"qname\":"
             "\"%s\",\"qtype\":\"A\",\"trxid\":1795457965,\"rrset\":[]}}",
             qname);
    char want[700] = "";
    for (int i = 0; i < 300; i++)
        strcat(want, "\xc3\xa9");
    strcat(want, ".example.com.");
    poisoned_commit(f, NULL, line, want, NULL, "replaceRRSet: invalid name", 0);
    struct mxg_audit_verify v;
    assert_int_equal(mxg_audit_verify(f->st, NULL, &v), MXG_OK);
}

static void test_txn_writes_outside_and_wipe(void **state)
{
    struct fixture *f = *state;
    json_decref(init_call(f->s, "{\"method\":\"initialize\"}"));
    json_t *j = mxg_test_call(f->s, REPLACE_NEW_A("203.0.113.9"));
    assert_true(json_is_false(result_of(j)));
    json_decref(j);
    j = mxg_test_call(f->s, "{\"method\":\"startTransaction\",\"parameters\":{\"domain\":"
                            "\"example.org.\",\"domain_id\":-1,\"trxid\":5}}");
    assert_true(json_is_false(result_of(j)));
    json_decref(j);
    j = mxg_test_call(f->s, "{\"method\":\"startTransaction\",\"parameters\":{\"domain\":"
                            "\"example.com.\",\"domain_id\":99,\"trxid\":5}}");
    assert_true(json_is_false(result_of(j)));
    json_decref(j);
    /* domain_id = the zone's id: the zone is replaced by what is fed (pdnsutil load-zone). */
    expect_true(f->s, "{\"method\":\"startTransaction\",\"parameters\":{\"domain\":"
                      "\"example.com.\",\"domain_id\":1,\"trxid\":6}}");
    expect_true(
        f->s, "{\"method\":\"feedRecord\",\"parameters\":{\"trxid\":6,\"rr\":{"
              "\"qtype\":\"SOA\",\"qname\":\"example.com.\",\"content\":\"ns1.example.com "
              "hostmaster.example.com 5 1 1 1 1\",\"ttl\":60,\"auth\":true,\"ordername\":null}}}");
    expect_true(f->s, "{\"method\":\"feedRecord\",\"parameters\":{\"trxid\":6,\"rr\":{"
                      "\"qtype\":\"A\",\"qname\":\"a.b.example.com.\",\"content\":\"192.0.2.77\","
                      "\"ttl\":60,\"auth\":true}}}");
    expect_true(f->s, "{\"method\":\"feedEnts\",\"parameters\":{\"domain_id\":1,\"trxid\":6,"
                      "\"nonterm\":[{\"nonterm\":\"b.example.com.\",\"auth\":true}]}}");
    expect_true(f->s, "{\"method\":\"commitTransaction\",\"parameters\":{\"trxid\":6}}");
    assert_int_equal(a_count(f->s, "www.example.com."), 0);
    assert_int_equal(a_count(f->s, "a.b.example.com."), 1);
    j = mxg_test_call(f->s,
                      "{\"method\":\"getDomainInfo\",\"parameters\":{\"name\":\"example.com.\"}}");
    assert_int_equal(json_integer_value(json_object_get(result_of(j), "serial")), 5);
    json_decref(j);
}

/* One record of a lookup/list result: the content at (qname, qtype), or NULL. */
static const char *content_at(json_t *res, const char *qname, const char *qtype)
{
    size_t i;
    json_t *r;
    json_array_foreach(res, i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "qname")), qname) == 0 &&
            strcmp(json_string_value(json_object_get(r, "qtype")), qtype) == 0)
            return json_string_value(json_object_get(r, "content"));
    }
    return NULL;
}

/* Names as pdns 4.7 sends them (DNSName::toString: '(' ')' ';' '"' '@' '$' as they are, "\." "\\"
 * and \DDD for the rest) in owners and in content: accepted, stored in that form (lowercased
 * owners, content as sent) and found under any spelling of the same name. */
static void test_txn_pdns_escaped_names(void **state)
{
    struct fixture *f = *state;
    json_decref(init_call(f->s, "{\"method\":\"initialize\"}"));
    expect_true(f->s, START);
    expect_true(f->s, "{\"method\":\"feedRecord\",\"parameters\":{\"trxid\":1795457965,\"rr\":{"
                      "\"qtype\":\"A\",\"qname\":\"M(ai)L.example.com.\",\"content\":"
                      "\"192.0.2.50\",\"ttl\":300,\"auth\":true,\"ordername\":null}}}");
    expect_true(f->s, "{\"method\":\"feedRecord\",\"parameters\":{\"trxid\":1795457965,\"rr\":{"
                      "\"qtype\":\"CNAME\",\"qname\":\"cn1.example.com.\",\"content\":"
                      "\"M(ai)L.example.com\",\"ttl\":300,\"auth\":true,\"ordername\":null}}}");
    expect_true(f->s, "{\"method\":\"replaceRRSet\",\"parameters\":{\"domain_id\":1,\"qname\":"
                      "\"_s._tcp.example.com.\",\"qtype\":\"SRV\",\"trxid\":1795457965,\"rrset\":"
                      "[{\"qtype\":\"SRV\",\"qname\":\"_s._tcp.example.com.\",\"qclass\":1,"
                      "\"content\":\"0 0 25 semi;colon\\\\032x.example.com\",\"ttl\":300,"
                      "\"auth\":true}]}}");
    expect_true(f->s, "{\"method\":\"replaceRRSet\",\"parameters\":{\"domain_id\":1,\"qname\":"
                      "\"q\\\"u@$.example.com.\",\"qtype\":\"PTR\",\"trxid\":1795457965,\"rrset\":"
                      "[{\"qtype\":\"PTR\",\"qname\":\"q\\\"u@$.example.com.\",\"qclass\":1,"
                      "\"content\":\"dot\\\\.in\\\\\\\\x.example.com\",\"ttl\":300,"
                      "\"auth\":true}]}}");
    expect_true(f->s, COMMIT);

    /* Both spellings of the owner find the record; the qname is echoed as asked. */
    json_t *j =
        mxg_test_call(f->s, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\",\"qname\":"
                            "\"m\\\\(ai\\\\)l.example.com.\",\"zone-id\":1}}");
    assert_string_equal(content_at(result_of(j), "m\\(ai\\)l.example.com.", "A"), "192.0.2.50");
    json_decref(j);
    j = mxg_test_call(f->s, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\",\"qname\":"
                            "\"Q\\\"U@$.example.com.\",\"zone-id\":1}}");
    assert_string_equal(content_at(result_of(j), "Q\"U@$.example.com.", "PTR"),
                        "dot\\.in\\\\x.example.com");
    json_decref(j);
    /* The ENT above _s._tcp derives from the stored names. */
    j = mxg_test_call(f->s, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\",\"qname\":"
                            "\"_tcp.example.com.\",\"zone-id\":1}}");
    assert_non_null(content_at(result_of(j), "_tcp.example.com.", "ENT"));
    json_decref(j);

    /* list: owners in pdns's form, lowercased; content as pdns sent it. */
    j = mxg_test_call(f->s, "{\"method\":\"list\",\"parameters\":{\"zonename\":\"example.com.\","
                            "\"domain_id\":1}}");
    assert_string_equal(content_at(result_of(j), "m(ai)l.example.com.", "A"), "192.0.2.50");
    assert_string_equal(content_at(result_of(j), "cn1.example.com.", "CNAME"),
                        "M(ai)L.example.com");
    assert_string_equal(content_at(result_of(j), "_s._tcp.example.com.", "SRV"),
                        "0 0 25 semi;colon\\032x.example.com");
    assert_string_equal(content_at(result_of(j), "q\"u@$.example.com.", "PTR"),
                        "dot\\.in\\\\x.example.com");
    json_decref(j);

    /* What pdns refuses itself is refused: a label over 63 octets, \DDD over 255. */
    expect_true(f->s, START);
    j = mxg_test_call(f->s,
                      "{\"method\":\"feedRecord\",\"parameters\":{\"trxid\":1795457965,\"rr\":{"
                      "\"qtype\":\"CNAME\",\"qname\":\"cn2.example.com.\",\"content\":"
                      "\"a\\\\256.example.com\",\"ttl\":300,\"auth\":true}}}");
    assert_false_with_log(j);
    json_decref(j);
    j = mxg_test_call(f->s,
                      "{\"method\":\"feedRecord\",\"parameters\":{\"trxid\":1795457965,\"rr\":{"
                      "\"qtype\":\"A\",\"qname\":\"(((((((((((((((((((((((((((((((((((((((((((((((("
                      "((((((((((((((((.example.com.\",\"content\":\"192.0.2.1\",\"ttl\":300,"
                      "\"auth\":true}}}");
    assert_false_with_log(j);
    json_decref(j);
    expect_true(f->s, ABORT);
}

static void test_txn_metadata_joins(void **state)
{
    struct fixture *f = *state;
    struct mxg_session *other = mxg_session_new(f->be);
    json_decref(init_call(other, "{\"method\":\"initialize\"}"));
    json_decref(init_call(f->s, "{\"method\":\"initialize\"}"));
    expect_true(f->s, START);
    expect_true(f->s, "{\"method\":\"setDomainMetadata\",\"parameters\":{\"name\":"
                      "\"example.com.\",\"kind\":\"X-TEST\",\"value\":[\"1\"]}}");
    const char *get = "{\"method\":\"getDomainMetadata\",\"parameters\":{\"name\":"
                      "\"example.com.\",\"kind\":\"X-TEST\"}}";
    json_t *j = mxg_test_call(f->s, get);
    assert_int_equal(json_array_size(result_of(j)), 1);
    json_decref(j);
    j = mxg_test_call(other, get);
    assert_int_equal(json_array_size(result_of(j)), 0);
    json_decref(j);
    expect_true(f->s, COMMIT);
    j = mxg_test_call(other, get);
    assert_int_equal(json_array_size(result_of(j)), 1);
    json_decref(j);
    mxg_session_free(other);
}

static void test_search_and_autosecondary(void **state)
{
    struct fixture *f = *state;
    json_decref(init_call(f->s, "{\"method\":\"initialize\"}"));
    json_t *j = mxg_test_call(f->s, "{\"method\":\"searchRecords\",\"parameters\":{\"pattern\":"
                                    "\"w*.example.com\",\"maxResults\":10}}");
    assert_int_equal(json_array_size(result_of(j)), 1);
    json_decref(j);
    j = mxg_test_call(f->s, "{\"method\":\"searchRecords\",\"parameters\":{\"pattern\":"
                            "\"192.0.2.?\",\"maxResults\":1}}");
    assert_int_equal(json_array_size(result_of(j)), 1); /* capped by maxResults */
    json_decref(j);
    j = mxg_test_call(f->s, "{\"method\":\"searchRecords\",\"parameters\":{\"pattern\":\"100%\"}}");
    assert_int_equal(json_array_size(result_of(j)), 0); /* % is literal, not a wildcard */
    json_decref(j);
    j = mxg_test_call(f->s, "{\"method\":\"searchRecords\",\"parameters\":{\"pattern\":1}}");
    assert_true(json_is_false(result_of(j)));
    json_decref(j);

    const char *notify = "{\"method\":\"superMasterBackend\",\"parameters\":{\"ip\":"
                         "\"192.0.2.53\",\"domain\":\"new.example.\",\"nsset\":[{\"qtype\":"
                         "\"NS\",\"qname\":\"new.example.\",\"content\":\"ns1.provider.example.\","
                         "\"ttl\":3600,\"auth\":true}]}}";
    j = mxg_test_call(f->s, notify);
    assert_true(json_is_false(result_of(j)));
    json_decref(j);
    assert_int_equal(MXG_STORE_CALL0(f->st, begin), MXG_OK);
    assert_int_equal(
        MXG_STORE_CALL(f->st, autoprimary_add, "192.0.2.53", "ns1.provider.example.", "acme"),
        MXG_OK);
    assert_int_equal(MXG_STORE_CALL0(f->st, commit), MXG_OK);
    j = mxg_test_call(f->s, notify);
    assert_string_equal(json_string_value(json_object_get(result_of(j), "nameserver")),
                        "ns1.provider.example.");
    assert_string_equal(json_string_value(json_object_get(result_of(j), "account")), "acme");
    json_decref(j);
    const char *create = "{\"method\":\"createSlaveDomain\",\"parameters\":{\"ip\":"
                         "\"192.0.2.53\",\"domain\":\"new.example.\",\"nameserver\":"
                         "\"ns1.provider.example.\",\"account\":\"acme\"}}";
    expect_true(f->s, create);
    j = mxg_test_call(f->s,
                      "{\"method\":\"getDomainInfo\",\"parameters\":{\"name\":\"new.example.\"}}");
    assert_string_equal(json_string_value(json_object_get(result_of(j), "kind")), "slave");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(result_of(j), "masters"), 0)),
        "192.0.2.53");
    json_decref(j);
    j = mxg_test_call(f->s, create);
    assert_true(json_is_false(result_of(j))); /* exists already */
    json_decref(j);
    j = mxg_test_call(f->s, "{\"method\":\"getUnfreshSlaveInfos\",\"parameters\":{}}");
    assert_int_equal(json_array_size(result_of(j)), 1);
    json_decref(j);
    expect_true(f->s, "{\"method\":\"setFresh\",\"parameters\":{\"id\":2}}");
    expect_true(f->s, "{\"method\":\"setStale\",\"parameters\":{\"id\":2}}");
}

/* The reply cache: a repeated lookup is answered from it until anything is committed, by this
 * backend (a transaction, a write outside one) or by another connection to the store. */
static char *raw(struct mxg_session *s, const char *line)
{
    char *reply = NULL;
    size_t len = 0;
    assert_int_equal(mxg_backend_handle(s, line, strlen(line), &reply, &len), MXG_OK);
    char *text = malloc(len + 1); /* replies are bytes, not C strings */
    assert_non_null(text);
    memcpy(text, reply, len);
    text[len] = '\0';
    free(reply);
    return text;
}

static void test_reply_cache(void **state)
{
    (void)state;
    char err[256], path[64], uri[80];
    mxg_test_db_path(path, sizeof(path), "cache");
    snprintf(uri, sizeof(uri), "sqlite:%s", path);
    struct mxg_config cfg;
    struct mxg_store *st, *other;
    assert_int_equal(mxg_config_load_string("", "test", &cfg, err, sizeof(err)), MXG_OK);
    assert_int_equal(mxg_store_open(uri, &st, err, sizeof(err)), MXG_OK);
    assert_int_equal(mxg_store_open(uri, &other, err, sizeof(err)), MXG_OK);
    const char *ns[] = {"ns1.example.com"};
    assert_int_equal(
        mxg_zone_create(st, &cfg, "example.com.", MXG_KIND_MASTER, NULL, ns, 1, err, sizeof(err)),
        MXG_OK);
    mxg_store_batch_reads(st, true);
    struct mxg_backend *be = mxg_backend_new(st, &cfg);
    mxg_backend_set_cache(be, true);
    struct mxg_session *s = mxg_session_new(be);
    free(raw(s, "{\"method\":\"initialize\",\"parameters\":{}}"));
    const char *q = "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\","
                    "\"qname\":\"www.example.com.\",\"zone-id\":1}}";
    const char *qcase = "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\","
                        "\"qname\":\"WWW.example.com.\",\"zone-id\":1}}";

    char *r1 = raw(s, q), *r2 = raw(s, q);
    assert_string_equal(r1, "{\"result\":false}\n");
    assert_string_equal(r2, r1);
    assert_int_equal(mxg_backend_stats(be)->cache_hits, 1);
    free(r1);
    free(r2);

    /* Another connection commits: visible once the snapshot ends (the daemon ends it before
     * each wait for I/O and after each commit). */
    assert_int_equal(MXG_STORE_CALL0(other, begin), MXG_OK);
    add(other, 1, "www.example.com.", "A", "192.0.2.7");
    assert_int_equal(MXG_STORE_CALL0(other, commit), MXG_OK);
    mxg_store_end_reads(st);
    r1 = raw(s, q);
    assert_non_null(strstr(r1, "192.0.2.7"));
    free(r1);
    /* Another spelling of the name is the same entry, its reply echoing the name as asked. */
    r1 = raw(s, qcase);
    assert_non_null(strstr(r1, "\"qname\":\"WWW.example.com.\""));
    assert_null(strstr(r1, "\"qname\":\"www.example.com.\""));
    assert_non_null(strstr(r1, "192.0.2.7"));
    free(r1);
    r1 = raw(s, q);
    assert_non_null(strstr(r1, "\"qname\":\"www.example.com.\""));
    assert_null(strstr(r1, "WWW"));
    free(r1);
    uint64_t hits = mxg_backend_stats(be)->cache_hits;
    assert_int_equal(hits, 3);
    /* A name with escapes is not folded: each spelling is its own entry. */
    const char *qesc = "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\","
                       "\"qname\":\"w\\\\032x.example.com.\",\"zone-id\":1}}";
    const char *qescase = "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\","
                          "\"qname\":\"W\\\\032X.example.com.\",\"zone-id\":1}}";
    free(raw(s, qesc));
    free(raw(s, qescase));
    assert_int_equal(mxg_backend_stats(be)->cache_hits, hits);
    free(raw(s, qescase));
    assert_int_equal(mxg_backend_stats(be)->cache_hits, hits + 1);
    hits = mxg_backend_stats(be)->cache_hits;

    /* A transaction of this session: its lookups see its own writes, never the cache. */
    free(raw(s, "{\"method\":\"startTransaction\",\"parameters\":{\"domain_id\":1,"
                "\"domain\":\"example.com.\",\"trxid\":5}}"));
    free(raw(s, "{\"method\":\"replaceRRSet\",\"parameters\":{\"domain_id\":1,"
                "\"qname\":\"www.example.com.\",\"qtype\":\"A\",\"trxid\":5,\"rrset\":[{"
                "\"qtype\":\"A\",\"qname\":\"www.example.com.\",\"qclass\":1,"
                "\"content\":\"192.0.2.8\",\"ttl\":300,\"auth\":true}]}}"));
    r1 = raw(s, q);
    assert_non_null(strstr(r1, "192.0.2.8"));
    assert_null(strstr(r1, "192.0.2.7"));
    free(r1);
    assert_int_equal(mxg_backend_stats(be)->cache_hits, hits);
    r1 = raw(s, "{\"method\":\"commitTransaction\",\"parameters\":{\"trxid\":5}}");
    assert_string_equal(r1, "{\"result\":true}\n");
    free(r1);
    /* ... and once it is committed (on this handle), every session sees it. */
    struct mxg_session *s2 = mxg_session_new(be);
    free(raw(s2, "{\"method\":\"initialize\",\"parameters\":{}}"));
    r1 = raw(s2, q);
    assert_non_null(strstr(r1, "192.0.2.8"));
    assert_null(strstr(r1, "192.0.2.7"));
    free(r1);

    /* A write outside a transaction on this handle (NOTIFY bookkeeping) also ends it. */
    r1 = raw(s2, q);
    free(r1);
    hits = mxg_backend_stats(be)->cache_hits;
    free(raw(s2, "{\"method\":\"setNotified\",\"parameters\":{\"id\":1,\"serial\":9}}"));
    free(raw(s2, q));
    assert_int_equal(mxg_backend_stats(be)->cache_hits, hits);

    /* Bad lookups are answered, never cached. */
    const char *bad = "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"NOPE\","
                      "\"qname\":\"www.example.com.\",\"zone-id\":1}}";
    free(raw(s2, bad));
    r1 = raw(s2, bad);
    assert_non_null(strstr(r1, "unknown qtype"));
    free(r1);
    assert_int_equal(mxg_backend_stats(be)->cache_hits, hits);

    mxg_session_free(s2);
    mxg_session_free(s);
    mxg_backend_free(be);
    mxg_store_close(other);
    mxg_store_close(st);
    mxg_config_free(&cfg);
    mxg_test_db_remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_cache),
        cmocka_unit_test_setup_teardown(test_initialize_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_any_echoes_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_soa_only_and_mx_prio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_ent_and_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_backend_cmd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_method_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_read_your_writes_and_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_abort_and_disconnect_roll_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_poisoned_commit_has_no_result, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_poisoned_commit_is_audited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_writes_outside_and_wipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_metadata_joins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_pdns_escaped_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_and_autosecondary, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
