/* zonefile.c -- RFC 1035 master files through libzscanner, records as pdns content. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libknot/libknot.h>
#include <libzscanner/scanner.h>

#include "mxg/dns.h"
#include "mxg/err.h"

/* Deepest $INCLUDE nesting accepted (a file including itself stops here). */
#define ZF_INCLUDE_DEPTH 16

struct zf_run {
    mxg_zf_cb cb;
    void *ctx;
    char *err;
    size_t errlen;
    char *content; /* MXG_CONTENT_MAX + 1 bytes */
    /* Why the file parse_file() was given could not be read (NULL: it was read): lets the
     * caller of an $INCLUDE word the error without mistaking a callback's error for it. */
    const char *unreadable;
};

__attribute__((format(printf, 3, 4))) static void zf_err(char *err, size_t errlen, const char *fmt,
                                                         ...)
{
    if (err == NULL || errlen == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Line on which the record just parsed begins. zscanner reports the line where it ends; walk
 * forward from the end of the previous item over blanks, comment and directive lines. Only while
 * the scanner still reads the file mapping (the final block replaces it). */
static unsigned long record_line(const zs_scanner_t *s, const char *map_start, const char *map_end,
                                 const char *mark, unsigned long mark_line)
{
    unsigned long end_line = (unsigned long)s->line_counter;

    if (mark == NULL || s->input.start != map_start || s->input.end != map_end ||
        s->input.current < mark || s->input.current > map_end) {
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

static int emit(struct zf_run *run, const zs_scanner_t *s, unsigned long line)
{
    const char *file = s->file.name != NULL ? s->file.name : "?";
    char owner[MXG_NAME_TEXT_MAX + 1];
    char tname[MXG_TYPE_MAX];
    char reason[256];

    if (s->r_class != KNOT_CLASS_IN) {
        zf_err(run->err, run->errlen, "%s:%lu: only class IN is supported", file, line);
        return MXG_EPARSE;
    }
    /* The owner in pdns's text form, as pdnsutil load-zone stores it. */
    if (s->r_owner_length == 0 ||
        mxg_name_from_wire(s->r_owner, s->r_owner_length, owner, sizeof(owner)) != MXG_OK) {
        zf_err(run->err, run->errlen, "%s:%lu: invalid owner", file, line);
        return MXG_EPARSE;
    }
    if (mxg_rrtype_name(s->r_type, tname, sizeof(tname)) != MXG_OK) {
        zf_err(run->err, run->errlen, "%s:%lu: record type %u not allowed in a zone", file, line,
               (unsigned)s->r_type);
        return MXG_EPARSE;
    }
    reason[0] = '\0';
    int rc = mxg_rr_from_wire(s->r_type, s->r_data, s->r_data_length, run->content,
                              MXG_CONTENT_MAX + 1, reason, sizeof(reason));
    if (rc == MXG_ENOMEM) {
        return rc;
    }
    if (rc != MXG_OK) {
        zf_err(run->err, run->errlen, "%s:%lu: %s", file, line, reason);
        return MXG_EPARSE;
    }
    struct mxg_zf_record rec = {
        .owner = owner,
        .type = tname,
        .ttl = s->r_ttl,
        .content = run->content,
        .line = line,
        .file = file,
    };
    return run->cb(run->ctx, &rec);
}

/* Parses one file; included files recurse. Returns MXG_EIO when path cannot be opened or is
 * not a regular file, MXG_EINVAL for a bad origin (both with run->unreadable set). */
static int parse_file(struct zf_run *run, const char *path, const char *origin, uint32_t ttl,
                      unsigned depth)
{
    /* Only regular files: opening a FIFO blocks until a writer appears, and a device such as
     * /dev/zero or a terminal on /dev/stdin never ends. A path that does not stat is left to
     * zscanner, which words the error. */
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        run->unreadable = "not a regular file";
        zf_err(run->err, run->errlen, "%s: %s", path, run->unreadable);
        return MXG_EIO;
    }
    zs_scanner_t *s = malloc(sizeof(*s));
    if (s == NULL) {
        return MXG_ENOMEM;
    }
    if (zs_init(s, origin, KNOT_CLASS_IN, ttl) != 0) {
        int code = s->error.code;
        zs_deinit(s);
        free(s);
        zf_err(run->err, run->errlen, "%s: invalid origin %s", path, origin);
        if (code == ZS_ENOMEM)
            return MXG_ENOMEM;
        run->unreadable = "invalid origin";
        return MXG_EINVAL;
    }
    if (zs_set_input_file(s, path) != 0) {
        run->unreadable = zs_strerror(s->error.code);
        zf_err(run->err, run->errlen, "%s: %s", path, run->unreadable);
        zs_deinit(s);
        free(s);
        return MXG_EIO;
    }

    const char *map_start = s->input.start, *map_end = s->input.end;
    const char *mark = map_start;
    unsigned long mark_line = 1;
    int rc = MXG_OK;
    bool done = false;
    while (!done && rc == MXG_OK) {
        (void)zs_parse_record(s);
        const char *file = s->file.name != NULL ? s->file.name : path;
        unsigned long line = (unsigned long)s->line_counter;
        switch (s->state) {
        case ZS_STATE_DATA:
            rc = emit(run, s, record_line(s, map_start, map_end, mark, mark_line));
            mark = s->input.current;
            mark_line = line;
            break;
        case ZS_STATE_INCLUDE: {
            mark = s->input.current;
            mark_line = line;
            if (depth + 1 >= ZF_INCLUDE_DEPTH) {
                zf_err(run->err, run->errlen, "%s:%lu: $INCLUDE nested too deeply", file, line);
                rc = MXG_EPARSE;
                break;
            }
            /* zscanner resolved the file name (include_filename) and origin (buffer). */
            char *incl = strdup(s->include_filename);
            char *iorigin = strdup((const char *)s->buffer);
            if (incl == NULL || iorigin == NULL) {
                free(incl);
                free(iorigin);
                rc = MXG_ENOMEM;
                break;
            }
            run->unreadable = NULL;
            rc = parse_file(run, incl, iorigin, s->default_ttl, depth + 1);
            /* Only the included file's own failure to open is worded here: an error from
             * inside it (a syntax error, a callback's return) keeps its code and message. */
            if (rc != MXG_OK && run->unreadable != NULL) {
                zf_err(run->err, run->errlen, "%s:%lu: cannot read included file %s (%s)", file,
                       line, incl, run->unreadable);
                run->unreadable = NULL;
                rc = MXG_EPARSE;
            }
            free(incl);
            free(iorigin);
            break;
        }
        case ZS_STATE_ERROR:
            zf_err(run->err, run->errlen, "%s:%lu: %s", file, line, zs_strerror(s->error.code));
            rc = MXG_EPARSE;
            break;
        default: /* EOF, or nothing more */
            done = true;
            break;
        }
    }
    zs_deinit(s);
    free(s);
    return rc;
}

int mxg_zonefile_parse(const char *path, const char *origin, uint32_t default_ttl, mxg_zf_cb cb,
                       void *ctx, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (path == NULL || cb == NULL) {
        zf_err(err, errlen, "no file or callback");
        return MXG_EINVAL;
    }
    char corigin[MXG_NAME_TEXT_MAX + 1];
    if (mxg_name_canon(origin != NULL ? origin : ".", corigin, sizeof(corigin)) != MXG_OK) {
        zf_err(err, errlen, "%s: invalid origin", path);
        return MXG_EINVAL;
    }
    struct zf_run run = {.cb = cb, .ctx = ctx, .err = err, .errlen = errlen};
    run.content = malloc(MXG_CONTENT_MAX + 1);
    if (run.content == NULL) {
        return MXG_ENOMEM;
    }
    int rc = parse_file(&run, path, corigin, default_ttl, 0);
    free(run.content);
    return rc;
}
