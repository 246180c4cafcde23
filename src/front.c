/* front.c -- the HTTP API front (PRODUCT.md §6): pdns's API on libmicrohttpd, guarded.
 *
 * libmicrohttpd runs POOL_THREADS servers of one thread each, each serving many connections
 * (reads and writes are event-driven, so a slow client holds no thread), so no HTTP work ever
 * runs on the libuv lookup loop. The front accepts connections itself, on one thread, and hands
 * each to a server whose thread is not inside a request (the work of a request blocks its
 * thread); when none is free, connections wait in the listen queue, as when the threads took
 * them themselves. Were the threads to wait on the listening socket, every new connection would
 * wake all POOL_THREADS of them, one to accept it and the others to find nothing. Forwarding to
 * pdns's API uses libcurl: easy handles are kept for the next request (a new one costs allocations
 * and a socket pair of libcurl's own each time), the connections shared and kept alive where pdns
 * keeps them. The guard's pre-flight check runs in the request's thread on the front's own store
 * handle; the other ops (zone.add, zone.delete, zone.set, audit, stats) are the control socket's,
 * sent over the daemon's control socket: they run on the loop with the store handle they always
 * use, one at a time, exactly as for the CLI. */
#include "mxg/front.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "mxg/audit.h"
#include "mxg/control.h"
#include "mxg/err.h"
#include "mxg/front_ui.h"
#include "mxg/log.h"

#define BODY_CAP ((size_t)1024 * 1024)          /* request bodies: 413 beyond */
#define UPSTREAM_CAP ((size_t)64 * 1024 * 1024) /* pdns's and the control socket's answers */
#define STACK_SIZE (512 * 1024)                 /* per request thread */
#define HEADER_CAP (32 * 1024)                  /* request line and headers */
#define POOL_THREADS 16      /* request threads (a server each); each serves many connections */
#define LISTEN_BACKLOG 4096  /* connections waiting beyond the cap */
#define UPSTREAM_TIMEOUT 60L /* seconds for one request to pdns */
#define CONTROL_TIMEOUT 60   /* seconds for one control op */
#define CONTROL_SLOTS 8      /* control-socket connections at once */
#define UPSTREAM_SLOTS                                                                             \
    32 /* requests to pdns's API at once: each may take a pdns thread and a                        \
          backend connection */
#define API_ZONES "/api/v1/servers/localhost/zones"
#define API_MXG "/api/v1/mxguard/"
#define GUARD_META "X-MXGUARD-"

struct mxg_front {
    struct MHD_Daemon *mhd[POOL_THREADS];
    unsigned n_mhd; /* started */
    const struct mxg_config *cfg;
    atomic_ulong requests, forwarded, refused, upstream_errors, unauthorized, too_large, timeouts;
    sem_t ctl_slots; /* control-socket connections the front may hold at once */
    sem_t upstream_slots;
    /* Idle control-socket connections kept for the next op, and pdns's API connections kept
     * alive across requests (a libcurl share): no new connection per request. */
    pthread_mutex_t ctl_lock;
    int ctl_idle[CONTROL_SLOTS];
    size_t n_idle;
    CURLSH *share;
    CURL *curl_idle[UPSTREAM_SLOTS]; /* easy handles between requests, under ctl_lock */
    size_t n_curl_idle;
    /* The guard's pre-flight check runs here, on the request's thread, with a store handle of
     * the front's own: a burst of PATCHes never holds up the lookup loop. */
    pthread_mutex_t check_lock;
    struct mxg_store *store;
    struct mxg_control ctl;
    atomic_ulong rule_refusals[MXG_RULES_N + 1];
    pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];
    /* The accepting thread: it counts each connection it accepts, libmicrohttpd's notice of a
     * close takes it off, and at api-max-connections it waits, so more wait in the listen queue.
     * load[i]: connections handed to server i and not yet started there, and requests at work
     * on its thread; the thread waits for a server with none. */
    int listen_fd, wake[2];
    pthread_t acceptor;
    pthread_mutex_t conn_lock;
    pthread_cond_t conn_free;
    unsigned open_conns, load[POOL_THREADS], next;
    bool stopping;
};

struct request {
    char *uri;      /* as the client sent it, query included */
    uint64_t start; /* CLOCK_MONOTONIC ms when the request line arrived */
    char *body;
    size_t len, cap;
    bool started, too_big;
};

/* ---- small helpers --------------------------------------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
};

static int buf_add(struct buf *b, const char *data, size_t n, size_t max)
{
    if (b->len + n + 1 > max)
        return MXG_ERANGE;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return MXG_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return MXG_OK;
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A zone id as pdns writes it ("example.com.", '/' as "=2F") back to the name. */
static bool zone_id_decode(const char *id, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)id[i];
        if (c == '=' && i + 2 < n && hexval(id[i + 1]) >= 0 && hexval(id[i + 2]) >= 0) {
            c = hexval(id[i + 1]) * 16 + hexval(id[i + 2]);
            i += 2;
        }
        if (c == 0 || o + 1 >= outlen)
            return false;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return true;
}

/* ---- routing --------------------------------------------------------------------------- */

static bool is_ui_path(const char *path)
{
    return strcmp(path, "/ui/") == 0 || strcmp(path, "/ui") == 0;
}

enum mxg_front_route mxg_front_route(const char *method, const char *path, char *zone,
                                     size_t zonelen)
{
    if (zonelen)
        zone[0] = '\0';
    /* Methods in any case: a "patch" must not slip past the guard to a lenient server. */
    bool get = strcasecmp(method, "GET") == 0, post = strcasecmp(method, "POST") == 0,
         put = strcasecmp(method, "PUT") == 0, del = strcasecmp(method, "DELETE") == 0,
         patch = strcasecmp(method, "PATCH") == 0;
    if (strcmp(path, "/metrics") == 0)
        return get ? MXG_ROUTE_METRICS : MXG_ROUTE_BAD_METHOD;
    if (is_ui_path(path))
        return get || strcasecmp(method, "HEAD") == 0 ? MXG_ROUTE_UI : MXG_ROUTE_BAD_METHOD;
    if (strncmp(path, API_MXG, strlen(API_MXG)) == 0) {
        const char *rest = path + strlen(API_MXG);
        if (strcmp(rest, "check") == 0)
            return post ? MXG_ROUTE_MXG_CHECK : MXG_ROUTE_BAD_METHOD;
        if (strcmp(rest, "scan") == 0)
            return get ? MXG_ROUTE_MXG_SCAN : MXG_ROUTE_BAD_METHOD;
        if (strcmp(rest, "audit") == 0)
            return get ? MXG_ROUTE_MXG_AUDIT : MXG_ROUTE_BAD_METHOD;
        if (strcmp(rest, "audit/verify") == 0)
            return get ? MXG_ROUTE_MXG_VERIFY : MXG_ROUTE_BAD_METHOD;
        static const char zones[] = "zones/", last[] = "/last-decision";
        size_t rl = strlen(rest);
        if (strncmp(rest, zones, strlen(zones)) == 0 && rl > strlen(zones) + strlen(last) &&
            strcmp(rest + rl - strlen(last), last) == 0) {
            const char *id = rest + strlen(zones);
            size_t n = (size_t)(rest + rl - strlen(last) - id);
            if (memchr(id, '/', n) || !zone_id_decode(id, n, zone, zonelen))
                return MXG_ROUTE_NOT_FOUND;
            return get ? MXG_ROUTE_MXG_LAST : MXG_ROUTE_BAD_METHOD;
        }
        return MXG_ROUTE_NOT_FOUND;
    }
    if (strcmp(path, API_ZONES) == 0)
        return post ? MXG_ROUTE_ZONE_CREATE : MXG_ROUTE_FORWARD;
    if (strncmp(path, API_ZONES "/", strlen(API_ZONES) + 1) != 0)
        return MXG_ROUTE_FORWARD;
    const char *id = path + strlen(API_ZONES) + 1;
    const char *slash = strchr(id, '/');
    size_t n = slash ? (size_t)(slash - id) : strlen(id);
    if (!zone_id_decode(id, n, zone, zonelen)) {
        if (zonelen)
            zone[0] = '\0';
        return MXG_ROUTE_FORWARD;
    }
    if (!slash) {
        if (patch)
            return MXG_ROUTE_ZONE_PATCH;
        if (del)
            return MXG_ROUTE_ZONE_DELETE;
        if (put)
            return MXG_ROUTE_ZONE_PUT;
        return MXG_ROUTE_FORWARD;
    }
    if (strcmp(slash, "/metadata") == 0 && post)
        return MXG_ROUTE_META_POST;
    static const char meta[] = "/metadata/";
    if (strncmp(slash, meta, strlen(meta)) == 0 && (put || post || del) &&
        has_prefix_ci(slash + strlen(meta), GUARD_META))
        return MXG_ROUTE_META_GUARD;
    return MXG_ROUTE_FORWARD;
}

