/* store.h -- the one interface between mxguard and where zones live.
 *
 * An engine (src/store/sqlite.c, src/store/postgresql.c) fills struct mxg_store_ops. The data model
 * is PowerDNS's generic-SQL schema of 4.7 (domains, records, domainmetadata, cryptokeys, tsigkeys,
 * comments), so a pdns gsqlite3 database can be served as it is; mxguard keeps its own tables
 * beside it. Names cross this interface in canonical form (dns.h), content in pdns form with the
 * priority inside MX/SRV content, types as canonical mnemonics.
 *
 * All calls are made from one thread per store handle. Writes happen inside
 * mxg_store_begin()/mxg_store_commit() (or _rollback()); reads inside a write transaction see
 * its changes. Record callbacks receive borrowed strings valid for the duration of the call;
 * a non-zero callback return stops the iteration and is returned by the call. */
#ifndef MXG_STORE_H
#define MXG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxg/err.h"
#include "mxg/limits.h"
#include "mxg/record.h"

enum mxg_zone_kind { MXG_KIND_NATIVE, MXG_KIND_MASTER, MXG_KIND_SLAVE };

struct mxg_zone {
    int64_t id;
    char name[MXG_NAME_TEXT_MAX]; /* canonical */
    enum mxg_zone_kind kind;
    char masters[1024]; /* comma-separated "IP" or "IP:port", as stored */
    int64_t last_check;
    int64_t notified_serial;
    int64_t serial; /* from the zone's SOA; 0 when it has none */
    bool has_soa;
};

/* One side (old or new row) of a change another writer made, as the capture triggers logged it.
 * Strings are borrowed for the callback only. */
struct mxg_change_side {
    bool present;        /* the op has this side (INSERT: new only; DELETE: old only) */
    const char *name;    /* records: canonical owner; domains: canonical apex; else NULL */
    const char *type;    /* records: canonical type (NULL: an empty non-terminal row);
                            domains: kind column; domainmetadata: kind; cryptokeys: NULL */
    const char *content; /* records: pdns form (MX/SRV priority joined); domains: primaries;
                            domainmetadata: the value; cryptokeys: NULL (key material is never
                            read out) */
    uint32_t ttl;        /* records: ttl; cryptokeys: flags */
    bool disabled;       /* records: disabled; cryptokeys: not active */
    bool published;      /* cryptokeys */
};

struct mxg_change {
    int64_t id;
    const char *time; /* when the row changed, RFC 3339 UTC */
    const char *tbl;  /* records, domains, domainmetadata, cryptokeys */
    const char *op;   /* INSERT, UPDATE, DELETE */
    int64_t domain_id;
    /* Rows with the same value were written by one commit (PostgreSQL: its transaction id) or,
     * where the engine cannot tell commits apart (SQLite), in the same second. */
    int64_t commit;
    struct mxg_change_side old, new_;
};
typedef int (*mxg_change_cb)(void *ctx, const struct mxg_change *c);
typedef int (*mxg_zone_cb)(void *ctx, const struct mxg_zone *zone);
typedef int (*mxg_meta_cb)(void *ctx, const char *kind, const char *value);

/* A DNSSEC key as pdns keeps it: flags 256 (ZSK) or 257 (KSK/CSK), content the ISC
 * private-key text ("Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\n..."). */
struct mxg_key {
    int64_t id;
    int64_t zone_id;
    unsigned flags;
    bool active;
    bool published;
    const char *content;
};

/* A TSIG key: name canonical, algorithm as pdns names it ("hmac-sha256"), secret base64. */
struct mxg_tsig {
    const char *name;
    const char *algorithm;
    const char *secret;
};

typedef int (*mxg_key_cb)(void *ctx, const struct mxg_key *key);
typedef int (*mxg_tsig_cb)(void *ctx, const struct mxg_tsig *key);

struct mxg_store;

/* Which audit records to read; NULL/0 fields do not filter. mxg_audit_list (audit.h) applies
 * every field to the records themselves; an engine's audit_list applies them to its stored
 * columns, which an edit of the store can make disagree with the records: only audit.c calls it
 * with more than newest_first and limit. */
struct mxg_audit_filter {
    const char *zone;    /* canonical */
    const char *verdict; /* allow, warn, reject, fix */
    const char *since;   /* RFC 3339, inclusive */
    const char *until;   /* RFC 3339, exclusive */
    int64_t after_seq;   /* records with seq > after_seq */
    int64_t limit;       /* 0: all */
    bool newest_first;
};

/* One stored audit row: the record's canonical text and the columns kept beside it for indexing
 * and chaining (seq, time, zone, verdict, hash). Only the record is the truth (audit.h). */
