/* err.h -- status codes shared by every mxguard module.
 *
 * Functions return int: 0 (MXG_OK) on success, a negative MXG_E* code on failure.
 * Results travel through out-parameters. mxg_strerror() names a code. */
#ifndef MXG_ERR_H
#define MXG_ERR_H

#include <stddef.h>

/* On a function returning a status code: a call dropping it warns (gcc: even cast to void). */
#if defined(__GNUC__) || defined(__clang__)
#define MXG_MUST_CHECK __attribute__((warn_unused_result))
#else
#define MXG_MUST_CHECK
#endif

enum mxg_err {
    MXG_OK = 0,
    MXG_EINVAL = -1,   /* malformed input: a bad name, record, parameter */
    MXG_ENOMEM = -2,   /* allocation failed */
    MXG_ENOENT = -3,   /* no such zone, record, key */
    MXG_EEXIST = -4,   /* already exists */
    MXG_ERANGE = -5,   /* input exceeds a limit of limits.h */
    MXG_EIO = -6,      /* file or socket I/O failed */
    MXG_ESTORE = -7,   /* the store engine failed */
    MXG_ETXN = -8,     /* transaction state does not allow this call */
    MXG_EBUSY = -9,    /* resource held by someone else */
    MXG_EPARSE = -10,  /* syntax error in a file or message */
    MXG_EUNSUPP = -11, /* not supported (yet) */
    MXG_ENOSPC = -12   /* the store's disk (or quota) is full */
};

/* Returns a static, human-readable name for an MXG_E* code. */
const char *mxg_strerror(int code);

/* Formats a reason into err (nothing when err is NULL or errlen 0). */
void mxg_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
