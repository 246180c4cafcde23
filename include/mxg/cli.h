/* cli.h -- entry point of the mxguard command line. */
#ifndef MXG_CLI_H
#define MXG_CLI_H

/* Parses argv and runs the subcommand; returns the process exit status. */
int mxg_cli_main(int argc, char **argv);

#endif
