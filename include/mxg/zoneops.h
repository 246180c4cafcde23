/* zoneops.h -- zone-level operations shared by the CLI and the control socket: creating and
 * deleting zones and importing master files, each one store transaction with its audit record
 * (source "cli"). Imports are guarded like any other write; zone creation and deletion are
 * operator actions and only audited. */
#ifndef MXG_ZONEOPS_H
#define MXG_ZONEOPS_H

#include <stddef.h>

#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/guard.h"
#include "mxg/store.h"

/* Creates zone (canonical name) with an SOA (mname = first NS, or pdns's placeholder
 * "a.misconfigured.dns.server.invalid" without one; rname hostmaster.<zone>; serial YYYYMMDD01),
 * the NS records given, and metadata SOA-EDIT-API=DEFAULT. masters: comma-separated or NULL.
 * Returns 0; MXG_EEXIST; MXG_EINVAL (bad NS name) or a store error, with a message in err. */
MXG_MUST_CHECK int mxg_zone_create(struct mxg_store *st, const struct mxg_config *cfg,
                                   const char *zone, enum mxg_zone_kind kind, const char *masters,
                                   const char *const *ns, size_t nns, char *err, size_t errlen);

/* A zone to create, with everything pdns's POST /zones can say about it. */
struct mxg_zone_spec {
    const char *zone; /* canonical */
    enum mxg_zone_kind kind;
    const char *masters; /* comma-separated, or NULL */
    const char *const *ns;
    size_t nns;
    const char *soa_edit_api; /* NULL: "DEFAULT" (pdns's default); "": none */
    const char *source;       /* audit source; NULL: "cli" */
    /* pdns's API form (POST /zones): the SOA of pdns's default-soa-content ("a.misconfigured.
     * dns.server.invalid hostmaster.<zone> <serial> 10800 3600 604800 3600") with serial and
     * soa_edit_api applied as pdns applies them; NS records and SOA-EDIT-API for secondaries
     * too; a secondary needs no primaries. Else the CLI's form (mname = first NS). */
    bool pdns_form;
    long long serial; /* pdns_form: the body's "serial" (0 when absent) */
};

/* mxg_zone_create with a spec; MXG_EBUSY when the guard refuses (err names the audit seq). */
MXG_MUST_CHECK int mxg_zone_create_spec(struct mxg_store *st, const struct mxg_config *cfg,
                                        const struct mxg_zone_spec *spec, char *err, size_t errlen);

/* Deletes a zone with its records and metadata, judged and audited under source (NULL: "cli").
 * Returns 0, MXG_ENOENT, MXG_EBUSY (refused) or a store error. */
MXG_MUST_CHECK int mxg_zone_remove(struct mxg_store *st, const struct mxg_config *cfg,
                                   const char *zone, const char *source, char *err, size_t errlen);

/* Sets a zone's kind and primaries (comma-separated, "" for none), in one
 * transaction with an audit record (source, verdict allow: the served answers do not change)
 * whose "settings" member holds the kind and primaries before and after. Returns 0, MXG_ENOENT
 * or a store error, with a message in err. */
MXG_MUST_CHECK int mxg_zone_set_kind(struct mxg_store *st, const struct mxg_config *cfg,
                                     const char *zone, enum mxg_zone_kind kind, const char *masters,
                                     const char *source, char *err, size_t errlen);

/* Imports an RFC 1035 master file into zone: creates the zone (native, SOA-EDIT-API=DEFAULT)
 * when absent, else replaces all its records. One guarded transaction: on a parse error
 * nothing changes and err names file and line; a refusal by the guard (res->refused) changes
 * nothing but its audit record. The file must hold exactly one SOA, at the apex; every owner
 * must lie in the zone. *count receives the number of records read. res (may be NULL) receives
 * the decision; free it with mxg_guard_result_free. */
MXG_MUST_CHECK int mxg_zone_import(struct mxg_store *st, const struct mxg_config *cfg,
                                   const char *zone, const char *path, size_t *count,
                                   struct mxg_guard_result *res, char *err, size_t errlen);

/* Splits the pdns-control command on blanks into argv (pointing into buf) and appends
 * "rediscover". Returns the argument count, 0 when there is no command. argv needs 32 slots. */
int mxg_pdns_rediscover_argv(const char *pdns_control, char *buf, size_t buflen, char **argv);

/* Runs "<pdns_control> rediscover" (the command split on blanks) so pdns reloads its zone
 * list; does nothing when pdns_control is NULL. A failure is logged and changes nothing for the
 * caller: the zone change stands, and pdns learns of it at its next zone-cache refresh. */
void mxg_pdns_rediscover(const char *pdns_control);

#endif
