/* front_ui.h -- the read-only operator page /ui/ of the HTTP API front (PRODUCT.md §6).
 *
 * One HTML page (inline CSS, no script, no external asset) built from the replies of four
 * control ops: stats (the summary), scan (zones by class), audit.show (the latest decisions,
 * with their findings, remedy and fix) and audit.verify (the chain's state). Rendering does no
 * I/O: the front makes the calls and answers what this returns. Every string taken from the
 * data is HTML-escaped. */
#ifndef MXG_FRONT_UI_H
#define MXG_FRONT_UI_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* How many decisions the page shows. */
#define MXG_UI_DECISIONS 50

/* The page. Each argument is the reply of its op, borrowed; NULL, or a reply without "ok":
 * true, makes its section say that the data is unavailable (with the reply's error message).
 * audit is audit.show's reply, oldest first (shown newest first). stats may carry
 * "api_refused": the PATCHes the front refused with 422 (not commits, so not in "rejected").
 * Returns a malloc'd, NUL-terminated page, or NULL when out of memory. */
char *mxg_front_ui_page(json_t *stats, json_t *scan, json_t *audit, json_t *verify);

/* s with &, <, >, " and ' replaced by their character references: a malloc'd string, or NULL
 * when out of memory (NULL s gives ""). */
char *mxg_front_ui_escape(const char *s);

/* The "after" of the audit.show that asks for the newest `limit` records, from stats's
 * "audit_head" ("SEQ:HASH"): SEQ - limit, 0 when that is below 0 or the head is missing or
 * malformed (then the oldest records are asked for). */
long long mxg_front_ui_after(json_t *stats, long long limit);

/* The password of an HTTP Basic Authorization header value ("Basic " base64 of "user:password",
 * the scheme in any case), into out. False when value is NULL, not Basic, not base64, has no
 * ':' , holds a NUL byte, or the password does not fit outlen. */
bool mxg_front_basic_password(const char *value, char *out, size_t outlen);

#endif
