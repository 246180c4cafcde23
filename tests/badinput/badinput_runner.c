/* badinput_runner.c -- replays the bad-input corpus: messages that pdns, a panel or an attacker
 * could send on the remote-backend or the control socket, each with the reply it must get.
 *
 * Usage: badinput_runner DIR [FILTER]. DIR holds backend/ and control/, each with *.case files
 * (one file per category); FILTER, when given, runs only the cases whose "file:case" name
 * contains it. Every case runs against a store of its own (in memory, seeded below) through
 * mxg_backend_handle() or mxg_control_handle(), with no socket in between.
 *
 * Case file syntax (one directive per line; blank lines and lines starting with '#' are
 * ignored; trailing blanks are dropped):
 *
 *   case NAME           starts a case
 *   noinit              (backend) do not send initialize first
 *   store changed       the case may change the store (by default it must not: see below)
 *   pre LINE            a setup message; its reply must succeed (backend: a result other than
 *                       false; control: "ok": true)
 *   send LINE           a message under test; the expectations that follow apply to its reply
 *   result JSON         (backend) the reply's "result" equals JSON exactly (json_equal)
 *   result absent       (backend) the reply has no "result" (a refused commit)
 *   log TEXT            (backend) the log lines, joined by newlines, contain TEXT
 *   log~ ERE            (backend) ... match the POSIX extended regular expression ERE
 *   nolog               (backend) the reply has no "log"
 *   code CODE           (control) "ok" is false and error.code is CODE
 *   message TEXT        (control) error.message contains TEXT
 *   message~ ERE        (control) error.message matches ERE
 *   key MEMBER JSON     the reply's top-level MEMBER equals JSON exactly
 *
 * Every backend send states its result, and every false or absent result states its log (or
 * nolog); every control send states a code or a key, and every code states its message.
 *
 * LINE escapes: %xHH is the octet 0xHH (NUL, invalid UTF-8, control characters, blanks at the
 * ends); %{N*TEXT}% is TEXT repeated N times and %{N,TEXT}% is TEXT repeated N times separated
 * by commas (repeats nest), so that megabyte messages and deep nesting are generated here instead
 * of stored. Any other '%' is itself.
 *
 * Checked for every reply, beside the expectations: exactly one line ending in "\n", a JSON
 * object; backend: members only "result" and "log", "log" an array of printable-ASCII strings
 * starting with "mxguard: ", no "result" only with a "log"; control: "ok" a boolean, a failure
 * exactly {"ok": false, "error": {"code", "message"}} with a printable-ASCII message.
 * Unless the case says "store changed", a full dump of the store (zones, records, metadata,
 * DNSSEC and TSIG keys, audit log, autoprimaries) taken before the first send equals the one
 * after the last send and the one after the session is closed (which rolls back an open
 * transaction) -- but for the audit records of poisoned commits: each commit answered "a write
 * of this transaction was refused" adds exactly one, with verdict reject and the finding
 * invalid-record (PRODUCT.md §5). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mxg/audit.h"
#include "mxg/backend.h"
#include "mxg/config.h"
#include "mxg/control.h"
#include "mxg/err.h"
#include "mxg/log.h"
#include "mxg/store.h"
#include "mxg/zoneops.h"

/* ---- growable buffer -------------------------------------------------------------------- */

struct buf {
    char *p;
    size_t n, cap;
};

static void die(const char *what)
{
    fprintf(stderr, "badinput_runner: %s\n", what);
    exit(2);
}

static void buf_add(struct buf *b, const void *data, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            die("out of memory");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        die("vsnprintf");
    if ((size_t)n >= sizeof(tmp)) {
        char *big = malloc((size_t)n + 1);
        if (!big)
            die("out of memory");
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        buf_add(b, big, (size_t)n);
        free(big);
        return;
    }
    buf_add(b, tmp, (size_t)n);
}

/* ---- corpus ----------------------------------------------------------------------------- */

