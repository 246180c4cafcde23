/* alloc_proto.c -- sweep operations over proto.c: decoding requests exactly as pdns 4.7 writes
 * them, encoding replies, and log lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mxg/err.h"
#include "mxg/proto.h"
#include "sweep.h"

#define REF_MAX 8192

/* ---- decoding ------------------------------------------------------------------------------ */

struct dec_op {
    const char *line;
    enum mxg_method method;
    struct mxg_request req;
    char err[256];
    char ref[REF_MAX];
    bool have_ref;
    int got[4];     /* the getters' results */
    int ref_got[4]; /* ... without failures */
};

static int dec_run(void *arg)
{
    struct dec_op *d = arg;
    d->err[0] = '\0';
    int rc = mxg_proto_decode(d->line, strlen(d->line), &d->req, d->err, sizeof(d->err));
    if (rc != MXG_OK)
        return rc;
    /* What a handler reads next; the getters allocate nothing, so they answer as without
     * failures (dec_check compares). */
    const char *s;
    int64_t v;
    bool b;
    d->got[0] = mxg_param_string(&d->req, "qname", &s);
    d->got[1] = mxg_param_int(&d->req, "zone-id", &v);
    d->got[2] = mxg_param_int(&d->req, "trxid", &v);
    d->got[3] = mxg_param_bool(&d->req, "include_disabled", &b);
    return MXG_OK;
}

