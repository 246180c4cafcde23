/* sqlite.c -- the embedded SQLite store engine.
 *
 * Tables: PowerDNS 4.7 generic-SQL schema (exactly what pdns's gsqlite3 backend creates) plus
 * mxguard's own: mxg_meta (schema version and markers) and mxg_names (one row per owner name,
 * keyed by the reversed-label key of dns.h, so "is there anything below this name?" is one
 * index range probe), mxg_targets (the targets of MX/CNAME/ALIAS/DNAME records under the same
 * key, for the guard's reverse lookups) and mxg_audit. WAL journal with synchronous=FULL: a commit
 * is on disk when it returns.
 *
 * pdns-compatibility details of the generic-SQL schema kept here:
 *  - names are stored lowercase without trailing dot ("www.example.com", apex = zone name);
 *  - MX and SRV keep their priority in the prio column and the rest in content;
 *  - records with type NULL are empty non-terminals written by pdns's rectify;
 *  - disabled records are never served. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "engine.h"
#include "mxg/err.h"

/* Bytes of the database file read through a memory map (SQLite caps it at its compile-time
 * maximum, 2 GiB in Debian's build). */
#define MMAP_SIZE "1073741824"
#define NEW_STORE_PAGE_SIZE "16384"

static const char PDNS_SCHEMA[] =
    "CREATE TABLE domains ("
    " id INTEGER PRIMARY KEY,"
    " name VARCHAR(255) NOT NULL COLLATE NOCASE,"
    " master VARCHAR(128) DEFAULT NULL,"
    " last_check INTEGER DEFAULT NULL,"
    " type VARCHAR(8) NOT NULL,"
    " notified_serial INTEGER DEFAULT NULL,"
    " account VARCHAR(40) DEFAULT NULL,"
    " options VARCHAR(65535) DEFAULT NULL,"
    " catalog VARCHAR(255) DEFAULT NULL);"
    "CREATE UNIQUE INDEX name_index ON domains(name);"
    "CREATE INDEX catalog_idx ON domains(catalog);"
    "CREATE TABLE records ("
    " id INTEGER PRIMARY KEY,"
    " domain_id INTEGER DEFAULT NULL,"
    " name VARCHAR(255) DEFAULT NULL,"
    " type VARCHAR(10) DEFAULT NULL,"
    " content VARCHAR(65535) DEFAULT NULL,"
    " ttl INTEGER DEFAULT NULL,"
    " prio INTEGER DEFAULT NULL,"
    " disabled BOOLEAN DEFAULT 0,"
    " ordername VARCHAR(255),"
    " auth BOOL DEFAULT 1,"
    " FOREIGN KEY(domain_id) REFERENCES domains(id) ON DELETE CASCADE ON UPDATE CASCADE);"
    "CREATE INDEX records_lookup_idx ON records(name, type);"
    "CREATE INDEX records_lookup_id_idx ON records(domain_id, name, type);"
    "CREATE INDEX records_order_idx ON records(domain_id, ordername);"
    "CREATE TABLE supermasters ("
    " ip VARCHAR(64) NOT NULL,"
    " nameserver VARCHAR(255) NOT NULL COLLATE NOCASE,"
    " account VARCHAR(40) NOT NULL);"
    "CREATE UNIQUE INDEX ip_nameserver_pk ON supermasters(ip, nameserver);"
    "CREATE TABLE comments ("
    " id INTEGER PRIMARY KEY,"
    " domain_id INTEGER NOT NULL,"
    " name VARCHAR(255) NOT NULL,"
    " type VARCHAR(10) NOT NULL,"
    " modified_at INT NOT NULL,"
    " account VARCHAR(40) DEFAULT NULL,"
    " comment VARCHAR(65535) NOT NULL,"
    " FOREIGN KEY(domain_id) REFERENCES domains(id) ON DELETE CASCADE ON UPDATE CASCADE);"
    "CREATE INDEX comments_idx ON comments(domain_id, name, type);"
    "CREATE INDEX comments_order_idx ON comments (domain_id, modified_at);"
    "CREATE TABLE domainmetadata ("
    " id INTEGER PRIMARY KEY,"
    " domain_id INT NOT NULL,"
    " kind VARCHAR(32) COLLATE NOCASE,"
    " content TEXT,"
    " FOREIGN KEY(domain_id) REFERENCES domains(id) ON DELETE CASCADE ON UPDATE CASCADE);"
    "CREATE INDEX domainmetaidindex ON domainmetadata(domain_id);"
    "CREATE TABLE cryptokeys ("
    " id INTEGER PRIMARY KEY,"
    " domain_id INT NOT NULL,"
    " flags INT NOT NULL,"
    " active BOOL,"
    " published BOOL DEFAULT 1,"
    " content TEXT,"
    " FOREIGN KEY(domain_id) REFERENCES domains(id) ON DELETE CASCADE ON UPDATE CASCADE);"
    "CREATE INDEX domainidindex ON cryptokeys(domain_id);"
    "CREATE TABLE tsigkeys ("
    " id INTEGER PRIMARY KEY,"
    " name VARCHAR(255) COLLATE NOCASE,"
    " algorithm VARCHAR(50) COLLATE NOCASE,"
    " secret VARCHAR(255));"
    "CREATE UNIQUE INDEX namealgoindex ON tsigkeys(name, algorithm);";

/* mxguard's own tables, version 4: change capture. Every change to zone data by another writer
 * (a panel's SQL, pdns's gsqlite3, the sqlite3 shell) leaves a row in mxg_changes with the old
 * and the new row, written by triggers; mxguard's own write transactions hold a row in mxg_self
 * (never committed), and the triggers pass them by. The columns are shared by the four tables:
 *   records         name, type, content, ttl, prio, disabled
 *   domains         name, type (its kind), content (its primaries)
 *   domainmetadata  type (the kind), content
 *   cryptokeys      content, ttl (flags), prio (published), disabled (not active)
 * The triggers use nothing but plain SQL, so they cannot make another writer's statement fail
 * for want of a function. Only the columns that change what is served count: pdns's own
 * bookkeeping (notified_serial, last_check, ordername, auth) is left out. */
#define CC_COLS(side)                                                                              \
    side "_name, " side "_type, " side "_content, " side "_ttl, " side "_prio, " side "_disabled"
#define CC_TRIGGER(tbl, op, when_cols, did, oldv, newv)                                            \
    "CREATE TRIGGER IF NOT EXISTS mxg_cc_" tbl "_" op " AFTER " op when_cols " ON " tbl            \
    " WHEN NOT EXISTS (SELECT 1 FROM mxg_self) BEGIN INSERT INTO mxg_changes (tbl, op,"            \
    " domain_id, " CC_COLS("old") ", " CC_COLS("new") ") VALUES ('" tbl "', '" op "', " did        \
                                                      ", " oldv ", " newv "); END;"
#define CC_NONE "NULL, NULL, NULL, NULL, NULL, NULL"
#define CC_REC(r) r ".name, " r ".type, " r ".content, " r ".ttl, " r ".prio, " r ".disabled"
#define CC_DOM(r) r ".name, " r ".type, " r ".master, NULL, NULL, NULL"
#define CC_META(r) "NULL, " r ".kind, " r ".content, NULL, NULL, NULL"
#define CC_KEY(r) "NULL, NULL, " r ".content, " r ".flags, " r ".published, NOT " r ".active"
static const char MXG_SCHEMA_V4[] =
    "CREATE TABLE IF NOT EXISTS mxg_self (x INTEGER);"
    "CREATE TABLE IF NOT EXISTS mxg_changes ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
    " tbl TEXT NOT NULL,"
    " op TEXT NOT NULL,"
    " domain_id INTEGER,"
    " old_name TEXT, old_type TEXT, old_content TEXT, old_ttl INTEGER, old_prio INTEGER,"
    " old_disabled INTEGER,"
    " new_name TEXT, new_type TEXT, new_content TEXT, new_ttl INTEGER, new_prio INTEGER,"
    " new_disabled INTEGER);" CC_TRIGGER("records", "INSERT", "", "NEW.domain_id", CC_NONE,
                                         CC_REC("NEW"))
        CC_TRIGGER("records", "UPDATE", " OF domain_id, name, type, content, ttl, prio, disabled",
                   "NEW.domain_id", CC_REC("OLD"),
                   CC_REC("NEW")) CC_TRIGGER("records", "DELETE", "", "OLD.domain_id",
                                             CC_REC("OLD"), CC_NONE)
            CC_TRIGGER("domains", "INSERT", "", "NEW.id", CC_NONE, CC_DOM("NEW")) CC_TRIGGER(
                "domains", "UPDATE", " OF name, type, master", "NEW.id", CC_DOM("OLD"),
                CC_DOM("NEW")) CC_TRIGGER("domains", "DELETE", "", "OLD.id", CC_DOM("OLD"), CC_NONE)
                CC_TRIGGER("domainmetadata", "INSERT", "", "NEW.domain_id", CC_NONE, CC_META("NEW"))
                    CC_TRIGGER("domainmetadata", "UPDATE", " OF domain_id, kind, content",
                               "NEW.domain_id", CC_META("OLD"), CC_META("NEW"))
                        CC_TRIGGER("domainmetadata", "DELETE", "", "OLD.domain_id", CC_META("OLD"),
                                   CC_NONE) CC_TRIGGER("cryptokeys", "INSERT", "", "NEW.domain_id",
                                                       CC_NONE, CC_KEY("NEW"))
                            CC_TRIGGER("cryptokeys", "UPDATE",
                                       " OF domain_id, flags, active, published, content",
                                       "NEW.domain_id", CC_KEY("OLD"), CC_KEY("NEW"))
                                CC_TRIGGER("cryptokeys", "DELETE", "", "OLD.domain_id",
                                           CC_KEY("OLD"), CC_NONE);

/* mxguard's own tables, version 3: the targets of MX, CNAME, ALIAS and DNAME records (enabled
 * ones, null MX left out), keyed by type and the reversed-label key of the target, so both "who
 * points at N?" and "who points at or below N?" are one index range; target holds the canonical
 * text of trkey. It replaces version 2's partial index on records. */
