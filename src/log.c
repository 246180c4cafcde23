/* log.c -- mxguard's own log. */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "mxg/log.h"

static enum mxg_log_target log_target = MXG_LOG_STDERR;
static enum mxg_log_level log_level = MXG_LOG_INFO;

void mxg_log_setup(enum mxg_log_target target, enum mxg_log_level level, const char *ident)
{
    if (log_target == MXG_LOG_SYSLOG && target != MXG_LOG_SYSLOG)
        closelog();
    if (target == MXG_LOG_SYSLOG && log_target != MXG_LOG_SYSLOG)
        openlog(ident, LOG_PID, LOG_DAEMON);
    log_target = target;
    log_level = level;
}

int mxg_log_enabled(enum mxg_log_level level)
{
    return level <= log_level;
}

void mxg_log(enum mxg_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    if (level > log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (log_target == MXG_LOG_SYSLOG) {
        vsyslog(prio[level], fmt, ap);
    } else {
        struct timespec ts;
        struct tm tm;
        char stamp[32];
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        if (strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
            stamp[0] = '\0';
        fprintf(stderr, "%s.%03ldZ mxguard[%s]: ", stamp, ts.tv_nsec / 1000000L, names[level]);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
}
