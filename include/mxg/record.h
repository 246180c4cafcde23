/* record.h -- one DNS record as the store, the views and the policy pass it around. */
#ifndef MXG_RECORD_H
#define MXG_RECORD_H

#include <stdbool.h>
#include <stdint.h>

struct mxg_record {
    const char *name;    /* canonical owner */
    const char *type;    /* canonical mnemonic; "ENT" for a stored empty non-terminal */
    const char *content; /* pdns form */
    uint32_t ttl;
    int64_t domain_id;
    bool auth;
};

typedef int (*mxg_record_cb)(void *ctx, const struct mxg_record *rec);

#endif