enum expect_kind {
    E_RESULT,
    E_RESULT_ABSENT,
    E_LOG,
    E_LOG_RE,
    E_NOLOG,
    E_CODE,
    E_MSG,
    E_MSG_RE,
    E_KEY
};

struct expect {
    enum expect_kind kind;
    char *arg;    /* text, regex, code or member name */
    json_t *json; /* E_RESULT, E_KEY */
    int line;
};

struct step {
    bool pre;
    char *msg;
    size_t len;
    int line;
    struct expect *ex;
    size_t n_ex;
};

struct tcase {
    char *name;
    int line;
    bool noinit;
    bool store_changed;
    struct step *steps;
    size_t n_steps;
};

static int parse_errors;

static void corpus_error(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void corpus_error(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    parse_errors++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Expands the %x and %{...}% escapes of s[0..n) into out. Returns 0, or -1 on bad syntax. */
static int expand(const char *s, size_t n, struct buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 3 < n && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 &&
            hexval(s[i + 3]) >= 0) {
            char c = (char)(hexval(s[i + 2]) * 16 + hexval(s[i + 3]));
            buf_add(out, &c, 1);
            i += 3;
            continue;
        }
        if (s[i] == '%' && i + 1 < n && s[i + 1] == '{') {
            size_t j = i + 2;
            unsigned long count = 0;
            if (j >= n || !isdigit((unsigned char)s[j]))
                return -1;
            while (j < n && isdigit((unsigned char)s[j]))
                count = count * 10 + (unsigned long)(s[j++] - '0');
            if (j >= n || (s[j] != '*' && s[j] != ',') || count > 100000000UL)
                return -1;
            bool comma = s[j] == ',';
            size_t start = ++j, end = start;
            int depth = 1; /* repeats nest */
            for (; end + 1 < n; end++) {
                if (s[end] == '%' && s[end + 1] == '{')
                    depth++;
                else if (s[end] == '}' && s[end + 1] == '%' && --depth == 0)
                    break;
            }
            if (end + 1 >= n)
                return -1;
            struct buf unit = {0};
            if (expand(s + start, end - start, &unit) != 0) {
                free(unit.p);
                return -1;
            }
            for (unsigned long k = 0; k < count; k++) {
                if (comma && k > 0)
                    buf_add(out, ",", 1);
                buf_add(out, unit.p ? unit.p : "", unit.n);
            }
            free(unit.p);
            i = end + 1;
            continue;
        }
        buf_add(out, &s[i], 1);
    }
    if (!out->p)
        buf_add(out, "", 0);
    return 0;
}

static bool is_control_file;

