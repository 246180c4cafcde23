/* postgresql.c -- the PostgreSQL store engine (libpq), for many pdns nodes on one database.
 *
 * Tables: PowerDNS 4.7's gpgsql schema, exactly as pdns's schema.pgsql.sql creates it (so pdns's
 * own gpgsql backend can serve the same database, and a database made for it is served as is),
 * plus mxguard's own, the same as the SQLite engine's: mxg_meta, mxg_names, mxg_targets and
 * mxg_audit (sqlite.c describes them).
 *
 * Writes across nodes: every write transaction of every mxguard node starts by taking one
 * transaction-scoped advisory lock (pg_advisory_xact_lock), so the write transactions of the
 * fleet run one at a time, as BEGIN IMMEDIATE makes them on SQLite. The guard then judges a
 * change on the latest committed state of the whole fleet (READ COMMITTED: each statement after
 * the lock sees every commit made before it), and the audit chain's next seq and prev are read
 * under the same lock, so the chain stays one line without gaps or forks. Per-zone locks would
 * let commits to different zones run side by side, but the audit chain is one sequence for the
 * fleet and the guard follows MX and CNAME targets across zones: one lock is what is correct.
 *
 * Freshness: every write transaction sends NOTIFY mxg_changes (delivered at commit); every
 * handle LISTENs, and its generation (store.h) changes when a notification has arrived or when a
 * handle of this process committed, so a node's reply cache learns of another node's commit as
 * soon as the notification reaches it.
 *
 * A lost connection (the server restarting) fails the call in progress; the next call outside a
 * write transaction reconnects, prepares the statements again and, for a read, retries once. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "engine.h"
#include "mxg/err.h"
#include "mxg/hash.h"
#include "mxg/log.h"

/* The lock every write transaction takes first (the ASCII of "mxgd"). */
#define WRITE_LOCK "1836607332"

static const char PDNS_SCHEMA[] =
    "CREATE TABLE domains ("
    " id SERIAL PRIMARY KEY,"
    " name VARCHAR(255) NOT NULL,"
    " master VARCHAR(128) DEFAULT NULL,"
    " last_check INT DEFAULT NULL,"
    " type TEXT NOT NULL,"
    " notified_serial BIGINT DEFAULT NULL,"
    " account VARCHAR(40) DEFAULT NULL,"
    " options TEXT DEFAULT NULL,"
    " catalog TEXT DEFAULT NULL,"
    " CONSTRAINT c_lowercase_name CHECK (((name)::TEXT = LOWER((name)::TEXT))));"
    "CREATE UNIQUE INDEX name_index ON domains(name);"
    "CREATE INDEX catalog_idx ON domains(catalog);"
    "CREATE TABLE records ("
    " id BIGSERIAL PRIMARY KEY,"
    " domain_id INT DEFAULT NULL,"
    " name VARCHAR(255) DEFAULT NULL,"
    " type VARCHAR(10) DEFAULT NULL,"
    " content VARCHAR(65535) DEFAULT NULL,"
    " ttl INT DEFAULT NULL,"
    " prio INT DEFAULT NULL,"
    " disabled BOOL DEFAULT 'f',"
    " ordername VARCHAR(255),"
    " auth BOOL DEFAULT 't',"
    " CONSTRAINT domain_exists FOREIGN KEY(domain_id) REFERENCES domains(id) ON DELETE CASCADE,"
    " CONSTRAINT c_lowercase_name CHECK (((name)::TEXT = LOWER((name)::TEXT))));"
    "CREATE INDEX rec_name_index ON records(name);"
    "CREATE INDEX nametype_index ON records(name,type);"
    "CREATE INDEX domain_id ON records(domain_id);"
    "CREATE INDEX recordorder ON records (domain_id, ordername text_pattern_ops);"
    "CREATE TABLE supermasters ("
    " ip INET NOT NULL,"
    " nameserver VARCHAR(255) NOT NULL,"
    " account VARCHAR(40) NOT NULL,"
    " PRIMARY KEY(ip, nameserver));"
    "CREATE TABLE comments ("
    " id SERIAL PRIMARY KEY,"
    " domain_id INT NOT NULL,"
    " name VARCHAR(255) NOT NULL,"
    " type VARCHAR(10) NOT NULL,"
    " modified_at INT NOT NULL,"
    " account VARCHAR(40) DEFAULT NULL,"
    " comment VARCHAR(65535) NOT NULL,"
    " CONSTRAINT domain_exists FOREIGN KEY(domain_id) REFERENCES domains(id) ON DELETE CASCADE,"
    " CONSTRAINT c_lowercase_name CHECK (((name)::TEXT = LOWER((name)::TEXT))));"
    "CREATE INDEX comments_domain_id_idx ON comments (domain_id);"
    "CREATE INDEX comments_name_type_idx ON comments (name, type);"
    "CREATE INDEX comments_order_idx ON comments (domain_id, modified_at);"
    "CREATE TABLE domainmetadata ("
    " id SERIAL PRIMARY KEY,"
    " domain_id INT REFERENCES domains(id) ON DELETE CASCADE,"
    " kind VARCHAR(32),"
    " content TEXT);"
    "CREATE INDEX domainidmetaindex ON domainmetadata(domain_id);"
    "CREATE TABLE cryptokeys ("
    " id SERIAL PRIMARY KEY,"
    " domain_id INT REFERENCES domains(id) ON DELETE CASCADE,"
    " flags INT NOT NULL,"
    " active BOOL,"
    " published BOOL DEFAULT TRUE,"
    " content TEXT);"
    "CREATE INDEX domainidindex ON cryptokeys(domain_id);"
    "CREATE TABLE tsigkeys ("
    " id SERIAL PRIMARY KEY,"
    " name VARCHAR(255),"
    " algorithm VARCHAR(50),"
    " secret VARCHAR(255),"
    " CONSTRAINT c_lowercase_name CHECK (((name)::TEXT = LOWER((name)::TEXT))));"
    "CREATE UNIQUE INDEX namealgoindex ON tsigkeys(name, algorithm);";

/* mxguard's own tables at version 3, made at once (the SQLite engine's versions 1 to 3). */
static const char MXG_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS mxg_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS mxg_names ("
    " domain_id INT NOT NULL,"
    " rkey BYTEA NOT NULL,"
    " PRIMARY KEY (domain_id, rkey));"
    "CREATE TABLE IF NOT EXISTS mxg_audit ("
    " seq BIGINT PRIMARY KEY,"
    " time TEXT NOT NULL,"
    " zone TEXT NOT NULL,"
    " verdict TEXT NOT NULL,"
    " record TEXT NOT NULL,"
    " hash TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS mxg_audit_zone ON mxg_audit(zone, seq);"
    "CREATE TABLE IF NOT EXISTS mxg_targets ("
    " type TEXT NOT NULL,"
    " trkey BYTEA NOT NULL,"
    " domain_id INT NOT NULL,"
    " name TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " PRIMARY KEY (type, trkey, domain_id, name));"
    "CREATE INDEX IF NOT EXISTS mxg_targets_owner ON mxg_targets(domain_id, name, type);"
    "CREATE INDEX IF NOT EXISTS mxg_records_lookup ON records(domain_id, name, type);";

/* mxguard's own tables, version 4: change capture, as in sqlite.c (which describes the columns).
 * mxguard's connections set mxg.self for the session, and the triggers pass them by. The
 * trigger functions run with their owner's rights (a panel's role needs none on mxg_changes)
 * and wake every node (NOTIFY mxg_changes). */
#define PG_CC_FUNC(tbl, did, oldv, newv)                                                           \
    "CREATE OR REPLACE FUNCTION mxg_cc_" tbl "() RETURNS trigger LANGUAGE plpgsql"                 \
    " SECURITY DEFINER SET search_path FROM CURRENT AS $f$ BEGIN"                                  \
    " INSERT INTO mxg_changes (tbl, op, domain_id, old_name, old_type, old_content, old_ttl,"      \
    " old_prio, old_disabled, new_name, new_type, new_content, new_ttl, new_prio,"                 \
    " new_disabled) VALUES ('" tbl "', TG_OP, " did ", " oldv ", " newv ");"                       \
    " PERFORM pg_notify('mxg_changes', ''); RETURN NULL; END $f$;"                                 \
    "DROP TRIGGER IF EXISTS mxg_cc_" tbl " ON " tbl ";"
#define PG_CC_TRIGGER(tbl, cols)                                                                   \
    "CREATE TRIGGER mxg_cc_" tbl " AFTER INSERT OR DELETE OR UPDATE OF " cols " ON " tbl           \
    " FOR EACH ROW WHEN (current_setting('mxg.self', true) IS DISTINCT FROM 'on')"                 \
    " EXECUTE FUNCTION mxg_cc_" tbl "();"
#define PG_CC_REC(r)                                                                               \
    r ".name, " r ".type, " r ".content, " r ".ttl, " r ".prio, " r ".disabled::int"
