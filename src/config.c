/* config.c -- the mxguard configuration file: defaults, parsing, validation and dump.
 *
 * Every key lives in one table (keys[] below) that names its type, the field it fills, its
 * accepted words or range and its default text. The defaults are applied by parsing that text
 * with the same code as the file, so a default can never be a value the parser would refuse,
 * and mxg_config_dump() of the defaults reproduces the table.
 *
 * Syntax, as in pdns.conf: "key=value" lines; a '#' that starts the line or follows whitespace
 * begins a comment; whitespace around key and value is trimmed; blank lines are ignored; a
 * later line overrides an earlier one. */
#include "mxg/audit.h"
#include "mxg/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mxg/err.h"
#include "mxg/limits.h"

/* Enum fields are written through int (see set_enum); this holds on every ABI we build for. */
_Static_assert(sizeof(enum mxg_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum mxg_classify) == sizeof(int), "enum size");
_Static_assert(sizeof(enum mxg_implicit_mx) == sizeof(int), "enum size");
_Static_assert(sizeof(enum mxg_override) == sizeof(int), "enum size");
_Static_assert(sizeof(enum mxg_log_target) == sizeof(int), "enum size");
_Static_assert(sizeof(enum mxg_log_level) == sizeof(int), "enum size");

#define SUN_PATH_SIZE sizeof(((struct sockaddr_un *)0)->sun_path)
#define FILE_MODE_MAX 0777u
#define SQLITE_PREFIX "sqlite:"
#define PG_PREFIX "postgresql://"
#define PG_PREFIX_SHORT "postgres://"

/* ---- words ----------------------------------------------------------------------------- */

/* Each list is indexed by the enum value it names and ends with NULL. */
static const char *const mode_words[] = {"off", "warn", "reject", "fix", NULL};
static const char *const classify_words[] = {"strict", "proxy", NULL};
static const char *const implicit_words[] = {"no", "warn", "yes", NULL};
static const char *const override_words[] = {"any", "stricter", "none", NULL};
static const char *const severity_words[] = {"off", "warn", "block", NULL};
static const char *const log_words[] = {"stderr", "syslog", NULL};
static const char *const level_words[] = {"error", "warning", "info", "debug", NULL};
static const char *const bool_words[] = {"no", "yes", NULL};

/* The rule ids of PRODUCT.md §3. */
static const char *const rule_ids[] = {
    "mail-moved",    "implicit-mail-moved", "mx-cname",    "mx-no-address",     "mx-ip-literal",
    "null-mx-mixed", "spf-moved",           "fix-no-host", "mail-host-changed", NULL,
};
_Static_assert(sizeof(rule_ids) / sizeof(rule_ids[0]) == MXG_RULES_N + 1, "MXG_RULES_N");

size_t mxg_rule_index(const char *rule)
{
    for (size_t i = 0; rule && rule_ids[i]; i++)
        if (strcmp(rule_ids[i], rule) == 0)
            return i;
    return MXG_RULES_N;
}

const char *mxg_rule_name(size_t i)
{
    return i < MXG_RULES_N ? rule_ids[i] : "other";
}