bool mxg_front_operator_only(enum mxg_front_route r)
{
    return r == MXG_ROUTE_META_GUARD || r == MXG_ROUTE_MXG_AUDIT || r == MXG_ROUTE_MXG_VERIFY ||
           r == MXG_ROUTE_METRICS || r == MXG_ROUTE_UI;
}

/* ---- keys ------------------------------------------------------------------------------ */

/* Compares the SHA-256 of both: constant time, and the length of the key does not show. */
static bool key_equal(const char *given, const char *key)
{
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    if (!given || !key || !*key)
        return false;
    SHA256((const unsigned char *)given, strlen(given), a);
    SHA256((const unsigned char *)key, strlen(key), b);
    return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

enum mxg_front_auth mxg_front_auth(const char *given, const char *api_key, const char *operator_key)
{
    /* Both comparisons always run. */
    bool op = key_equal(given, operator_key), panel = key_equal(given, api_key);
    if (op)
        return MXG_AUTH_OPERATOR;
    return panel ? MXG_AUTH_PANEL : MXG_AUTH_NONE;
}

/* ---- the 422 body ---------------------------------------------------------------------- */

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *mxg_front_refusal(json_t *verdict, json_t *findings, json_t *fix, json_t *remedies,
                          long long audit_seq)
{
    /* The finding that blocks (else the first) names the rule, the name and what breaks. */
    json_t *f = NULL, *x;
    size_t i;
    json_array_foreach(findings, i, x)
    {
        const char *sev = jstr(x, "severity");
        if (!f || (sev && strcmp(sev, "block") == 0 &&
                   !(jstr(f, "severity") && strcmp(jstr(f, "severity"), "block") == 0)))
            f = x;
    }
    const char *remedy = json_is_string(json_array_get(remedies, 0))
                             ? json_string_value(json_array_get(remedies, 0))
                             : NULL;
    char line[2048];
    int n;
    if (f)
        n = snprintf(line, sizeof(line), "mxguard refused the change: %s at %s: %s",
                     jstr(f, "rule") ? jstr(f, "rule") : "?",
                     jstr(f, "name") ? jstr(f, "name") : "?",
                     jstr(f, "reason") ? jstr(f, "reason") : "mail would break");
    else
        n = snprintf(line, sizeof(line), "mxguard refused the change");
    if (n > 0 && (size_t)n < sizeof(line)) {
        size_t used = (size_t)n;
        if (remedy)
            snprintf(line + used, sizeof(line) - used, "; remedy: %s", remedy);
        else if (json_array_size(fix) > 0)
            snprintf(line + used, sizeof(line) - used,
                     "; remedy: apply the fix in mxguard.fix (what mode=fix would write)");
    }
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    /* Each member a reference of its own: borrowed ones taken, defaults new ("o" steals). */
    json_t *mx = json_pack("{s:o,s:o,s:o,s:o,s:o}", "verdict",
                           verdict ? json_incref(verdict) : json_string("reject"), "findings",
                           findings ? json_incref(findings) : json_array(), "fix",
                           fix ? json_incref(fix) : json_array(), "remedies",
                           json_is_array(remedies) ? json_incref(remedies) : json_array(),
                           "audit_seq", audit_seq > 0 ? json_integer(audit_seq) : json_null());
    if (!mx)
        return NULL;
    return json_pack("{s:s,s:o}", "error", line, "mxguard", mx);
}

/* ---- the control socket ---------------------------------------------------------------- */

/* Sends one op; the reply, or NULL with err set when the daemon could not be reached. Steals
 * req. */
static json_t *ctl_exchange(struct mxg_front *f, char *line, char *err, size_t errlen);

static json_t *ctl_call(struct mxg_front *f, json_t *req, char *err, size_t errlen)
{
    char *line = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!line) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* The ops run one at a time on the loop anyway: a few connections at once keep it busy,
     * more would only take the control socket's max-connections from the CLI. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += CONTROL_TIMEOUT;
    int w;
    while ((w = sem_timedwait(&f->ctl_slots, &until)) != 0 && errno == EINTR)
        ;
    if (w != 0) {
        snprintf(err, errlen, "mxguard's control socket: no free connection within %ds",
                 CONTROL_TIMEOUT);
        free(line);
        return NULL;
    }
    json_t *reply = ctl_exchange(f, line, err, errlen);
    sem_post(&f->ctl_slots);
    return reply;
}

/* One request line and its reply over a new connection to the control socket; frees line. */
/* A control op run in the front itself (check): the same code as the daemon's, on the front's
 * own store handle. Steals req. */
static json_t *local_call(struct mxg_front *f, json_t *req, char *err, size_t errlen)
{
    if (!req) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_lock(&f->check_lock);
    json_t *reply = mxg_control_call(&f->ctl, req);
    mxg_store_end_reads(f->store); /* the next check reads what is committed by then */
    pthread_mutex_unlock(&f->check_lock);
    json_decref(req);
    if (!reply)
        snprintf(err, errlen, "out of memory");
    return reply;
}

/* An idle pooled connection that the daemon has not closed meanwhile, or -1. */
static int ctl_take(struct mxg_front *f)
{
    int fd = -1;
    pthread_mutex_lock(&f->ctl_lock);
    while (fd < 0 && f->n_idle) {
        fd = f->ctl_idle[--f->n_idle];
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 0) != 0) { /* readable here means closed (or garbage): not reused */
            close(fd);
            fd = -1;
        }
    }
    pthread_mutex_unlock(&f->ctl_lock);
    return fd;
}

static void ctl_give_back(struct mxg_front *f, int fd)
{
    pthread_mutex_lock(&f->ctl_lock);
    if (f->n_idle < CONTROL_SLOTS)
        f->ctl_idle[f->n_idle++] = fd;
    else
        close(fd);
    pthread_mutex_unlock(&f->ctl_lock);
}

