/* json.c -- jansson's parse and dump made safe under allocation failure (json.h). */
#include "mxg/json.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mxg/err.h"

/* jansson's parser drops a character when growing its token buffer fails (the failure is not
 * checked), so json_loadb() can return a value with a string cut short ("example" read as
 * "exampl") instead of NULL. jansson's allocator is therefore chained through one that counts
 * failures, and a parse during which one failed is refused. The counting allocator delegates to
 * the one it replaces, so values made before and after its installation mix safely. */
static json_malloc_t next_malloc;
static atomic_ulong json_alloc_failures; /* commits allocate JSON in libuv's thread pool too */

static void *counting_malloc(size_t n)
{
    void *p = next_malloc(n);
    if (!p)
        atomic_fetch_add(&json_alloc_failures, 1);
    return p;
}

int mxg_json_loadb(const char *buf, size_t len, size_t flags, json_t **out, json_error_t *jerr)
{
    json_malloc_t m = NULL;
    json_free_t f = NULL;
    json_get_alloc_funcs(&m, &f);
    if (m != counting_malloc) {
        next_malloc = m ? m : malloc;
        json_set_alloc_funcs(counting_malloc, f ? f : free);
    }
    unsigned long failures = atomic_load(&json_alloc_failures);
    *out = json_loadb(buf, len, flags, jerr);
    if (atomic_load(&json_alloc_failures) != failures) {
        json_decref(*out);
        *out = NULL;
        return MXG_ENOMEM;
    }
    if (!*out)
        return json_error_code(jerr) == json_error_out_of_memory ? MXG_ENOMEM : MXG_EPARSE;
    return MXG_OK;
}

/* jansson's dumper ignores the status of some of its writes (object keys), so a failed
 * allocation inside json_dumps() can yield a string with a piece missing instead of NULL. This
 * buffer remembers any failure itself. */
struct dumpbuf {
    char *p;
    size_t len, cap;
    bool failed;
};

static int dump_cb(const char *buf, size_t size, void *data)
{
    struct dumpbuf *d = data;
    if (d->failed)
        return -1;
    if (d->cap - d->len <= size) { /* keep a byte for the NUL */
        size_t ncap = d->cap ? d->cap : 256;
        while (ncap - d->len <= size)
            ncap *= 2;
        char *np = realloc(d->p, ncap);
        if (!np) {
            d->failed = true;
            return -1;
        }
        d->p = np;
        d->cap = ncap;
    }
    memcpy(d->p + d->len, buf, size);
    d->len += size;
    return 0;
}

char *mxg_json_dumps(const json_t *json, size_t flags, size_t *len)
{
    struct dumpbuf d = {NULL, 0, 0, false};
    if (json_dump_callback(json, dump_cb, &d, flags) != 0 || d.failed || !d.p) {
        free(d.p);
        return NULL;
    }
    d.p[d.len] = '\0';
    if (len)
        *len = d.len;
    return d.p;
}