/* ASCII-only, locale-independent helpers. */
static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool ascii_caseeq(const char *a, const char *b)
{
    while (*a != '\0' && ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

static bool ascii_caseprefix(const char *s, const char *prefix)
{
    for (; *prefix != '\0'; s++, prefix++) {
        if (ascii_lower((unsigned char)*s) != ascii_lower((unsigned char)*prefix))
            return false;
    }
    return true;
}

/* Index of s in words (case-insensitive), or -1. */
static int word_index(const char *const *words, const char *s)
{
    for (int i = 0; words[i] != NULL; i++) {
        if (ascii_caseeq(words[i], s))
            return i;
    }
    return -1;
}

/* "a|b|c" for error messages. */
static void words_join(const char *const *words, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; words[i] != NULL && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? "|" : "", words[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* Trims whitespace at both ends in place; returns the start. */
static char *trim(char *s)
{
    char *end;

    while (is_space((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && is_space((unsigned char)end[-1]))
        end--;
    *end = '\0';
    return s;
}

/* ---- public parsers -------------------------------------------------------------------- */

int mxg_parse_mode(const char *s, enum mxg_mode *out)
{
    int i;

    if (s == NULL || out == NULL)
        return MXG_EINVAL;
    i = word_index(mode_words, s);
    if (i < 0)
        return MXG_EINVAL;
    *out = (enum mxg_mode)i;
    return MXG_OK;
}

const char *mxg_mode_name(enum mxg_mode m)
{
    if ((unsigned)m < sizeof(mode_words) / sizeof(mode_words[0]) - 1)
        return mode_words[m];
    return "unknown";
}

/* Parses a decimal number no larger than max, without sign or leading zeros. */
static int parse_decimal(const char *s, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;

    if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
        return MXG_EINVAL;
    for (; *s != '\0'; s++) {
        if (!is_digit((unsigned char)*s))
            return MXG_EINVAL;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > max)
            return MXG_EINVAL;
    }
    *out = v;
    return MXG_OK;
}

/* mxg_cidr_parse with a reason for the config file's messages. */
static int cidr_parse(const char *s, struct mxg_cidr *out, const char **why)
{
    char addr[INET6_ADDRSTRLEN];
    const char *slash;
    size_t alen;
    int family, bits, nbytes;
    unsigned long prefix;
    struct mxg_cidr c;

    *why = "not an IPv4 or IPv6 address";
    if (s == NULL)
        return MXG_EINVAL;
    slash = strchr(s, '/');
    alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof(addr))
        return MXG_EINVAL;
    memcpy(addr, s, alen);
    addr[alen] = '\0';

    memset(&c, 0, sizeof(c));
    family = memchr(addr, ':', alen) ? 6 : 4;
    if (inet_pton(family == 6 ? AF_INET6 : AF_INET, addr, c.addr) != 1)
        return MXG_EINVAL;
    bits = family == 6 ? 128 : 32;
    nbytes = bits / 8;

    prefix = (unsigned long)bits;
    if (slash != NULL && parse_decimal(slash + 1, (unsigned long)bits, &prefix) != MXG_OK) {
        *why = family == 6 ? "prefix length must be 0..128" : "prefix length must be 0..32";
        return MXG_EINVAL;
    }

    /* Host bits must be zero: "10.0.0.1/8" is far more likely a typo than an intent. */
    for (int i = 0; i < nbytes; i++) {
        int keep = (int)prefix - i * 8;
        uint8_t mask = (uint8_t)(keep >= 8 ? 0xff : keep <= 0 ? 0 : 0xff << (8 - keep));
        if ((c.addr[i] & (uint8_t)~mask) != 0) {
            *why = "host bits set after the prefix length";
            return MXG_EINVAL;
        }
    }
    c.family = family;
    c.prefix = (int)prefix;
    if (out != NULL)
        *out = c;
    *why = NULL;
    return MXG_OK;
}

int mxg_cidr_parse(const char *s, struct mxg_cidr *out)
{
    const char *why;

    return cidr_parse(s, out, &why);
}

bool mxg_cidr_contains(const struct mxg_cidr *range, int family, const uint8_t *addr)
{
    int full, rest;

    if (range == NULL || addr == NULL || family != range->family)
        return false;
    if (family != 4 && family != 6)
        return false;
    if (range->prefix < 0 || range->prefix > (family == 6 ? 128 : 32))
        return false;
    full = range->prefix / 8;
    rest = range->prefix % 8;
    if (memcmp(range->addr, addr, (size_t)full) != 0)
        return false;
    if (rest != 0) {
        uint8_t mask = (uint8_t)(0xff << (8 - rest));
        if ((range->addr[full] & mask) != (addr[full] & mask))
            return false;
    }
    return true;
}

/* ---- the key table --------------------------------------------------------------------- */

enum key_type {
    K_SOCKET,   /* char *: absolute path that fits sun_path */
    K_FILEMODE, /* mode_t: octal 0..0777 */
    K_OPTSTR,   /* char *: empty means unset (NULL) */
    K_STORE,    /* char *: sqlite:PATH or postgresql://URI */
    K_ENUM,     /* enum: one of words, case-insensitive */
    K_BOOL,     /* bool: yes|no */
    K_UINT,     /* unsigned: decimal min..max */
    K_CIDRS,    /* struct mxg_cidr * + size_t */
    K_LABELS,   /* char ** + size_t */
    K_RULESEV,  /* struct mxg_rule_severity * + size_t */
};

struct key_def {
    const char *name;
    enum key_type type;
    size_t off;               /* the field */
    size_t off_n;             /* the count, for lists */
    const char *const *words; /* K_ENUM */
    unsigned min, max;        /* K_UINT */
    const char *def;          /* default, parsed like a file value */
};

#define F(field) offsetof(struct mxg_config, field)
#define L(field, n) F(field), F(n)

static const struct key_def keys[] = {
    {"backend-socket", K_SOCKET, F(backend_socket), 0, NULL, 0, 0, "/run/mxguard/backend.sock"},
    {"backend-socket-mode", K_FILEMODE, F(backend_socket_mode), 0, NULL, 0, 0, "0660"},
    {"backend-socket-group", K_OPTSTR, F(backend_socket_group), 0, NULL, 0, 0, ""},
    {"control-socket", K_SOCKET, F(control_socket), 0, NULL, 0, 0, "/run/mxguard/control.sock"},
    {"control-socket-mode", K_FILEMODE, F(control_socket_mode), 0, NULL, 0, 0, "0660"},
    {"control-socket-group", K_OPTSTR, F(control_socket_group), 0, NULL, 0, 0, ""},
    {"store", K_STORE, F(store), 0, NULL, 0, 0, "sqlite:/var/lib/mxguard/mxguard.sqlite3"},
    {"node-name", K_OPTSTR, F(node_name), 0, NULL, 0, 0, ""},
    {"mode", K_ENUM, F(mode), 0, mode_words, 0, 0, "reject"},
    {"classify", K_ENUM, F(classify), 0, classify_words, 0, 0, "strict"},
    {"implicit-mx", K_ENUM, F(implicit_mx), 0, implicit_words, 0, 0, "warn"},
    {"mail-ranges", K_CIDRS, L(mail_ranges, n_mail_ranges), NULL, 0, 0, ""},
    {"proxy-ranges", K_CIDRS, L(proxy_ranges, n_proxy_ranges), NULL, 0, 0, ""},
    {"mail-host-labels", K_LABELS, L(mail_host_labels, n_mail_host_labels), NULL, 0, 0,
     "mail,mx,smtp,mail1"},
    {"rule-severity", K_RULESEV, L(rule_severity, n_rule_severity), NULL, 0, 0, ""},
    {"dname-processing", K_BOOL, F(dname_processing), 0, NULL, 0, 0, "no"},
    {"expand-alias", K_BOOL, F(expand_alias), 0, NULL, 0, 0, "no"},
    {"zone-mode-override", K_ENUM, F(zone_mode_override), 0, override_words, 0, 0, "any"},
    {"pdns-control", K_OPTSTR, F(pdns_control), 0, NULL, 0, 0, ""},
    {"log", K_ENUM, F(log), 0, log_words, 0, 0, "stderr"},
    {"log-level", K_ENUM, F(log_level), 0, level_words, 0, 0, "info"},
    {"audit-syslog", K_BOOL, F(audit_syslog), 0, NULL, 0, 0, "no"},
    {"setuid", K_OPTSTR, F(setuid_user), 0, NULL, 0, 0, ""},
    {"setgid", K_OPTSTR, F(setgid_group), 0, NULL, 0, 0, ""},
    {"max-connections", K_UINT, F(max_connections), 0, NULL, 1, 65535, "256"},
    {"api-listen", K_OPTSTR, F(api_listen), 0, NULL, 0, 0, ""},
    {"api-key", K_OPTSTR, F(api_key), 0, NULL, 0, 0, ""},
    {"operator-key", K_OPTSTR, F(operator_key), 0, NULL, 0, 0, ""},
    {"pdns-api-url", K_OPTSTR, F(pdns_api_url), 0, NULL, 0, 0, "http://127.0.0.1:8081"},
    {"pdns-api-key", K_OPTSTR, F(pdns_api_key), 0, NULL, 0, 0, ""},
    {"api-timeout", K_UINT, F(api_timeout), 0, NULL, 1, 3600, "30"},
    {"api-max-connections", K_UINT, F(api_max_connections), 0, NULL, 1, 10000, "1024"},
};

#undef F
#undef L

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void *field(struct mxg_config *cfg, size_t off)
{
    return (char *)cfg + off;
}

static const void *cfield(const struct mxg_config *cfg, size_t off)
{
    return (const char *)cfg + off;
}

static const struct key_def *key_find(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    }
    return NULL;
}

/* ---- freeing --------------------------------------------------------------------------- */

static void free_labels(char **labels, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(labels[i]);
    free(labels);
}

static void free_rulesev(struct mxg_rule_severity *rs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rs[i].rule);
    free(rs);
}

/* Frees what the key's field owns and resets it to empty. */
static void key_clear(struct mxg_config *cfg, const struct key_def *k)
{
    switch (k->type) {
    case K_SOCKET:
    case K_OPTSTR:
    case K_STORE: {
        char **p = field(cfg, k->off);
        free(*p);
        *p = NULL;
        break;
    }
    case K_CIDRS: {
        struct mxg_cidr **p = field(cfg, k->off);
        free(*p);
        *p = NULL;
        *(size_t *)field(cfg, k->off_n) = 0;
        break;
    }
    case K_LABELS: {
        char ***p = field(cfg, k->off);
        size_t *n = field(cfg, k->off_n);
        free_labels(*p, *n);
        *p = NULL;
        *n = 0;
        break;
    }
    case K_RULESEV: {
        struct mxg_rule_severity **p = field(cfg, k->off);
        size_t *n = field(cfg, k->off_n);
        free_rulesev(*p, *n);
        *p = NULL;
        *n = 0;
        break;
    }
    case K_FILEMODE:
    case K_ENUM:
    case K_BOOL:
    case K_UINT:
        break;
    }
}

void mxg_config_free(struct mxg_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < NKEYS; i++)
        key_clear(cfg, &keys[i]);
    free(cfg->path);
    memset(cfg, 0, sizeof(*cfg));
}

/* ---- value parsers --------------------------------------------------------------------- */

/* Where a parse failure is reported: "NAME:LINE: reason" into err, or nowhere. */
struct parser {
    const char *name;
    unsigned long line;
    char *err;
    size_t errlen;
};

/* Writes "NAME:LINE: " and the message to p->err; returns MXG_EINVAL. */
#if defined(__GNUC__)
static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif

static int fail(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (p->err == NULL || p->errlen == 0)
        return MXG_EINVAL;
    if (p->line > 0)
        n = snprintf(p->err, p->errlen, "%s:%lu: ", p->name, p->line);
    else
        n = snprintf(p->err, p->errlen, "%s: ", p->name);
    if (n < 0 || (size_t)n >= p->errlen)
        return MXG_EINVAL;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return MXG_EINVAL;
}

/* Calls fn on each comma-separated item of value (trimmed); an empty value has no items. */
typedef int (*item_fn)(struct parser *p, const struct key_def *k, char *item, void *ctx);

static int each_item(struct parser *p, const struct key_def *k, char *value, item_fn fn, void *ctx)
{
    char *s = value;

    if (*s == '\0')
        return MXG_OK;
    for (;;) {
        char *comma = strchr(s, ',');
        char *item;
        int rc;

        if (comma != NULL)
            *comma = '\0';
        item = trim(s);
        if (*item == '\0')
            return fail(p, "%s: empty item in list", k->name);
        rc = fn(p, k, item, ctx);
        if (rc != MXG_OK)
            return rc;
        if (comma == NULL)
            return MXG_OK;
        s = comma + 1;
    }
}

/* A growable array for list values. */
struct vec {
    void *items;
    size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        void *items = realloc(v->items, cap * v->size);
        if (items == NULL)
            return NULL;
        v->items = items;
        v->cap = cap;
    }
    return (char *)v->items + v->n++ * v->size;
}

