/* daemon.c -- the long-running server process. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>
#ifdef MXG_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "mxg/audit.h"
#include "mxg/backend.h"
#include "mxg/control.h"
#include "mxg/daemon.h"
#include "mxg/err.h"
#include "mxg/front.h"
#include "mxg/log.h"
#include "mxg/external.h"
#include "mxg/server.h"
#include "mxg/store.h"
#include "mxg/writer.h"
#include "mxg/zoneops.h"

struct daemon {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint, sighup;
    struct mxg_config *cfg;
    struct mxg_backend *be;
    uv_timer_t hup_retry;     /* a reload waits for the writer thread to be idle */
    uv_timer_t external;      /* looks for out-of-band writes (external.h) */
    uint64_t external_gen;    /* the store's generation when the change log was last read */
    bool external_read;       /* ... and whether it was read at all */
    uv_prepare_t end_reads;   /* ends the store's shared read snapshot before each wait */
    struct mxg_store *store;  /* lookups, on the loop */
    struct mxg_store *wstore; /* commits, on the writer */
    struct mxg_writer *writer;
    struct mxg_front *front;
    struct mxg_server *backend_srv;
    struct mxg_server *control_srv;
    struct mxg_control control;
};

/* `<pdns-control> rediscover`, without blocking the loop: pdns answers it by asking this
 * daemon for getAllDomains. */
static void free_handle(uv_handle_t *h)
{
    free(h);
}

static void rediscover_done(uv_process_t *p, int64_t status, int sig)
{
    if (status != 0 || sig != 0)
        mxg_warn("pdns-control rediscover failed (status %lld, signal %d): pdns learns of the "
                 "change at its next zone-cache refresh",
                 (long long)status, sig);
    uv_close((uv_handle_t *)p, free_handle);
}

/* Connection counts of the backend socket (the control op "stats"). */
static void daemon_stats(struct mxg_control *c, json_t *out)
{
    const struct daemon *d =
        (const struct daemon *)(const void *)((const char *)c - offsetof(struct daemon, control));
    const struct mxg_server_stats *s = d->backend_srv ? mxg_server_stats(d->backend_srv) : NULL;
    if (s)
        json_object_set_new(out, "connections",
                            json_pack("{s:I,s:I,s:I}", "open", (json_int_t)s->open, "accepted",
                                      (json_int_t)s->accepted, "refused", (json_int_t)s->refused));
}

static void rediscover_async(struct mxg_control *c)
{
    char buf[1024];
    char *argv[32];
    if (mxg_pdns_rediscover_argv(c->cfg->pdns_control, buf, sizeof(buf), argv) == 0)
        return;
    uv_process_t *p = calloc(1, sizeof(*p));
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE}, {.flags = UV_IGNORE}, {.flags = UV_INHERIT_FD, .data.fd = 2}};
    uv_process_options_t o = {.exit_cb = rediscover_done,
                              .file = argv[0],
                              .args = argv,
                              .stdio_count = 3,
                              .stdio = stdio};
    int rc = p ? uv_spawn(c->user, p, &o) : UV_ENOMEM;
    if (rc != 0) {
        char e[128];
        mxg_warn("cannot run %s: %s", argv[0], uv_strerror_r(rc, e, sizeof(e)));
        if (p)
            uv_close((uv_handle_t *)p, free_handle);
    }
}

/* The control socket is stateless per connection: every session is the daemon's control. */
static void *control_open(void *ctx)
{
    return ctx;
}

static void control_close(void *sess)
{
    (void)sess;
}

static int control_handle(void *sess, const char *line, size_t len, char **reply, size_t *replylen)
{
    return mxg_control_handle(sess, line, len, reply, replylen);
}

static void stop_all(struct daemon *d)
{
    mxg_info("shutting down");
#ifdef MXG_HAVE_SYSTEMD
    sd_notify(0, "STOPPING=1");
#endif
    mxg_server_stop(d->backend_srv);
    mxg_server_stop(d->control_srv);
    d->backend_srv = NULL;
    d->control_srv = NULL;
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->sighup, NULL);
    uv_close((uv_handle_t *)&d->hup_retry, NULL);
    uv_close((uv_handle_t *)&d->external, NULL);
    uv_close((uv_handle_t *)&d->end_reads, NULL);
}

/* Out-of-band writes are picked up within EXTERNAL_POLL_MS: when the store's generation says
 * that something committed (SQLite's data_version; on PostgreSQL the NOTIFY the capture
 * triggers send), a cheap read of the change log's first row, and a pass on the writer when
 * there is one. At start the log is read once whatever the generation: what changed while the
 * daemon was stopped. */
