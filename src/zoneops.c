/* zoneops.c -- zone creation, deletion and master-file import. */
#include <errno.h>
#include <stdint.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>

#include "mxg/audit.h"
#include "mxg/backend_keys.h"
#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/log.h"
#include "mxg/txn.h"
#include "mxg/zoneops.h"

extern char **environ;

#define DEFAULT_TTL 3600

static int set_soa_edit_api(struct mxg_txn *t, const char *value)
{
    const char *const val[] = {value ? value : "DEFAULT"};
    if (value && !*value)
        return MXG_OK;
    return mxg_txn_meta_set(t, "SOA-EDIT-API", val, 1);
}

/* The guard options of a zone operation with its audit source. */
static struct mxg_guard_opts with_source(const struct mxg_guard_opts *o, const char *source)
{
    struct mxg_guard_opts x = *o;
    if (source)
        x.source = source;
    return x;
}

/* Every zone operation is judged: a new zone can take names over from its parent, a deleted
 * one takes its names out of the served data. */
static const struct mxg_guard_opts CLI_ADDED = {
    .source = "cli", .guarded = true, .always_audit = true, .zone_event = MXG_ZONE_ADDED};
static const struct mxg_guard_opts CLI_DELETED = {
    .source = "cli", .guarded = true, .always_audit = true, .zone_event = MXG_ZONE_DELETED};
static const struct mxg_guard_opts CLI_GUARDED = {
    .source = "cli", .guarded = true, .always_audit = true};

int mxg_zone_create(struct mxg_store *st, const struct mxg_config *cfg, const char *zone,
                    enum mxg_zone_kind kind, const char *masters, const char *const *ns, size_t nns,
                    char *err, size_t errlen)
{
    const struct mxg_zone_spec spec = {
        .zone = zone, .kind = kind, .masters = masters, .ns = ns, .nns = nns};
    return mxg_zone_create_spec(st, cfg, &spec, err, errlen);
}

/* The serial SOA-EDIT-API gives a zone created with serial (pdns's API applies it on create). */
static long long soa_edit_api_serial(const char *kind, long long serial, const struct tm *tm)
{
    if (!kind)
        kind = "DEFAULT";
    if (strcasecmp(kind, "DEFAULT") == 0) {
        long long today =
            (tm->tm_year + 1900LL) * 1000000 + (tm->tm_mon + 1LL) * 10000 + tm->tm_mday * 100LL + 1;
        return serial < today ? today : serial + 1;
    }
    if (strcasecmp(kind, "INCREASE") == 0 || strcasecmp(kind, "SOA-EDIT-INCREASE") == 0)
        return serial + 1;
    if (strcasecmp(kind, "EPOCH") == 0)
        return (long long)time(NULL);
    return serial;
}

/* The new zone's SOA content, in the CLI's form or in pdns's API form (zoneops.h). Returns 0, or
 * MXG_ERANGE when the zone's or the NS's name is too long. */
static int soa_content(const struct mxg_zone_spec *spec, const char *ns0, char *out, size_t outlen)
{
    char zdb[MXG_NAME_TEXT_MAX], mname[MXG_NAME_TEXT_MAX];
    int rc = mxg_name_to_db(spec->zone, zdb, sizeof(zdb));
    if (rc != MXG_OK)
        return rc;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    if (ns0 && !spec->pdns_form)
        rc = mxg_name_to_db(ns0, mname, sizeof(mname));
    else
        snprintf(mname, sizeof(mname), "a.misconfigured.dns.server.invalid");
    if (rc != MXG_OK)
        return rc;
    long long serial = spec->pdns_form ? soa_edit_api_serial(spec->soa_edit_api, spec->serial, &tm)
                                       : (tm.tm_year + 1900LL) * 1000000 +
                                             (tm.tm_mon + 1LL) * 10000 + tm.tm_mday * 100LL + 1;
    snprintf(out, outlen, "%s hostmaster%s%s %lld 10800 3600 604800 3600", mname, *zdb ? "." : "",
             zdb, serial);
    return MXG_OK;
}

