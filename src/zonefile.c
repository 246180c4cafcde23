/* zonefile.c -- zone files as pdnsutil load-zone reads them, through libzscanner.
 *
 * libzscanner reads the file. What it refuses and pdns accepts is handed back to it in a form
 * it takes, one record at a time: the record (its lines and parentheses joined, comments
 * dropped) with octets over 0x7f written as \DDD (UTF-8 in a TXT string), and a type libknot
 * does not know (ALIAS, MB, MG, MR, RKEY, DLV) replaced by the type whose rdata it shares; LUA
 * content, which has no wire form, is kept as text. $INCLUDE and $GENERATE, which pdns reads
 * its own way (an $INCLUDE's origin argument is ignored and its $ORIGIN stays in force after
 * it; libzscanner has no $GENERATE), are read here; $ORIGIN and $TTL stay with libzscanner.
 * The file is read into memory; the scanner restarts after each record it could not read, with
 * the origin, default TTL and previous owner it had. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libknot/libknot.h>
#include <libzscanner/scanner.h>

#include "mxg/dns.h"
#include "mxg/err.h"

/* Deepest $INCLUDE nesting accepted (a file including itself stops here). */
#define ZF_INCLUDE_DEPTH 16
/* Largest zone file read (it is held in memory while it is read). */
#define ZF_FILE_MAX ((size_t)1 << 30)
/* Most records one $GENERATE may make, and the most text it may expand to. */
#define ZF_GENERATE_MAX 65536u
#define ZF_GENERATE_TEXT_MAX ((size_t)64 << 20)

/* Text being read: a file, or the records a $GENERATE made. */
struct zf_buf {
    const char *file; /* as reported in errors and records */
    const char *dir;  /* directory relative $INCLUDE paths are read from */
    const char *text;
    size_t len;
    unsigned long fixed_line; /* non-zero: every record is reported on this line */
};

struct zf_run {
    mxg_zf_cb cb;
    void *ctx;
    char *err;
    size_t errlen;
    char *content; /* MXG_CONTENT_MAX + 1 bytes */
    zs_scanner_t *s;
    /* The scanner's state after the last item read: what a restart gives it back. */
    uint8_t origin[ZS_MAX_DNAME_LENGTH + ZS_MAX_LABEL_LENGTH];
    uint32_t origin_len;
    uint32_t ttl;
    uint8_t owner[ZS_MAX_DNAME_LENGTH + ZS_MAX_LABEL_LENGTH];
    uint32_t owner_len;
    unsigned depth;
};

static void save_state(struct zf_run *run)
{
    const zs_scanner_t *s = run->s;
    run->origin_len = s->zone_origin_length;
    memcpy(run->origin, s->zone_origin, s->zone_origin_length);
    run->ttl = s->default_ttl;
    run->owner_len = s->r_owner_length;
    memcpy(run->owner, s->r_owner, s->r_owner_length);
}

/* Starts the scanner on text with the saved state. */
static int restart(struct zf_run *run, const char *text, size_t len, unsigned long line)
{
    char origin[MXG_NAME_TEXT_MAX + 2];
    zs_scanner_t *s = run->s;

    if (mxg_name_from_wire(run->origin, run->origin_len, origin, sizeof(origin) - 1) != MXG_OK) {
        return MXG_EINVAL;
    }
    size_t ol = strlen(origin);
    if (ol == 0 || origin[ol - 1] != '.' || (ol >= 2 && origin[ol - 2] == '\\')) {
        origin[ol++] = '.';
        origin[ol] = '\0';
    }
    zs_deinit(s);
    if (zs_init(s, origin, KNOT_CLASS_IN, run->ttl) != 0) {
        return s->error.code == ZS_ENOMEM ? MXG_ENOMEM : MXG_EINVAL;
    }
    if (zs_set_input_string(s, text, len) != 0) {
        return MXG_ENOMEM;
    }
    s->line_counter = line;
    s->r_owner_length = run->owner_len;
    memcpy(s->r_owner, run->owner, run->owner_len);
    return MXG_OK;
}

/* Line on which the record just parsed begins. zscanner reports the line where it ends; walk
 * forward from the end of the previous item over blanks, comment and directive lines. Only while
 * the scanner still reads the text it was given (the final block replaces it). */
