/* audit.h -- the tamper-evident audit log (PRODUCT.md §5).
 *
 * One record per write transaction that reaches commit (committed or refused) and per CLI
 * change. Records live in the store (table mxg_audit) and are written in the same store
 * transaction as the change they describe. Each record is a JSON object; its "hash" is the
 * SHA-256 (hex) of the record's canonical JSON without "hash" (keys sorted, no insignificant
 * whitespace, UTF-8), and its "prev" is the previous record's hash (64 zeros for seq 1).
 *
 * The record's text is the one source of truth. The columns stored beside it (seq, time, zone,
 * verdict, hash: for indexing and chaining) are never trusted: mxg_audit_verify checks each of
 * them against the record, the head a new record chains to is read from the newest record's
 * text, and mxg_audit_list filters on the records themselves. */
#ifndef MXG_AUDIT_H
#define MXG_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mxg/err.h"
#include "mxg/policy.h"
#include "mxg/store.h"

#define MXG_HASH_HEX 65 /* 64 hex digits + NUL */

struct mxg_audit_entry {
    const char *zone;   /* canonical */
    const char *source; /* api, dnsupdate, pdnsutil, axfr, ixfr, metadata, dnssec, cli, external,
                           fix, unknown */
    const char *mode;   /* the effective mode */
    const struct mxg_decision *decision; /* verdict, findings, fix; NULL: allow, nothing found */
    const struct mxg_rrset_change *changes;
    size_t n_changes;
    json_t *metadata; /* optional: {"kind": [values]} changed by the transaction (borrowed) */
    json_t *settings; /* optional: zone settings changed, {"kind": [before, after], ...} */
    json_t *keys;     /* optional: the DNSSEC or TSIG key change (source dnssec): what and which
                         key, never key material (backend_keys.h) */
    int64_t repairs;  /* source fix after an out-of-band write: the seq of the external record
                         this one repairs ("repairs"); 0: none */
    /* optional: mxg_audit_start(changes, n_changes), made ahead (borrowed) */
    const struct mxg_audit_start *start;
};

/* The start of a record's canonical text, its change list, written out and hashed ahead of
 * mxg_audit_append: a large import's list is megabytes, and another thread can make it while
 * the transaction writes its rows. NULL when out of memory. */
struct mxg_audit_start;
struct mxg_audit_start *mxg_audit_start(const struct mxg_rrset_change *changes, size_t n);
void mxg_audit_start_free(struct mxg_audit_start *s);

/* Longest node name (config key node-name). */
#define MXG_NODE_NAME_MAX 64

/* Records appended from now on name this node in a "node" member (NULL or "": none). Called
 * once at start (daemon, CLI): nodes sharing a PostgreSQL store write one chain, and each record
 * says which node wrote it. */
void mxg_audit_set_node(const char *name);

/* Current time as RFC 3339 UTC with milliseconds ("2026-11-23T20:10:00.123Z"). */
void mxg_audit_now(char buf[32]);

/* The head a new record chains to: the seq column of the newest row (seq 0 and 64 zeros when
 * the log is empty; the next record takes seq + 1, the one key the row can be stored under) and
 * the hash of that row's record as the record itself states it -- its "hash" member, when it
 * recomputes -- never the hash column alone, which an edit could change without touching the
 * record. When the newest record itself was altered (its "hash" member does not recompute, or
 * the text is not JSON), the hash column is used if it is 64 hex digits (the other copy of the
 * hash the record was written with), else the "hash" member if well-formed, else 64 zeros. The
 * append goes on in every case -- refusing it would stop every commit -- and verify names the
 * damaged record. Returns 0, MXG_ENOMEM or a store error. */
MXG_MUST_CHECK int mxg_audit_head(struct mxg_store *st, int64_t *seq, char hash[MXG_HASH_HEX]);

/* Builds the record for e with the next seq, chains it to the head (mxg_audit_head) and inserts
 * it. Must be called inside the caller's store transaction. *seq and hash receive the new head;
 * record (may be NULL) a new malloc'd copy of the record's text. Returns 0, MXG_ENOMEM or a
 * store error. */
MXG_MUST_CHECK int mxg_audit_append(struct mxg_store *st, const struct mxg_audit_entry *e,
                                    int64_t *seq, char hash[MXG_HASH_HEX], char **record);

/* Builds the JSON record (without seq, time, prev, hash) -- exposed for `check`. New reference. */
json_t *mxg_audit_body(const struct mxg_audit_entry *e);

/* A JSON string of s (NULL: ""); bytes that are not UTF-8 (a refused write's raw owner name,
 * another writer's Latin-1 metadata, text cut in the middle of a character) become '?', so that
 * a record can always be written. NULL only when out of memory. */
json_t *mxg_audit_text(const char *s);

/* SHA-256 (hex) of the canonical JSON of obj without its "hash" key. Returns 0 or MXG_ENOMEM. */
MXG_MUST_CHECK int mxg_audit_hash(json_t *obj, char hash[MXG_HASH_HEX]);

/* Canonical JSON text of obj (sorted keys, compact, UTF-8): a new malloc'd string or NULL. */
char *mxg_audit_canonical(json_t *obj);

/* One record of a listing: seq from the record (the row's seq column when the record cannot be
 * read), its stored text, and the object parsed from it (borrowed; NULL when the text is not a
 * JSON object). A non-zero return stops the listing and is returned by it. */
typedef int (*mxg_audit_cb)(void *ctx, int64_t seq, const char *record, json_t *obj);

/* The records that f selects, in the order of the store's seq column (newest first with
 * f->newest_first), at most f->limit of them. Every filter is applied to the record itself --
 * its "seq", "zone", "verdict" and "time" members -- never to the columns stored beside it, so an
 * edited column neither hides a record nor adds one. A record that cannot be read (not a JSON
 * object) matches no zone, verdict or time filter; after_seq then uses its seq column. Reads and
 * parses every row: the cost grows with the log. Returns 0, MXG_ENOMEM, a store error or cb's
 * non-zero return. */
MXG_MUST_CHECK int mxg_audit_list(struct mxg_store *st, const struct mxg_audit_filter *f,
                                  mxg_audit_cb cb, void *ctx);

struct mxg_audit_verify {
    int64_t records;   /* records checked */
    int64_t first_bad; /* seq (or position) of the first bad record, 0 when all good */
    char reason[256];  /* why it is bad, or why the head does not match */
    int64_t head_seq;
    char head_hash[MXG_HASH_HEX];
};

/* Recomputes the chain from seq 1 and checks every stored byte of each row against its record:
 * the row's seq column is the next seq and equals the record's "seq"; the record text is valid
 * JSON in canonical form (re-serialising it gives the same bytes); its "prev" is the previous
 * record's "hash"; its "hash" recomputes; and the row's hash, time, zone and verdict columns
 * equal the record's members. Stops at the first bad record (res->first_bad, res->reason naming
 * what is wrong). With expect_head ("SEQ:HASH"), also checks that the record with that seq still
 * exists with that hash (catches the newest records being cut off).
 * Returns 0 when the chain (and head) verify, MXG_EINVAL when not (details in res), or a store
 * error. */
MXG_MUST_CHECK int mxg_audit_verify(struct mxg_store *st, const char *expect_head,
                                    struct mxg_audit_verify *res);

#endif