#define PG_CC_DOM(r) r ".name, " r ".type, " r ".master, NULL, NULL, NULL"
#define PG_CC_META(r) "NULL, " r ".kind, " r ".content, NULL, NULL, NULL"
#define PG_CC_KEY(r)                                                                               \
    "NULL, NULL, " r ".content, " r ".flags, " r ".published::int, (NOT " r ".active)::int"
static const char MXG_SCHEMA_V4[] =
    "CREATE TABLE IF NOT EXISTS mxg_changes ("
    " id BIGSERIAL PRIMARY KEY,"
    " time TEXT NOT NULL DEFAULT to_char(clock_timestamp() AT TIME ZONE 'UTC',"
    "  'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " tbl TEXT NOT NULL,"
    " op TEXT NOT NULL,"
    " domain_id INT,"
    " old_name TEXT, old_type TEXT, old_content TEXT, old_ttl BIGINT, old_prio BIGINT,"
    " old_disabled INT,"
    " new_name TEXT, new_type TEXT, new_content TEXT, new_ttl BIGINT, new_prio BIGINT,"
    " new_disabled INT);" PG_CC_FUNC("records", "coalesce(NEW.domain_id, OLD.domain_id)",
                                     PG_CC_REC("OLD"), PG_CC_REC("NEW"))
        PG_CC_TRIGGER("records", "domain_id, name, type, content, ttl, prio, disabled")
            PG_CC_FUNC("domains", "coalesce(NEW.id, OLD.id)", PG_CC_DOM("OLD"), PG_CC_DOM("NEW"))
                PG_CC_TRIGGER("domains", "name, type, master") PG_CC_FUNC(
                    "domainmetadata", "coalesce(NEW.domain_id, OLD.domain_id)", PG_CC_META("OLD"),
                    PG_CC_META("NEW")) PG_CC_TRIGGER("domainmetadata", "domain_id, kind, content")
                    PG_CC_FUNC("cryptokeys", "coalesce(NEW.domain_id, OLD.domain_id)",
                               PG_CC_KEY("OLD"), PG_CC_KEY("NEW"))
                        PG_CC_TRIGGER("cryptokeys", "domain_id, flags, active, published, content");

/* mxguard's own tables, version 5: the transaction each captured row was written in, so a pass
 * tells one external commit from the next (SQLite cannot; it groups by second). */
static const char MXG_SCHEMA_V5[] =
    "ALTER TABLE mxg_changes ADD COLUMN IF NOT EXISTS txid BIGINT NOT NULL"
    " DEFAULT txid_current();";

enum stmt_id {
    S_ZONE_GET,
    S_ZONE_GET_ID,
    S_ZONE_LIST,
    S_ZONE_ADD,
    S_ZONE_DEL,
    S_ZONE_DEL_NAMES,
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
    S_REFERRERS_ALL,
    S_REFERRERS_BELOW_ALL,
    S_TARGET_ADD,
    S_TARGET_DEL_ANY,
    S_TARGET_DEL_TYPE,
    S_ZONE_CLEAR_TARGETS,
    S_AUDIT_INSERT,
    S_CHANGES_LIST,
    S_CHANGES_TRIM,
    S_COUNT
};

#define ZONE_COLS                                                                                  \
    "d.id, d.name, d.type, d.master, d.last_check, d.notified_serial,"                             \
    " (SELECT content FROM records r WHERE r.domain_id = d.id AND r.name = lower(d.name)"          \
    "  AND r.type = 'SOA' AND NOT r.disabled LIMIT 1)"

/* Orders are by byte value (COLLATE "C"), whatever the database's locale: the same order the
 * SQLite engine returns. */
static const char *const STMT_SQL[S_COUNT] = {
    [S_ZONE_GET] = "SELECT " ZONE_COLS " FROM domains d WHERE d.name = $1",
    [S_ZONE_GET_ID] = "SELECT " ZONE_COLS " FROM domains d WHERE d.id = $1",
    [S_ZONE_LIST] = "SELECT " ZONE_COLS " FROM domains d ORDER BY d.name COLLATE \"C\"",
    [S_ZONE_ADD] = "INSERT INTO domains (name, type, master) VALUES ($1, $2, $3) RETURNING id",
    [S_ZONE_DEL] = "DELETE FROM domains WHERE id = $1",
    [S_ZONE_DEL_NAMES] = "DELETE FROM mxg_names WHERE domain_id = $1",
    [S_ZONE_NOTIFIED] = "UPDATE domains SET notified_serial = $2 WHERE id = $1",
    [S_ZONE_LASTCHECK] = "UPDATE domains SET last_check = $2 WHERE id = $1",
    [S_ZONE_KIND] = "UPDATE domains SET type = $2, master = $3 WHERE id = $1",
    [S_LOOKUP_ANY] = "SELECT type, content, ttl, prio, auth FROM records"
                     " WHERE domain_id = $1 AND name = $2 AND NOT disabled"
                     " ORDER BY type COLLATE \"C\", id",
    [S_LOOKUP_TYPE] = "SELECT type, content, ttl, prio, auth FROM records"
                      " WHERE domain_id = $1 AND name = $2 AND type = $3 AND NOT disabled"
                      " ORDER BY id",
    [S_HAS_BELOW] = "SELECT 1 FROM mxg_names WHERE domain_id = $1 AND rkey > $2 AND rkey < $3"
                    " LIMIT 1",
    [S_LIST] = "SELECT name, type, content, ttl, prio, auth FROM records"
               " WHERE domain_id = $1 AND NOT disabled"
               " ORDER BY name COLLATE \"C\", type COLLATE \"C\", id",
    [S_META_ALL] = "SELECT kind, content FROM domainmetadata WHERE domain_id = $1 ORDER BY id",
    [S_META_KIND] = "SELECT kind, content FROM domainmetadata WHERE domain_id = $1"
                    " AND lower(kind) = lower($2) ORDER BY id",
    [S_META_DEL] = "DELETE FROM domainmetadata WHERE domain_id = $1 AND lower(kind) = lower($2)",
    [S_META_ADD] = "INSERT INTO domainmetadata (domain_id, kind, content) VALUES ($1, $2, $3)",
    [S_RRSET_DEL_ANY] = "DELETE FROM records WHERE domain_id = $1 AND name = $2",
    [S_RRSET_DEL_TYPE] = "DELETE FROM records WHERE domain_id = $1 AND name = $2 AND type = $3",
    [S_NAME_LEFT] = "SELECT 1 FROM records WHERE domain_id = $1 AND name = $2 LIMIT 1",
    [S_NAME_DEL] = "DELETE FROM mxg_names WHERE domain_id = $1 AND rkey = $2",
    [S_NAME_ADD] = "INSERT INTO mxg_names (domain_id, rkey) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    [S_REC_ADD] = "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth)"
                  " VALUES ($1, $2, $3, $4, $5, $6, false, $7)",
    [S_ZONE_CLEAR] = "DELETE FROM records WHERE domain_id = $1",
    [S_ZONE_CLEAR_NAMES] = "DELETE FROM mxg_names WHERE domain_id = $1",
    /* ILIKE: SQLite's LIKE, which the other engine uses, ignores ASCII case. */
    [S_SEARCH] = "SELECT domain_id, name, type, content, ttl, prio, auth FROM records"
                 " WHERE NOT disabled AND type IS NOT NULL AND (name ILIKE $1 ESCAPE '\\'"
                 " OR content ILIKE $1 ESCAPE '\\')"
                 " ORDER BY domain_id, name COLLATE \"C\", type COLLATE \"C\" LIMIT $2",
    [S_KEYED] = "SELECT " ZONE_COLS " FROM domains d"
                " WHERE EXISTS (SELECT 1 FROM cryptokeys k WHERE k.domain_id = d.id)"
                " ORDER BY d.name COLLATE \"C\"",
    [S_KEY_LIST] = "SELECT id, domain_id, flags, coalesce(active, false),"
                   " coalesce(published, false), content FROM cryptokeys"
                   " WHERE domain_id = $1 ORDER BY id",
    [S_KEY_GET] = "SELECT id, domain_id, flags, coalesce(active, false),"
                  " coalesce(published, false), content FROM cryptokeys"
                  " WHERE domain_id = $1 AND id = $2",
    [S_KEY_ADD] = "INSERT INTO cryptokeys (domain_id, flags, active, published, content)"
                  " VALUES ($1, $2, $3, $4, $5) RETURNING id",
    [S_KEY_FLAGS] = "UPDATE cryptokeys SET active = coalesce($3::bool, active),"
                    " published = coalesce($4::bool, published) WHERE domain_id = $1 AND id = $2",
    [S_KEY_DEL] = "DELETE FROM cryptokeys WHERE domain_id = $1 AND id = $2",
    [S_TSIG_GET] = "SELECT name, algorithm, secret FROM tsigkeys WHERE name = lower($1)"
                   " ORDER BY id LIMIT 1",
    [S_TSIG_LIST] = "SELECT name, algorithm, secret FROM tsigkeys ORDER BY name COLLATE \"C\", id",
    [S_TSIG_ADD] = "INSERT INTO tsigkeys (name, algorithm, secret) VALUES (lower($1), $2, $3)",
    [S_TSIG_DEL] = "DELETE FROM tsigkeys WHERE name = lower($1)",
    [S_AP_FIND] = "SELECT account FROM supermasters WHERE ip = $1::inet"
                  " AND lower(nameserver) = lower($2)",
    [S_AP_ADD] = "INSERT INTO supermasters (ip, nameserver, account) VALUES ($1::inet, $2, $3)",
    [S_AP_DEL] = "DELETE FROM supermasters WHERE ip = $1::inet AND lower(nameserver) = lower($2)",
    [S_AP_LIST] = "SELECT host(ip), nameserver, account FROM supermasters"
                  " ORDER BY host(ip) COLLATE \"C\", nameserver COLLATE \"C\"",
    [S_REFERRERS] = "SELECT domain_id, name FROM mxg_targets WHERE type = $2 AND trkey = $1",
    [S_REFERRERS_BELOW] = "SELECT domain_id, name, target FROM mxg_targets"
                          " WHERE type = $1 AND trkey >= $2 AND trkey < $3"
                          " ORDER BY trkey, domain_id, name COLLATE \"C\"",
    /* The two above for every target type at once (the type last). */
    [S_REFERRERS_ALL] = "SELECT domain_id, name, type FROM mxg_targets"
                        " WHERE type IN ('MX', 'CNAME', 'ALIAS', 'DNAME') AND trkey = $1",
    [S_REFERRERS_BELOW_ALL] = "SELECT domain_id, name, target, type FROM mxg_targets"
                              " WHERE type IN ('MX', 'CNAME', 'ALIAS', 'DNAME')"
                              " AND trkey >= $1 AND trkey < $2"
                              " ORDER BY type, trkey, domain_id, name COLLATE \"C\"",
    [S_TARGET_ADD] = "INSERT INTO mxg_targets (type, trkey, domain_id, name, target)"
                     " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    [S_TARGET_DEL_ANY] = "DELETE FROM mxg_targets WHERE domain_id = $1 AND name = $2",
    [S_TARGET_DEL_TYPE] = "DELETE FROM mxg_targets WHERE domain_id = $1 AND name = $2"
                          " AND type = $3",
    [S_ZONE_CLEAR_TARGETS] = "DELETE FROM mxg_targets WHERE domain_id = $1",
    [S_CHANGES_LIST] =
        "SELECT id, time, tbl, op, domain_id, old_name, old_type, old_content, old_ttl,"
        " old_prio, old_disabled, new_name, new_type, new_content, new_ttl, new_prio,"
        " new_disabled, txid FROM mxg_changes ORDER BY id LIMIT $1",
    [S_CHANGES_TRIM] = "DELETE FROM mxg_changes WHERE id <= $1",
    [S_AUDIT_INSERT] = "INSERT INTO mxg_audit (seq, time, zone, verdict, record, hash)"
                       " VALUES ($1, $2, $3, $4, $5, $6)",
};

