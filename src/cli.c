/* cli.c -- the `mxguard` command line: subcommand parsing and the commands themselves.
 *
 * Exit status: 0 success; 1 a finding a script acts on (config check: invalid file);
 * 2 usage or operational error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mxg/cli.h"
#include "mxg/config.h"
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
    "  import --zone ZONE FILE       load an RFC 1035 master file into ZONE\n"
    "  autoprimary add IP NAMESERVER [ACCOUNT]   accept NOTIFY from IP for new zones\n"
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
    char err[512];
    int rc = mxg_store_open(cfg->store, st, err, sizeof(err));
    if (rc != MXG_OK)
        fprintf(stderr, "mxguard: cannot open store %s: %s\n", cfg->store, err);
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

/* ---- zone ------------------------------------------------------------------------------- */

static int cmd_zone_add(struct cli *c, struct mxg_config *cfg)
{
    const char *zone_in = NULL;
    const char *ns[16];
    size_t nns = 0;
    char masters[1024] = "";
    enum mxg_zone_kind kind = MXG_KIND_NATIVE;
    for (int i = 2; i < c->argc; i++) {
        const char *a = c->argv[i];
        if (strcmp(a, "--kind") == 0 && i + 1 < c->argc) {
            if (mxg_zone_kind_parse(c->argv[++i], &kind) != MXG_OK)
                return usage_error("--kind must be native, master or slave");
        } else if (strcmp(a, "--ns") == 0 && i + 1 < c->argc) {
            if (nns == 16)
                return usage_error("at most 16 --ns");
            ns[nns++] = c->argv[++i];
        } else if (strcmp(a, "--primary") == 0 && i + 1 < c->argc) {
            size_t used = strlen(masters);
            int n = snprintf(masters + used, sizeof(masters) - used, "%s%s", used ? "," : "",
                             c->argv[++i]);
            if (n < 0 || (size_t)n >= sizeof(masters) - used)
                return usage_error("too many --primary");
        } else if (a[0] == '-' || zone_in) {
            return usage_error("zone add: unexpected argument");
        } else {
            zone_in = a;
        }
    }
    if (!zone_in)
        return usage_error("zone add: missing ZONE");
    if (kind == MXG_KIND_SLAVE && !masters[0])
        return usage_error("zone add: a slave zone needs --primary");
    char zone[MXG_NAME_TEXT_MAX], err[512];
    if (zone_arg(zone_in, zone, sizeof(zone)) != MXG_OK)
        return EXIT_USAGE;
    struct mxg_store *st = NULL;
    if (open_store(cfg, &st) != MXG_OK)
        return EXIT_USAGE;
    int rc = mxg_zone_create(st, zone, kind, masters, ns, nns, err, sizeof(err));
    mxg_store_close(st);
    if (rc != MXG_OK) {
        fprintf(stderr, "mxguard: %s\n", err);
        return EXIT_USAGE;
    }
    printf("zone %s added (%s)\n", zone, mxg_zone_kind_name(kind));
    mxg_pdns_rediscover(cfg->pdns_control);
    return 0;
}

static int cmd_zone_delete(struct cli *c, struct mxg_config *cfg)
{
    if (c->argc != 3 || c->argv[2][0] == '-')
        return usage_error("zone delete: expected ZONE");
    char zone[MXG_NAME_TEXT_MAX], err[512];
    if (zone_arg(c->argv[2], zone, sizeof(zone)) != MXG_OK)
        return EXIT_USAGE;
    struct mxg_store *st = NULL;
    if (open_store(cfg, &st) != MXG_OK)
        return EXIT_USAGE;
    int rc = mxg_zone_remove(st, zone, err, sizeof(err));
    mxg_store_close(st);
    if (rc != MXG_OK) {
        fprintf(stderr, "mxguard: %s\n", err);
        return EXIT_USAGE;
    }
    printf("zone %s deleted\n", zone);
    mxg_pdns_rediscover(cfg->pdns_control);
    return 0;
}

struct list_ctx {
    bool json;
    json_t *arr;
};