struct mxg_audit_row {
    int64_t seq;
    const char *time;
    const char *zone;
    const char *verdict;
    const char *record;
    const char *hash;
    size_t record_len; /* bytes stored (more than strlen(record) when it holds a NUL) */
};

struct mxg_store_ops {
    const char *name;
    void (*close)(struct mxg_store *st);

    MXG_MUST_CHECK int (*zone_get)(struct mxg_store *st, const char *name, struct mxg_zone *out);
    MXG_MUST_CHECK int (*zone_get_by_id)(struct mxg_store *st, int64_t id, struct mxg_zone *out);
    MXG_MUST_CHECK int (*zone_list)(struct mxg_store *st, mxg_zone_cb cb, void *ctx);
    MXG_MUST_CHECK int (*zone_add)(struct mxg_store *st, const char *name, enum mxg_zone_kind kind,
                                   const char *masters, int64_t *id);
    MXG_MUST_CHECK int (*zone_delete)(struct mxg_store *st, int64_t id);
    MXG_MUST_CHECK int (*zone_set_notified)(struct mxg_store *st, int64_t id, int64_t serial);
    MXG_MUST_CHECK int (*zone_set_last_check)(struct mxg_store *st, int64_t id, int64_t when);
    /* The zone's kind and primaries (comma-separated, "" for none). MXG_ENOENT: no such id. */
    MXG_MUST_CHECK int (*zone_set_kind)(struct mxg_store *st, int64_t id, enum mxg_zone_kind kind,
                                        const char *masters);

    MXG_MUST_CHECK int (*lookup)(struct mxg_store *st, int64_t zone_id, const char *name,
                                 const char *type, mxg_record_cb cb, void *ctx);
    MXG_MUST_CHECK int (*has_below)(struct mxg_store *st, int64_t zone_id, const char *name,
                                    bool *out);
    MXG_MUST_CHECK int (*list)(struct mxg_store *st, int64_t zone_id, mxg_record_cb cb, void *ctx);

    MXG_MUST_CHECK int (*meta_list)(struct mxg_store *st, int64_t zone_id, const char *kind,
                                    mxg_meta_cb cb, void *ctx);
    MXG_MUST_CHECK int (*meta_set)(struct mxg_store *st, int64_t zone_id, const char *kind,
                                   const char *const *values, size_t n);

    MXG_MUST_CHECK int (*begin)(struct mxg_store *st);
    MXG_MUST_CHECK int (*commit)(struct mxg_store *st);
    MXG_MUST_CHECK int (*rollback)(struct mxg_store *st);
    MXG_MUST_CHECK int (*rrset_delete)(struct mxg_store *st, int64_t zone_id, const char *name,
                                       const char *type);
    MXG_MUST_CHECK int (*record_add)(struct mxg_store *st, int64_t zone_id,
                                     const struct mxg_record *rec);
    MXG_MUST_CHECK int (*zone_clear)(struct mxg_store *st, int64_t zone_id);
    /* Optional: a second handle on the same store (its own connection), or MXG_EUNSUPP. */
    MXG_MUST_CHECK int (*reopen)(struct mxg_store *st, struct mxg_store **out, char *err,
                                 size_t errlen);
    /* Optional: record_add for each of recs[0..n), in one go where the engine can (a zone
     * import writes its records in batches). mxg_store_records_add falls back to record_add. */
    MXG_MUST_CHECK int (*records_add)(struct mxg_store *st, int64_t zone_id,
                                      const struct mxg_record *recs, size_t n);

    /* Records whose name or content matches a SQL LIKE pattern (escape '\\'), any zone. */
    MXG_MUST_CHECK int (*search)(struct mxg_store *st, const char *like, unsigned max,
                                 mxg_record_cb cb, void *ctx);
    /* Zones that have DNSSEC keys in cryptokeys. */
    MXG_MUST_CHECK int (*keyed_zones)(struct mxg_store *st, mxg_zone_cb cb, void *ctx);

