/* cli.c -- the `mxguard` command line: subcommand parsing and the commands themselves.
 *
 * Exit status: 0 success; 1 a finding a script acts on (check: would be refused; audit verify:
 * chain broken or head mismatch; scan: a zone is broken; config check: invalid file);
 * 2 usage or operational error.
 *
 * Commands that have a control-socket op go through the running daemon's control socket, and
 * through the same code in-process (opening the store directly) when no daemon answers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "mxg/cli.h"
#include "mxg/audit.h"
#include "mxg/config.h"
#include "mxg/control.h"
#include "mxg/daemon.h"
#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/log.h"
#include "mxg/store.h"
#include "mxg/zoneops.h"

#define EXIT_FINDING 1
#define EXIT_USAGE 2

static const char USAGE[] =
    "usage: mxguard COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  serve                         run the remote-backend daemon (foreground)\n"
    "  zone add ZONE [--kind native|master|slave] [--primary IP[:PORT]]... [--ns NAME]...\n"
    "  zone delete ZONE\n"
    "  zone list [--json]\n"
    "  check --zone ZONE --patch FILE|- [--json]   would this pdns API PATCH be refused?\n"
    "  scan [--json]                 classify every zone: no-mail, safe, at-risk, broken\n"
    "  resolve NAME [A|AAAA] [--json]   the addresses pdns answers for NAME, with their path\n"
    "  resolve --batch FILE [--json]    the same for each line \"NAME [TYPE]\" of FILE (- stdin)\n"
    "  audit show [--zone Z] [--verdict V] [--since T] [--until T] [--limit N] [--json]\n"
    "  audit export [--after SEQ]    the audit records as JSON lines\n"
    "  audit verify [--expect-head SEQ:HASH]\n"
    "  last-decision --zone ZONE [--json]\n"
    "  stats [--json]                counters of the running daemon\n"
    "  import --zone ZONE FILE       load an RFC 1035 master file into ZONE\n"
    "  autoprimary add IP NAMESERVER [ACCOUNT]   accept NOTIFY from IP for new zones\n"
    "  store copy --from URI --to URI [--json]  copy a whole store (SQLite <-> PostgreSQL) and\n"
    "                                           verify the copy\n"
    "  autoprimary delete IP NAMESERVER\n"
    "  autoprimary list [--json]\n"
    "  config check [--show]         validate the configuration file\n"
    "  version\n"
    "\n"
    "every command takes --config FILE (default " MXG_CONFIG_DEFAULT_PATH ")\n";

/* Options shared by all subcommands, pulled out of argv before the command parses the rest. */
struct cli {
    const char *config_path;
    bool json;
    int argc;
    char **argv; /* remaining arguments, command words first */
};

static int usage_error(const char *msg)
{
    if (msg)
        fprintf(stderr, "mxguard: %s\n", msg);
    fputs(USAGE, stderr);
    return EXIT_USAGE;
}

static int load_config(const struct cli *c, struct mxg_config *cfg)
{
    char err[512];
    int rc = mxg_config_load(c->config_path, cfg, err, sizeof(err));
    if (rc != MXG_OK) {
        fprintf(stderr, "mxguard: %s\n", err);
        return rc;
    }
    mxg_log_setup(MXG_LOG_STDERR,
                  cfg->log_level < MXG_LOG_WARNING ? cfg->log_level : MXG_LOG_WARNING, "mxguard");
    return MXG_OK;
}

static int open_store(const struct mxg_config *cfg, struct mxg_store **st)
{
    char err[512], host[MXG_NODE_NAME_MAX + 1];
    mxg_audit_set_node(mxg_config_node(cfg, host, sizeof(host)));
    int rc = mxg_store_open(cfg->store, st, err, sizeof(err));
    if (rc != MXG_OK) {
        char shown[512];
        mxg_store_redact(cfg->store, shown, sizeof(shown));
        fprintf(stderr, "mxguard: cannot open store %s: %s\n", shown, err);
    }
    return rc;
}

static int zone_arg(const char *in, char *out, size_t outlen)
{
    if (mxg_name_canon(in, out, outlen) != MXG_OK) {
        fprintf(stderr, "mxguard: invalid zone name '%s'\n", in);
        return MXG_EINVAL;
    }
    return MXG_OK;
}

/* ---- control requests ---------------------------------------------------------------- */