static unsigned long record_line(const zs_scanner_t *s, const char *start, const char *end,
                                 const char *mark, unsigned long mark_line)
{
    unsigned long end_line = (unsigned long)s->line_counter;

    if (mark == NULL || s->input.start != start || s->input.end != end || s->input.current < mark ||
        s->input.current > end) {
        return end_line;
    }
    const char *p = mark;
    unsigned long line = mark_line;
    while (p < s->input.current) {
        char c = *p;
        if (c == ' ' || c == '\t' || c == '\r') {
            p++;
        } else if (c == '\n') {
            line++;
            p++;
        } else if (c == ';' || c == '$') {
            while (p < s->input.current && *p != '\n') {
                p++;
            }
        } else {
            break;
        }
    }
    return line <= end_line ? line : end_line;
}

/* Why pdns 4.7 could not read back content libzscanner accepts (NULL: it can). pdns reads a
 * name's records all at once, so one of these would make it answer SERVFAIL for every type of
 * that name. */
static const char *pdns_unreadable(uint16_t type, const uint8_t *d, size_t len)
{
    switch (type) {
    case KNOT_RRTYPE_CERT:
        return len >= 2 && d[0] == 0 && d[1] == 0 ? "CERT type 0 is reserved" : NULL;
    case KNOT_RRTYPE_SVCB:
    case KNOT_RRTYPE_HTTPS:
        if (len >= 3 && d[0] == 0 && d[1] == 0 && 2 + knot_dname_size(d + 2) < len) {
            return "a priority 0 (alias form) SVCB/HTTPS takes no parameters";
        }
        return NULL;
    case KNOT_RRTYPE_IPSECKEY:
        return len >= 2 && d[1] == 0 ? "an IPSECKEY without a gateway (type 0)" : NULL;
    default:
        return NULL;
    }
}

/* Hands the record the scanner holds to the callback, as a record of the given type. */
static int emit(struct zf_run *run, const struct zf_buf *b, uint16_t type, const char *content,
                unsigned long line)
{
    const zs_scanner_t *s = run->s;
    char owner[MXG_NAME_TEXT_MAX + 1];
    char tname[MXG_TYPE_MAX];

    if (b->fixed_line != 0) {
        line = b->fixed_line;
    }
    if (s->r_class != KNOT_CLASS_IN) {
        mxg_set_err(run->err, run->errlen, "%s:%lu: only class IN is supported", b->file, line);
        return MXG_EPARSE;
    }
    /* The owner in pdns's text form, as pdnsutil load-zone stores it. */
    if (s->r_owner_length == 0 ||
        mxg_name_from_wire(s->r_owner, s->r_owner_length, owner, sizeof(owner)) != MXG_OK) {
        mxg_set_err(run->err, run->errlen, "%s:%lu: invalid owner", b->file, line);
        return MXG_EPARSE;
    }
    if (mxg_rrtype_name(type, tname, sizeof(tname)) != MXG_OK) {
        mxg_set_err(run->err, run->errlen, "%s:%lu: record type %u not allowed in a zone", b->file,
                    line, (unsigned)type);
        return MXG_EPARSE;
    }
    const char *unreadable = pdns_unreadable(type, s->r_data, s->r_data_length);
    if (unreadable != NULL) {
        mxg_set_err(run->err, run->errlen, "%s:%lu: %s", b->file, line, unreadable);
        return MXG_EPARSE;
    }
    if (content == NULL) {
        char reason[256] = "";
        int rc = mxg_rr_from_wire(type, s->r_data, s->r_data_length, run->content,
                                  MXG_CONTENT_MAX + 1, reason, sizeof(reason));
        if (rc == MXG_ENOMEM) {
            return rc;
        }
        if (rc != MXG_OK) {
            mxg_set_err(run->err, run->errlen, "%s:%lu: %s", b->file, line, reason);
            return MXG_EPARSE;
        }
        content = run->content;
    }
    struct mxg_zf_record rec = {
        .owner = owner,
        .type = tname,
        .ttl = s->r_ttl,
        .content = content,
        .line = line,
        .file = b->file,
    };
    return run->cb(run->ctx, &rec);
}

/* ---- one logical record ------------------------------------------------------------------- */

