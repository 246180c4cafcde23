/* server.c -- libuv unix-socket listener and connections for the backend protocol. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mxg/err.h"
#include "mxg/limits.h"
#include "mxg/log.h"
#include "mxg/server.h"

/* Stop reading from a peer that does not read its replies once this much is queued. */
#define WRITE_QUEUE_HIGH ((size_t)16 * 1024 * 1024)
#define READ_CHUNK 65536

struct conn {
    uv_pipe_t pipe; /* first: the handle's address is the connection's */
    struct mxg_server *srv;
    void *session;
    struct conn *prev, *next;
    char *buf;
    size_t len, cap;
    size_t scanned; /* bytes of buf already known to hold no newline */
    bool closing;
    bool paused;
    bool draining; /* a final reply is queued; read nothing more */
    bool waiting;  /* a reply is being computed elsewhere (a commit): process no more lines */
    unsigned id;
};

struct write_req {
    uv_write_t req;
    char *data;
    bool close_after;
};

struct mxg_server {
    uv_pipe_t listener;
    uv_loop_t *loop;
    struct mxg_line_handler h;
    struct conn *conns;
    struct mxg_server_stats stats;
    unsigned max_connections;
    unsigned next_id;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    bool stopping;
    int pending_closes; /* handles whose close callbacks have not run */
};

/* uv_strerror() allocates (and leaks) for codes it does not know; this never allocates. */
static const char *uverr(int code)
{
    static _Thread_local char buf[128];
    return uv_strerror_r(code, buf, sizeof(buf));
}

static void maybe_free_server(struct mxg_server *srv)
{
    /* A stopped server lives on while a connection waits to send a commit's reply. */
    if (srv->stopping && srv->pending_closes == 0 && !srv->conns)
        free(srv);
}

static void conn_closed(uv_handle_t *h)
{
    struct conn *c = (struct conn *)h;
    struct mxg_server *srv = c->srv;
    free(c->buf);
    free(c);
    srv->pending_closes--;
    maybe_free_server(srv);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    struct mxg_server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->stats.open--;
    /* Dropping the session rolls back whatever transaction the peer left open. */
    if (c->session)
        srv->h.close(c->session);
    c->session = NULL;
    mxg_debug("connection %u closed", c->id);
    srv->pending_closes++;
    uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void process_lines(struct conn *c);
static int conn_write(struct conn *c, char *data, size_t len, bool close_after);

/* A reply computed off the loop (a commit) is ready: send it, then go on with the lines that
 * arrived meanwhile. */
static void deferred_reply(void *arg, char *reply, size_t len)
{
    struct conn *c = arg;
    c->waiting = false;
    if (c->closing) {
        free(reply);
        return;
    }
    if (!reply) { /* the session could not make one (out of memory) */
        mxg_err("connection %u: out of memory answering a request", c->id);
        conn_close(c);
        return;
    }
    /* The server is stopping: this reply is the connection's last. */
    if (c->srv->stopping) {
        conn_write(c, reply, len, true);
        return;
    }
    if (conn_write(c, reply, len, false) == 0)
        process_lines(c);
}

static void write_done(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct conn *c = (struct conn *)req->handle;
    bool close_after = w->close_after;
    free(w->data);
    free(w);
    if (status < 0 || close_after) {
        if (status != UV_ECANCELED)
            mxg_debug("connection %u: write failed: %s", c->id, uverr(status));
        conn_close(c);
        return;
    }
    if (c->paused && !c->closing && !c->draining &&
        uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) < WRITE_QUEUE_HIGH / 2) {
        c->paused = false;
        uv_read_start((uv_stream_t *)&c->pipe, NULL, on_read);
    }
}

/* Queues data (takes ownership); with close_after the connection closes once it is written.
 * Returns 0, or -1 when the connection was closed. */
