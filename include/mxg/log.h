/* log.h -- mxguard's own log: stderr or syslog, filtered by level. */
#ifndef MXG_LOG_H
#define MXG_LOG_H

#include "mxg/config.h"

/* Sets target and threshold; safe to call again (SIGHUP). ident names the program in syslog. */
void mxg_log_setup(enum mxg_log_target target, enum mxg_log_level level, const char *ident);

void mxg_log(enum mxg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define mxg_err(...) mxg_log(MXG_LOG_ERROR, __VA_ARGS__)
#define mxg_warn(...) mxg_log(MXG_LOG_WARNING, __VA_ARGS__)
#define mxg_info(...) mxg_log(MXG_LOG_INFO, __VA_ARGS__)
#define mxg_debug(...) mxg_log(MXG_LOG_DEBUG, __VA_ARGS__)

/* True when messages of this level are written (to skip costly formatting). */
int mxg_log_enabled(enum mxg_log_level level);

#endif
