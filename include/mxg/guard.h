/* guard.h -- the commit pipeline: judge a transaction, apply it (with the fix) or refuse it,
 * and write its audit record in the same store transaction.
 *
 * Used by the backend's commitTransaction, by setDomainMetadata outside a transaction, by the
 * CLI's import (all guarded) and zone add/delete (audited only), and -- without writing -- by
 * `mxguard check`. */
#ifndef MXG_GUARD_H
#define MXG_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxg/audit.h"
#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/policy.h"
#include "mxg/store.h"
#include "mxg/txn.h"

struct mxg_guard_result {
    bool judged;                      /* the policy ran (guarded and something changed) */
    bool refused;                     /* nothing was applied */
    bool audited;                     /* an audit record was written */
    struct mxg_decision decision;     /* owned */
    struct mxg_rrset_change *changes; /* the transaction's own changes (owned) */
    size_t n_changes;
    enum mxg_mode mode; /* the effective mode */
    int64_t audit_seq;
    char audit_hash[MXG_HASH_HEX];
    bool audit_syslog; /* also send the record to syslog (audit-syslog=yes) */
};

struct mxg_guard_opts {
    const char *source; /* audit source: api, dnsupdate, pdnsutil, axfr, ixfr, metadata, cli */
    bool guarded;       /* run the policy (false: audit only, for CLI zone add/delete) */
    bool always_audit;  /* write a record even when nothing changed (CLI operations) */
    /* The transaction creates (or deletes) its zone: judged over the zone's whole subtree,
     * and what fix cannot repair there is refused as in reject. */
    enum mxg_zone_event { MXG_ZONE_SAME, MXG_ZONE_ADDED, MXG_ZONE_DELETED } zone_event;
};

/* Inside the caller's store transaction (begun, not committed): computes the change set,
 * judges it, and unless refused applies txn (and the fix, which is added to txn) and appends
 * the audit record. On refusal nothing is written: the caller rolls back and then calls
 * mxg_guard_record_refusal. A poisoned transaction (mxg_txn_poisoned) is always refused, without
 * running the policy: verdict reject, the one finding invalid-record (severity block) naming the
 * refused write, and its changes as far as they were buffered. Returns 0 (see res->refused) or
 * an error. */
MXG_MUST_CHECK int mxg_guard_judge_apply(struct mxg_store *st, const struct mxg_config *cfg,
                                         struct mxg_txn *txn, const struct mxg_guard_opts *opts,
                                         struct mxg_guard_result *res);

/* Writes the audit record of a refused transaction in a store transaction of its own. */
MXG_MUST_CHECK int mxg_guard_record_refusal(struct mxg_store *st, struct mxg_txn *txn,
                                            const struct mxg_guard_opts *opts,
                                            struct mxg_guard_result *res);

/* The whole commit: begin, judge/apply, commit; or roll back and record the refusal. */
MXG_MUST_CHECK int mxg_guard_commit(struct mxg_store *st, const struct mxg_config *cfg,
                                    struct mxg_txn *txn, const struct mxg_guard_opts *opts,
                                    struct mxg_guard_result *res);

/* Pre-flight: judges txn against the committed state and writes nothing. */
MXG_MUST_CHECK int mxg_guard_check(struct mxg_store *st, const struct mxg_config *cfg,
                                   struct mxg_txn *txn, struct mxg_guard_result *res);

/* The mode that applies to a zone: global mode, X-MXGUARD-MODE metadata within
 * zone-mode-override. */
enum mxg_mode mxg_guard_effective_mode(struct mxg_store *st, const struct mxg_config *cfg,
                                       int64_t zone_id);

struct mxg_zone_memo;

/* A view of the served zones: BEFORE = store, AFTER = store with txn applied (txn may be NULL:
 * both sides are the store). ctx must live as long as the view is used, and the store's zones
 * must not change meanwhile: the view remembers which names are zones (memo, made on first
 * use); mxg_guard_view_done frees what it remembered. */
struct mxg_guard_view_ctx {
    struct mxg_store *st;
    struct mxg_txn *txn;
    const struct mxg_config *cfg; /* for the modes of other zones (NULL: not known) */
    int64_t added_zone_id;        /* a zone the transaction creates: not served BEFORE */
    int64_t deleted_zone_id;      /* a zone the transaction deletes: not served AFTER */
    struct mxg_zone_memo *memo;   /* owned; NULL until a lookup needs it */
    /* The zone the transaction creates, when st is a handle that does not see the
     * transaction (mxg_guard_judge_apply_beside): it is served AFTER all the same. */
    const struct mxg_zone *added_zone;
};
void mxg_guard_view(struct mxg_guard_view_ctx *ctx, struct mxg_view *view);
void mxg_guard_view_done(struct mxg_guard_view_ctx *ctx);

/* mxg_guard_judge_apply for a transaction that creates its zone and fills it whole (an import
 * into a new zone, opts->zone_event MXG_ZONE_ADDED): its rows are written on another thread
 * while the policy reads through reader, a second handle on the same store that sees it as it
 * was before the transaction (none of the caller's writes; the caller holds the write lock, so
 * nothing else commits meanwhile). z: the zone the transaction creates. The policy cannot fix
 * such a transaction, so the rows do not wait for its decision; on a refusal the caller rolls
 * back as usual. Runs mxg_guard_judge_apply instead when the transaction is not such, or no
 * thread can be started. */
MXG_MUST_CHECK int mxg_guard_judge_apply_beside(struct mxg_store *st, struct mxg_store *reader,
                                                const struct mxg_zone *z,
                                                const struct mxg_config *cfg, struct mxg_txn *txn,
                                                const struct mxg_guard_opts *opts,
                                                struct mxg_guard_result *res);

/* Adds the fix of decision d (its RRsets as they are to become) to transaction t. */
MXG_MUST_CHECK int mxg_guard_fix_into(struct mxg_txn *t, const struct mxg_decision *d);

void mxg_guard_result_free(struct mxg_guard_result *res);

#endif
