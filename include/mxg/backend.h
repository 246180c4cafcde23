/* backend.h -- dispatch of remote-backend requests against the store.
 *
 * The transport hands each request line of a connection to mxg_backend_handle() together with
 * that connection's session; the reply comes back as bytes to write. No sockets here. */
#ifndef MXG_BACKEND_H
#define MXG_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "mxg/config.h"
#include "mxg/store.h"

struct mxg_backend;
struct mxg_session;

struct mxg_backend_stats {
    uint64_t requests;
    uint64_t lookups;
    uint64_t errors;   /* replies with result false because of bad input or store failure */
    uint64_t commits;  /* write transactions that reached commit */
    uint64_t allowed;  /* ... committed with verdict allow */
    uint64_t warned;   /* ... committed with verdict warn */
    uint64_t rejected; /* ... refused (by the guard, a refused write or a store error) */
    uint64_t fixed;    /* ... committed with the guard's fix */
};

/* Borrows store and cfg; both must outlive the backend. Returns NULL on allocation failure. */
struct mxg_backend *mxg_backend_new(struct mxg_store *store, const struct mxg_config *cfg);
void mxg_backend_free(struct mxg_backend *be);
const struct mxg_backend_stats *mxg_backend_stats(const struct mxg_backend *be);

/* One session per connection. Freeing a session rolls back its open transaction. */
struct mxg_session *mxg_session_new(struct mxg_backend *be);
void mxg_session_free(struct mxg_session *s);

/* Handles one request line (without newline). Always sets *reply to a new malloc'd buffer
 * ending in "\n" unless it returns MXG_ENOMEM. */
int mxg_backend_handle(struct mxg_session *s, const char *line, size_t len, char **reply,
                       size_t *replylen);

#endif
