/* policy.h -- the rule of PRODUCT.md §3-§4: does a transaction move mail, and what to do.
 *
 * A pure function of (a read-only view of the served zones before and after the transaction,
 * the names the transaction touches, the configuration): no clock, no I/O of its own. Its cost
 * follows the change: it reads the touched names and, through the view's reverse lookups, the
 * names whose answers they change and the mail domains that reach them -- never whole zones.
 *
 * Vocabulary (PRODUCT.md §3):
 *  - addresses: what pdns answers for a name (resolve.h), each with its path.
 *  - mail domain D: an owner with an MX RRset other than a lone null MX; the apex of a zone
 *    with no MX RRset but with addresses (implicit MX, governed by implicit-mx). Judged when it
 *    is a mail domain BEFORE; its targets after come from the AFTER state.
 *  - a path is shared when one of its names (either state) is a zone apex, a mail domain, a
 *    wildcard, a delegation point, a DNAME owner, a name whose zone changed, or -- after the MX
 *    target -- the target of a CNAME/ALIAS whose owner is on no mail path; else dedicated.
 *  - D moves mail when (1) it had an address and has none; (2) it had an address and a new one
 *    arrives through a shared path that classify condemns (strict: outside mail-ranges or
 *    unknown; proxy: inside proxy-ranges); (3) a new address through a dedicated path lies in
 *    proxy-ranges. Other new addresses through dedicated paths: mail-host-changed (warn). */
#ifndef MXG_POLICY_H
#define MXG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/record.h"
#include "mxg/view.h"

struct mxg_policy_input {
    const char *zone;         /* canonical apex of the transaction's zone */
    const char *const *names; /* canonical owner names the transaction touches (in zone) */
    size_t n_names;
    enum mxg_mode mode; /* the effective mode for the zone (metadata already applied) */
    bool slave;         /* zone of kind slave: never blocked, judged as warn */
    /* Roots of subtrees whose answers may all change (a zone added or deleted): every mail
     * domain reaching below them is judged. */
    const char *const *roots;
    size_t n_roots;
    bool no_fix; /* the fix cannot join this transaction (zone add/delete): fix acts as reject */
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
MXG_MUST_CHECK int mxg_policy_evaluate(const struct mxg_view *view,
                                       const struct mxg_policy_input *in,
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

/* ---- the same model for scan and resolve ---- */

struct mxg_resolution;

/* Whether the path of a resolution (resolve.h, BEFORE side) is shared; why: the first reason. */
MXG_MUST_CHECK int mxg_policy_path_shared(const struct mxg_view *view, const struct mxg_config *cfg,
                                          const struct mxg_resolution *r, bool *shared, char *why,
                                          size_t whylen);

enum mxg_scan_class { MXG_SCAN_NO_MAIL, MXG_SCAN_SAFE, MXG_SCAN_AT_RISK, MXG_SCAN_BROKEN };

struct mxg_scan_result {
    enum mxg_scan_class cls;
    char **reasons; /* one line each: the mail domain, the address, the path */
    size_t n_reasons;
};

/* Classifies a zone by its mail domains (the owners of its MX RRsets and its apex), on the
 * committed state (BEFORE) of the view: no-mail, safe, at-risk or broken (PRODUCT.md §6). */
MXG_MUST_CHECK int mxg_policy_classify(const struct mxg_view *view, const struct mxg_config *cfg,
                                       const char *zone, const char *const *domains, size_t n,
                                       struct mxg_scan_result *out);
void mxg_scan_result_free(struct mxg_scan_result *r);
const char *mxg_scan_class_name(enum mxg_scan_class k); /* no-mail, safe, at-risk, broken */

#endif
