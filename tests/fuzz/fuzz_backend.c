/* fuzz_backend.c -- remote-backend request decoding and dispatch over an in-memory store.
 * The input is a session: lines sent in order on one connection (after an initialize, so
 * every method is reached). Invariant checked: every line gets exactly one reply line of
 * valid JSON carrying "result" -- except a refused commitTransaction, which carries "log"
 * and deliberately no "result". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "mxg/backend.h"
#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/log.h"
#include "mxg/store.h"
#include "mxg/zoneops.h"

static struct mxg_store *store;
static struct mxg_backend *backend;
static struct mxg_config config;

static void setup_once(void)
{
    char err[256];
    mxg_log_setup(MXG_LOG_STDERR, MXG_LOG_ERROR, "fuzz");
    if (mxg_config_load_string("", "fuzz", &config, err, sizeof(err)) != MXG_OK ||
        mxg_store_sqlite_open(":memory:", &store, err, sizeof(err)) != MXG_OK)
        abort();
    const char *ns[] = {"ns1.example.com"};
    if (mxg_zone_create(store, &config, "example.com.", MXG_KIND_MASTER, NULL, ns, 1, err,
                        sizeof(err)) != MXG_OK)
        abort();
    backend = mxg_backend_new(store, &config);
}

static void one(struct mxg_session *s, const char *line, size_t len)
{
    char *reply = NULL;
    size_t rlen = 0;
    if (mxg_backend_handle(s, line, len, &reply, &rlen) != MXG_OK)
        return;
    if (rlen == 0 || reply[rlen - 1] != '\n' || memchr(reply, '\n', rlen - 1))
        abort();
    json_t *j = json_loadb(reply, rlen, 0, NULL);
    if (!j)
        abort();
    if (!json_object_get(j, "result")) {
        json_t *req = json_loadb(line, len, 0, NULL);
        const char *m = json_string_value(json_object_get(req, "method"));
        if (!m || strcasecmp(m, "commitTransaction") != 0 || !json_object_get(j, "log"))
            abort();
        json_decref(req);
    }
    json_decref(j);
    free(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!backend)
        setup_once();
    struct mxg_session *s = mxg_session_new(backend);
    static const char init[] = "{\"method\":\"initialize\",\"parameters\":{}}";
    one(s, init, sizeof(init) - 1);
    const char *p = (const char *)data, *end = p + size;
    int lines = 0;
    while (p < end && lines++ < 64) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        one(s, p, len);
        p += len + 1;
    }
    mxg_session_free(s);
    return 0;
}