static struct tcase *parse_file(const char *path, size_t *n_cases)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        parse_errors++;
        *n_cases = 0;
        return NULL;
    }
    struct tcase *cases = NULL;
    size_t n = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int lineno = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                           line[len - 1] == '\t'))
            len--;
        line[len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        char *arg = strchr(line, ' ');
        size_t kwlen = arg ? (size_t)(arg - line) : len;
        if (arg)
            arg++;
        else
            arg = line + len;
#define KW(s) (kwlen == strlen(s) && strncmp(line, s, kwlen) == 0)
        if (KW("case")) {
            if (!*arg) {
                corpus_error(path, lineno, "case without a name");
                continue;
            }
            for (size_t i = 0; i < n; i++)
                if (strcmp(cases[i].name, arg) == 0)
                    corpus_error(path, lineno, "duplicate case name '%s'", arg);
            struct tcase *nc = realloc(cases, (n + 1) * sizeof(*cases));
            if (!nc)
                die("out of memory");
            cases = nc;
            cases[n] = (struct tcase){.name = strdup(arg), .line = lineno};
            n++;
            continue;
        }
        if (n == 0) {
            corpus_error(path, lineno, "directive before the first case");
            continue;
        }
        struct tcase *c = &cases[n - 1];
        struct step *last = c->n_steps ? &c->steps[c->n_steps - 1] : NULL;
        if (KW("noinit")) {
            if (is_control_file)
                corpus_error(path, lineno, "noinit is for backend cases");
            c->noinit = true;
        } else if (KW("store") && strcmp(arg, "changed") == 0) {
            c->store_changed = true;
        } else if (KW("pre") || KW("send")) {
            struct buf msg = {0};
            if (expand(arg, strlen(arg), &msg) != 0) {
                corpus_error(path, lineno, "bad %%{N*TEXT}%% escape");
                free(msg.p);
                continue;
            }
            struct step *ns = realloc(c->steps, (c->n_steps + 1) * sizeof(*ns));
            if (!ns)
                die("out of memory");
            c->steps = ns;
            c->steps[c->n_steps++] =
                (struct step){.pre = KW("pre"), .msg = msg.p, .len = msg.n, .line = lineno};
        } else {
            struct expect e = {.line = lineno};
            if (KW("result")) {
                e.kind = strcmp(arg, "absent") == 0 ? E_RESULT_ABSENT : E_RESULT;
            } else if (KW("log")) {
                e.kind = E_LOG;
            } else if (KW("log~")) {
                e.kind = E_LOG_RE;
            } else if (KW("nolog")) {
                e.kind = E_NOLOG;
            } else if (KW("code")) {
                e.kind = E_CODE;
            } else if (KW("message")) {
                e.kind = E_MSG;
            } else if (KW("message~")) {
                e.kind = E_MSG_RE;
            } else if (KW("key")) {
                e.kind = E_KEY;
            } else {
                corpus_error(path, lineno, "unknown directive '%.*s'", (int)kwlen, line);
                continue;
            }
            if (!last || last->pre) {
                corpus_error(path, lineno, "expectation without a send before it");
                continue;
            }
            bool backend_only = e.kind <= E_NOLOG,
                 control_only = e.kind >= E_CODE && e.kind <= E_MSG_RE;
            if ((backend_only && is_control_file) || (control_only && !is_control_file)) {
                corpus_error(path, lineno, "directive not valid in this kind of file");
                continue;
            }
            json_error_t jerr;
            if (e.kind == E_RESULT) {
                e.json = json_loads(arg, JSON_DECODE_ANY, &jerr);
                if (!e.json) {
                    corpus_error(path, lineno, "result: %s", jerr.text);
                    continue;
                }
            } else if (e.kind == E_KEY) {
                char *sp = strchr(arg, ' ');
                if (!sp) {
                    corpus_error(path, lineno, "key needs MEMBER JSON");
                    continue;
                }
                e.arg = strndup(arg, (size_t)(sp - arg));
                e.json = json_loads(sp + 1, JSON_DECODE_ANY, &jerr);
                if (!e.json) {
                    corpus_error(path, lineno, "key: %s", jerr.text);
                    continue;
                }
            } else if (e.kind != E_RESULT_ABSENT && e.kind != E_NOLOG) {
                if (!*arg) {
                    corpus_error(path, lineno, "empty argument");
                    continue;
                }
                e.arg = strdup(arg);
                if (e.kind == E_LOG_RE || e.kind == E_MSG_RE) {
                    regex_t re;
                    if (regcomp(&re, arg, REG_EXTENDED | REG_NOSUB) != 0)
                        corpus_error(path, lineno, "bad regular expression");
                    else
                        regfree(&re);
                }
            }
            struct expect *ne = realloc(last->ex, (last->n_ex + 1) * sizeof(*ne));
            if (!ne)
                die("out of memory");
            last->ex = ne;
            last->ex[last->n_ex++] = e;
        }
#undef KW
    }
    free(line);
    (void)fclose(f); /* read-only: nothing to lose */
    /* The completeness rules of the header comment. */
    for (size_t i = 0; i < n; i++) {
        bool any_send = false;
        for (size_t k = 0; k < cases[i].n_steps; k++) {
            struct step *st = &cases[i].steps[k];
            if (st->pre)
                continue;
            any_send = true;
            bool result = false, failing = false, text = false, code = false, key = false;
            for (size_t e = 0; e < st->n_ex; e++) {
                enum expect_kind kd = st->ex[e].kind;
                result |= kd == E_RESULT || kd == E_RESULT_ABSENT;
                failing |=
                    kd == E_RESULT_ABSENT || (kd == E_RESULT && json_is_false(st->ex[e].json));
                text |=
                    kd == E_LOG || kd == E_LOG_RE || kd == E_NOLOG || kd == E_MSG || kd == E_MSG_RE;
                code |= kd == E_CODE;
                key |= kd == E_KEY;
            }
            if (!is_control_file && !result)
                corpus_error(path, st->line, "send without a result expectation");
            if (!is_control_file && failing && !text)
                corpus_error(path, st->line, "a failing send needs log, log~ or nolog");
            if (is_control_file && !code && !key)
                corpus_error(path, st->line, "send without a code or key expectation");
            if (is_control_file && code && !text)
                corpus_error(path, st->line, "code without message or message~");
        }
        if (!any_send)
            corpus_error(path, cases[i].line, "case '%s' sends nothing", cases[i].name);
    }
    *n_cases = n;
    return cases;
}