static int conn_write(struct conn *c, char *data, size_t len, bool close_after)
{
    /* Most replies fit the socket buffer: write them at once, without a write request (no
     * allocation, no completion callback, no epoll change). What is left goes through
     * uv_write, behind which later replies queue in order. */
    size_t off = 0;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) == 0) {
        uv_buf_t now = uv_buf_init(data, (unsigned int)len);
        int n = uv_try_write((uv_stream_t *)&c->pipe, &now, 1);
        if (n == (int)len) {
            free(data);
            if (close_after)
                conn_close(c);
            return close_after ? -1 : 0;
        }
        if (n > 0)
            off = (size_t)n;
        else if (n != UV_EAGAIN) {
            mxg_debug("connection %u: write failed: %s", c->id, uverr(n));
            free(data);
            conn_close(c);
            return -1;
        }
    }
    struct write_req *w = malloc(sizeof(*w));
    if (!w) {
        free(data);
        conn_close(c);
        return -1;
    }
    w->data = data;
    w->close_after = close_after;
    uv_buf_t b = uv_buf_init(data + off, (unsigned int)(len - off));
    int rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, write_done);
    if (rc < 0) {
        free(data);
        free(w);
        conn_close(c);
        return -1;
    }
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) >= WRITE_QUEUE_HIGH && !c->paused &&
        !c->draining) {
        c->paused = true;
        uv_read_stop((uv_stream_t *)&c->pipe);
    }
    return 0;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    struct conn *c = (struct conn *)h;
    (void)suggested;
    if (c->cap - c->len < READ_CHUNK / 4 && c->cap < MXG_LINE_MAX + READ_CHUNK) {
        size_t ncap = c->cap ? c->cap * 2 : READ_CHUNK;
        if (ncap > MXG_LINE_MAX + READ_CHUNK)
            ncap = MXG_LINE_MAX + READ_CHUNK;
        char *nb = realloc(c->buf, ncap);
        if (nb) {
            c->buf = nb;
            c->cap = ncap;
        }
    }
    if (!c->buf || c->cap == c->len) {
        *out = uv_buf_init(NULL, 0); /* makes libuv report UV_ENOBUFS */
        return;
    }
    *out = uv_buf_init(c->buf + c->len, (unsigned int)(c->cap - c->len));
}

static void refuse_oversized(struct conn *c)
{
    const char *msg = c->srv->h.oversized;
    size_t len = strlen(msg);
    c->srv->stats.oversized++;
    mxg_warn("connection %u: request line over %d bytes, closing", c->id, MXG_LINE_MAX);
    uv_read_stop((uv_stream_t *)&c->pipe);
    c->draining = true;
    char *copy = strndup(msg, len);
    if (!copy) {
        conn_close(c);
        return;
    }
    /* The connection closes once the refusal is written (write_done). */
    conn_write(c, copy, len, true);
}

static void process_lines(struct conn *c)
{
    size_t start = 0;
    while (!c->closing && !c->draining && !c->waiting) {
        char *nl = memchr(c->buf + c->scanned, '\n', c->len - c->scanned);
        if (!nl) {
            c->scanned = c->len;
            break;
        }
        size_t end = (size_t)(nl - c->buf);
        size_t llen = end - start;
        /* Tolerate CRLF and blank lines. */
        if (llen > 0 && c->buf[start + llen - 1] == '\r')
            llen--;
        if (llen > 0) {
            char *reply = NULL;
            size_t rlen = 0;
            int rc = c->srv->h.handle(c->session, c->buf + start, llen, &reply, &rlen);
            if (rc == MXG_OK && !reply) {
                c->waiting = true; /* the reply comes through deferred_reply */
            } else if (rc != MXG_OK) {
                mxg_err("connection %u: out of memory answering a request", c->id);
                conn_close(c);
                return;
            } else if (conn_write(c, reply, rlen, false) != 0) {
                return;
            }
        }
        start = end + 1;
        c->scanned = start;
    }
    if (c->closing || c->draining)
        return;
    if (start > 0) {
        memmove(c->buf, c->buf + start, c->len - start);
        c->len -= start;
        c->scanned -= start;
    }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = (struct conn *)stream;
    (void)buf; /* the bytes went to c->buf + c->len (alloc_cb) */
    if (nread < 0) {
        if (nread == UV_ENOBUFS) {
            refuse_oversized(c);
            return;
        }
        if (nread != UV_EOF)
            mxg_debug("connection %u: read failed: %s", c->id, uverr((int)nread));
        else if (c->len > 0)
            mxg_debug("connection %u: peer left in the middle of a line", c->id);
        conn_close(c);
        return;
    }
    if (nread == 0 || c->draining)
        return;
    c->len += (size_t)nread;
    process_lines(c);
    if (!c->closing && c->len > MXG_LINE_MAX)
        refuse_oversized(c);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct mxg_server *srv = listener->data;
    if (status < 0) {
        mxg_warn("accept failed: %s", uverr(status));
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        mxg_err("out of memory accepting a connection");
        return;
    }
    c->srv = srv;
    c->id = ++srv->next_id;
    uv_pipe_init(srv->loop, &c->pipe, 0);
    srv->pending_closes++; /* balanced by conn_closed, also on the error paths */
    if (uv_accept(listener, (uv_stream_t *)&c->pipe) != 0) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->pipe, conn_closed);
        return;
    }
    srv->pending_closes--;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->stats.open++;
    srv->stats.accepted++;
    if (srv->stats.open > srv->max_connections) {
        srv->stats.refused++;
        mxg_warn("max-connections (%u) reached: closing new connection", srv->max_connections);
        conn_close(c);
        return;
    }
    c->session = srv->h.open(srv->h.ctx);
    if (c->session && srv->h.attach)
        srv->h.attach(c->session, deferred_reply, c);
    if (!c->session) {
        mxg_err("out of memory creating a session");
        conn_close(c);
        return;
    }
    mxg_debug("connection %u opened", c->id);
    uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, on_read);
}

