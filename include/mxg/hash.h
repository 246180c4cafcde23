/* hash.h -- the one hash function of the hash tables (FNV-1a, 64 bits). */
#ifndef MXG_HASH_H
#define MXG_HASH_H

#include <stddef.h>
#include <stdint.h>

#define MXG_HASH_SEED 1469598103934665603ULL

/* Continues hash h over len bytes (start with MXG_HASH_SEED). */
static inline uint64_t mxg_hash_more(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static inline uint64_t mxg_hash_bytes(const void *data, size_t len)
{
    return mxg_hash_more(MXG_HASH_SEED, data, len);
}

static inline uint64_t mxg_hash_str(const char *s)
{
    uint64_t h = MXG_HASH_SEED;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

#endif