    /* DNSSEC keys (pdns's cryptokeys table, read and written as pdns's gsql backends do).
     * key_list: the zone's keys in id order; key_get: one key of the zone (MXG_ENOENT: none with
     * that id in that zone). The writes need a write transaction (MXG_ETXN otherwise): key_add
     * stores key (its id and zone_id are ignored) and sets *id; key_set_flags changes the active
     * and published flags (-1 keeps one as it is); key_remove deletes it. Both return
     * MXG_ENOENT when the zone has no key with that id. */
    MXG_MUST_CHECK int (*key_list)(struct mxg_store *st, int64_t zone_id, mxg_key_cb cb, void *ctx);
    MXG_MUST_CHECK int (*key_get)(struct mxg_store *st, int64_t zone_id, int64_t id, mxg_key_cb cb,
                                  void *ctx);
    MXG_MUST_CHECK int (*key_add)(struct mxg_store *st, int64_t zone_id, const struct mxg_key *key,
                                  int64_t *id);
    MXG_MUST_CHECK int (*key_set_flags)(struct mxg_store *st, int64_t zone_id, int64_t id,
                                        int active, int published);
    MXG_MUST_CHECK int (*key_remove)(struct mxg_store *st, int64_t zone_id, int64_t id);
    /* TSIG keys (pdns's tsigkeys table; names canonical, compared case-insensitively).
     * tsig_get: the key of that name (the first by id when a pdns database holds several
     * algorithms for it; MXG_ENOENT: none); tsig_list: every key by name. The writes need a
     * write transaction: tsig_set replaces every key of the name by this one; tsig_delete
     * removes them (MXG_ENOENT when there is none). */
    MXG_MUST_CHECK int (*tsig_get)(struct mxg_store *st, const char *name, mxg_tsig_cb cb,
                                   void *ctx);
    MXG_MUST_CHECK int (*tsig_list)(struct mxg_store *st, mxg_tsig_cb cb, void *ctx);
    MXG_MUST_CHECK int (*tsig_set)(struct mxg_store *st, const struct mxg_tsig *key);
    MXG_MUST_CHECK int (*tsig_delete)(struct mxg_store *st, const char *name);

    /* Autoprimaries (pdns's supermasters table): NOTIFY from ip naming nameserver creates a
     * slave zone. autoprimary_find copies the account (may be "") into account. */
    MXG_MUST_CHECK int (*autoprimary_find)(struct mxg_store *st, const char *ip,
                                           const char *nameserver, char *account,
                                           size_t accountlen);
    MXG_MUST_CHECK int (*autoprimary_add)(struct mxg_store *st, const char *ip,
                                          const char *nameserver, const char *account);
    MXG_MUST_CHECK int (*autoprimary_delete)(struct mxg_store *st, const char *ip,
                                             const char *nameserver);
    MXG_MUST_CHECK int (*autoprimary_list)(struct mxg_store *st,
                                           int (*cb)(void *ctx, const char *ip,
                                                     const char *nameserver, const char *account),
                                           void *ctx);

    /* Owners (canonical) of the records of type (MX, CNAME, ALIAS or DNAME; anything else is
     * MXG_EINVAL) whose target is target (canonical; compared case-insensitively), in any zone,
     * each (zone, owner) once. Committed state, or the caller's own write transaction; disabled
     * records are left out. An index over targets keeps this off the zone size. */
    MXG_MUST_CHECK int (*referrers)(struct mxg_store *st, const char *type, const char *target,
                                    int (*cb)(void *ctx, int64_t zone_id, const char *owner),
                                    void *ctx);
    /* The same for a subtree: the records of type (as above) whose target equals root or lies
     * below it, label-wise ("xexample.com." is not below "example.com."; root "." takes every
     * target), in any zone. cb gets the owner and the target, both canonical, once per
     * (zone, owner, target), in DNSSEC order of the targets. A null MX (target ".") is never
     * reported, nor content that is no name. Cost follows the number of matches, not the
     * zones' size. MXG_EINVAL also when root does not parse. */
    MXG_MUST_CHECK int (*referrers_below)(struct mxg_store *st, const char *type, const char *root,
                                          int (*cb)(void *ctx, int64_t zone_id, const char *owner,
                                                    const char *target),
                                          void *ctx);

    /* The audit log's rows (see audit.h, which reads and checks them: use mxg_audit_head,
     * mxg_audit_list and mxg_audit_verify): appending one row, and reading rows in the order of
     * the seq column, filtered by the stored columns (see struct mxg_audit_filter). */
    MXG_MUST_CHECK int (*audit_insert)(struct mxg_store *st, int64_t seq, const char *time,
                                       const char *zone, const char *verdict, const char *record,
                                       const char *hash);
    MXG_MUST_CHECK int (*audit_list)(struct mxg_store *st, const struct mxg_audit_filter *f,
                                     int (*cb)(void *ctx, const struct mxg_audit_row *row),
                                     void *ctx);

    /* Change capture (schema 4): the changes other writers made, oldest first, at most max
     * (see struct mxg_change); and, inside a transaction, dropping those up to id upto once
     * they are handled. */
    MXG_MUST_CHECK int (*changes_list)(struct mxg_store *st, unsigned max, mxg_change_cb cb,
                                       void *ctx);
    MXG_MUST_CHECK int (*changes_trim)(struct mxg_store *st, int64_t upto);