static int cidr_item(struct parser *p, const struct key_def *k, char *item, void *ctx)
{
    struct mxg_cidr c, *slot;
    const char *why;

    if (cidr_parse(item, &c, &why) != MXG_OK)
        return fail(p, "%s: '%s': %s", k->name, item, why);
    slot = vec_push(ctx);
    if (slot == NULL)
        return MXG_ENOMEM;
    *slot = c;
    return MXG_OK;
}

static int label_item(struct parser *p, const struct key_def *k, char *item, void *ctx)
{
    size_t len = strlen(item);
    char **slot;

    if (len > MXG_LABEL_MAX)
        return fail(p, "%s: '%s': a label has at most %d characters", k->name, item, MXG_LABEL_MAX);
    for (size_t i = 0; i < len; i++) {
        if (!is_alnum((unsigned char)item[i]) && item[i] != '-')
            return fail(p, "%s: '%s': a label has only letters, digits and '-'", k->name, item);
        item[i] = (char)ascii_lower((unsigned char)item[i]);
    }
    if (item[0] == '-' || item[len - 1] == '-')
        return fail(p, "%s: '%s': a label neither starts nor ends with '-'", k->name, item);
    slot = vec_push(ctx);
    if (slot == NULL)
        return MXG_ENOMEM;
    *slot = strdup(item);
    if (*slot == NULL) {
        ((struct vec *)ctx)->n--;
        return MXG_ENOMEM;
    }
    return MXG_OK;
}