/* Sends req to the daemon's control socket; NULL when no daemon answers there. */
static json_t *control_remote(const struct mxg_config *cfg, json_t *req)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (fd < 0 || strlen(cfg->control_socket) >= sizeof(sa.sun_path)) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    memcpy(sa.sun_path, cfg->control_socket, strlen(cfg->control_socket) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return NULL;
    }
    char *line = json_dumps(req, JSON_COMPACT);
    json_t *reply = NULL;
    size_t len = line ? strlen(line) : 0, off = 0;
    if (line) {
        line[len] = '\n'; /* json_dumps leaves room for nothing: rewrite the NUL, send len+1 */
        while (off < len + 1) {
            ssize_t n = send(fd, line + off, len + 1 - off, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            off += (size_t)n;
        }
    }
    free(line);
    size_t cap = 65536, got = 0;
    char *buf = malloc(cap);
    while (buf && off == len + 1) {
        if (got + 1 >= cap) {
            if (cap >= (size_t)1024 * 1024 * 1024)
                break;
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        ssize_t n = recv(fd, buf + got, cap - got - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (memchr(buf + got - (size_t)n, '\n', (size_t)n)) {
            reply = json_loadb(buf, got, JSON_DISABLE_EOF_CHECK, NULL);
            break;
        }
    }
    free(buf);
    close(fd);
    if (!reply)
        reply = json_pack("{s:b,s:{s:s,s:s}}", "ok", 0, "error", "code", "io", "message",
                          "no reply from the daemon's control socket");
    return reply;
}

/* In-process ops leave pdns-control to the command (it runs it once, for both paths). */
static void zones_changed_later(struct mxg_control *c)
{
    (void)c;
}

/* Runs one control op: through the daemon when it runs, else in-process on the store. */
static json_t *control(const struct mxg_config *cfg, json_t *req)
{
    json_t *reply = control_remote(cfg, req);
    if (reply)
        return reply;
    struct mxg_store *st = NULL;
    if (open_store(cfg, &st) != MXG_OK)
        return NULL;
    struct mxg_control ctl = {.store = st, .cfg = cfg, .zones_changed = zones_changed_later};
    reply = mxg_control_call(&ctl, req);
    mxg_store_close(st);
    return reply;
}

/* Prints the error of a failed reply; returns the exit status for it. */
static int reply_failed(json_t *reply)
{
    if (!reply)
        return EXIT_USAGE;
    if (json_is_true(json_object_get(reply, "ok")))
        return 0;
    json_t *e = json_object_get(reply, "error");
    fprintf(stderr, "mxguard: %s\n",
            json_string_value(json_object_get(e, "message"))
                ? json_string_value(json_object_get(e, "message"))
                : "request failed");
    const char *code = json_string_value(json_object_get(e, "code"));
    return code && strcmp(code, "refused") == 0 ? EXIT_FINDING : EXIT_USAGE;
}

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (s)
        puts(s);
    free(s);
}

/* ---- zone ------------------------------------------------------------------------------- */

static int cmd_zone_add(struct cli *c, struct mxg_config *cfg)
{
    const char *zone_in = NULL, *kind = "native", *usage = NULL;
    json_t *ns = json_array(), *primaries = json_array();
    for (int i = 2; i < c->argc && !usage; i++) {
        const char *a = c->argv[i];
        if (strcmp(a, "--kind") == 0 && i + 1 < c->argc) {
            enum mxg_zone_kind k;
            kind = c->argv[++i];
            if (mxg_zone_kind_parse(kind, &k) != MXG_OK)
                usage = "--kind must be native, master or slave";
        } else if (strcmp(a, "--ns") == 0 && i + 1 < c->argc) {
            json_array_append_new(ns, json_string(c->argv[++i]));
        } else if (strcmp(a, "--primary") == 0 && i + 1 < c->argc) {
            json_array_append_new(primaries, json_string(c->argv[++i]));
        } else if (a[0] == '-' || zone_in) {
            usage = "zone add: unexpected argument";
        } else {
            zone_in = a;
        }
    }
    if (!usage && !zone_in)
        usage = "zone add: missing ZONE";
    if (usage) {
        json_decref(ns);
        json_decref(primaries);
        return usage_error(usage);
    }
    json_t *req = json_pack("{s:s,s:s,s:s,s:o,s:o}", "op", "zone.add", "zone", zone_in, "kind",
                            kind, "ns", ns, "primaries", primaries);
    json_t *reply = control(cfg, req);
    json_decref(req);
    int status = reply_failed(reply);
    if (status == 0) {
        /* The daemon starts pdns-control in the background; run it here too, so pdns serves
         * the zone when this command returns. */
        mxg_pdns_rediscover(cfg->pdns_control);
        printf("zone %s added (%s)\n", zone_in, kind);
    }
    json_decref(reply);
    return status;
}

static int cmd_zone_delete(struct cli *c, struct mxg_config *cfg)
{
    if (c->argc != 3 || c->argv[2][0] == '-')
        return usage_error("zone delete: expected ZONE");
    json_t *req = json_pack("{s:s,s:s}", "op", "zone.delete", "zone", c->argv[2]);
    json_t *reply = control(cfg, req);
    json_decref(req);
    int status = reply_failed(reply);
    if (status == 0) {
        mxg_pdns_rediscover(cfg->pdns_control);
        printf("zone %s deleted\n", c->argv[2]);
    }
    json_decref(reply);
    return status;
}

static int cmd_zone_list(struct cli *c, struct mxg_config *cfg)
{
    if (c->argc != 2)
        return usage_error("zone list: unexpected argument");
    json_t *req = json_pack("{s:s}", "op", "zone.list");
    json_t *reply = control(cfg, req);
    json_decref(req);
    int status = reply_failed(reply);
    if (status == 0 && c->json) {
        json_t *out = json_pack("{s:O}", "zones", json_object_get(reply, "zones"));
        print_json(out);
        json_decref(out);
    } else if (status == 0) {
        size_t i;
        json_t *z;
        json_array_foreach(json_object_get(reply, "zones"), i, z)
        {
            printf("%-40s %-7s %10lld %s\n", json_string_value(json_object_get(z, "zone")),
                   json_string_value(json_object_get(z, "kind")),
                   (long long)json_integer_value(json_object_get(z, "serial")),
                   json_string_value(json_object_get(z, "masters")));
        }
    }
    json_decref(reply);
    return status;
}

/* ---- check and scan ------------------------------------------------------------------------ */

static void print_changes(const char *title, json_t *changes)
{
    size_t i, k;
    json_t *ch, *d;
    json_array_foreach(changes, i, ch)
    {
        printf("  %s %s %s:", title, json_string_value(json_object_get(ch, "name")),
               json_string_value(json_object_get(ch, "type")));
        json_array_foreach(json_object_get(ch, "before"), k, d)
            printf(" -%s", json_string_value(json_object_get(d, "content")));
        json_array_foreach(json_object_get(ch, "after"), k, d)
            printf(" +%s", json_string_value(json_object_get(d, "content")));
        printf("\n");
    }
}

static void print_findings(json_t *findings)
{
    size_t i;
    json_t *f;
    json_array_foreach(findings, i, f)
    {
        printf("  [%s] %s %s %s: %s\n", json_string_value(json_object_get(f, "severity")),
               json_string_value(json_object_get(f, "rule")),
               json_string_value(json_object_get(f, "name")),
               json_string_value(json_object_get(f, "family")),
               json_string_value(json_object_get(f, "reason")));
    }
}

static int cmd_check(struct cli *c, struct mxg_config *cfg)
{
    const char *zone = NULL, *patch_file = NULL;
    for (int i = 1; i < c->argc; i++) {
        if (strcmp(c->argv[i], "--zone") == 0 && i + 1 < c->argc)
            zone = c->argv[++i];
        else if (strcmp(c->argv[i], "--patch") == 0 && i + 1 < c->argc)
            patch_file = c->argv[++i];
        else
            return usage_error("check: unexpected argument");
    }
    if (!zone || !patch_file)
        return usage_error("check: expected --zone ZONE --patch FILE|-");
    json_error_t jerr;
    json_t *patch = strcmp(patch_file, "-") == 0 ? json_loadf(stdin, 0, &jerr)
                                                 : json_load_file(patch_file, 0, &jerr);
    if (!patch) {
        fprintf(stderr, "mxguard: %s: line %d: %s\n", patch_file, jerr.line, jerr.text);
        return EXIT_USAGE;
    }
    json_t *req = json_pack("{s:s,s:s,s:o}", "op", "check", "zone", zone, "patch", patch);
    json_t *reply = control(cfg, req);
    json_decref(req);
    int status = reply_failed(reply);
    if (status == 0) {
        const char *verdict = json_string_value(json_object_get(reply, "verdict"));
        if (c->json) {
            json_t *out =
                json_pack("{s:O,s:O,s:O,s:O,s:O}", "zone", json_object_get(reply, "zone"),
                          "verdict", json_object_get(reply, "verdict"), "findings",
                          json_object_get(reply, "findings"), "fix", json_object_get(reply, "fix"),
                          "remedies", json_object_get(reply, "remedies"));
            print_json(out);
            json_decref(out);
        } else {
            printf("%s: %s (mode %s)\n", json_string_value(json_object_get(reply, "zone")), verdict,
                   json_string_value(json_object_get(reply, "mode")));
            print_findings(json_object_get(reply, "findings"));
            print_changes("fix", json_object_get(reply, "fix"));
            size_t i;
            json_t *r;
            json_array_foreach(json_object_get(reply, "remedies"), i, r)
                printf("  remedy: %s\n", json_string_value(r));
        }
        if (verdict && strcmp(verdict, "reject") == 0)
            status = EXIT_FINDING;
    }
    json_decref(reply);
    return status;
}

static int cmd_scan(struct cli *c, struct mxg_config *cfg)
{
    if (c->argc != 1)
        return usage_error("scan: unexpected argument");
    json_t *req = json_pack("{s:s}", "op", "scan");
    json_t *reply = control(cfg, req);
    json_decref(req);
    int status = reply_failed(reply);
    if (status == 0) {
        if (c->json) {
            json_t *out = json_pack("{s:O}", "zones", json_object_get(reply, "zones"));
            print_json(out);
            json_decref(out);
        } else {
            size_t i, k;
            json_t *z, *r;
            json_array_foreach(json_object_get(reply, "zones"), i, z)
            {
                printf("%-40s %-8s", json_string_value(json_object_get(z, "zone")),
                       json_string_value(json_object_get(z, "class")));
                json_array_foreach(json_object_get(z, "reasons"), k, r)
                    printf("%s%s", k ? "; " : " ", json_string_value(r));
                printf("\n");
            }
        }
        if (json_integer_value(json_object_get(reply, "broken")) > 0)
            status = EXIT_FINDING;
    }
    json_decref(reply);
    return status;
}

/* ---- resolve ---------------------------------------------------------------------------- */

/* One resolve request: through the daemon when it runs, else on the store opened once. */
struct resolver {
    const struct mxg_config *cfg;
    bool local;
    struct mxg_store *st;
};

static json_t *resolve_one(struct resolver *r, const char *name, const char *type)
{
    json_t *req = json_pack("{s:s,s:s,s:s}", "op", "resolve", "name", name, "type", type);
    json_t *reply = NULL;
    if (req && !r->local) {
        reply = control_remote(r->cfg, req);
        if (!reply)
            r->local = true;
    }
    if (req && r->local && !reply) {
        if (!r->st && open_store(r->cfg, &r->st) != MXG_OK) {
            json_decref(req);
            return NULL;
        }
        struct mxg_control ctl = {.store = r->st, .cfg = r->cfg};
        reply = mxg_control_call(&ctl, req);
    }
    json_decref(req);
    return reply;
}

static int print_resolution(const struct cli *c, json_t *reply)
{
    int status = reply_failed(reply);
    if (status != 0)
        return status;
    json_object_del(reply, "ok");
    if (c->json) {
        print_json(reply);
        return 0;
    }
    size_t i;
    json_t *v;
    printf("%s %s %s", json_string_value(json_object_get(reply, "name")),
           json_string_value(json_object_get(reply, "type")),
           json_string_value(json_object_get(reply, "result")));
    json_array_foreach(json_object_get(reply, "addresses"), i, v)
        printf(" %s", json_string_value(v));
    json_array_foreach(json_object_get(reply, "unknown"), i, v)
        printf(" (%s)", json_string_value(v));
    printf("\n  path:");
    json_array_foreach(json_object_get(reply, "path"), i, v)
        printf("%s %s [%s]", i ? " ->" : "", json_string_value(json_object_get(v, "name")),
               json_string_value(json_object_get(v, "role")));
    const char *why = json_string_value(json_object_get(reply, "shared_reason"));
    printf("\n  %s%s\n", json_is_true(json_object_get(reply, "shared")) ? "shared: " : "dedicated",
           why ? why : "");
    return 0;
}

static int cmd_resolve(struct cli *c, struct mxg_config *cfg)
{
    const char *batch = NULL, *name = NULL, *type = "A";
    int pos = 0;
    for (int i = 1; i < c->argc; i++) {
        if (strcmp(c->argv[i], "--batch") == 0 && i + 1 < c->argc)
            batch = c->argv[++i];
        else if (c->argv[i][0] == '-' && c->argv[i][1])
            return usage_error("resolve: unexpected option");
        else if (pos++ == 0)
            name = c->argv[i];
        else if (pos == 2)
            type = c->argv[i];
        else
            return usage_error("resolve: unexpected argument");
    }
    if (!batch == !name)
        return usage_error("resolve: expected NAME [TYPE] or --batch FILE");
    struct resolver r = {.cfg = cfg};
    int status = 0;
    if (name) {
        json_t *reply = resolve_one(&r, name, type);
        status = print_resolution(c, reply);
        json_decref(reply);
    } else {
        FILE *f = strcmp(batch, "-") == 0 ? stdin : fopen(batch, "r");
        if (!f) {
            fprintf(stderr, "mxguard: cannot open %s\n", batch);
            return EXIT_USAGE;
        }
        char line[2 * MXG_NAME_TEXT_MAX];
        while (status == 0 && fgets(line, sizeof(line), f)) {
            char *save = NULL, *n = strtok_r(line, " \t\r\n", &save);
            char *t = n ? strtok_r(NULL, " \t\r\n", &save) : NULL;
            if (!n || n[0] == '#')
                continue;
            json_t *reply = resolve_one(&r, n, t ? t : "A");
            status = print_resolution(c, reply);
            json_decref(reply);
        }
        if (f != stdin)
            (void)fclose(f); /* read only: nothing to lose */
    }
    mxg_store_close(r.st);
    if (fflush(stdout) != 0 && status == 0)
        status = EXIT_USAGE;
    return status;
}

/* ---- audit ------------------------------------------------------------------------------ */

static void print_record(json_t *rec)
{
    size_t i;
    json_t *f;
    printf("%6lld %s %-24s %-9s %-6s %-7s",
           (long long)json_integer_value(json_object_get(rec, "seq")),
           json_string_value(json_object_get(rec, "time")),
           json_string_value(json_object_get(rec, "zone")),
           json_string_value(json_object_get(rec, "source")),
           json_string_value(json_object_get(rec, "mode")),
           json_string_value(json_object_get(rec, "verdict")));
    json_array_foreach(json_object_get(rec, "findings"), i, f)
        printf("%s%s %s %s", i ? "; " : " ", json_string_value(json_object_get(f, "rule")),
               json_string_value(json_object_get(f, "name")),
               json_string_value(json_object_get(f, "family")));
    json_t *keys = json_object_get(rec, "keys"), *key = json_object_get(keys, "key"),
           *tsig = json_object_get(keys, "tsig");
    if (key) /* a DNSSEC key change: " add key 3 (KSK, algorithm 13, active, published)" */
        printf(" %s key %lld (%s, algorithm %lld, %s, %s)\n",
               json_string_value(json_object_get(keys, "action")),
               (long long)json_integer_value(json_object_get(key, "id")),
               json_string_value(json_object_get(key, "role")),
               (long long)json_integer_value(json_object_get(key, "algorithm")),
               json_is_true(json_object_get(key, "active")) ? "active" : "inactive",
               json_is_true(json_object_get(key, "published")) ? "published" : "unpublished");
    else if (json_is_array(json_object_get(keys, "keys"))) { /* " zone-delete keys 1, 2" */
        json_t *k;
        printf(" %s key%s", json_string_value(json_object_get(keys, "action")),
               json_array_size(json_object_get(keys, "keys")) == 1 ? "" : "s");
        json_array_foreach(json_object_get(keys, "keys"), i, k) printf(
            "%s%lld", i ? ", " : " ", (long long)json_integer_value(json_object_get(k, "id")));
        printf("\n");
    } else if (tsig) /* " tsig-add axfr-key. (hmac-sha256)" */
        printf(" %s %s (%s)\n", json_string_value(json_object_get(keys, "action")),
               json_string_value(json_object_get(tsig, "name")),
               json_string_value(json_object_get(tsig, "algorithm")));
    else
        printf(" (%zu change%s)\n", json_array_size(json_object_get(rec, "changes")),
               json_array_size(json_object_get(rec, "changes")) == 1 ? "" : "s");
}

static int cmd_audit(struct cli *c, struct mxg_config *cfg)
{
    const char *sub = c->argc >= 2 ? c->argv[1] : "";
    bool verify = strcmp(sub, "verify") == 0, export = strcmp(sub, "export") == 0;
    if (!verify && !export && strcmp(sub, "show") != 0)
        return usage_error("audit: expected show, export or verify");
    json_t *req = json_object();
    const char *usage = NULL;
    json_object_set_new(req, "op", json_string(verify ? "audit.verify" : "audit.show"));
    for (int i = 2; i < c->argc && !usage; i++) {
        const char *a = c->argv[i], *v = i + 1 < c->argc ? c->argv[i + 1] : NULL;
        const char *key = NULL;
        if (!verify && strcmp(a, "--zone") == 0)
            key = "zone";
        else if (!verify && strcmp(a, "--verdict") == 0)
            key = "verdict";
        else if (!verify && strcmp(a, "--since") == 0)
            key = "since";
        else if (!verify && strcmp(a, "--until") == 0)
            key = "until";
        else if (verify && strcmp(a, "--expect-head") == 0)
            key = "expect_head";
        if (key && v) {
            json_object_set_new(req, key, json_string(v));
            i++;
        } else if ((strcmp(a, "--after") == 0 || strcmp(a, "--limit") == 0) && v && !verify) {
            char *end;
            long long n = strtoll(v, &end, 10);
            if (*end || n < 0) {
                usage = "audit: --after and --limit take a number";
            } else {
                json_object_set_new(req, a + 2, json_integer(n));
                i++;
            }
        } else {
            usage = "audit: unexpected argument";
        }
    }
    if (usage) {
        json_decref(req);
        return usage_error(usage);
    }
    json_t *reply = control(cfg, req);
    json_decref(req);
    int status = reply_failed(reply);
    if (status == 0 && verify) {
        bool valid = json_is_true(json_object_get(reply, "valid"));
        if (c->json) {
            print_json(reply);
        } else if (valid) {
            printf("audit log ok: %lld records, head %s\n",
                   (long long)json_integer_value(json_object_get(reply, "records")),
                   json_string_value(json_object_get(reply, "head")));
        } else {
            printf("audit log BROKEN at record %lld: %s\n",
                   (long long)json_integer_value(json_object_get(reply, "first_bad")),
                   json_string_value(json_object_get(reply, "reason")));
        }
        status = valid ? 0 : EXIT_FINDING;
    } else if (status == 0) {
        size_t i;
        json_t *rec;
        json_array_foreach(json_object_get(reply, "records"), i, rec)
        {
            if (export || c->json)
                print_json(rec);
            else
                print_record(rec);
        }
    }
    json_decref(reply);
    return status;
}

static int cmd_last_decision(struct cli *c, struct mxg_config *cfg)
{
    const char *zone = NULL, *since = NULL;
    for (int i = 1; i < c->argc; i++) {
        if (strcmp(c->argv[i], "--zone") == 0 && i + 1 < c->argc)
            zone = c->argv[++i];
        else if (strcmp(c->argv[i], "--since") == 0 && i + 1 < c->argc)
            since = c->argv[++i];
        else
            return usage_error("last-decision: unexpected argument");
    }
    if (!zone)
        return usage_error("last-decision: expected --zone ZONE");
    json_t *req = json_pack("{s:s,s:s}", "op", "last-decision", "zone", zone);
    if (since)
        json_object_set_new(req, "since", json_string(since));
    json_t *reply = control(cfg, req);
    json_decref(req);
    int status = reply_failed(reply);
    if (status == 0) {
        json_t *rec = json_object_get(reply, "record");
        if (c->json) {
            print_json(rec);
        } else {
            print_record(rec);
            print_findings(json_object_get(rec, "findings"));
            print_changes("change", json_object_get(rec, "changes"));
            print_changes("fix", json_object_get(rec, "fix"));
        }
    }
    json_decref(reply);
    return status;
}

static int cmd_stats(struct cli *c, struct mxg_config *cfg)
{
    json_t *req = json_pack("{s:s}", "op", "stats");
    json_t *reply = control_remote(cfg, req);
    json_decref(req);
    if (!reply) {
        fprintf(stderr, "mxguard: no daemon answers on %s\n", cfg->control_socket);
        return EXIT_USAGE;
    }
    int status = reply_failed(reply);
    if (status == 0) {
        json_object_del(reply, "ok");
        if (c->json) {
            print_json(reply);
        } else {
            const char *k;
            json_t *v;
            json_object_foreach(reply, k, v)
            {
                if (json_is_integer(v))
                    printf("%-12s %lld\n", k, (long long)json_integer_value(v));
                else if (json_is_string(v))
                    printf("%-12s %s\n", k, json_string_value(v));
            }
        }
    }
    json_decref(reply);
    return status;
}

/* ---- import ------------------------------------------------------------------------------- */

static int cmd_import(struct cli *c, struct mxg_config *cfg)
{
    const char *zone_in = NULL, *file = NULL;
    for (int i = 1; i < c->argc; i++) {
        if (strcmp(c->argv[i], "--zone") == 0 && i + 1 < c->argc)
            zone_in = c->argv[++i];
        else if (c->argv[i][0] != '-' && !file)
            file = c->argv[i];
        else
            return usage_error("import: unexpected argument");
    }
    if (!zone_in || !file)
        return usage_error("import: expected --zone ZONE FILE");
    char zone[MXG_NAME_TEXT_MAX], err[1024];
    if (zone_arg(zone_in, zone, sizeof(zone)) != MXG_OK)
        return EXIT_USAGE;
    struct mxg_store *st = NULL;
    if (open_store(cfg, &st) != MXG_OK)
        return EXIT_USAGE;
    size_t count = 0;
    struct mxg_guard_result res = {0};
    int rc = mxg_zone_import(st, cfg, zone, file, &count, &res, err, sizeof(err));
    mxg_store_close(st);
    if (rc != MXG_OK) {
        fprintf(stderr, "mxguard: import failed, nothing changed: %s\n", err);
        mxg_guard_result_free(&res);
        return EXIT_USAGE;
    }
    if (res.refused) {
        fprintf(stderr, "mxguard: import refused, nothing changed: %s\n", err);
        for (size_t i = 0; i < res.decision.n_findings; i++)
            fprintf(stderr, "  [%s] %s %s %s: %s\n",
                    mxg_severity_name(res.decision.findings[i].severity),
                    res.decision.findings[i].rule, res.decision.findings[i].name,
                    res.decision.findings[i].family, res.decision.findings[i].reason);
        mxg_guard_result_free(&res);
        return EXIT_FINDING;
    }
    printf("zone %s: %zu records imported from %s (%s, audit seq %lld)\n", zone, count, file,
           res.judged ? mxg_verdict_name(res.decision.verdict) : "allow", (long long)res.audit_seq);
    mxg_guard_result_free(&res);
    mxg_pdns_rediscover(cfg->pdns_control);
    return 0;
}

struct list_ctx {
    bool json;
    json_t *arr;
};

/* ---- autoprimary -------------------------------------------------------------------------- */

static int print_autoprimary(void *arg, const char *ip, const char *ns, const char *account)
{
    struct list_ctx *c = arg;
    if (c->json) {
        json_t *o = json_pack("{s:s,s:s,s:s}", "ip", ip, "nameserver", ns, "account", account);
        if (!o || json_array_append_new(c->arr, o) != 0)
            return MXG_ENOMEM;
    } else {
        printf("%-40s %-40s %s\n", ip, ns, account);
    }
    return 0;
}

static int cmd_autoprimary(struct cli *c, struct mxg_config *cfg)
{
    const char *sub = c->argc >= 2 ? c->argv[1] : "";
    bool add = strcmp(sub, "add") == 0, del = strcmp(sub, "delete") == 0,
         list = strcmp(sub, "list") == 0;
    if ((add && (c->argc < 4 || c->argc > 5)) || (del && c->argc != 4) || (list && c->argc != 2) ||
        !(add || del || list))
        return usage_error("autoprimary: expected add IP NAMESERVER [ACCOUNT], delete IP "
                           "NAMESERVER or list");
    char ns[MXG_NAME_TEXT_MAX];
    if ((add || del) && mxg_name_canon(c->argv[3], ns, sizeof(ns)) != MXG_OK) {
        fprintf(stderr, "mxguard: invalid nameserver '%s'\n", c->argv[3]);
        return EXIT_USAGE;
    }
    if ((add || del) && (strlen(c->argv[2]) > 64 || !c->argv[2][0])) {
        fprintf(stderr, "mxguard: invalid address '%s'\n", c->argv[2]);
        return EXIT_USAGE;
    }
    struct mxg_store *st = NULL;
    if (open_store(cfg, &st) != MXG_OK)
        return EXIT_USAGE;
    int rc;
    struct list_ctx lc = {.json = c->json, .arr = json_array()};
    if (list) {
        rc = lc.arr ? MXG_STORE_CALL(st, autoprimary_list, print_autoprimary, &lc) : MXG_ENOMEM;
        if (rc == MXG_OK && c->json) {
            json_t *root = json_pack("{s:O}", "autoprimaries", lc.arr);
            char *out = root ? json_dumps(root, JSON_COMPACT) : NULL;
            if (out)
                puts(out);
            free(out);
            json_decref(root);
        }
    } else {
        rc = MXG_STORE_CALL0(st, begin);
        if (rc == MXG_OK) {
            rc = add ? MXG_STORE_CALL(st, autoprimary_add, c->argv[2], ns,
                                      c->argc == 5 ? c->argv[4] : "")
                     : MXG_STORE_CALL(st, autoprimary_delete, c->argv[2], ns);
            if (rc == MXG_OK)
                rc = MXG_STORE_CALL0(st, commit);
            else
                mxg_store_abandon(st);
        }
    }
    json_decref(lc.arr);
    mxg_store_close(st);
    if (rc != MXG_OK) {
        fprintf(stderr, "mxguard: autoprimary %s: %s\n", sub,
                rc == MXG_EEXIST ? "already present" : mxg_strerror(rc));
        return EXIT_USAGE;
    }
    if (!list)
        printf("autoprimary %s %s %s\n", c->argv[2], ns, add ? "added" : "deleted");
    return 0;
}

/* ---- config ------------------------------------------------------------------------------- */

static int cmd_config_check(struct cli *c)
{
    bool show = false;
    for (int i = 2; i < c->argc; i++) {
        if (strcmp(c->argv[i], "--show") == 0)
            show = true;
        else
            return usage_error("config check: unexpected argument");
    }
    struct mxg_config cfg;
    char err[512];
    if (mxg_config_load(c->config_path, &cfg, err, sizeof(err)) != MXG_OK) {
        fprintf(stderr, "mxguard: %s\n", err);
        return EXIT_FINDING;
    }
    /* PRODUCT.md §3: strict with no mail-ranges refuses every migration through a shared path. */
    if (cfg.classify == MXG_CLASSIFY_STRICT && cfg.n_mail_ranges == 0)
        fprintf(stderr,
                "mxguard: warning: classify=strict with an empty mail-ranges: every new mail "
                "address reached through a shared path (an apex, a wildcard, a web name) is "
                "refused; name your mail servers in mail-ranges, or use mode=warn while you "
                "migrate\n");
    if (show) {
        char *dump = NULL;
        if (mxg_config_dump(&cfg, &dump) == MXG_OK && dump)
            fputs(dump, stdout);
        free(dump);
    } else {
        printf("%s: ok\n", c->config_path);
    }
    mxg_config_free(&cfg);
    return 0;
}

/* ---- store copy --------------------------------------------------------------------------- */

static int cmd_store_copy(struct cli *c)
{
    const char *from = NULL, *to = NULL;
    for (int i = 2; i + 1 < c->argc; i += 2) {
        if (strcmp(c->argv[i], "--from") == 0)
            from = c->argv[i + 1];
        else if (strcmp(c->argv[i], "--to") == 0)
            to = c->argv[i + 1];
        else
            return usage_error("store copy: expected --from URI --to URI");
    }
    if (!from || !to || c->argc != 6)
        return usage_error("store copy: expected --from URI --to URI");
    char err[512], shown[512];
    struct mxg_store *src = NULL, *dst = NULL;
    if (mxg_store_open(from, &src, err, sizeof(err)) != MXG_OK) {
        mxg_store_redact(from, shown, sizeof(shown));
        fprintf(stderr, "mxguard: cannot open store %s: %s\n", shown, err);
        return EXIT_USAGE;
    }
    if (mxg_store_open(to, &dst, err, sizeof(err)) != MXG_OK) {
        mxg_store_redact(to, shown, sizeof(shown));
        fprintf(stderr, "mxguard: cannot open store %s: %s\n", shown, err);
        mxg_store_close(src);
        return EXIT_USAGE;
    }
    struct mxg_store_copy_stats n;
    int rc = mxg_store_copy(src, dst, &n, err, sizeof(err));
    mxg_store_close(src);
    mxg_store_close(dst);
    if (rc != MXG_OK) {
        fprintf(stderr, "mxguard: store copy: %s\n", err);
        return EXIT_USAGE;
    }
    if (c->json)
        printf("{\"zones\":%lld,\"records\":%lld,\"metadata\":%lld,\"keys\":%lld,"
               "\"tsig_keys\":%lld,\"autoprimaries\":%lld,\"audit_records\":%lld,"
               "\"verified\":true}\n",
               n.zones, n.records, n.metadata, n.keys, n.tsig_keys, n.autoprimaries,
               n.audit_records);
    else
        printf("copied and verified: %lld zones, %lld records, %lld metadata values, %lld DNSSEC "
               "keys, %lld TSIG keys, %lld autoprimaries, %lld audit records\n",
               n.zones, n.records, n.metadata, n.keys, n.tsig_keys, n.autoprimaries,
               n.audit_records);
    return 0;
}

/* ---- main --------------------------------------------------------------------------------- */

/* ---- the command table -------------------------------------------------------------- */

static int cmd_version(struct cli *c, struct mxg_config *cfg)
{
    (void)c;
    (void)cfg;
    printf("mxguard %s\n", MXG_VERSION);
    return 0;
}

static int cmd_serve(struct cli *c, struct mxg_config *cfg)
{
    return c->argc == 1 ? mxg_daemon_run(cfg) : usage_error("serve: unexpected argument");
}

static int cmd_store_copy_(struct cli *c, struct mxg_config *cfg)
{
    (void)cfg;
    return cmd_store_copy(c);
}

static int cmd_config_check_(struct cli *c, struct mxg_config *cfg)
{
    (void)cfg;
    return cmd_config_check(c);
}

/* A command word (and sub-command word, or NULL), whether it loads the configuration first
 * (those that do not load it themselves, or need none), and its handler. */
struct cli_cmd {
    const char *name, *sub;
    bool config;
    int (*run)(struct cli *c, struct mxg_config *cfg);
};

static const struct cli_cmd COMMANDS[] = {
    {"version", NULL, false, cmd_version},
    {"store", "copy", false, cmd_store_copy_},
    {"config", "check", false, cmd_config_check_},
    {"serve", NULL, true, cmd_serve},
    {"autoprimary", NULL, true, cmd_autoprimary},
    {"check", NULL, true, cmd_check},
    {"scan", NULL, true, cmd_scan},
    {"resolve", NULL, true, cmd_resolve},
    {"audit", NULL, true, cmd_audit},
    {"last-decision", NULL, true, cmd_last_decision},
    {"stats", NULL, true, cmd_stats},
    {"import", NULL, true, cmd_import},
    {"zone", "add", true, cmd_zone_add},
    {"zone", "delete", true, cmd_zone_delete},
    {"zone", "list", true, cmd_zone_list},
};

static int dispatch(struct cli *c)
{
    if (c->argc == 0)
        return usage_error(NULL);
    const char *word = c->argv[0], *sub = c->argc >= 2 ? c->argv[1] : NULL;
    const struct cli_cmd *cmd = NULL;
    char subs[128] = "";
    for (size_t i = 0; !cmd && i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++) {
        const struct cli_cmd *e = &COMMANDS[i];
        if (strcmp(e->name, word) != 0)
            continue;
        if (!e->sub || (sub && strcmp(e->sub, sub) == 0))
            cmd = e;
        else
            snprintf(subs + strlen(subs), sizeof(subs) - strlen(subs), "%s'%s'", *subs ? ", " : "",
                     e->sub);
    }
    if (!cmd) {
        char msg[160];
        if (!*subs)
            return usage_error("unknown command");
        snprintf(msg, sizeof(msg), "%s: expected %s", word, subs);
        return usage_error(msg);
    }
    if (!cmd->config)
        return cmd->run(c, NULL);
    struct mxg_config cfg;
    if (load_config(c, &cfg) != MXG_OK)
        return EXIT_USAGE;
    int status = cmd->run(c, &cfg);
    mxg_config_free(&cfg);
    return status;
}

int mxg_cli_main(int argc, char **argv)
{
    struct cli c = {.config_path = MXG_CONFIG_DEFAULT_PATH};
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    if (!rest)
        return EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                free(rest);
                return usage_error("--config needs a FILE");
            }
            c.config_path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            c.config_path = argv[i] + 9;
        } else if (strcmp(argv[i], "--json") == 0) {
            c.json = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            free(rest);
            fputs(USAGE, stdout);
            return 0;
        } else {
            rest[c.argc++] = argv[i];
        }
    }
    c.argv = rest;
    int status = dispatch(&c);
    free(rest);
    return status;
}