/* The logical record at p: its lines joined with blanks at parentheses and line ends, comments
 * dropped, into out (at least end - p + 1 bytes). *next is left on the newline that ends it
 * (or at end), *lines counts the newlines inside it. */
static int join_record(const char *p, const char *end, char *out, const char **next,
                       unsigned long *lines, const char **why)
{
    size_t w = 0;
    int depth = 0;
    bool quoted = false;

    *lines = 0;
    while (p < end) {
        char c = *p;
        if (c == '\\' && p + 1 < end && p[1] != '\n') {
            out[w++] = c;
            out[w++] = p[1];
            p += 2;
            continue;
        }
        if (quoted) {
            if (c == '\n') {
                *why = "unterminated quoted string";
                return MXG_EPARSE;
            }
            quoted = c != '"';
            out[w++] = c;
            p++;
            continue;
        }
        if (c == '"') {
            quoted = true;
        } else if (c == ';') {
            while (p < end && *p != '\n') {
                p++;
            }
            continue;
        } else if (c == '(' || c == ')') {
            if (c == ')' && depth == 0) {
                *why = "closing parenthesis without an opening one";
                return MXG_EPARSE;
            }
            depth += c == '(' ? 1 : -1;
            c = ' ';
        } else if (c == '\n') {
            if (depth == 0) {
                break;
            }
            (*lines)++;
            c = ' ';
        } else if (c == '\r' || c == '\t') {
            c = ' ';
        }
        out[w++] = c;
        p++;
    }
    if (quoted) {
        *why = "unterminated quoted string";
        return MXG_EPARSE;
    }
    if (depth != 0) {
        *why = "unbalanced parenthesis";
        return MXG_EPARSE;
    }
    out[w] = '\0';
    *next = p;
    return MXG_OK;
}

/* Next blank-separated token of s from *pos (quotes and escapes kept inside it). */
static bool next_token(const char *s, size_t *pos, size_t *start, size_t *len)
{
    size_t i = *pos;
    while (s[i] == ' ') {
        i++;
    }
    if (s[i] == '\0') {
        *pos = i;
        return false;
    }
    *start = i;
    bool quoted = false;
    while (s[i] != '\0' && (quoted || s[i] != ' ')) {
        if (s[i] == '\\' && s[i + 1] != '\0') {
            i++;
        } else if (s[i] == '"') {
            quoted = !quoted;
        }
        i++;
    }
    *len = i - *start;
    *pos = i;
    return true;
}

static bool token_is(const char *s, size_t start, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(s + start, word, len) == 0;
}

/* A TTL as zone files write it: digits, or digits with s/m/h/d/w units. */
static bool is_ttl(const char *s, size_t len)
{
    if (len == 0 || s[0] < '0' || s[0] > '9') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || strchr("smhdwSMHDW", s[i]) != NULL)) {
            return false;
        }
    }
    return true;
}

static bool is_class(const char *s, size_t len)
{
    return (len == 2 && (strncasecmp(s, "IN", 2) == 0 || strncasecmp(s, "CH", 2) == 0 ||
                         strncasecmp(s, "HS", 2) == 0 || strncasecmp(s, "CS", 2) == 0)) ||
           (len > 5 && strncasecmp(s, "CLASS", 5) == 0 && s[5] >= '0' && s[5] <= '9');
}

/* Copies text into out at w, octets over 0x7f (UTF-8) as \DDD, which means the same octet
 * wherever zone syntax allows it (an escaped one loses its backslash). out holds 4 bytes per
 * octet. Returns the new w. */
static size_t put_ascii(char *out, size_t w, size_t cap, const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\\' && i + 1 < len && (unsigned char)text[i + 1] < 0x80) {
            out[w++] = text[i++];
            out[w++] = text[i];
        } else if (ch == '\\' && i + 1 < len) {
            continue; /* an escaped high octet: written as \DDD next */
        } else if (ch >= 0x80) {
            w += (size_t)snprintf(out + w, cap - w, "\\%03u", (unsigned)ch);
        } else {
            out[w++] = (char)ch;
        }
    }
    return w;
}

/* Reads one record libzscanner refused as written (joined by join_record; blank_owner when its
 * line began with a blank): again through libzscanner, with \DDD for octets over 0x7f and the
 * twin of a type libknot does not know. */