static void free_cases(struct tcase *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < cases[i].n_steps; k++) {
            struct step *st = &cases[i].steps[k];
            for (size_t e = 0; e < st->n_ex; e++) {
                free(st->ex[e].arg);
                if (st->ex[e].json)
                    json_decref(st->ex[e].json);
            }
            free(st->ex);
            free(st->msg);
        }
        free(cases[i].steps);
        free(cases[i].name);
    }
    free(cases);
}

/* ---- the world a case runs in --------------------------------------------------------- */

static struct mxg_config config;

static void add_rr(struct mxg_store *st, int64_t zone, const char *name, const char *type,
                   const char *content)
{
    struct mxg_record r = {
        .name = name, .type = type, .content = content, .ttl = 300, .auth = true};
    if (MXG_STORE_CALL(st, record_add, zone, &r) != MXG_OK)
        die("seeding a record");
}

/* example.com (master, id 1): SOA, NS ns1, apex A, MX 10 to the apex, www A, mail A, a TXT;
 * example.net (native, id 2): SOA, NS, apex A. The audit log holds the two creations. */
static struct mxg_store *seeded_store(void)
{
    struct mxg_store *st = NULL;
    char err[256];
    if (mxg_store_sqlite_open(":memory:", &st, err, sizeof(err)) != MXG_OK)
        die(err);
    const char *ns[] = {"ns1.example.com"};
    if (mxg_zone_create(st, &config, "example.com.", MXG_KIND_MASTER, NULL, ns, 1, err,
                        sizeof(err)) != MXG_OK ||
        mxg_zone_create(st, &config, "example.net.", MXG_KIND_NATIVE, NULL, ns, 1, err,
                        sizeof(err)) != MXG_OK)
        die(err);
    struct mxg_zone com, net;
    if (MXG_STORE_CALL(st, zone_get, "example.com.", &com) != MXG_OK ||
        MXG_STORE_CALL(st, zone_get, "example.net.", &net) != MXG_OK || com.id != 1 || net.id != 2)
        die("seeded zones do not have ids 1 and 2");
    if (MXG_STORE_CALL0(st, begin) != MXG_OK)
        die("begin");
    add_rr(st, com.id, "example.com.", "A", "192.0.2.1");
    add_rr(st, com.id, "example.com.", "MX", "10 example.com");
    add_rr(st, com.id, "www.example.com.", "A", "192.0.2.2");
    add_rr(st, com.id, "mail.example.com.", "A", "192.0.2.3");
    add_rr(st, com.id, "txt.example.com.", "TXT", "\"v=spf1 -all\"");
    add_rr(st, net.id, "example.net.", "A", "198.51.100.1");
    if (MXG_STORE_CALL0(st, commit) != MXG_OK)
        die("commit");
    return st;
}

/* ---- store dump ---------------------------------------------------------------------------- */

static int dump_rec(void *ctx, const struct mxg_record *r)
{
    buf_printf(ctx, "  rr %s %s %u %d %lld |%s|\n", r->name, r->type, r->ttl, r->auth ? 1 : 0,
               (long long)r->domain_id, r->content);
    return 0;
}

