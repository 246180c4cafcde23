/* alloc_txn_audit.c -- sweep operations over txn.c (buffering a transaction's writes) and
 * audit.c (building an audit record, its canonical text and hash). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "mxg/audit.h"
#include "mxg/err.h"
#include "mxg/policy.h"
#include "mxg/store.h"
#include "mxg/txn.h"
#include "sweep.h"
#include "fixtures.h"

/* ---- txn ------------------------------------------------------------------------------------ */

struct txn_op {
    bool wipe;
    struct mxg_txn *t;
    char ref[16384];
    bool have_ref;
};

static int txn_run(void *arg)
{
    struct txn_op *x = arg;
    x->t = NULL;
    int rc = mxg_txn_new(1, "example.com.", x->wipe, 1795456202, &x->t);
    if (rc != MXG_OK)
        return rc;
    static char t_a[] = "A", t_mx[] = "MX", t_txt[] = "TXT", v1[] = "203.0.113.11",
                v2[] = "203.0.113.12", v_mx[] = "20 mail.example.com",
                v_txt[] = "\"v=spf1 mx -all\"";
    struct mxg_txn_rec a[] = {{t_a, v1, 300, true}, {t_a, v2, 300, true}, {t_a, v1, 600, true}};
    struct mxg_txn_rec mx = {t_mx, v_mx, 300, true};
    struct mxg_txn_rec txt = {t_txt, v_txt, 300, true};
    static const char *const acl[] = {"127.0.0.2/32", "192.0.2.0/24"};
    if ((rc = mxg_txn_replace(x->t, "example.com.", "A", a, 3)) != MXG_OK ||
        (rc = mxg_txn_replace(x->t, "example.com.", "MX", &mx, 1)) != MXG_OK ||
        (rc = mxg_txn_add(x->t, "example.com.", &txt)) != MXG_OK ||
        (rc = mxg_txn_replace(x->t, "www.example.com.", NULL, NULL, 0)) != MXG_OK ||
        (rc = mxg_txn_meta_set(x->t, "ALLOW-DNSUPDATE-FROM", acl, 2)) != MXG_OK ||
        (rc = mxg_txn_meta_set(x->t, "allow-dnsupdate-from", acl, 1)) != MXG_OK ||
        (rc = mxg_txn_meta_set(x->t, "SOA-EDIT-API", NULL, 0)) != MXG_OK)
        return rc;
    /* Enough names to grow the name table and its hash slots. */
    for (int i = 0; i < 60; i++) {
        char name[64], addr[32];
        snprintf(name, sizeof(name), "host%d.example.com.", i);
        snprintf(addr, sizeof(addr), "192.0.2.%d", i);
        struct mxg_txn_rec r = {t_a, addr, 3600, true};
        if ((rc = mxg_txn_add(x->t, name, &r)) != MXG_OK)
            return rc;
    }
    return mxg_txn_replace(x->t, "host7.example.com.", "A", a, 2);
}

static const char *txn_check(void *arg, int rc)
{
    struct txn_op *x = arg;
    if (rc != MXG_OK)
        return NULL; /* a failed write leaves the transaction to be freed (and poisoned) */
    char sig[sizeof(x->ref)];
    size_t o = 0;
    for (size_t i = 0; i < mxg_txn_name_count(x->t) && o < sizeof(sig); i++) {
        const struct mxg_txn_name *e = mxg_txn_name_at(x->t, i);
        o += (size_t)snprintf(sig + o, sizeof(sig) - o, "%s%s", e->name, e->cleared ? "!" : "");
        for (size_t j = 0; j < e->n_del && o < sizeof(sig); j++)
            o += (size_t)snprintf(sig + o, sizeof(sig) - o, " -%s", e->del_types[j]);
        for (size_t j = 0; j < e->n_add && o < sizeof(sig); j++)
            o += (size_t)snprintf(sig + o, sizeof(sig) - o, " +%s/%s/%u", e->add[j].type,
                                  e->add[j].content, e->add[j].ttl);
        if (o < sizeof(sig))
            o += (size_t)snprintf(sig + o, sizeof(sig) - o, "\n");
    }
    for (size_t i = 0; i < mxg_txn_meta_count(x->t) && o < sizeof(sig); i++) {
        const char *kind;
        const char *const *values;
        size_t n;
        mxg_txn_meta_at(x->t, i, &kind, &values, &n);
        o += (size_t)snprintf(sig + o, sizeof(sig) - o, "meta %s %zu %s\n", kind, n,
                              n ? values[0] : "");
    }
    if (o < sizeof(sig))
        snprintf(sig + o, sizeof(sig) - o, "records %zu", mxg_txn_record_count(x->t));
    if (!x->have_ref) {
        memcpy(x->ref, sig, sizeof(sig));
        x->have_ref = true;
        return NULL;
    }
    return strcmp(sig, x->ref) == 0 ? NULL
                                    : "the transaction differs from the one without failures";
}