static int read_refused(struct zf_run *run, const struct zf_buf *b, const char *rec,
                        unsigned long line)
{
    bool blank_owner = rec[0] == ' ';
    size_t pos = 0, ts = 0, tl = 0;
    size_t head_end = 0; /* end of owner, TTL and class */
    int seen = blank_owner ? 1 : 0;
    bool got_ttl = false, got_class = false;
    char tname[MXG_TYPE_MAX];
    char tword[MXG_TYPE_MAX];
    uint16_t type = 0;

    for (;;) {
        if (!next_token(rec, &pos, &ts, &tl)) {
            mxg_set_err(run->err, run->errlen, "%s:%lu: missing record type", b->file,
                        b->fixed_line != 0 ? b->fixed_line : line);
            return MXG_EPARSE;
        }
        if (seen++ == 0) {
            head_end = pos; /* the owner */
        } else if (!got_ttl && is_ttl(rec + ts, tl)) {
            got_ttl = true;
            head_end = pos;
        } else if (!got_class && is_class(rec + ts, tl)) {
            got_class = true;
            head_end = pos;
        } else {
            break;
        }
    }
    if (tl >= sizeof(tword)) {
        tl = sizeof(tword) - 1;
    }
    memcpy(tword, rec + ts, tl);
    tword[tl] = '\0';
    if (mxg_rrtype_parse(tword, tname, sizeof(tname), &type) != MXG_OK) {
        mxg_set_err(run->err, run->errlen, "%s:%lu: unknown record type %s", b->file,
                    b->fixed_line != 0 ? b->fixed_line : line, tword);
        return MXG_EPARSE;
    }
    const char *rdata = rec + pos;
    while (*rdata == ' ') {
        rdata++;
    }
    size_t rlen = strlen(rdata);
    while (rlen > 0 && rdata[rlen - 1] == ' ' && (rlen < 2 || rdata[rlen - 2] != '\\')) {
        rlen--;
    }
    bool lua = strcmp(tname, "LUA") == 0;

    /* The head, the twin type, the rdata, with \DDD: at most 4 bytes per octet. */
    size_t cap = 4 * head_end + 32 + 4 * rlen + 2;
    char *line_text = malloc(cap);
    if (line_text == NULL) {
        return MXG_ENOMEM;
    }
    size_t w = put_ascii(line_text, 0, cap, rec, head_end);
    if (lua) {
        /* Owner, TTL and class from libzscanner; the content is pdns's text. */
        w += (size_t)snprintf(line_text + w, cap - w, " TXT \"\"");
    } else {
        w += (size_t)snprintf(line_text + w, cap - w, " TYPE%u ", (unsigned)mxg_rrtype_twin(type));
        w = put_ascii(line_text, w, cap, rdata, rlen);
    }
    line_text[w++] = '\n';
    line_text[w] = '\0';

    int rc = restart(run, line_text, w, line);
    if (rc == MXG_OK) {
        (void)zs_parse_record(run->s);
        if (run->s->state == ZS_STATE_DATA) {
            const char *content = NULL;
            if (lua) {
                char *rcopy = strndup(rdata, rlen);
                if (rcopy == NULL) {
                    rc = MXG_ENOMEM;
                } else {
                    char reason[256] = "";
                    rc = mxg_rr_normalize("LUA", rcopy, run->content, MXG_CONTENT_MAX + 1, reason,
                                          sizeof(reason));
                    free(rcopy);
                    if (rc != MXG_OK && rc != MXG_ENOMEM) {
                        mxg_set_err(run->err, run->errlen, "%s:%lu: %s", b->file,
                                    b->fixed_line != 0 ? b->fixed_line : line, reason);
                        rc = MXG_EPARSE;
                    }
                }
                content = run->content;
            }
            if (rc == MXG_OK) {
                save_state(run);
                rc = emit(run, b, type, content, line);
            }
        } else {
            int code = run->s->error.code;
            mxg_set_err(run->err, run->errlen, "%s:%lu: %s", b->file,
                        b->fixed_line != 0 ? b->fixed_line : line,
                        code != ZS_OK ? zs_strerror(code) : "invalid record");
            rc = code == ZS_ENOMEM ? MXG_ENOMEM : MXG_EPARSE;
        }
    }
    free(line_text);
    return rc;
}