/* Ends a transaction the guard refused: rolls it back and writes the refusal's audit record in
 * a transaction of its own. err says what was refused (what: "add zone", "import", ...), with
 * the record's seq and the remedy, or that the refusal could not be audited. Returns MXG_OK or
 * the store's error (then res->audited is false: no record of it stands). */
static int end_refused(struct mxg_store *st, struct mxg_txn *t, const struct mxg_guard_opts *o,
                       struct mxg_guard_result *res, const char *what, const char *zone, char *err,
                       size_t errlen)
{
    int rc = MXG_STORE_CALL0(st, rollback);
    if (rc == MXG_OK)
        rc = mxg_guard_record_refusal(st, t, o, res);
    if (rc != MXG_OK) {
        res->audited = false;
        snprintf(err, errlen,
                 "the guard refused to %s %s, and the refusal could not be audited: %s", what, zone,
                 mxg_strerror(rc));
        return rc;
    }
    snprintf(err, errlen, "the guard refused to %s %s (audit seq %lld)%s%s", what, zone,
             (long long)res->audit_seq, res->decision.remedy ? ": " : "",
             res->decision.remedy ? res->decision.remedy : "");
    return MXG_OK;
}

int mxg_zone_create_spec(struct mxg_store *st, const struct mxg_config *cfg,
                         const struct mxg_zone_spec *spec, char *err, size_t errlen)
{
    const char *zone = spec->zone, *masters = spec->masters;
    const char *const *ns = spec->ns;
    size_t nns = spec->nns;
    enum mxg_zone_kind kind = spec->kind;
    const struct mxg_guard_opts opts = with_source(&CLI_ADDED, spec->source);
    char nscanon[16][MXG_NAME_TEXT_MAX];
    if (nns > 16) {
        snprintf(err, errlen, "at most 16 NS names");
        return MXG_ERANGE;
    }
    for (size_t i = 0; i < nns; i++) {
        if (mxg_name_canon(ns[i], nscanon[i], sizeof(nscanon[i])) != MXG_OK ||
            strcmp(nscanon[i], ".") == 0) {
            snprintf(err, errlen, "invalid NS name '%s'", ns[i]);
            return MXG_EINVAL;
        }
    }
    char content[3 * MXG_NAME_TEXT_MAX];
    int rc = soa_content(spec, nns ? nscanon[0] : NULL, content, sizeof(content));
    if (rc != MXG_OK) {
        snprintf(err, errlen, "zone %s: %s", zone, mxg_strerror(rc));
        return rc;
    }

    int64_t id = 0;
    struct mxg_txn *t = NULL;
    struct mxg_guard_result res = {0};
    rc = MXG_STORE_CALL0(st, begin);
    if (rc != MXG_OK) {
        snprintf(err, errlen, "cannot start a store transaction: %s", mxg_strerror(rc));
        return rc;
    }
    rc = MXG_STORE_CALL(st, zone_add, zone, kind, masters, &id);
    if (rc == MXG_EEXIST) {
        snprintf(err, errlen, "zone %s already exists", zone);
        mxg_store_abandon(st);
        return rc;
    }
    if (rc == MXG_OK)
        rc = mxg_txn_new(id, zone, false, 0, &t);
    /* Secondary zones start empty, as pdns's own do: the first SOA check then finds nothing
     * and transfers the zone, whatever the primary's serial. (pdns's API adds the NS records
     * it is given, also to a secondary.) */
    if (kind == MXG_KIND_SLAVE && !spec->pdns_form)
        nns = 0;
    char soa_type[] = "SOA", ns_type[] = "NS"; /* mxg_txn_rec's fields are not const */
    struct mxg_txn_rec soa = {
        .type = soa_type, .content = content, .ttl = DEFAULT_TTL, .auth = true};
    if (rc == MXG_OK && kind != MXG_KIND_SLAVE)
        rc = mxg_txn_add(t, zone, &soa);
    for (size_t i = 0; rc == MXG_OK && i < nns; i++) {
        char nsdb[MXG_NAME_TEXT_MAX];
        struct mxg_txn_rec r = {.type = ns_type, .content = nsdb, .ttl = DEFAULT_TTL, .auth = true};
        rc = mxg_name_to_db(nscanon[i], nsdb, sizeof(nsdb));
        if (rc == MXG_OK)
            rc = mxg_txn_add(t, zone, &r);
    }
    if (rc == MXG_OK && (kind != MXG_KIND_SLAVE || spec->pdns_form))
        rc = set_soa_edit_api(t, spec->soa_edit_api);
    if (rc == MXG_OK)
        rc = mxg_guard_judge_apply(st, cfg, t, &opts, &res);
    if (rc == MXG_OK && res.refused) {
        rc = end_refused(st, t, &opts, &res, "add zone", zone, err, errlen);
        rc = rc == MXG_OK ? MXG_EBUSY : rc;
        goto out;
    }
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL0(st, commit); /* ends the transaction, also when it fails */
    else
        mxg_store_abandon(st);
    if (rc != MXG_OK)
        snprintf(err, errlen, "creating zone %s: %s", zone, mxg_strerror(rc));
out:
    mxg_guard_result_free(&res);
    mxg_txn_free(t);
    return rc;
}

