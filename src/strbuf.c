/* strbuf.c -- the growing text buffer (see strbuf.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mxg/array.h"
#include "mxg/err.h"
#include "mxg/strbuf.h"

void mxg_strbuf_reserve(struct mxg_strbuf *b, size_t n)
{
    if (b->failed)
        return;
    if (n >= SIZE_MAX - b->len) {
        b->failed = true; /* more than memory can hold */
        return;
    }
    if (b->len + n + 1 <= b->cap)
        return;
    char *p = realloc(b->p, b->len + n + 1);
    if (!p) {
        b->failed = true;
        return;
    }
    b->p = p;
    b->cap = b->len + n + 1;
}

void mxg_strbuf_put(struct mxg_strbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (n >= SIZE_MAX - b->len) {
        b->failed = true;
        return;
    }
    if (MXG_ARRAY_RESERVE(b->p, b->cap, b->len + n + 1, 4096) != MXG_OK) {
        b->failed = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void mxg_strbuf_puts(struct mxg_strbuf *b, const char *s)
{
    mxg_strbuf_put(b, s, strlen(s));
}