static int rulesev_item(struct parser *p, const struct key_def *k, char *item, void *ctx)
{
    struct vec *v = ctx;
    struct mxg_rule_severity *rs = v->items, *slot;
    char *colon = strchr(item, ':');
    char *rule, *sev;
    int r, s;

    if (colon == NULL)
        return fail(p, "%s: '%s': expected RULE:SEVERITY", k->name, item);
    *colon = '\0';
    rule = trim(item);
    sev = trim(colon + 1);
    r = word_index(rule_ids, rule);
    if (r < 0)
        return fail(p, "%s: unknown rule '%s'", k->name, rule);
    s = word_index(severity_words, sev);
    if (s < 0) {
        char buf[64];
        words_join(severity_words, buf, sizeof(buf));
        return fail(p, "%s: rule %s: invalid severity '%s' (expected %s)", k->name, rule_ids[r],
                    sev, buf);
    }
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(rs[i].rule, rule_ids[r]) == 0)
            return fail(p, "%s: rule %s given twice", k->name, rule_ids[r]);
    }
    slot = vec_push(v);
    if (slot == NULL)
        return MXG_ENOMEM;
    slot->rule = strdup(rule_ids[r]);
    if (slot->rule == NULL) {
        v->n--;
        return MXG_ENOMEM;
    }
    slot->severity = (enum mxg_severity)s;
    return MXG_OK;
}