static const char MXG_SCHEMA_V3[] =
    "DROP INDEX IF EXISTS mxg_records_target;"
    "CREATE TABLE IF NOT EXISTS mxg_targets ("
    " type TEXT NOT NULL,"
    " trkey BLOB NOT NULL,"
    " domain_id INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " PRIMARY KEY (type, trkey, domain_id, name)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS mxg_targets_owner ON mxg_targets(domain_id, name, type);";

/* mxguard's own tables, version 2: the audit log. (Version 2 also put a partial index over MX,
 * CNAME and ALIAS content on records, mxg_records_target; version 3 drops it, so it is no longer
 * created on the way.) */
static const char MXG_SCHEMA_V2[] =
    "CREATE TABLE IF NOT EXISTS mxg_audit ("
    " seq INTEGER PRIMARY KEY,"
    " time TEXT NOT NULL,"
    " zone TEXT NOT NULL,"
    " verdict TEXT NOT NULL,"
    " record TEXT NOT NULL,"
    " hash TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS mxg_audit_zone ON mxg_audit(zone, seq);";

/* mxguard's own tables, version 1. */
static const char MXG_SCHEMA_V1[] =
    "CREATE TABLE IF NOT EXISTS mxg_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS mxg_names ("
    " domain_id INTEGER NOT NULL,"
    " rkey BLOB NOT NULL,"
    " PRIMARY KEY (domain_id, rkey)) WITHOUT ROWID;";

enum stmt_id {
    S_ZONE_GET,
    S_ZONE_GET_ID,
    S_ZONE_LIST,
    S_ZONE_ADD,
    S_ZONE_DEL,
    S_ZONE_DEL_NAMES,
    S_ZONE_KNOWN,
    S_ZONE_DEL_META,
    S_ZONE_DEL_KEYS,
    S_ZONE_DEL_COMMENTS,
    S_ZONE_NOTIFIED,
    S_ZONE_LASTCHECK,
    S_ZONE_KIND,
    S_LOOKUP_ANY,
    S_LOOKUP_TYPE,
    S_HAS_BELOW,
    S_LIST,
    S_META_ALL,
    S_META_KIND,
    S_META_DEL,
    S_META_ADD,
    S_BEGIN,
    S_COMMIT,
    S_SELF_ON,
    S_SELF_OFF,
    S_ROLLBACK,
    S_BEGIN_READ,
    S_DATA_VERSION,
    S_RRSET_DEL_ANY,
    S_RRSET_DEL_TYPE,
    S_NAME_LEFT,
    S_NAME_DEL,
    S_NAME_ADD,
    S_REC_ADD,
    S_ZONE_CLEAR,
    S_ZONE_CLEAR_NAMES,
    S_SEARCH,
    S_KEYED,
    S_KEY_LIST,
    S_KEY_GET,
    S_KEY_ADD,
    S_KEY_FLAGS,
    S_KEY_DEL,
    S_TSIG_GET,
    S_TSIG_LIST,
    S_TSIG_ADD,
    S_TSIG_DEL,
    S_AP_FIND,
    S_AP_ADD,
    S_AP_DEL,
    S_AP_LIST,
    S_REFERRERS,
    S_REFERRERS_BELOW,
    S_TARGET_ADD,
    S_TARGET_DEL_ANY,
    S_TARGET_DEL_TYPE,
    S_ZONE_CLEAR_TARGETS,
    S_AUDIT_INSERT,
    S_CHANGES_LIST,
    S_CHANGES_TRIM,
    S_REC_ADD_BULK,
    S_NAME_ADD_BULK,
    S_TARGET_ADD_BULK,
    S_COUNT
};

#define ZONE_COLS                                                                                  \
    "d.id, d.name, d.type, d.master, d.last_check, d.notified_serial,"                             \
    " (SELECT content FROM records r WHERE r.domain_id = d.id AND r.name = lower(d.name)"          \
    "  AND r.type = 'SOA' AND r.disabled = 0 LIMIT 1)"

/* records_add writes BULK records with one statement, their names BULK at a time and their
 * targets TARGET_BULK at a time (a statement per row costs SQLite about as much again as the
 * row itself). The name and target statements ignore rows already there, so a short batch is
 * padded by repeating its last row. */
#define BULK 64
#define TARGET_BULK 16
#define ROWS2(r) r "," r
#define ROWS4(r) ROWS2(r) "," ROWS2(r)
#define ROWS16(r) ROWS4(r) "," ROWS4(r) "," ROWS4(r) "," ROWS4(r)
#define ROWS64(r) ROWS16(r) "," ROWS16(r) "," ROWS16(r) "," ROWS16(r)

static const char *const STMT_SQL[S_COUNT] = {
    [S_ZONE_GET] = "SELECT " ZONE_COLS " FROM domains d WHERE d.name = ?1",
    [S_ZONE_GET_ID] = "SELECT " ZONE_COLS " FROM domains d WHERE d.id = ?1",
    [S_ZONE_LIST] = "SELECT " ZONE_COLS " FROM domains d ORDER BY d.name",
    [S_ZONE_ADD] = "INSERT INTO domains (name, type, master) VALUES (?1, ?2, ?3)",
    [S_ZONE_DEL] = "DELETE FROM domains WHERE id = ?1",
    [S_ZONE_DEL_NAMES] = "DELETE FROM mxg_names WHERE domain_id = ?1",
    [S_ZONE_KNOWN] = "SELECT 1 FROM domains WHERE id = ?1",
    [S_ZONE_DEL_META] = "DELETE FROM domainmetadata WHERE domain_id = ?1",
    [S_ZONE_DEL_KEYS] = "DELETE FROM cryptokeys WHERE domain_id = ?1",
    [S_ZONE_DEL_COMMENTS] = "DELETE FROM comments WHERE domain_id = ?1",
    [S_ZONE_NOTIFIED] = "UPDATE domains SET notified_serial = ?2 WHERE id = ?1",
    [S_ZONE_LASTCHECK] = "UPDATE domains SET last_check = ?2 WHERE id = ?1",
    [S_ZONE_KIND] = "UPDATE domains SET type = ?2, master = ?3 WHERE id = ?1",
    [S_LOOKUP_ANY] = "SELECT type, content, ttl, prio, auth FROM records"
                     " WHERE domain_id = ?1 AND name = ?2 AND disabled = 0 ORDER BY type, id",
    [S_LOOKUP_TYPE] = "SELECT type, content, ttl, prio, auth FROM records"
                      " WHERE domain_id = ?1 AND name = ?2 AND type = ?3 AND disabled = 0"
                      " ORDER BY id",
    [S_HAS_BELOW] = "SELECT 1 FROM mxg_names WHERE domain_id = ?1 AND rkey > ?2 AND rkey < ?3"
                    " LIMIT 1",
    [S_LIST] = "SELECT name, type, content, ttl, prio, auth FROM records"
               " WHERE domain_id = ?1 AND disabled = 0 ORDER BY name, type, id",
    [S_META_ALL] = "SELECT kind, content FROM domainmetadata WHERE domain_id = ?1 ORDER BY id",
    [S_META_KIND] = "SELECT kind, content FROM domainmetadata WHERE domain_id = ?1 AND kind = ?2"
                    " ORDER BY id",
    [S_META_DEL] = "DELETE FROM domainmetadata WHERE domain_id = ?1 AND kind = ?2",
    [S_META_ADD] = "INSERT INTO domainmetadata (domain_id, kind, content) VALUES (?1, ?2, ?3)",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_SELF_ON] = "INSERT INTO mxg_self (x) VALUES (1)",
    [S_SELF_OFF] = "DELETE FROM mxg_self",
    [S_ROLLBACK] = "ROLLBACK",
    [S_BEGIN_READ] = "BEGIN DEFERRED",
    [S_DATA_VERSION] = "PRAGMA data_version",
    [S_RRSET_DEL_ANY] = "DELETE FROM records WHERE domain_id = ?1 AND name = ?2",
    [S_RRSET_DEL_TYPE] = "DELETE FROM records WHERE domain_id = ?1 AND name = ?2 AND type = ?3",
    [S_NAME_LEFT] = "SELECT 1 FROM records WHERE domain_id = ?1 AND name = ?2 LIMIT 1",
    [S_NAME_DEL] = "DELETE FROM mxg_names WHERE domain_id = ?1 AND rkey = ?2",
    [S_NAME_ADD] = "INSERT OR IGNORE INTO mxg_names (domain_id, rkey) VALUES (?1, ?2)",
    [S_REC_ADD] = "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
    [S_ZONE_CLEAR] = "DELETE FROM records WHERE domain_id = ?1",
    [S_ZONE_CLEAR_NAMES] = "DELETE FROM mxg_names WHERE domain_id = ?1",
    [S_SEARCH] = "SELECT domain_id, name, type, content, ttl, prio, auth FROM records"
                 " WHERE disabled = 0 AND type IS NOT NULL AND (name LIKE ?1 ESCAPE '\\'"
                 " OR content LIKE ?1 ESCAPE '\\') ORDER BY domain_id, name, type LIMIT ?2",
    [S_KEYED] = "SELECT " ZONE_COLS " FROM domains d"
                " WHERE EXISTS (SELECT 1 FROM cryptokeys k WHERE k.domain_id = d.id)"
                " ORDER BY d.name",
    /* Keys as pdns's gsql backends read and write them (NULL flags read as false). */
    [S_KEY_LIST] = "SELECT id, domain_id, flags, active, published, content FROM cryptokeys"
                   " WHERE domain_id = ?1 ORDER BY id",
    [S_KEY_GET] = "SELECT id, domain_id, flags, active, published, content FROM cryptokeys"
                  " WHERE domain_id = ?1 AND id = ?2",
    [S_KEY_ADD] = "INSERT INTO cryptokeys (domain_id, flags, active, published, content)"
                  " VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_KEY_FLAGS] = "UPDATE cryptokeys SET active = coalesce(?3, active),"
                    " published = coalesce(?4, published) WHERE domain_id = ?1 AND id = ?2",
    [S_KEY_DEL] = "DELETE FROM cryptokeys WHERE domain_id = ?1 AND id = ?2",
    [S_TSIG_GET] = "SELECT name, algorithm, secret FROM tsigkeys WHERE name = ?1 ORDER BY id"
                   " LIMIT 1",
    [S_TSIG_LIST] = "SELECT name, algorithm, secret FROM tsigkeys ORDER BY name, id",
    [S_TSIG_ADD] = "INSERT INTO tsigkeys (name, algorithm, secret) VALUES (?1, ?2, ?3)",
    [S_TSIG_DEL] = "DELETE FROM tsigkeys WHERE name = ?1",
    [S_AP_FIND] = "SELECT account FROM supermasters WHERE ip = ?1 AND nameserver = ?2",
    [S_AP_ADD] = "INSERT INTO supermasters (ip, nameserver, account) VALUES (?1, ?2, ?3)",
    [S_AP_DEL] = "DELETE FROM supermasters WHERE ip = ?1 AND nameserver = ?2",
    [S_AP_LIST] = "SELECT ip, nameserver, account FROM supermasters ORDER BY ip, nameserver",
    /* Both are ranges of mxg_targets' primary key (type, trkey, ...). */
    [S_REFERRERS] = "SELECT domain_id, name FROM mxg_targets WHERE type = ?2 AND trkey = ?1",
    [S_REFERRERS_BELOW] = "SELECT domain_id, name, target FROM mxg_targets"
                          " WHERE type = ?1 AND trkey >= ?2 AND trkey < ?3"
                          " ORDER BY trkey, domain_id, name",
    [S_TARGET_ADD] = "INSERT OR IGNORE INTO mxg_targets (type, trkey, domain_id, name, target)"
                     " VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_TARGET_DEL_ANY] = "DELETE FROM mxg_targets WHERE domain_id = ?1 AND name = ?2",
    [S_TARGET_DEL_TYPE] = "DELETE FROM mxg_targets WHERE domain_id = ?1 AND name = ?2"
                          " AND type = ?3",
    [S_ZONE_CLEAR_TARGETS] = "DELETE FROM mxg_targets WHERE domain_id = ?1",
    [S_CHANGES_LIST] =
        "SELECT id, time, tbl, op, domain_id, old_name, old_type, old_content, old_ttl,"
        " old_prio, old_disabled, new_name, new_type, new_content, new_ttl, new_prio,"
        " new_disabled, CAST(strftime('%s', substr(time, 1, 19)) AS INTEGER)"
        " FROM mxg_changes ORDER BY id LIMIT ?1",
    [S_CHANGES_TRIM] = "DELETE FROM mxg_changes WHERE id <= ?1",
    [S_AUDIT_INSERT] = "INSERT INTO mxg_audit (seq, time, zone, verdict, record, hash)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_REC_ADD_BULK] = "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled,"
                       " auth) VALUES " ROWS64("(?, ?, ?, ?, ?, ?, 0, ?)"),
    [S_NAME_ADD_BULK] =
        "INSERT OR IGNORE INTO mxg_names (domain_id, rkey) VALUES " ROWS64("(?, ?)"),
    [S_TARGET_ADD_BULK] = "INSERT OR IGNORE INTO mxg_targets (type, trkey, domain_id, name, target)"
                          " VALUES " ROWS16("(?, ?, ?, ?, ?)"),
};