int mxg_zone_remove(struct mxg_store *st, const struct mxg_config *cfg, const char *zone,
                    const char *source, char *err, size_t errlen)
{
    const struct mxg_guard_opts opts = with_source(&CLI_DELETED, source);
    struct mxg_zone z;
    struct mxg_txn *t = NULL;
    struct mxg_guard_result res = {0};
    int rc = MXG_STORE_CALL(st, zone_get, zone, &z);
    if (rc == MXG_ENOENT) {
        snprintf(err, errlen, "no zone %s", zone);
        return rc;
    }
    if (rc == MXG_OK)
        rc = mxg_txn_new(z.id, z.name, true, 0, &t);
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL0(st, begin);
    if (rc == MXG_OK) {
        /* The audit record lists every RRset the deletion removes. */
        rc = mxg_guard_judge_apply(st, cfg, t, &opts, &res);
        if (rc == MXG_OK && res.refused) {
            rc = end_refused(st, t, &opts, &res, "delete zone", zone, err, errlen);
            mxg_guard_result_free(&res);
            mxg_txn_free(t);
            return rc == MXG_OK ? MXG_EBUSY : rc;
        }
        /* Its DNSSEC keys go with it: audited too. */
        int64_t key_seq = 0;
        if (rc == MXG_OK)
            rc = mxg_keys_audit_zone_delete(st, cfg, &z, &key_seq);
        if (rc == MXG_OK)
            rc = MXG_STORE_CALL(st, zone_delete, z.id);
        if (rc == MXG_OK)
            rc = MXG_STORE_CALL0(st, commit);
        else
            mxg_store_abandon(st);
        if (rc == MXG_OK && key_seq > 0)
            mxg_info("zone %s: its DNSSEC keys deleted with it; audit seq %lld", zone,
                     (long long)key_seq);
    }
    mxg_guard_result_free(&res);
    mxg_txn_free(t);
    if (rc != MXG_OK)
        snprintf(err, errlen, "deleting zone %s: %s", zone, mxg_strerror(rc));
    return rc;
}