static int set_list(struct parser *p, struct mxg_config *cfg, const struct key_def *k, char *value)
{
    struct vec v = {NULL, 0, 0, 0};
    item_fn fn;
    int rc;

    switch (k->type) {
    case K_CIDRS:
        v.size = sizeof(struct mxg_cidr);
        fn = cidr_item;
        break;
    case K_LABELS:
        v.size = sizeof(char *);
        fn = label_item;
        break;
    default:
        v.size = sizeof(struct mxg_rule_severity);
        fn = rulesev_item;
        break;
    }
    rc = each_item(p, k, value, fn, &v);
    if (rc != MXG_OK) {
        if (k->type == K_LABELS)
            free_labels(v.items, v.n);
        else if (k->type == K_RULESEV)
            free_rulesev(v.items, v.n);
        else
            free(v.items);
        return rc;
    }
    key_clear(cfg, k);
    *(void **)field(cfg, k->off) = v.items;
    *(size_t *)field(cfg, k->off_n) = v.n;
    return MXG_OK;
}

static int set_string(struct mxg_config *cfg, const struct key_def *k, const char *prefix,
                      const char *value)
{
    char **p = field(cfg, k->off);
    size_t plen = strlen(prefix), vlen = strlen(value);
    char *s = malloc(plen + vlen + 1);

    if (s == NULL)
        return MXG_ENOMEM;
    snprintf(s, plen + vlen + 1, "%s%s", prefix, value);
    free(*p);
    *p = s;
    return MXG_OK;
}

/* Applies one value (trimmed, NUL-terminated, writable) to its key. */
/* A node name goes into every audit record: short, and nothing that needs quoting in logs. */
static bool node_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MXG_NODE_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '-' || *s == '_'))
            return false;
    return true;
}

