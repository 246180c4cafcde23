/* failalloc.h -- a counting, failing allocator for the allocation-failure sweep.
 *
 * The sweep binary is linked with --wrap=malloc,calloc,realloc,strdup,strndup,free, so every call
 * to those functions from the objects linked into it (the sweep's own files and the mxg_core
 * objects it pulls in) goes through failalloc.c; jansson is routed to the same allocator with
 * json_set_alloc_funcs(). Shared libraries (libc internals, SQLite, libknot) keep the real
 * allocator.
 *
 * While armed, allocations are numbered from 1; allocation fail_at (and, in persistent mode,
 * every later one) returns NULL with errno ENOMEM. Every pointer handed out is tracked, so the
 * number of live allocations shows a leak in any build, not only under a leak checker. */
#ifndef MXG_FAILALLOC_H
#define MXG_FAILALLOC_H

#include <stdbool.h>
#include <stddef.h>

/* Routes jansson through the allocator. Call before any JSON value exists. */
void fa_init(void);
/* Starts numbering allocations; fail_at 0 fails none. */
void fa_arm(size_t fail_at, bool persistent);
/* Stops numbering; returns the number of allocation calls made while armed. */
size_t fa_disarm(void);
/* Whether an allocation failed on purpose since the last fa_arm(). */
bool fa_injected(void);
/* Allocations made through the wrappers and not freed yet. */
size_t fa_live(void);

#endif