struct sqlite_store {
    struct mxg_store base;
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    bool in_txn;
    bool batch_reads; /* reads share one read transaction until end_reads (see store.h) */
    bool reading;     /* ... and it is open */
    /* What changes whenever the data may have (see mxg_store_generation): bumped by this
     * handle's writes, and when SQLite's data_version shows another connection's commit. */
    uint64_t generation;
    int64_t data_version;
    struct bulk *bulk; /* records_add's buffers, allocated by its first batch */
};

/* What one batch of records_add binds (SQLITE_STATIC: it must outlive the statement's step). */
struct bulk {
    char db[BULK][MXG_NAME_TEXT_MAX]; /* owner, db form */
    const char *content[BULK];        /* without the priority */
    long long prio[BULK];
    uint8_t key[BULK][MXG_RKEY_MAX]; /* the distinct owners' keys */
    size_t klen[BULK];
    char target[BULK][MXG_NAME_TEXT_MAX]; /* MX/CNAME/SRV/... targets, canonical */
    uint8_t tkey[BULK][MXG_RKEY_MAX];
    size_t tklen[BULK];
    size_t towner[BULK]; /* the target's record in the batch */
};

static struct sqlite_store *S(struct mxg_store *st)
{
    return (struct sqlite_store *)st;
}

static bool txn_control(enum stmt_id id)
{
    return id == S_BEGIN || id == S_COMMIT || id == S_ROLLBACK || id == S_BEGIN_READ ||
           id == S_DATA_VERSION || id == S_SELF_ON || id == S_SELF_OFF;
}

/* The shared read transaction of batch_reads: opened by the first read, closed before any write
 * (a write on this handle needs a transaction of its own, on the newest data) and by end_reads.
 * A failure to open it only means that the read runs in its own implicit transaction. */
static void reads_open(struct sqlite_store *s)
{
    sqlite3_stmt *q = s->stmt[S_BEGIN_READ];
    sqlite3_reset(q);
    s->reading = sqlite3_step(q) == SQLITE_DONE;
    sqlite3_reset(q);
    /* data_version starts the snapshot and tells whether another connection (the writer
     * thread's, another process) committed since the last one. */
    q = s->stmt[S_DATA_VERSION];
    sqlite3_reset(q);
    if (s->reading && sqlite3_step(q) == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(q, 0);
        if (v != s->data_version) {
            s->data_version = v;
            s->generation++;
        }
    } else {
        s->generation++;
    }
    sqlite3_reset(q);
}

static void reads_close(struct sqlite_store *s)
{
    if (!s->reading)
        return;
    s->reading = false;
    sqlite3_stmt *q = s->stmt[S_COMMIT];
    sqlite3_reset(q);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE && !sqlite3_get_autocommit(s->db)) {
        q = s->stmt[S_ROLLBACK];
        sqlite3_step(q);
        sqlite3_reset(q);
    }
}

/* Returns the prepared statement, reset and with bindings cleared. */
static sqlite3_stmt *stmt(struct sqlite_store *s, enum stmt_id id)
{
    sqlite3_stmt *q = s->stmt[id];
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (txn_control(id))
        return q;
    if (!sqlite3_stmt_readonly(q)) {
        s->generation++;
        if (!s->in_txn)
            reads_close(s); /* a no-op unless batch_reads left one open */
    } else if (s->batch_reads && !s->in_txn && !s->reading) {
        reads_open(s);
    }
    return q;
}

static int done(sqlite3_stmt *q, int rc)
{
    sqlite3_reset(q);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return MXG_OK;
    if (rc == SQLITE_CONSTRAINT)
        return MXG_EEXIST;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return MXG_EBUSY;
    if (rc == SQLITE_NOMEM)
        return MXG_ENOMEM;
    if (rc == SQLITE_FULL)
        return MXG_ENOSPC;
    if (rc == SQLITE_IOERR)
        return MXG_EIO;
    return MXG_ESTORE;
}

static int exec_simple(struct sqlite_store *s, enum stmt_id id)
{
    sqlite3_stmt *q = stmt(s, id);
    return done(q, sqlite3_step(q));
}

static const char *col_text(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? (const char *)t : "";
}

static void db_to_canon(const char *db, char *out, size_t outlen)
{
    mxg_engine_db_to_canon(db, out, outlen);
}

static int canon_to_db(const char *canon, char *out, size_t outlen)
{
    return mxg_name_to_db(canon, out, outlen);
}

static void zone_from_row(sqlite3_stmt *q, struct mxg_zone *z)
{
    mxg_engine_zone(z, sqlite3_column_int64(q, 0), col_text(q, 1), col_text(q, 2), col_text(q, 3),
                    sqlite3_column_int64(q, 4), sqlite3_column_int64(q, 5),
                    sqlite3_column_type(q, 6) == SQLITE_NULL ? NULL : col_text(q, 6));
}

static int zone_get_common(struct sqlite_store *s, sqlite3_stmt *q, struct mxg_zone *out)
{
    (void)s;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        zone_from_row(q, out);
        sqlite3_reset(q);
        return MXG_OK;
    }
    rc = done(q, rc);
    return rc == MXG_OK ? MXG_ENOENT : rc;
}

static int sq_zone_get(struct mxg_store *st, const char *name, struct mxg_zone *out)
{
    struct sqlite_store *s = S(st);
    char db[MXG_NAME_TEXT_MAX];
    if (canon_to_db(name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    sqlite3_stmt *q = stmt(s, S_ZONE_GET);
    sqlite3_bind_text(q, 1, db, -1, SQLITE_STATIC);
    return zone_get_common(s, q, out);
}

static int sq_zone_get_by_id(struct mxg_store *st, int64_t id, struct mxg_zone *out)
{
    struct sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, S_ZONE_GET_ID);
    sqlite3_bind_int64(q, 1, id);
    return zone_get_common(s, q, out);
}

/* Calls cb for each zone row of a prepared zone query. */
static int zone_rows(sqlite3_stmt *q, mxg_zone_cb cb, void *ctx)
{
    int rc;
    struct mxg_zone z;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        zone_from_row(q, &z);
        int r = cb(ctx, &z);
        if (r != 0) {
            sqlite3_reset(q);
            return r;
        }
    }
    return done(q, rc);
}

static int sq_zone_list(struct mxg_store *st, mxg_zone_cb cb, void *ctx)
{
    return zone_rows(stmt(S(st), S_ZONE_LIST), cb, ctx);
}

static int sq_begin(struct mxg_store *st);
static int sq_commit(struct mxg_store *st);
static int sq_rollback(struct mxg_store *st);

/* A write to zone data outside a transaction runs in one of mxguard's own, so that the capture
 * triggers pass it by (and its statements commit together). */
static int own_begin(struct mxg_store *st, bool *own)
{
    *own = !S(st)->in_txn;
    return *own ? sq_begin(st) : MXG_OK;
}

