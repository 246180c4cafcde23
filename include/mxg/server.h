/* server.h -- a libuv unix-socket listener speaking JSON lines (the backend and control sockets).
 *
 * Knows framing, limits and connections; hands each complete line to its line handler, and
 * knows nothing of what the lines mean. One request
 * is answered before the next line of the same connection is read; connections are never
 * closed for being idle. */
#ifndef MXG_SERVER_H
#define MXG_SERVER_H

#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "mxg/err.h"

struct mxg_server;

/* What a listener does with the lines of its connections: one session per connection, one
 * reply per line. daemon.c makes one for the backend and one for the control socket. */
struct mxg_line_handler {
    void *ctx;
    void *(*open)(void *ctx);  /* a new session, or NULL when out of memory */
    void (*close)(void *sess); /* the connection is gone */
    /* Returns MXG_OK with *reply (malloc'd, ending in "\n"), MXG_OK with *reply NULL (the reply
     * comes later, through attach's callback), or MXG_ENOMEM. */
    int (*handle)(void *sess, const char *line, size_t len, char **reply, size_t *replylen);
    /* Optional: lets a session deliver a reply later (handle left *reply NULL); cb given a NULL
     * reply closes the connection (the session could not make one). */
    void (*attach)(void *sess, void (*cb)(void *arg, char *reply, size_t len), void *arg);
    const char *name;      /* for log lines: "backend", "control" */
    const char *oversized; /* the reply (with "\n") to a line over MXG_LINE_MAX */
};

struct mxg_server_opts {
    const char *path;
    mode_t mode;
    const char *group; /* NULL: leave the group alone */
    unsigned max_connections;
};

struct mxg_server_stats {
    uint64_t accepted;
    uint64_t refused;   /* over max-connections */
    uint64_t oversized; /* lines over MXG_LINE_MAX */
    unsigned open;
};

/* Binds and listens. Refuses (MXG_EBUSY) a path on which a live process accepts connections;
 * removes a stale socket file. Returns 0 or MXG_E* with a message in err. */
MXG_MUST_CHECK int mxg_server_start(uv_loop_t *loop, const struct mxg_line_handler *handler,
                                    const struct mxg_server_opts *opts, struct mxg_server **out,
                                    char *err, size_t errlen);

/* Closes the listener and every connection (rolling back their transactions); the memory is
 * released once the loop has run the close callbacks. Removes the socket file. */
void mxg_server_stop(struct mxg_server *srv);

const struct mxg_server_stats *mxg_server_stats(const struct mxg_server *srv);

/* Checks whether something accepts connections on a unix socket path (0: no, 1: yes). */
int mxg_socket_in_use(const char *path);

/* Applies mode and group to a socket file. Returns 0 or MXG_EINVAL/MXG_EIO with err. */
MXG_MUST_CHECK int mxg_socket_set_perms(const char *path, mode_t mode, const char *group, char *err,
                                        size_t errlen);

#endif
