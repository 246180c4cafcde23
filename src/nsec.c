/* nsec.c -- auth flags and the NSEC/NSEC3 chain of a zone, worked out from its records. */
#include "mxg/nsec.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/limits.h"

/* What a name holds, and where it stands. */
enum {
    F_NS = 1,     /* an NS record */
    F_DS = 2,     /* a DS record */
    F_ADDR = 4,   /* an A or AAAA record */
    F_OTHER = 8,  /* a record of any other type */
    F_CUT = 16,   /* a zone cut: NS, not the apex, not below another cut */
    F_BELOW = 32, /* below a zone cut */
    F_INSET = 64, /* NSEC3: hashed (pdns's nsec3set) */
    F_REAL = 128, /* has records (else an empty non-terminal) */
};

struct cname {
    char *name;   /* canonical */
    uint8_t *key; /* reversed-label key: canonical order */
    size_t klen;
    unsigned flags;
    char hash[MXG_NSEC3_HASH_TEXT];
};

struct mxg_chain {
    char *apex;
    bool nsec3;
    struct mxg_nsec3param p;
    struct cname *names; /* every name, sorted by key */
    size_t n;
    size_t *members; /* indices into names: the chain, in key order (NSEC) or hash order */
    size_t nm;
    size_t *nsnames; /* indices of every non-apex name with NS, in key order */
    size_t nns;
};

/* ---- NSEC3 parameters and hashes ------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A decimal field of at most max, then blanks; *p moves past both. */
static bool field(const char **p, unsigned long max, unsigned long *out)
{
    char *end;
    if (!isdigit((unsigned char)**p))
        return false;
    errno = 0;
    *out = strtoul(*p, &end, 10);
    if (errno || *out > max || (*end != ' ' && *end != '\t'))
        return false;
    while (*end == ' ' || *end == '\t')
        end++;
    *p = end;
    return true;
}

int mxg_nsec3param_parse(const char *text, struct mxg_nsec3param *out)
{
    unsigned long alg, flags, iter;
    memset(out, 0, sizeof(*out));
    const char *p = text;
    if (!text || !field(&p, 255, &alg) || !field(&p, 255, &flags) || !field(&p, 65535, &iter))
        return MXG_EINVAL;
    out->algorithm = (uint8_t)alg;
    out->flags = (uint8_t)flags;
    out->iterations = (uint16_t)iter;
    size_t n = strcspn(p, " \t\r\n");
    if (!n || p[n + strspn(p + n, " \t\r\n")])
        return MXG_EINVAL;
    if (n == 1 && p[0] == '-')
        return MXG_OK;
    if (n % 2 || n / 2 > sizeof(out->salt))
        return MXG_EINVAL;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(p[i]), lo = hexval(p[i + 1]);
        if (hi < 0 || lo < 0)
            return MXG_EINVAL;
        out->salt[out->saltlen++] = (uint8_t)(hi * 16 + lo);
    }
    return MXG_OK;
}

int mxg_nsec3_hash(const char *canon, const struct mxg_nsec3param *p, char out[MXG_NSEC3_HASH_TEXT])
{
    static const char b32[] = "0123456789abcdefghijklmnopqrstuv";
    uint8_t buf[MXG_NAME_WIRE_MAX + 255], md[SHA_DIGEST_LENGTH];
    size_t wlen;
    if (p->algorithm != 1)
        return MXG_EINVAL;
    int rc = mxg_name_to_wire_lower(canon, buf, MXG_NAME_WIRE_MAX, &wlen);
    if (rc != MXG_OK)
        return rc;
    memcpy(buf + wlen, p->salt, p->saltlen);
    SHA1(buf, wlen + p->saltlen, md);
    for (unsigned i = 0; i < p->iterations; i++) {
        memcpy(buf, md, sizeof(md));
        memcpy(buf + sizeof(md), p->salt, p->saltlen);
        SHA1(buf, sizeof(md) + p->saltlen, md);
    }
    /* 20 octets = 160 bits = 32 digits of 5 bits, no padding. */
    for (size_t i = 0; i < 32; i++) {
        size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
        unsigned v = (unsigned)md[byte] << 8 | (byte + 1 < sizeof(md) ? md[byte + 1] : 0);
        out[i] = b32[(v >> (11 - shift)) & 31];
    }
    out[32] = '\0';
    return MXG_OK;
}

/* ---- building ---------------------------------------------------------------------------- */

static int key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

static int cname_cmp(const void *x, const void *y)
{
    const struct cname *a = x, *b = y;
    return key_cmp(a->key, a->klen, b->key, b->klen);
}

static bool key_below(const struct cname *child, const struct cname *parent)
{
    return child->klen > parent->klen && memcmp(child->key, parent->key, parent->klen) == 0;
}

