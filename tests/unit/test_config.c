/* test_config.c -- unit tests of the configuration file module (src/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mxg/audit.h"
#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/limits.h"

/* ---- helpers --------------------------------------------------------------------------- */

/* Loads text; asserts the status; frees cfg on failure (the module already did). */
static int load(const char *text, struct mxg_config *cfg, char *err, size_t errlen)
{
    return mxg_config_load_string(text, "t.conf", cfg, err, errlen);
}

/* Writes len bytes to a new temporary file; returns its malloc'd path. */
static char *write_temp(const char *data, size_t len)
{
    const char *dir = getenv("TMPDIR");
    char *path;
    int fd;

    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    path = malloc(strlen(dir) + 32);
    assert_non_null(path);
    sprintf(path, "%s/mxg_test_config_XXXXXX", dir);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
    return path;
}

static void assert_zeroed(const struct mxg_config *cfg)
{
    static const struct mxg_config zero;
    assert_memory_equal(cfg, &zero, sizeof(zero));
}

static struct mxg_cidr cidr(const char *s)
{
    struct mxg_cidr c;
    assert_int_equal(mxg_cidr_parse(s, &c), MXG_OK);
    return c;
}

static bool contains(const char *range, const char *addr)
{
    struct mxg_cidr r = cidr(range);
    uint8_t a[16];
    int family = strchr(addr, ':') ? 6 : 4;

    assert_int_equal(inet_pton(family == 6 ? AF_INET6 : AF_INET, addr, a), 1);
    return mxg_cidr_contains(&r, family, a);
}

/* ---- defaults -------------------------------------------------------------------------- */

static void check_defaults(const struct mxg_config *cfg)
{
    assert_string_equal(cfg->backend_socket, "/run/mxguard/backend.sock");
    assert_int_equal(cfg->backend_socket_mode, 0660);
    assert_null(cfg->backend_socket_group);
    assert_string_equal(cfg->control_socket, "/run/mxguard/control.sock");
    assert_int_equal(cfg->control_socket_mode, 0660);
    assert_null(cfg->control_socket_group);
    assert_string_equal(cfg->store, "sqlite:/var/lib/mxguard/mxguard.sqlite3");
    assert_int_equal(cfg->mode, MXG_MODE_REJECT);
    assert_int_equal(cfg->classify, MXG_CLASSIFY_STRICT);
    assert_int_equal(cfg->implicit_mx, MXG_IMPLICIT_WARN);
    assert_null(cfg->mail_ranges);
    assert_int_equal(cfg->n_mail_ranges, 0);
    assert_null(cfg->proxy_ranges);
    assert_int_equal(cfg->n_proxy_ranges, 0);
    assert_int_equal(cfg->n_mail_host_labels, 4);
    assert_string_equal(cfg->mail_host_labels[0], "mail");
    assert_string_equal(cfg->mail_host_labels[1], "mx");
    assert_string_equal(cfg->mail_host_labels[2], "smtp");
    assert_string_equal(cfg->mail_host_labels[3], "mail1");
    assert_int_equal(cfg->n_rule_severity, 0);
    assert_int_equal(cfg->zone_mode_override, MXG_OVERRIDE_ANY);
    assert_null(cfg->pdns_control);
    assert_int_equal(cfg->log, MXG_LOG_STDERR);
    assert_int_equal(cfg->log_level, MXG_LOG_INFO);
    assert_false(cfg->audit_syslog);
    assert_null(cfg->setuid_user);
    assert_null(cfg->setgid_group);
    assert_int_equal(cfg->max_connections, 256);
}

static void test_defaults(void **state)
{
    struct mxg_config cfg;

    assert_int_equal(mxg_config_defaults(&cfg), MXG_OK);
    check_defaults(&cfg);
    assert_null(cfg.path);
    mxg_config_free(&cfg);
    assert_zeroed(&cfg);
    mxg_config_free(&cfg); /* twice is safe */
}

static void test_empty_text_gives_defaults(void **state)
{
    struct mxg_config cfg;
    char err[256];

    assert_int_equal(load("", &cfg, err, sizeof(err)), MXG_OK);
    check_defaults(&cfg);
    assert_string_equal(cfg.path, "t.conf");
    mxg_config_free(&cfg);

    assert_int_equal(
        load("# only a comment\n\n   \n\t# indented comment\n", &cfg, err, sizeof(err)), MXG_OK);
    check_defaults(&cfg);
    mxg_config_free(&cfg);
}

/* ---- every key ------------------------------------------------------------------------- */

static const char full_text[] =
    "# a full configuration\n"
    "backend-socket=/run/pdns/mxguard.sock\n"
    "backend-socket-mode=0600\n"
    "backend-socket-group=pdns\n"
    "control-socket = /run/mxguard/ctl.sock\n"
    "control-socket-mode=640\n"
    "control-socket-group=mxguard-admin\n"
    "store=sqlite:/srv/mxguard/db.sqlite3\n"
    "node-name=dns-1.fra\n"
    "mode=FIX\n"
    "classify=Proxy\n"
    "implicit-mx=yes\n"
    "mail-ranges=192.0.2.0/24, 2001:db8::/32,198.51.100.7\n"
    "proxy-ranges=203.0.113.0/24,2001:db8:ffff::/48\n"
    "mail-host-labels=Mail,mx-1,SMTP\n"
    "rule-severity=mx-cname:block, spf-moved:OFF,implicit-mail-moved:warn\n"
    "zone-mode-override=stricter\n"
    "pdns-control=/usr/bin/pdns_control --config-dir=/etc/powerdns\n"
    "log=syslog\n"
    "log-level=debug\n"
    "audit-syslog=yes\n"
    "setuid=mxguard\n"
    "setgid=mxguard\n"
    "max-connections=65535\n"
    "api-listen=127.0.0.1:8082\n"
    "api-key=panel secret\n"
    "operator-key=operator-secret\n"
    "pdns-api-url=http://127.0.0.1:8081/\n"
    "pdns-api-key=pdns-secret\n"
    "api-timeout=10\n"
    "api-max-connections=200\n";