static int ctl_connect(struct mxg_front *f, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->cfg->control_socket);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = CONTROL_TIMEOUT};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        snprintf(err, errlen, "mxguard's control socket %s: %s", f->cfg->control_socket,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static json_t *ctl_exchange(struct mxg_front *f, char *line, char *err, size_t errlen)
{
    int fd = ctl_take(f);
    if (fd < 0)
        fd = ctl_connect(f, err, errlen);
    if (fd < 0) {
        free(line);
        return NULL;
    }
    size_t len = strlen(line), off = 0;
    bool ok = true;
    while (ok && off < len) {
        ssize_t w = send(fd, line + off, len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        off += ok ? (size_t)w : 0;
    }
    ok = ok && send(fd, "\n", 1, MSG_NOSIGNAL) == 1;
    free(line);
    struct buf b = {0};
    char chunk[8192];
    while (ok && !(b.len && b.p[b.len - 1] == '\n')) {
        ssize_t r = recv(fd, chunk, sizeof(chunk), 0);
        if (r < 0 && errno == EINTR)
            continue;
        ok = r > 0 && buf_add(&b, chunk, (size_t)r, UPSTREAM_CAP) == MXG_OK;
    }
    if (ok)
        ctl_give_back(f, fd); /* one reply per request line: the connection is clean again */
    else
        close(fd);
    json_t *reply = ok ? json_loadb(b.p, b.len, 0, NULL) : NULL;
    free(b.p);
    if (!reply)
        snprintf(err, errlen, "no answer from mxguard's control socket");
    return reply;
}

/* The message of a control error reply. */
static const char *ctl_error(json_t *reply, const char **code)
{
    json_t *e = json_object_get(reply, "error");
    *code = jstr(e, "code") ? jstr(e, "code") : "";
    return jstr(e, "message") ? jstr(e, "message") : "mxguard error";
}

static bool ctl_ok(json_t *reply)
{
    return json_is_true(json_object_get(reply, "ok"));
}

/* ---- answers --------------------------------------------------------------------------- */

static enum MHD_Result answer(struct MHD_Connection *con, unsigned status, const char *ctype,
                              const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    if (ctype && *ctype)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    enum MHD_Result rc = MHD_queue_response(con, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Answers obj as JSON (steals it). */
static enum MHD_Result answer_json(struct MHD_Connection *con, unsigned status, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!text)
        return answer(con, 500, "application/json", "{\"error\":\"out of memory\"}", 25);
    enum MHD_Result rc = answer(con, status, "application/json", text, strlen(text));
    free(text);
    return rc;
}

static enum MHD_Result answer_error(struct MHD_Connection *con, unsigned status, const char *msg)
{
    return answer_json(con, status, json_pack("{s:s}", "error", msg));
}

/* A control error reply as pdns would answer it. */
static enum MHD_Result answer_ctl_error(struct MHD_Connection *con, json_t *reply)
{
    const char *code, *msg = ctl_error(reply, &code);
    unsigned status = strcmp(code, "not-found") == 0         ? 404
                      : strcmp(code, "invalid-request") == 0 ? 422
                      : strcmp(code, "refused") == 0         ? 422
                      : strcmp(code, "exists") == 0          ? 409
                                                             : 500;
    return answer_error(con, status, msg);
}

/* A successful control reply without its "ok". Steals reply. */
static enum MHD_Result answer_ctl(struct MHD_Connection *con, json_t *reply)
{
    if (!ctl_ok(reply)) {
        enum MHD_Result rc = answer_ctl_error(con, reply);
        json_decref(reply);
        return rc;
    }
    json_object_del(reply, "ok");
    return answer_json(con, 200, reply);
}

/* ---- forwarding ------------------------------------------------------------------------ */

struct upstream {
    long status;
    char ctype[128];
    struct buf body;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct upstream *u = ctx;
    return buf_add(&u->body, data, size * nmemb, UPSTREAM_CAP) == MXG_OK ? size * nmemb : 0;
}

/* Sends method uri (path and query) with body to pdns's API. Returns 0, or MXG_EIO with the
 * reason in err (pdns unreachable). */
static int forward_one(struct mxg_front *f, const char *method, const char *uri, const char *ctype,
                       const char *accept, const char *body, size_t len, struct upstream *u,
                       char *err, size_t errlen);

/* One request to pdns's API, waiting for one of UPSTREAM_SLOTS: a burst of panel requests
 * queues here instead of opening more pdns threads and backend connections than either has. */
static int forward(struct mxg_front *f, const char *method, const char *uri, const char *ctype,
                   const char *accept, const char *body, size_t len, struct upstream *u, char *err,
                   size_t errlen)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += UPSTREAM_TIMEOUT;
    int w;
    memset(u, 0, sizeof(*u));
    while ((w = sem_timedwait(&f->upstream_slots, &until)) != 0 && errno == EINTR)
        ;
    if (w != 0) {
        snprintf(err, errlen, "pdns API: no free connection within %lds", UPSTREAM_TIMEOUT);
        return MXG_EIO;
    }
    int rc = forward_one(f, method, uri, ctype, accept, body, len, u, err, errlen);
    sem_post(&f->upstream_slots);
    return rc;
}

/* An easy handle kept from an earlier request, options reset, or a new one. */
static CURL *curl_take(struct mxg_front *f)
{
    CURL *c = NULL;
    pthread_mutex_lock(&f->ctl_lock);
    if (f->n_curl_idle)
        c = f->curl_idle[--f->n_curl_idle];
    pthread_mutex_unlock(&f->ctl_lock);
    return c ? c : curl_easy_init();
}

/* At most UPSTREAM_SLOTS requests use a handle at once, so every handle finds a place. */
static void curl_give(struct mxg_front *f, CURL *c)
{
    curl_easy_reset(c);
    pthread_mutex_lock(&f->ctl_lock);
    if (f->n_curl_idle < UPSTREAM_SLOTS) {
        f->curl_idle[f->n_curl_idle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&f->ctl_lock);
    if (c)
        curl_easy_cleanup(c);
}

static int forward_one(struct mxg_front *f, const char *method, const char *uri, const char *ctype,
                       const char *accept, const char *body, size_t len, struct upstream *u,
                       char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    CURL *c = curl_take(f);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return MXG_ENOMEM;
    }
    const char *base = f->cfg->pdns_api_url ? f->cfg->pdns_api_url : "http://127.0.0.1:8081";
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    char *url = malloc(bl + strlen(uri) + 1);
    struct curl_slist *h = NULL;
    char hdr[1024];
    int rc = MXG_EIO;
    if (!url) {
        snprintf(err, errlen, "out of memory");
        curl_give(f, c);
        return MXG_ENOMEM;
    }
    snprintf(url, bl + strlen(uri) + 1, "%.*s%s", (int)bl, base, uri);
    if (f->cfg->pdns_api_key) {
        snprintf(hdr, sizeof(hdr), "X-API-Key: %s", f->cfg->pdns_api_key);
        h = curl_slist_append(h, hdr);
    }
    if (ctype) {
        snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype);
        h = curl_slist_append(h, hdr);
    }
    h = curl_slist_append(h, "Expect:");
    snprintf(hdr, sizeof(hdr), "Accept: %s", accept ? accept : "application/json");
    h = curl_slist_append(h, hdr);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, UPSTREAM_TIMEOUT);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, u);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (f->share)
        curl_easy_setopt(c, CURLOPT_SHARE, f->share);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (len || strcmp(method, "DELETE") != 0) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        }
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_OK) {
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &u->status);
        if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
            snprintf(u->ctype, sizeof(u->ctype), "%s", ct);
        rc = MXG_OK;
    } else {
        snprintf(err, errlen, "pdns API at %.*s unreachable: %s", (int)bl, base,
                 curl_easy_strerror(cc));
        free(u->body.p);
        memset(&u->body, 0, sizeof(u->body));
    }
    curl_slist_free_all(h);
    curl_give(f, c);
    free(url);
    return rc;
}

static enum MHD_Result answer_upstream(struct MHD_Connection *con, struct upstream *u)
{
    enum MHD_Result rc =
        answer(con, (unsigned)u->status, u->ctype, u->body.p ? u->body.p : "", u->body.len);
    free(u->body.p);
    u->body.p = NULL;
    return rc;
}

static enum MHD_Result forward_answer(struct mxg_front *f, struct MHD_Connection *con,
                                      const char *method, struct request *rq)
{
    struct upstream u;
    char err[512];
    const char *ctype = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");
    const char *accept = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Accept");
    atomic_fetch_add(&f->forwarded, 1);
    if (forward(f, method, rq->uri, ctype, accept, rq->body, rq->len, &u, err, sizeof(err)) !=
        MXG_OK) {
        atomic_fetch_add(&f->upstream_errors, 1);
        mxg_warn("api front: %s", err);
        return answer_error(con, 502, err);
    }
    return answer_upstream(con, &u);
}

/* ---- the routes mxguard owns ----------------------------------------------------------- */

/* A body read as pdns reads it: a member given twice counts with its last value (pdns's JSON
 * parser keeps the last), so what mxguard judges is what pdns will do. */
#define BODY_FLAGS (JSON_ALLOW_NUL | JSON_DECODE_ANY)

static json_t *parse_body(struct request *rq)
{
    return rq->len ? json_loadb(rq->body, rq->len, BODY_FLAGS, NULL) : NULL;
}

/* The 422 body from an audit record (last-decision's "record"). */
static json_t *refusal_from_record(json_t *rec)
{
    json_t *remedies = json_array();
    if (jstr(rec, "remedy"))
        json_array_append(remedies, json_object_get(rec, "remedy"));
    else if (json_is_array(json_object_get(rec, "remedies")))
        json_array_extend(remedies, json_object_get(rec, "remedies"));
    json_t *seq = json_object_get(rec, "seq");
    json_t *body =
        mxg_front_refusal(json_object_get(rec, "verdict"), json_object_get(rec, "findings"),
                          json_object_get(rec, "fix"), remedies,
                          json_is_integer(seq) ? (long long)json_integer_value(seq) : 0);
    json_decref(remedies);
    return body;
}

enum patch_outcome { PATCH_FORWARDED, PATCH_REFUSED, PATCH_FAILED };

/* A refusal of the pre-flight check, once for each rule among its findings (/metrics). */
static void count_refusal(struct mxg_front *f, json_t *findings)
{
    bool seen[MXG_RULES_N + 1] = {false};
    size_t i;
    json_t *x;
    json_array_foreach(findings, i, x)
    {
        size_t r = mxg_rule_index(jstr(x, "rule"));
        if (!seen[r]) {
            seen[r] = true;
            atomic_fetch_add(&f->rule_refusals[r], 1);
        }
    }
}

/* A PATCH of zone through the guard: refused (*refusal: the 422 body), or forwarded (u: pdns's
 * answer; a 500 that the commit's audit record shows was a refusal becomes PATCH_REFUSED), or
 * failed (err: pdns or the daemon unreachable). */