static int own_end(struct mxg_store *st, bool own, int rc)
{
    if (!own)
        return rc;
    if (rc == MXG_OK)
        return sq_commit(st);
    sq_rollback(st);
    return rc;
}

static int zone_add(struct mxg_store *st, const char *name, enum mxg_zone_kind kind,
                    const char *masters, int64_t *id)
{
    struct sqlite_store *s = S(st);
    char db[MXG_NAME_TEXT_MAX];
    if (canon_to_db(name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    sqlite3_stmt *q = stmt(s, S_ZONE_ADD);
    sqlite3_bind_text(q, 1, db, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, mxg_engine_kind_column(kind), -1, SQLITE_STATIC);
    if (masters && *masters)
        sqlite3_bind_text(q, 3, masters, -1, SQLITE_STATIC);
    int rc = done(q, sqlite3_step(q));
    if (rc == MXG_OK && id)
        *id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int sq_zone_add(struct mxg_store *st, const char *name, enum mxg_zone_kind kind,
                       const char *masters, int64_t *id)
{
    bool own;
    int rc = own_begin(st, &own);
    return rc != MXG_OK ? rc : own_end(st, own, zone_add(st, name, kind, masters, id));
}

static int zone_delete(struct mxg_store *st, int64_t id)
{
    struct sqlite_store *s = S(st);
    /* The zone's rows in every table that refers to it, as pdns's gsqlite3 deletes them
     * (foreign keys are not enforced on this connection: see mxg_store_sqlite_open). */
    static const enum stmt_id rows[] = {S_ZONE_CLEAR,    S_ZONE_DEL_NAMES, S_ZONE_CLEAR_TARGETS,
                                        S_ZONE_DEL_META, S_ZONE_DEL_KEYS,  S_ZONE_DEL_COMMENTS,
                                        S_ZONE_DEL};
    int rc = MXG_OK;
    for (size_t i = 0; rc == MXG_OK && i < sizeof(rows) / sizeof(rows[0]); i++) {
        sqlite3_stmt *q = stmt(s, rows[i]);
        sqlite3_bind_int64(q, 1, id);
        rc = done(q, sqlite3_step(q));
    }
    if (rc == MXG_OK && sqlite3_changes(s->db) == 0)
        return MXG_ENOENT;
    return rc;
}

static int sq_zone_delete(struct mxg_store *st, int64_t id)
{
    bool own;
    int rc = own_begin(st, &own);
    return rc != MXG_OK ? rc : own_end(st, own, zone_delete(st, id));
}

static int update_zone_int(struct sqlite_store *s, enum stmt_id id, int64_t zone, int64_t v)
{
    sqlite3_stmt *q = stmt(s, id);
    sqlite3_bind_int64(q, 1, zone);
    sqlite3_bind_int64(q, 2, v);
    int rc = done(q, sqlite3_step(q));
    if (rc == MXG_OK && sqlite3_changes(s->db) == 0)
        return MXG_ENOENT;
    return rc;
}

static int sq_zone_set_notified(struct mxg_store *st, int64_t id, int64_t serial)
{
    return update_zone_int(S(st), S_ZONE_NOTIFIED, id, serial);
}

static int zone_set_kind(struct mxg_store *st, int64_t id, enum mxg_zone_kind kind,
                         const char *masters)
{
    struct sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, S_ZONE_KIND);
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, mxg_engine_kind_column(kind), -1, SQLITE_STATIC);
    if (masters && *masters)
        sqlite3_bind_text(q, 3, masters, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 3);
    int rc = done(q, sqlite3_step(q));
    if (rc == MXG_OK && sqlite3_changes(s->db) == 0)
        return MXG_ENOENT;
    return rc;
}

static int sq_zone_set_kind(struct mxg_store *st, int64_t id, enum mxg_zone_kind kind,
                            const char *masters)
{
    bool own;
    int rc = own_begin(st, &own);
    return rc != MXG_OK ? rc : own_end(st, own, zone_set_kind(st, id, kind, masters));
}

static int sq_zone_set_last_check(struct mxg_store *st, int64_t id, int64_t when)
{
    return update_zone_int(S(st), S_ZONE_LASTCHECK, id, when);
}

/* Emits one record row (type, content, ttl, prio, auth starting at column base). */
static int emit_row(sqlite3_stmt *q, int base, const char *name, int64_t zone_id, mxg_record_cb cb,
                    void *ctx)
{
    return mxg_engine_emit(
        name, sqlite3_column_type(q, base) == SQLITE_NULL ? NULL : col_text(q, base),
        col_text(q, base + 1), sqlite3_column_int64(q, base + 2),
        sqlite3_column_type(q, base + 3) != SQLITE_NULL, sqlite3_column_int64(q, base + 3),
        sqlite3_column_type(q, base + 4) == SQLITE_NULL || sqlite3_column_int(q, base + 4), zone_id,
        cb, ctx);
}

static int sq_lookup(struct mxg_store *st, int64_t zone_id, const char *name, const char *type,
                     mxg_record_cb cb, void *ctx)
{
    struct sqlite_store *s = S(st);
    char db[MXG_NAME_TEXT_MAX];
    if (canon_to_db(name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    sqlite3_stmt *q = stmt(s, type ? S_LOOKUP_TYPE : S_LOOKUP_ANY);
    sqlite3_bind_int64(q, 1, zone_id);
    sqlite3_bind_text(q, 2, db, -1, SQLITE_STATIC);
    if (type)
        sqlite3_bind_text(q, 3, type, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int r = emit_row(q, 0, name, zone_id, cb, ctx);
        if (r != 0) {
            sqlite3_reset(q);
            return r;
        }
    }
    return done(q, rc);
}

static int sq_has_below(struct mxg_store *st, int64_t zone_id, const char *name, bool *out)
{
    struct sqlite_store *s = S(st);
    uint8_t key[MXG_RKEY_MAX], hi[MXG_RKEY_MAX];
    size_t klen = 0, hlen = 0;
    int rc = mxg_engine_rkey_range(name, key, &klen, hi, &hlen);
    if (rc != MXG_OK)
        return rc;
    sqlite3_stmt *q = stmt(s, S_HAS_BELOW);
    sqlite3_bind_int64(q, 1, zone_id);
    sqlite3_bind_blob(q, 2, key, (int)klen, SQLITE_STATIC);
    sqlite3_bind_blob(q, 3, hi, (int)hlen, SQLITE_STATIC);
    rc = sqlite3_step(q);
    *out = rc == SQLITE_ROW;
    return done(q, rc);
}

static int sq_list(struct mxg_store *st, int64_t zone_id, mxg_record_cb cb, void *ctx)
{
    struct sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, S_LIST);
    sqlite3_bind_int64(q, 1, zone_id);
    int rc;
    char name[MXG_NAME_TEXT_MAX];
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        db_to_canon(col_text(q, 0), name, sizeof(name));
        int r = emit_row(q, 1, name, zone_id, cb, ctx);
        if (r != 0) {
            sqlite3_reset(q);
            return r;
        }
    }
    return done(q, rc);
}

static int sq_meta_list(struct mxg_store *st, int64_t zone_id, const char *kind, mxg_meta_cb cb,
                        void *ctx)
{
    struct sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, kind ? S_META_KIND : S_META_ALL);
    sqlite3_bind_int64(q, 1, zone_id);
    if (kind)
        sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int r = cb(ctx, col_text(q, 0), col_text(q, 1));
        if (r != 0) {
            sqlite3_reset(q);
            return r;
        }
    }
    return done(q, rc);
}

/* A row that names a zone needs the zone: MXG_EEXIST (a constraint, as PostgreSQL's foreign
 * key refuses it) when there is none. Checked once per call rather than by SQLite's foreign
 * keys on every row (see mxg_store_sqlite_open). */
static int zone_known(struct sqlite_store *s, int64_t zone_id)
{
    sqlite3_stmt *q = stmt(s, S_ZONE_KNOWN);
    sqlite3_bind_int64(q, 1, zone_id);
    int step = sqlite3_step(q);
    int rc = done(q, step);
    return rc == MXG_OK && step != SQLITE_ROW ? MXG_EEXIST : rc;
}

static int meta_set(struct mxg_store *st, int64_t zone_id, const char *kind,
                    const char *const *values, size_t n)
{
    struct sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, S_META_DEL);
    sqlite3_bind_int64(q, 1, zone_id);
    sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
    int rc = done(q, sqlite3_step(q));
    if (rc == MXG_OK && n > 0)
        rc = zone_known(s, zone_id);
    for (size_t i = 0; rc == MXG_OK && i < n; i++) {
        q = stmt(s, S_META_ADD);
        sqlite3_bind_int64(q, 1, zone_id);
        sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, values[i], -1, SQLITE_STATIC);
        rc = done(q, sqlite3_step(q));
    }
    return rc;
}

static int sq_meta_set(struct mxg_store *st, int64_t zone_id, const char *kind,
                       const char *const *values, size_t n)
{
    bool own;
    int rc = own_begin(st, &own);
    return rc != MXG_OK ? rc : own_end(st, own, meta_set(st, zone_id, kind, values, n));
}

static int sq_begin(struct mxg_store *st)
{
    struct sqlite_store *s = S(st);
    if (s->in_txn)
        return MXG_ETXN;
    reads_close(s);
    s->generation++;
    int rc = exec_simple(s, S_BEGIN);
    if (rc != MXG_OK)
        return rc;
    /* The mark that the capture triggers pass by; it is removed before COMMIT, so no other
     * connection ever sees it. */
    if ((rc = exec_simple(s, S_SELF_ON)) != MXG_OK) {
        exec_simple(s, S_ROLLBACK);
        return rc;
    }
    s->in_txn = true;
    return MXG_OK;
}