static void check_full(const struct mxg_config *cfg)
{
    assert_string_equal(cfg->backend_socket, "/run/pdns/mxguard.sock");
    assert_int_equal(cfg->backend_socket_mode, 0600);
    assert_string_equal(cfg->backend_socket_group, "pdns");
    assert_string_equal(cfg->control_socket, "/run/mxguard/ctl.sock");
    assert_int_equal(cfg->control_socket_mode, 0640);
    assert_string_equal(cfg->control_socket_group, "mxguard-admin");
    assert_string_equal(cfg->store, "sqlite:/srv/mxguard/db.sqlite3");
    assert_int_equal(cfg->mode, MXG_MODE_FIX);
    assert_int_equal(cfg->classify, MXG_CLASSIFY_PROXY);
    assert_int_equal(cfg->implicit_mx, MXG_IMPLICIT_YES);

    assert_int_equal(cfg->n_mail_ranges, 3);
    assert_int_equal(cfg->mail_ranges[0].family, 4);
    assert_int_equal(cfg->mail_ranges[0].prefix, 24);
    assert_memory_equal(cfg->mail_ranges[0].addr, ((uint8_t[]){192, 0, 2, 0}), 4);
    assert_int_equal(cfg->mail_ranges[1].family, 6);
    assert_int_equal(cfg->mail_ranges[1].prefix, 32);
    assert_int_equal(cfg->mail_ranges[2].family, 4);
    assert_int_equal(cfg->mail_ranges[2].prefix, 32);
    assert_memory_equal(cfg->mail_ranges[2].addr, ((uint8_t[]){198, 51, 100, 7}), 4);

    assert_int_equal(cfg->n_proxy_ranges, 2);
    assert_int_equal(cfg->proxy_ranges[0].prefix, 24);
    assert_int_equal(cfg->proxy_ranges[1].family, 6);
    assert_int_equal(cfg->proxy_ranges[1].prefix, 48);

    assert_int_equal(cfg->n_mail_host_labels, 3);
    assert_string_equal(cfg->mail_host_labels[0], "mail");
    assert_string_equal(cfg->mail_host_labels[1], "mx-1");
    assert_string_equal(cfg->mail_host_labels[2], "smtp");

    assert_int_equal(cfg->n_rule_severity, 3);
    assert_string_equal(cfg->rule_severity[0].rule, "mx-cname");
    assert_int_equal(cfg->rule_severity[0].severity, MXG_SEV_BLOCK);
    assert_string_equal(cfg->rule_severity[1].rule, "spf-moved");
    assert_int_equal(cfg->rule_severity[1].severity, MXG_SEV_OFF);
    assert_string_equal(cfg->rule_severity[2].rule, "implicit-mail-moved");
    assert_int_equal(cfg->rule_severity[2].severity, MXG_SEV_WARN);

    assert_int_equal(cfg->zone_mode_override, MXG_OVERRIDE_STRICTER);
    assert_string_equal(cfg->pdns_control, "/usr/bin/pdns_control --config-dir=/etc/powerdns");
    assert_int_equal(cfg->log, MXG_LOG_SYSLOG);
    assert_int_equal(cfg->log_level, MXG_LOG_DEBUG);
    assert_true(cfg->audit_syslog);
    assert_string_equal(cfg->setuid_user, "mxguard");
    assert_string_equal(cfg->setgid_group, "mxguard");
    assert_int_equal(cfg->max_connections, 65535);
    assert_int_equal(cfg->api_timeout, 10);
    assert_int_equal(cfg->api_max_connections, 200);
}

static void test_every_key(void **state)
{
    struct mxg_config cfg;
    char err[256];

    assert_int_equal(load(full_text, &cfg, err, sizeof(err)), MXG_OK);
    check_full(&cfg);
    mxg_config_free(&cfg);
}

static void test_every_rule_and_severity(void **state)
{
    static const char *const rules[] = {
        "mail-moved",    "implicit-mail-moved", "mx-cname",  "mx-no-address",
        "mx-ip-literal", "null-mx-mixed",       "spf-moved", "fix-no-host",
    };
    static const char *const sevs[] = {"off", "warn", "block"};
    struct mxg_config cfg;
    char text[512], err[256];

    for (size_t s = 0; s < 3; s++) {
        size_t used = (size_t)snprintf(text, sizeof(text), "rule-severity=");
        for (size_t r = 0; r < 8; r++)
            used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s:%s", r ? "," : "",
                                     rules[r], sevs[s]);
        assert_int_equal(load(text, &cfg, err, sizeof(err)), MXG_OK);
        assert_int_equal(cfg.n_rule_severity, 8);
        for (size_t r = 0; r < 8; r++) {
            assert_string_equal(cfg.rule_severity[r].rule, rules[r]);
            assert_int_equal(cfg.rule_severity[r].severity, (int)s);
        }
        mxg_config_free(&cfg);
    }
}