static enum patch_outcome patch_guarded(struct mxg_front *f, const char *zone, const char *uri,
                                        const char *ctype, const char *text, size_t len,
                                        struct upstream *u, json_t **refusal, char *err,
                                        size_t errlen)
{
    char since[32];
    *refusal = NULL;
    memset(u, 0, sizeof(*u));
    json_t *patch = len ? json_loadb(text, len, BODY_FLAGS, NULL) : NULL;
    if (json_is_object(patch)) {
        json_t *reply = local_call(f,
                                   json_pack("{s:s,s:s,s:O,s:s}", "op", "check", "zone", zone,
                                             "patch", patch, "record", "http"),
                                   err, errlen);
        json_decref(patch);
        if (!reply)
            return PATCH_FAILED;
        const char *verdict = ctl_ok(reply) ? jstr(reply, "verdict") : NULL;
        if (verdict && strcmp(verdict, "reject") == 0) {
            json_t *seq = json_object_get(reply, "audit_seq");
            *refusal = mxg_front_refusal(
                json_object_get(reply, "verdict"), json_object_get(reply, "findings"),
                json_object_get(reply, "fix"), json_object_get(reply, "remedies"),
                json_is_integer(seq) ? (long long)json_integer_value(seq) : 0);
            count_refusal(f, json_object_get(reply, "findings"));
            json_decref(reply);
            atomic_fetch_add(&f->refused, 1);
            return PATCH_REFUSED;
        }
        /* Allowed, or not something the guard can read (pdns gives its own error). */
        json_decref(reply);
    } else {
        json_decref(patch);
    }
    mxg_audit_now(since);
    atomic_fetch_add(&f->forwarded, 1);
    if (forward(f, "PATCH", uri, ctype, NULL, text, len, u, err, errlen) != MXG_OK) {
        atomic_fetch_add(&f->upstream_errors, 1);
        return PATCH_FAILED;
    }
    if (u->status != 500)
        return PATCH_FORWARDED;
    /* pdns answers 500 when the backend refuses the commit (a change in between): the 422 of
     * that commit's audit record. */
    json_t *reply =
        ctl_call(f, json_pack("{s:s,s:s,s:s}", "op", "last-decision", "zone", zone, "since", since),
                 err, errlen);
    json_t *rec = ctl_ok(reply) ? json_object_get(reply, "record") : NULL;
    const char *verdict = jstr(rec, "verdict");
    if (verdict && strcmp(verdict, "reject") == 0) {
        *refusal = refusal_from_record(rec);
        free(u->body.p);
        memset(&u->body, 0, sizeof(u->body));
        atomic_fetch_add(&f->refused, 1);
    }
    json_decref(reply);
    return *refusal ? PATCH_REFUSED : PATCH_FORWARDED;
}

static enum MHD_Result zone_patch(struct mxg_front *f, struct MHD_Connection *con,
                                  struct request *rq, const char *zone)
{
    char err[512];
    struct upstream u;
    json_t *refusal;
    const char *ctype = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");
    switch (
        patch_guarded(f, zone, rq->uri, ctype, rq->body, rq->len, &u, &refusal, err, sizeof(err))) {
    case PATCH_FORWARDED:
        return answer_upstream(con, &u);
    case PATCH_REFUSED:
        return answer_json(con, 422, refusal);
    case PATCH_FAILED:
        break;
    }
    mxg_warn("api front: %s", err);
    return answer_error(con, 502, err);
}

/* The zone's name with the trailing dot, as pdns's zone id. */
static void zone_id(const char *zone, char *out, size_t outlen)
{
    size_t n = strlen(zone);
    snprintf(out, outlen, "%s%s", zone, n && zone[n - 1] == '.' ? "" : ".");
}

/* pdns's zone kind as mxguard's control ops name it; NULL when mxguard has no such kind. */
static const char *kind_word(const char *kind)
{
    if (!kind)
        return NULL;
    if (strcasecmp(kind, "Native") == 0)
        return "native";
    if (strcasecmp(kind, "Master") == 0 || strcasecmp(kind, "Primary") == 0)
        return "master";
    if (strcasecmp(kind, "Slave") == 0 || strcasecmp(kind, "Secondary") == 0)
        return "slave";
    return NULL;
}

/* Checks a POST /zones body as pdns does, in pdns's order; name receives the zone's name when
 * it is well-formed ("" else), why the 422 text. */
static bool create_valid(json_t *body, char *name, size_t namelen, char *why, size_t whylen)
{
    const char *n = jstr(body, "name");
    name[0] = '\0';
    if (!n) {
        snprintf(why, whylen, "Key 'name' not present or not a String");
        return false;
    }
    size_t len = strlen(n);
    if (len == 0 || n[len - 1] != '.' || len >= namelen) {
        snprintf(why, whylen, "DNS Name '%.1000s' is not canonical", n);
        return false;
    }
    memcpy(name, n, len + 1);
    if (!jstr(body, "kind")) {
        snprintf(why, whylen, "Key 'kind' not present or not a String");
        return false;
    }
    const char *kw = kind_word(jstr(body, "kind"));
    json_t *ns = json_object_get(body, "nameservers"), *x;
    bool slave = kw && strcmp(kw, "slave") == 0;
    if (ns && !json_is_null(ns) && !json_is_array(ns) && !slave) {
        snprintf(why, whylen, "Nameservers is not a list");
        return false;
    }
    size_t i;
    json_array_foreach(ns, i, x)
    {
        const char *v = json_is_string(x) ? json_string_value(x) : "";
        size_t vl = strlen(v);
        if (!vl) {
            snprintf(why, whylen, "Nameservers must be non-empty strings");
            return false;
        }
        if (v[vl - 1] != '.') {
            snprintf(why, whylen, "Nameserver is not canonical: '%.1000s'", v);
            return false;
        }
    }
    const char *text = jstr(body, "zone");
    if (text && *text) {
        snprintf(why, whylen, "mxguard does not take zone data as text: give rrsets");
        return false;
    }
    return true;
}

/* True when pdns knows zone (name with the trailing dot). */
static bool zone_known(struct mxg_front *f, const char *name)
{
    char uri[1200], err[512];
    struct upstream u;
    snprintf(uri, sizeof(uri), API_ZONES "/%s", name);
    if (forward(f, "GET", uri, NULL, NULL, NULL, 0, &u, err, sizeof(err)) != MXG_OK)
        return false;
    free(u.body.p);
    return u.status == 200;
}

static enum MHD_Result zone_create(struct mxg_front *f, struct MHD_Connection *con,
                                   struct request *rq)
{
    if (rq->len && !rq->body[0])
        return answer_error(con, 400, "the body is not JSON");
    json_t *body = parse_body(rq);
    if (!body)
        return answer_error(con, 400, "Bad Request");
    char name[1024], why[1200];
    if (!create_valid(body, name, sizeof(name), why, sizeof(why))) {
        /* pdns looks for an existing zone right after reading the name: 409 comes first. */
        enum MHD_Result rc = name[0] && zone_known(f, name) ? answer_error(con, 409, "Conflict")
                                                            : answer_error(con, 422, why);
        json_decref(body);
        return rc;
    }
    const char *kindl = kind_word(jstr(body, "kind"));
    if (!kindl) /* pdns makes any other kind Native */
        kindl = "native";
    json_t *req = json_pack("{s:s,s:s,s:s,s:s}", "op", "zone.add", "zone", name, "kind", kindl,
                            "source", "http");
    json_t *sea = json_object_get(body, "soa_edit_api"), *serial = json_object_get(body, "serial");
    if (req && json_is_string(sea))
        json_object_set(req, "soa_edit_api", sea);
    if (req && json_is_integer(serial))
        json_object_set(req, "serial", serial);
    if (req)
        json_object_set_new(req, "pdns_form", json_true());
    json_t *ns = json_object_get(body, "nameservers"), *masters = json_object_get(body, "masters");
    if (req && json_array_size(ns) > 0)
        json_object_set(req, "ns", ns);
    if (req && json_array_size(masters) > 0)
        json_object_set(req, "primaries", masters);
    /* rrsets: after the zone exists, one guarded PATCH that REPLACEs each of them. */
    json_t *rrsets = json_object_get(body, "rrsets");
    char *patch = NULL;
    if (json_array_size(rrsets) > 0) {
        json_t *list = json_array(), *x;
        size_t i;
        json_array_foreach(rrsets, i, x)
        {
            json_t *c = json_is_object(x) ? json_deep_copy(x) : NULL;
            if (!c)
                continue;
            json_object_del(c, "comments");
            json_object_set_new(c, "changetype", json_string("REPLACE"));
            json_array_append_new(list, c);
        }
        json_t *p = json_pack("{s:o}", "rrsets", list);
        patch = p ? json_dumps(p, JSON_COMPACT) : NULL;
        json_decref(p);
        if (!patch) {
            json_decref(req);
            json_decref(body);
            return answer_error(con, 500, "out of memory");
        }
    }
    json_decref(body);
    char err[512];
    json_t *reply = ctl_call(f, req, err, sizeof(err));
    if (!reply) {
        free(patch);
        return answer_error(con, 502, err);
    }
    if (!ctl_ok(reply)) {
        enum MHD_Result rc = answer_ctl_error(con, reply);
        json_decref(reply);
        free(patch);
        return rc;
    }
    json_decref(reply);
    /* pdns learns of the zone by `rediscover`, which the daemon runs without waiting: ask until
     * pdns knows it. */
    char id[1100], uri[1200];
    zone_id(name, id, sizeof(id));
    snprintf(uri, sizeof(uri), API_ZONES "/%s", id);
    struct upstream u;
    for (int tries = 0;; tries++) {
        if (forward(f, "GET", uri, NULL, NULL, NULL, 0, &u, err, sizeof(err)) != MXG_OK) {
            /* pdns's API is away: the zone is not left behind without pdns having seen it. */
            free(patch);
            json_decref(ctl_call(
                f, json_pack("{s:s,s:s,s:s}", "op", "zone.delete", "zone", name, "source", "http"),
                err + 256, sizeof(err) - 256));
            atomic_fetch_add(&f->upstream_errors, 1);
            return answer_error(con, 502, err);
        }
        if ((u.status != 404 && u.status != 422) || tries >= 50)
            break;
        free(u.body.p);
        struct timespec ts = {.tv_nsec = 100000000L};
        nanosleep(&ts, NULL);
    }
    if (patch && u.status == 200) {
        free(u.body.p);
        json_t *refusal = NULL;
        enum patch_outcome po = patch_guarded(f, name, uri, "application/json", patch,
                                              strlen(patch), &u, &refusal, err, sizeof(err));
        free(patch);
        if (po != PATCH_FORWARDED || u.status / 100 != 2) {
            /* The zone is created with its rrsets or not at all: remove it again. */
            json_decref(ctl_call(
                f, json_pack("{s:s,s:s,s:s}", "op", "zone.delete", "zone", name, "source", "http"),
                err + 256, sizeof(err) - 256));
            if (po == PATCH_REFUSED)
                return answer_json(con, 422, refusal);
            if (po == PATCH_FAILED)
                return answer_error(con, 502, err);
            return answer_upstream(con, &u);
        }
        free(u.body.p);
        if (forward(f, "GET", uri, NULL, NULL, NULL, 0, &u, err, sizeof(err)) != MXG_OK)
            return answer_error(con, 502, err);
    } else {
        free(patch);
    }
    if (u.status == 200)
        u.status = 201;
    return answer_upstream(con, &u);
}