static int set_value(struct parser *p, struct mxg_config *cfg, const struct key_def *k, char *value)
{
    for (const char *c = value; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return fail(p, "%s: control character in value", k->name);
    }

    switch (k->type) {
    case K_SOCKET:
        if (value[0] != '/')
            return fail(p, "%s: '%s': must be an absolute path", k->name, value);
        if (strlen(value) >= SUN_PATH_SIZE)
            return fail(p, "%s: path longer than %zu characters", k->name, SUN_PATH_SIZE - 1);
        return set_string(cfg, k, "", value);

    case K_FILEMODE: {
        unsigned long m = 0;
        const char *c = value;

        if (*c == '\0')
            return fail(p, "%s: missing value (expected an octal mode such as 0660)", k->name);
        for (; *c != '\0'; c++) {
            if (*c < '0' || *c > '7' || m > FILE_MODE_MAX)
                break;
            m = m * 8 + (unsigned long)(*c - '0');
        }
        if (*c != '\0' || m > FILE_MODE_MAX)
            return fail(p, "%s: '%s': expected an octal mode 0..0777", k->name, value);
        *(mode_t *)field(cfg, k->off) = (mode_t)m;
        return MXG_OK;
    }

    case K_OPTSTR: {
        char **s = field(cfg, k->off);
        if (*value == '\0') {
            free(*s);
            *s = NULL;
            return MXG_OK;
        }
        if (k->off == offsetof(struct mxg_config, node_name) && !node_name_ok(value))
            return fail(p, "%s: '%s': expected 1..%d letters, digits, '.', '-' or '_'", k->name,
                        value, MXG_NODE_NAME_MAX);
        return set_string(cfg, k, "", value);
    }

    case K_STORE:
        if (ascii_caseprefix(value, PG_PREFIX) || ascii_caseprefix(value, PG_PREFIX_SHORT)) {
            /* libpq reads the rest (a connection URI); the scheme is stored in lower case. */
            size_t skip =
                ascii_caseprefix(value, PG_PREFIX) ? strlen(PG_PREFIX) : strlen(PG_PREFIX_SHORT);
            return set_string(cfg, k, PG_PREFIX, value + skip);
        }
        if (!ascii_caseprefix(value, SQLITE_PREFIX) || value[strlen(SQLITE_PREFIX)] == '\0')
            return fail(p, "%s: '%s': expected sqlite:PATH or postgresql://...", k->name, value);
        /* The scheme is stored in lower case, so other modules compare it exactly. */
        return set_string(cfg, k, SQLITE_PREFIX, value + strlen(SQLITE_PREFIX));

    case K_ENUM:
    case K_BOOL: {
        const char *const *words = k->type == K_BOOL ? bool_words : k->words;
        int i = word_index(words, value);
        if (i < 0) {
            char buf[64];
            words_join(words, buf, sizeof(buf));
            return fail(p, "%s: invalid value '%s' (expected %s)", k->name, value, buf);
        }
        if (k->type == K_BOOL)
            *(bool *)field(cfg, k->off) = i == 1;
        else
            memcpy(field(cfg, k->off), &i, sizeof(i));
        return MXG_OK;
    }

    case K_UINT: {
        unsigned long n;
        if (parse_decimal(value, k->max, &n) != MXG_OK || n < k->min)
            return fail(p, "%s: invalid value '%s' (expected a number %u..%u)", k->name, value,
                        k->min, k->max);
        *(unsigned *)field(cfg, k->off) = (unsigned)n;
        return MXG_OK;
    }

    case K_CIDRS:
    case K_LABELS:
    case K_RULESEV:
        return set_list(p, cfg, k, value);
    }
    return MXG_EINVAL;
}

/* ---- defaults and loading -------------------------------------------------------------- */

const char *mxg_config_node(const struct mxg_config *cfg, char *buf, size_t buflen)
{
    if (cfg->node_name)
        return cfg->node_name;
    if (!cfg->store || strncmp(cfg->store, PG_PREFIX, strlen(PG_PREFIX)) != 0)
        return NULL;
    if (buflen == 0 || gethostname(buf, buflen) != 0)
        return NULL;
    buf[buflen - 1] = '\0';
    return node_name_ok(buf) ? buf : NULL;
}

int mxg_config_defaults(struct mxg_config *cfg)
{
    struct parser p = {"defaults", 0, NULL, 0};

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NKEYS; i++) {
        char buf[128];
        int rc;

        snprintf(buf, sizeof(buf), "%s", keys[i].def);
        rc = set_value(&p, cfg, &keys[i], buf);
        if (rc != MXG_OK) {
            mxg_config_free(cfg);
            return MXG_ENOMEM; /* the defaults are valid (tested), so only memory can fail */
        }
    }
    return MXG_OK;
}