static int dump_meta(void *ctx, const char *kind, const char *value)
{
    buf_printf(ctx, "  meta %s |%s|\n", kind, value);
    return 0;
}

static int dump_key(void *ctx, const struct mxg_key *k)
{
    buf_printf(ctx, "  key %lld %u %d %d |%s|\n", (long long)k->id, k->flags, k->active ? 1 : 0,
               k->published ? 1 : 0, k->content);
    return 0;
}

static int dump_tsig(void *ctx, const struct mxg_tsig *k)
{
    buf_printf(ctx, "tsig %s %s |%s|\n", k->name, k->algorithm, k->secret);
    return 0;
}

struct dump_ctx {
    struct mxg_store *st;
    struct buf *b;
    int rc;
};

static int dump_zone(void *arg, const struct mxg_zone *z)
{
    struct dump_ctx *d = arg;
    buf_printf(d->b, "zone %lld %s %s masters=|%s| last_check=%lld notified=%lld serial=%lld %d\n",
               (long long)z->id, z->name, mxg_zone_kind_name(z->kind), z->masters,
               (long long)z->last_check, (long long)z->notified_serial, (long long)z->serial,
               z->has_soa ? 1 : 0);
    int rc = MXG_STORE_CALL(d->st, list, z->id, dump_rec, d->b);
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL(d->st, meta_list, z->id, NULL, dump_meta, d->b);
    if (rc == MXG_OK)
        rc = MXG_STORE_CALL(d->st, key_list, z->id, dump_key, d->b);
    if (rc != MXG_OK)
        d->rc = rc;
    return 0;
}

struct audit_dump {
    struct buf *b;
    int64_t upto;     /* rows with a greater seq are not dumped but checked and counted */
    int64_t refusals; /* those that are the record of a poisoned commit */
    int64_t others;   /* and those that are not */
};

static int dump_audit(void *ctx, const struct mxg_audit_row *row)
{
    struct audit_dump *d = ctx;
    if (row->seq <= d->upto) {
        buf_printf(d->b, "audit %lld %s\n", (long long)row->seq, row->record);
        return 0;
    }
    json_t *o = json_loads(row->record, 0, NULL);
    json_t *f = json_array_get(json_object_get(o, "findings"), 0);
    const char *verdict = json_string_value(json_object_get(o, "verdict"));
    const char *rule = json_string_value(json_object_get(f, "rule"));
    if (verdict && rule && strcmp(verdict, "reject") == 0 && strcmp(rule, "invalid-record") == 0 &&
        json_array_size(json_object_get(o, "findings")) == 1)
        d->refusals++;
    else
        d->others++;
    json_decref(o);
    return 0;
}

static int dump_ap(void *ctx, const char *ip, const char *nameserver, const char *account)
{
    buf_printf(ctx, "autoprimary %s %s |%s|\n", ip, nameserver, account);
    return 0;
}

/* The store as text, with the audit records up to seq upto; *refusals and *others count the
 * newer ones (see struct audit_dump). */
static char *store_dump(struct mxg_store *st, int64_t upto, int64_t *refusals, int64_t *others)
{
    struct buf b = {0};
    struct dump_ctx d = {.st = st, .b = &b};
    struct mxg_audit_filter all = {0};
    struct audit_dump ad = {.b = &b, .upto = upto};
    if (MXG_STORE_CALL(st, zone_list, dump_zone, &d) != MXG_OK || d.rc != MXG_OK ||
        MXG_STORE_CALL(st, audit_list, &all, dump_audit, &ad) != MXG_OK ||
        MXG_STORE_CALL(st, autoprimary_list, dump_ap, &b) != MXG_OK ||
        MXG_STORE_CALL(st, tsig_list, dump_tsig, &b) != MXG_OK)
        die("dumping the store");
    if (refusals)
        *refusals = ad.refusals;
    if (others)
        *others = ad.others;
    return b.p;
}