/* Statements that only read (retried once after a reconnect). */
static bool stmt_reads(enum stmt_id id)
{
    return strncmp(STMT_SQL[id], "SELECT", 6) == 0;
}

/* Commits by any handle of this process: another handle's generation changes with it before
 * the commit's notification has travelled through the server. */
static _Atomic uint64_t local_commits;

struct memo_entry;

struct pg_store {
    struct mxg_store base;
    PGconn *conn;
    bool in_txn;
    struct memo_entry **memo; /* reads remembered inside a transaction (MEMO_SLOTS chains) */
    size_t memo_n;
    bool batch_reads;
    bool prepared; /* the statements exist on this connection */
    uint64_t generation;
    uint64_t seen_commits; /* local_commits when generation last looked */
};

static struct pg_store *P(struct mxg_store *st)
{
    return (struct pg_store *)st;
}

/* ---- parameters and results ------------------------------------------------------------ */

#define MAX_PARAMS 8

struct params {
    const char *v[MAX_PARAMS];
    int len[MAX_PARAMS];
    int fmt[MAX_PARAMS];
    char num[MAX_PARAMS][24];
    int n;
};

static void p_text(struct params *p, const char *v)
{
    p->v[p->n] = v;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

static void p_int(struct params *p, int64_t v)
{
    snprintf(p->num[p->n], sizeof(p->num[p->n]), "%" PRId64, v);
    p_text(p, p->num[p->n]);
}

static void p_bool(struct params *p, bool v)
{
    p_text(p, v ? "t" : "f");
}

static void p_blob(struct params *p, const uint8_t *v, size_t n)
{
    p->v[p->n] = (const char *)v;
    p->len[p->n] = (int)n;
    p->fmt[p->n] = 1;
    p->n++;
}

/* The store error of a failed result. */
static int result_error(PGconn *conn, const PGresult *res)
{
    if (PQstatus(conn) != CONNECTION_OK)
        return MXG_EIO;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!state)
        return MXG_ESTORE;
    if (strncmp(state, "23", 2) == 0)
        return MXG_EEXIST; /* a constraint, as SQLITE_CONSTRAINT is on the other engine */
    if (strncmp(state, "22", 2) == 0)
        return MXG_EINVAL; /* a value the column refuses */
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0 ||
        strcmp(state, "57014") == 0)
        return MXG_EBUSY; /* serialization, deadlock, lock or statement timeout */
    if (strcmp(state, "53100") == 0)
        return MXG_ENOSPC;
    if (strncmp(state, "53", 2) == 0)
        return MXG_ENOMEM;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
        return MXG_EIO; /* connection lost, server shutting down */
    return MXG_ESTORE;
}

static const char *val(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static const char *text(const PGresult *r, int row, int col)
{
    return PQgetvalue(r, row, col); /* "" for NULL */
}

static int64_t num(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static bool boolean(const PGresult *r, int row, int col, bool if_null)
{
    return PQgetisnull(r, row, col) ? if_null : PQgetvalue(r, row, col)[0] == 't';
}

static int64_t changes(PGresult *r)
{
    const char *t = PQcmdTuples(r);
    return t && *t ? strtoll(t, NULL, 10) : 0;
}

/* ---- the connection ---------------------------------------------------------------------- */

static int exec_plain(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = MXG_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        rc = result_error(conn, r);
        if (err)
            snprintf(err, errlen, "%s", PQerrorMessage(conn));
    }
    PQclear(r);
    return rc;
}

/* The server's notices and warnings go to mxguard's log, not to stderr. */
static void notice(void *arg, const char *message)
{
    (void)arg;
    size_t n = strlen(message);
    while (n > 0 && message[n - 1] == '\n')
        n--;
    mxg_warn("PostgreSQL: %.*s", (int)n, message);
}

/* Session settings, LISTEN and the prepared statements of a fresh connection. */
static int session_setup(struct pg_store *s, char *err, size_t errlen)
{
    PQsetNoticeProcessor(s->conn, notice, NULL);
    int rc = exec_plain(s->conn,
                        "SET client_min_messages = warning; SET lock_timeout = '10s';"
                        " SET mxg.self = 'on';"
                        " LISTEN mxg_changes",
                        err, errlen);
    if (rc != MXG_OK)
        return rc;
    for (int i = 0; i < S_COUNT; i++) {
        char name[16];
        snprintf(name, sizeof(name), "s%d", i);
        PGresult *r = PQprepare(s->conn, name, STMT_SQL[i], 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "preparing statement %d: %s", i, PQerrorMessage(s->conn));
            rc = result_error(s->conn, r);
            PQclear(r);
            return rc == MXG_OK ? MXG_ESTORE : rc;
        }
        PQclear(r);
    }
    s->prepared = true;
    return MXG_OK;
}

/* Outside a write transaction, a connection found broken is made again. */
static int reconnect(struct pg_store *s)
{
    if (PQstatus(s->conn) == CONNECTION_OK && s->prepared)
        return MXG_OK;
    if (s->in_txn)
        return MXG_EIO; /* the transaction is lost with its connection */
    s->prepared = false;
    s->generation++; /* notifications may have been missed meanwhile */
    PQreset(s->conn);
    if (PQstatus(s->conn) != CONNECTION_OK)
        return MXG_EIO;
    char err[256];
    return session_setup(s, err, sizeof(err));
}

/* ---- reads remembered inside a transaction ------------------------------------------------ */

/* Judging a transaction asks the same few questions many times (which zone holds this name,
 * what points at it), and each is a round trip to the server. Inside a transaction of its own
 * the handle remembers the answers of the reads below until its next write, commit or rollback:
 * the first answer stands for the rest of that stretch, as a snapshot would. */
#define MEMO_SLOTS 1024
#define MEMO_MAX 16384 /* answers; past this the memo starts over */
#define MEMO_KEY_MAX 1100

struct memo_entry {
    struct memo_entry *next;
    uint64_t h;
    PGresult *r;
    size_t keylen;
    unsigned char key[];
};

static bool stmt_memo(enum stmt_id id)
{
    switch (id) {
    case S_ZONE_GET:
    case S_ZONE_GET_ID:
    case S_LOOKUP_ANY:
    case S_LOOKUP_TYPE:
    case S_HAS_BELOW:
    case S_META_ALL:
    case S_META_KIND:
    case S_REFERRERS_ALL:
    case S_REFERRERS_BELOW_ALL:
        return true;
    default:
        return false;
    }
}

