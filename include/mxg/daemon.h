/* daemon.h -- `mxguard serve`: open the store, listen, drop privileges, run the loop. */
#ifndef MXG_DAEMON_H
#define MXG_DAEMON_H

#include "mxg/config.h"

/* Runs until SIGTERM/SIGINT. cfg is owned by the daemon from here (replaced on SIGHUP).
 * Returns a process exit status (0 clean stop, 2 startup failure). */
int mxg_daemon_run(struct mxg_config *cfg);

#endif
