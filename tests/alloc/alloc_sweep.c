/* alloc_sweep.c -- the allocation-failure sweep.
 *
 * Every registered operation runs once with no failure (counting its N allocations and
 * recording its result), then N times failing allocation #1, #2, ..., #N in turn, then N times
 * failing every allocation from #k on. Each run must end with the status the operation documents
 * for an allocation failure (MXG_ENOMEM), or -- only where the operation may degrade -- with
 * success and a result its check accepts; a run that succeeds although an allocation failed must
 * give exactly the result of the run without failures. After its cleanup no allocation made by
 * the run may be live (the wrapper counts them; ASan/LSan or valgrind also report them with
 * stacks). A crash fails the test by itself.
 *
 * Usage: alloc_sweep [FILTER]   (only operations whose name contains FILTER) */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "mxg/err.h"
#include "sweep.h"

#define MAX_OPS 128

static struct sweep_op ops[MAX_OPS];
static size_t n_ops;

void sweep_add(const struct sweep_op *op)
{
    if (n_ops == MAX_OPS) {
        fputs("alloc_sweep: too many operations\n", stderr);
        exit(2);
    }
    ops[n_ops++] = *op;
}

const char *sweep_msg(const char *fmt, ...)
{
    static char buf[65536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return buf;
}

static size_t failures, clean_errors, absorbed;

static void complain(const struct sweep_op *op, const char *how, size_t k, const char *what)
{
    failures++;
    if (failures <= 50)
        fprintf(stderr, "FAIL %s, %s #%zu: %s\n", op->name, how, k, what);
}

/* One run of op; at == 0: no failure. Returns the number of allocation calls. */
static size_t run_once(const struct sweep_op *op, size_t at, bool persistent)
{
    const char *how = persistent ? "failing every allocation from" : "failing allocation";
    size_t before = fa_live();
    if (op->setup)
        op->setup(op->arg);
    fa_arm(at, persistent);
    int rc = op->run(op->arg);
    size_t n = fa_disarm();
    bool injected = fa_injected();
    const char *bad = NULL;
    if (!injected) {
        if (rc != MXG_OK)
            bad = sweep_msg("returned %s (%d) without a failed allocation", mxg_strerror(rc), rc);
        else
            bad = op->check(op->arg, rc);
    } else if (rc == MXG_OK) {
        absorbed++;
        /* The failure was absorbed: the result must be the full one, or (may_degrade) one the
         * check accepts. */
        bad = op->check(op->arg, rc);
    } else if (rc != op->fail_rc) {
        bad = sweep_msg("returned %s (%d), expected %s", mxg_strerror(rc), rc,
                        mxg_strerror(op->fail_rc));
    } else {
        clean_errors++;
        bad = op->check(op->arg, rc);
    }
    if (bad)
        complain(op, at ? how : "without failures", at, bad);
    if (op->cleanup)
        op->cleanup(op->arg);
    size_t after = fa_live();
    if (after != before)
        complain(op, at ? how : "without failures", at,
                 sweep_msg("%zd allocation(s) still live after cleanup (a leak)",
                           (ssize_t)(after - before)));
    return n;
}

int main(int argc, char **argv)
{
    fa_init();
    proto_ops();
    policy_ops();
    txn_audit_ops();
    const char *filter = argc > 1 ? argv[1] : NULL;
    size_t points = 0, runs = 0, swept = 0;
    for (size_t i = 0; i < n_ops; i++) {
        const struct sweep_op *op = &ops[i];
        if (filter && !strstr(op->name, filter))
            continue;
        size_t before = failures;
        size_t n = run_once(op, 0, false);
        for (size_t k = 1; k <= n; k++)
            run_once(op, k, false);
        for (size_t k = 1; k <= n; k++)
            run_once(op, k, true);
        swept++;
        points += n;
        runs += 1 + 2 * n;
        printf("%-4s %-40s %5zu allocation points\n", failures == before ? "ok" : "FAIL", op->name,
               n);
    }
    printf("alloc_sweep: %zu operations, %zu allocation points, %zu runs (%zu ended in the "
           "documented error, %zu absorbed the failure), %zu failure(s)\n",
           swept, points, runs, clean_errors, absorbed, failures);
    return failures == 0 && swept > 0 ? 0 : 1;
}
