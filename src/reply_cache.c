/* reply_cache.c -- lookup replies kept as bytes (see reply_cache.h).
 *
 * The entries sit in one array, found through the hash set (hashset.h); sized for a long-tailed
 * stream over a hosting store (tens of thousands of names asked). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxg/hash.h"
#include "mxg/hashset.h"
#include "mxg/limits.h"
#include "mxg/reply_cache.h"

#define CACHE_ENTRIES_MAX 65536
#define CACHE_BYTES_MAX ((size_t)64 << 20)
#define CACHE_REPLY_MAX 16384

struct cache_entry {
    uint64_t hash;
    char *key; /* key, reply and qname in one allocation */
    size_t keylen;
    char *reply;
    size_t len;
    char *qname; /* as the cached reply spells it */
    size_t qlen;
};

struct mxg_reply_cache {
    struct cache_entry *entries; /* CACHE_ENTRIES_MAX of them, n in use */
    struct mxg_hset index;       /* over entries, by hash */
    size_t n, bytes;
    uint64_t generation;
};

struct mxg_reply_cache *mxg_reply_cache_new(void)
{
    struct mxg_reply_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->entries = calloc(CACHE_ENTRIES_MAX, sizeof(*c->entries));
    if (!c->entries || mxg_hset_reserve(&c->index, CACHE_ENTRIES_MAX) != MXG_OK) {
        mxg_reply_cache_free(c);
        return NULL;
    }
    return c;
}

static uint64_t entry_hash(const void *ctx, uint32_t i)
{
    const struct mxg_reply_cache *c = ctx;
    return c->entries[i].hash;
}

static void cache_clear(struct mxg_reply_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->entries[i].key);
    /* Emptied on every commit: only the slots in use are zeroed, not the whole index. */
    mxg_hset_clear_entries(&c->index, entry_hash, c);
    c->n = 0;
    c->bytes = 0;
}

void mxg_reply_cache_free(struct mxg_reply_cache *c)
{
    if (!c)
        return;
    if (c->entries)
        cache_clear(c);
    free(c->entries);
    mxg_hset_free(&c->index);
    free(c);
}

/* A name written in JSON as it is, whose letters may be folded: printable ASCII, no '"' or
 * '\\'. */
static bool plain_name(const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
            return false;
    }
    return true;
}

bool mxg_reply_cache_key(const struct mxg_request *req, struct mxg_cache_key *k)
{
    const char *qname = NULL, *qtype = NULL;
    int64_t zone_id = -1;
    if (mxg_param_string(req, "qname", &qname) != MXG_OK ||
        mxg_param_string(req, "qtype", &qtype) != MXG_OK)
        return false;
    int rc = mxg_param_int(req, "zone-id", &zone_id);
    if (rc != MXG_OK && rc != MXG_ENOENT)
        return false;
    size_t nl = strlen(qname), tl = strlen(qtype);
    if (nl > MXG_NAME_TEXT_MAX || tl > 32)
        return false;
    int n = snprintf(k->key, sizeof(k->key), "%s%c%" PRId64 "%c", qtype, 0,
                     rc == MXG_OK ? zone_id : -1, 0);
    if (n < 0 || (size_t)n + nl > sizeof(k->key))
        return false;
    /* The key is bytes with a length (it holds NULs), not a C string. */
    memcpy(k->key + n, qname, nl); // NOLINT(bugprone-not-null-terminated-result)
    if (plain_name(qname, nl)) {
        char *p = k->key + n;
        for (size_t i = 0; i < nl; i++) {
            if (p[i] >= 'A' && p[i] <= 'Z')
                p[i] = (char)(p[i] - 'A' + 'a');
        }
    }
    k->len = (size_t)n + nl;
    uint64_t h = mxg_hash_bytes(k->key, k->len);
    k->hash = h ^ (h >> 29);
    k->qname = qname;
    k->qlen = nl;
    return true;
}

/* A copy of a cached reply for a question spelled qname: the entry's spelling of the qname in
 * every "qname" member replaced by this one (plain names only: equal but for letter case, same
 * length, and written in JSON as they are). */
static char *reply_for(const struct cache_entry *e, const char *qname, size_t qlen)
{
    char *copy = malloc(e->len);
    if (!copy)
        return NULL;
    memcpy(copy, e->reply, e->len);
    if (qlen != e->qlen || memcmp(qname, e->qname, qlen) == 0)
        return copy;
    static const char member[] = "\"qname\":\"";
    size_t ml = sizeof(member) - 1;
    for (size_t i = 0; i + ml + qlen < e->len; i++) {
        if (copy[i] == '"' && memcmp(copy + i, member, ml) == 0 &&
            memcmp(copy + i + ml, e->qname, qlen) == 0 && copy[i + ml + qlen] == '"') {
            memcpy(copy + i + ml, qname, qlen);
            i += ml + qlen;
        }
    }
    return copy;
}

static const struct cache_entry *find(const struct mxg_reply_cache *c,
                                      const struct mxg_cache_key *k)
{
    struct mxg_hset_probe p;
    for (uint32_t i = mxg_hset_first(&c->index, k->hash, &p); i != MXG_HSET_NONE;
         i = mxg_hset_next(&p)) {
        const struct cache_entry *e = &c->entries[i];
        if (e->hash == k->hash && e->keylen == k->len && memcmp(e->key, k->key, k->len) == 0)
            return e;
    }
    return NULL;
}

int mxg_reply_cache_get(struct mxg_reply_cache *c, uint64_t gen, const struct mxg_cache_key *k,
                        char **reply, size_t *len)
{
    if (gen != c->generation) {
        cache_clear(c);
        c->generation = gen;
        return MXG_ENOENT;
    }
    const struct cache_entry *e = find(c, k);
    if (!e)
        return MXG_ENOENT;
    char *copy = reply_for(e, k->qname, k->qlen);
    if (!copy)
        return MXG_ENOMEM;
    *reply = copy;
    *len = e->len;
    return MXG_OK;
}

void mxg_reply_cache_put(struct mxg_reply_cache *c, uint64_t gen, const struct mxg_cache_key *k,
                         const char *reply, size_t len)
{
    if (gen != c->generation || len > CACHE_REPLY_MAX)
        return;
    size_t size = k->len + len + k->qlen;
    if (c->n >= CACHE_ENTRIES_MAX || c->bytes + size > CACHE_BYTES_MAX)
        cache_clear(c);
    if (find(c, k))
        return;
    char *mem = malloc(size);
    if (!mem)
        return;
    /* Room for every entry was reserved: the insert cannot fail. */
    if (mxg_hset_insert(&c->index, k->hash, (uint32_t)c->n) != MXG_OK) {
        free(mem);
        return;
    }
    struct cache_entry *e = &c->entries[c->n++];
    memcpy(mem, k->key, k->len);
    memcpy(mem + k->len, reply, len);
    memcpy(mem + k->len + len, k->qname, k->qlen);
    *e = (struct cache_entry){.hash = k->hash,
                              .key = mem,
                              .keylen = k->len,
                              .reply = mem + k->len,
                              .len = len,
                              .qname = mem + k->len + len,
                              .qlen = k->qlen};
    c->bytes += size;
}
