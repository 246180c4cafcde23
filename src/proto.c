/* proto.c -- remote-backend request decoding and reply encoding (no I/O). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mxg/err.h"
#include "mxg/json.h"
#include "mxg/limits.h"
#include "mxg/proto.h"

static const char *const METHOD_NAMES[MXG_M_COUNT] = {
    [MXG_M_UNKNOWN] = "unknown",
    [MXG_M_INITIALIZE] = "initialize",
    [MXG_M_LOOKUP] = "lookup",
    [MXG_M_LIST] = "list",
    [MXG_M_GET_ALL_DOMAINS] = "getAllDomains",
    [MXG_M_GET_DOMAIN_INFO] = "getDomainInfo",
    [MXG_M_GET_ALL_DOMAIN_METADATA] = "getAllDomainMetadata",
    [MXG_M_GET_DOMAIN_METADATA] = "getDomainMetadata",
    [MXG_M_SET_DOMAIN_METADATA] = "setDomainMetadata",
    [MXG_M_GET_UPDATED_MASTERS] = "getUpdatedMasters",
    [MXG_M_SET_NOTIFIED] = "setNotified",
    [MXG_M_DIRECT_BACKEND_CMD] = "directBackendCmd",
    [MXG_M_START_TRANSACTION] = "startTransaction",
    [MXG_M_COMMIT_TRANSACTION] = "commitTransaction",
    [MXG_M_ABORT_TRANSACTION] = "abortTransaction",
    [MXG_M_REPLACE_RRSET] = "replaceRRSet",
    [MXG_M_FEED_RECORD] = "feedRecord",
    [MXG_M_FEED_ENTS] = "feedEnts",
    [MXG_M_FEED_ENTS3] = "feedEnts3",
    [MXG_M_GET_UNFRESH_SLAVE_INFOS] = "getUnfreshSlaveInfos",
    [MXG_M_SET_FRESH] = "setFresh",
    [MXG_M_SET_STALE] = "setStale",
    [MXG_M_SUPER_MASTER_BACKEND] = "superMasterBackend",
    [MXG_M_CREATE_SLAVE_DOMAIN] = "createSlaveDomain",
    [MXG_M_GET_DOMAIN_KEYS] = "getDomainKeys",
    [MXG_M_ADD_DOMAIN_KEY] = "addDomainKey",
    [MXG_M_REMOVE_DOMAIN_KEY] = "removeDomainKey",
    [MXG_M_ACTIVATE_DOMAIN_KEY] = "activateDomainKey",
    [MXG_M_DEACTIVATE_DOMAIN_KEY] = "deactivateDomainKey",
    [MXG_M_PUBLISH_DOMAIN_KEY] = "publishDomainKey",
    [MXG_M_UNPUBLISH_DOMAIN_KEY] = "unpublishDomainKey",
    [MXG_M_GET_TSIG_KEY] = "getTSIGKey",
    [MXG_M_GET_TSIG_KEYS] = "getTSIGKeys",
    [MXG_M_SET_TSIG_KEY] = "setTSIGKey",
    [MXG_M_DELETE_TSIG_KEY] = "deleteTSIGKey",
    [MXG_M_GET_BEFORE_AND_AFTER] = "getBeforeAndAfterNamesAbsolute",
    [MXG_M_SEARCH_RECORDS] = "searchRecords",
};

const char *mxg_method_name(enum mxg_method m)
{
    return (m > 0 && m < MXG_M_COUNT) ? METHOD_NAMES[m] : "unknown";
}

static enum mxg_method method_from_name(const char *s)
{
    for (int m = 1; m < MXG_M_COUNT; m++)
        if (strcasecmp(s, METHOD_NAMES[m]) == 0)
            return (enum mxg_method)m;
    return MXG_M_UNKNOWN;
}

int mxg_proto_decode(const char *line, size_t len, struct mxg_request *req, char *err,
                     size_t errlen)
{
    memset(req, 0, sizeof(*req));
    if (len > MXG_LINE_MAX) {
        snprintf(err, errlen, "request longer than %d bytes", MXG_LINE_MAX);
        return MXG_ERANGE;
    }
    json_error_t jerr;
    json_t *root = NULL;
    int rc = mxg_json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &root, &jerr);
    if (rc == MXG_ENOMEM) {
        snprintf(err, errlen, "out of memory");
        return MXG_ENOMEM;
    }
    if (rc != MXG_OK) {
        snprintf(err, errlen, "malformed JSON at column %d: %s", jerr.column, jerr.text);
        return MXG_EPARSE;
    }
    /* From here on a refusal goes through fail with its code and reason. */
    const char *why = NULL;
    if (!json_is_object(root)) {
        why = "request is not a JSON object";
        rc = MXG_EPARSE;
        goto fail;
    }
    json_t *method = json_object_get(root, "method");
    if (!json_is_string(method)) {
        why = "request has no string 'method'";
        rc = MXG_EINVAL;
        goto fail;
    }
    if (strlen(json_string_value(method)) != json_string_length(method)) {
        /* "lookup\u0000x" must not be taken for "lookup". */
        why = "'method' contains a NUL character";
        rc = MXG_EINVAL;
        goto fail;
    }
    json_t *params = json_object_get(root, "parameters");
    if (json_is_null(params))
        params = NULL;
    if (params && !json_is_object(params)) {
        why = "'parameters' is not an object";
        rc = MXG_EINVAL;
        goto fail;
    }
    if (!params) {
        params = json_object();
        if (!params || json_object_set_new(root, "parameters", params) != 0) {
            why = "out of memory";
            rc = MXG_ENOMEM;
            goto fail;
        }
    }
    req->root = root;
    req->params = params;
    req->method_name = json_string_value(method);
    req->method = method_from_name(req->method_name);
    return MXG_OK;
