/* view.h -- the served zones as the guard sees them, before and after a transaction.
 *
 * The resolution model (resolve.h) and the policy (policy.h) read the zones only through this
 * interface, so both stay pure functions of the view they are given. The guard implements it
 * over the store and a transaction (guard.c); the tests over in-memory zones (fake_view.c).
 *
 * BEFORE is the latest committed state; AFTER is the same with the transaction applied. The two
 * may differ in which zones are served (a zone added or deleted) as well as in records. Names
 * are canonical (dns.h), types canonical mnemonics, content in pdns form. Callbacks receive
 * borrowed strings; a non-zero callback return stops the iteration and is returned. */
#ifndef MXG_VIEW_H
#define MXG_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/record.h"

enum mxg_side { MXG_BEFORE = 0, MXG_AFTER = 1 };

typedef int (*mxg_owner_cb)(void *cbctx, const char *owner);
typedef int (*mxg_owner_target_cb)(void *cbctx, const char *owner, const char *target);

struct mxg_view_ops {
    /* Records of type (canonical mnemonic; NULL: every type) at name, read from the deepest zone
     * served on that side that contains name; 0 with no callback when there are none. */
    MXG_MUST_CHECK int (*rrset)(void *ctx, enum mxg_side side, const char *name, const char *type,
                                mxg_record_cb cb, void *cbctx);
    /* Owners of records of type (MX, CNAME, ALIAS or DNAME) whose target is name, in any zone
     * served on that side. An owner may be reported more than once. */
    MXG_MUST_CHECK int (*referrers)(void *ctx, enum mxg_side side, const char *type,
                                    const char *target, mxg_owner_cb cb, void *cbctx);
    /* The same for targets at or below root (a subtree), with the target of each. */
    MXG_MUST_CHECK int (*referrers_below)(void *ctx, enum mxg_side side, const char *type,
                                          const char *root, mxg_owner_target_cb cb, void *cbctx);
    /* Apex of the deepest zone served on that side that contains name, or MXG_ENOENT. */
    MXG_MUST_CHECK int (*zone_of)(void *ctx, enum mxg_side side, const char *name, char *apex,
                                  size_t apexlen);
    /* Whether the zone that holds name (on that side) has owner names below name. */
    MXG_MUST_CHECK int (*has_below)(void *ctx, enum mxg_side side, const char *name, bool *out);
    /* The effective mode of a served zone (by apex, either side) and whether it is a slave. */
    MXG_MUST_CHECK int (*zone_info)(void *ctx, const char *apex, enum mxg_mode *mode, bool *slave);
};

struct mxg_view {
    const struct mxg_view_ops *ops;
    void *ctx;
};

#endif
