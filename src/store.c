/* store.c -- engine selection and helpers shared by every store engine. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mxg/err.h"
#include "mxg/store.h"

int mxg_store_open(const char *uri, struct mxg_store **out, char *err, size_t errlen)
{
    if (strncmp(uri, "sqlite:", 7) == 0 && uri[7] != '\0')
        return mxg_store_sqlite_open(uri + 7, out, err, errlen);
    if (strncmp(uri, "postgresql://", 13) == 0 || strncmp(uri, "postgres://", 11) == 0) {
        snprintf(err, errlen, "PostgreSQL store not available in this version");
        return MXG_EUNSUPP;
    }
    snprintf(err, errlen, "unknown store '%s' (expected sqlite:PATH)", uri);
    return MXG_EINVAL;
}

const char *mxg_zone_kind_name(enum mxg_zone_kind kind)
{
    switch (kind) {
    case MXG_KIND_MASTER:
        return "master";
    case MXG_KIND_SLAVE:
        return "slave";
    default:
        return "native";
    }
}

int mxg_zone_kind_parse(const char *s, enum mxg_zone_kind *out)
{
    if (strcasecmp(s, "native") == 0)
        *out = MXG_KIND_NATIVE;
    else if (strcasecmp(s, "master") == 0 || strcasecmp(s, "primary") == 0)
        *out = MXG_KIND_MASTER;
    else if (strcasecmp(s, "slave") == 0 || strcasecmp(s, "secondary") == 0)
        *out = MXG_KIND_SLAVE;
    else
        return MXG_EINVAL;
    return MXG_OK;
}