static int cname_init(struct cname *c, const char *name, unsigned flags)
{
    uint8_t key[MXG_NAME_WIRE_MAX * 2 + 2];
    size_t klen;
    memset(c, 0, sizeof(*c));
    if (mxg_name_rkey(name, key, sizeof(key), &klen) != MXG_OK)
        return MXG_EINVAL;
    c->name = strdup(name);
    c->key = malloc(klen ? klen : 1);
    if (!c->name || !c->key) {
        free(c->name);
        free(c->key);
        return MXG_ENOMEM;
    }
    memcpy(c->key, key, klen);
    c->klen = klen;
    c->flags = flags;
    return MXG_OK;
}

static unsigned type_flag(const char *type)
{
    if (strcasecmp(type, "NS") == 0)
        return F_NS;
    if (strcasecmp(type, "DS") == 0)
        return F_DS;
    if (strcasecmp(type, "A") == 0 || strcasecmp(type, "AAAA") == 0)
        return F_ADDR;
    return F_OTHER;
}

/* Sorts names and merges the entries of one name (their flags or-ed). */
static void sort_merge(struct mxg_chain *c)
{
    qsort(c->names, c->n, sizeof(*c->names), cname_cmp);
    size_t w = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (w && cname_cmp(&c->names[w - 1], &c->names[i]) == 0) {
            c->names[w - 1].flags |= c->names[i].flags;
            free(c->names[i].name);
            free(c->names[i].key);
            continue;
        }
        c->names[w++] = c->names[i];
    }
    c->n = w;
}

/* Cuts and what lies below them, in one pass over the sorted names. */
static int mark_cuts(struct mxg_chain *c)
{
    const struct cname *cut = NULL;
    free(c->nsnames);
    c->nns = 0;
    c->nsnames = malloc((c->n ? c->n : 1) * sizeof(size_t));
    if (!c->nsnames)
        return MXG_ENOMEM;
    for (size_t i = 0; i < c->n; i++) {
        struct cname *x = &c->names[i];
        bool apex = strcmp(x->name, c->apex) == 0;
        if (cut && key_below(x, cut))
            x->flags |= F_BELOW;
        else
            cut = NULL;
        if ((x->flags & F_NS) && !apex) {
            c->nsnames[c->nns++] = i;
            if (!(x->flags & F_BELOW)) {
                x->flags |= F_CUT;
                cut = x;
            }
        }
    }
    return MXG_OK;
}

/* NSEC3: pdns's nsec3set -- names of records not below a cut (NS records aside with opt-out)
 * and every ancestor up to the apex, adding the empty non-terminals among them. */
static int nsec3_set(struct mxg_chain *c)
{
    bool optout = c->p.flags & 1;
    size_t n0 = c->n, cap = c->n;
    for (size_t i = 0; i < n0; i++) {
        unsigned f = c->names[i].flags;
        if ((f & F_BELOW) || !((f & (F_DS | F_ADDR | F_OTHER)) || ((f & F_NS) && !optout)))
            continue;
        c->names[i].flags |= F_INSET;
        char name[MXG_NAME_TEXT_MAX];
        snprintf(name, sizeof(name), "%s", c->names[i].name);
        while (strcmp(name, c->apex) != 0 && mxg_name_is_below(name, c->apex)) {
            char parent[MXG_NAME_TEXT_MAX];
            if (mxg_name_parent(name, parent, sizeof(parent)) != MXG_OK)
                break;
            memcpy(name, parent, strlen(parent) + 1);
            if (c->n == cap) {
                cap = cap * 2 + 16;
                struct cname *nn = realloc(c->names, cap * sizeof(*nn));
                if (!nn)
                    return MXG_ENOMEM;
                c->names = nn;
            }
            int rc = cname_init(&c->names[c->n], name, F_INSET);
            if (rc != MXG_OK)
                return rc;
            c->n++;
        }
    }
    sort_merge(c);
    return MXG_OK;
}

static bool nsec_member(const struct cname *x)
{
    if (!(x->flags & F_REAL))
        return false;
    if (x->flags & (F_CUT | F_BELOW))
        return (x->flags & (F_NS | F_DS | F_OTHER)) != 0;
    return true;
}

static bool nsec3_member(const struct cname *x, bool optout)
{
    if (!(x->flags & F_INSET))
        return false;
    if (!(x->flags & F_REAL))
        return true; /* an empty non-terminal */
    if (x->flags & (F_CUT | F_BELOW)) {
        unsigned keep = F_DS | F_OTHER;
        if (!(optout && !(x->flags & F_DS)))
            keep |= F_NS;
        return (x->flags & keep) != 0;
    }
    return true;
}

static const struct mxg_chain *hash_order_chain; /* qsort has no context argument */

static int hash_cmp(const void *x, const void *y)
{
    const struct mxg_chain *c = hash_order_chain;
    return strcmp(c->names[*(const size_t *)x].hash, c->names[*(const size_t *)y].hash);
}

