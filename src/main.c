/* main.c -- mxguard(8). */
#include "mxg/cli.h"

int main(int argc, char **argv)
{
    return mxg_cli_main(argc, argv);
}
