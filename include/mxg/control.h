/* control.h -- the control socket protocol (PRODUCT.md §6) for panels and the CLI.
 *
 * One JSON request per line, {"op": NAME, ...}; one reply per line, {"ok": true, ...} or
 * {"ok": false, "error": {"code": STRING, "message": STRING}}. Ops: check, scan, zone.add,
 * zone.delete, zone.list, audit.show, audit.verify, audit.export, last-decision, stats.
 * No I/O here: the daemon serves it on its control socket, the CLI calls it in-process when
 * no daemon runs. */
#ifndef MXG_CONTROL_H
#define MXG_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mxg/backend.h"
#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/store.h"

struct mxg_control {
    struct mxg_store *store;
    const struct mxg_config *cfg;
    struct mxg_backend *backend; /* NULL outside the daemon: no live stats */
    uint64_t started;            /* daemon start, seconds since the epoch (0 outside) */
    /* Called after zone.add/zone.delete so pdns rereads its zone list. NULL: run the configured
     * pdns-control synchronously (fine in the CLI; the daemon must not block: pdns answers
     * `rediscover` by asking this very daemon for getAllDomains). */
    void (*zones_changed)(struct mxg_control *c);
    /* Adds the daemon's own members to a stats reply (connections); NULL: none. */
    void (*more_stats)(struct mxg_control *c, json_t *out);
    void *user;
};

/* Handles one parsed request; returns a new reply object (never NULL unless out of memory). */
json_t *mxg_control_call(struct mxg_control *c, json_t *request);

/* Handles one request line; *reply is a new malloc'd line ending in "\n". Returns 0 or
 * MXG_ENOMEM. */
MXG_MUST_CHECK int mxg_control_handle(struct mxg_control *c, const char *line, size_t len,
                                      char **reply, size_t *replylen);

#endif