static int collect_members(struct mxg_chain *c)
{
    c->members = malloc((c->n ? c->n : 1) * sizeof(size_t));
    if (!c->members)
        return MXG_ENOMEM;
    for (size_t i = 0; i < c->n; i++) {
        struct cname *x = &c->names[i];
        if (c->nsec3 ? !nsec3_member(x, c->p.flags & 1) : !nsec_member(x))
            continue;
        if (c->nsec3 && mxg_nsec3_hash(x->name, &c->p, x->hash) != MXG_OK)
            return MXG_EINVAL;
        c->members[c->nm++] = i;
    }
    if (c->nsec3) {
        hash_order_chain = c;
        qsort(c->members, c->nm, sizeof(size_t), hash_cmp);
        hash_order_chain = NULL;
    }
    return MXG_OK;
}

struct mxg_chain *mxg_chain_build(const char *apex, const struct mxg_chain_rr *rrs, size_t n,
                                  const struct mxg_nsec3param *p)
{
    struct mxg_chain *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->apex = strdup(apex);
    c->names = malloc((n ? n : 1) * sizeof(*c->names));
    if (!c->apex || !c->names)
        goto fail;
    if (p) {
        c->nsec3 = true;
        c->p = *p;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(rrs[i].type, "ENT") == 0 || !mxg_name_is_below(rrs[i].name, apex))
            continue;
        if (cname_init(&c->names[c->n], rrs[i].name, F_REAL | type_flag(rrs[i].type)) != MXG_OK)
            goto fail;
        c->n++;
    }
    sort_merge(c);
    /* nsec3_set adds names: the NS index is made again after it. */
    if (mark_cuts(c) != MXG_OK ||
        (c->nsec3 && (nsec3_set(c) != MXG_OK || mark_cuts(c) != MXG_OK)) ||
        collect_members(c) != MXG_OK)
        goto fail;
    return c;
fail:
    mxg_chain_free(c);
    return NULL;
}

void mxg_chain_free(struct mxg_chain *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->names[i].name);
        free(c->names[i].key);
    }
    free(c->names);
    free(c->members);
    free(c->nsnames);
    free(c->apex);
    free(c);
}

/* ---- questions --------------------------------------------------------------------------- */

bool mxg_chain_has_cuts(const struct mxg_chain *c)
{
    return c->nns > 0;
}

size_t mxg_chain_size(const struct mxg_chain *c)
{
    return c->nm;
}

/* True when name is a non-apex name holding NS. */
static bool is_ns_name(const struct mxg_chain *c, const char *name)
{
    uint8_t key[MXG_NAME_WIRE_MAX * 2 + 2];
    size_t klen;
    if (mxg_name_rkey(name, key, sizeof(key), &klen) != MXG_OK)
        return false;
    size_t lo = 0, hi = c->nns;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct cname *x = &c->names[c->nsnames[mid]];
        int cmp = key_cmp(x->key, x->klen, key, klen);
        if (cmp == 0)
            return true;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool mxg_chain_auth(const struct mxg_chain *c, const char *name, const char *type)
{
    if (!c->nns || !mxg_name_is_below(name, c->apex))
        return true;
    char cur[MXG_NAME_TEXT_MAX];
    snprintf(cur, sizeof(cur), "%s", name);
    bool self = true;
    while (strcmp(cur, c->apex) != 0) {
        if (is_ns_name(c, cur))
            return self && strcasecmp(type, "DS") == 0;
        char parent[MXG_NAME_TEXT_MAX];
        if (mxg_name_parent(cur, parent, sizeof(parent)) != MXG_OK)
            break;
        memcpy(cur, parent, strlen(parent) + 1);
        self = false;
    }
    return true;
}

int mxg_chain_nsec(const struct mxg_chain *c, const char *qname, const char **before,
                   const char **after)
{
    uint8_t key[MXG_NAME_WIRE_MAX * 2 + 2];
    size_t klen;
    if (c->nsec3)
        return MXG_EINVAL;
    if (!c->nm)
        return MXG_ENOENT;
    if (mxg_name_rkey(qname, key, sizeof(key), &klen) != MXG_OK)
        return MXG_EINVAL;
    /* lo: the first member after qname. */
    size_t lo = 0, hi = c->nm;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct cname *x = &c->names[c->members[mid]];
        if (key_cmp(x->key, x->klen, key, klen) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *before = c->names[c->members[lo ? lo - 1 : c->nm - 1]].name;
    *after = c->names[c->members[lo < c->nm ? lo : 0]].name;
    return MXG_OK;
}

int mxg_chain_nsec3(const struct mxg_chain *c, const char *hash, const char **before,
                    const char **after, const char **before_owner)
{
    char h[MXG_NSEC3_HASH_TEXT];
    if (!c->nsec3)
        return MXG_EINVAL;
    if (!c->nm)
        return MXG_ENOENT;
    size_t n = strlen(hash);
    if (n >= sizeof(h))
        return MXG_EINVAL;
    for (size_t i = 0; i <= n; i++)
        h[i] = (char)tolower((unsigned char)hash[i]);
    size_t lo = 0, hi = c->nm;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(c->names[c->members[mid]].hash, h) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    const struct cname *b = &c->names[c->members[lo ? lo - 1 : c->nm - 1]];
    *before = b->hash;
    *before_owner = b->name;
    *after = c->names[c->members[lo < c->nm ? lo : 0]].hash;
    return MXG_OK;
}
