/* daemon.h -- `mxguard serve`: open the store, listen, drop privileges, run the loop. */
#ifndef MXG_DAEMON_H
#define MXG_DAEMON_H

#include "mxg/backend.h"
#include "mxg/config.h"
#include "mxg/server.h"

/* Runs until SIGTERM/SIGINT. cfg is owned by the daemon from here (replaced on SIGHUP).
 * Returns a process exit status (0 clean stop, 2 startup failure). */
int mxg_daemon_run(struct mxg_config *cfg);

/* The backend socket's line handler: the remote-backend protocol over be, one session per
 * connection (tests build a backend socket with it too). */
struct mxg_line_handler mxg_daemon_backend_handler(struct mxg_backend *be);

#endif
