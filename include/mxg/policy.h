/* policy.h -- the rule of PRODUCT.md §3-§4: does a transaction move mail, and what to do.
 *
 * A pure function of (a read-only view of the served zones before and after the transaction,
 * the names the transaction touches, the configuration): no clock, no I/O of its own. Its cost
 * follows the change: it reads the touched names and, through the view's reverse lookups, the
 * mail domains that reach them — never whole zones.
 *
 * Vocabulary (PRODUCT.md §3):
 *  - mail domain: an owner with an MX RRset other than a lone null MX ("0 ."); and the apex of
 *    a zone when it has no MX RRset but has A/AAAA (implicit MX, governed by implicit-mx).
 *  - mail targets of D: the names D's MX records point to, following CNAME chains (at most
 *    MXG_POLICY_CHAIN_MAX links); for an implicit MX, D itself. Targets outside the served zones
 *    (zone_of fails) are not judged.
 *  - S_F(D), F in {A, AAAA}: the union of the F addresses of D's mail targets.
 *  - D moves mail in F when S_F after != before and: S_F after is empty while before was not;
 *    or classify=strict and some address in after \ before lies outside mail-ranges; or
 *    classify=proxy and some address in after \ before lies inside proxy-ranges.
 *  - A mail target holding ALIAS or LUA (after) has unknown addresses: in strict they count as an
 *    address outside mail-ranges; in proxy only when the ALIAS target resolves in the served
 *    zones (CNAME chain, A/AAAA) to an address inside proxy-ranges. */
#ifndef MXG_POLICY_H
#define MXG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxg/config.h"
#include "mxg/store.h"

#define MXG_POLICY_CHAIN_MAX 8

enum mxg_side { MXG_BEFORE = 0, MXG_AFTER = 1 };

/* The served zones as the policy sees them. BEFORE is the latest committed state; AFTER is the
 * same with the transaction applied (only the transaction's zone differs). */
struct mxg_view_ops {
    /* Records of type (canonical mnemonic) at name (canonical), in any served zone; returns 0
     * with no callback when there are none. */
    int (*rrset)(void *ctx, enum mxg_side side, const char *name, const char *type,
                 mxg_record_cb cb, void *cbctx);
    /* Owners (canonical) of records of type (MX, CNAME or ALIAS) whose target is name (canonical),
     * in any served zone: the reverse lookup. An owner may be reported more than once. */
    int (*referrers)(void *ctx, enum mxg_side side, const char *type, const char *target,
                     int (*cb)(void *cbctx, const char *owner), void *cbctx);
    /* Canonical apex of the served zone that holds name (deepest match), or MXG_ENOENT. */
    int (*zone_of)(void *ctx, const char *name, char *apex, size_t apexlen);
};

struct mxg_view {
    const struct mxg_view_ops *ops;
    void *ctx;
};

struct mxg_policy_input {
    const char *zone;         /* canonical apex of the transaction's zone */
    const char *const *names; /* canonical owner names the transaction touches (in zone) */
    size_t n_names;
    enum mxg_mode mode; /* the effective mode for the zone (metadata already applied) */
    bool slave;         /* zone of kind slave: never blocked, judged as warn */
};

enum mxg_verdict {
    MXG_VERDICT_ALLOW,  /* nothing found (or mode off): commit */
    MXG_VERDICT_WARN,   /* findings, committed (warn-severity only, mode warn, or a slave zone) */
    MXG_VERDICT_REJECT, /* a blocking finding in mode reject, or fix impossible: nothing applied */
    MXG_VERDICT_FIX     /* blocking moves repaired by the fix records, committed with them */
};

struct mxg_rrdata {
    char *content; /* pdns form */
    uint32_t ttl;
};

/* An RRset as it was and as it will be (the audit's "changes"/"fix" shape). */
struct mxg_rrset_change {
    char *name; /* canonical */
    char *type; /* canonical mnemonic */
    struct mxg_rrdata *before;
    size_t n_before;
    struct mxg_rrdata *after;
    size_t n_after;
};

struct mxg_finding {
    const char *rule;           /* static rule id: "mail-moved", "implicit-mail-moved", ... */
    enum mxg_severity severity; /* after rule-severity and implicit-mx; never OFF here */
    char *name;                 /* the mail domain (or record owner) the finding is about */
    const char *family;         /* "A", "AAAA" or "" */
    char **old_values;          /* e.g. the before addresses */
    size_t n_old;
    char **new_values; /* e.g. the after addresses ("ALIAS target" for unknown) */
    size_t n_new;
    char *reason; /* one sentence for people */
};

struct mxg_decision {
    enum mxg_verdict verdict;
    struct mxg_finding *findings;
    size_t n_findings;
    /* The fix (verdict FIX): each entry replaces the RRset (name, type) with `after`; `before`
     * is what the AFTER view held there. Applying them all to the transaction repairs it. */
    struct mxg_rrset_change *fix;
    size_t n_fix;
    /* For a refusal, the other remedy in one sentence (keep the apex, proxy only www), or NULL. */
    char *remedy;
};

/* Evaluates a transaction. Findings only concern mail domains the change reaches (the touched
 * names, the domains whose mail targets or CNAME chains reach them, in any served zone), and
 * only findings that are new in the AFTER state (a finding already true BEFORE is not reported).
 * Returns 0 and fills out (free with mxg_decision_free), or MXG_ENOMEM / a view error. */
int mxg_policy_evaluate(const struct mxg_view *view, const struct mxg_policy_input *in,
                        const struct mxg_config *cfg, struct mxg_decision *out);

void mxg_decision_free(struct mxg_decision *d);
/* Frees what one change owns (name, type, both sides); not the struct itself. */
void mxg_rrset_change_clear(struct mxg_rrset_change *c);
/* True when a and b hold the same records (content and TTL), in any order. */
bool mxg_rrdata_same(const struct mxg_rrdata *a, size_t na, const struct mxg_rrdata *b, size_t nb);
const char *mxg_verdict_name(enum mxg_verdict v);   /* "allow", "warn", "reject", "fix" */
const char *mxg_severity_name(enum mxg_severity s); /* "off", "warn", "block" */

/* The severity a rule has under cfg (rule-severity, implicit-mx for implicit-mail-moved). */
enum mxg_severity mxg_policy_severity(const struct mxg_config *cfg, const char *rule);

#endif