/* ---- directives ----------------------------------------------------------------------------- */

static int parse_buffer(struct zf_run *run, const struct zf_buf *b);

/* Reads a whole regular file. */
static int read_file(const char *path, char **text, size_t *len, const char **why)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        *why = strerror(errno);
        return MXG_EIO;
    }
    /* From here on every exit goes through out, which closes fd. */
    int rc = MXG_EIO;
    /* Only regular files: a FIFO or a device (/dev/zero, a terminal) never ends. */
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        *why = "not a regular file";
        goto out;
    }
    if ((unsigned long long)sb.st_size > ZF_FILE_MAX) {
        *why = "file larger than 1 GiB";
        goto out;
    }
    size_t size = (size_t)sb.st_size;
    char *buf = malloc(size + 1);
    if (buf == NULL) {
        rc = MXG_ENOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *text = buf;
    *len = got;
    rc = MXG_OK;
out:
    close(fd);
    return rc;
}

static int read_path(struct zf_run *run, const char *path, const char **why)
{
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(path, &text, &len, why);
    if (rc != MXG_OK) {
        return rc;
    }
    char *dir = strdup(path);
    if (dir == NULL) {
        free(text);
        return MXG_ENOMEM;
    }
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        strcpy(dir, ".");
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    struct zf_buf b = {.file = path, .dir = dir, .text = text, .len = len};
    rc = parse_buffer(run, &b);
    free(dir);
    free(text);
    return rc;
}

/* $INCLUDE file [origin]: pdns reads the file with the current origin (the argument is
 * ignored), and what the file sets ($ORIGIN, $TTL) stays in force after it. */
static int do_include(struct zf_run *run, const struct zf_buf *b, const char *rec, size_t pos,
                      unsigned long line)
{
    size_t ts = 0, tl = 0;
    if (b->fixed_line != 0 || !next_token(rec, &pos, &ts, &tl)) {
        mxg_set_err(run->err, run->errlen, "%s:%lu: $INCLUDE without a file", b->file, line);
        return MXG_EPARSE;
    }
    if (run->depth + 1 >= ZF_INCLUDE_DEPTH) {
        mxg_set_err(run->err, run->errlen, "%s:%lu: $INCLUDE nested too deeply", b->file, line);
        return MXG_EPARSE;
    }
    if (tl >= 2 && rec[ts] == '"' && rec[ts + tl - 1] == '"') {
        ts++;
        tl -= 2;
    }
    size_t cap = strlen(b->dir) + tl + 2;
    char *path = malloc(cap);
    if (path == NULL) {
        return MXG_ENOMEM;
    }
    if (tl > 0 && rec[ts] == '/') {
        snprintf(path, cap, "%.*s", (int)tl, rec + ts);
    } else {
        snprintf(path, cap, "%s/%.*s", b->dir, (int)tl, rec + ts);
    }
    const char *why = NULL;
    run->depth++;
    int rc = read_path(run, path, &why);
    run->depth--;
    if (rc == MXG_EIO) {
        mxg_set_err(run->err, run->errlen, "%s:%lu: cannot read included file %s (%s)", b->file,
                    line, path, why != NULL ? why : "error");
        rc = MXG_EPARSE;
    }
    free(path);
    return rc;
}

/* Appends the value of a $GENERATE counter: ${offset,width,base} or plain $. */
static size_t gen_value(char *out, size_t cap, long long v, long long offset, int width, char base)
{
    long long n = v + offset;
    if (base == 'n' || base == 'N') {
        /* Nibbles, lowest first, dot-separated (reverse DNS). */
        char hex[32];
        int hl = snprintf(hex, sizeof(hex), base == 'n' ? "%llx" : "%llX", n < 0 ? 0 : n);
        while (hl < width && hl < (int)sizeof(hex) - 1) {
            memmove(hex + 1, hex, (size_t)hl + 1);
            hex[0] = '0';
            hl++;
        }
        size_t w = 0;
        for (int i = hl - 1; i >= 0 && w + 2 < cap; i--) {
            out[w++] = hex[i];
            if (i > 0) {
                out[w++] = '.';
            }
        }
        return w;
    }
    int k;
    if (base == 'o') {
        k = snprintf(out, cap, "%0*llo", width, (unsigned long long)n);
    } else if (base == 'x') {
        k = snprintf(out, cap, "%0*llx", width, (unsigned long long)n);
    } else if (base == 'X') {
        k = snprintf(out, cap, "%0*llX", width, (unsigned long long)n);
    } else {
        k = snprintf(out, cap, "%0*lld", width, n);
    }
    return k > 0 && (size_t)k < cap ? (size_t)k : 0;
}