static enum MHD_Result zone_delete(struct mxg_front *f, struct MHD_Connection *con,
                                   const char *zone)
{
    char err[512];
    json_t *reply =
        ctl_call(f, json_pack("{s:s,s:s,s:s}", "op", "zone.delete", "zone", zone, "source", "http"),
                 err, sizeof(err));
    if (!reply)
        return answer_error(con, 502, err);
    if (!ctl_ok(reply)) {
        const char *code;
        ctl_error(reply, &code);
        enum MHD_Result rc;
        if (strcmp(code, "not-found") == 0) {
            char msg[1200], id[1100];
            zone_id(zone, id, sizeof(id));
            snprintf(msg, sizeof(msg), "Could not find domain '%s'", id);
            rc = answer_error(con, 404, msg);
        } else {
            rc = answer_ctl_error(con, reply);
        }
        json_decref(reply);
        return rc;
    }
    json_decref(reply);
    return answer(con, 204, NULL, "", 0);
}

/* PUT /zones/{id}: pdns applies through a remote backend what it can (soa_edit_api, api_rectify,
 * dnssec, ...) and ignores kind and masters (reference §5.3): mxguard sets those itself, audited
 * (zone.set), then forwards the body. Making a zone a secondary, or naming its primaries, hands
 * its content to another server whose transfers are only warned about: operator key only. */
static enum MHD_Result zone_put(struct mxg_front *f, struct MHD_Connection *con, struct request *rq,
                                enum mxg_front_auth auth, const char *zone)
{
    json_t *body = parse_body(rq);
    json_t *kind = json_object_get(body, "kind"), *masters = json_object_get(body, "masters");
    const char *kw = json_is_string(kind) ? kind_word(json_string_value(kind)) : NULL;
    bool masters_ok = json_is_array(masters);
    size_t i;
    json_t *x;
    json_array_foreach(masters, i, x) masters_ok = masters_ok && json_is_string(x);
    /* Not for mxguard (or not well-formed: pdns gives its own error). */
    if (!json_is_object(body) || (!kind && !masters) || (kind && !kw) || (masters && !masters_ok)) {
        json_decref(body);
        return forward_answer(f, con, "PUT", rq);
    }
    if (auth != MXG_AUTH_OPERATOR && ((kw && strcmp(kw, "slave") == 0) || masters)) {
        json_decref(body);
        atomic_fetch_add(&f->unauthorized, 1);
        return answer_error(con, 403,
                            "making a zone a secondary, or setting its masters, needs "
                            "the operator key");
    }
    json_t *req = json_pack("{s:s,s:s,s:s}", "op", "zone.set", "zone", zone, "source", "http");
    if (req && kw)
        json_object_set_new(req, "kind", json_string(kw));
    if (req && masters)
        json_object_set(req, "primaries", masters);
    json_decref(body);
    char err[512];
    json_t *reply = ctl_call(f, req, err, sizeof(err));
    if (!reply)
        return answer_error(con, 502, err);
    if (!ctl_ok(reply)) {
        const char *code;
        const char *msg = ctl_error(reply, &code);
        enum MHD_Result rc;
        if (strcmp(code, "not-found") == 0) {
            char m[1200], id[1100];
            zone_id(zone, id, sizeof(id));
            snprintf(m, sizeof(m), "Could not find domain '%s'", id);
            rc = answer_error(con, 404, m);
        } else {
            rc = answer_error(con, 422, msg);
        }
        json_decref(reply);
        return rc;
    }
    json_decref(reply);
    return forward_answer(f, con, "PUT", rq);
}

/* ---- /api/v1/mxguard/ and /metrics ------------------------------------------------------- */

static void arg_str(struct MHD_Connection *con, json_t *req, const char *key)
{
    const char *v = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, key);
    if (v)
        json_object_set_new(req, key, json_string(v));
}

/* A numeric query argument; false when present and not a number. */
static bool arg_int(struct MHD_Connection *con, json_t *req, const char *key)
{
    const char *v = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, key);
    if (!v)
        return true;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno || n < 0)
        return false;
    json_object_set_new(req, key, json_integer(n));
    return true;
}

static enum MHD_Result mxg_endpoint(struct mxg_front *f, struct MHD_Connection *con,
                                    struct request *rq, enum mxg_front_route r, const char *zone)
{
    json_t *req = NULL;
    char err[512];
    switch (r) {
    case MXG_ROUTE_MXG_CHECK: {
        const char *z = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "zone");
        json_t *patch = parse_body(rq);
        if (!z || !json_is_object(patch)) {
            json_decref(patch);
            return answer_error(con, 422, "POST a PATCH body, with ?zone=NAME");
        }
        json_t *reply =
            local_call(f, json_pack("{s:s,s:s,s:o}", "op", "check", "zone", z, "patch", patch), err,
                       sizeof(err));
        return reply ? answer_ctl(con, reply) : answer_error(con, 500, err);
    }
    case MXG_ROUTE_MXG_SCAN:
        req = json_pack("{s:s}", "op", "scan");
        break;
    case MXG_ROUTE_MXG_AUDIT:
        req = json_pack("{s:s}", "op", "audit.show");
        if (!req)
            break;
        arg_str(con, req, "zone");
        arg_str(con, req, "verdict");
        arg_str(con, req, "since");
        arg_str(con, req, "until");
        if (!arg_int(con, req, "after") || !arg_int(con, req, "limit")) {
            json_decref(req);
            return answer_error(con, 422, "'after' and 'limit' must be numbers");
        }
        break;
    case MXG_ROUTE_MXG_VERIFY:
        req = json_pack("{s:s}", "op", "audit.verify");
        if (req)
            arg_str(con, req, "expect_head");
        break;
    case MXG_ROUTE_MXG_LAST:
        req = json_pack("{s:s,s:s}", "op", "last-decision", "zone", zone);
        break;
    default:
        return answer_error(con, 404, "Not Found");
    }
    json_t *reply = ctl_call(f, req, err, sizeof(err));
    if (!reply)
        return answer_error(con, 502, err);
    return answer_ctl(con, reply);
}

static void metric(struct buf *b, const char *name, const char *type, const char *help,
                   unsigned long long v)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name,
                     type, name, v);
    if (n > 0 && (size_t)n < sizeof(line))
        buf_add(b, line, (size_t)n, UPSTREAM_CAP);
}

static unsigned long long num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) && json_integer_value(v) > 0
               ? (unsigned long long)json_integer_value(v)
               : 0;
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof(line))
        buf_add(b, line, (size_t)n, UPSTREAM_CAP);
}

/* The front's own refusals (its pre-flight check runs in the front) join the daemon's
 * decisions by rule. */
static void add_front_refusals(struct mxg_front *f, json_t *s)
{
    json_t *rv = json_object_get(s, "rule_verdicts");
    if (!json_is_object(rv)) {
        rv = json_object();
        if (!rv || json_object_set_new(s, "rule_verdicts", rv) != 0)
            return;
    }
    for (size_t r = 0; r <= MXG_RULES_N; r++) {
        unsigned long n = atomic_load(&f->rule_refusals[r]);
        if (!n)
            continue;
        json_t *v = json_object_get(rv, mxg_rule_name(r));
        if (!json_is_object(v)) {
            v = json_object();
            if (!v || json_object_set_new(rv, mxg_rule_name(r), v) != 0)
                continue;
        }
        json_t *old = json_object_get(v, "reject");
        json_int_t was = json_is_integer(old) ? json_integer_value(old) : 0;
        json_object_set_new(v, "reject", json_integer(was + (json_int_t)n));
    }
}