static int sq_commit(struct mxg_store *st)
{
    struct sqlite_store *s = S(st);
    if (!s->in_txn)
        return MXG_ETXN;
    int rc = exec_simple(s, S_SELF_OFF);
    if (rc == MXG_OK)
        rc = exec_simple(s, S_COMMIT);
    if (rc != MXG_OK) {
        /* A failed COMMIT (disk full, I/O error) leaves the transaction open: undo it. */
        if (!sqlite3_get_autocommit(s->db))
            exec_simple(s, S_ROLLBACK);
    }
    s->in_txn = false;
    return rc;
}

static int sq_rollback(struct mxg_store *st)
{
    struct sqlite_store *s = S(st);
    if (!s->in_txn)
        return MXG_ETXN;
    int rc = MXG_OK;
    if (!sqlite3_get_autocommit(s->db))
        rc = exec_simple(s, S_ROLLBACK);
    s->in_txn = false;
    return rc;
}

static int name_index(struct sqlite_store *s, enum stmt_id id, int64_t zone_id, const char *name)
{
    uint8_t key[MXG_RKEY_MAX];
    size_t klen = 0;
    int rc = mxg_name_rkey(name, key, sizeof(key), &klen);
    if (rc != MXG_OK)
        return rc;
    sqlite3_stmt *q = stmt(s, id);
    sqlite3_bind_int64(q, 1, zone_id);
    sqlite3_bind_blob(q, 2, key, (int)klen, SQLITE_STATIC);
    return done(q, sqlite3_step(q));
}

/* Binds S_TARGET_ADD's parameters (db: the owner in db form). */
static void bind_target_at(sqlite3_stmt *q, int base, const char *type, const uint8_t *key,
                           size_t klen, int64_t zone_id, const char *db, const char *canon)
{
    sqlite3_bind_text(q, base + 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, base + 2, key, (int)klen, SQLITE_STATIC);
    sqlite3_bind_int64(q, base + 3, zone_id);
    sqlite3_bind_text(q, base + 4, db, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, base + 5, canon, -1, SQLITE_STATIC);
}

static void bind_target(sqlite3_stmt *q, const char *type, const uint8_t *key, size_t klen,
                        int64_t zone_id, const char *db, const char *canon)
{
    bind_target_at(q, 0, type, key, klen, zone_id, db, canon);
}

/* Binds one row of S_REC_ADD / S_REC_ADD_BULK's parameters from base + 1 on (db: the owner in
 * db form; content without the priority, prio < 0 when it has none). */
static void bind_record_at(sqlite3_stmt *q, int base, int64_t zone_id, const char *db,
                           const struct mxg_record *rec, const char *content, long long prio)
{
    sqlite3_bind_int64(q, base + 1, zone_id);
    sqlite3_bind_text(q, base + 2, db, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, base + 3, rec->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, base + 4, content, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, base + 5, rec->ttl);
    sqlite3_bind_int64(q, base + 6, prio < 0 ? 0 : prio);
    sqlite3_bind_int(q, base + 7, rec->auth ? 1 : 0);
}

