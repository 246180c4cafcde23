/* tmpdb.c -- removing a temporary SQLite database (fixtures.h); no cmocka, so the fuzz
 * targets and the allocation sweep can use it too. */
#include <stdio.h>
#include <unistd.h>

#include "fixtures.h"

void mxg_test_db_remove(const char *path)
{
    char p[4200];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}
