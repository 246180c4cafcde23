/* sweep.h -- the operations the allocation-failure sweep drives (alloc_sweep.c runs them). */
#ifndef MXG_SWEEP_H
#define MXG_SWEEP_H

#include <stdbool.h>
#include <stddef.h>

struct sweep_op {
    const char *name;
    void *arg;
    /* Unarmed: prepares the inputs (may allocate; cleanup frees it). */
    void (*setup)(void *arg);
    /* Armed: the operation under test; returns its status. */
    int (*run)(void *arg);
    /* Unarmed, after run: NULL when the outcome is right, else what is wrong. For rc MXG_OK it
     * compares the result with the one of the first run (no failure); for rc fail_rc it checks
     * that the outputs are left empty as documented. */
    const char *(*check)(void *arg, int rc);
    /* Unarmed: releases everything setup and run made. */
    void (*cleanup)(void *arg);
    int fail_rc;      /* the status an allocation failure must give (MXG_ENOMEM) */
    bool may_degrade; /* success despite a failed allocation is allowed (check decides) */
};

/* Registers an operation (copied). */
void sweep_add(const struct sweep_op *op);

/* The modules' operations (alloc_proto.c, alloc_policy.c, alloc_txn_audit.c). */
void proto_ops(void);
void policy_ops(void);
void txn_audit_ops(void);

/* Fills out with the decision of a fix-mode scenario (findings and fix records), unarmed. */
struct mxg_decision;
int policy_sample(struct mxg_decision *out);

/* A formatted complaint in a static buffer (for check functions). */
const char *sweep_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
