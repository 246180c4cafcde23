/* failalloc.c -- the --wrap allocator of the allocation-failure sweep (see failalloc.h). */
#include "failalloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
void __wrap_free(void *p);

static bool armed, persistent, injected;
static size_t calls, fail_at;

/* ---- the set of live pointers: open addressing, linear probing, backward-shift deletion ---- */

#define SLOTS (1u << 18)
static uintptr_t slots[SLOTS];
static size_t live;

static size_t slot_of(uintptr_t p)
{
    uint64_t h = (uint64_t)p * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 46) & (SLOTS - 1);
}

static void track(void *ptr)
{
    if (!ptr)
        return;
    if (live >= (size_t)SLOTS / 4 * 3) {
        fputs("failalloc: too many live allocations to track\n", stderr);
        abort();
    }
    uintptr_t p = (uintptr_t)ptr;
    size_t j = slot_of(p);
    while (slots[j])
        j = (j + 1) & (SLOTS - 1);
    slots[j] = p;
    live++;
}

/* Forgets ptr if it is tracked (memory from an unwrapped allocator is freed here too). */
static void untrack(void *ptr)
{
    uintptr_t p = (uintptr_t)ptr;
    size_t j = slot_of(p);
    while (slots[j] && slots[j] != p)
        j = (j + 1) & (SLOTS - 1);
    if (!slots[j])
        return;
    slots[j] = 0;
    live--;
    /* Move back the entries of the run after j that would no longer be found. */
    for (size_t k = (j + 1) & (SLOTS - 1); slots[k]; k = (k + 1) & (SLOTS - 1)) {
        size_t home = slot_of(slots[k]);
        bool movable = j <= k ? (home <= j || home > k) : (home <= j && home > k);
        if (movable) {
            slots[j] = slots[k];
            slots[k] = 0;
            j = k;
        }
    }
}

static bool fail_now(void)
{
    if (!armed)
        return false;
    calls++;
    if (fail_at != 0 && (calls == fail_at || (persistent && calls > fail_at))) {
        injected = true;
        errno = ENOMEM;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t n)
{
    if (fail_now())
        return NULL;
    void *p = __real_malloc(n);
    track(p);
    return p;
}

void *__wrap_calloc(size_t k, size_t n)
{
    if (fail_now())
        return NULL;
    void *p = __real_calloc(k, n);
    track(p);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    if (fail_now())
        return NULL; /* p stays valid, as with a real failure */
    void *q = __real_realloc(p, n);
    if (q || n == 0) {
        if (p)
            untrack(p);
        track(q);
    }
    return q;
}

char *__wrap_strdup(const char *s)
{
    size_t n = strlen(s);
    char *d = __wrap_malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

char *__wrap_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = __wrap_malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

void __wrap_free(void *p)
{
    if (!p)
        return;
    untrack(p);
    __real_free(p);
}

void fa_init(void)
{
    json_set_alloc_funcs(__wrap_malloc, __wrap_free);
}

void fa_arm(size_t at, bool persist)
{
    calls = 0;
    fail_at = at;
    persistent = persist;
    injected = false;
    armed = true;
}

size_t fa_disarm(void)
{
    armed = false;
    return calls;
}

bool fa_injected(void)
{
    return injected;
}

size_t fa_live(void)
{
    return live;
}
