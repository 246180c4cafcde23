/* strbuf.h -- the growing text buffer of every module that writes text piece by piece (the
 * audit record's canonical JSON, the operator page).
 *
 * Zero-initialised is empty. The text is always NUL-terminated once anything was put. A failed
 * allocation sets failed and turns every later call into a no-op, so a writer checks once at
 * the end. The caller owns p (free it, or take it as the result). */
#ifndef MXG_STRBUF_H
#define MXG_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct mxg_strbuf {
    char *p;
    size_t len, cap;
    bool failed;
};

/* Room for n more bytes (and the NUL) at once, without doubling past it. */
void mxg_strbuf_reserve(struct mxg_strbuf *b, size_t n);
void mxg_strbuf_put(struct mxg_strbuf *b, const char *s, size_t n);
void mxg_strbuf_puts(struct mxg_strbuf *b, const char *s);

#endif