static void test_enum_words(void **state)
{
    static const struct {
        const char *line;
        size_t off;
        int want;
    } cases[] = {
        {"mode=off", offsetof(struct mxg_config, mode), MXG_MODE_OFF},
        {"mode=Warn", offsetof(struct mxg_config, mode), MXG_MODE_WARN},
        {"mode=REJECT", offsetof(struct mxg_config, mode), MXG_MODE_REJECT},
        {"classify=strict", offsetof(struct mxg_config, classify), MXG_CLASSIFY_STRICT},
        {"implicit-mx=no", offsetof(struct mxg_config, implicit_mx), MXG_IMPLICIT_NO},
        {"zone-mode-override=none", offsetof(struct mxg_config, zone_mode_override),
         MXG_OVERRIDE_NONE},
        {"log=stderr", offsetof(struct mxg_config, log), MXG_LOG_STDERR},
        {"log-level=error", offsetof(struct mxg_config, log_level), MXG_LOG_ERROR},
        {"log-level=warning", offsetof(struct mxg_config, log_level), MXG_LOG_WARNING},
    };
    struct mxg_config cfg;
    char err[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got;
        assert_int_equal(load(cases[i].line, &cfg, err, sizeof(err)), MXG_OK);
        memcpy(&got, (const char *)&cfg + cases[i].off, sizeof(got));
        assert_int_equal(got, cases[i].want);
        mxg_config_free(&cfg);
    }
    assert_int_equal(load("audit-syslog=YES\naudit-syslog=no", &cfg, err, sizeof(err)), MXG_OK);
    assert_false(cfg.audit_syslog);
    mxg_config_free(&cfg);
}

static void test_syntax_details(void **state)
{
    struct mxg_config cfg;
    char err[256];

    /* Later lines override earlier ones; whitespace and CRLF are trimmed; a '#' after
     * whitespace starts a comment, one inside a value does not. */
    assert_int_equal(load("mode=off\r\n  mode =  warn   # trailing comment\r\n"
                          "pdns-control=/opt/pdns#1/pdns_control\n"
                          "max-connections=1\tmax-connections=2\n" /* a tab is not a newline */
                          "setuid=a\nsetuid=\n"
                          "mail-host-labels=\n"
                          "mail-ranges=10.0.0.0/8\nmail-ranges=10.1.0.0/16\n"
                          "store=SQLITE:db.sqlite3\n"
                          "backend-socket-mode=0\n"
                          "control-socket-mode=0777",
                          &cfg, err, sizeof(err)),
                     MXG_EINVAL);
    /* "1\tmax-connections=2" is not a number. */
    assert_non_null(strstr(err, "t.conf:4: max-connections"));
    assert_zeroed(&cfg);

    assert_int_equal(load("mode=off\r\n  mode =  warn   # trailing comment\r\n"
                          "pdns-control=/opt/pdns#1/pdns_control\n"
                          "max-connections=1\n"
                          "setuid=a\nsetuid=\n"
                          "mail-host-labels=\n"
                          "mail-ranges=10.0.0.0/8\nmail-ranges=10.1.0.0/16\n"
                          "store=SQLITE:db.sqlite3\n"
                          "backend-socket-mode=0\n"
                          "control-socket-mode=0777",
                          &cfg, err, sizeof(err)),
                     MXG_OK);
    assert_int_equal(cfg.mode, MXG_MODE_WARN);
    assert_string_equal(cfg.pdns_control, "/opt/pdns#1/pdns_control");
    assert_int_equal(cfg.max_connections, 1);
    assert_null(cfg.setuid_user);
    assert_int_equal(cfg.n_mail_host_labels, 0);
    assert_null(cfg.mail_host_labels);
    assert_int_equal(cfg.n_mail_ranges, 1);
    assert_int_equal(cfg.mail_ranges[0].prefix, 16);
    assert_string_equal(cfg.store, "sqlite:db.sqlite3");
    assert_int_equal(cfg.backend_socket_mode, 0);
    assert_int_equal(cfg.control_socket_mode, 0777);
    mxg_config_free(&cfg);

    /* A PostgreSQL URI is kept as libpq will read it, the scheme in lower case. */
    assert_int_equal(
        load("store=POSTGRES:///mxguard?host=/run/postgresql\n", &cfg, err, sizeof(err)), MXG_OK);
    assert_string_equal(cfg.store, "postgresql:///mxguard?host=/run/postgresql");
    mxg_config_free(&cfg);
}

/* The audit records' node: node-name; else the host name on a PostgreSQL store (a fleet);
 * else none (SQLite: one node). */
static void test_node_name(void **state)
{
    struct mxg_config cfg;
    char err[256], buf[MXG_NODE_NAME_MAX + 1];
    assert_int_equal(load("store=sqlite:/x.sqlite3\n", &cfg, err, sizeof(err)), MXG_OK);
    assert_null(mxg_config_node(&cfg, buf, sizeof(buf)));
    mxg_config_free(&cfg);
    assert_int_equal(load("store=postgresql:///pdns\n", &cfg, err, sizeof(err)), MXG_OK);
    char host[256] = "";
    gethostname(host, sizeof(host));
    const char *n = mxg_config_node(&cfg, buf, sizeof(buf));
    if (n)
        assert_string_equal(n, host);
    else
        assert_true(strlen(host) > MXG_NODE_NAME_MAX || strchr(host, ' ')); /* unusable name */
    mxg_config_free(&cfg);
    assert_int_equal(load("store=postgresql:///pdns\nnode-name=ns2_fra\n", &cfg, err, sizeof(err)),
                     MXG_OK);
    assert_string_equal(mxg_config_node(&cfg, buf, sizeof(buf)), "ns2_fra");
    mxg_config_free(&cfg);
}

static void test_socket_path_limit(void **state)
{
    /* sun_path is 108 bytes on Linux: 107 characters fit, 108 do not. */
    char text[300], err[256], want[128];
    struct mxg_config cfg;
    size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

    memset(text, 0, sizeof(text));
    strcpy(text, "backend-socket=/");
    memset(text + strlen(text), 'a', max - 1);
    assert_int_equal(load(text, &cfg, err, sizeof(err)), MXG_OK);
    assert_int_equal(strlen(cfg.backend_socket), max);
    mxg_config_free(&cfg);

    strcat(text, "a");
    assert_int_equal(load(text, &cfg, err, sizeof(err)), MXG_EINVAL);
    snprintf(want, sizeof(want), "t.conf:1: backend-socket: path longer than %zu characters", max);
    assert_string_equal(err, want);
}

