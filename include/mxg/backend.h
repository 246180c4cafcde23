/* backend.h -- dispatch of remote-backend requests against the store.
 *
 * The transport hands each request line of a connection to mxg_backend_handle() together with
 * that connection's session; the reply comes back as bytes to write. No sockets here. */
#ifndef MXG_BACKEND_H
#define MXG_BACKEND_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "mxg/config.h"
#include "mxg/store.h"

struct mxg_backend;
struct mxg_session;
struct mxg_decision;
struct mxg_writer;

/* The commit latency histogram's upper bounds in seconds (Prometheus "le"). */
#define MXG_COMMIT_BUCKETS 12
extern const double mxg_commit_buckets[MXG_COMMIT_BUCKETS];

struct mxg_backend_stats {
    uint64_t requests;
    uint64_t lookups;
    uint64_t errors;     /* replies with result false because of bad input or store failure */
    uint64_t commits;    /* write transactions that reached commit */
    uint64_t allowed;    /* ... committed with verdict allow */
    uint64_t warned;     /* ... committed with verdict warn */
    uint64_t rejected;   /* ... refused (by the guard, a refused write or a store error) */
    uint64_t fixed;      /* ... committed with the guard's fix */
    uint64_t cache_hits; /* lookups answered from the reply cache */
    /* Decisions by rule (MXG_RULES_N: other) and verdict: each decision counts once for every
     * rule among its findings; refusals of the front's pre-flight check count too. */
    uint64_t rule_verdicts[MXG_RULES_N + 1][4];
    /* Commit latency (commitTransaction received to reply): counts per bucket of
     * mxg_commit_buckets (the last: above every bound), and the sum in nanoseconds. */
    uint64_t commit_hist[MXG_COMMIT_BUCKETS + 1];
    uint64_t commit_ns_sum;
    /* Out-of-band writes (external.h): audit records of source external, those that moved
     * mail, and those repaired in fix mode; passes that failed. */
    uint64_t external;
    uint64_t external_moves;
    uint64_t external_fixed;
    uint64_t external_errors;
};

/* Queues a pass over the store's change log (external.h) on the writer, unless one is queued or
 * running; another follows at once while the log holds more than one pass takes. Needs
 * mxg_backend_set_async. */
void mxg_backend_external(struct mxg_backend *be);

/* Counts one decision in rule_verdicts. */
void mxg_backend_count_decision(struct mxg_backend *be, const struct mxg_decision *d);

/* Borrows store and cfg; both must outlive the backend. Returns NULL on allocation failure. */
struct mxg_backend *mxg_backend_new(struct mxg_store *store, const struct mxg_config *cfg);
void mxg_backend_free(struct mxg_backend *be);
const struct mxg_backend_stats *mxg_backend_stats(const struct mxg_backend *be);

/* One session per connection. Freeing a session rolls back its open transaction. */
struct mxg_session *mxg_session_new(struct mxg_backend *be);
void mxg_session_free(struct mxg_session *s);

/* Handles one request line (without newline). Returns MXG_OK with *reply a new malloc'd buffer
 * ending in "\n"; MXG_OK with *reply NULL: the request (a commit) runs on the writer and its
 * reply arrives later through the session's reply callback; or MXG_ENOMEM. */
MXG_MUST_CHECK int mxg_backend_handle(struct mxg_session *s, const char *line, size_t len,
                                      char **reply, size_t *replylen);

/* Commits (and out-of-band passes) run off the event loop: on writer (writer.h), through wstore
 * (a second handle on the same store). Lookups on other connections keep being answered from
 * the main handle meanwhile. Without this call commits run inline (tests, fuzzing). Both are
 * borrowed and must outlive the backend's last job. */
void mxg_backend_set_async(struct mxg_backend *be, struct mxg_writer *writer,
                           struct mxg_store *wstore);

/* The reply cache (reply_cache.h; the daemon turns it on, and its store handle must batch
 * reads). Turning it on again empties it. */
void mxg_backend_set_cache(struct mxg_backend *be, bool on);

/* True while a commit runs or waits on the writer thread. */
bool mxg_backend_busy(const struct mxg_backend *be);

/* Where a deferred reply goes: cb(arg, reply, len) takes ownership of reply (NULL when no reply
 * could be made for want of memory: the connection should be closed). Not called when the
 * session was freed in the meantime. */
void mxg_session_on_reply(struct mxg_session *s, void (*cb)(void *arg, char *reply, size_t len),
                          void *arg);

#endif