/* The commit latency histogram and the decisions by rule, from the stats op. */
static void metrics_decisions(struct buf *b, json_t *s)
{
    json_t *h = json_object_get(s, "commit_seconds"), *x;
    size_t i;
    buf_printf(b, "# HELP mxguard_commit_duration_seconds Time from commitTransaction to the "
                  "reply, the guard included.\n# TYPE mxguard_commit_duration_seconds histogram\n");
    json_array_foreach(json_object_get(h, "buckets"), i, x)
    {
        json_t *le = json_array_get(x, 0), *n = json_array_get(x, 1);
        if (json_is_number(le) && json_is_integer(n))
            buf_printf(b, "mxguard_commit_duration_seconds_bucket{le=\"%g\"} %lld\n",
                       json_number_value(le), (long long)json_integer_value(n));
    }
    buf_printf(b, "mxguard_commit_duration_seconds_bucket{le=\"+Inf\"} %llu\n", num(h, "count"));
    json_t *sum = json_object_get(h, "sum");
    buf_printf(b, "mxguard_commit_duration_seconds_sum %.9f\n",
               json_is_number(sum) ? json_number_value(sum) : 0.0);
    buf_printf(b, "mxguard_commit_duration_seconds_count %llu\n", num(h, "count"));
    buf_printf(b, "# HELP mxguard_rule_verdicts_total Decisions by rule found and verdict (the "
                  "front's refusals included).\n# TYPE mxguard_rule_verdicts_total counter\n");
    const char *rule;
    json_t *verdicts;
    json_object_foreach(json_object_get(s, "rule_verdicts"), rule, verdicts)
    {
        const char *verdict;
        json_t *n;
        json_object_foreach(verdicts, verdict, n)
        {
            if (json_is_integer(n) && strspn(rule, "abcdefghijklmnopqrstuvwxyz-") == strlen(rule))
                buf_printf(b, "mxguard_rule_verdicts_total{rule=\"%s\",verdict=\"%s\"} %lld\n",
                           rule, verdict, (long long)json_integer_value(n));
        }
    }
}

/* Connections: pdns's to the backend socket, and the front's own. */
static void metrics_connections(struct buf *b, struct mxg_front *f, json_t *s)
{
    json_t *c = json_object_get(s, "connections");
    metric(b, "mxguard_backend_connections", "gauge", "Open connections from pdns.",
           num(c, "open"));
    metric(b, "mxguard_backend_connections_accepted_total", "counter",
           "Connections from pdns accepted.", num(c, "accepted"));
    metric(b, "mxguard_backend_connections_refused_total", "counter",
           "Connections from pdns closed at max-connections.", num(c, "refused"));
    pthread_mutex_lock(&f->conn_lock);
    unsigned open = f->open_conns;
    pthread_mutex_unlock(&f->conn_lock);
    metric(b, "mxguard_api_connections", "gauge", "Open connections to the HTTP API front.", open);
}

static enum MHD_Result metrics(struct mxg_front *f, struct MHD_Connection *con)
{
    char err[512];
    json_t *s = ctl_call(f, json_pack("{s:s}", "op", "stats"), err, sizeof(err));
    if (!s)
        return answer_error(con, 502, err);
    if (!ctl_ok(s)) {
        enum MHD_Result rc = answer_ctl_error(con, s);
        json_decref(s);
        return rc;
    }
    struct buf b = {0};
    metric(&b, "mxguard_uptime_seconds", "gauge", "Seconds since the daemon started.",
           num(s, "uptime"));
    metric(&b, "mxguard_backend_requests_total", "counter",
           "Requests pdns sent to the remote backend.", num(s, "requests"));
    metric(&b, "mxguard_lookups_total", "counter", "Lookups answered.", num(s, "lookups"));
    metric(&b, "mxguard_cache_hits_total", "counter", "Lookups answered from the reply cache.",
           num(s, "cache_hits"));
    metric(&b, "mxguard_backend_errors_total", "counter", "Backend requests that failed.",
           num(s, "errors"));
    metric(&b, "mxguard_commits_total", "counter", "Write transactions that reached commit.",
           num(s, "commits"));
    static const char *const verdicts[] = {"allowed", "warned", "rejected", "fixed"};
    static const char *const vnames[] = {"allow", "warn", "reject", "fix"};
    buf_add(&b,
            "# HELP mxguard_verdicts_total Commits by the guard's verdict.\n"
            "# TYPE mxguard_verdicts_total counter\n",
            strlen("# HELP mxguard_verdicts_total Commits by the guard's verdict.\n"
                   "# TYPE mxguard_verdicts_total counter\n"),
            UPSTREAM_CAP);
    for (size_t i = 0; i < 4; i++) {
        char line[128];
        int n = snprintf(line, sizeof(line), "mxguard_verdicts_total{verdict=\"%s\"} %llu\n",
                         vnames[i], num(s, verdicts[i]));
        if (n > 0 && (size_t)n < sizeof(line))
            buf_add(&b, line, (size_t)n, UPSTREAM_CAP);
    }
    json_t *x = json_object_get(s, "external");
    metric(&b, "mxguard_external_changes_total", "counter",
           "Out-of-band writes to the store, audited (source external).", num(x, "records"));
    metric(&b, "mxguard_external_moves_total", "counter", "Out-of-band writes that moved mail.",
           num(x, "moves"));
    metric(&b, "mxguard_external_fixed_total", "counter",
           "Out-of-band writes that moved mail, repaired in fix mode.", num(x, "fixed"));
    add_front_refusals(f, s);
    metrics_decisions(&b, s);
    metrics_connections(&b, f, s);
    metric(&b, "mxguard_api_requests_total", "counter", "Requests to the HTTP API front.",
           atomic_load(&f->requests));
    metric(&b, "mxguard_api_forwarded_total", "counter", "Requests forwarded to pdns's API.",
           atomic_load(&f->forwarded));
    metric(&b, "mxguard_api_refused_total", "counter", "PATCHes refused with 422.",
           atomic_load(&f->refused));
    metric(&b, "mxguard_api_upstream_errors_total", "counter",
           "Forwards that failed: pdns's API unreachable.", atomic_load(&f->upstream_errors));
    metric(&b, "mxguard_api_unauthorized_total", "counter", "Requests answered 401 or 403.",
           atomic_load(&f->unauthorized));
    metric(&b, "mxguard_api_too_large_total", "counter", "Requests answered 413.",
           atomic_load(&f->too_large));
    metric(&b, "mxguard_api_timeouts_total", "counter",
           "Requests cut because their body took longer than api-timeout.",
           atomic_load(&f->timeouts));
    json_decref(s);
    enum MHD_Result rc =
        answer(con, 200, "text/plain; version=0.0.4; charset=utf-8", b.p ? b.p : "", b.len);
    free(b.p);
    return rc;
}

/* ---- the request handler --------------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
    (void)cls;
    (void)con;
    struct request *rq = calloc(1, sizeof(*rq));
    if (rq)
        rq->start = now_ms();
    if (rq)
        rq->uri = strdup(uri ? uri : "/");
    if (rq && !rq->uri) {
        free(rq);
        rq = NULL;
    }
    return rq;
}

static void on_done(void *cls, struct MHD_Connection *con, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)con;
    (void)toe;
    struct request *rq = *con_cls;
    if (rq) {
        free(rq->uri);
        free(rq->body);
        free(rq);
    }
    *con_cls = NULL;
}

static enum MHD_Result meta_post(struct mxg_front *f, struct MHD_Connection *con,
                                 struct request *rq, enum mxg_front_auth auth, const char *method)
{
    json_t *body = parse_body(rq);
    const char *kind = jstr(body, "kind");
    bool guard = kind && has_prefix_ci(kind, GUARD_META);
    bool readable = json_is_object(body);
    json_decref(body);
    /* A body mxguard cannot read might still name X-MXGUARD-* to pdns: not forwarded. */
    if (!readable)
        return answer_error(con, 400, "the body is not a JSON object");
    if (guard && auth != MXG_AUTH_OPERATOR) {
        atomic_fetch_add(&f->unauthorized, 1);
        return answer_error(con, 403, "X-MXGUARD-* metadata needs the operator key");
    }
    return forward_answer(f, con, method, rq);
}

/* ---- the operator page /ui/ --------------------------------------------------------------- */

#define UI_CSP                                                                                     \
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; "     \
    "form-action 'none'"

/* An answer of the page: the HTML, or an error that a browser shows (a 401 asks for Basic
 * credentials: the operator key as the password). */