int mxg_socket_in_use(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int in_use = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return in_use;
}

int mxg_socket_set_perms(const char *path, mode_t mode, const char *group, char *err, size_t errlen)
{
    if (group && *group) {
        struct group *gr = getgrnam(group);
        if (!gr) {
            snprintf(err, errlen, "unknown group '%s' for %s", group, path);
            return MXG_EINVAL;
        }
        if (chown(path, (uid_t)-1, gr->gr_gid) != 0) {
            snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
            return MXG_EIO;
        }
    }
    if (chmod(path, mode) != 0) {
        snprintf(err, errlen, "chmod %s: %s", path, strerror(errno));
        return MXG_EIO;
    }
    return MXG_OK;
}

static void listener_closed(uv_handle_t *h)
{
    struct mxg_server *srv = h->data;
    srv->pending_closes--;
    maybe_free_server(srv);
}

int mxg_server_start(uv_loop_t *loop, const struct mxg_line_handler *handler,
                     const struct mxg_server_opts *opts, struct mxg_server **out, char *err,
                     size_t errlen)
{
    struct mxg_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return MXG_ENOMEM;
    if (strlen(opts->path) >= sizeof(srv->path)) {
        free(srv);
        snprintf(err, errlen, "socket path too long: %s", opts->path);
        return MXG_ERANGE;
    }
    snprintf(srv->path, sizeof(srv->path), "%s", opts->path);
    srv->loop = loop;
    srv->h = *handler;
    srv->max_connections = opts->max_connections ? opts->max_connections : 256;

    struct stat sb;
    if (lstat(srv->path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket", srv->path);
            free(srv);
            return MXG_EEXIST;
        }
        if (mxg_socket_in_use(srv->path)) {
            snprintf(err, errlen, "%s is in use by a running process", srv->path);
            free(srv);
            return MXG_EBUSY;
        }
        unlink(srv->path); /* stale, left by a process that died */
    }

    uv_pipe_init(loop, &srv->listener, 0);
    srv->listener.data = srv;
    /* Bind with a restrictive umask so the socket is never briefly world-accessible. */
    mode_t old = umask(0177);
    int rc = uv_pipe_bind(&srv->listener, srv->path);
    umask(old);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 128, on_connection);
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", srv->path, uverr(rc));
        /* Freed by listener_closed when the loop runs the close callback. */
        srv->stopping = true;
        srv->pending_closes = 1;
        uv_close((uv_handle_t *)&srv->listener, listener_closed);
        return MXG_EIO;
    }
    rc = mxg_socket_set_perms(srv->path, opts->mode, opts->group, err, errlen);
    if (rc != MXG_OK) {
        mxg_server_stop(srv);
        return rc;
    }
    *out = srv;
    return MXG_OK;
}

void mxg_server_stop(struct mxg_server *srv)
{
    if (!srv || srv->stopping)
        return;
    srv->stopping = true;
    /* A connection whose commit is running gets its reply before it closes (deferred_reply):
     * the commit finishes either way, and its client should learn that it did. It reads
     * nothing more. Every other connection closes now. */
    struct conn *next;
    for (struct conn *c = srv->conns; c; c = next) {
        next = c->next;
        if (c->waiting) {
            c->draining = true;
            uv_read_stop((uv_stream_t *)&c->pipe);
        } else {
            conn_close(c);
        }
    }
    unlink(srv->path);
    srv->pending_closes++;
    uv_close((uv_handle_t *)&srv->listener, listener_closed);
}

const struct mxg_server_stats *mxg_server_stats(const struct mxg_server *srv)
{
    return &srv->stats;
}
