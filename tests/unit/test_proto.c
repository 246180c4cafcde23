/* test_proto.c -- request decoding, parameter getters and reply encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxg/err.h"
#include "mxg/limits.h"
#include "mxg/proto.h"

static int decode(const char *line, struct mxg_request *req)
{
    char err[256];
    return mxg_proto_decode(line, strlen(line), req, err, sizeof(err));
}

static void test_decode_pdns_request(void **state)
{
    struct mxg_request req;
    /* A request exactly as pdns 4.7.3 writes it (sorted keys, json11 spacing). */
    const char *line = "{\"method\": \"lookup\", \"parameters\": {\"local\": \"127.0.0.1\", "
                       "\"qname\": \"www.example.com.\", \"qtype\": \"ANY\", \"real-remote\": "
                       "\"127.0.0.1/32\", \"remote\": \"127.0.0.1\", \"zone-id\": 1}}";
    assert_int_equal(decode(line, &req), MXG_OK);
    assert_int_equal(req.method, MXG_M_LOOKUP);
    const char *s = NULL;
    int64_t id = 0;
    assert_int_equal(mxg_param_string(&req, "qname", &s), MXG_OK);
    assert_string_equal(s, "www.example.com.");
    assert_int_equal(mxg_param_int(&req, "zone-id", &id), MXG_OK);
    assert_int_equal(id, 1);
    assert_int_equal(mxg_param_string(&req, "absent", &s), MXG_ENOENT);
    assert_int_equal(mxg_param_int(&req, "qname", &id), MXG_EINVAL);
    mxg_request_free(&req);
}

static void test_decode_method_case_and_missing_params(void **state)
{
    struct mxg_request req;
    assert_int_equal(decode("{\"method\":\"getalldomainmetadata\"}", &req), MXG_OK);
    assert_int_equal(req.method, MXG_M_GET_ALL_DOMAIN_METADATA);
    assert_non_null(req.params);
    mxg_request_free(&req);
    assert_int_equal(decode("{\"method\":\"frobnicate\",\"parameters\":null}", &req), MXG_OK);
    assert_int_equal(req.method, MXG_M_UNKNOWN);
    assert_string_equal(req.method_name, "frobnicate");
    mxg_request_free(&req);
}

static void test_decode_errors(void **state)
{
    struct mxg_request req;
    assert_int_equal(decode("", &req), MXG_EPARSE);
    assert_int_equal(decode("{\"method\":", &req), MXG_EPARSE);
    assert_int_equal(decode("[1,2]", &req), MXG_EPARSE);
    assert_int_equal(decode("\"x\"", &req), MXG_EPARSE);
    assert_int_equal(decode("{\"method\":null}", &req), MXG_EINVAL);
    assert_int_equal(decode("{\"method\":\"lookup\",\"parameters\":\"x\"}", &req), MXG_EINVAL);
    assert_int_equal(decode("{\"method\":\"a\",\"method\":\"b\"}", &req), MXG_EPARSE);
    assert_int_equal(decode("{\"method\":\"lookup\"} trailing", &req), MXG_EPARSE);
    char err[64];
    assert_int_equal(mxg_proto_decode("{}", (size_t)MXG_LINE_MAX + 1, &req, err, sizeof(err)),
                     MXG_ERANGE);
}

static void test_int_forms(void **state)
{
    struct mxg_request req;
    int64_t v;
    assert_int_equal(decode("{\"method\":\"x\",\"parameters\":{\"a\":1.0,\"b\":\"42\",\"c\":1.5,"
                            "\"d\":\"4x\",\"e\":\"\",\"f\":true,\"g\":-1,\"h\":1e300}}",
                            &req),
                     MXG_OK);
    assert_int_equal(mxg_param_int(&req, "a", &v), MXG_OK);
    assert_int_equal(v, 1);
    assert_int_equal(mxg_param_int(&req, "b", &v), MXG_OK);
    assert_int_equal(v, 42);
    assert_int_equal(mxg_param_int(&req, "c", &v), MXG_EINVAL);
    assert_int_equal(mxg_param_int(&req, "d", &v), MXG_EINVAL);
    assert_int_equal(mxg_param_int(&req, "e", &v), MXG_EINVAL);
    assert_int_equal(mxg_param_int(&req, "f", &v), MXG_EINVAL);
    assert_int_equal(mxg_param_int(&req, "g", &v), MXG_OK);
    assert_int_equal(v, -1);
    assert_int_equal(mxg_param_int(&req, "h", &v), MXG_EINVAL);
    bool b;
    assert_int_equal(mxg_param_bool(&req, "f", &b), MXG_OK);
    assert_true(b);
    assert_int_equal(mxg_param_bool(&req, "a", &b), MXG_EINVAL);
    mxg_request_free(&req);
    /* An embedded NUL in a string is refused. */
    assert_int_equal(decode("{\"method\":\"x\",\"parameters\":{\"s\":\"a\\u0000b\"}}", &req),
                     MXG_OK);
    const char *s;
    assert_int_equal(mxg_param_string(&req, "s", &s), MXG_EINVAL);
    mxg_request_free(&req);
}

static void test_reply_encoding(void **state)
{
    struct mxg_reply r;
    char *out;
    size_t len;
    mxg_reply_init(&r);
    mxg_reply_set(&r, json_true());
    assert_int_equal(mxg_reply_encode(&r, &out, &len), MXG_OK);
    assert_int_equal(len, strlen("{\"result\":true}\n"));
    assert_memory_equal(out, "{\"result\":true}\n", len);
    free(out);
    /* Log lines stay printable ASCII whatever they quote. */
    mxg_reply_init(&r);
    mxg_reply_set(&r, json_false());
    mxg_reply_log(&r, "bad \xff\x01 name");
    assert_int_equal(mxg_reply_encode(&r, &out, &len), MXG_OK);
    assert_memory_equal(out, "{\"result\":false,\"log\":[\"bad ?? name\"]}\n", len);
    free(out);
    /* No result at all: the refusal reply. */
    mxg_reply_init(&r);
    assert_int_equal(mxg_reply_encode(&r, &out, &len), MXG_OK);
    assert_memory_equal(out, "{}\n", len);
    free(out);
    assert_string_equal(mxg_method_name(MXG_M_REPLACE_RRSET), "replaceRRSet");
    assert_string_equal(mxg_method_name(MXG_M_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_pdns_request),
        cmocka_unit_test(test_decode_method_case_and_missing_params),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_int_forms),
        cmocka_unit_test(test_reply_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