static int sq_rrset_delete(struct mxg_store *st, int64_t zone_id, const char *name,
                           const char *type)
{
    struct sqlite_store *s = S(st);
    char db[MXG_NAME_TEXT_MAX];
    if (!s->in_txn)
        return MXG_ETXN;
    if (canon_to_db(name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    sqlite3_stmt *q = stmt(s, type ? S_RRSET_DEL_TYPE : S_RRSET_DEL_ANY);
    sqlite3_bind_int64(q, 1, zone_id);
    sqlite3_bind_text(q, 2, db, -1, SQLITE_STATIC);
    if (type)
        sqlite3_bind_text(q, 3, type, -1, SQLITE_STATIC);
    int rc = done(q, sqlite3_step(q));
    if (rc != MXG_OK)
        return rc;
    if (!type || mxg_engine_target_type(type)) {
        q = stmt(s, type ? S_TARGET_DEL_TYPE : S_TARGET_DEL_ANY);
        sqlite3_bind_int64(q, 1, zone_id);
        sqlite3_bind_text(q, 2, db, -1, SQLITE_STATIC);
        if (type)
            sqlite3_bind_text(q, 3, type, -1, SQLITE_STATIC);
        if ((rc = done(q, sqlite3_step(q))) != MXG_OK)
            return rc;
    }
    /* Drop the name from the index once nothing is left at it. */
    q = stmt(s, S_NAME_LEFT);
    sqlite3_bind_int64(q, 1, zone_id);
    sqlite3_bind_text(q, 2, db, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    bool left = step == SQLITE_ROW;
    rc = done(q, step);
    if (rc != MXG_OK || left)
        return rc;
    return name_index(s, S_NAME_DEL, zone_id, name);
}

/* One record, its name and its target (the zone is known to exist). */
static int record_row(struct sqlite_store *s, int64_t zone_id, const struct mxg_record *rec)
{
    char db[MXG_NAME_TEXT_MAX];
    if (canon_to_db(rec->name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    const char *content = NULL;
    long long prio = -1;
    if (mxg_engine_split_prio(rec->type, rec->content, &prio, &content) != MXG_OK)
        return MXG_EINVAL;
    sqlite3_stmt *q = stmt(s, S_REC_ADD);
    bind_record_at(q, 0, zone_id, db, rec, content, prio);
    int rc = done(q, sqlite3_step(q));
    if (rc != MXG_OK)
        return rc;
    char target[MXG_NAME_TEXT_MAX];
    uint8_t key[MXG_RKEY_MAX];
    size_t klen = 0;
    if (mxg_engine_target_type(rec->type) &&
        mxg_engine_target_key(content, target, sizeof(target), key, &klen) == MXG_OK) {
        q = stmt(s, S_TARGET_ADD);
        bind_target(q, rec->type, key, klen, zone_id, db, target);
        if ((rc = done(q, sqlite3_step(q))) != MXG_OK)
            return rc;
    }
    return name_index(s, S_NAME_ADD, zone_id, rec->name);
}

static int sq_record_add(struct mxg_store *st, int64_t zone_id, const struct mxg_record *rec)
{
    struct sqlite_store *s = S(st);
    if (!s->in_txn)
        return MXG_ETXN;
    int rc = zone_known(s, zone_id);
    return rc != MXG_OK ? rc : record_row(s, zone_id, rec);
}

/* Writes the nt target rows b holds for recs, TARGET_BULK at a time. */
static int bulk_targets(struct sqlite_store *s, struct bulk *b, size_t nt, int64_t zone_id,
                        const struct mxg_record *recs)
{
    for (size_t t = 0; t < nt; t += TARGET_BULK) {
        sqlite3_stmt *q = stmt(s, S_TARGET_ADD_BULK);
        for (size_t j = 0; j < TARGET_BULK; j++) {
            size_t k = t + j < nt ? t + j : nt - 1; /* a repeat is ignored */
            size_t r = b->towner[k];
            bind_target_at(q, 5 * (int)j, recs[r].type, b->tkey[k], b->tklen[k], zone_id, b->db[r],
                           b->target[k]);
        }
        int rc = done(q, sqlite3_step(q));
        if (rc != MXG_OK)
            return rc;
    }
    return MXG_OK;
}

/* BULK records (recs[0..BULK)) with one statement each for the records, their owners and
 * their targets. */
static int bulk_add(struct sqlite_store *s, struct bulk *b, int64_t zone_id,
                    const struct mxg_record *recs)
{
    size_t nk = 0, nt = 0;
    for (size_t i = 0; i < BULK; i++) {
        const struct mxg_record *rec = &recs[i];
        b->prio[i] = -1;
        if (canon_to_db(rec->name, b->db[i], sizeof(b->db[i])) != MXG_OK ||
            mxg_engine_split_prio(rec->type, rec->content, &b->prio[i], &b->content[i]) != MXG_OK)
            return MXG_EINVAL;
        if (i == 0 || strcmp(rec->name, recs[i - 1].name) != 0) {
            int rc = mxg_name_rkey(rec->name, b->key[nk], sizeof(b->key[nk]), &b->klen[nk]);
            if (rc != MXG_OK)
                return rc;
            nk++;
        }
        if (mxg_engine_target_type(rec->type) &&
            mxg_engine_target_key(b->content[i], b->target[nt], sizeof(b->target[nt]), b->tkey[nt],
                                  &b->tklen[nt]) == MXG_OK)
            b->towner[nt++] = i;
    }
    sqlite3_stmt *q = stmt(s, S_REC_ADD_BULK);
    for (size_t i = 0; i < BULK; i++)
        bind_record_at(q, 7 * (int)i, zone_id, b->db[i], &recs[i], b->content[i], b->prio[i]);
    int rc = done(q, sqlite3_step(q));
    if (rc == MXG_OK && nt > 0)
        rc = bulk_targets(s, b, nt, zone_id, recs);
    if (rc != MXG_OK)
        return rc;
    q = stmt(s, S_NAME_ADD_BULK);
    for (size_t i = 0; i < BULK; i++) {
        size_t k = i < nk ? i : nk - 1; /* a repeat is ignored */
        sqlite3_bind_int64(q, 2 * (int)i + 1, zone_id);
        sqlite3_bind_blob(q, 2 * (int)i + 2, b->key[k], (int)b->klen[k], SQLITE_STATIC);
    }
    return done(q, sqlite3_step(q));
}

static int sq_records_add(struct mxg_store *st, int64_t zone_id, const struct mxg_record *recs,
                          size_t n)
{
    struct sqlite_store *s = S(st);
    if (!s->in_txn)
        return MXG_ETXN;
    int rc = n > 0 ? zone_known(s, zone_id) : MXG_OK;
    if (rc != MXG_OK)
        return rc;
    size_t i = 0;
    if (n >= BULK) {
        if (!s->bulk && !(s->bulk = malloc(sizeof(*s->bulk))))
            return MXG_ENOMEM;
        for (; rc == MXG_OK && n - i >= BULK; i += BULK)
            rc = bulk_add(s, s->bulk, zone_id, recs + i);
    }
    for (; rc == MXG_OK && i < n; i++)
        rc = record_row(s, zone_id, &recs[i]);
    return rc;
}

static int sq_zone_clear(struct mxg_store *st, int64_t zone_id)
{
    struct sqlite_store *s = S(st);
    if (!s->in_txn)
        return MXG_ETXN;
    sqlite3_stmt *q = stmt(s, S_ZONE_CLEAR);
    sqlite3_bind_int64(q, 1, zone_id);
    int rc = done(q, sqlite3_step(q));
    if (rc != MXG_OK)
        return rc;
    q = stmt(s, S_ZONE_CLEAR_NAMES);
    sqlite3_bind_int64(q, 1, zone_id);
    if ((rc = done(q, sqlite3_step(q))) != MXG_OK)
        return rc;
    q = stmt(s, S_ZONE_CLEAR_TARGETS);
    sqlite3_bind_int64(q, 1, zone_id);
    return done(q, sqlite3_step(q));
}

static int sq_search(struct mxg_store *st, const char *like, unsigned max, mxg_record_cb cb,
                     void *ctx)
{
    struct sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, S_SEARCH);
    sqlite3_bind_text(q, 1, like, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, max);
    int rc;
    char name[MXG_NAME_TEXT_MAX];
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        db_to_canon(col_text(q, 1), name, sizeof(name));
        int r = emit_row(q, 2, name, sqlite3_column_int64(q, 0), cb, ctx);
        if (r != 0) {
            sqlite3_reset(q);
            return r;
        }
    }
    return done(q, rc);
}

static int sq_keyed_zones(struct mxg_store *st, mxg_zone_cb cb, void *ctx)
{
    return zone_rows(stmt(S(st), S_KEYED), cb, ctx);
}

/* Calls cb for each key row of a prepared key query. */
static int key_rows(sqlite3_stmt *q, mxg_key_cb cb, void *ctx, bool *any)
{
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t flags = sqlite3_column_int64(q, 2);
        struct mxg_key k = {
            .id = sqlite3_column_int64(q, 0),
            .zone_id = sqlite3_column_int64(q, 1),
            .flags = flags < 0 || flags > 65535 ? 0 : (unsigned)flags,
            .active = sqlite3_column_int(q, 3) != 0,
            .published = sqlite3_column_int(q, 4) != 0,
            .content = col_text(q, 5),
        };
        *any = true;
        int r = cb(ctx, &k);
        if (r != 0) {
            sqlite3_reset(q);
            return r;
        }
    }
    return done(q, rc);
}

static int sq_key_list(struct mxg_store *st, int64_t zone_id, mxg_key_cb cb, void *ctx)
{
    sqlite3_stmt *q = stmt(S(st), S_KEY_LIST);
    sqlite3_bind_int64(q, 1, zone_id);
    bool any = false;
    return key_rows(q, cb, ctx, &any);
}

static int sq_key_get(struct mxg_store *st, int64_t zone_id, int64_t id, mxg_key_cb cb, void *ctx)
{
    sqlite3_stmt *q = stmt(S(st), S_KEY_GET);
    sqlite3_bind_int64(q, 1, zone_id);
    sqlite3_bind_int64(q, 2, id);
    bool any = false;
    int rc = key_rows(q, cb, ctx, &any);
    return rc == MXG_OK && !any ? MXG_ENOENT : rc;
}

static int sq_key_add(struct mxg_store *st, int64_t zone_id, const struct mxg_key *key, int64_t *id)
{
    struct sqlite_store *s = S(st);
    if (!s->in_txn)
        return MXG_ETXN;
    int rc = zone_known(s, zone_id);
    if (rc != MXG_OK)
        return rc;
    sqlite3_stmt *q = stmt(s, S_KEY_ADD);
    sqlite3_bind_int64(q, 1, zone_id);
    sqlite3_bind_int64(q, 2, key->flags);
    sqlite3_bind_int(q, 3, key->active ? 1 : 0);
    sqlite3_bind_int(q, 4, key->published ? 1 : 0);
    sqlite3_bind_text(q, 5, key->content, -1, SQLITE_STATIC);
    rc = done(q, sqlite3_step(q));
    if (rc == MXG_OK && id)
        *id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

/* Runs a prepared write on one key (zone ?1, id ?2): MXG_ENOENT when it touched no row. */
static int key_write(struct sqlite_store *s, sqlite3_stmt *q)
{
    int rc = done(q, sqlite3_step(q));
    if (rc == MXG_OK && sqlite3_changes(s->db) == 0)
        return MXG_ENOENT;
    return rc;
}

static int sq_key_set_flags(struct mxg_store *st, int64_t zone_id, int64_t id, int active,
                            int published)
{
    struct sqlite_store *s = S(st);
    if (!s->in_txn)
        return MXG_ETXN;
    sqlite3_stmt *q = stmt(s, S_KEY_FLAGS);
    sqlite3_bind_int64(q, 1, zone_id);
    sqlite3_bind_int64(q, 2, id);
    if (active >= 0)
        sqlite3_bind_int(q, 3, active ? 1 : 0);
    if (published >= 0)
        sqlite3_bind_int(q, 4, published ? 1 : 0);
    return key_write(s, q);
}

static int sq_key_remove(struct mxg_store *st, int64_t zone_id, int64_t id)
{
    struct sqlite_store *s = S(st);
    if (!s->in_txn)
        return MXG_ETXN;
    sqlite3_stmt *q = stmt(s, S_KEY_DEL);
    sqlite3_bind_int64(q, 1, zone_id);
    sqlite3_bind_int64(q, 2, id);
    return key_write(s, q);
}

/* Calls cb for each row (name, algorithm, secret) of a prepared TSIG query. */
static int tsig_rows(sqlite3_stmt *q, mxg_tsig_cb cb, void *ctx, bool *any)
{
    int rc;
    char name[MXG_NAME_TEXT_MAX];
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        db_to_canon(col_text(q, 0), name, sizeof(name));
        struct mxg_tsig k = {.name = name, .algorithm = col_text(q, 1), .secret = col_text(q, 2)};
        *any = true;
        int r = cb(ctx, &k);
        if (r != 0) {
            sqlite3_reset(q);
            return r;
        }
    }
    return done(q, rc);
}

static int sq_tsig_get(struct mxg_store *st, const char *name, mxg_tsig_cb cb, void *ctx)
{
    char db[MXG_NAME_TEXT_MAX];
    if (canon_to_db(name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    sqlite3_stmt *q = stmt(S(st), S_TSIG_GET);
    sqlite3_bind_text(q, 1, db, -1, SQLITE_STATIC);
    bool any = false;
    int rc = tsig_rows(q, cb, ctx, &any);
    return rc == MXG_OK && !any ? MXG_ENOENT : rc;
}

static int sq_tsig_list(struct mxg_store *st, mxg_tsig_cb cb, void *ctx)
{
    bool any = false;
    return tsig_rows(stmt(S(st), S_TSIG_LIST), cb, ctx, &any);
}

/* Deletes every key named db (db form); *gone tells whether there was one. */
static int tsig_del(struct sqlite_store *s, const char *db, bool *gone)
{
    sqlite3_stmt *q = stmt(s, S_TSIG_DEL);
    sqlite3_bind_text(q, 1, db, -1, SQLITE_STATIC);
    int rc = done(q, sqlite3_step(q));
    *gone = rc == MXG_OK && sqlite3_changes(s->db) > 0;
    return rc;
}

static int sq_tsig_set(struct mxg_store *st, const struct mxg_tsig *key)
{
    struct sqlite_store *s = S(st);
    char db[MXG_NAME_TEXT_MAX];
    bool gone = false;
    if (!s->in_txn)
        return MXG_ETXN;
    if (canon_to_db(key->name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    int rc = tsig_del(s, db, &gone);
    if (rc != MXG_OK)
        return rc;
    sqlite3_stmt *q = stmt(s, S_TSIG_ADD);
    sqlite3_bind_text(q, 1, db, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key->algorithm, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, key->secret, -1, SQLITE_STATIC);
    return done(q, sqlite3_step(q));
}

static int sq_tsig_delete(struct mxg_store *st, const char *name)
{
    struct sqlite_store *s = S(st);
    char db[MXG_NAME_TEXT_MAX];
    bool gone = false;
    if (!s->in_txn)
        return MXG_ETXN;
    if (canon_to_db(name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    int rc = tsig_del(s, db, &gone);
    return rc == MXG_OK && !gone ? MXG_ENOENT : rc;
}

static void bind_ap(sqlite3_stmt *q, const char *ip, const char *nameserver, char *db, size_t dblen)
{
    /* pdns's gsql stores nameservers without trailing dot. */
    if (mxg_name_to_db(nameserver, db, dblen) != MXG_OK)
        snprintf(db, dblen, "%s", nameserver);
    sqlite3_bind_text(q, 1, ip, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, db, -1, SQLITE_STATIC);
}

static int sq_autoprimary_find(struct mxg_store *st, const char *ip, const char *nameserver,
                               char *account, size_t accountlen)
{
    struct sqlite_store *s = S(st);
    char db[MXG_NAME_TEXT_MAX];
    sqlite3_stmt *q = stmt(s, S_AP_FIND);
    bind_ap(q, ip, nameserver, db, sizeof(db));
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        snprintf(account, accountlen, "%s", col_text(q, 0));
        sqlite3_reset(q);
        return MXG_OK;
    }
    rc = done(q, rc);
    return rc == MXG_OK ? MXG_ENOENT : rc;
}

static int sq_autoprimary_add(struct mxg_store *st, const char *ip, const char *nameserver,
                              const char *account)
{
    struct sqlite_store *s = S(st);
    char db[MXG_NAME_TEXT_MAX];
    sqlite3_stmt *q = stmt(s, S_AP_ADD);
    bind_ap(q, ip, nameserver, db, sizeof(db));
    sqlite3_bind_text(q, 3, account ? account : "", -1, SQLITE_STATIC);
    return done(q, sqlite3_step(q));
}

static int sq_autoprimary_delete(struct mxg_store *st, const char *ip, const char *nameserver)
{
    struct sqlite_store *s = S(st);
    char db[MXG_NAME_TEXT_MAX];
    sqlite3_stmt *q = stmt(s, S_AP_DEL);
    bind_ap(q, ip, nameserver, db, sizeof(db));
    int rc = done(q, sqlite3_step(q));
    if (rc == MXG_OK && sqlite3_changes(s->db) == 0)
        return MXG_ENOENT;
    return rc;
}

static int sq_autoprimary_list(struct mxg_store *st,
                               int (*cb)(void *ctx, const char *ip, const char *nameserver,
                                         const char *account),
                               void *ctx)
{
    struct sqlite_store *s = S(st);
    sqlite3_stmt *q = stmt(s, S_AP_LIST);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int r = cb(ctx, col_text(q, 0), col_text(q, 1), col_text(q, 2));
        if (r != 0) {
            sqlite3_reset(q);
            return r;
        }
    }
    return done(q, rc);
}

static int sq_referrers(struct mxg_store *st, const char *type, const char *target,
                        int (*cb)(void *ctx, int64_t zone_id, const char *owner), void *ctx)
{
    struct sqlite_store *s = S(st);
    if (!mxg_engine_target_type(type))
        return MXG_EINVAL;
    uint8_t key[MXG_RKEY_MAX];
    size_t klen = 0;
    if (mxg_name_rkey(target, key, sizeof(key), &klen) != MXG_OK)
        return MXG_EINVAL;
    char owner[MXG_NAME_TEXT_MAX];
    sqlite3_stmt *q = stmt(s, S_REFERRERS);
    sqlite3_bind_blob(q, 1, key, (int)klen, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, type, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        db_to_canon(col_text(q, 1), owner, sizeof(owner));
        int r = cb(ctx, sqlite3_column_int64(q, 0), owner);
        if (r != 0) {
            sqlite3_reset(q);
            return r;
        }
    }
    return done(q, rc);
}

static int sq_referrers_below(struct mxg_store *st, const char *type, const char *root,
                              int (*cb)(void *ctx, int64_t zone_id, const char *owner,
                                        const char *target),
                              void *ctx)
{
    struct sqlite_store *s = S(st);
    if (!mxg_engine_target_type(type))
        return MXG_EINVAL;
    uint8_t lo[MXG_RKEY_MAX], hi[MXG_RKEY_MAX];
    size_t llen = 0, hlen = 0;
    if (mxg_engine_rkey_range(root, lo, &llen, hi, &hlen) != MXG_OK)
        return MXG_EINVAL;
    char owner[MXG_NAME_TEXT_MAX];
    sqlite3_stmt *q = stmt(s, S_REFERRERS_BELOW);
    sqlite3_bind_text(q, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, lo, (int)llen, SQLITE_STATIC);
    sqlite3_bind_blob(q, 3, hi, (int)hlen, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        db_to_canon(col_text(q, 1), owner, sizeof(owner));
        int r = cb(ctx, sqlite3_column_int64(q, 0), owner, col_text(q, 2));
        if (r != 0) {
            sqlite3_reset(q);
            return r;
        }
    }
    return done(q, rc);
}

static const char *col_or_null(sqlite3_stmt *q, int i)
{
    return sqlite3_column_type(q, i) == SQLITE_NULL ? NULL : col_text(q, i);
}

static void change_cols(sqlite3_stmt *q, int base, struct mxg_engine_change_cols *c)
{
    c->name = col_or_null(q, base);
    c->type = col_or_null(q, base + 1);
    c->content = col_or_null(q, base + 2);
    c->ttl = col_or_null(q, base + 3);
    c->prio = col_or_null(q, base + 4);
    c->disabled = col_or_null(q, base + 5);
}

static int sq_changes_list(struct mxg_store *st, unsigned max, mxg_change_cb cb, void *ctx)
{
    sqlite3_stmt *q = stmt(S(st), S_CHANGES_LIST);
    sqlite3_bind_int64(q, 1, max);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct mxg_engine_change_cols o, n;
        change_cols(q, 5, &o);
        change_cols(q, 11, &n);
        int r = mxg_engine_change(sqlite3_column_int64(q, 0), col_text(q, 1), col_text(q, 2),
                                  col_text(q, 3), sqlite3_column_int64(q, 4),
                                  sqlite3_column_int64(q, 17), &o, &n, cb, ctx);
        if (r != 0) {
            sqlite3_reset(q);
            return r;
        }
    }
    return done(q, rc);
}

static int sq_changes_trim(struct mxg_store *st, int64_t upto)
{
    struct sqlite_store *s = S(st);
    if (!s->in_txn)
        return MXG_ETXN;
    sqlite3_stmt *q = stmt(s, S_CHANGES_TRIM);
    sqlite3_bind_int64(q, 1, upto);
    return done(q, sqlite3_step(q));
}

static int sq_audit_insert(struct mxg_store *st, int64_t seq, const char *time, const char *zone,
                           const char *verdict, const char *record, const char *hash)
{
    struct sqlite_store *s = S(st);
    if (!s->in_txn)
        return MXG_ETXN;
    sqlite3_stmt *q = stmt(s, S_AUDIT_INSERT);
    sqlite3_bind_int64(q, 1, seq);
    sqlite3_bind_text(q, 2, time, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, verdict, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, record, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, hash, -1, SQLITE_STATIC);
    return done(q, sqlite3_step(q));
}

static int sq_audit_list(struct mxg_store *st, const struct mxg_audit_filter *f,
                         int (*cb)(void *ctx, const struct mxg_audit_row *row), void *ctx)
{
    struct sqlite_store *s = S(st);
    /* Built per call: the filters vary and audit reads are rare. */
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT seq, time, zone, verdict, record, hash FROM mxg_audit WHERE seq > ?1"
             "%s%s%s%s ORDER BY seq %s%s",
             f->zone ? " AND zone = ?2" : "", f->verdict ? " AND verdict = ?3" : "",
             f->since ? " AND time >= ?4" : "", f->until ? " AND time < ?5" : "",
             f->newest_first ? "DESC" : "ASC", f->limit > 0 ? " LIMIT ?6" : "");
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return MXG_ESTORE;
    sqlite3_bind_int64(q, 1, f->after_seq);
    if (f->zone)
        sqlite3_bind_text(q, 2, f->zone, -1, SQLITE_STATIC);
    if (f->verdict)
        sqlite3_bind_text(q, 3, f->verdict, -1, SQLITE_STATIC);
    if (f->since)
        sqlite3_bind_text(q, 4, f->since, -1, SQLITE_STATIC);
    if (f->until)
        sqlite3_bind_text(q, 5, f->until, -1, SQLITE_STATIC);
    if (f->limit > 0)
        sqlite3_bind_int64(q, 6, f->limit);
    int rc, r = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct mxg_audit_row row = {.seq = sqlite3_column_int64(q, 0)};
        row.time = col_text(q, 1);
        row.zone = col_text(q, 2);
        row.verdict = col_text(q, 3);
        row.record = col_text(q, 4); /* the text first, then its length (SQLite's advice) */
        row.record_len = (size_t)sqlite3_column_bytes(q, 4);
        row.hash = col_text(q, 5);
        r = cb(ctx, &row);
        if (r != 0)
            break;
    }
    sqlite3_finalize(q);
    if (r != 0)
        return r;
    return (rc == SQLITE_DONE) ? MXG_OK : MXG_ESTORE;
}

static void sq_close(struct mxg_store *st)
{
    struct sqlite_store *s = S(st);
    if (!s)
        return;
    if (s->in_txn)
        sq_rollback(st);
    reads_close(s);
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free(s->bulk);
    free(s);
}

static int sq_reopen(struct mxg_store *st, struct mxg_store **out, char *err, size_t errlen)
{
    const char *path = sqlite3_db_filename(S(st)->db, "main");
    if (!path || !*path)
        return MXG_EUNSUPP; /* in memory: no other connection sees it */
    return mxg_store_sqlite_open(path, out, err, errlen);
}

static void sq_batch_reads(struct mxg_store *st, bool on)
{
    struct sqlite_store *s = S(st);
    if (!on)
        reads_close(s);
    s->batch_reads = on;
}

static void sq_end_reads(struct mxg_store *st)
{
    reads_close(S(st));
}

static uint64_t sq_generation(struct mxg_store *st)
{
    struct sqlite_store *s = S(st);
    if (!s->batch_reads || s->in_txn)
        return ++s->generation; /* no shared snapshot to vouch for the data */
    if (!s->reading)
        reads_open(s);
    if (!s->reading)
        return ++s->generation;
    return s->generation;
}

static const struct mxg_store_ops SQLITE_OPS = {
    .name = "sqlite",
    .close = sq_close,
    .zone_get = sq_zone_get,
    .zone_get_by_id = sq_zone_get_by_id,
    .zone_list = sq_zone_list,
    .zone_add = sq_zone_add,
    .zone_delete = sq_zone_delete,
    .zone_set_notified = sq_zone_set_notified,
    .zone_set_last_check = sq_zone_set_last_check,
    .zone_set_kind = sq_zone_set_kind,
    .lookup = sq_lookup,
    .has_below = sq_has_below,
    .list = sq_list,
    .meta_list = sq_meta_list,
    .meta_set = sq_meta_set,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .rrset_delete = sq_rrset_delete,
    .record_add = sq_record_add,
    .records_add = sq_records_add,
    .reopen = sq_reopen,
    .zone_clear = sq_zone_clear,
    .search = sq_search,
    .keyed_zones = sq_keyed_zones,
    .key_list = sq_key_list,
    .key_get = sq_key_get,
    .key_add = sq_key_add,
    .key_set_flags = sq_key_set_flags,
    .key_remove = sq_key_remove,
    .tsig_get = sq_tsig_get,
    .tsig_list = sq_tsig_list,
    .tsig_set = sq_tsig_set,
    .tsig_delete = sq_tsig_delete,
    .autoprimary_find = sq_autoprimary_find,
    .autoprimary_add = sq_autoprimary_add,
    .autoprimary_delete = sq_autoprimary_delete,
    .autoprimary_list = sq_autoprimary_list,
    .referrers = sq_referrers,
    .referrers_below = sq_referrers_below,
    .changes_list = sq_changes_list,
    .changes_trim = sq_changes_trim,
    .audit_insert = sq_audit_insert,
    .audit_list = sq_audit_list,
    .batch_reads = sq_batch_reads,
    .end_reads = sq_end_reads,
    .generation = sq_generation,
};

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s", msg ? msg : "sqlite error");
        sqlite3_free(msg);
        return MXG_ESTORE;
    }
    return MXG_OK;
}

static int table_exists(sqlite3 *db, const char *name, bool *out)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1", -1, &q,
                           NULL) != SQLITE_OK)
        return MXG_ESTORE;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    *out = rc == SQLITE_ROW;
    sqlite3_finalize(q);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? MXG_OK : MXG_ESTORE;
}

