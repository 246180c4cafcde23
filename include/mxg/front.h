/* front.h -- the HTTP API front (PRODUCT.md §6): pdns's API, guarded.
 *
 * A libmicrohttpd listener on api-listen (off when unset) with its own threads, so the libuv
 * lookup loop never runs HTTP work. What mxguard owns (PATCH of a zone through the guard, zone
 * create and delete, X-MXGUARD-* metadata for the operator key only, /api/v1/mxguard/...,
 * /metrics, the operator page /ui/) it answers; everything else is forwarded to pdns's API
 * (pdns-api-url) with libcurl. mxguard's own operations go through the daemon's control socket:
 * the ops run on the loop, one at a time, with the store handle they already use. */
#ifndef MXG_FRONT_H
#define MXG_FRONT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "mxg/config.h"
#include "mxg/err.h"

struct mxg_front;

/* Starts the listener on cfg->api_listen (must be set). cfg must outlive the front. Returns 0,
 * or MXG_EINVAL / MXG_EIO with the reason in err. */
MXG_MUST_CHECK int mxg_front_start(const struct mxg_config *cfg, struct mxg_front **out, char *err,
                                   size_t errlen);

/* Stops accepting, waits for the running requests and frees the front (NULL is fine). */
void mxg_front_stop(struct mxg_front *f);

/* ---- the pure parts (unit-tested) ------------------------------------------------------ */

enum mxg_front_route {
    MXG_ROUTE_FORWARD,     /* pdns's own: forwarded as is */
    MXG_ROUTE_ZONE_PATCH,  /* PATCH /api/v1/servers/localhost/zones/{id} */
    MXG_ROUTE_ZONE_CREATE, /* POST /api/v1/servers/localhost/zones */
    MXG_ROUTE_ZONE_DELETE, /* DELETE /api/v1/servers/localhost/zones/{id} */
    MXG_ROUTE_ZONE_PUT,    /* PUT /api/v1/servers/localhost/zones/{id}: kind and masters */
    MXG_ROUTE_META_GUARD,  /* a write of X-MXGUARD-* metadata: operator key only */
    MXG_ROUTE_META_POST,   /* POST .../zones/{id}/metadata: the body names the kind */
    MXG_ROUTE_MXG_CHECK,   /* POST /api/v1/mxguard/check?zone= */
    MXG_ROUTE_MXG_SCAN,    /* GET /api/v1/mxguard/scan */
    MXG_ROUTE_MXG_AUDIT,   /* GET /api/v1/mxguard/audit */
    MXG_ROUTE_MXG_VERIFY,  /* GET /api/v1/mxguard/audit/verify */
    MXG_ROUTE_MXG_LAST,    /* GET /api/v1/mxguard/zones/{id}/last-decision */
    MXG_ROUTE_METRICS,     /* GET /metrics */
    MXG_ROUTE_UI,          /* GET /ui/ (or /ui): the read-only operator page */
    MXG_ROUTE_NOT_FOUND,   /* under /api/v1/mxguard/ but no such endpoint */
    MXG_ROUTE_BAD_METHOD,  /* a known mxguard endpoint, the wrong method */
};

/* Routes a request (path without the query). zone receives the zone named by {id}, decoded as
 * pdns decodes zone ids ("=2F" is '/'), when the route has one; else "". */
enum mxg_front_route mxg_front_route(const char *method, const char *path, char *zone,
                                     size_t zonelen);

/* True when the route needs the operator key (a panel key gets 403). */
bool mxg_front_operator_only(enum mxg_front_route r);

enum mxg_front_auth { MXG_AUTH_NONE, MXG_AUTH_PANEL, MXG_AUTH_OPERATOR };

/* Which key `given` is (NULL: no header), compared in constant time. An unset key matches
 * nothing. */
enum mxg_front_auth mxg_front_auth(const char *given, const char *api_key,
                                   const char *operator_key);

/* The 422 body of a refusal: {"error": "<one line>", "mxguard": {"verdict", "findings", "fix",
 * "remedies", "audit_seq"}} from a check reply or an audit record (remedies: an array, or NULL
 * for none; audit_seq 0: unknown, null). New reference, or NULL when out of memory. */
json_t *mxg_front_refusal(json_t *verdict, json_t *findings, json_t *fix, json_t *remedies,
                          long long audit_seq);

#endif