int mxg_zone_set_kind(struct mxg_store *st, const struct mxg_config *cfg, const char *zone,
                      enum mxg_zone_kind kind, const char *masters, const char *source, char *err,
                      size_t errlen)
{
    struct mxg_zone z;
    masters = masters ? masters : "";
    int rc = MXG_STORE_CALL0(st, begin);
    if (rc != MXG_OK) {
        snprintf(err, errlen, "cannot start a store transaction: %s", mxg_strerror(rc));
        return rc;
    }
    rc = MXG_STORE_CALL(st, zone_get, zone, &z);
    if (rc == MXG_ENOENT) {
        mxg_store_abandon(st);
        snprintf(err, errlen, "no zone %s", zone);
        return rc;
    }
    json_t *settings = NULL;
    if (rc == MXG_OK) {
        settings = json_pack("{s:[s,s],s:[s,s]}", "kind", mxg_zone_kind_name(z.kind),
                             mxg_zone_kind_name(kind), "masters", z.masters, masters);
        rc = settings ? MXG_STORE_CALL(st, zone_set_kind, z.id, kind, masters) : MXG_ENOMEM;
    }
    if (rc == MXG_OK) {
        const struct mxg_audit_entry e = {
            .zone = z.name,
            .source = source ? source : "cli",
            .mode = mxg_mode_name(mxg_guard_effective_mode(st, cfg, z.id)),
            .settings = settings};
        int64_t seq;
        char hash[MXG_HASH_HEX];
        rc = mxg_audit_append(st, &e, &seq, hash, NULL);
    }
    json_decref(settings);
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL0(st, commit);
    else
        mxg_store_abandon(st);
    if (rc != MXG_OK)
        snprintf(err, errlen, "changing zone %s: %s", zone, mxg_strerror(rc));
    return rc;
}

struct import_ctx {
    struct mxg_txn *txn;
    const char *zone;
    size_t count;
    size_t soa;
    char *err;
    size_t errlen;
};

static int import_record(void *arg, const struct mxg_zf_record *rec)
{
    struct import_ctx *c = arg;
    if (!mxg_name_is_below(rec->owner, c->zone)) {
        snprintf(c->err, c->errlen, "%s:%lu: owner %s is outside zone %s", rec->file, rec->line,
                 rec->owner, c->zone);
        return MXG_EINVAL;
    }
    if (strcmp(rec->type, "SOA") == 0) {
        if (strcmp(rec->owner, c->zone) != 0) {
            snprintf(c->err, c->errlen, "%s:%lu: SOA at %s, not at the apex %s", rec->file,
                     rec->line, rec->owner, c->zone);
            return MXG_EINVAL;
        }
        if (++c->soa > 1) {
            snprintf(c->err, c->errlen, "%s:%lu: second SOA record", rec->file, rec->line);
            return MXG_EINVAL;
        }
    }
    struct mxg_txn_rec r = {.type = (char *)(uintptr_t)rec->type,
                            .content = (char *)(uintptr_t)rec->content,
                            .ttl = rec->ttl,
                            .auth = true};
    int rc = mxg_txn_add(c->txn, rec->owner, &r);
    if (rc == MXG_ERANGE) {
        snprintf(c->err, c->errlen, "%s:%lu: more than %d records", rec->file, rec->line,
                 MXG_TXN_RECORDS_MAX);
        return rc;
    }
    if (rc != MXG_OK) {
        snprintf(c->err, c->errlen, "%s:%lu: %s", rec->file, rec->line, mxg_strerror(rc));
        return rc;
    }
    c->count++;
    return 0;
}

