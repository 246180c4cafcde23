/* json.h -- jansson's parse and dump made safe under allocation failure. */
#ifndef MXG_JSON_H
#define MXG_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "mxg/err.h"

/* json_loadb() that never returns a value damaged by an allocation failure (jansson's parser
 * can drop a character of a string when one fails): 0 with *out a new reference, MXG_ENOMEM, or
 * MXG_EPARSE with details in jerr. The first call chains jansson's allocator through a counting
 * one; it comes from the loop thread, before any commit runs in the thread pool. A failure in
 * another thread during the parse also refuses it (MXG_ENOMEM): safe, never a damaged value. */
MXG_MUST_CHECK int mxg_json_loadb(const char *buf, size_t len, size_t flags, json_t **out,
                                  json_error_t *jerr);

/* json_dumps() that returns NULL whenever an allocation failed during the dump (jansson's own
 * can return a string with a piece missing then). A new malloc'd NUL-terminated string; *len
 * (may be NULL) receives its length. */
char *mxg_json_dumps(const json_t *json, size_t flags, size_t *len);

#endif
