/* fake_view.h -- a policy view for tests: two record tables (BEFORE, AFTER) and a list of zone
 * apexes, in memory. Shared by the policy's unit tests, its fuzz target and the
 * allocation-failure sweep. */
#ifndef MXG_TEST_FAKE_VIEW_H
#define MXG_TEST_FAKE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxg/policy.h"

#define FAKE_MAXREC 64

struct fake_rec {
    char name[128];
    char type[16];
    char content[128];
    uint32_t ttl;
};

struct fake_view {
    struct fake_rec rec[2][FAKE_MAXREC];
    size_t n[2];
    const char *zones[8]; /* zone_of answers the deepest of these */
    size_t nz;
    const char *added;   /* a zone of zones served AFTER only */
    const char *deleted; /* a zone of zones served BEFORE only */
    /* Modes of other zones (zone_info); zones not listed answer MXG_ENOENT. */
    const char *mode_zone[4];
    enum mxg_mode mode_val[4];
    bool mode_slave[4];
    size_t nmodes;
};

/* The view's callbacks; the view's ctx is a struct fake_view. */
extern const struct mxg_view_ops FAKE_VIEW_OPS;

/* Adds a record to one side; aborts when the table is full (a test too large for it). */
void fake_add(struct fake_view *f, int side, const char *name, const char *type,
              const char *content, uint32_t ttl);
/* A record in both states (TTL 3600). */
void fake_both(struct fake_view *f, const char *name, const char *type, const char *content);
/* Removes (name, type) from AFTER; type NULL: every type of name. */
void fake_del_after(struct fake_view *f, const char *name, const char *type);
/* Replaces (name, type) in AFTER with the given contents (NULL-terminated, TTL 3600). */
void fake_set_after(struct fake_view *f, const char *name, const char *type, ...);
/* Whether side holds a record like `like` (name, type, content, and the TTL when ttl). */
bool fake_has(const struct fake_view *f, int side, const struct fake_rec *like, bool ttl);
/* The touched names: every name with a record (TTL included) in one state only, each once, at
 * most max. The names point into f. */
size_t fake_touched(const struct fake_view *f, const char **names, size_t max);

#endif