#define EXTERNAL_POLL_MS 250

static void on_external(uv_timer_t *t)
{
    struct daemon *d = t->data;
    uint64_t gen = mxg_store_generation(d->store);
    if (d->external_read && gen == d->external_gen)
        return;
    bool any = false;
    int rc = mxg_external_pending(d->store, &any);
    if (rc != MXG_OK) {
        mxg_debug("out-of-band writes: reading the change log: %s", mxg_strerror(rc));
        return; /* read again at the next tick */
    }
    d->external_gen = gen;
    d->external_read = true;
    if (any)
        mxg_backend_external(d->be);
}

/* Reads within one loop iteration share a snapshot; it ends before the loop waits, so what
 * a request reads is never older than the iteration that received it. */
static void on_end_reads(uv_prepare_t *h)
{
    struct daemon *d = h->data;
    mxg_store_end_reads(d->store);
}

static void on_stop_signal(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;
    mxg_info("received signal %d", signum);
    stop_all(d);
}

/* SIGHUP: reread the file; policy settings and logging take effect, socket and store settings
 * need a restart (said in the log when they differ). */
static void reload(struct daemon *d);

static void on_hup_retry(uv_timer_t *t)
{
    reload(t->data);
}

static void on_hup(uv_signal_t *h, int signum)
{
    (void)signum;
    reload(h->data);
}

static void reload(struct daemon *d)
{
    struct mxg_config fresh;
    /* A commit on the writer thread reads the policy settings: swap them only when idle. */
    if (mxg_backend_busy(d->be)) {
        uv_timer_start(&d->hup_retry, on_hup_retry, 50, 0);
        return;
    }
    char err[512];
    if (!d->cfg->path) {
        mxg_warn("SIGHUP: no config file to reload");
        return;
    }
    if (mxg_config_load(d->cfg->path, &fresh, err, sizeof(err)) != MXG_OK) {
        mxg_err("SIGHUP: keeping the running configuration: %s", err);
        return;
    }
    if (strcmp(fresh.backend_socket, d->cfg->backend_socket) != 0 ||
        strcmp(fresh.store, d->cfg->store) != 0)
        mxg_warn("SIGHUP: socket and store changes take effect at the next restart");
    d->cfg->mode = fresh.mode;
    d->cfg->classify = fresh.classify;
    d->cfg->implicit_mx = fresh.implicit_mx;
    d->cfg->zone_mode_override = fresh.zone_mode_override;
    d->cfg->log_level = fresh.log_level;
    d->cfg->log = fresh.log;
    d->cfg->audit_syslog = fresh.audit_syslog;
    /* Swap the list-valued policy settings wholesale. */
#define SWAP(field, count)                                                                         \
    do {                                                                                           \
        __typeof__(d->cfg->field) tmp = d->cfg->field;                                             \
        size_t tn = d->cfg->count;                                                                 \
        d->cfg->field = fresh.field;                                                               \
        d->cfg->count = fresh.count;                                                               \
        fresh.field = tmp;                                                                         \
        fresh.count = tn;                                                                          \
    } while (0)
    SWAP(mail_ranges, n_mail_ranges);
    SWAP(proxy_ranges, n_proxy_ranges);
    SWAP(mail_host_labels, n_mail_host_labels);
    SWAP(rule_severity, n_rule_severity);
#undef SWAP
    mxg_config_free(&fresh);
    mxg_log_setup(d->cfg->log, d->cfg->log_level, "mxguard");
    mxg_info("configuration reloaded from %s", d->cfg->path);
}

/* Zones with keys are signed by pdns only when its pdns.conf has remote-dnssec=yes (which
 * mxguard cannot see): named at start so that an operator who forgot it finds out. */
static int note_keyed(void *ctx, const struct mxg_zone *z)
{
    (void)ctx;
    mxg_info("zone %s has DNSSEC keys: pdns signs it with remote-dnssec=yes in pdns.conf "
             "(without it, unsigned)",
             z->name);
    return 0;
}