/* Handles one line (NUL-terminated, no newline, writable). */
static int parse_line(struct parser *p, struct mxg_config *cfg, char *line)
{
    const struct key_def *k;
    char *eq, *key, *value;

    /* A '#' at the start of the line or after whitespace begins a comment (as in pdns). */
    for (char *c = line; *c != '\0'; c++) {
        if (*c == '#' && (c == line || is_space((unsigned char)c[-1]))) {
            *c = '\0';
            break;
        }
    }
    key = trim(line);
    if (*key == '\0')
        return MXG_OK;
    eq = strchr(key, '=');
    if (eq == NULL)
        return fail(p, "expected key=value, found no '='");
    *eq = '\0';
    key = trim(key);
    value = trim(eq + 1);
    if (*key == '\0')
        return fail(p, "missing key before '='");
    k = key_find(key);
    if (k == NULL)
        return fail(p, "unknown key '%s'", key);
    return set_value(p, cfg, k, value);
}

static int line_too_long(struct parser *p)
{
    return fail(p, "line longer than %d characters", MXG_CONFIG_LINE_MAX);
}

/* Sets cfg->path to name; ENOMEM on failure. */
static int set_path(struct mxg_config *cfg, const char *name)
{
    if (name == NULL)
        return MXG_OK;
    cfg->path = strdup(name);
    return cfg->path ? MXG_OK : MXG_ENOMEM;
}

int mxg_config_load_string(const char *text, const char *name, struct mxg_config *cfg, char *err,
                           size_t errlen)
{
    struct parser p = {name ? name : "<string>", 0, err, errlen};
    char line[MXG_CONFIG_LINE_MAX + 1];
    int rc;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    rc = mxg_config_defaults(cfg);
    if (rc == MXG_OK)
        rc = set_path(cfg, name);
    while (rc == MXG_OK && text != NULL && *text != '\0') {
        const char *nl = strchr(text, '\n');
        size_t len = nl ? (size_t)(nl - text) : strlen(text);

        p.line++;
        if (len > MXG_CONFIG_LINE_MAX) {
            rc = line_too_long(&p);
            break;
        }
        memcpy(line, text, len);
        line[len] = '\0';
        rc = parse_line(&p, cfg, line);
        text = nl ? nl + 1 : text + len;
    }
    if (rc == MXG_ENOMEM)
        fail(&p, "out of memory");
    if (rc != MXG_OK)
        mxg_config_free(cfg);
    return rc;
}

int mxg_config_load(const char *path, struct mxg_config *cfg, char *err, size_t errlen)
{
    struct parser p = {path ? path : "<null>", 0, err, errlen};
    char line[MXG_CONFIG_LINE_MAX + 1];
    size_t len = 0;
    bool overlong = false, nul = false;
    FILE *fp;
    int rc;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    memset(cfg, 0, sizeof(*cfg));
    if (path == NULL)
        return fail(&p, "no configuration file given");
    fp = fopen(path, "re");
    if (fp == NULL) {
        fail(&p, "cannot open: %s", strerror(errno));
        return MXG_EIO;
    }
    rc = mxg_config_defaults(cfg);
    if (rc == MXG_OK)
        rc = set_path(cfg, path);
    while (rc == MXG_OK) {
        int c = getc(fp);

        if (c != EOF && c != '\n') {
            if (len < MXG_CONFIG_LINE_MAX)
                line[len++] = (char)c;
            else
                overlong = true;
            nul |= c == '\0';
            continue;
        }
        if (c == EOF && ferror(fp)) {
            p.line = 0;
            fail(&p, "read error: %s", strerror(errno));
            rc = MXG_EIO;
            break;
        }
        if (c == EOF && len == 0 && !overlong)
            break;
        p.line++;
        line[len] = '\0';
        if (overlong)
            rc = line_too_long(&p);
        else if (nul)
            rc = fail(&p, "NUL byte in line");
        else
            rc = parse_line(&p, cfg, line);
        len = 0;
        overlong = nul = false;
        if (c == EOF)
            break;
    }
    (void)fclose(fp); /* read-only: nothing to lose */
    if (rc == MXG_ENOMEM)
        fail(&p, "out of memory");
    if (rc != MXG_OK)
        mxg_config_free(cfg);
    return rc;
}