/* $GENERATE start-stop[/step] template: the records are read like the file's. */
static int do_generate(struct zf_run *run, const struct zf_buf *b, const char *rec, size_t pos,
                       unsigned long line)
{
    size_t ts = 0, tl = 0;
    unsigned long long start = 0, stop = 0, step = 1;
    char range[64];

    if (b->fixed_line != 0 || !next_token(rec, &pos, &ts, &tl) || tl >= sizeof(range)) {
        mxg_set_err(run->err, run->errlen, "%s:%lu: $GENERATE without a range", b->file, line);
        return MXG_EPARSE;
    }
    memcpy(range, rec + ts, tl);
    range[tl] = '\0';
    char *e = NULL;
    errno = 0;
    start = strtoull(range, &e, 10);
    if (e == range || *e != '-' || range[0] == '-') {
        mxg_set_err(run->err, run->errlen, "%s:%lu: $GENERATE range %s is not start-stop[/step]",
                    b->file, line, range);
        return MXG_EPARSE;
    }
    char *e2 = NULL;
    stop = strtoull(e + 1, &e2, 10);
    if (e2 == e + 1 || e[1] == '-') {
        mxg_set_err(run->err, run->errlen, "%s:%lu: $GENERATE range %s is not start-stop[/step]",
                    b->file, line, range);
        return MXG_EPARSE;
    }
    if (*e2 == '/') {
        char *e3 = NULL;
        step = strtoull(e2 + 1, &e3, 10);
        e2 = e3;
    }
    if (*e2 != '\0' || errno != 0 || step == 0 || stop < start || stop > UINT32_MAX ||
        (stop - start) / step >= ZF_GENERATE_MAX) {
        mxg_set_err(
            run->err, run->errlen,
            "%s:%lu: $GENERATE range %s: start may not pass stop, step may not be 0, and at "
            "most %u records",
            b->file, line, range, ZF_GENERATE_MAX);
        return MXG_EPARSE;
    }
    const char *tpl = rec + pos;
    while (*tpl == ' ') {
        tpl++;
    }
    size_t tlen = strlen(tpl);
    if (tlen == 0) {
        mxg_set_err(run->err, run->errlen, "%s:%lu: $GENERATE without a record", b->file, line);
        return MXG_EPARSE;
    }
    size_t cap = 4096, w = 0;
    char *out = malloc(cap);
    if (out == NULL) {
        return MXG_ENOMEM;
    }
    int rc = MXG_OK;
    for (unsigned long long v = start; v <= stop && rc == MXG_OK; v += step) {
        size_t line_start = w;
        for (size_t i = 0; i < tlen && rc == MXG_OK; i++) {
            if (cap - w < 128) {
                if (cap >= ZF_GENERATE_TEXT_MAX) {
                    mxg_set_err(run->err, run->errlen, "%s:%lu: $GENERATE makes more than 64 MiB",
                                b->file, line);
                    rc = MXG_EPARSE;
                    break;
                }
                char *n = realloc(out, cap * 2);
                if (n == NULL) {
                    rc = MXG_ENOMEM;
                    break;
                }
                out = n;
                cap *= 2;
            }
            char c = tpl[i];
            if (c == '\\' && i + 1 < tlen) {
                out[w++] = tpl[++i]; /* "\$" is a '$', "\\" a backslash */
            } else if (c == '$' && i + 1 < tlen && tpl[i + 1] == '{') {
                const char *close = memchr(tpl + i, '}', tlen - i);
                long long offset = 0;
                int width = 0;
                char base = 'd';
                char mod[64];
                size_t ml = close != NULL ? (size_t)(close - (tpl + i + 2)) : sizeof(mod);
                if (ml >= sizeof(mod)) {
                    mxg_set_err(run->err, run->errlen,
                                "%s:%lu: $GENERATE: bad ${offset,width,base}", b->file, line);
                    rc = MXG_EPARSE;
                    break;
                }
                memcpy(mod, tpl + i + 2, ml);
                mod[ml] = '\0';
                char bchar[2] = "d";
                int got = sscanf(mod, "%lld,%d,%1[doxXnN]", &offset, &width, bchar); // NOLINT
                if (got < 1 || width < 0 || width > 64) {
                    mxg_set_err(run->err, run->errlen, "%s:%lu: $GENERATE: bad ${%s}", b->file,
                                line, mod);
                    rc = MXG_EPARSE;
                    break;
                }
                base = bchar[0];
                w += gen_value(out + w, cap - w, (long long)v, offset, width, base);
                i += ml + 2; /* to the '}' */
            } else if (c == '$') {
                w += gen_value(out + w, cap - w, (long long)v, 0, 0, 'd');
            } else {
                out[w++] = c;
            }
        }
        if (rc == MXG_OK) {
            out[w++] = '\n';
            /* A generated owner is never read as a directive ("\$ORIGIN"). */
            if (out[line_start] == '$') {
                mxg_set_err(run->err, run->errlen, "%s:%lu: $GENERATE makes a directive", b->file,
                            line);
                rc = MXG_EPARSE;
            }
        }
    }
    if (rc == MXG_OK) {
        struct zf_buf g = {
            .file = b->file, .dir = b->dir, .text = out, .len = w, .fixed_line = line};
        rc = parse_buffer(run, &g);
    }
    free(out);
    return rc;
}