static void test_label_limits(void **state)
{
    char text[200], err[256];
    struct mxg_config cfg;

    memset(text, 0, sizeof(text));
    strcpy(text, "mail-host-labels=");
    memset(text + strlen(text), 'a', MXG_LABEL_MAX);
    assert_int_equal(load(text, &cfg, err, sizeof(err)), MXG_OK);
    assert_int_equal(strlen(cfg.mail_host_labels[0]), MXG_LABEL_MAX);
    mxg_config_free(&cfg);

    strcat(text, "a");
    assert_int_equal(load(text, &cfg, err, sizeof(err)), MXG_EINVAL);
    assert_non_null(strstr(err, "at most 63 characters"));
}

/* ---- errors ---------------------------------------------------------------------------- */

static void test_bad_values(void **state)
{
    static const struct {
        const char *text;
        const char *want; /* substring of the message */
    } cases[] = {
        {"nosuchkey=1", "t.conf:1: unknown key 'nosuchkey'"},
        {"Mode=reject", "unknown key 'Mode'"},
        {"\n\nmode reject", "t.conf:3: expected key=value"},
        {"=reject", "t.conf:1: missing key"},
        {"backend-socket=", "backend-socket: '': must be an absolute path"},
        {"backend-socket=run/x.sock", "must be an absolute path"},
        {"control-socket=x", "control-socket: 'x': must be an absolute path"},
        {"backend-socket-mode=0800", "backend-socket-mode: '0800': expected an octal mode"},
        {"backend-socket-mode=01000", "expected an octal mode"},
        {"backend-socket-mode=", "backend-socket-mode: missing value"},
        {"control-socket-mode=rw", "control-socket-mode: 'rw'"},
        {"control-socket-mode=-1", "expected an octal mode"},
        {"control-socket-mode=07777777777777777777777", "expected an octal mode"},
        {"store=", "store: '': expected sqlite:PATH or postgresql://..."},
        {"store=sqlite:", "expected sqlite:PATH"},
        {"store=/var/lib/x.sqlite3", "expected sqlite:PATH"},
        {"store=mysql://x", "expected sqlite:PATH"},
        {"node-name=dns 1", "node-name: 'dns 1': expected 1..64 letters, digits"},
        {"node-name=n\"1", "expected 1..64 letters"},
        {"node-name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "expected 1..64"},
        {"mode=", "mode: invalid value '' (expected off|warn|reject|fix)"},
        {"mode=block", "mode: invalid value 'block'"},
        {"classify=loose", "classify: invalid value 'loose' (expected strict|proxy)"},
        {"implicit-mx=maybe", "implicit-mx: invalid value 'maybe' (expected no|warn|yes)"},
        {"mail-ranges=10.0.0.1/8", "mail-ranges: '10.0.0.1/8': host bits set"},
        {"mail-ranges=10.0.0.0/33", "prefix length must be 0..32"},
        {"mail-ranges=10.0.0.0/8,,10.1.0.0/16", "mail-ranges: empty item in list"},
        {"mail-ranges=10.0.0.0/8,", "empty item in list"},
        {"proxy-ranges=2001:db8::/129", "proxy-ranges: '2001:db8::/129': prefix length must be "
                                        "0..128"},
        {"proxy-ranges=example.com", "not an IPv4 or IPv6 address"},
        {"proxy-ranges=2001:db8::1/64", "host bits set"},
        {"mail-host-labels=mail.example", "a label has only letters, digits and '-'"},
        {"mail-host-labels=mail,-mx", "neither starts nor ends with '-'"},
        {"mail-host-labels=mx-", "neither starts nor ends with '-'"},
        {"mail-host-labels=mail, ,mx", "empty item in list"},
        {"mail-host-labels=m_x", "letters, digits and '-'"},
        {"rule-severity=mx-cname", "'mx-cname': expected RULE:SEVERITY"},
        {"rule-severity=no-such-rule:block", "unknown rule 'no-such-rule'"},
        {"rule-severity=mx-cname:fatal", "rule mx-cname: invalid severity 'fatal' (expected "
                                         "off|warn|block)"},
        {"rule-severity=mx-cname:", "invalid severity ''"},
        {"rule-severity=mx-cname:warn,mx-cname:block", "rule mx-cname given twice"},
        {"zone-mode-override=all", "expected any|stricter|none"},
        {"log=file", "log: invalid value 'file' (expected stderr|syslog)"},
        {"log-level=trace", "expected error|warning|info|debug"},
        {"log-level=", "log-level: invalid value ''"},
        {"audit-syslog=true", "audit-syslog: invalid value 'true' (expected no|yes)"},
        {"audit-syslog=", "audit-syslog: invalid value ''"},
        {"max-connections=0", "max-connections: invalid value '0' (expected a number 1..65535)"},
        {"max-connections=65536", "invalid value '65536'"},
        {"max-connections=99999999999999999999999", "expected a number 1..65535"},
        {"max-connections=-1", "invalid value '-1'"},
        {"max-connections=+5", "invalid value '+5'"},
        {"max-connections=010", "invalid value '010'"},
        {"max-connections=1k", "invalid value '1k'"},
        {"max-connections=", "invalid value ''"},
        {"setuid=a\x01"
         "b",
         "setuid: control character in value"},
        {"pdns-control=x\x7f", "pdns-control: control character in value"},
    };
    struct mxg_config cfg;
    char err[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(err, 'x', sizeof(err));
        if (load(cases[i].text, &cfg, err, sizeof(err)) != MXG_EINVAL)
            fail_msg("accepted: %s", cases[i].text);
        assert_zeroed(&cfg);
        if (strstr(err, cases[i].want) == NULL)
            fail_msg("%s: message '%s' lacks '%s'", cases[i].text, err, cases[i].want);
        assert_true(strncmp(err, "t.conf:", 7) == 0);
        mxg_config_free(&cfg); /* safe again */
    }
}

static void test_error_names_line(void **state)
{
    struct mxg_config cfg;
    char err[256];

    assert_int_equal(load("# header\nmode=warn\n\nclassify=proxy\nmode=sideways\nlog=syslog\n",
                          &cfg, err, sizeof(err)),
                     MXG_EINVAL);
    assert_string_equal(err, "t.conf:5: mode: invalid value 'sideways' "
                             "(expected off|warn|reject|fix)");

    /* No buffer, a tiny buffer and a NULL name are all fine. */
    assert_int_equal(load("mode=sideways", &cfg, NULL, 0), MXG_EINVAL);
    assert_int_equal(load("mode=sideways", &cfg, err, 1), MXG_EINVAL);
    assert_string_equal(err, "");
    assert_int_equal(load("mode=sideways", &cfg, err, 5), MXG_EINVAL);
    assert_string_equal(err, "t.co");
    assert_int_equal(mxg_config_load_string("x", NULL, &cfg, err, sizeof(err)), MXG_EINVAL);
    assert_non_null(strstr(err, ":1: expected key=value"));
}

static void test_line_length(void **state)
{
    size_t max = MXG_CONFIG_LINE_MAX;
    char *text = malloc(max + 64);
    struct mxg_config cfg;
    char err[256];

    assert_non_null(text);
    /* A line of exactly MXG_CONFIG_LINE_MAX characters is accepted (comment padding). */
    memset(text, 0, max + 64);
    strcpy(text, "mode=fix #");
    memset(text + strlen(text), 'c', max - strlen(text));
    assert_int_equal(strlen(text), max);
    assert_int_equal(load(text, &cfg, err, sizeof(err)), MXG_OK);
    assert_int_equal(cfg.mode, MXG_MODE_FIX);
    mxg_config_free(&cfg);

    /* One more character is refused, naming the line. */
    memmove(text + 1, text, max + 1);
    text[0] = '\n';
    strcat(text, "c");
    assert_int_equal(load(text, &cfg, err, sizeof(err)), MXG_EINVAL);
    assert_string_equal(err, "t.conf:2: line longer than 4096 characters");
    assert_zeroed(&cfg);
    free(text);
}

/* ---- files ----------------------------------------------------------------------------- */

static void test_load_file(void **state)
{
    char *path = write_temp(full_text, strlen(full_text));
    struct mxg_config cfg;
    char err[512];

    assert_int_equal(mxg_config_load(path, &cfg, err, sizeof(err)), MXG_OK);
    check_full(&cfg);
    assert_string_equal(cfg.path, path);
    mxg_config_free(&cfg);
    unlink(path);
    free(path);

    /* Last line without a newline, and an empty file. */
    path = write_temp("mode=warn\nlog=syslog", 20);
    assert_int_equal(mxg_config_load(path, &cfg, err, sizeof(err)), MXG_OK);
    assert_int_equal(cfg.mode, MXG_MODE_WARN);
    assert_int_equal(cfg.log, MXG_LOG_SYSLOG);
    mxg_config_free(&cfg);
    unlink(path);
    free(path);

    path = write_temp("", 0);
    assert_int_equal(mxg_config_load(path, &cfg, err, sizeof(err)), MXG_OK);
    check_defaults(&cfg);
    mxg_config_free(&cfg);
    unlink(path);
    free(path);
}

static void test_load_file_errors(void **state)
{
    size_t max = MXG_CONFIG_LINE_MAX;
    char *long_text = malloc(max + 32);
    char want[600], err[512];
    struct mxg_config cfg;
    char *path;

    /* Unreadable: missing file, a directory. */
    assert_int_equal(mxg_config_load("/nonexistent/mxguard.conf", &cfg, err, sizeof(err)), MXG_EIO);
    assert_zeroed(&cfg);
    assert_string_equal(err, "/nonexistent/mxguard.conf: cannot open: No such file or directory");
    assert_int_equal(mxg_config_load("/", &cfg, err, sizeof(err)), MXG_EIO);
    assert_zeroed(&cfg);
    assert_non_null(strstr(err, "/: "));
    assert_int_equal(mxg_config_load(NULL, &cfg, err, sizeof(err)), MXG_EINVAL);

    /* Permission denied (meaningless as root, which reads anything). */
    if (geteuid() != 0) {
        path = write_temp("mode=warn\n", 10);
        assert_int_equal(chmod(path, 0), 0);
        assert_int_equal(mxg_config_load(path, &cfg, err, sizeof(err)), MXG_EIO);
        assert_non_null(strstr(err, "cannot open: Permission denied"));
        unlink(path);
        free(path);
    }

    /* A bad value names file and line. */
    path = write_temp("mode=warn\n\nlog=journal\n", 23);
    assert_int_equal(mxg_config_load(path, &cfg, err, sizeof(err)), MXG_EINVAL);
    assert_zeroed(&cfg);
    snprintf(want, sizeof(want), "%s:3: log: invalid value 'journal'", path);
    assert_non_null(strstr(err, want));
    unlink(path);
    free(path);

    /* An overlong line, then a valid one: the error names the long line. */
    assert_non_null(long_text);
    memset(long_text, '#', max + 1);
    memcpy(long_text + max + 1, "\nmode=off\n", 11);
    path = write_temp(long_text, strlen(long_text));
    assert_int_equal(mxg_config_load(path, &cfg, err, sizeof(err)), MXG_EINVAL);
    snprintf(want, sizeof(want), "%s:1: line longer than 4096 characters", path);
    assert_string_equal(err, want);
    unlink(path);
    free(path);

    /* Exactly MXG_CONFIG_LINE_MAX is fine in a file too. */
    memset(long_text, '#', max);
    strcpy(long_text + max, "\nmode=off");
    path = write_temp(long_text, strlen(long_text));
    assert_int_equal(mxg_config_load(path, &cfg, err, sizeof(err)), MXG_OK);
    assert_int_equal(cfg.mode, MXG_MODE_OFF);
    mxg_config_free(&cfg);
    unlink(path);
    free(path);
    free(long_text);

    /* A NUL byte. */
    path = write_temp("mode=warn\nmode=o\0ff\n", 20);
    assert_int_equal(mxg_config_load(path, &cfg, err, sizeof(err)), MXG_EINVAL);
    snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
    assert_string_equal(err, want);
    unlink(path);
    free(path);
}

/* ---- CIDR ------------------------------------------------------------------------------ */

static void test_cidr_parse(void **state)
{
    static const char *const good[] = {
        "0.0.0.0/0",
        "10.0.0.0/8",
        "192.0.2.1",
        "192.0.2.1/32",
        "255.255.255.255/32",
        "192.0.2.128/25",
        "::/0",
        "::",
        "::1",
        "::1/128",
        "2001:db8::/32",
        "fe80::/10",
        "::ffff:192.0.2.1",
        "2001:db8::8000/113",
    };
    static const char *const bad[] = {
        "",
        "/",
        "/8",
        "10.0.0.0/",
        "10.0.0.0/33",
        "10.0.0.0/-1",
        "10.0.0.0/+8",
        "10.0.0.0/08",
        "10.0.0.0/8/8",
        "10.0.0.0/8x",
        "10.0.0.1/8",
        "10.0.0.0 /8",
        "10.0.0",
        "10.0.0.256",
        "010.0.0.1",
        "1.2.3.4.5",
        " 10.0.0.0",
        "::/129",
        "2001:db8::1/64",
        "2001:db8:::/48",
        "fe80::1%eth0",
        "::1/1280",
        "10.0.0.0/99999999999999999999999999",
        "host.example",
        "0.0.0.1/0",
        "2001:db8::8000/112",
        "192.0.2.129/25",
        "0000:0000:0000:0000:0000:0000:0000:0000:0000/0",
    };
    struct mxg_cidr c;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (mxg_cidr_parse(good[i], &c) != MXG_OK)
            fail_msg("refused: %s", good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (mxg_cidr_parse(bad[i], &c) != MXG_EINVAL)
            fail_msg("accepted: '%s'", bad[i]);
    }
    assert_int_equal(mxg_cidr_parse(NULL, &c), MXG_EINVAL);

    c = cidr("192.0.2.1");
    assert_int_equal(c.family, 4);
    assert_int_equal(c.prefix, 32);
    assert_memory_equal(c.addr, ((uint8_t[]){192, 0, 2, 1}), 4);
    c = cidr("::1");
    assert_int_equal(c.family, 6);
    assert_int_equal(c.prefix, 128);
    assert_int_equal(c.addr[15], 1);
    c = cidr("::ffff:192.0.2.1");
    assert_int_equal(c.family, 6); /* a v4-mapped address is an IPv6 range */
    c = cidr("0.0.0.0/0");
    assert_int_equal(c.prefix, 0);
}

static void test_cidr_contains(void **state)
{
    struct mxg_cidr r;
    uint8_t a4[4] = {10, 0, 0, 1}, a16[16] = {0};

    /* /0 contains everything of its family, and nothing of the other. */
    assert_true(contains("0.0.0.0/0", "0.0.0.0"));
    assert_true(contains("0.0.0.0/0", "255.255.255.255"));
    assert_false(contains("0.0.0.0/0", "::"));
    assert_true(contains("::/0", "::"));
    assert_true(contains("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    assert_false(contains("::/0", "10.0.0.1"));
    /* A v4-mapped address is not an IPv4 address. */
    assert_false(contains("192.0.2.0/24", "::ffff:192.0.2.1"));

    /* /32 and /128 contain exactly one address. */
    assert_true(contains("192.0.2.1/32", "192.0.2.1"));
    assert_false(contains("192.0.2.1/32", "192.0.2.0"));
    assert_false(contains("192.0.2.1/32", "192.0.2.2"));
    assert_true(contains("2001:db8::1/128", "2001:db8::1"));
    assert_false(contains("2001:db8::1/128", "2001:db8::"));
    assert_false(contains("2001:db8::1/128", "2001:db8::3"));

    /* Byte-aligned and odd prefixes, at both edges. */
    assert_true(contains("10.0.0.0/8", "10.255.255.255"));
    assert_false(contains("10.0.0.0/8", "11.0.0.0"));
    assert_false(contains("10.0.0.0/8", "9.255.255.255"));
    assert_true(contains("192.0.2.128/25", "192.0.2.128"));
    assert_true(contains("192.0.2.128/25", "192.0.2.255"));
    assert_false(contains("192.0.2.128/25", "192.0.2.127"));
    assert_true(contains("172.16.0.0/12", "172.31.255.255"));
    assert_false(contains("172.16.0.0/12", "172.32.0.0"));
    assert_true(contains("128.0.0.0/1", "255.0.0.0"));
    assert_false(contains("128.0.0.0/1", "127.255.255.255"));
    assert_true(contains("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
    assert_false(contains("2001:db8::/32", "2001:db9::"));
    assert_true(contains("fe80::/10", "febf::1"));
    assert_false(contains("fe80::/10", "fec0::1"));
    assert_true(contains("2001:db8::8000/113", "2001:db8::ffff"));
    assert_false(contains("2001:db8::8000/113", "2001:db8::7fff"));
    assert_true(contains("2001:db8::/127", "2001:db8::1"));
    assert_false(contains("2001:db8::/127", "2001:db8::2"));

    /* Defensive answers for nonsense. */
    r = cidr("10.0.0.0/8");
    assert_false(mxg_cidr_contains(NULL, 4, a4));
    assert_false(mxg_cidr_contains(&r, 4, NULL));
    assert_false(mxg_cidr_contains(&r, 5, a4));
    assert_false(mxg_cidr_contains(&r, 6, a16));
    r.prefix = 33;
    assert_false(mxg_cidr_contains(&r, 4, a4));
}

/* ---- mode ------------------------------------------------------------------------------ */

static void test_parse_mode(void **state)
{
    static const struct {
        const char *s;
        enum mxg_mode m;
    } good[] = {
        {"off", MXG_MODE_OFF},       {"OFF", MXG_MODE_OFF},   {"Off", MXG_MODE_OFF},
        {"warn", MXG_MODE_WARN},     {"wArN", MXG_MODE_WARN}, {"reject", MXG_MODE_REJECT},
        {"REJECT", MXG_MODE_REJECT}, {"fix", MXG_MODE_FIX},   {"FiX", MXG_MODE_FIX},
    };
    static const char *const bad[] = {"",      "of",       "offf", " off", "off ",
                                      "block", "rejected", "fi",   "1",    "strict"};
    enum mxg_mode m = MXG_MODE_WARN;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(mxg_parse_mode(good[i].s, &m), MXG_OK);
        assert_int_equal(m, good[i].m);
    }
    m = MXG_MODE_WARN;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (mxg_parse_mode(bad[i], &m) != MXG_EINVAL)
            fail_msg("accepted: '%s'", bad[i]);
        assert_int_equal(m, MXG_MODE_WARN); /* untouched on failure */
    }
    assert_int_equal(mxg_parse_mode(NULL, &m), MXG_EINVAL);

    assert_string_equal(mxg_mode_name(MXG_MODE_OFF), "off");
    assert_string_equal(mxg_mode_name(MXG_MODE_WARN), "warn");
    assert_string_equal(mxg_mode_name(MXG_MODE_REJECT), "reject");
    assert_string_equal(mxg_mode_name(MXG_MODE_FIX), "fix");
    assert_string_equal(mxg_mode_name((enum mxg_mode)42), "unknown");
    for (int i = MXG_MODE_OFF; i <= MXG_MODE_FIX; i++) {
        assert_int_equal(mxg_parse_mode(mxg_mode_name((enum mxg_mode)i), &m), MXG_OK);
        assert_int_equal(m, i);
    }
}

/* ---- dump ------------------------------------------------------------------------------ */

static const char default_dump[] = "backend-socket=/run/mxguard/backend.sock\n"
                                   "backend-socket-mode=0660\n"
                                   "backend-socket-group=\n"
                                   "control-socket=/run/mxguard/control.sock\n"
                                   "control-socket-mode=0660\n"
                                   "control-socket-group=\n"
                                   "store=sqlite:/var/lib/mxguard/mxguard.sqlite3\n"
                                   "node-name=\n"
                                   "mode=reject\n"
                                   "classify=strict\n"
                                   "implicit-mx=warn\n"
                                   "mail-ranges=\n"
                                   "proxy-ranges=\n"
                                   "mail-host-labels=mail,mx,smtp,mail1\n"
                                   "rule-severity=\n"
                                   "dname-processing=no\n"
                                   "expand-alias=no\n"
                                   "zone-mode-override=any\n"
                                   "pdns-control=\n"
                                   "log=stderr\n"
                                   "log-level=info\n"
                                   "audit-syslog=no\n"
                                   "setuid=\n"
                                   "setgid=\n"
                                   "max-connections=256\n"
                                   "api-listen=\n"
                                   "api-key=\n"
                                   "operator-key=\n"
                                   "pdns-api-url=http://127.0.0.1:8081\n"
                                   "pdns-api-key=\n"
                                   "api-timeout=30\n"
                                   "api-max-connections=1024\n";

/* Dumps cfg, loads the dump, dumps again: both dumps must match. Returns the first. */
static char *round_trip(const struct mxg_config *cfg)
{
    struct mxg_config again;
    char *one, *two, err[256];

    assert_int_equal(mxg_config_dump(cfg, &one), MXG_OK);
    if (load(one, &again, err, sizeof(err)) != MXG_OK)
        fail_msg("dump does not load: %s\n%s", err, one);
    assert_int_equal(mxg_config_dump(&again, &two), MXG_OK);
    assert_string_equal(one, two);
    free(two);
    mxg_config_free(&again);
    return one;
}

static void test_dump_defaults(void **state)
{
    struct mxg_config cfg;
    char *out;

    assert_int_equal(mxg_config_defaults(&cfg), MXG_OK);
    out = round_trip(&cfg);
    assert_string_equal(out, default_dump);
    free(out);
    mxg_config_free(&cfg);
}

static void test_dump_full(void **state)
{
    struct mxg_config cfg;
    char err[256], *out;

    assert_int_equal(load(full_text, &cfg, err, sizeof(err)), MXG_OK);
    out = round_trip(&cfg);
    assert_string_equal(out, "backend-socket=/run/pdns/mxguard.sock\n"
                             "backend-socket-mode=0600\n"
                             "backend-socket-group=pdns\n"
                             "control-socket=/run/mxguard/ctl.sock\n"
                             "control-socket-mode=0640\n"
                             "control-socket-group=mxguard-admin\n"
                             "store=sqlite:/srv/mxguard/db.sqlite3\n"
                             "node-name=dns-1.fra\n"
                             "mode=fix\n"
                             "classify=proxy\n"
                             "implicit-mx=yes\n"
                             "mail-ranges=192.0.2.0/24,2001:db8::/32,198.51.100.7/32\n"
                             "proxy-ranges=203.0.113.0/24,2001:db8:ffff::/48\n"
                             "mail-host-labels=mail,mx-1,smtp\n"
                             "rule-severity=mx-cname:block,spf-moved:off,implicit-mail-moved:warn\n"
                             "dname-processing=no\n"
                             "expand-alias=no\n"
                             "zone-mode-override=stricter\n"
                             "pdns-control=/usr/bin/pdns_control --config-dir=/etc/powerdns\n"
                             "log=syslog\n"
                             "log-level=debug\n"
                             "audit-syslog=yes\n"
                             "setuid=mxguard\n"
                             "setgid=mxguard\n"
                             "max-connections=65535\n"
                             "api-listen=127.0.0.1:8082\n"
                             "api-key=panel secret\n"
                             "operator-key=operator-secret\n"
                             "pdns-api-url=http://127.0.0.1:8081/\n"
                             "pdns-api-key=pdns-secret\n"
                             "api-timeout=10\n"
                             "api-max-connections=200\n");
    free(out);

    /* The reloaded dump also carries the same values, not just the same text. */
    {
        struct mxg_config again;
        assert_int_equal(mxg_config_dump(&cfg, &out), MXG_OK);
        assert_int_equal(load(out, &again, err, sizeof(err)), MXG_OK);
        check_full(&again);
        mxg_config_free(&again);
        free(out);
    }
    mxg_config_free(&cfg);
}

static void test_dump_refuses_unloadable(void **state)
{
    struct mxg_config cfg;
    char *out = (char *)1;

    /* A value the loader could never produce would not survive a reload: refused. */
    assert_int_equal(mxg_config_defaults(&cfg), MXG_OK);
    cfg.pdns_control = strdup("echo a # b");
    assert_int_equal(mxg_config_dump(&cfg, &out), MXG_EINVAL);
    assert_null(out);
    free(cfg.pdns_control);
    cfg.pdns_control = strdup("two\nlines");
    assert_int_equal(mxg_config_dump(&cfg, &out), MXG_EINVAL);
    free(cfg.pdns_control);
    cfg.pdns_control = strdup("a,b#c");
    out = round_trip(&cfg);
    assert_non_null(strstr(out, "\npdns-control=a,b#c\n"));
    free(out);
    cfg.mode = (enum mxg_mode)9;
    assert_int_equal(mxg_config_dump(&cfg, &out), MXG_EINVAL);
    mxg_config_free(&cfg);
}

/* ---- the shipped example --------------------------------------------------------------- */

#ifdef MXG_TEST_DATA
#define EXAMPLE_CONF MXG_TEST_DATA "/../../pdns-config/mxguard.conf.example"
#define TEXT_MAX ((size_t)64 * 1024) /* the example file and its "# e.g." lines */

/* The example loads, gives the defaults, and still gives them with every "#key=" line
 * uncommented: the defaults it documents are the real ones. Its "# e.g. key=value" lines
 * are valid settings too. */
static void test_example_file(void **state)
{
    struct mxg_config cfg;
    char err[512], *out, *text, *line, *eg;
    size_t len = 0, eglen = 0;
    FILE *f;

    assert_int_equal(mxg_config_load(EXAMPLE_CONF, &cfg, err, sizeof(err)), MXG_OK);
    assert_int_equal(mxg_config_dump(&cfg, &out), MXG_OK);
    assert_string_equal(out, default_dump);
    free(out);
    mxg_config_free(&cfg);

    f = fopen(EXAMPLE_CONF, "r");
    assert_non_null(f);
    text = calloc(1, TEXT_MAX);
    assert_non_null(text);
    eg = calloc(1, TEXT_MAX);
    assert_non_null(eg);
    line = malloc(MXG_CONFIG_LINE_MAX + 2);
    assert_non_null(line);
    while (fgets(line, MXG_CONFIG_LINE_MAX + 2, f) != NULL) {
        const char *keep = line;
        if (strncmp(line, "# e.g. ", 7) == 0) {
            assert_true(eglen + strlen(line) < TEXT_MAX);
            strcpy(eg + eglen, line + 7);
            eglen += strlen(line + 7);
        }
        if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && strchr(line, '=') != NULL)
            keep = line + 1;
        assert_true(len + strlen(keep) < TEXT_MAX);
        strcpy(text + len, keep);
        len += strlen(keep);
    }
    assert_int_equal(fclose(f), 0);
    free(line);
    assert_non_null(strstr(text, "\nmax-connections=256\n"));
    if (load(text, &cfg, err, sizeof(err)) != MXG_OK)
        fail_msg("uncommented example: %s", err);
    assert_int_equal(mxg_config_dump(&cfg, &out), MXG_OK);
    assert_string_equal(out, default_dump);
    free(out);
    mxg_config_free(&cfg);
    free(text);

    assert_true(eglen > 0);
    if (load(eg, &cfg, err, sizeof(err)) != MXG_OK)
        fail_msg("example e.g. lines: %s", err);
    assert_string_equal(cfg.backend_socket_group, "pdns");
    mxg_config_free(&cfg);
    free(eg);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),         cmocka_unit_test(test_empty_text_gives_defaults),
        cmocka_unit_test(test_every_key),        cmocka_unit_test(test_every_rule_and_severity),
        cmocka_unit_test(test_enum_words),       cmocka_unit_test(test_syntax_details),
        cmocka_unit_test(test_node_name),        cmocka_unit_test(test_socket_path_limit),
        cmocka_unit_test(test_label_limits),     cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_error_names_line), cmocka_unit_test(test_line_length),
        cmocka_unit_test(test_load_file),        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_cidr_parse),       cmocka_unit_test(test_cidr_contains),
        cmocka_unit_test(test_parse_mode),       cmocka_unit_test(test_dump_defaults),
        cmocka_unit_test(test_dump_full),        cmocka_unit_test(test_dump_refuses_unloadable),
#ifdef MXG_TEST_DATA
        cmocka_unit_test(test_example_file),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