/* Fills mxg_names from records (a database that pdns's gsqlite3 wrote, or a first open). */
static int rebuild_names(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *sel = NULL, *ins = NULL;
    int rc = MXG_ESTORE;
    if (sqlite3_prepare_v2(db, "SELECT DISTINCT domain_id, name FROM records", -1, &sel, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO mxg_names (domain_id, rkey) VALUES (?1, ?2)",
                           -1, &ins, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "rebuilding name index: %s", sqlite3_errmsg(db));
        goto out;
    }
    if (exec_sql(db, "DELETE FROM mxg_names", err, errlen) != MXG_OK)
        goto out;
    int step;
    while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
        char canon[MXG_NAME_TEXT_MAX];
        uint8_t key[MXG_RKEY_MAX];
        size_t klen = 0;
        if (mxg_name_canon(col_text(sel, 1), canon, sizeof(canon)) != MXG_OK ||
            mxg_name_rkey(canon, key, sizeof(key), &klen) != MXG_OK)
            continue; /* a name pdns could not serve either */
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, sqlite3_column_int64(sel, 0));
        sqlite3_bind_blob(ins, 2, key, (int)klen, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            snprintf(err, errlen, "rebuilding name index: %s", sqlite3_errmsg(db));
            goto out;
        }
    }
    if (step != SQLITE_DONE) {
        snprintf(err, errlen, "rebuilding name index: %s", sqlite3_errmsg(db));
        goto out;
    }
    rc = MXG_OK;
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    return rc;
}