static int drop_privileges(const struct mxg_config *cfg, char *err, size_t errlen)
{
    if (geteuid() != 0 || (!cfg->setuid_user && !cfg->setgid_group))
        return MXG_OK;
    gid_t gid = (gid_t)-1;
    uid_t uid = (uid_t)-1;
    if (cfg->setgid_group) {
        struct group *gr = getgrnam(cfg->setgid_group);
        if (!gr) {
            snprintf(err, errlen, "unknown group '%s'", cfg->setgid_group);
            return MXG_EINVAL;
        }
        gid = gr->gr_gid;
    }
    if (cfg->setuid_user) {
        struct passwd *pw = getpwnam(cfg->setuid_user);
        if (!pw) {
            snprintf(err, errlen, "unknown user '%s'", cfg->setuid_user);
            return MXG_EINVAL;
        }
        uid = pw->pw_uid;
        if (gid == (gid_t)-1)
            gid = pw->pw_gid;
    }
    if (gid != (gid_t)-1 && (setgroups(1, &gid) != 0 || setgid(gid) != 0)) {
        snprintf(err, errlen, "setgid: %s", strerror(errno));
        return MXG_EIO;
    }
    if (uid != (uid_t)-1 && setuid(uid) != 0) {
        snprintf(err, errlen, "setuid: %s", strerror(errno));
        return MXG_EIO;
    }
    return MXG_OK;
}

/* The backend socket's lines go to the backend: one session per connection. */
static void *backend_open(void *ctx)
{
    return mxg_session_new(ctx);
}

static void backend_close(void *sess)
{
    mxg_session_free(sess);
}

static int backend_handle(void *sess, const char *line, size_t len, char **reply, size_t *replylen)
{
    return mxg_backend_handle(sess, line, len, reply, replylen);
}

static void backend_attach(void *sess, void (*cb)(void *arg, char *reply, size_t len), void *arg)
{
    mxg_session_on_reply(sess, cb, arg);
}

struct mxg_line_handler mxg_daemon_backend_handler(struct mxg_backend *be)
{
    struct mxg_line_handler h = {.ctx = be,
                                 .open = backend_open,
                                 .close = backend_close,
                                 .handle = backend_handle,
                                 .attach = backend_attach,
                                 .name = "backend",
                                 .oversized = "{\"result\":false,\"log\":[\"mxguard: request "
                                              "line too long, closing connection\"]}\n"};
    return h;
}

/* Opens the store twice (lookups on the loop; commits on the writer) and sets the backend up
 * on them. MXG_OK, or an error already logged. */
static int open_backend(struct daemon *d, const char *shown)
{
    char err[512];
    int rc = mxg_store_open(d->cfg->store, &d->store, err, sizeof(err));
    if (rc != MXG_OK) {
        mxg_err("cannot open store %s: %s", shown, err);
        return rc;
    }
    if ((rc = MXG_STORE_CALL(d->store, keyed_zones, note_keyed, NULL)) != MXG_OK)
        mxg_warn("cannot list the zones with DNSSEC keys: %s", mxg_strerror(rc));
    /* A second handle for the writer thread: commits never block lookups on the loop. */
    rc = mxg_store_open(d->cfg->store, &d->wstore, err, sizeof(err));
    if (rc != MXG_OK) {
        mxg_err("cannot open store %s: %s", shown, err);
        return rc;
    }
    d->be = mxg_backend_new(d->store, d->cfg);
    d->writer = mxg_writer_new(&d->loop);
    if (!d->be || !d->writer) {
        mxg_err("out of memory");
        return MXG_ENOMEM;
    }
    mxg_backend_set_async(d->be, d->writer, d->wstore);
    mxg_store_batch_reads(d->store, true);
    mxg_backend_set_cache(d->be, true);
    return MXG_OK;
}