static void memo_clear(struct pg_store *s)
{
    if (!s->memo)
        return;
    for (size_t i = 0; i < MEMO_SLOTS; i++) {
        for (struct memo_entry *e = s->memo[i], *next; e; e = next) {
            next = e->next;
            PQclear(e->r);
            free(e);
        }
    }
    free(s->memo);
    s->memo = NULL;
    s->memo_n = 0;
}

/* The statement and its parameters as one key; 0 when too long to remember. */
static size_t memo_key(enum stmt_id id, const struct params *p, unsigned char *key)
{
    size_t n = 0;
    key[n++] = (unsigned char)id;
    for (int i = 0; p && i < p->n; i++) {
        uint32_t len = p->fmt[i] ? (uint32_t)p->len[i] : (uint32_t)strlen(p->v[i]);
        if (n + sizeof(len) + len > MEMO_KEY_MAX)
            return 0;
        memcpy(key + n, &len, sizeof(len));
        memcpy(key + n + sizeof(len), p->v[i], len);
        n += sizeof(len) + len;
    }
    return n;
}

static struct memo_entry *memo_find(const struct pg_store *s, uint64_t h, const unsigned char *key,
                                    size_t len)
{
    if (!s->memo)
        return NULL;
    for (struct memo_entry *e = s->memo[h % MEMO_SLOTS]; e; e = e->next)
        if (e->h == h && e->keylen == len && memcmp(e->key, key, len) == 0)
            return e;
    return NULL;
}

/* Remembers a copy of r; nothing when memory is short (the memo only saves round trips). */
static void memo_put(struct pg_store *s, uint64_t h, const unsigned char *key, size_t len,
                     const PGresult *r)
{
    if (s->memo_n >= MEMO_MAX)
        memo_clear(s);
    if (!s->memo && !(s->memo = calloc(MEMO_SLOTS, sizeof(struct memo_entry *))))
        return;
    struct memo_entry *e = malloc(sizeof(*e) + len);
    if (!e)
        return;
    if (!(e->r = PQcopyResult(r, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES))) {
        free(e);
        return;
    }
    e->h = h;
    e->keylen = len;
    memcpy(e->key, key, len);
    e->next = s->memo[h % MEMO_SLOTS];
    s->memo[h % MEMO_SLOTS] = e;
    s->memo_n++;
}

/* Runs a prepared statement; *out gets its result (PQclear it) when it succeeded. */
static int run(struct pg_store *s, enum stmt_id id, const struct params *p, PGresult **out)
{
    char name[16];
    snprintf(name, sizeof(name), "s%d", (int)id);
    bool reads = stmt_reads(id);
    if (!reads) {
        s->generation++;
        memo_clear(s);
    }
    unsigned char key[MEMO_KEY_MAX];
    size_t klen = 0;
    uint64_t h = 0;
    if (reads && s->in_txn && stmt_memo(id) && (klen = memo_key(id, p, key)) > 0) {
        h = mxg_hash_bytes(key, klen);
        const struct memo_entry *e = memo_find(s, h, key, klen);
        PGresult *copy = e ? PQcopyResult(e->r, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES) : NULL;
        if (copy) {
            *out = copy;
            return MXG_OK;
        }
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = reconnect(s);
        if (rc != MXG_OK)
            return rc;
        PGresult *r = PQexecPrepared(s->conn, name, p ? p->n : 0, p ? p->v : NULL,
                                     p ? p->len : NULL, p ? p->fmt : NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            if (!reads && !s->in_txn) {
                /* A write in its own transaction: tell the other handles. */
                (void)exec_plain(s->conn, "NOTIFY mxg_changes", NULL, 0);
                atomic_fetch_add(&local_commits, 1);
            }
            if (klen > 0)
                memo_put(s, h, key, klen, r);
            *out = r;
            return MXG_OK;
        }
        rc = result_error(s->conn, r);
        PQclear(r);
        if (rc == MXG_EIO)
            s->prepared = false; /* the next call outside a transaction makes a new connection */
        if (rc != MXG_EIO || !reads || s->in_txn)
            return rc;
    }
    return MXG_EIO;
}

/* Runs a write that must touch a row: MXG_ENOENT when it touched none. */
static int run_one(struct pg_store *s, enum stmt_id id, const struct params *p)
{
    PGresult *r = NULL;
    int rc = run(s, id, p, &r);
    if (rc == MXG_OK && changes(r) == 0)
        rc = MXG_ENOENT;
    PQclear(r);
    return rc;
}

static int run_void(struct pg_store *s, enum stmt_id id, const struct params *p)
{
    PGresult *r = NULL;
    int rc = run(s, id, p, &r);
    PQclear(r);
    return rc;
}

/* ---- zones ------------------------------------------------------------------------------- */

static void zone_from_row(const PGresult *r, int i, struct mxg_zone *z)
{
    mxg_engine_zone(z, num(r, i, 0), text(r, i, 1), text(r, i, 2), text(r, i, 3), num(r, i, 4),
                    num(r, i, 5), val(r, i, 6));
}