static void txn_cleanup(void *arg)
{
    struct txn_op *x = arg;
    mxg_txn_free(x->t);
    x->t = NULL;
}

static struct txn_op TXNS[] = {{.wipe = false}, {.wipe = true}};

/* ---- audit ---------------------------------------------------------------------------------- */

struct audit_op {
    struct mxg_decision dec;
    json_t *meta;
    json_t *body;
    char *text;
    char hash[MXG_HASH_HEX];
    char ref[16384];
    char ref_hash[MXG_HASH_HEX];
    bool have_ref;
};

static char c_name[] = "example.com.", c_type[] = "A", c_old[] = "192.0.2.1",
            c_new1[] = "203.0.113.10", c_new2[] = "203.0.113.11";
static struct mxg_rrdata c_before[] = {{c_old, 3600}};
static struct mxg_rrdata c_after[] = {{c_new1, 300}, {c_new2, 300}};
static const struct mxg_rrset_change CHANGES[] = {
    {c_name, c_type, c_before, 1, c_after, 2},
    {c_name, c_type, NULL, 0, c_after, 1},
};

static void audit_setup(void *arg)
{
    struct audit_op *a = arg;
    if (policy_sample(&a->dec) != MXG_OK || a->dec.n_fix == 0) {
        fputs("alloc_sweep: the sample decision has no fix\n", stderr);
        exit(2);
    }
    a->meta = json_pack("{s:[s,s]}", "ALLOW-DNSUPDATE-FROM", "127.0.0.2/32", "192.0.2.0/24");
    a->body = NULL;
    a->text = NULL;
    a->hash[0] = '\0';
}

static int audit_run(void *arg)
{
    struct audit_op *a = arg;
    struct mxg_audit_entry e = {.zone = "example.com.",
                                .source = "api",
                                .mode = "fix",
                                .decision = &a->dec,
                                .changes = CHANGES,
                                .n_changes = 2,
                                .metadata = a->meta};
    if (!(a->body = mxg_audit_body(&e)))
        return MXG_ENOMEM;
    int rc = mxg_audit_hash(a->body, a->hash);
    if (rc != MXG_OK)
        return rc;
    return (a->text = mxg_audit_canonical(a->body)) ? MXG_OK : MXG_ENOMEM;
}

static const char *audit_check(void *arg, int rc)
{
    struct audit_op *a = arg;
    if (rc != MXG_OK)
        return NULL;
    if (!a->have_ref) {
        snprintf(a->ref, sizeof(a->ref), "%s", a->text);
        memcpy(a->ref_hash, a->hash, sizeof(a->hash));
        a->have_ref = true;
        return NULL;
    }
    if (strcmp(a->text, a->ref) != 0)
        return sweep_msg("the record differs from the one without failures:\n%s\n----\n%s", a->text,
                         a->ref);
    return strcmp(a->hash, a->ref_hash) == 0 ? NULL : "the hash differs";
}

static void audit_cleanup(void *arg)
{
    struct audit_op *a = arg;
    json_decref(a->body);
    json_decref(a->meta);
    free(a->text);
    mxg_decision_free(&a->dec);
    a->body = a->meta = NULL;
    a->text = NULL;
}

static struct audit_op AUDIT;

/* ---- audit log in a store: append (rolled back after each run) and verify ------------------- */

static struct mxg_store *STORE;
static char store_path[64];

static struct mxg_audit_entry store_entry(const struct mxg_decision *d)
{
    return (struct mxg_audit_entry){.zone = "example.com.",
                                    .source = "api",
                                    .mode = "fix",
                                    .decision = d,
                                    .changes = CHANGES,
                                    .n_changes = 2};
}

static void store_open(void)
{
    char err[256], uri[96];
    snprintf(store_path, sizeof(store_path), "/tmp/mxg-alloc-sweep.XXXXXX");
    int fd = mkstemp(store_path);
    if (fd < 0 || close(fd) != 0 || unlink(store_path) != 0) {
        perror("alloc_sweep: temporary store");
        exit(2);
    }
    snprintf(uri, sizeof(uri), "sqlite:%s", store_path);
    struct mxg_decision d;
    if (mxg_store_open(uri, &STORE, err, sizeof(err)) != MXG_OK || policy_sample(&d) != MXG_OK) {
        fprintf(stderr, "alloc_sweep: store: %s\n", err);
        exit(2);
    }
    for (int i = 0; i < 3; i++) {
        struct mxg_audit_entry e = store_entry(i == 1 ? &d : NULL);
        int64_t seq;
        char hash[MXG_HASH_HEX];
        if (MXG_STORE_CALL0(STORE, begin) != MXG_OK ||
            mxg_audit_append(STORE, &e, &seq, hash, NULL) != MXG_OK ||
            MXG_STORE_CALL0(STORE, commit) != MXG_OK) {
            fputs("alloc_sweep: cannot seed the audit log\n", stderr);
            exit(2);
        }
    }
    mxg_decision_free(&d);
}