fail:
    json_decref(root);
    snprintf(err, errlen, "%s", why);
    return rc;
}

void mxg_request_free(struct mxg_request *req)
{
    if (req->root)
        json_decref(req->root);
    memset(req, 0, sizeof(*req));
}

int mxg_param_string(const struct mxg_request *req, const char *key, const char **out)
{
    json_t *v = json_object_get(req->params, key);
    if (!v)
        return MXG_ENOENT;
    if (!json_is_string(v))
        return MXG_EINVAL;
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
        return MXG_EINVAL; /* an embedded NUL */
    *out = s;
    return MXG_OK;
}

int mxg_param_int(const struct mxg_request *req, const char *key, int64_t *out)
{
    json_t *v = json_object_get(req->params, key);
    if (!v)
        return MXG_ENOENT;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return MXG_OK;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != d || d < -9.0e15 || d > 9.0e15 || d != (double)(int64_t)d)
            return MXG_EINVAL;
        *out = (int64_t)d;
        return MXG_OK;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        if (*s == '\0')
            return MXG_EINVAL;
        long long n = strtoll(s, &end, 10);
        if (*end != '\0' || n < -9000000000000000LL || n > 9000000000000000LL)
            return MXG_EINVAL;
        *out = n;
        return MXG_OK;
    }
    return MXG_EINVAL;
}

int mxg_param_bool(const struct mxg_request *req, const char *key, bool *out)
{
    json_t *v = json_object_get(req->params, key);
    if (!v)
        return MXG_ENOENT;
    if (!json_is_boolean(v))
        return MXG_EINVAL;
    *out = json_is_true(v);
    return MXG_OK;
}

void mxg_reply_init(struct mxg_reply *r)
{
    r->result = NULL;
    r->log = NULL;
    r->no_result = false;
}

void mxg_reply_set(struct mxg_reply *r, json_t *v)
{
    if (r->result)
        json_decref(r->result);
    r->result = v;
}

void mxg_reply_log(struct mxg_reply *r, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    /* Log text may quote input: keep it printable ASCII so the reply stays valid JSON. */
    for (char *c = buf; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
    if (!r->log)
        r->log = json_array();
    if (r->log)
        json_array_append_new(r->log, json_string_nocheck(buf));
}

void mxg_reply_clear(struct mxg_reply *r)
{
    if (r->result)
        json_decref(r->result);
    if (r->log)
        json_decref(r->log);
    r->result = NULL;
    r->log = NULL;
}

int mxg_reply_encode(struct mxg_reply *r, char **out, size_t *outlen)
{
    json_t *obj = json_object();
    if (!obj)
        goto oom;
    if (r->result) {
        if (json_object_set_new_nocheck(obj, "result", r->result) != 0) {
            r->result = NULL;
            goto oom;
        }
        r->result = NULL;
    }
    if (r->log) {
        if (json_object_set_new_nocheck(obj, "log", r->log) != 0) {
            r->log = NULL;
            goto oom;
        }
        r->log = NULL;
    }
    /* One serialisation pass (json_dumpb would need two: size, then fill). */
    size_t n = 0;
    char *buf = mxg_json_dumps(obj, JSON_COMPACT, &n);
    if (!buf)
        goto oom;
    buf[n] = '\n'; /* the NUL's byte becomes the newline; the buffer is not a C string now */
    json_decref(obj);
    *out = buf;
    *outlen = n + 1;
    return MXG_OK;
oom:
    if (obj)
        json_decref(obj);
    mxg_reply_clear(r);
    return MXG_ENOMEM;
}
