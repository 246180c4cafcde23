/* txn.h -- one open write transaction of a backend connection.
 *
 * pdns's writes (replaceRRSet, feedRecord, setDomainMetadata inside a transaction) are buffered
 * here, per owner name, and applied to the store in one store transaction at commit. Reads on
 * the same connection go through the overlay and see the uncommitted state; other connections
 * see the committed store. The buffered change set, together with the committed state, is what
 * the guard judges at commit: "before" is the store, "after" is the overlay.
 *
 * Names are canonical (dns.h), types canonical mnemonics, content in pdns form. All strings
 * passed in are copied. */
#ifndef MXG_TXN_H
#define MXG_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxg/err.h"
#include "mxg/store.h"

struct mxg_txn;

/* One buffered record. */
struct mxg_txn_rec {
    char *type;
    char *content;
    uint32_t ttl;
    bool auth;
};

/* What the transaction does to one owner name: drops every stored record (cleared) or those of
 * some types (del_types), then adds records. */
struct mxg_txn_name {
    char *name;
    bool cleared;
    char **del_types;
    size_t n_del;
    struct mxg_txn_rec *add;
    size_t n_add;
    size_t cap_add;
};

/* zone is canonical; wipe: the transaction starts from an empty zone (AXFR-in, load-zone).
 * Returns 0 or MXG_ENOMEM. */
MXG_MUST_CHECK int mxg_txn_new(int64_t zone_id, const char *zone, bool wipe, int64_t trxid,
                               struct mxg_txn **out);
void mxg_txn_free(struct mxg_txn *t);

int64_t mxg_txn_zone_id(const struct mxg_txn *t);
const char *mxg_txn_zone(const struct mxg_txn *t);
int64_t mxg_txn_trxid(const struct mxg_txn *t);
bool mxg_txn_wipes(const struct mxg_txn *t);
/* A refused write poisons the transaction: its commit must be refused (and audited, with the
 * finding invalid-record naming the write). reason is copied. Only the first refusal is kept. */
void mxg_txn_poison(struct mxg_txn *t, const char *reason);
/* The same, naming the refused write: its owner name as written and its content (each NULL when
 * the write had none; copied). */
void mxg_txn_poison_write(struct mxg_txn *t, const char *name, const char *content,
                          const char *reason);
const char *mxg_txn_poisoned(const struct mxg_txn *t); /* the first reason, or NULL */
/* The first refused write's owner name and content, or NULL when not known. */
const char *mxg_txn_poison_name(const struct mxg_txn *t);
const char *mxg_txn_poison_content(const struct mxg_txn *t);
/* Number of records added so far (limit MXG_TXN_RECORDS_MAX). */
size_t mxg_txn_record_count(const struct mxg_txn *t);
/* True when the transaction changes nothing (no record or metadata write). */
bool mxg_txn_empty(const struct mxg_txn *t);

/* replaceRRSet: drop name's records of type (NULL: all types), then add recs (each with its own
 * type). A type that matches no stored record (pdns's "TYPE0") drops nothing. Exact duplicates
 * (type and content) are added once. Returns 0, MXG_ENOMEM or MXG_ERANGE (record limit). */
MXG_MUST_CHECK int mxg_txn_replace(struct mxg_txn *t, const char *name, const char *type,
                                   const struct mxg_txn_rec *recs, size_t n);
/* feedRecord: add one record. */
MXG_MUST_CHECK int mxg_txn_add(struct mxg_txn *t, const char *name, const struct mxg_txn_rec *rec);
/* setDomainMetadata inside the transaction: replaces kind's values at commit. */
MXG_MUST_CHECK int mxg_txn_meta_set(struct mxg_txn *t, const char *kind, const char *const *values,
                                    size_t n);

/* The metadata the transaction sets: number of kinds, and kind i with its values. */
size_t mxg_txn_meta_count(const struct mxg_txn *t);
void mxg_txn_meta_at(const struct mxg_txn *t, size_t i, const char **kind,
                     const char *const **values, size_t *n);

/* Overlay reads: what the store would hold after commit, for the transaction's zone. */
MXG_MUST_CHECK int mxg_txn_lookup(struct mxg_txn *t, struct mxg_store *st, const char *name,
                                  const char *type, mxg_record_cb cb, void *ctx);
MXG_MUST_CHECK int mxg_txn_has_below(struct mxg_txn *t, struct mxg_store *st, const char *name,
                                     bool *out);
MXG_MUST_CHECK int mxg_txn_list(struct mxg_txn *t, struct mxg_store *st, mxg_record_cb cb,
                                void *ctx);
/* Metadata of kind (NULL: all) as it would be after commit. */
MXG_MUST_CHECK int mxg_txn_meta_list(struct mxg_txn *t, struct mxg_store *st, const char *kind,
                                     mxg_meta_cb cb, void *ctx);

/* The touched names, in first-touch order. */
size_t mxg_txn_name_count(const struct mxg_txn *t);
const struct mxg_txn_name *mxg_txn_name_at(const struct mxg_txn *t, size_t i);
/* The entry of a touched name (canonical), or NULL when the transaction leaves it alone. */
const struct mxg_txn_name *mxg_txn_name_get(const struct mxg_txn *t, const char *name);
/* True when the transaction removes the name's stored records of type (cleared, or the RRset
 * replaced or deleted). */
bool mxg_txn_name_drops(const struct mxg_txn_name *e, const char *type);
/* The touched names to which the transaction adds a record of type (MX, CNAME, ALIAS or DNAME)
 * whose target is target (canonical), each once. An index over the added records, built at the
 * first call after a change, keeps this independent of the transaction's size. cb's non-zero
 * return stops the walk and is returned; MXG_ENOMEM when the index cannot be built. */
MXG_MUST_CHECK int mxg_txn_referrers(struct mxg_txn *t, const char *type, const char *target,
                                     int (*cb)(void *ctx, const struct mxg_txn_name *e), void *ctx);
/* The same for a subtree: the touched names to which the transaction adds a record of type (MX,
 * CNAME, ALIAS or DNAME) whose target equals root or lies below it, label-wise; cb gets the name
 * and the canonical target (borrowed for the call), once per (name, target), in first-touch
 * order. A null MX (target ".") and content that is no name are left out. Only what the
 * transaction adds: the stored referrers it keeps are the store's referrers_below less those
 * that mxg_txn_name_drops() or a wipe removes. A walk over the added records (cost follows the
 * change). cb's non-zero return stops the walk and is returned; MXG_EINVAL for another type or a
 * root that does not parse. */
MXG_MUST_CHECK int mxg_txn_referrers_below(struct mxg_txn *t, const char *type, const char *root,
                                           int (*cb)(void *ctx, const struct mxg_txn_name *e,
                                                     const char *target),
                                           void *ctx);

/* Applies the transaction to the store inside the caller's store transaction (the caller
 * begins and commits, so that more rows, e.g. the audit record, join the same commit). Cost
 * grows with the change, not the zone (except a wipe, which clears the zone). */
MXG_MUST_CHECK int mxg_txn_apply(struct mxg_txn *t, struct mxg_store *st);

#endif