int mxg_zone_import(struct mxg_store *st, const struct mxg_config *cfg, const char *zone,
                    const char *path, size_t *count, struct mxg_guard_result *res, char *err,
                    size_t errlen)
{
    struct import_ctx c = {.zone = zone, .err = err, .errlen = errlen};
    struct mxg_guard_result local = {0};
    struct mxg_zone z;
    int64_t id = 0;
    bool created = false;
    if (!res)
        res = &local;
    memset(res, 0, sizeof(*res));
    /* A second handle, opened before the transaction takes the write lock: a new zone is
     * judged through it while its rows are written (mxg_guard_judge_apply_beside). Without
     * one it is judged on st first. */
    struct mxg_store *reader = NULL;
    char rerr[256];
    if (mxg_store_reopen(st, &reader, rerr, sizeof(rerr)) != MXG_OK)
        reader = NULL;
    int rc = MXG_STORE_CALL0(st, begin);
    if (rc != MXG_OK) {
        snprintf(err, errlen, "cannot start a store transaction: %s", mxg_strerror(rc));
        mxg_store_close(reader);
        return rc;
    }
    rc = MXG_STORE_CALL(st, zone_get, zone, &z);
    if (rc == MXG_OK) {
        id = z.id;
    } else if (rc == MXG_ENOENT) {
        rc = MXG_STORE_CALL(st, zone_add, zone, MXG_KIND_NATIVE, NULL, &id);
        created = rc == MXG_OK;
    }
    if (rc == MXG_OK)
        rc = mxg_txn_new(id, zone, true, 0, &c.txn);
    if (rc == MXG_OK && created)
        rc = set_soa_edit_api(c.txn, NULL);
    if (rc != MXG_OK) {
        snprintf(err, errlen, "preparing zone %s: %s", zone, mxg_strerror(rc));
        goto fail;
    }
    err[0] = '\0';
    rc = mxg_zonefile_parse_ahead(path, zone, DEFAULT_TTL, import_record, &c, err, errlen);
    if (rc != MXG_OK) {
        if (!err[0])
            snprintf(err, errlen, "%s: %s", path, mxg_strerror(rc));
        goto fail;
    }
    if (c.soa == 0) {
        snprintf(err, errlen, "%s: no SOA record for %s", path, zone);
        rc = MXG_EINVAL;
        goto fail;
    }
    /* A zone created by this import is judged like `zone add`: it may take names over from
     * its parent. */
    if (created && reader && (rc = MXG_STORE_CALL(st, zone_get_by_id, id, &z)) == MXG_OK)
        rc = mxg_guard_judge_apply_beside(st, reader, &z, cfg, c.txn, &CLI_ADDED, res);
    else if (rc == MXG_OK)
        rc = mxg_guard_judge_apply(st, cfg, c.txn, created ? &CLI_ADDED : &CLI_GUARDED, res);
    if (rc != MXG_OK) {
        snprintf(err, errlen, "importing %s: %s", zone, mxg_strerror(rc));
        goto fail;
    }
    if (res->refused) {
        rc = end_refused(st, c.txn, created ? &CLI_ADDED : &CLI_GUARDED, res, "import", zone, err,
                         errlen);
        goto out;
    }
    rc = MXG_STORE_CALL0(st, commit);
    if (rc != MXG_OK)
        snprintf(err, errlen, "committing %s: %s", zone, mxg_strerror(rc));
    goto out;
fail:
    mxg_store_abandon(st);
out:
    if (count)
        *count = c.count;
    mxg_txn_free(c.txn);
    mxg_store_close(reader);
    if (res == &local)
        mxg_guard_result_free(&local);
    return rc;
}

int mxg_pdns_rediscover_argv(const char *pdns_control, char *buf, size_t buflen, char **argv)
{
    static char rediscover[] = "rediscover";
    int argc = 0;
    char *save = NULL;
    if (!pdns_control || !*pdns_control)
        return 0;
    snprintf(buf, buflen, "%s", pdns_control);
    for (char *tok = strtok_r(buf, " \t", &save); tok && argc < 30;
         tok = strtok_r(NULL, " \t", &save))
        argv[argc++] = tok;
    if (argc == 0)
        return 0;
    argv[argc++] = rediscover;
    argv[argc] = NULL;
    return argc;
}

void mxg_pdns_rediscover(const char *pdns_control)
{
    char buf[1024];
    char *argv[32];
    if (mxg_pdns_rediscover_argv(pdns_control, buf, sizeof(buf), argv) == 0)
        return;
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (rc != 0) {
        mxg_warn("cannot run %s: %s", argv[0], strerror(rc));
        return;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            mxg_warn("waiting for %s: %s", argv[0], strerror(errno));
            return;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        mxg_warn("%s rediscover failed (status %d): pdns learns of the change at its next "
                 "zone-cache refresh",
                 pdns_control, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
}
