/* fixtures.h -- what the cmocka unit tests share: temporary SQLite stores and one protocol
 * round trip through a backend session. */
#ifndef MXG_TEST_FIXTURES_H
#define MXG_TEST_FIXTURES_H

#include <stddef.h>

#include <jansson.h>

#include "mxg/backend.h"

/* A fresh path for a temporary SQLite database, /tmp/mxg-test-TAG.XXXXXX, with no file there. */
void mxg_test_db_path(char *out, size_t outlen, const char *tag);

/* Removes a SQLite database and its -wal and -shm files. */
void mxg_test_db_remove(const char *path);

/* Sends one request line through the session; the reply must be one line ending in "\n" and
 * valid JSON, which is returned parsed (caller decrefs). */
json_t *mxg_test_call(struct mxg_session *s, const char *line);

#endif
