/* fixtures.c -- what the cmocka unit tests share (fixtures.h). */
#include "fixtures.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mxg/err.h"

void mxg_test_db_path(char *out, size_t outlen, const char *tag)
{
    snprintf(out, outlen, "/tmp/mxg-test-%s.XXXXXX", tag);
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    close(fd);
    unlink(out);
}

json_t *mxg_test_call(struct mxg_session *s, const char *line)
{
    char *reply = NULL;
    size_t len = 0;
    assert_int_equal(mxg_backend_handle(s, line, strlen(line), &reply, &len), MXG_OK);
    assert_non_null(reply);
    assert_true(len > 0 && reply[len - 1] == '\n');
    assert_null(memchr(reply, '\n', len - 1)); /* exactly one line */
    json_error_t e;
    json_t *j = json_loadb(reply, len, 0, &e);
    free(reply);
    assert_non_null(j);
    return j;
}
