/* audit.h -- the tamper-evident audit log (PRODUCT.md §5).
 *
 * One record per write transaction that reaches commit (committed or refused) and per CLI
 * change. Records live in the store (table mxg_audit) and are written in the same store
 * transaction as the change they describe. Each record is a JSON object; its "hash" is the
 * SHA-256 (hex) of the record's canonical JSON without "hash" (keys sorted, no insignificant
 * whitespace, UTF-8), and its "prev" is the previous record's hash (64 zeros for seq 1). */
#ifndef MXG_AUDIT_H
#define MXG_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mxg/policy.h"
#include "mxg/store.h"

#define MXG_HASH_HEX 65 /* 64 hex digits + NUL */

struct mxg_audit_entry {
    const char *zone;   /* canonical */
    const char *source; /* api, dnsupdate, pdnsutil, axfr, ixfr, metadata, cli, unknown */
    const char *mode;   /* the effective mode */
    const struct mxg_decision *decision; /* verdict, findings, fix; NULL: allow, nothing found */
    const struct mxg_rrset_change *changes;
    size_t n_changes;
    json_t *metadata; /* optional: {"kind": [values]} changed by the transaction (borrowed) */
};

/* Current time as RFC 3339 UTC with milliseconds ("2026-11-23T20:10:00.123Z"). */
void mxg_audit_now(char buf[32]);

/* Builds the record for e with the next seq, chains it to the store's head and inserts it.
 * Must be called inside the caller's store transaction. *seq and hash receive the new head;
 * record (may be NULL) a new malloc'd copy of the record's text. Returns 0, MXG_ENOMEM or a
 * store error. */
int mxg_audit_append(struct mxg_store *st, const struct mxg_audit_entry *e, int64_t *seq,
                     char hash[MXG_HASH_HEX], char **record);

/* Builds the JSON record (without seq, time, prev, hash) -- exposed for `check`. New reference. */
json_t *mxg_audit_body(const struct mxg_audit_entry *e);

/* SHA-256 (hex) of the canonical JSON of obj without its "hash" key. Returns 0 or MXG_ENOMEM. */
int mxg_audit_hash(json_t *obj, char hash[MXG_HASH_HEX]);

/* Canonical JSON text of obj (sorted keys, compact, UTF-8): a new malloc'd string or NULL. */
char *mxg_audit_canonical(json_t *obj);

struct mxg_audit_verify {
    int64_t records;   /* records checked */
    int64_t first_bad; /* seq (or position) of the first bad record, 0 when all good */
    char reason[256];  /* why it is bad, or why the head does not match */
    int64_t head_seq;
    char head_hash[MXG_HASH_HEX];
};

/* Recomputes the chain from seq 1. With expect_head ("SEQ:HASH"), also checks that the record
 * with that seq still exists with that hash (catches the newest records being cut off).
 * Returns 0 when the chain (and head) verify, MXG_EINVAL when not (details in res), or a store
 * error. */
int mxg_audit_verify(struct mxg_store *st, const char *expect_head, struct mxg_audit_verify *res);

#endif
