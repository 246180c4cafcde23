/* resolve.h -- the addresses pdns 4.7 answers for a name, computed from the served data.
 *
 * mxg_resolve() follows pdns's packethandler for an A or AAAA query: the deepest served zone
 * answers; a delegation (NS below a zone apex) at or above the name refers elsewhere; the exact
 * owner wins (an empty non-terminal is an owner with no data), else the closest-encloser
 * wildcard (blocked by any existing name, empty non-terminals included), else, when
 * dname-processing is on, the closest DNAME above; CNAMEs, wildcard CNAMEs and DNAMEs
 * retarget, inside and across served zones; more than MXG_RESOLVE_RETARGETS_MAX retargets is
 * SERVFAIL. ALIAS gives
 * its target's addresses when expand-alias is on (otherwise the name has no address, as pdns
 * answers); LUA gives an unknown address. Pure: it reads only the view it is given.
 *
 * Each answer keeps its path: the names from the name asked to the owner whose records give
 * the answer, with how each was reached. The policy judges paths (dedicated or shared). */
#ifndef MXG_RESOLVE_H
#define MXG_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxg/err.h"
#include "mxg/view.h"

/* pdns: "if(retargetcount > 10)" -> SERVFAIL. */
#define MXG_RESOLVE_RETARGETS_MAX 10
/* ALIAS targets expanded inside one another (pdns asks its resolver; a loop ends here). */
#define MXG_RESOLVE_ALIAS_DEPTH 8

enum mxg_res_kind {
    MXG_RES_ADDRESSES, /* pdns answers these addresses */
    MXG_RES_UNKNOWN,   /* the answer lies outside the served data (see unknown) */
    MXG_RES_NONE,      /* NXDOMAIN or NODATA */
    MXG_RES_SERVFAIL   /* more than MXG_RESOLVE_RETARGETS_MAX retargets */
};

enum mxg_step_role {
    MXG_STEP_NAME,     /* the name asked */
    MXG_STEP_CNAME,    /* reached through a CNAME (or a wildcard CNAME) */
    MXG_STEP_DNAME,    /* a DNAME owner above the previous name */
    MXG_STEP_SYNTH,    /* reached through the DNAME before it */
    MXG_STEP_WILDCARD, /* the wildcard owner that answered the previous name */
    MXG_STEP_ALIAS,    /* reached through an ALIAS */
    MXG_STEP_CUT,      /* the delegation point at or above the previous name */
    MXG_STEP_OUTSIDE   /* the previous name lies outside every served zone */
};

struct mxg_res_step {
    char *name; /* canonical */
    enum mxg_step_role role;
};

struct mxg_resolution {
    enum mxg_res_kind kind;
    int family;           /* 4 or 6 */
    uint8_t (*addrs)[16]; /* MXG_RES_ADDRESSES: distinct addresses, in answer order */
    size_t n_addrs;
    char *unknown; /* MXG_RES_UNKNOWN: its identity ("outside NAME", "delegation ...") */
    bool outside;  /* MXG_RES_UNKNOWN because a name left every served zone */
    char *owner;   /* the owner whose records answered (a wildcard owner too), or NULL */
    struct mxg_res_step *steps;
    size_t n_steps;
};

struct mxg_resolve_opts {
    bool dname_processing;
    bool expand_alias;
};

/* Resolves name (canonical) for family 4 (A) or 6 (AAAA) on one side of the view.
 * Returns 0 and fills out (free with mxg_resolution_free), or MXG_ENOMEM / a view error. */
MXG_MUST_CHECK int mxg_resolve(const struct mxg_view *view, enum mxg_side side, const char *name,
                               int family, const struct mxg_resolve_opts *opts,
                               struct mxg_resolution *out);

void mxg_resolution_free(struct mxg_resolution *r);

const char *mxg_res_kind_name(enum mxg_res_kind k);   /* addresses, unknown, none, servfail */
const char *mxg_step_role_name(enum mxg_step_role r); /* name, cname, dname, ... */

#endif
