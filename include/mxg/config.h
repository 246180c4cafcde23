/* config.h -- the mxguard configuration file (PRODUCT.md §7).
 *
 * pdns-style "key=value" lines, '#' comments, blank lines ignored, whitespace around key and
 * value trimmed. Unknown keys and bad values are errors naming file and line. Later lines
 * override earlier ones. The daemon and every CLI subcommand share this module. */
#ifndef MXG_CONFIG_H
#define MXG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mxg/err.h"

#define MXG_CONFIG_DEFAULT_PATH "/etc/mxguard/mxguard.conf"

enum mxg_mode { MXG_MODE_OFF, MXG_MODE_WARN, MXG_MODE_REJECT, MXG_MODE_FIX };
enum mxg_classify { MXG_CLASSIFY_STRICT, MXG_CLASSIFY_PROXY };
enum mxg_implicit_mx { MXG_IMPLICIT_NO, MXG_IMPLICIT_WARN, MXG_IMPLICIT_YES };
enum mxg_override { MXG_OVERRIDE_ANY, MXG_OVERRIDE_STRICTER, MXG_OVERRIDE_NONE };
enum mxg_severity { MXG_SEV_OFF, MXG_SEV_WARN, MXG_SEV_BLOCK };
enum mxg_log_target { MXG_LOG_STDERR, MXG_LOG_SYSLOG };
enum mxg_log_level { MXG_LOG_ERROR, MXG_LOG_WARNING, MXG_LOG_INFO, MXG_LOG_DEBUG };

/* One CIDR range; family is 4 or 6, addr holds 4 or 16 bytes in network order. */
struct mxg_cidr {
    int family;
    uint8_t addr[16];
    int prefix;
};

struct mxg_rule_severity {
    char *rule; /* a rule id of PRODUCT.md §3 */
    enum mxg_severity severity;
};

struct mxg_config {
    char *path; /* the file this came from, or NULL for defaults only */

    char *backend_socket;
    mode_t backend_socket_mode;
    char *backend_socket_group; /* NULL: unset */
    char *control_socket;
    mode_t control_socket_mode;
    char *control_socket_group;

    char *store; /* "sqlite:/path" */

    enum mxg_mode mode;
    enum mxg_classify classify;
    enum mxg_implicit_mx implicit_mx;
    struct mxg_cidr *mail_ranges;
    size_t n_mail_ranges;
    struct mxg_cidr *proxy_ranges;
    size_t n_proxy_ranges;
    char **mail_host_labels; /* each a single valid DNS label, lowercase */
    size_t n_mail_host_labels;
    struct mxg_rule_severity *rule_severity;
    size_t n_rule_severity;
    enum mxg_override zone_mode_override;
    bool dname_processing; /* follow DNAMEs as pdns does with dname-processing=yes */
    bool expand_alias;     /* ALIAS gives its target's addresses (pdns's expand-alias=yes) */

    char *pdns_control; /* NULL: unset */
    enum mxg_log_target log;
    enum mxg_log_level log_level;
    bool audit_syslog;
    char *setuid_user; /* NULL: unset */
    char *setgid_group;
    unsigned max_connections;

    /* The HTTP API front (PRODUCT.md §6): off while api_listen is NULL. */
    char *api_listen;             /* "IP:PORT" or "[IPv6]:PORT" */
    char *api_key;                /* panels' X-API-Key (NULL: unset) */
    char *operator_key;           /* the operator's X-API-Key (NULL: unset) */
    char *node_name;              /* the audit records' "node" (NULL: see mxg_config_node) */
    char *pdns_api_url;           /* where the front forwards to */
    char *pdns_api_key;           /* X-API-Key sent to pdns (NULL: unset) */
    unsigned api_timeout;         /* seconds: idle connections, and reading one request */
    unsigned api_max_connections; /* the front's connection cap */
};

/* Fills cfg with the documented defaults (allocates the default strings).
 * Returns 0 or MXG_ENOMEM. */
MXG_MUST_CHECK int mxg_config_defaults(struct mxg_config *cfg);

/* Loads path over the defaults. On error returns MXG_EIO (file unreadable) or MXG_EINVAL
 * with "FILE:LINE: reason" in err, and leaves cfg freed (safe to mxg_config_free again). */
MXG_MUST_CHECK int mxg_config_load(const char *path, struct mxg_config *cfg, char *err,
                                   size_t errlen);

/* Same, from a string (for tests and fuzzing); name is used in messages. */
MXG_MUST_CHECK int mxg_config_load_string(const char *text, const char *name,
                                          struct mxg_config *cfg, char *err, size_t errlen);

/* Frees everything cfg owns and zeroes it. */
void mxg_config_free(struct mxg_config *cfg);

/* Parsers shared with the rest of mxguard. Each returns 0 or MXG_EINVAL. */
MXG_MUST_CHECK int mxg_parse_mode(const char *s, enum mxg_mode *out); /* case-insensitive */
const char *mxg_mode_name(enum mxg_mode m);

/* The rule ids of PRODUCT.md §3, numbered 0..MXG_RULES_N-1; MXG_RULES_N for any other id
 * ("other", e.g. invalid-record). */
#define MXG_RULES_N 9
size_t mxg_rule_index(const char *rule);
const char *mxg_rule_name(size_t i);
MXG_MUST_CHECK int mxg_cidr_parse(const char *s, struct mxg_cidr *out);
/* True when the address (family 4/6, 4 or 16 bytes) lies inside the range. */
bool mxg_cidr_contains(const struct mxg_cidr *range, int family, const uint8_t *addr);

/* Writes the effective configuration as key=value lines (for `mxguard config check --show`). */
MXG_MUST_CHECK int mxg_config_dump(const struct mxg_config *cfg, char **out);

/* The node name audit records carry: node-name, else for a PostgreSQL store (a fleet) the host
 * name (written into buf), else NULL (one node: records name none). */
const char *mxg_config_node(const struct mxg_config *cfg, char *buf, size_t buflen);

#endif
