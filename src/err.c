/* err.c -- names of status codes. */
#include "mxg/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *mxg_strerror(int code)
{
    switch (code) {
    case MXG_OK:
        return "success";
    case MXG_EINVAL:
        return "invalid input";
    case MXG_ENOMEM:
        return "out of memory";
    case MXG_ENOENT:
        return "not found";
    case MXG_EEXIST:
        return "already exists";
    case MXG_ERANGE:
        return "input exceeds a limit";
    case MXG_EIO:
        return "I/O error";
    case MXG_ESTORE:
        return "store error";
    case MXG_ETXN:
        return "no such transaction";
    case MXG_EBUSY:
        return "busy";
    case MXG_EPARSE:
        return "parse error";
    case MXG_EUNSUPP:
        return "not supported";
    case MXG_ENOSPC:
        return "the store's disk is full";
    default:
        return "unknown error";
    }
}

void mxg_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