static enum MHD_Result answer_ui(struct MHD_Connection *con, unsigned status, const char *ctype,
                                 const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
                                                             MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, UI_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (status == 401)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"mxguard\"");
    enum MHD_Result rc = MHD_queue_response(con, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* One op for the page: its reply, or an error reply naming why the daemon did not answer. */
static json_t *ui_call(struct mxg_front *f, json_t *req)
{
    char err[512];
    json_t *reply = ctl_call(f, req, err, sizeof(err));
    return reply ? reply
                 : json_pack("{s:b,s:{s:s,s:s}}", "ok", 0, "error", "code", "unavailable",
                             "message", err);
}

static enum MHD_Result ui_page(struct mxg_front *f, struct MHD_Connection *con)
{
    /* stats first: its audit head says where the newest records start. */
    json_t *stats = ui_call(f, json_pack("{s:s}", "op", "stats"));
    if (ctl_ok(stats))
        json_object_set_new(stats, "api_refused",
                            json_integer((json_int_t)atomic_load(&f->refused)));
    json_t *audit = ui_call(f, json_pack("{s:s,s:I,s:I}", "op", "audit.show", "after",
                                         (json_int_t)mxg_front_ui_after(stats, MXG_UI_DECISIONS),
                                         "limit", (json_int_t)MXG_UI_DECISIONS));
    json_t *verify = ui_call(f, json_pack("{s:s}", "op", "audit.verify"));
    json_t *scan = ui_call(f, json_pack("{s:s}", "op", "scan"));
    char *page = mxg_front_ui_page(stats, scan, audit, verify);
    json_decref(stats);
    json_decref(audit);
    json_decref(verify);
    json_decref(scan);
    if (!page)
        return answer_ui(con, 500, "text/plain; charset=utf-8", "out of memory\n");
    enum MHD_Result rc = answer_ui(con, 200, "text/html; charset=utf-8", page);
    free(page);
    return rc;
}

static enum MHD_Result serve(struct mxg_front *f, struct MHD_Connection *con, const char *url,
                             const char *method, struct request *rq);

/* Which of the front's servers con belongs to (-1: none, which does not happen). */
static int server_of(struct mxg_front *f, struct MHD_Connection *con)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_DAEMON);
    for (unsigned i = 0; ci && i < f->n_mhd; i++)
        if (f->mhd[i] == ci->daemon)
            return (int)i;
    return -1;
}

/* Adds d to server i's load; a server free again wakes the accepting thread. */
static void load_add(struct mxg_front *f, int i, int d)
{
    if (i < 0)
        return;
    pthread_mutex_lock(&f->conn_lock);
    f->load[i] = (unsigned)((int)f->load[i] + d);
    if (f->load[i] == 0)
        pthread_cond_signal(&f->conn_free);
    pthread_mutex_unlock(&f->conn_lock);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct mxg_front *f = cls;
    struct request *rq = *con_cls;
    if (!rq)
        return MHD_NO;
    if (!rq->started) {
        rq->started = true;
        atomic_fetch_add(&f->requests, 1);
        const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > BODY_CAP) {
            atomic_fetch_add(&f->too_large, 1);
            return answer_error(con, 413, "request body too large");
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* A body that trickles in is cut at api-timeout from the request line: a slow client
         * holds a connection for no longer than that. */
        if (now_ms() - rq->start > (uint64_t)f->cfg->api_timeout * 1000) {
            atomic_fetch_add(&f->timeouts, 1);
            mxg_warn("api front: a request body took longer than api-timeout (%us): closed",
                     f->cfg->api_timeout);
            return MHD_NO;
        }
        if (!rq->too_big) {
            struct buf b = {rq->body, rq->len, rq->cap};
            if (buf_add(&b, upload_data, *upload_data_size, BODY_CAP + 1) != MXG_OK)
                rq->too_big = true;
            rq->body = b.p;
            rq->len = b.len;
            rq->cap = b.cap;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rq->too_big) {
        atomic_fetch_add(&f->too_large, 1);
        return answer_error(con, 413, "request body too large");
    }
    /* The request's work, which blocks this thread: no new connection is handed to it
     * meanwhile. */
    int i = server_of(f, con);
    load_add(f, i, 1);
    enum MHD_Result res = serve(f, con, url, method, rq);
    load_add(f, i, -1);
    return res;
}

/* A whole request, its body read: the routes. */
static enum MHD_Result serve(struct mxg_front *f, struct MHD_Connection *con, const char *url,
                             const char *method, struct request *rq)
{
    char zone[1024];
    enum mxg_front_route r = mxg_front_route(method, url, zone, sizeof(zone));
    const char *key = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-API-Key");
    /* A browser cannot send X-API-Key: the page also takes the key as a Basic password. */
    char basic[1024];
    if (!key && is_ui_path(url) &&
        mxg_front_basic_password(
            MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION), basic,
            sizeof(basic)))
        key = basic;
    enum mxg_front_auth auth = mxg_front_auth(key, f->cfg->api_key, f->cfg->operator_key);
    OPENSSL_cleanse(basic, sizeof(basic));
    if (auth == MXG_AUTH_NONE) {
        atomic_fetch_add(&f->unauthorized, 1);
        if (is_ui_path(url))
            return answer_ui(con, 401, "text/plain; charset=utf-8",
                             "Unauthorized: sign in with the operator key as the password.\n");
        return answer_error(con, 401, "Unauthorized");
    }
    if (mxg_front_operator_only(r) && auth != MXG_AUTH_OPERATOR) {
        atomic_fetch_add(&f->unauthorized, 1);
        return answer_error(con, 403,
                            r == MXG_ROUTE_META_GUARD
                                ? "X-MXGUARD-* metadata needs the operator key"
                                : "this endpoint needs the operator key");
    }
    switch (r) {
    case MXG_ROUTE_FORWARD:
    case MXG_ROUTE_META_GUARD:
        return forward_answer(f, con, method, rq);
    case MXG_ROUTE_META_POST:
        return meta_post(f, con, rq, auth, method);
    case MXG_ROUTE_ZONE_PATCH:
        return zone_patch(f, con, rq, zone);
    case MXG_ROUTE_ZONE_CREATE:
        return zone_create(f, con, rq);
    case MXG_ROUTE_ZONE_DELETE:
        return zone_delete(f, con, zone);
    case MXG_ROUTE_ZONE_PUT:
        return zone_put(f, con, rq, auth, zone);
    case MXG_ROUTE_METRICS:
        return metrics(f, con);
    case MXG_ROUTE_MXG_CHECK:
    case MXG_ROUTE_MXG_SCAN:
    case MXG_ROUTE_MXG_AUDIT:
    case MXG_ROUTE_MXG_VERIFY:
    case MXG_ROUTE_MXG_LAST:
        return mxg_endpoint(f, con, rq, r, zone);
    case MXG_ROUTE_UI:
        return ui_page(f, con);
    case MXG_ROUTE_BAD_METHOD:
        return answer_error(con, 405, "Method Not Allowed");
    case MXG_ROUTE_NOT_FOUND:
        break;
    }
    return answer_error(con, 404, "Not Found");
}

/* ---- start and stop -------------------------------------------------------------------- */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ctx)
{
    (void)h;
    (void)access;
    struct mxg_front *f = ctx;
    pthread_mutex_lock(&f->share_lock[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
    (void)h;
    struct mxg_front *f = ctx;
    pthread_mutex_unlock(&f->share_lock[data]);
}

/* Connections to pdns's API shared by every request thread (kept alive by libcurl). */
static void share_init(struct mxg_front *f)
{
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&f->share_lock[i], NULL);
    pthread_mutex_init(&f->ctl_lock, NULL);
    f->share = curl_share_init();
    if (f->share &&
        (curl_share_setopt(f->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
         curl_share_setopt(f->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
         curl_share_setopt(f->share, CURLSHOPT_USERDATA, f) != CURLSHE_OK ||
         curl_share_setopt(f->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
         curl_share_setopt(f->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK)) {
        curl_share_cleanup(f->share);
        f->share = NULL; /* a new connection per request then */
    }
}

static void share_free(struct mxg_front *f)
{
    while (f->n_curl_idle)
        curl_easy_cleanup(f->curl_idle[--f->n_curl_idle]);
    if (f->share)
        curl_share_cleanup(f->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&f->share_lock[i]);
    while (f->n_idle)
        close(f->ctl_idle[--f->n_idle]);
    pthread_mutex_destroy(&f->ctl_lock);
}

/* libmicrohttpd's own complaints (a thread that could not start, a connection refused at the
 * cap), as warnings. */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    mxg_warn("api front: %s", line);
}

/* "IP:PORT" or "[IPv6]:PORT". */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl, char *err,
                        size_t errlen)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    memset(ss, 0, sizeof(*ss));
    if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
        strlen(colon + 1) > 5 || strtoul(colon + 1, NULL, 10) == 0 ||
        strtoul(colon + 1, NULL, 10) > 65535 || (size_t)(colon - s) >= sizeof(host))
        goto bad;
    uint16_t port = (uint16_t)strtoul(colon + 1, NULL, 10);
    if (s[0] == '[') {
        if (colon - s < 3 || colon[-1] != ']')
            goto bad;
        memcpy(host, s + 1, (size_t)(colon - s - 2));
        host[colon - s - 2] = '\0';
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            goto bad;
        *sl = sizeof(*a);
        return MXG_OK;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
        goto bad;
    *sl = sizeof(*a);
    return MXG_OK;
bad:
    snprintf(err, errlen, "api-listen: '%s': expected IP:PORT or [IPv6]:PORT", s);
    return MXG_EINVAL;
}

/* ---- accepting ------------------------------------------------------------------------- */

/* The accepting thread counts a connection when it accepts it (libmicrohttpd starts it later,
 * on its server's thread); libmicrohttpd's notice of its close takes it off the count. */
static void on_connection(void *cls, struct MHD_Connection *con, void **ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)con;
    (void)ctx;
    struct mxg_front *f = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        load_add(f, server_of(f, con), -1); /* handed over, now its server's */
        return;
    }
    pthread_mutex_lock(&f->conn_lock);
    if (f->open_conns) {
        f->open_conns--;
        pthread_cond_signal(&f->conn_free);
    }
    pthread_mutex_unlock(&f->conn_lock);
}

