/* proto.h -- the PowerDNS remote-backend protocol: JSON request decoding and reply encoding.
 *
 * No I/O and no store: pure functions over bytes and jansson values, so unit tests and
 * fuzzers drive them directly. A request is one JSON object {"method": NAME, "parameters": {...}};
 * a reply is one JSON object {"result": ..., "log": [...]} followed by "\n". */
#ifndef MXG_PROTO_H
#define MXG_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mxg/err.h"

enum mxg_method {
    MXG_M_UNKNOWN = 0,
    MXG_M_INITIALIZE,
    MXG_M_LOOKUP,
    MXG_M_LIST,
    MXG_M_GET_ALL_DOMAINS,
    MXG_M_GET_DOMAIN_INFO,
    MXG_M_GET_ALL_DOMAIN_METADATA,
    MXG_M_GET_DOMAIN_METADATA,
    MXG_M_SET_DOMAIN_METADATA,
    MXG_M_GET_UPDATED_MASTERS,
    MXG_M_SET_NOTIFIED,
    MXG_M_DIRECT_BACKEND_CMD,
    MXG_M_START_TRANSACTION,
    MXG_M_COMMIT_TRANSACTION,
    MXG_M_ABORT_TRANSACTION,
    MXG_M_REPLACE_RRSET,
    MXG_M_FEED_RECORD,
    MXG_M_FEED_ENTS,
    MXG_M_FEED_ENTS3,
    MXG_M_GET_UNFRESH_SLAVE_INFOS,
    MXG_M_SET_FRESH,
    MXG_M_SET_STALE,
    MXG_M_SUPER_MASTER_BACKEND,
    MXG_M_CREATE_SLAVE_DOMAIN,
    /* DNSSEC keys and TSIG (pdns sends them with remote-dnssec=yes). */
    MXG_M_GET_DOMAIN_KEYS,
    MXG_M_ADD_DOMAIN_KEY,
    MXG_M_REMOVE_DOMAIN_KEY,
    MXG_M_ACTIVATE_DOMAIN_KEY,
    MXG_M_DEACTIVATE_DOMAIN_KEY,
    MXG_M_PUBLISH_DOMAIN_KEY,
    MXG_M_UNPUBLISH_DOMAIN_KEY,
    MXG_M_GET_TSIG_KEY,
    MXG_M_GET_TSIG_KEYS,
    MXG_M_SET_TSIG_KEY,
    MXG_M_DELETE_TSIG_KEY,
    MXG_M_GET_BEFORE_AND_AFTER,
    MXG_M_SEARCH_RECORDS,
    MXG_M_COUNT
};

/* A decoded request. Owns root; params and method_name borrow from it. */
struct mxg_request {
    enum mxg_method method;
    const char *method_name;
    json_t *root;
    json_t *params; /* always an object (empty when absent) */
};

/* Decodes one request line (without its newline). Method names match case-insensitively.
 * Returns 0; MXG_EPARSE (not JSON, not an object), MXG_EINVAL (no string "method",
 * "parameters" not an object), MXG_ERANGE (longer than MXG_LINE_MAX) or MXG_ENOMEM, with a
 * reason in err (req is then empty). An unknown method decodes fine with method
 * MXG_M_UNKNOWN. */
MXG_MUST_CHECK int mxg_proto_decode(const char *line, size_t len, struct mxg_request *req,
                                    char *err, size_t errlen);
void mxg_request_free(struct mxg_request *req);
const char *mxg_method_name(enum mxg_method m);

/* Parameter getters: 0, MXG_ENOENT (absent) or MXG_EINVAL (wrong type, out of range). */
MXG_MUST_CHECK int mxg_param_string(const struct mxg_request *req, const char *key,
                                    const char **out);
/* Integers come as numbers, integral reals (1.0) or numeric strings ("1"). */
MXG_MUST_CHECK int mxg_param_int(const struct mxg_request *req, const char *key, int64_t *out);
MXG_MUST_CHECK int mxg_param_bool(const struct mxg_request *req, const char *key, bool *out);

/* A reply under construction. result == NULL encodes a reply without "result" (the refusal
 * pdns reports to its clients as a failure). */
struct mxg_reply {
    json_t *result;
    json_t *log;    /* array of strings, or NULL */
    bool no_result; /* deliberately encode without "result" (a refused commit) */
};

void mxg_reply_init(struct mxg_reply *r);
/* Takes ownership of v. */
void mxg_reply_set(struct mxg_reply *r, json_t *v);
void mxg_reply_log(struct mxg_reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Encodes to a new malloc'd buffer ending in "\n"; frees the reply's values.
 * Returns 0 or MXG_ENOMEM. */
MXG_MUST_CHECK int mxg_reply_encode(struct mxg_reply *r, char **out, size_t *outlen);
void mxg_reply_clear(struct mxg_reply *r);

#endif