/* ---- dump ------------------------------------------------------------------------------ */

/* True when s, written after "key=", loads back as s: no control characters, no whitespace
 * at either end, no '#' after whitespace (a comment) and, for a list item, no ','. */
static bool dumpable(const char *s, bool list_item)
{
    size_t len = strlen(s);

    if (len > 0 && (is_space((unsigned char)s[0]) || is_space((unsigned char)s[len - 1])))
        return false;
    for (const char *c = s; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f || (list_item && *c == ','))
            return false;
        if (*c == '#' && c > s && is_space((unsigned char)c[-1]))
            return false;
    }
    return true;
}

static int dump_key(FILE *f, const struct mxg_config *cfg, const struct key_def *k)
{
    fprintf(f, "%s=", k->name);
    switch (k->type) {
    case K_SOCKET:
    case K_OPTSTR:
    case K_STORE: {
        const char *s = *(char *const *)cfield(cfg, k->off);
        if (s == NULL)
            break;
        if (!dumpable(s, false))
            return MXG_EINVAL;
        fputs(s, f);
        break;
    }
    case K_FILEMODE:
        fprintf(f, "%04o", (unsigned)*(const mode_t *)cfield(cfg, k->off));
        break;
    case K_ENUM: {
        int i;
        size_t n = 0;
        memcpy(&i, cfield(cfg, k->off), sizeof(i));
        while (k->words[n] != NULL)
            n++;
        if (i < 0 || (size_t)i >= n)
            return MXG_EINVAL;
        fputs(k->words[i], f);
        break;
    }
    case K_BOOL:
        fputs(*(const bool *)cfield(cfg, k->off) ? "yes" : "no", f);
        break;
    case K_UINT:
        fprintf(f, "%u", *(const unsigned *)cfield(cfg, k->off));
        break;
    case K_CIDRS: {
        const struct mxg_cidr *c = *(struct mxg_cidr *const *)cfield(cfg, k->off);
        size_t n = *(const size_t *)cfield(cfg, k->off_n);
        for (size_t i = 0; i < n; i++) {
            char a[INET6_ADDRSTRLEN];
            if (inet_ntop(c[i].family == 6 ? AF_INET6 : AF_INET, c[i].addr, a, sizeof(a)) == NULL)
                return MXG_EINVAL;
            fprintf(f, "%s%s/%d", i ? "," : "", a, c[i].prefix);
        }
        break;
    }
    case K_LABELS: {
        char *const *l = *(char **const *)cfield(cfg, k->off);
        size_t n = *(const size_t *)cfield(cfg, k->off_n);
        for (size_t i = 0; i < n; i++) {
            if (!dumpable(l[i], true))
                return MXG_EINVAL;
            fprintf(f, "%s%s", i ? "," : "", l[i]);
        }
        break;
    }
    case K_RULESEV: {
        const struct mxg_rule_severity *rs =
            *(struct mxg_rule_severity *const *)cfield(cfg, k->off);
        size_t n = *(const size_t *)cfield(cfg, k->off_n);
        for (size_t i = 0; i < n; i++) {
            if ((unsigned)rs[i].severity > MXG_SEV_BLOCK || !dumpable(rs[i].rule, true))
                return MXG_EINVAL;
            fprintf(f, "%s%s:%s", i ? "," : "", rs[i].rule, severity_words[rs[i].severity]);
        }
        break;
    }
    }
    fputc('\n', f);
    return MXG_OK;
}

int mxg_config_dump(const struct mxg_config *cfg, char **out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f;
    int rc = MXG_OK;

    *out = NULL;
    f = open_memstream(&buf, &len);
    if (f == NULL)
        return MXG_ENOMEM;
    for (size_t i = 0; i < NKEYS && rc == MXG_OK; i++)
        rc = dump_key(f, cfg, &keys[i]);
    if (ferror(f) && rc == MXG_OK)
        rc = MXG_ENOMEM;
    if (fclose(f) != 0 && rc == MXG_OK)
        rc = MXG_ENOMEM;
    if (rc != MXG_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    return MXG_OK;
}
