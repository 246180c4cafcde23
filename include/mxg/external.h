/* external.h -- out-of-band writes (PRODUCT.md §4): what other writers (a panel's SQL, pdns's
 * own gsqlite3/gpgsql, the sqlite3 shell) changed in the store, as the capture triggers logged
 * it, audited with source "external" and judged by the same policy. Such a change has already
 * happened and cannot be refused: a move is a finding with verdict warn, and in fix mode it is
 * repaired by a transaction of mxguard's own (source "fix", its record naming the external one
 * in "repairs").
 *
 * One pass runs in one store transaction: it reads the log, and per zone rebuilds the touched
 * RRsets as they were (the current records with the logged changes undone), judges the change
 * from that state to the current one, appends the audit records, applies a fix, and drops the
 * rows it handled. Nodes sharing a PostgreSQL store each run passes; the fleet's write lock
 * makes one of them handle each row. */
#ifndef MXG_EXTERNAL_H
#define MXG_EXTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/policy.h"
#include "mxg/store.h"

/* Rows one pass handles at most (a bulk write beyond that takes several passes). */
#define MXG_EXTERNAL_PASS_ROWS 20000

struct mxg_external_result {
    size_t rows;      /* log rows handled */
    size_t records;   /* external audit records written */
    size_t moves;     /* ... whose change moved mail (a blocking finding) */
    size_t fixed;     /* ... repaired in fix mode */
    size_t warned;    /* ... with verdict warn */
    bool more;        /* the log held more rows than one pass takes */
    int64_t last_seq; /* the newest audit record written (0: none) */
};

/* Whether the log holds a row (a cheap read; no transaction). */
MXG_MUST_CHECK int mxg_external_pending(struct mxg_store *st, bool *any);

/* One pass over at most max rows (0: MXG_EXTERNAL_PASS_ROWS). Returns 0 (out filled) or an
 * error, in which case nothing of the pass is kept and the rows stay for the next one. */
MXG_MUST_CHECK int mxg_external_pass(struct mxg_store *st, const struct mxg_config *cfg,
                                     unsigned max, struct mxg_external_result *out);

#endif