/* Waits up to ms for the stop signal; true when it came. */
static bool wait_stop(struct mxg_front *f, int ms)
{
    struct pollfd p = {.fd = f->wake[0], .events = POLLIN};
    return poll(&p, 1, ms) > 0;
}

/* A server with nothing handed over or at work, from the one after the last picked; -1 when
 * all are busy. Under conn_lock. */
static int free_server(struct mxg_front *f)
{
    for (unsigned k = 0; k < f->n_mhd; k++) {
        unsigned i = (f->next + k) % f->n_mhd;
        if (f->load[i] == 0)
            return (int)i;
    }
    return -1;
}

static void *acceptor(void *arg)
{
    struct mxg_front *f = arg;
    unsigned cap = f->cfg->api_max_connections;
    bool failing = false; /* said once until an accept works again */
    for (;;) {
        pthread_mutex_lock(&f->conn_lock);
        int pick = -1;
        while (!f->stopping && (f->open_conns >= cap || (pick = free_server(f)) < 0))
            pthread_cond_wait(&f->conn_free, &f->conn_lock);
        bool stop = f->stopping;
        pthread_mutex_unlock(&f->conn_lock);
        if (stop)
            break;
        struct pollfd p[2] = {{.fd = f->listen_fd, .events = POLLIN},
                              {.fd = f->wake[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno != EINTR && wait_stop(f, 100))
                break;
            continue;
        }
        if (p[1].revents)
            break;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept(f->listen_fd, (struct sockaddr *)&ss, &sl);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue; /* gone before it was taken, or nothing yet */
            /* Out of descriptors or memory (the queue keeps the connection until then), or
             * worse: no busy loop either way. */
            if (!failing)
                mxg_warn("api front: cannot accept a connection: %s (retrying every 100 ms)",
                         strerror(errno));
            failing = true;
            if (wait_stop(f, 100))
                break;
            continue;
        }
        if (failing)
            mxg_info("api front: accepting connections again");
        failing = false;
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC); /* libmicrohttpd makes it non-blocking */
        pthread_mutex_lock(&f->conn_lock);
        f->open_conns++;
        f->load[pick]++;
        f->next = (unsigned)pick + 1;
        pthread_mutex_unlock(&f->conn_lock);
        /* On failure libmicrohttpd closes the socket and says why in its log. A connection it
         * drops later, before starting it (out of memory), stays counted. */
        if (MHD_add_connection(f->mhd[pick], fd, (struct sockaddr *)&ss, sl) != MHD_YES) {
            load_add(f, pick, -1);
            on_connection(f, NULL, NULL, MHD_CONNECTION_NOTIFY_CLOSED);
        }
    }
    return NULL;
}

static int listen_on(const struct sockaddr_storage *ss, socklen_t sl)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (ss->ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
        bind(fd, (const struct sockaddr *)ss, sl) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* ---- start and stop, continued -------------------------------------------------------- */

enum front_stage { STAGE_NONE, STAGE_STORE, STAGE_SEMS, STAGE_ACCEPTOR };

/* Undoes what start did, up to stage. */
static void teardown(struct mxg_front *f, enum front_stage stage)
{
    if (stage >= STAGE_ACCEPTOR) {
        pthread_mutex_lock(&f->conn_lock);
        f->stopping = true;
        pthread_cond_broadcast(&f->conn_free);
        pthread_mutex_unlock(&f->conn_lock);
        while (write(f->wake[1], "x", 1) < 0 && errno == EINTR)
            ;
        pthread_join(f->acceptor, NULL);
    }
    for (unsigned i = 0; i < f->n_mhd; i++)
        MHD_stop_daemon(f->mhd[i]);
    if (f->listen_fd >= 0)
        close(f->listen_fd);
    for (int i = 0; i < 2; i++)
        if (f->wake[i] >= 0)
            close(f->wake[i]);
    if (stage >= STAGE_SEMS) {
        sem_destroy(&f->ctl_slots);
        sem_destroy(&f->upstream_slots);
    }
    if (stage >= STAGE_STORE)
        mxg_store_close(f->store);
    pthread_cond_destroy(&f->conn_free);
    pthread_mutex_destroy(&f->conn_lock);
    pthread_mutex_destroy(&f->check_lock);
    share_free(f);
    free(f);
    curl_global_cleanup();
}

int mxg_front_start(const struct mxg_config *cfg, struct mxg_front **out, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    *out = NULL;
    if (!cfg->api_listen) {
        snprintf(err, errlen, "api-listen is not set");
        return MXG_EINVAL;
    }
    int rc = parse_listen(cfg->api_listen, &ss, &sl, err, errlen);
    if (rc != MXG_OK)
        return rc;
    if (!cfg->api_key && !cfg->operator_key) {
        snprintf(err, errlen, "api-listen is set but neither api-key nor operator-key");
        return MXG_EINVAL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "cannot initialise libcurl");
        return MXG_EIO;
    }
    struct mxg_front *f = calloc(1, sizeof(*f));
    if (!f) {
        curl_global_cleanup();
        snprintf(err, errlen, "out of memory");
        return MXG_ENOMEM;
    }
    enum front_stage stage = STAGE_NONE;
    f->cfg = cfg;
    f->listen_fd = f->wake[0] = f->wake[1] = -1;
    share_init(f);
    pthread_mutex_init(&f->check_lock, NULL);
    pthread_mutex_init(&f->conn_lock, NULL);
    pthread_cond_init(&f->conn_free, NULL);
    rc = MXG_EIO;
    if (mxg_store_open(cfg->store, &f->store, err, errlen) != MXG_OK)
        goto fail;
    stage = STAGE_STORE;
    f->ctl = (struct mxg_control){.store = f->store, .cfg = cfg};
    /* One read snapshot per check, as the daemon's loop reads: consistent and fewer
     * transactions. */
    mxg_store_batch_reads(f->store, true);
    if (sem_init(&f->ctl_slots, 0, CONTROL_SLOTS) != 0) {
        snprintf(err, errlen, "cannot create a semaphore: %s", strerror(errno));
        goto fail;
    }
    if (sem_init(&f->upstream_slots, 0, UPSTREAM_SLOTS) != 0) {
        snprintf(err, errlen, "cannot create a semaphore: %s", strerror(errno));
        sem_destroy(&f->ctl_slots);
        goto fail;
    }
    stage = STAGE_SEMS;
    f->listen_fd = listen_on(&ss, sl);
    if (f->listen_fd < 0 || pipe(f->wake) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", cfg->api_listen, strerror(errno));
        goto fail;
    }
    for (int i = 0; i < 2; i++)
        (void)fcntl(f->wake[i], F_SETFD, FD_CLOEXEC);
    /* The accepting thread keeps the cap; each server's own limit is the whole cap, so it never
     * refuses a connection handed to it. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
    for (; f->n_mhd < POOL_THREADS; f->n_mhd++) {
        struct MHD_Daemon *d = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, f, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, (void *)NULL,
            MHD_OPTION_CONNECTION_LIMIT, cfg->api_max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
            cfg->api_timeout, MHD_OPTION_THREAD_STACK_SIZE, (size_t)STACK_SIZE,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEADER_CAP, MHD_OPTION_URI_LOG_CALLBACK,
            on_uri, (void *)NULL, MHD_OPTION_NOTIFY_COMPLETED, on_done, (void *)NULL,
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, (void *)f, MHD_OPTION_END);
        if (!d) {
            snprintf(err, errlen, "cannot start the HTTP server on %s: %s", cfg->api_listen,
                     strerror(errno));
            goto fail;
        }
        f->mhd[f->n_mhd] = d;
    }
    int e = pthread_create(&f->acceptor, NULL, acceptor, f);
    if (e != 0) {
        snprintf(err, errlen, "cannot start the accepting thread: %s", strerror(e));
        goto fail;
    }
    mxg_info("API front on http://%s (pdns API %s)", cfg->api_listen,
             cfg->pdns_api_url ? cfg->pdns_api_url : "http://127.0.0.1:8081");
    *out = f;
    return MXG_OK;
fail:
    teardown(f, stage);
    return rc;
}

void mxg_front_stop(struct mxg_front *f)
{
    if (f)
        teardown(f, STAGE_ACCEPTOR);
}