/* Both sockets, the privilege drop and the API front. MXG_OK, or an error already logged. */
static int start_listening(struct daemon *d)
{
    const struct mxg_config *cfg = d->cfg;
    char err[512];
    struct mxg_line_handler bh = mxg_daemon_backend_handler(d->be);
    struct mxg_server_opts bopts = {.path = cfg->backend_socket,
                                    .mode = cfg->backend_socket_mode,
                                    .group = cfg->backend_socket_group,
                                    .max_connections = cfg->max_connections};
    int rc = mxg_server_start(&d->loop, &bh, &bopts, &d->backend_srv, err, sizeof(err));
    if (rc != MXG_OK) {
        mxg_err("backend socket: %s", err);
        return rc;
    }
    d->control = (struct mxg_control){.store = d->store,
                                      .cfg = cfg,
                                      .backend = d->be,
                                      .started = (uint64_t)time(NULL),
                                      .zones_changed = rediscover_async,
                                      .more_stats = daemon_stats,
                                      .user = &d->loop};
    struct mxg_line_handler ch = {.ctx = &d->control,
                                  .open = control_open,
                                  .close = control_close,
                                  .handle = control_handle,
                                  .name = "control",
                                  .oversized = "{\"ok\":false,\"error\":{\"code\":\"too-long\","
                                               "\"message\":\"request line too long\"}}\n"};
    struct mxg_server_opts copts = {.path = cfg->control_socket,
                                    .mode = cfg->control_socket_mode,
                                    .group = cfg->control_socket_group,
                                    .max_connections = cfg->max_connections};
    rc = mxg_server_start(&d->loop, &ch, &copts, &d->control_srv, err, sizeof(err));
    if (rc != MXG_OK) {
        mxg_err("control socket: %s", err);
        return rc;
    }
    rc = drop_privileges(cfg, err, sizeof(err));
    if (rc != MXG_OK) {
        mxg_err("dropping privileges: %s", err);
        return rc;
    }
    /* The HTTP API front runs on libmicrohttpd's own threads (off unless api-listen is set). */
    if (cfg->api_listen && (rc = mxg_front_start(cfg, &d->front, err, sizeof(err))) != MXG_OK) {
        mxg_err("api front: %s", err);
        return rc;
    }
    return MXG_OK;
}

int mxg_daemon_run(struct mxg_config *cfg)
{
    struct daemon d = {.cfg = cfg};
    int status = 2;

    mxg_log_setup(cfg->log, cfg->log_level, "mxguard");
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        mxg_warn("cannot ignore SIGPIPE: a client gone mid-reply will end the daemon");

    char shown[512], host[MXG_NODE_NAME_MAX + 1];
    mxg_store_redact(cfg->store, shown, sizeof(shown));
    mxg_audit_set_node(mxg_config_node(cfg, host, sizeof(host)));
    if (uv_loop_init(&d.loop) != 0) {
        mxg_err("cannot start the event loop");
        return 2;
    }
    uv_timer_init(&d.loop, &d.hup_retry);
    d.hup_retry.data = &d;
    uv_timer_init(&d.loop, &d.external);
    d.external.data = &d;
    uv_prepare_init(&d.loop, &d.end_reads);
    d.end_reads.data = &d;
    if (open_backend(&d, shown) != MXG_OK || start_listening(&d) != MXG_OK)
        goto out;

    uv_prepare_start(&d.end_reads, on_end_reads);
    uv_unref((uv_handle_t *)&d.end_reads);
    uv_timer_start(&d.external, on_external, 0, EXTERNAL_POLL_MS);
    uv_signal_init(&d.loop, &d.sigterm);
    uv_signal_init(&d.loop, &d.sigint);
    uv_signal_init(&d.loop, &d.sighup);
    d.sigterm.data = d.sigint.data = d.sighup.data = &d;
    uv_signal_start(&d.sigterm, on_stop_signal, SIGTERM);
    uv_signal_start(&d.sigint, on_stop_signal, SIGINT);
    uv_signal_start(&d.sighup, on_hup, SIGHUP);

    mxg_info("mxguard %s serving store %s on %s (control %s, mode %s)", MXG_VERSION, shown,
             cfg->backend_socket, cfg->control_socket, mxg_mode_name(cfg->mode));
#ifdef MXG_HAVE_SYSTEMD
    sd_notify(0, "READY=1");
#endif
    uv_run(&d.loop, UV_RUN_DEFAULT);
    status = 0;
out:
    /* After a clean stop, stop_all has closed the sockets and every handle already. */
    mxg_server_stop(d.backend_srv);
    mxg_server_stop(d.control_srv);
    if (!uv_is_closing((uv_handle_t *)&d.hup_retry))
        uv_close((uv_handle_t *)&d.hup_retry, NULL);
    if (!uv_is_closing((uv_handle_t *)&d.external))
        uv_close((uv_handle_t *)&d.external, NULL);
    if (!uv_is_closing((uv_handle_t *)&d.end_reads))
        uv_close((uv_handle_t *)&d.end_reads, NULL);
    if (d.store)
        mxg_store_batch_reads(d.store, false);
    /* Let pending close callbacks run, then release the loop. */
    uv_run(&d.loop, UV_RUN_NOWAIT);
    /* After the control socket closed: requests still waiting on it end at once. */
    mxg_front_stop(d.front);
    if (uv_loop_close(&d.loop) != 0)
        mxg_debug("event loop closed with handles open");
    mxg_writer_free(d.writer);
    mxg_backend_free(d.be);
    mxg_store_close(d.store);
    mxg_store_close(d.wstore);
    return status;
}