    /* Optional. With batch_reads on, the reads made until the next end_reads share one
     * snapshot (one read transaction) instead of taking one each; a write on the handle ends
     * it first. The daemon ends it every time its loop is about to wait for I/O, so a read
     * never sees data older than the start of the loop iteration it runs in. */
    void (*batch_reads)(struct mxg_store *st, bool on);
    void (*end_reads)(struct mxg_store *st);
    /* Optional. A number that stays the same only while what reads return stays the same:
     * with batch_reads on, it opens the shared snapshot and changes whenever a commit (on
     * this handle or any other connection, any process) happened since the previous snapshot
     * or since the last write on this handle. Otherwise it changes on every call. Lets a
     * reader cache answers and know when to drop them. */
    uint64_t (*generation)(struct mxg_store *st);
};

struct mxg_store {
    const struct mxg_store_ops *ops;
};

/* Opens the store named by uri ("sqlite:/path", "postgresql://..."), creating and migrating its
 * schema when needed. Returns 0 and a new handle in *out; or MXG_EINVAL (unknown scheme),
 * MXG_ESTORE/MXG_EIO with a message in err. */
MXG_MUST_CHECK int mxg_store_open(const char *uri, struct mxg_store **out, char *err,
                                  size_t errlen);

/* Engines. */
MXG_MUST_CHECK int mxg_store_sqlite_open(const char *path, struct mxg_store **out, char *err,
                                         size_t errlen);
/* conninfo: a libpq connection URI or keyword/value string. */
MXG_MUST_CHECK int mxg_store_pg_open(const char *conninfo, struct mxg_store **out, char *err,
                                     size_t errlen);

/* What mxg_store_copy copied (and then found in both stores). */
struct mxg_store_copy_stats {
    long long zones, records, metadata, keys, tsig_keys, autoprimaries, audit_records;
};

/* Copies everything of from into to, which must hold no zone and no audit record: zones (kind,
 * primaries, notified serial), their enabled records (pdns's rectify rows and disabled records
 * are left out), metadata, DNSSEC keys (new ids), TSIG keys, autoprimaries and the audit chain
 * as stored (seq, time, text, hash). One transaction on to; then both are read back and must
 * agree (a digest over everything read), else MXG_ESTORE. err says what failed. */
MXG_MUST_CHECK int mxg_store_copy(struct mxg_store *from, struct mxg_store *to,
                                  struct mxg_store_copy_stats *stats, char *err, size_t errlen);

/* uri as it may be logged: a password in it ("user:secret@", "password=secret") is "***". */
void mxg_store_redact(const char *uri, char *out, size_t outlen);

/* Current schema version of mxguard's own tables. */
#define MXG_STORE_SCHEMA_VERSION 5
#define MXG_STORE_SCHEMA_VERSION_TEXT "5"

/* A second handle on st's store (the engine's reopen); MXG_EUNSUPP when the engine cannot
 * (an in-memory SQLite database, PostgreSQL). */
MXG_MUST_CHECK int mxg_store_reopen(struct mxg_store *st, struct mxg_store **out, char *err,
                                    size_t errlen);

/* The engine's records_add, or its record_add for each record. */
MXG_MUST_CHECK int mxg_store_records_add(struct mxg_store *st, int64_t zone_id,
                                         const struct mxg_record *recs, size_t n);

/* Calls the optional batch_reads / end_reads of the engine, if it has them. */
void mxg_store_batch_reads(struct mxg_store *st, bool on);
void mxg_store_end_reads(struct mxg_store *st);
/* The engine's generation; a fresh number on every call when it has none. */
uint64_t mxg_store_generation(struct mxg_store *st);

/* Rolls back st's open transaction where the caller's result is already decided (an error it
 * returns): a failing rollback is logged, not returned. Where the rollback's own result matters
 * (it ends a transaction that succeeded), call rollback and check it. */
void mxg_store_abandon(struct mxg_store *st);

/* The deepest served zone that contains name (canonical), or MXG_ENOENT. */
MXG_MUST_CHECK int mxg_store_find_zone(struct mxg_store *st, const char *name,
                                       struct mxg_zone *out);

const char *mxg_zone_kind_name(enum mxg_zone_kind kind); /* "native", "master", "slave" */
MXG_MUST_CHECK int mxg_zone_kind_parse(const char *s, enum mxg_zone_kind *out);

/* Thin wrappers so callers read naturally: mxg_store_lookup(st, ...). */
static inline void mxg_store_close(struct mxg_store *st)
{
    if (st)
        st->ops->close(st);
}
#define MXG_STORE_CALL(st, op, ...) ((st)->ops->op((st), __VA_ARGS__))
#define MXG_STORE_CALL0(st, op) ((st)->ops->op((st)))

#endif