/* Fills mxg_targets from records: the enabled MX, CNAME, ALIAS and DNAME records whose content
 * is a name other than the root (migration to version 3, a database that pdns's gsqlite3 wrote). */
static int rebuild_targets(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *sel = NULL, *ins = NULL;
    int rc = MXG_ESTORE;
    if (sqlite3_prepare_v2(db,
                           "SELECT domain_id, name, type, content FROM records"
                           " WHERE type IN ('MX', 'CNAME', 'ALIAS', 'DNAME') AND disabled = 0"
                           " AND domain_id IS NOT NULL AND name IS NOT NULL",
                           -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, STMT_SQL[S_TARGET_ADD], -1, &ins, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "rebuilding target index: %s", sqlite3_errmsg(db));
        goto out;
    }
    if (exec_sql(db, "DELETE FROM mxg_targets", err, errlen) != MXG_OK)
        goto out;
    int step;
    while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
        char owner[MXG_NAME_TEXT_MAX], owner_db[MXG_NAME_TEXT_MAX], target[MXG_NAME_TEXT_MAX];
        uint8_t key[MXG_RKEY_MAX];
        size_t klen = 0;
        if (mxg_name_canon(col_text(sel, 1), owner, sizeof(owner)) != MXG_OK ||
            mxg_name_to_db(owner, owner_db, sizeof(owner_db)) != MXG_OK ||
            mxg_engine_target_key(col_text(sel, 3), target, sizeof(target), key, &klen) != MXG_OK)
            continue; /* nothing a reverse lookup could find */
        sqlite3_reset(ins);
        bind_target(ins, col_text(sel, 2), key, klen, sqlite3_column_int64(sel, 0), owner_db,
                    target);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            snprintf(err, errlen, "rebuilding target index: %s", sqlite3_errmsg(db));
            goto out;
        }
    }
    if (step != SQLITE_DONE) {
        snprintf(err, errlen, "rebuilding target index: %s", sqlite3_errmsg(db));
        goto out;
    }
    rc = MXG_OK;
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    return rc;
}

static int get_schema_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *q = NULL;
    *version = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM mxg_meta WHERE key='schema_version'", -1, &q,
                           NULL) != SQLITE_OK)
        return MXG_ESTORE;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        sqlite3_int64 v = sqlite3_column_int64(q, 0); /* text converts as SQLite's CAST does */
        *version = v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
    }
    sqlite3_finalize(q);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? MXG_OK : MXG_ESTORE;
}

/* Creates the pdns schema in an empty database and brings mxguard's tables to the current
 * version, all in one transaction. */
static int migrate(sqlite3 *db, char *err, size_t errlen)
{
    bool have_domains = false;
    int version = 0;
    int rc = exec_sql(db, "BEGIN IMMEDIATE", err, errlen);
    if (rc != MXG_OK)
        return rc;
    if ((rc = table_exists(db, "domains", &have_domains)) != MXG_OK)
        goto fail;
    if (!have_domains && (rc = exec_sql(db, PDNS_SCHEMA, err, errlen)) != MXG_OK)
        goto fail;
    if ((rc = exec_sql(db, MXG_SCHEMA_V1, err, errlen)) != MXG_OK)
        goto fail;
    if ((rc = get_schema_version(db, &version)) != MXG_OK)
        goto fail;
    if (version > MXG_STORE_SCHEMA_VERSION) {
        snprintf(err, errlen, "store schema version %d is newer than this mxguard (%d)", version,
                 MXG_STORE_SCHEMA_VERSION);
        rc = MXG_ESTORE;
        goto fail;
    }
    if (version < 1) {
        if ((rc = rebuild_names(db, err, errlen)) != MXG_OK)
            goto fail;
    }
    if (version < 2 && (rc = exec_sql(db, MXG_SCHEMA_V2, err, errlen)) != MXG_OK)
        goto fail;
    if (version < 3) {
        if ((rc = exec_sql(db, MXG_SCHEMA_V3, err, errlen)) != MXG_OK ||
            (rc = rebuild_targets(db, err, errlen)) != MXG_OK)
            goto fail;
    }
    if (version < 4 && (rc = exec_sql(db, MXG_SCHEMA_V4, err, errlen)) != MXG_OK)
        goto fail;
    if (version < MXG_STORE_SCHEMA_VERSION &&
        (rc = exec_sql(db,
                       "INSERT OR REPLACE INTO mxg_meta (key, value)"
                       " VALUES ('schema_version', '" MXG_STORE_SCHEMA_VERSION_TEXT "')",
                       err, errlen)) != MXG_OK)
        goto fail;
    return exec_sql(db, "COMMIT", err, errlen);
fail:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* mxguard's own writes are never captured as out-of-band ones: when every trigger of the store
 * is the change capture's, its connections turn triggers off for themselves, so that a written
 * row does not even run the trigger program (an eighth of a large import). A trigger someone
 * else added (a panel's own bookkeeping) keeps them on: it must see mxguard's writes too; the
 * capture's triggers then pass them by through the mxg_self mark (sq_begin). Called before the
 * statements are prepared, which is when SQLite codes triggers into them. */
static void triggers_off_if_ours(sqlite3 *db)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'"
                           " AND name NOT LIKE 'mxg\\_cc\\_%' ESCAPE '\\'",
                           -1, &q, NULL) != SQLITE_OK) {
        sqlite3_finalize(q);
        return;
    }
    bool others = sqlite3_step(q) != SQLITE_ROW || sqlite3_column_int(q, 0) != 0;
    sqlite3_finalize(q);
    if (!others)
        (void)sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
}

int mxg_store_sqlite_open(const char *path, struct mxg_store **out, char *err, size_t errlen)
{
    struct sqlite_store *s = calloc(1, sizeof(*s));
    if (!s)
        return MXG_ENOMEM;
    s->base.ops = &SQLITE_OPS;
    int rc = MXG_ESTORE;
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        rc = MXG_EIO;
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 1500);
    sqlite3_extended_result_codes(s->db, 0);
    /* Pages are read through a memory map (up to MMAP_SIZE of the file) rather than one
     * pread() each: a long-tailed lookup stream touches pages all over a large store, and a
     * system call per page is most of what a lookup costs over the protocol floor. Written
     * pages stay in a page cache of up to 64 MiB (SQLite's default is 2 MiB): a large write
     * (a 100,000-record import touches some 8,000 pages of table and indexes) then writes each
     * page once at commit instead of spilling and writing it again and again mid-transaction.
     * Foreign keys are not enforced, as in pdns's gsqlite3 (its default): a zone's rows are
     * deleted with it by zone_delete, and the check of the zone's row on every record written
     * was a third of what SQLite spent on an import's records.
     * A store created here gets 16 KiB pages (SQLite's default is 4 KiB): a large write goes
     * to the WAL and then into the database in a quarter of the pages, so a quarter of the
     * system calls (a 100,000-record import: 0.55 s -> 0.47 s), while a one-record commit
     * costs the same (larger pages made it slower: 64 KiB took 1.6 ms against 1.0). The size
     * is fixed when the file is created; a store that exists keeps its own, whatever it is. */
    if ((rc = exec_sql(s->db,
                       "PRAGMA page_size=" NEW_STORE_PAGE_SIZE "; PRAGMA journal_mode=WAL;"
                       " PRAGMA synchronous=FULL;"
                       " PRAGMA foreign_keys=OFF; PRAGMA mmap_size=" MMAP_SIZE ";"
                       " PRAGMA cache_size=-65536;",
                       err, errlen)) != MXG_OK)
        goto fail;
    if ((rc = migrate(s->db, err, errlen)) != MXG_OK)
        goto fail;
    triggers_off_if_ours(s->db);
    for (int i = 0; i < S_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, STMT_SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                               NULL) != SQLITE_OK) {
            snprintf(err, errlen, "preparing statement %d: %s", i, sqlite3_errmsg(s->db));
            rc = MXG_ESTORE;
            goto fail;
        }
    }
    *out = &s->base;
    return MXG_OK;
fail:
    sq_close(&s->base);
    return rc;
}