static const char *dec_check(void *arg, int rc)
{
    struct dec_op *d = arg;
    if (rc != MXG_OK) {
        if (d->req.root || d->req.params || d->req.method_name)
            return "a failed decode left a request behind";
        if (rc == MXG_ENOMEM && strcmp(d->err, "out of memory") != 0)
            return sweep_msg("MXG_ENOMEM with the reason '%s'", d->err);
        return d->err[0] ? NULL : "a failed decode gives no reason";
    }
    char *text = json_dumps(d->req.root, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return "cannot serialise the decoded request";
    const char *bad = NULL;
    if (d->req.method != d->method || !json_is_object(d->req.params)) {
        bad = sweep_msg("decoded as method %d: %s", (int)d->req.method, text);
    } else if (!d->have_ref) {
        snprintf(d->ref, sizeof(d->ref), "%s", text);
        memcpy(d->ref_got, d->got, sizeof(d->got));
        d->have_ref = true;
    } else if (strcmp(d->ref, text) != 0) {
        bad = sweep_msg("the decoded request differs from the one decoded without failures:\n"
                        "%s\n----\n%s",
                        text, d->ref);
    } else if (memcmp(d->ref_got, d->got, sizeof(d->got)) != 0) {
        bad = sweep_msg("the getters answer %d %d %d %d, without failures %d %d %d %d", d->got[0],
                        d->got[1], d->got[2], d->got[3], d->ref_got[0], d->ref_got[1],
                        d->ref_got[2], d->ref_got[3]);
    }
    free(text);
    return bad;
}

static void dec_cleanup(void *arg)
{
    struct dec_op *d = arg;
    mxg_request_free(&d->req);
}

/* Requests as pdns 4.7.3 sent them in the captured sessions (tests/fuzz/corpus/fuzz_backend). */
static struct dec_op DECODES[] = {
    {.line = "{\"method\": \"initialize\", \"parameters\": {\"path\": \"/run/mxguard/rb.sock\", "
             "\"timeout\": \"2000\"}}",
     .method = MXG_M_INITIALIZE},
    {.line = "{\"method\": \"lookup\", \"parameters\": {\"local\": \"0.0.0.0\", \"qname\": "
             "\"example.com.\", \"qtype\": \"ANY\", \"real-remote\": \"0.0.0.0/0\", \"remote\": "
             "\"0.0.0.0\", \"zone-id\": 1}}",
     .method = MXG_M_LOOKUP},
    {.line = "{\"method\": \"list\", \"parameters\": {\"domain_id\": 1, \"include_disabled\": "
             "false, \"zonename\": \"example.com.\"}}",
     .method = MXG_M_LIST},
    {.line = "{\"method\": \"startTransaction\", \"parameters\": {\"domain\": \"example.com.\", "
             "\"domain_id\": -1, \"trxid\": 1795456202}}",
     .method = MXG_M_START_TRANSACTION},
    {.line = "{\"method\": \"replaceRRSet\", \"parameters\": {\"domain_id\": 1, \"qname\": "
             "\"example.com.\", \"qtype\": \"A\", \"rrset\": [{\"auth\": true, \"content\": "
             "\"203.0.113.11\", \"qclass\": 1, \"qname\": \"example.com.\", \"qtype\": \"A\", "
             "\"ttl\": 300}, {\"auth\": true, \"content\": \"203.0.113.12\", \"qclass\": 1, "
             "\"qname\": \"example.com.\", \"qtype\": \"A\", \"ttl\": 300}], \"trxid\": "
             "1795456202}}",
     .method = MXG_M_REPLACE_RRSET},
    {.line = "{\"method\": \"replaceRRSet\", \"parameters\": {\"domain_id\": 1, \"qname\": "
             "\"example.com.\", \"qtype\": \"MX\", \"rrset\": [{\"auth\": true, \"content\": \"20 "
             "mail.example.com\", \"qclass\": 1, \"qname\": \"example.com.\", \"qtype\": \"MX\", "
             "\"ttl\": 300}], \"trxid\": 1795456202}}",
     .method = MXG_M_REPLACE_RRSET},
    {.line = "{\"method\": \"feedRecord\", \"parameters\": {\"rr\": {\"auth\": true, \"content\": "
             "\"198.51.100.7\", \"ordername\": null, \"qclass\": 1, \"qname\": \"example.com.\", "
             "\"qtype\": \"A\", \"ttl\": 300}, \"trxid\": 1795456248}}",
     .method = MXG_M_FEED_RECORD},
    {.line = "{\"method\": \"setDomainMetadata\", \"parameters\": {\"kind\": "
             "\"ALLOW-DNSUPDATE-FROM\", \"name\": \"example.com.\", \"value\": "
             "[\"127.0.0.2/32\", \"192.0.2.0/24\"]}}",
     .method = MXG_M_SET_DOMAIN_METADATA},
    {.line = "{\"method\": \"commitTransaction\", \"parameters\": {\"trxid\": 1795456202}}",
     .method = MXG_M_COMMIT_TRANSACTION},
    {.line = "{\"method\": \"getAllDomains\", \"parameters\": {\"include_disabled\": true}}",
     .method = MXG_M_GET_ALL_DOMAINS},
    {.line = "{\"method\":\"getalldomainmetadata\"}", .method = MXG_M_GET_ALL_DOMAIN_METADATA},
};

/* ---- encoding ------------------------------------------------------------------------------ */

struct enc_op {
    int shape; /* 0: lookup records, 1: false with log, 2: no result (refused commit), 3: list */
    bool log_armed; /* mxg_reply_log runs armed too (it may drop a line when out of memory) */
    struct mxg_reply r;
    char *out;
    size_t outlen;
    char ref[REF_MAX * 4];
    bool have_ref;
};

static json_t *record(const char *name, const char *type, const char *content)
{
    return json_pack("{s:s,s:s,s:s,s:i,s:i,s:b}", "qname", name, "qtype", type, "content", content,
                     "ttl", 3600, "domain_id", 1, "auth", 1);
}

static void enc_logs(struct enc_op *e)
{
    mxg_reply_log(&e->r, "mxguard: commit refused: mail for %s would move", "example.com.");
    mxg_reply_log(&e->r, "mxguard: remedy: %s", "keep example.com. at its current address");
}

static void enc_setup(void *arg)
{
    struct enc_op *e = arg;
    mxg_reply_init(&e->r);
    e->out = NULL;
    e->outlen = 0;
    json_t *a;
    switch (e->shape) {
    case 0:
        a = json_array();
        json_array_append_new(a, record("example.com.", "SOA",
                                        "ns1.example.com. hostmaster.example.com. 1 3600 600 "
                                        "604800 3600"));
        json_array_append_new(a, record("example.com.", "MX", "10 mail.example.com."));
        json_array_append_new(a, record("example.com.", "A", "192.0.2.1"));
        json_array_append_new(a, record("example.com.", "TXT", "\"v=spf1 mx -all\""));
        mxg_reply_set(&e->r, a);
        break;
    case 1:
        mxg_reply_set(&e->r, json_false());
        break;
    case 2:
        e->r.no_result = true;
        break;
    default:
        a = json_array();
        for (int i = 0; i < 40; i++) {
            char name[64];
            snprintf(name, sizeof(name), "host%d.example.com.", i);
            json_array_append_new(
                a, record(name, i % 2 ? "AAAA" : "A", i % 2 ? "2001:db8::1" : "192.0.2.7"));
        }
        mxg_reply_set(&e->r, a);
        break;
    }
    if (e->shape != 0 && e->shape != 3 && !e->log_armed)
        enc_logs(e);
}

static int enc_run(void *arg)
{
    struct enc_op *e = arg;
    if (e->log_armed)
        enc_logs(e);
    return mxg_reply_encode(&e->r, &e->out, &e->outlen);
}

static const char *enc_check(void *arg, int rc)
{
    struct enc_op *e = arg;
    if (e->r.result || e->r.log)
        return "mxg_reply_encode left values in the reply";
    if (rc != MXG_OK)
        return e->out ? "a failed encode set its output" : NULL;
    if (!e->out || e->outlen == 0 || e->out[e->outlen - 1] != '\n' ||
        memchr(e->out, '\n', e->outlen - 1))
        return "the reply is not one line ending in a newline";
    if (e->outlen >= sizeof(e->ref))
        return "reply too long for the sweep";
    if (!e->have_ref) {
        memcpy(e->ref, e->out, e->outlen);
        e->ref[e->outlen] = '\0';
        e->have_ref = true;
        return NULL;
    }
    if (strlen(e->ref) == e->outlen && memcmp(e->ref, e->out, e->outlen) == 0)
        return NULL;
    if (!e->log_armed)
        return sweep_msg("the reply differs from the one encoded without failures:\n%.*s----\n%s",
                         (int)e->outlen, e->out, e->ref);
    /* A log line may be missing (out of memory while logging); the rest must be intact. */
    json_error_t jerr;
    json_t *got = json_loadb(e->out, e->outlen - 1, 0, &jerr);
    json_t *want = json_loads(e->ref, 0, &jerr);
    const char *bad = NULL;
    json_t *gl = json_object_get(got, "log"), *wl = json_object_get(want, "log");
    if (!got || !want)
        bad = "the reply is not JSON";
    else if ((json_object_get(got, "result") == NULL) !=
                 (json_object_get(want, "result") == NULL) ||
             (json_object_get(want, "result") &&
              !json_equal(json_object_get(got, "result"), json_object_get(want, "result"))))
        bad = "the result differs from the one encoded without failures";
    else if (gl && (!json_is_array(gl) || json_array_size(gl) > json_array_size(wl)))
        bad = "the log has lines it should not have";
    for (size_t i = 0; !bad && gl && i < json_array_size(gl); i++) {
        bool found = false;
        for (size_t j = 0; j < json_array_size(wl) && !found; j++)
            found = json_equal(json_array_get(gl, i), json_array_get(wl, j));
        if (!found)
            bad = "a log line differs";
    }
    json_decref(got);
    json_decref(want);
    return bad;
}

static void enc_cleanup(void *arg)
{
    struct enc_op *e = arg;
    free(e->out);
    e->out = NULL;
    mxg_reply_clear(&e->r);
}

static struct enc_op ENCODES[] = {
    {.shape = 0},
    {.shape = 1},
    {.shape = 2},
    {.shape = 3},
    {.shape = 1, .log_armed = true},
    {.shape = 2, .log_armed = true},
};

void proto_ops(void)
{
    for (size_t i = 0; i < sizeof(DECODES) / sizeof(DECODES[0]); i++) {
        static char names[sizeof(DECODES) / sizeof(DECODES[0])][64];
        snprintf(names[i], sizeof(names[i]), "proto decode %s", mxg_method_name(DECODES[i].method));
        struct sweep_op op = {.name = names[i],
                              .arg = &DECODES[i],
                              .run = dec_run,
                              .check = dec_check,
                              .cleanup = dec_cleanup,
                              .fail_rc = MXG_ENOMEM};
        sweep_add(&op);
    }
    static const char *const shapes[] = {"lookup records", "false + log", "no result + log",
                                         "40 records"};
    for (size_t i = 0; i < sizeof(ENCODES) / sizeof(ENCODES[0]); i++) {
        static char names[sizeof(ENCODES) / sizeof(ENCODES[0])][64];
        snprintf(names[i], sizeof(names[i]), "proto %sencode %s",
                 ENCODES[i].log_armed ? "log + " : "", shapes[ENCODES[i].shape]);
        struct sweep_op op = {.name = names[i],
                              .arg = &ENCODES[i],
                              .setup = enc_setup,
                              .run = enc_run,
                              .check = enc_check,
                              .cleanup = enc_cleanup,
                              .fail_rc = MXG_ENOMEM,
                              .may_degrade = ENCODES[i].log_armed};
        sweep_add(&op);
    }
}