/* ---- the reading loop ----------------------------------------------------------------------- */

/* Reads from *pos what libzscanner stopped at: the directives and comment lines before it (its
 * $ORIGIN and $TTL again, through libzscanner), then the $INCLUDE, $GENERATE or record it
 * refused. Leaves *pos and *line after that item. */
static int resync(struct zf_run *run, const struct zf_buf *b, size_t *pos, unsigned long *line)
{
    const char *end = b->text + b->len;
    const char *p = b->text + *pos;
    unsigned long ln = *line;
    char *rec = NULL;
    int rc = MXG_OK;

    for (;;) {
        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r')) {
            q++;
        }
        if (q >= end) {
            p = end;
            break;
        }
        if (*q == '\n' || *q == ';') {
            while (q < end && *q != '\n') {
                q++;
            }
            if (q < end) {
                q++;
                ln++;
            }
            p = q;
            continue;
        }
        free(rec);
        rec = malloc((size_t)(end - p) + 1);
        if (rec == NULL) {
            rc = MXG_ENOMEM;
            break;
        }
        const char *next = NULL;
        const char *why = NULL;
        unsigned long lines = 0;
        unsigned long at = b->fixed_line != 0 ? b->fixed_line : ln;
        if (join_record(p, end, rec, &next, &lines, &why) != MXG_OK) {
            mxg_set_err(run->err, run->errlen, "%s:%lu: %s", b->file, at, why);
            rc = MXG_EPARSE;
            break;
        }
        size_t tpos = 0, ts = 0, tl = 0;
        bool directive = rec[0] == '$' && next_token(rec, &tpos, &ts, &tl);
        if (directive && (token_is(rec, ts, tl, "$ORIGIN") || token_is(rec, ts, tl, "$TTL"))) {
            /* Again through libzscanner, from the state before it. */
            size_t rl = strlen(rec);
            rec[rl] = '\n';
            rc = restart(run, rec, rl + 1, at);
            if (rc == MXG_OK) {
                (void)zs_parse_record(run->s);
                if (run->s->state == ZS_STATE_ERROR) {
                    mxg_set_err(run->err, run->errlen, "%s:%lu: %s", b->file, at,
                                zs_strerror(run->s->error.code));
                    rc = MXG_EPARSE;
                } else {
                    save_state(run);
                }
            }
            if (rc != MXG_OK) {
                break;
            }
            p = next;
            ln += lines;
            continue;
        }
        if (directive && token_is(rec, ts, tl, "$INCLUDE")) {
            rc = do_include(run, b, rec, tpos, at);
        } else if (directive && token_is(rec, ts, tl, "$GENERATE")) {
            rc = do_generate(run, b, rec, tpos, at);
        } else if (directive) {
            mxg_set_err(run->err, run->errlen, "%s:%lu: unknown directive %.*s", b->file, at,
                        (int)tl, rec + ts);
            rc = MXG_EPARSE;
        } else {
            rc = read_refused(run, b, rec, ln);
        }
        p = next;
        ln += lines;
        break;
    }
    free(rec);
    *pos = (size_t)(p - b->text);
    *line = ln;
    return rc;
}