static void store_close(void)
{
    mxg_store_close(STORE);
    mxg_test_db_remove(store_path);
}

struct append_op {
    struct mxg_decision dec;
    int64_t seq;
    char *record;
};

static void append_setup(void *arg)
{
    struct append_op *a = arg;
    if (policy_sample(&a->dec) != MXG_OK || MXG_STORE_CALL0(STORE, begin) != MXG_OK) {
        fputs("alloc_sweep: append setup failed\n", stderr);
        exit(2);
    }
    a->seq = 0;
    a->record = NULL;
}

static int append_run(void *arg)
{
    struct append_op *a = arg;
    struct mxg_audit_entry e = store_entry(&a->dec);
    char hash[MXG_HASH_HEX];
    return mxg_audit_append(STORE, &e, &a->seq, hash, &a->record);
}

static const char *append_check(void *arg, int rc)
{
    struct append_op *a = arg;
    if (rc != MXG_OK)
        return a->record ? "a failed append returned a record" : NULL;
    if (a->seq != 4 || !a->record)
        return sweep_msg("appended as seq %lld", (long long)a->seq);
    /* The record text must verify: its hash over its own canonical form. */
    json_t *o = json_loads(a->record, 0, NULL);
    char hash[MXG_HASH_HEX];
    const char *bad = NULL;
    if (!o || mxg_audit_hash(o, hash) != MXG_OK)
        bad = "the appended record is not JSON";
    else if (strcmp(hash, json_string_value(json_object_get(o, "hash"))) != 0)
        bad = "the appended record does not match its hash";
    json_decref(o);
    return bad;
}

static void append_cleanup(void *arg)
{
    struct append_op *a = arg;
    if (MXG_STORE_CALL0(STORE, rollback) != MXG_OK) {
        fputs("alloc_sweep: rollback failed\n", stderr);
        exit(2);
    }
    free(a->record);
    mxg_decision_free(&a->dec);
}

static struct append_op APPEND;

struct verify_op {
    struct mxg_audit_verify res;
};

static int verify_run(void *arg)
{
    struct verify_op *x = arg;
    return mxg_audit_verify(STORE, NULL, &x->res);
}

static const char *verify_check(void *arg, int rc)
{
    struct verify_op *x = arg;
    if (rc != MXG_OK)
        return x->res.first_bad ? sweep_msg("a record was judged bad: %s", x->res.reason) : NULL;
    return x->res.records == 3 && x->res.first_bad == 0
               ? NULL
               : sweep_msg("verified %lld records: %s", (long long)x->res.records, x->res.reason);
}

static struct verify_op VERIFY;

void txn_audit_ops(void)
{
    static const char *const txn_names[] = {"txn writes", "txn writes, wipe"};
    for (size_t i = 0; i < 2; i++) {
        struct sweep_op op = {.name = txn_names[i],
                              .arg = &TXNS[i],
                              .run = txn_run,
                              .check = txn_check,
                              .cleanup = txn_cleanup,
                              .fail_rc = MXG_ENOMEM};
        sweep_add(&op);
    }
    struct sweep_op op = {.name = "audit record body, hash, canonical text",
                          .arg = &AUDIT,
                          .setup = audit_setup,
                          .run = audit_run,
                          .check = audit_check,
                          .cleanup = audit_cleanup,
                          .fail_rc = MXG_ENOMEM};
    sweep_add(&op);
    store_open();
    if (atexit(store_close) != 0)
        abort();
    struct sweep_op app = {.name = "audit append in a store transaction",
                           .arg = &APPEND,
                           .setup = append_setup,
                           .run = append_run,
                           .check = append_check,
                           .cleanup = append_cleanup,
                           .fail_rc = MXG_ENOMEM};
    sweep_add(&app);
    struct sweep_op ver = {.name = "audit verify",
                           .arg = &VERIFY,
                           .run = verify_run,
                           .check = verify_check,
                           .fail_rc = MXG_ENOMEM};
    sweep_add(&ver);
}