static int print_zone(void *arg, const struct mxg_zone *z)
{
    struct list_ctx *c = arg;
    if (c->json) {
        json_t *o = json_pack("{s:s,s:I,s:s,s:I,s:s}", "zone", z->name, "id", (json_int_t)z->id,
                              "kind", mxg_zone_kind_name(z->kind), "serial", (json_int_t)z->serial,
                              "masters", z->masters);
        if (!o || json_array_append_new(c->arr, o) != 0)
            return MXG_ENOMEM;
    } else {
        printf("%-40s %-7s %10lld %s\n", z->name, mxg_zone_kind_name(z->kind), (long long)z->serial,
               z->masters);
    }
    return 0;
}

static int cmd_zone_list(struct cli *c, struct mxg_config *cfg)
{
    if (c->argc != 2)
        return usage_error("zone list: unexpected argument");
    struct mxg_store *st = NULL;
    if (open_store(cfg, &st) != MXG_OK)
        return EXIT_USAGE;
    struct list_ctx lc = {.json = c->json, .arr = json_array()};
    int rc = lc.arr ? MXG_STORE_CALL(st, zone_list, print_zone, &lc) : MXG_ENOMEM;
    mxg_store_close(st);
    if (rc == MXG_OK && c->json) {
        json_t *root = json_pack("{s:O}", "zones", lc.arr);
        char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
        if (s)
            puts(s);
        else
            rc = MXG_ENOMEM;
        free(s);
        json_decref(root);
    }
    json_decref(lc.arr);
    if (rc != MXG_OK) {
        fprintf(stderr, "mxguard: listing zones: %s\n", mxg_strerror(rc));
        return EXIT_USAGE;
    }
    return 0;
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
    int rc = mxg_zone_import(st, zone, file, &count, err, sizeof(err));
    mxg_store_close(st);
    if (rc != MXG_OK) {
        fprintf(stderr, "mxguard: import failed, nothing changed: %s\n", err);
        return EXIT_USAGE;
    }
    printf("zone %s: %zu records imported from %s\n", zone, count, file);
    mxg_pdns_rediscover(cfg->pdns_control);
    return 0;
}

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
            rc = rc == MXG_OK ? MXG_STORE_CALL0(st, commit) : (MXG_STORE_CALL0(st, rollback), rc);
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

/* ---- main --------------------------------------------------------------------------------- */

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
    int status;
    if (c.argc == 0) {
        status = usage_error(NULL);
    } else if (strcmp(rest[0], "version") == 0) {
        printf("mxguard %s\n", MXG_VERSION);
        status = 0;
    } else if (strcmp(rest[0], "config") == 0) {
        status = (c.argc >= 2 && strcmp(rest[1], "check") == 0)
                     ? cmd_config_check(&c)
                     : usage_error("config: expected 'check'");
    } else {
        struct mxg_config cfg;
        if (load_config(&c, &cfg) != MXG_OK) {
            free(rest);
            return EXIT_USAGE;
        }
        if (strcmp(rest[0], "serve") == 0) {
            status = c.argc == 1 ? mxg_daemon_run(&cfg) : usage_error("serve: unexpected argument");
        } else if (strcmp(rest[0], "autoprimary") == 0) {
            status = cmd_autoprimary(&c, &cfg);
        } else if (strcmp(rest[0], "import") == 0) {
            status = cmd_import(&c, &cfg);
        } else if (strcmp(rest[0], "zone") == 0 && c.argc >= 2) {
            if (strcmp(rest[1], "add") == 0)
                status = cmd_zone_add(&c, &cfg);
            else if (strcmp(rest[1], "delete") == 0)
                status = cmd_zone_delete(&c, &cfg);
            else if (strcmp(rest[1], "list") == 0)
                status = cmd_zone_list(&c, &cfg);
            else
                status = usage_error("zone: expected add, delete or list");
        } else {
            status = usage_error("unknown command");
        }
        mxg_config_free(&cfg);
    }
    free(rest);
    return status;
}