static int parse_buffer(struct zf_run *run, const struct zf_buf *b)
{
    size_t pos = 0;
    unsigned long line = 1;

    for (;;) {
        const char *start = b->text + pos, *end = b->text + b->len;
        int rc = restart(run, start, b->len - pos, line);
        if (rc != MXG_OK) {
            return rc;
        }
        const char *mark = start;
        unsigned long mark_line = line;
        bool stopped = false;
        while (!stopped) {
            (void)zs_parse_record(run->s);
            switch (run->s->state) {
            case ZS_STATE_DATA:
                save_state(run);
                rc = emit(run, b, run->s->r_type, NULL,
                          record_line(run->s, start, end, mark, mark_line));
                if (rc != MXG_OK) {
                    return rc;
                }
                mark = run->s->input.current;
                mark_line = (unsigned long)run->s->line_counter;
                break;
            case ZS_STATE_INCLUDE:
            case ZS_STATE_ERROR:
                if (run->s->error.code == ZS_ENOMEM) {
                    return MXG_ENOMEM;
                }
                if (run->s->error.code == ZS_UNCLOSED_MULTILINE) {
                    /* At the end of the text, after the record it opened was read. */
                    mxg_set_err(run->err, run->errlen, "%s:%lu: %s", b->file,
                                b->fixed_line != 0 ? b->fixed_line
                                                   : (unsigned long)run->s->line_counter,
                                zs_strerror(run->s->error.code));
                    return MXG_EPARSE;
                }
                stopped = true;
                break;
            default: /* the end of the text */
                save_state(run);
                return MXG_OK;
            }
        }
        if (mark < start || mark > end) {
            mark = end; /* the scanner's final block: nothing after it */
        }
        pos = (size_t)(mark - b->text);
        line = mark_line;
        rc = resync(run, b, &pos, &line);
        if (rc != MXG_OK) {
            return rc;
        }
        if (pos >= b->len) {
            return MXG_OK;
        }
    }
}

int mxg_zonefile_parse(const char *path, const char *origin, uint32_t default_ttl, mxg_zf_cb cb,
                       void *ctx, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (path == NULL || cb == NULL) {
        mxg_set_err(err, errlen, "no file or callback");
        return MXG_EINVAL;
    }
    char corigin[MXG_NAME_TEXT_MAX + 2];
    uint8_t wire[KNOT_DNAME_MAXLEN];
    if (mxg_name_canon(origin != NULL ? origin : ".", corigin, sizeof(corigin) - 1) != MXG_OK ||
        knot_dname_from_str(wire, corigin, sizeof(wire)) == NULL) {
        mxg_set_err(err, errlen, "%s: invalid origin", path);
        return MXG_EINVAL;
    }
    struct zf_run run = {.cb = cb, .ctx = ctx, .err = err, .errlen = errlen, .ttl = default_ttl};
    run.origin_len = (uint32_t)knot_dname_size(wire);
    memcpy(run.origin, wire, run.origin_len);
    run.content = malloc(MXG_CONTENT_MAX + 1);
    run.s = malloc(sizeof(*run.s));
    if (run.content == NULL || run.s == NULL) {
        free(run.content);
        free(run.s);
        return MXG_ENOMEM;
    }
    /* restart() deinitialises the scanner first: start from one that holds nothing. */
    if (zs_init(run.s, ".", KNOT_CLASS_IN, default_ttl) != 0) {
        free(run.content);
        free(run.s);
        return MXG_ENOMEM;
    }
    const char *why = NULL;
    int rc = read_path(&run, path, &why);
    if (rc == MXG_EIO) {
        mxg_set_err(err, errlen, "%s: %s", path, why != NULL ? why : "cannot read");
    }
    zs_deinit(run.s);
    free(run.s);
    free(run.content);
    return rc;
}