/* The audit head's seq. */
static int64_t audit_seq(struct mxg_store *st)
{
    int64_t seq = 0;
    char hash[MXG_HASH_HEX];
    if (mxg_audit_head(st, &seq, hash) != MXG_OK)
        die("reading the audit head");
    return seq;
}

/* ---- running a case ------------------------------------------------------------------------ */

static int failures;
static const char *cur_file;
static const struct tcase *cur_case;

static void printable(FILE *out, const char *s, size_t n, size_t max)
{
    for (size_t i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            fputc(c, out);
        else
            fprintf(out, "%%x%02X", c);
    }
    if (n > max)
        fprintf(out, "... (%zu bytes)", n);
}

static void case_fail(const struct step *st, int line, const char *reply, size_t rlen,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void case_fail(const struct step *st, int line, const char *reply, size_t rlen,
                      const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s:%d: case '%s': ", cur_file, line, cur_case->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (st) {
        fputs("  sent:  ", stderr);
        printable(stderr, st->msg, st->len, 300);
        fputc('\n', stderr);
    }
    if (reply) {
        fputs("  reply: ", stderr);
        printable(stderr, reply, rlen, 600);
        fputc('\n', stderr);
    }
    failures++;
}

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static bool text_matches(const char *text, const struct expect *e)
{
    if (e->kind == E_LOG || e->kind == E_MSG)
        return strstr(text, e->arg) != NULL;
    regex_t re;
    if (regcomp(&re, e->arg, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool ok = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

/* Parses a reply and checks the shape every reply must have; returns it or NULL (failed). */
static json_t *reply_shape(const struct step *st, const char *reply, size_t rlen, bool control,
                           struct buf *text)
{
    if (rlen == 0 || reply[rlen - 1] != '\n' || memchr(reply, '\n', rlen - 1)) {
        case_fail(st, st->line, reply, rlen, "reply is not exactly one line");
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb(reply, rlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(j)) {
        case_fail(st, st->line, reply, rlen, "reply is not a JSON object");
        if (j)
            json_decref(j);
        return NULL;
    }
    const char *bad = NULL;
    if (!control) {
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v)
        {
            if (strcmp(key, "result") != 0 && strcmp(key, "log") != 0)
                bad = "a member other than result and log";
        }
        json_t *log = json_object_get(j, "log");
        if (log) {
            size_t i;
            json_t *l;
            if (!json_is_array(log) || json_array_size(log) == 0)
                bad = "log is not a non-empty array";
            json_array_foreach(log, i, l)
            {
                const char *s = json_string_value(l);
                if (!s || strncmp(s, "mxguard: ", 9) != 0 || !printable_ascii(s))
                    bad = "a log line that is not printable text starting with 'mxguard: '";
                else {
                    if (text->n)
                        buf_add(text, "\n", 1);
                    buf_add(text, s, strlen(s));
                }
            }
        }
        if (!json_object_get(j, "result") && !log)
            bad = "neither result nor log";
    } else {
        json_t *ok = json_object_get(j, "ok");
        if (!json_is_boolean(ok)) {
            bad = "'ok' is not a boolean";
        } else if (json_is_false(ok)) {
            json_t *e = json_object_get(j, "error");
            const char *code = json_string_value(json_object_get(e, "code"));
            const char *msg = json_string_value(json_object_get(e, "message"));
            if (json_object_size(j) != 2 || !json_is_object(e) || json_object_size(e) != 2 ||
                !code || !msg)
                bad = "a failure that is not {ok:false, error:{code, message}}";
            else if (!printable_ascii(msg) || !*msg)
                bad = "an error message that is empty or not printable ASCII";
            else
                buf_add(text, msg, strlen(msg));
        }
    }
    if (!text->p)
        buf_add(text, "", 0);
    if (bad) {
        case_fail(st, st->line, reply, rlen, "malformed reply: %s", bad);
        json_decref(j);
        return NULL;
    }
    return j;
}

static void check_expectations(const struct step *st, json_t *j, const char *text,
                               const char *reply, size_t rlen)
{
    for (size_t i = 0; i < st->n_ex; i++) {
        const struct expect *e = &st->ex[i];
        json_t *v;
        switch (e->kind) {
        case E_RESULT:
            v = json_object_get(j, "result");
            if (!v || !json_equal(v, e->json))
                case_fail(st, e->line, reply, rlen, "result differs from the expected one");
            break;
        case E_RESULT_ABSENT:
            if (json_object_get(j, "result"))
                case_fail(st, e->line, reply, rlen, "the reply has a result");
            break;
        case E_NOLOG:
            if (json_object_get(j, "log"))
                case_fail(st, e->line, reply, rlen, "the reply has a log");
            break;
        case E_LOG:
        case E_LOG_RE:
        case E_MSG:
        case E_MSG_RE:
            if (!text_matches(text, e))
                case_fail(st, e->line, reply, rlen, "text does not %s '%s'",
                          (e->kind == E_LOG || e->kind == E_MSG) ? "contain" : "match", e->arg);
            break;
        case E_CODE:
            if (!json_is_false(json_object_get(j, "ok")) ||
                strcmp(json_string_value(json_object_get(json_object_get(j, "error"), "code"))
                           ? json_string_value(json_object_get(json_object_get(j, "error"), "code"))
                           : "",
                       e->arg) != 0)
                case_fail(st, e->line, reply, rlen, "expected error code %s", e->arg);
            break;
        case E_KEY:
            v = json_object_get(j, e->arg);
            if (!v || !json_equal(v, e->json))
                case_fail(st, e->line, reply, rlen, "member '%s' differs from the expected one",
                          e->arg);
            break;
        }
    }
}

static void first_difference(const char *a, const char *b)
{
    while (*a && *a == *b) {
        const char *na = strchr(a, '\n'), *nb = strchr(b, '\n');
        if (!na || !nb || na - a != nb - b || strncmp(a, b, (size_t)(na - a)) != 0)
            break;
        a = na + 1;
        b = nb + 1;
    }
    fprintf(stderr, "  before: %.*s\n  after:  %.*s\n", (int)strcspn(a, "\n"), a,
            (int)strcspn(b, "\n"), b);
}

struct world {
    struct mxg_store *st;
    struct mxg_backend *be;
    struct mxg_session *s;
    struct mxg_control ctl;
};

static void no_rediscover(struct mxg_control *c)
{
    (void)c;
}

/* Sends one message; returns the checked reply (or NULL after reporting a failure). */
static json_t *exchange(struct world *w, bool control, const struct step *st, struct buf *text,
                        char **reply, size_t *rlen)
{
    *reply = NULL;
    *rlen = 0;
    int rc = control ? mxg_control_handle(&w->ctl, st->msg, st->len, reply, rlen)
                     : mxg_backend_handle(w->s, st->msg, st->len, reply, rlen);
    if (rc != MXG_OK || !*reply) {
        case_fail(st, st->line, NULL, 0, "handler returned %d without a reply", rc);
        return NULL;
    }
    return reply_shape(st, *reply, *rlen, control, text);
}

static void run_case(const struct tcase *c, bool control)
{
    int before = failures;
    struct world w = {0};
    w.st = seeded_store();
    w.be = mxg_backend_new(w.st, &config);
    w.s = mxg_session_new(w.be);
    if (!w.be || !w.s)
        die("out of memory");
    w.ctl = (struct mxg_control){
        .store = w.st, .cfg = &config, .backend = w.be, .zones_changed = no_rediscover};
    if (!control && !c->noinit) {
        static char init[] = "{\"method\":\"initialize\",\"parameters\":{\"path\":\"/x\"}}";
        struct step st = {.pre = true, .msg = init, .len = sizeof(init) - 1, .line = c->line};
        char *reply;
        size_t rlen;
        struct buf text = {0};
        json_t *j = exchange(&w, false, &st, &text, &reply, &rlen);
        if (j)
            json_decref(j);
        free(reply);
        free(text.p);
    }
    char *snap = NULL;
    int64_t snap_seq = 0, poisoned = 0;
    for (size_t k = 0; k < c->n_steps && failures == before; k++) {
        const struct step *st = &c->steps[k];
        if (!st->pre && !snap) {
            snap_seq = audit_seq(w.st);
            snap = store_dump(w.st, snap_seq, NULL, NULL);
        }
        char *reply;
        size_t rlen;
        struct buf text = {0};
        json_t *j = exchange(&w, control, st, &text, &reply, &rlen);
        if (j && st->pre) {
            json_t *res = json_object_get(j, control ? "ok" : "result");
            if (!res || json_is_false(res))
                case_fail(st, st->line, reply, rlen, "a setup message failed");
        } else if (j) {
            check_expectations(st, j, text.p, reply, rlen);
            if (!control && !json_object_get(j, "result") && text.p &&
                strstr(text.p, "a write of this transaction was refused"))
                poisoned++;
        }
        if (j)
            json_decref(j);
        free(reply);
        free(text.p);
    }
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            mxg_session_free(w.s);
        if (!snap || failures != before || c->store_changed)
            continue;
        int64_t refusals = 0, others = 0;
        char *after = store_dump(w.st, snap_seq, &refusals, &others);
        if (strcmp(snap, after) != 0) {
            case_fail(NULL, c->line, NULL, 0, "the store changed%s",
                      pass ? " when the session closed" : "");
            first_difference(snap, after);
        } else if (others != 0 || refusals != poisoned) {
            case_fail(NULL, c->line, NULL, 0,
                      "%lld poisoned commit(s) left %lld invalid-record record(s) and %lld other "
                      "audit record(s)%s",
                      (long long)poisoned, (long long)refusals, (long long)others,
                      pass ? " when the session closed" : "");
        }
        free(after);
    }
    free(snap);
    mxg_backend_free(w.be);
    mxg_store_close(w.st);
}

/* ---- main ------------------------------------------------------------------------------- */

static int case_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".case") == 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s CORPUS-DIR [FILTER]\n", argv[0]);
        return 2;
    }
    const char *filter = argc == 3 ? argv[2] : NULL;
    char err[256];
    mxg_log_setup(MXG_LOG_STDERR, MXG_LOG_ERROR, "badinput");
    if (mxg_config_load_string("", "badinput", &config, err, sizeof(err)) != MXG_OK)
        die(err);
    static const char *const kinds[] = {"backend", "control"};
    size_t total = 0, run = 0;
    for (size_t k = 0; k < 2; k++) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/%s", argv[1], kinds[k]);
        struct dirent **names = NULL;
        int nf = scandir(dir, &names, case_file, alphasort);
        if (nf <= 0) {
            fprintf(stderr, "%s: no .case files\n", dir);
            return 2;
        }
        is_control_file = k == 1;
        size_t kind_total = 0;
        for (int i = 0; i < nf; i++) {
            char path[8192], label[512];
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
            snprintf(label, sizeof(label), "%s/%s", kinds[k], names[i]->d_name);
            size_t n = 0;
            struct tcase *cases = parse_file(path, &n);
            size_t ran = 0;
            cur_file = path;
            for (size_t c = 0; c < n && !parse_errors; c++) {
                char full[1024];
                snprintf(full, sizeof(full), "%s:%s", label, cases[c].name);
                if (filter && !strstr(full, filter))
                    continue;
                cur_case = &cases[c];
                run_case(&cases[c], is_control_file);
                ran++;
            }
            printf("%-40s %4zu cases\n", label, n);
            if (filter)
                printf("%-40s %4zu run\n", "", ran);
            kind_total += n;
            run += ran;
            free_cases(cases, n);
            free(names[i]);
        }
        free(names);
        printf("%-40s %4zu cases\n", kinds[k], kind_total);
        total += kind_total;
    }
    mxg_config_free(&config);
    if (parse_errors) {
        printf("%d errors in the corpus\n", parse_errors);
        return 1;
    }
    printf("%zu cases, %zu run, %d failed\n", total, run, failures);
    return failures ? 1 : 0;
}