static int zone_one(struct pg_store *s, enum stmt_id id, const struct params *p,
                    struct mxg_zone *out)
{
    PGresult *r = NULL;
    int rc = run(s, id, p, &r);
    if (rc != MXG_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = MXG_ENOENT;
    else
        zone_from_row(r, 0, out);
    PQclear(r);
    return rc;
}

static int pg_zone_get(struct mxg_store *st, const char *name, struct mxg_zone *out)
{
    char db[MXG_NAME_TEXT_MAX];
    if (mxg_name_to_db(name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    struct params p = {0};
    p_text(&p, db);
    return zone_one(P(st), S_ZONE_GET, &p, out);
}

static int pg_zone_get_by_id(struct mxg_store *st, int64_t id, struct mxg_zone *out)
{
    struct params p = {0};
    p_int(&p, id);
    return zone_one(P(st), S_ZONE_GET_ID, &p, out);
}

static int zone_rows(struct pg_store *s, enum stmt_id id, mxg_zone_cb cb, void *ctx)
{
    PGresult *r = NULL;
    int rc = run(s, id, NULL, &r);
    struct mxg_zone z;
    for (int i = 0; rc == MXG_OK && i < PQntuples(r); i++) {
        zone_from_row(r, i, &z);
        rc = cb(ctx, &z);
    }
    PQclear(r);
    return rc;
}

static int pg_zone_list(struct mxg_store *st, mxg_zone_cb cb, void *ctx)
{
    return zone_rows(P(st), S_ZONE_LIST, cb, ctx);
}

static int pg_zone_add(struct mxg_store *st, const char *name, enum mxg_zone_kind kind,
                       const char *masters, int64_t *id)
{
    struct pg_store *s = P(st);
    char db[MXG_NAME_TEXT_MAX];
    if (mxg_name_to_db(name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    struct params p = {0};
    p_text(&p, db);
    p_text(&p, mxg_engine_kind_column(kind));
    p_text(&p, masters && *masters ? masters : NULL);
    PGresult *r = NULL;
    int rc = run(s, S_ZONE_ADD, &p, &r);
    if (rc == MXG_OK && id)
        *id = num(r, 0, 0);
    PQclear(r);
    return rc;
}

static int pg_zone_delete(struct mxg_store *st, int64_t id)
{
    struct pg_store *s = P(st);
    struct params p = {0};
    p_int(&p, id);
    int rc = run_void(s, S_ZONE_DEL_NAMES, &p);
    if (rc == MXG_OK)
        rc = run_void(s, S_ZONE_CLEAR_TARGETS, &p);
    if (rc == MXG_OK)
        rc = run_one(s, S_ZONE_DEL, &p); /* foreign keys cascade to the zone's rows */
    return rc;
}

static int update_zone_int(struct pg_store *s, enum stmt_id id, int64_t zone, int64_t v)
{
    struct params p = {0};
    p_int(&p, zone);
    p_int(&p, v);
    return run_one(s, id, &p);
}

static int pg_zone_set_notified(struct mxg_store *st, int64_t id, int64_t serial)
{
    return update_zone_int(P(st), S_ZONE_NOTIFIED, id, serial);
}

static int pg_zone_set_last_check(struct mxg_store *st, int64_t id, int64_t when)
{
    return update_zone_int(P(st), S_ZONE_LASTCHECK, id, when);
}

static int pg_zone_set_kind(struct mxg_store *st, int64_t id, enum mxg_zone_kind kind,
                            const char *masters)
{
    struct params p = {0};
    p_int(&p, id);
    p_text(&p, mxg_engine_kind_column(kind));
    p_text(&p, masters && *masters ? masters : NULL);
    return run_one(P(st), S_ZONE_KIND, &p);
}

/* ---- records ----------------------------------------------------------------------------- */

/* Emits rows r (columns from base: type, content, ttl, prio, auth), those of type only_type
 * when it is not NULL. */
static int record_rows_of(const PGresult *r, int base, int name_col, const char *name, int zone_col,
                          int64_t zone_id, const char *only_type, mxg_record_cb cb, void *ctx)
{
    char canon[MXG_NAME_TEXT_MAX];
    int rc = MXG_OK;
    for (int i = 0; rc == MXG_OK && i < PQntuples(r); i++) {
        if (only_type && strcmp(text(r, i, base), only_type) != 0)
            continue;
        if (name_col >= 0) {
            mxg_engine_db_to_canon(text(r, i, name_col), canon, sizeof(canon));
            name = canon;
        }
        rc = mxg_engine_emit(name, val(r, i, base), text(r, i, base + 1), num(r, i, base + 2),
                             !PQgetisnull(r, i, base + 3), num(r, i, base + 3),
                             boolean(r, i, base + 4, true),
                             zone_col >= 0 ? num(r, i, zone_col) : zone_id, cb, ctx);
    }
    return rc;
}

static int record_rows(const PGresult *r, int base, int name_col, const char *name, int zone_col,
                       int64_t zone_id, mxg_record_cb cb, void *ctx)
{
    return record_rows_of(r, base, name_col, name, zone_col, zone_id, NULL, cb, ctx);
}

static int pg_lookup(struct mxg_store *st, int64_t zone_id, const char *name, const char *type,
                     mxg_record_cb cb, void *ctx)
{
    char db[MXG_NAME_TEXT_MAX];
    if (mxg_name_to_db(name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    struct params p = {0};
    p_int(&p, zone_id);
    p_text(&p, db);
    /* Inside a transaction the name's records are read once (and remembered, see memo_put)
     * whatever the type asked: judging a change asks for several types of each name. */
    bool whole = !type || P(st)->in_txn;
    if (!whole)
        p_text(&p, type);
    PGresult *r = NULL;
    int rc = run(P(st), whole ? S_LOOKUP_ANY : S_LOOKUP_TYPE, &p, &r);
    if (rc == MXG_OK)
        rc = record_rows_of(r, 0, -1, name, -1, zone_id, type, cb, ctx);
    PQclear(r);
    return rc;
}

static int pg_has_below(struct mxg_store *st, int64_t zone_id, const char *name, bool *out)
{
    uint8_t lo[MXG_RKEY_MAX], hi[MXG_RKEY_MAX];
    size_t llen = 0, hlen = 0;
    int rc = mxg_engine_rkey_range(name, lo, &llen, hi, &hlen);
    if (rc != MXG_OK)
        return rc;
    struct params p = {0};
    p_int(&p, zone_id);
    p_blob(&p, lo, llen);
    p_blob(&p, hi, hlen);
    PGresult *r = NULL;
    rc = run(P(st), S_HAS_BELOW, &p, &r);
    *out = rc == MXG_OK && PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

static int pg_list(struct mxg_store *st, int64_t zone_id, mxg_record_cb cb, void *ctx)
{
    struct params p = {0};
    p_int(&p, zone_id);
    PGresult *r = NULL;
    int rc = run(P(st), S_LIST, &p, &r);
    if (rc == MXG_OK)
        rc = record_rows(r, 1, 0, NULL, -1, zone_id, cb, ctx);
    PQclear(r);
    return rc;
}

static int pg_meta_list(struct mxg_store *st, int64_t zone_id, const char *kind, mxg_meta_cb cb,
                        void *ctx)
{
    struct params p = {0};
    p_int(&p, zone_id);
    if (kind)
        p_text(&p, kind);
    PGresult *r = NULL;
    int rc = run(P(st), kind ? S_META_KIND : S_META_ALL, &p, &r);
    for (int i = 0; rc == MXG_OK && i < PQntuples(r); i++)
        rc = cb(ctx, text(r, i, 0), text(r, i, 1));
    PQclear(r);
    return rc;
}

static int pg_meta_set(struct mxg_store *st, int64_t zone_id, const char *kind,
                       const char *const *values, size_t n)
{
    struct pg_store *s = P(st);
    struct params p = {0};
    p_int(&p, zone_id);
    p_text(&p, kind);
    int rc = run_void(s, S_META_DEL, &p);
    for (size_t i = 0; rc == MXG_OK && i < n; i++) {
        struct params a = {0};
        p_int(&a, zone_id);
        p_text(&a, kind);
        p_text(&a, values[i]);
        rc = run_void(s, S_META_ADD, &a);
    }
    return rc;
}

/* ---- transactions ------------------------------------------------------------------------ */

static int pg_begin(struct mxg_store *st)
{
    struct pg_store *s = P(st);
    if (s->in_txn)
        return MXG_ETXN;
    s->generation++;
    /* A connection the server ended while it was idle shows only when used: nothing has been
     * done yet, so the transaction starts again on a new one. */
    int rc = MXG_EIO;
    for (int attempt = 0; attempt < 2 && rc == MXG_EIO; attempt++) {
        if ((rc = reconnect(s)) != MXG_OK)
            continue;
        /* One round trip: the transaction, the fleet's write lock, and the notification that
         * its commit will deliver. */
        rc = exec_plain(s->conn,
                        "BEGIN; SELECT pg_advisory_xact_lock(" WRITE_LOCK "); NOTIFY mxg_changes",
                        NULL, 0);
        if (rc == MXG_EIO)
            s->prepared = false;
        else if (rc != MXG_OK && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
            exec_plain(s->conn, "ROLLBACK", NULL, 0);
    }
    if (rc != MXG_OK)
        return rc;
    memo_clear(s);
    s->in_txn = true;
    return MXG_OK;
}

static int pg_commit(struct mxg_store *st)
{
    struct pg_store *s = P(st);
    if (!s->in_txn)
        return MXG_ETXN;
    s->in_txn = false;
    s->generation++;
    memo_clear(s);
    PGresult *r = PQexec(s->conn, "COMMIT");
    int rc = MXG_OK;
    /* COMMIT of a transaction that failed earlier answers ROLLBACK: that is no commit. */
    if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT") != 0)
        rc = PQresultStatus(r) == PGRES_COMMAND_OK ? MXG_ESTORE : result_error(s->conn, r);
    PQclear(r);
    /* A connection lost during COMMIT leaves its outcome unknown: pdns is told it failed (no
     * acknowledged change can be lost; one reported failed may be there). */
    if (rc == MXG_EIO)
        s->prepared = false;
    else if (rc != MXG_OK && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        exec_plain(s->conn, "ROLLBACK", NULL, 0);
    atomic_fetch_add(&local_commits, 1);
    return rc;
}

static int pg_rollback(struct mxg_store *st)
{
    struct pg_store *s = P(st);
    if (!s->in_txn)
        return MXG_ETXN;
    s->in_txn = false;
    s->generation++;
    memo_clear(s);
    if (PQstatus(s->conn) != CONNECTION_OK)
        return MXG_OK; /* the server dropped the transaction with the connection */
    int rc = exec_plain(s->conn, "ROLLBACK", NULL, 0);
    if (rc == MXG_EIO) {
        s->prepared = false;
        rc = MXG_OK; /* nothing of it stays: the server ends a lost session's transaction */
    }
    return rc;
}

static int name_index(struct pg_store *s, enum stmt_id id, int64_t zone_id, const char *name)
{
    uint8_t key[MXG_RKEY_MAX];
    size_t klen = 0;
    int rc = mxg_name_rkey(name, key, sizeof(key), &klen);
    if (rc != MXG_OK)
        return rc;
    struct params p = {0};
    p_int(&p, zone_id);
    p_blob(&p, key, klen);
    return run_void(s, id, &p);
}

static int pg_rrset_delete(struct mxg_store *st, int64_t zone_id, const char *name,
                           const char *type)
{
    struct pg_store *s = P(st);
    char db[MXG_NAME_TEXT_MAX];
    if (!s->in_txn)
        return MXG_ETXN;
    if (mxg_name_to_db(name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    struct params p = {0};
    p_int(&p, zone_id);
    p_text(&p, db);
    if (type)
        p_text(&p, type);
    int rc = run_void(s, type ? S_RRSET_DEL_TYPE : S_RRSET_DEL_ANY, &p);
    if (rc == MXG_OK && (!type || mxg_engine_target_type(type)))
        rc = run_void(s, type ? S_TARGET_DEL_TYPE : S_TARGET_DEL_ANY, &p);
    if (rc != MXG_OK)
        return rc;
    /* Drop the name from the index once nothing is left at it. */
    struct params q = {0};
    p_int(&q, zone_id);
    p_text(&q, db);
    PGresult *r = NULL;
    rc = run(s, S_NAME_LEFT, &q, &r);
    bool left = rc == MXG_OK && PQntuples(r) > 0;
    PQclear(r);
    if (rc != MXG_OK || left)
        return rc;
    return name_index(s, S_NAME_DEL, zone_id, name);
}

static int pg_record_add(struct mxg_store *st, int64_t zone_id, const struct mxg_record *rec)
{
    struct pg_store *s = P(st);
    char db[MXG_NAME_TEXT_MAX];
    if (!s->in_txn)
        return MXG_ETXN;
    if (mxg_name_to_db(rec->name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    const char *content = NULL;
    long long prio = -1;
    if (mxg_engine_split_prio(rec->type, rec->content, &prio, &content) != MXG_OK)
        return MXG_EINVAL;
    struct params p = {0};
    p_int(&p, zone_id);
    p_text(&p, db);
    p_text(&p, rec->type);
    p_text(&p, content);
    p_int(&p, rec->ttl);
    p_int(&p, prio < 0 ? 0 : prio);
    p_bool(&p, rec->auth);
    int rc = run_void(s, S_REC_ADD, &p);
    if (rc != MXG_OK)
        return rc;
    char target[MXG_NAME_TEXT_MAX];
    uint8_t key[MXG_RKEY_MAX];
    size_t klen = 0;
    if (mxg_engine_target_type(rec->type) &&
        mxg_engine_target_key(content, target, sizeof(target), key, &klen) == MXG_OK) {
        struct params t = {0};
        p_text(&t, rec->type);
        p_blob(&t, key, klen);
        p_int(&t, zone_id);
        p_text(&t, db);
        p_text(&t, target);
        if ((rc = run_void(s, S_TARGET_ADD, &t)) != MXG_OK)
            return rc;
    }
    return name_index(s, S_NAME_ADD, zone_id, rec->name);
}

static int pg_zone_clear(struct mxg_store *st, int64_t zone_id)
{
    struct pg_store *s = P(st);
    if (!s->in_txn)
        return MXG_ETXN;
    struct params p = {0};
    p_int(&p, zone_id);
    int rc = run_void(s, S_ZONE_CLEAR, &p);
    if (rc == MXG_OK)
        rc = run_void(s, S_ZONE_CLEAR_NAMES, &p);
    if (rc == MXG_OK)
        rc = run_void(s, S_ZONE_CLEAR_TARGETS, &p);
    return rc;
}

static int pg_search(struct mxg_store *st, const char *like, unsigned max, mxg_record_cb cb,
                     void *ctx)
{
    struct params p = {0};
    p_text(&p, like);
    p_int(&p, max);
    PGresult *r = NULL;
    int rc = run(P(st), S_SEARCH, &p, &r);
    if (rc == MXG_OK)
        rc = record_rows(r, 2, 1, NULL, 0, 0, cb, ctx);
    PQclear(r);
    return rc;
}

static int pg_keyed_zones(struct mxg_store *st, mxg_zone_cb cb, void *ctx)
{
    return zone_rows(P(st), S_KEYED, cb, ctx);
}

/* ---- DNSSEC and TSIG keys ---------------------------------------------------------------- */

static int key_rows(const PGresult *r, mxg_key_cb cb, void *ctx)
{
    int rc = MXG_OK;
    for (int i = 0; rc == MXG_OK && i < PQntuples(r); i++) {
        int64_t flags = num(r, i, 2);
        struct mxg_key k = {
            .id = num(r, i, 0),
            .zone_id = num(r, i, 1),
            .flags = flags < 0 || flags > 65535 ? 0 : (unsigned)flags,
            .active = boolean(r, i, 3, false),
            .published = boolean(r, i, 4, false),
            .content = text(r, i, 5),
        };
        rc = cb(ctx, &k);
    }
    return rc;
}

static int pg_key_list(struct mxg_store *st, int64_t zone_id, mxg_key_cb cb, void *ctx)
{
    struct params p = {0};
    p_int(&p, zone_id);
    PGresult *r = NULL;
    int rc = run(P(st), S_KEY_LIST, &p, &r);
    if (rc == MXG_OK)
        rc = key_rows(r, cb, ctx);
    PQclear(r);
    return rc;
}

static int pg_key_get(struct mxg_store *st, int64_t zone_id, int64_t id, mxg_key_cb cb, void *ctx)
{
    struct params p = {0};
    p_int(&p, zone_id);
    p_int(&p, id);
    PGresult *r = NULL;
    int rc = run(P(st), S_KEY_GET, &p, &r);
    if (rc == MXG_OK)
        rc = PQntuples(r) == 0 ? MXG_ENOENT : key_rows(r, cb, ctx);
    PQclear(r);
    return rc;
}

static int pg_key_add(struct mxg_store *st, int64_t zone_id, const struct mxg_key *key, int64_t *id)
{
    struct pg_store *s = P(st);
    if (!s->in_txn)
        return MXG_ETXN;
    struct params p = {0};
    p_int(&p, zone_id);
    p_int(&p, key->flags);
    p_bool(&p, key->active);
    p_bool(&p, key->published);
    p_text(&p, key->content);
    PGresult *r = NULL;
    int rc = run(s, S_KEY_ADD, &p, &r);
    if (rc == MXG_OK && id)
        *id = num(r, 0, 0);
    PQclear(r);
    return rc;
}

static int pg_key_set_flags(struct mxg_store *st, int64_t zone_id, int64_t id, int active,
                            int published)
{
    struct pg_store *s = P(st);
    if (!s->in_txn)
        return MXG_ETXN;
    struct params p = {0};
    p_int(&p, zone_id);
    p_int(&p, id);
    if (active >= 0)
        p_bool(&p, active != 0);
    else
        p_text(&p, NULL);
    if (published >= 0)
        p_bool(&p, published != 0);
    else
        p_text(&p, NULL);
    return run_one(s, S_KEY_FLAGS, &p);
}

static int pg_key_remove(struct mxg_store *st, int64_t zone_id, int64_t id)
{
    struct pg_store *s = P(st);
    if (!s->in_txn)
        return MXG_ETXN;
    struct params p = {0};
    p_int(&p, zone_id);
    p_int(&p, id);
    return run_one(s, S_KEY_DEL, &p);
}

static int tsig_rows(const PGresult *r, mxg_tsig_cb cb, void *ctx)
{
    char name[MXG_NAME_TEXT_MAX];
    int rc = MXG_OK;
    for (int i = 0; rc == MXG_OK && i < PQntuples(r); i++) {
        mxg_engine_db_to_canon(text(r, i, 0), name, sizeof(name));
        struct mxg_tsig k = {.name = name, .algorithm = text(r, i, 1), .secret = text(r, i, 2)};
        rc = cb(ctx, &k);
    }
    return rc;
}

static int pg_tsig_get(struct mxg_store *st, const char *name, mxg_tsig_cb cb, void *ctx)
{
    char db[MXG_NAME_TEXT_MAX];
    if (mxg_name_to_db(name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    struct params p = {0};
    p_text(&p, db);
    PGresult *r = NULL;
    int rc = run(P(st), S_TSIG_GET, &p, &r);
    if (rc == MXG_OK)
        rc = PQntuples(r) == 0 ? MXG_ENOENT : tsig_rows(r, cb, ctx);
    PQclear(r);
    return rc;
}

static int pg_tsig_list(struct mxg_store *st, mxg_tsig_cb cb, void *ctx)
{
    PGresult *r = NULL;
    int rc = run(P(st), S_TSIG_LIST, NULL, &r);
    if (rc == MXG_OK)
        rc = tsig_rows(r, cb, ctx);
    PQclear(r);
    return rc;
}

static int pg_tsig_set(struct mxg_store *st, const struct mxg_tsig *key)
{
    struct pg_store *s = P(st);
    char db[MXG_NAME_TEXT_MAX];
    if (!s->in_txn)
        return MXG_ETXN;
    if (mxg_name_to_db(key->name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    struct params p = {0};
    p_text(&p, db);
    int rc = run_void(s, S_TSIG_DEL, &p);
    if (rc != MXG_OK)
        return rc;
    p_text(&p, key->algorithm);
    p_text(&p, key->secret);
    return run_void(s, S_TSIG_ADD, &p);
}

static int pg_tsig_delete(struct mxg_store *st, const char *name)
{
    struct pg_store *s = P(st);
    char db[MXG_NAME_TEXT_MAX];
    if (!s->in_txn)
        return MXG_ETXN;
    if (mxg_name_to_db(name, db, sizeof(db)) != MXG_OK)
        return MXG_EINVAL;
    struct params p = {0};
    p_text(&p, db);
    return run_one(s, S_TSIG_DEL, &p);
}

/* ---- autoprimaries ----------------------------------------------------------------------- */

/* pdns's gsql stores nameservers without the trailing dot. */
static void ap_params(struct params *p, const char *ip, const char *nameserver, char *db,
                      size_t dblen)
{
    if (mxg_name_to_db(nameserver, db, dblen) != MXG_OK)
        snprintf(db, dblen, "%s", nameserver);
    p_text(p, ip);
    p_text(p, db);
}

static int pg_autoprimary_find(struct mxg_store *st, const char *ip, const char *nameserver,
                               char *account, size_t accountlen)
{
    char db[MXG_NAME_TEXT_MAX];
    struct params p = {0};
    ap_params(&p, ip, nameserver, db, sizeof(db));
    PGresult *r = NULL;
    int rc = run(P(st), S_AP_FIND, &p, &r);
    /* MXG_EINVAL: not an address, so no autoprimary has it. */
    if (rc == MXG_EINVAL || (rc == MXG_OK && PQntuples(r) == 0))
        rc = MXG_ENOENT;
    else if (rc == MXG_OK)
        snprintf(account, accountlen, "%s", text(r, 0, 0));
    PQclear(r);
    return rc;
}

static int pg_autoprimary_add(struct mxg_store *st, const char *ip, const char *nameserver,
                              const char *account)
{
    char db[MXG_NAME_TEXT_MAX];
    struct params p = {0};
    ap_params(&p, ip, nameserver, db, sizeof(db));
    p_text(&p, account ? account : "");
    return run_void(P(st), S_AP_ADD, &p);
}

static int pg_autoprimary_delete(struct mxg_store *st, const char *ip, const char *nameserver)
{
    char db[MXG_NAME_TEXT_MAX];
    struct params p = {0};
    ap_params(&p, ip, nameserver, db, sizeof(db));
    int rc = run_one(P(st), S_AP_DEL, &p);
    return rc == MXG_EINVAL ? MXG_ENOENT : rc;
}

static int pg_autoprimary_list(struct mxg_store *st,
                               int (*cb)(void *ctx, const char *ip, const char *nameserver,
                                         const char *account),
                               void *ctx)
{
    PGresult *r = NULL;
    int rc = run(P(st), S_AP_LIST, NULL, &r);
    for (int i = 0; rc == MXG_OK && i < PQntuples(r); i++)
        rc = cb(ctx, text(r, i, 0), text(r, i, 1), text(r, i, 2));
    PQclear(r);
    return rc;
}

/* ---- the guard's reverse lookups --------------------------------------------------------- */

static int pg_referrers(struct mxg_store *st, const char *type, const char *target,
                        int (*cb)(void *ctx, int64_t zone_id, const char *owner), void *ctx)
{
    if (!mxg_engine_target_type(type))
        return MXG_EINVAL;
    uint8_t key[MXG_RKEY_MAX];
    size_t klen = 0;
    if (mxg_name_rkey(target, key, sizeof(key), &klen) != MXG_OK)
        return MXG_EINVAL;
    /* Inside a transaction, every type's at once (and remembered): judging asks for each. */
    bool all = P(st)->in_txn;
    struct params p = {0};
    p_blob(&p, key, klen);
    if (!all)
        p_text(&p, type);
    PGresult *r = NULL;
    int rc = run(P(st), all ? S_REFERRERS_ALL : S_REFERRERS, &p, &r);
    char owner[MXG_NAME_TEXT_MAX];
    for (int i = 0; rc == MXG_OK && i < PQntuples(r); i++) {
        if (all && strcmp(text(r, i, 2), type) != 0)
            continue;
        mxg_engine_db_to_canon(text(r, i, 1), owner, sizeof(owner));
        rc = cb(ctx, num(r, i, 0), owner);
    }
    PQclear(r);
    return rc;
}

static int pg_referrers_below(struct mxg_store *st, const char *type, const char *root,
                              int (*cb)(void *ctx, int64_t zone_id, const char *owner,
                                        const char *target),
                              void *ctx)
{
    if (!mxg_engine_target_type(type))
        return MXG_EINVAL;
    uint8_t lo[MXG_RKEY_MAX], hi[MXG_RKEY_MAX];
    size_t llen = 0, hlen = 0;
    if (mxg_engine_rkey_range(root, lo, &llen, hi, &hlen) != MXG_OK)
        return MXG_EINVAL;
    bool all = P(st)->in_txn; /* as in pg_referrers */
    struct params p = {0};
    if (!all)
        p_text(&p, type);
    p_blob(&p, lo, llen);
    p_blob(&p, hi, hlen);
    PGresult *r = NULL;
    int rc = run(P(st), all ? S_REFERRERS_BELOW_ALL : S_REFERRERS_BELOW, &p, &r);
    char owner[MXG_NAME_TEXT_MAX];
    for (int i = 0; rc == MXG_OK && i < PQntuples(r); i++) {
        if (all && strcmp(text(r, i, 3), type) != 0)
            continue;
        mxg_engine_db_to_canon(text(r, i, 1), owner, sizeof(owner));
        rc = cb(ctx, num(r, i, 0), owner, text(r, i, 2));
    }
    PQclear(r);
    return rc;
}

/* ---- the audit log ----------------------------------------------------------------------- */

static const char *text_or_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static void change_cols(const PGresult *r, int row, int base, struct mxg_engine_change_cols *c)
{
    c->name = text_or_null(r, row, base);
    c->type = text_or_null(r, row, base + 1);
    c->content = text_or_null(r, row, base + 2);
    c->ttl = text_or_null(r, row, base + 3);
    c->prio = text_or_null(r, row, base + 4);
    c->disabled = text_or_null(r, row, base + 5);
}

static int pg_changes_list(struct mxg_store *st, unsigned max, mxg_change_cb cb, void *ctx)
{
    struct params p = {0};
    p_int(&p, max);
    PGresult *r = NULL;
    int rc = run(P(st), S_CHANGES_LIST, &p, &r);
    for (int i = 0; rc == MXG_OK && i < PQntuples(r); i++) {
        struct mxg_engine_change_cols o, n;
        change_cols(r, i, 5, &o);
        change_cols(r, i, 11, &n);
        rc = mxg_engine_change(strtoll(PQgetvalue(r, i, 0), NULL, 10), PQgetvalue(r, i, 1),
                               PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
                               strtoll(PQgetvalue(r, i, 4), NULL, 10),
                               strtoll(PQgetvalue(r, i, 17), NULL, 10), &o, &n, cb, ctx);
    }
    PQclear(r);
    return rc;
}

static int pg_changes_trim(struct mxg_store *st, int64_t upto)
{
    struct pg_store *s = P(st);
    if (!s->in_txn)
        return MXG_ETXN;
    struct params p = {0};
    p_int(&p, upto);
    return run_void(s, S_CHANGES_TRIM, &p);
}

static int pg_audit_insert(struct mxg_store *st, int64_t seq, const char *time, const char *zone,
                           const char *verdict, const char *record, const char *hash)
{
    struct pg_store *s = P(st);
    if (!s->in_txn)
        return MXG_ETXN;
    struct params p = {0};
    p_int(&p, seq);
    p_text(&p, time);
    p_text(&p, zone);
    p_text(&p, verdict);
    p_text(&p, record);
    p_text(&p, hash);
    return run_void(s, S_AUDIT_INSERT, &p);
}

static int pg_audit_list(struct mxg_store *st, const struct mxg_audit_filter *f,
                         int (*cb)(void *ctx, const struct mxg_audit_row *row), void *ctx)
{
    struct pg_store *s = P(st);
    /* Built per call: the filters vary and audit reads are rare. */
    struct params p = {0};
    char sql[512], part[64];
    p_int(&p, f->after_seq);
    snprintf(sql, sizeof(sql),
             "SELECT seq, time, zone, verdict, record, hash FROM mxg_audit WHERE seq > $1");
    const char *cols[4] = {"zone = ", "verdict = ", "time >= ", "time < "};
    const char *vals[4] = {f->zone, f->verdict, f->since, f->until};
    for (int i = 0; i < 4; i++) {
        if (!vals[i])
            continue;
        p_text(&p, vals[i]);
        snprintf(part, sizeof(part), " AND %s$%d", cols[i], p.n);
        strncat(sql, part, sizeof(sql) - strlen(sql) - 1);
    }
    snprintf(part, sizeof(part), " ORDER BY seq %s", f->newest_first ? "DESC" : "ASC");
    strncat(sql, part, sizeof(sql) - strlen(sql) - 1);
    if (f->limit > 0) {
        p_int(&p, f->limit);
        snprintf(part, sizeof(part), " LIMIT $%d", p.n);
        strncat(sql, part, sizeof(sql) - strlen(sql) - 1);
    }
    int rc = reconnect(s);
    if (rc != MXG_OK)
        return rc;
    PGresult *r = PQexecParams(s->conn, sql, p.n, NULL, p.v, p.len, p.fmt, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = result_error(s->conn, r);
        PQclear(r);
        return rc;
    }
    for (int i = 0; rc == MXG_OK && i < PQntuples(r); i++) {
        struct mxg_audit_row row = {
            .seq = num(r, i, 0),
            .time = text(r, i, 1),
            .zone = text(r, i, 2),
            .verdict = text(r, i, 3),
            .record = text(r, i, 4),
            .record_len = (size_t)PQgetlength(r, i, 4),
            .hash = text(r, i, 5),
        };
        rc = cb(ctx, &row);
    }
    PQclear(r);
    return rc;
}

/* ---- reads and freshness ----------------------------------------------------------------- */

static void pg_batch_reads(struct mxg_store *st, bool on)
{
    P(st)->batch_reads = on;
}

/* Every read is its own statement on the latest committed data: there is no snapshot to end.
 * The generation still changes with every commit anywhere (see pg_generation). */
static void pg_end_reads(struct mxg_store *st)
{
    (void)st;
}

static uint64_t pg_generation(struct mxg_store *st)
{
    struct pg_store *s = P(st);
    if (!s->batch_reads || s->in_txn)
        return ++s->generation;
    uint64_t commits = atomic_load(&local_commits);
    if (commits != s->seen_commits) {
        s->seen_commits = commits;
        s->generation++;
    }
    if (PQstatus(s->conn) != CONNECTION_OK || !PQconsumeInput(s->conn)) {
        s->generation++; /* a lost connection may have lost notifications with it */
        return s->generation;
    }
    PGnotify *n;
    bool any = false;
    while ((n = PQnotifies(s->conn)) != NULL) {
        any = true;
        PQfreemem(n);
    }
    if (any)
        s->generation++;
    return s->generation;
}

static void pg_close(struct mxg_store *st)
{
    struct pg_store *s = P(st);
    if (!s)
        return;
    if (s->in_txn)
        pg_rollback(st);
    memo_clear(s);
    PQfinish(s->conn);
    free(s);
}

static const struct mxg_store_ops PG_OPS = {
    .name = "postgresql",
    .close = pg_close,
    .zone_get = pg_zone_get,
    .zone_get_by_id = pg_zone_get_by_id,
    .zone_list = pg_zone_list,
    .zone_add = pg_zone_add,
    .zone_delete = pg_zone_delete,
    .zone_set_notified = pg_zone_set_notified,
    .zone_set_last_check = pg_zone_set_last_check,
    .zone_set_kind = pg_zone_set_kind,
    .lookup = pg_lookup,
    .has_below = pg_has_below,
    .list = pg_list,
    .meta_list = pg_meta_list,
    .meta_set = pg_meta_set,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .rrset_delete = pg_rrset_delete,
    .record_add = pg_record_add,
    .zone_clear = pg_zone_clear,
    .search = pg_search,
    .keyed_zones = pg_keyed_zones,
    .key_list = pg_key_list,
    .key_get = pg_key_get,
    .key_add = pg_key_add,
    .key_set_flags = pg_key_set_flags,
    .key_remove = pg_key_remove,
    .tsig_get = pg_tsig_get,
    .tsig_list = pg_tsig_list,
    .tsig_set = pg_tsig_set,
    .tsig_delete = pg_tsig_delete,
    .autoprimary_find = pg_autoprimary_find,
    .autoprimary_add = pg_autoprimary_add,
    .autoprimary_delete = pg_autoprimary_delete,
    .autoprimary_list = pg_autoprimary_list,
    .referrers = pg_referrers,
    .referrers_below = pg_referrers_below,
    .changes_list = pg_changes_list,
    .changes_trim = pg_changes_trim,
    .audit_insert = pg_audit_insert,
    .audit_list = pg_audit_list,
    .batch_reads = pg_batch_reads,
    .end_reads = pg_end_reads,
    .generation = pg_generation,
};

/* ---- schema ------------------------------------------------------------------------------ */

static int table_exists(PGconn *conn, const char *name, bool *out)
{
    const char *v[1] = {name};
    PGresult *r =
        PQexecParams(conn, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, v, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? MXG_OK : result_error(conn, r);
    *out = rc == MXG_OK && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return rc;
}

/* Fills mxg_names and mxg_targets from records (a database that pdns's gpgsql wrote). */
static int rebuild_indexes(PGconn *conn, char *err, size_t errlen)
{
    int rc = exec_plain(conn, "DELETE FROM mxg_names; DELETE FROM mxg_targets", err, errlen);
    if (rc != MXG_OK)
        return rc;
    PGresult *r = PQexec(conn, "SELECT domain_id, name, type, content, disabled FROM records"
                               " WHERE domain_id IS NOT NULL AND name IS NOT NULL");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "rebuilding indexes: %s", PQerrorMessage(conn));
        rc = result_error(conn, r);
        PQclear(r);
        return rc;
    }
    for (int i = 0; rc == MXG_OK && i < PQntuples(r); i++) {
        char owner[MXG_NAME_TEXT_MAX], owner_db[MXG_NAME_TEXT_MAX], target[MXG_NAME_TEXT_MAX];
        uint8_t key[MXG_RKEY_MAX];
        size_t klen = 0;
        if (mxg_name_canon(text(r, i, 1), owner, sizeof(owner)) != MXG_OK ||
            mxg_name_to_db(owner, owner_db, sizeof(owner_db)) != MXG_OK ||
            mxg_name_rkey(owner, key, sizeof(key), &klen) != MXG_OK)
            continue; /* a name pdns could not serve either */
        struct params p = {0};
        p_text(&p, text(r, i, 0));
        p_blob(&p, key, klen);
        PGresult *w = PQexecParams(conn,
                                   "INSERT INTO mxg_names (domain_id, rkey) VALUES ($1, $2)"
                                   " ON CONFLICT DO NOTHING",
                                   2, NULL, p.v, p.len, p.fmt, 0);
        if (PQresultStatus(w) != PGRES_COMMAND_OK)
            rc = result_error(conn, w);
        PQclear(w);
        const char *type = val(r, i, 2);
        if (rc != MXG_OK || !type || !mxg_engine_target_type(type) || boolean(r, i, 4, false) ||
            mxg_engine_target_key(text(r, i, 3), target, sizeof(target), key, &klen) != MXG_OK)
            continue;
        struct params t = {0};
        p_text(&t, type);
        p_blob(&t, key, klen);
        p_text(&t, text(r, i, 0));
        p_text(&t, owner_db);
        p_text(&t, target);
        w = PQexecParams(conn, STMT_SQL[S_TARGET_ADD], 5, NULL, t.v, t.len, t.fmt, 0);
        if (PQresultStatus(w) != PGRES_COMMAND_OK)
            rc = result_error(conn, w);
        PQclear(w);
    }
    if (rc != MXG_OK)
        snprintf(err, errlen, "rebuilding indexes: %s", PQerrorMessage(conn));
    PQclear(r);
    return rc;
}

/* Creates the pdns schema in an empty database and mxguard's tables beside it, in one
 * transaction under the write lock (nodes starting together migrate one after the other). */
static int migrate(PGconn *conn, char *err, size_t errlen)
{
    int rc = exec_plain(conn,
                        "SET client_min_messages = warning; BEGIN;"
                        " SELECT pg_advisory_xact_lock(" WRITE_LOCK ")",
                        err, errlen);
    if (rc != MXG_OK)
        return rc;
    bool have_domains = false, have_meta = false;
    int version = 0;
    if ((rc = table_exists(conn, "domains", &have_domains)) != MXG_OK ||
        (rc = table_exists(conn, "mxg_meta", &have_meta)) != MXG_OK)
        goto fail;
    if (!have_domains && (rc = exec_plain(conn, PDNS_SCHEMA, err, errlen)) != MXG_OK)
        goto fail;
    if (have_meta) {
        PGresult *r = PQexec(conn, "SELECT value FROM mxg_meta WHERE key = 'schema_version'");
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = result_error(conn, r);
            PQclear(r);
            goto fail;
        }
        if (PQntuples(r) > 0)
            version = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    if (version > MXG_STORE_SCHEMA_VERSION) {
        snprintf(err, errlen, "store schema version %d is newer than this mxguard (%d)", version,
                 MXG_STORE_SCHEMA_VERSION);
        rc = MXG_ESTORE;
        goto fail;
    }
    if (version < 3) {
        if ((rc = exec_plain(conn, MXG_SCHEMA, err, errlen)) != MXG_OK ||
            (rc = rebuild_indexes(conn, err, errlen)) != MXG_OK)
            goto fail;
    }
    if (version < 4 && (rc = exec_plain(conn, MXG_SCHEMA_V4, err, errlen)) != MXG_OK)
        goto fail;
    if (version < 5 && (rc = exec_plain(conn, MXG_SCHEMA_V5, err, errlen)) != MXG_OK)
        goto fail;
    if (version < MXG_STORE_SCHEMA_VERSION) {
        if ((rc = exec_plain(conn,
                             "INSERT INTO mxg_meta (key, value) VALUES ('schema_version', "
                             "'" MXG_STORE_SCHEMA_VERSION_TEXT "')"
                             " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                             err, errlen)) != MXG_OK)
            goto fail;
    }
    return exec_plain(conn, "COMMIT", err, errlen);
fail:
    if (!*err)
        snprintf(err, errlen, "%s", PQerrorMessage(conn));
    exec_plain(conn, "ROLLBACK", NULL, 0);
    return rc;
}

int mxg_store_pg_open(const char *conninfo, struct mxg_store **out, char *err, size_t errlen)
{
    struct pg_store *s = calloc(1, sizeof(*s));
    if (!s)
        return MXG_ENOMEM;
    s->base.ops = &PG_OPS;
    int rc;
    if (errlen > 0)
        err[0] = '\0';
    s->conn = PQconnectdb(conninfo);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s",
                 s->conn ? PQerrorMessage(s->conn) : "out of memory");
        rc = MXG_EIO;
        goto fail;
    }
    if ((rc = migrate(s->conn, err, errlen)) != MXG_OK ||
        (rc = session_setup(s, err, errlen)) != MXG_OK)
        goto fail;
    s->seen_commits = atomic_load(&local_commits);
    *out = &s->base;
    return MXG_OK;
fail:
    pg_close(&s->base);
    return rc;
}
