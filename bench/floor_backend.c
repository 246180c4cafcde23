/* floor_backend.c -- the "protocol floor": the least a PowerDNS remote backend can do.
 *
 * It speaks the same protocol as mxguard (one JSON request per line on a unix socket, one
 * JSON reply per line) but answers from an in-memory hash table built at startup, so the
 * benchmark can tell pdns's own cost and the protocol's cost apart from mxguard's.
 *
 * It stays honest: every request is parsed with jansson and every reply is built as a
 * jansson value and serialised, as mxguard does; only the store is replaced by a table
 * keyed by the lowercased owner name (records of every type hang off it).
 *
 * Records come from a TSV file, one record a line: name<TAB>type<TAB>ttl<TAB>content,
 * content in pdns's text form (what `dig AXFR` prints). Any number of zones: an SOA starts a
 * zone (its owner), and the records after it belong to it until the next zone's SOA; zones are
 * numbered from 1 in file order. A name belongs to the zone it first appears in.
 *
 * Usage: floor_backend -s SOCKET -t RECORDS.tsv [-z ZONE] [-r TRACE] [-v]
 *   -z ZONE   the zone of records that come before the first SOA
 *   -r TRACE  append every request line received to TRACE (to see what pdns asks)
 *   -v        log connections to stderr
 *
 * One epoll loop, any number of connections, non-blocking I/O; SIGTERM/SIGINT stop it. */
#define _GNU_SOURCE /* accept4 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#define NAME_MAX_LEN 256
#define BUCKETS 262144
#define MAX_EVENTS 64
#define READ_CHUNK 65536

struct record {
    char type[16];
    long ttl;
    char *content;
};

struct node {
    char name[NAME_MAX_LEN]; /* lowercase, absolute, with the final dot */
    struct record *recs;
    size_t nrecs, cap;
    struct node *next;
    size_t zone; /* index into zones */
};

struct zone_info {
    char name[NAME_MAX_LEN];
    long serial;
};

struct conn {
    int fd;
    char *in;
    size_t inlen, incap;
    char *out;
    size_t outlen, outoff, outcap;
    bool want_out;
};

static struct node *table[BUCKETS];
static struct node **order; /* nodes in file order, for list */
static size_t norder, ordercap;
static struct zone_info *zones;
static size_t nzones, zonecap;
static char zarg_canon[NAME_MAX_LEN]; /* -z: the zone of records before any SOA */
static FILE *trace;
static bool verbose;
static volatile sig_atomic_t stop;

static void die(const char *msg)
{
    fprintf(stderr, "floor_backend: %s\n", msg);
    exit(1);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        die("out of memory");
    return p;
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/* Lowercases src into dst, adding the final dot when missing. False when too long. */
static bool canon(const char *src, size_t n, char *dst)
{
    if (n == 0 || n + 2 > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    if (dst[n - 1] != '.')
        dst[n++] = '.';
    dst[n] = '\0';
    return true;
}

static struct node *find(const char *cname)
{
    for (struct node *nd = table[hash(cname) % BUCKETS]; nd; nd = nd->next)
        if (strcmp(nd->name, cname) == 0)
            return nd;
    return NULL;
}

static void add_zone(const char *cname)
{
    if (nzones == zonecap) {
        zonecap = zonecap ? 2 * zonecap : 16;
        zones = xrealloc(zones, zonecap * sizeof(*zones));
    }
    memcpy(zones[nzones].name, cname, strlen(cname) + 1);
    zones[nzones].serial = 0;
    nzones++;
}

static void add_record(const char *name, const char *type, long ttl, const char *content)
{
    char c[NAME_MAX_LEN];
    if (!canon(name, strlen(name), c))
        die("bad owner name in records file");
    if (strcasecmp(type, "SOA") == 0 && (nzones == 0 || strcmp(zones[nzones - 1].name, c) != 0))
        add_zone(c);
    if (nzones == 0) {
        if (!zarg_canon[0])
            die("records before the first SOA and no -z");
        add_zone(zarg_canon);
    }
    struct node *nd = find(c);
    if (!nd) {
        nd = calloc(1, sizeof(*nd));
        if (!nd)
            die("out of memory");
        memcpy(nd->name, c, strlen(c) + 1);
        nd->zone = nzones - 1;
        uint32_t b = hash(c) % BUCKETS;
        nd->next = table[b];
        table[b] = nd;
        if (norder == ordercap) {
            ordercap = ordercap ? 2 * ordercap : 64;
            order = xrealloc(order, ordercap * sizeof(*order));
        }
        order[norder++] = nd;
    }
    if (nd->nrecs == nd->cap) {
        nd->cap = nd->cap ? 2 * nd->cap : 4;
        nd->recs = xrealloc(nd->recs, nd->cap * sizeof(*nd->recs));
    }
    struct record *r = &nd->recs[nd->nrecs++];
    snprintf(r->type, sizeof(r->type), "%s", type);
    for (char *p = r->type; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    r->ttl = ttl;
    r->content = strdup(content);
    if (!r->content)
        die("out of memory");
    if (strcmp(r->type, "SOA") == 0) {
        /* serial: third field of the SOA content */
        const char *p = content;
        for (int f = 0; f < 2 && p; f++) {
            p = strchr(p, ' ');
            if (p)
                p++;
        }
        if (p)
            zones[nzones - 1].serial = strtol(p, NULL, 10);
    }
}

static void load_tsv(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open records file");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    size_t count = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        char *fields[4];
        char *p = line;
        int nf = 0;
        for (; nf < 3; nf++) {
            fields[nf] = p;
            p = strchr(p, '\t');
            if (!p)
                break;
            *p++ = '\0';
        }
        if (nf != 3)
            die("records file: expected name<TAB>type<TAB>ttl<TAB>content");
        fields[3] = p;
        add_record(fields[0], fields[1], strtol(fields[2], NULL, 10), fields[3]);
        count++;
    }
    free(line);
    fclose(f);
    if (count == 0)
        die("records file is empty");
}

/* ---- methods ------------------------------------------------------------------------------ */

static json_t *domain_info(size_t z)
{
    return json_pack("{s:I,s:s,s:s,s:I,s:i,s:i,s:[]}", "id", (json_int_t)(z + 1), "zone",
                     zones[z].name, "kind", "native", "serial", (json_int_t)zones[z].serial,
                     "notified_serial", 0, "last_check", 0, "masters");
}

/* Index of the zone named by params[key], or -1. */
static long zone_of(json_t *params, const char *key)
{
    json_t *v = json_object_get(params, key);
    char c[NAME_MAX_LEN];
    if (!json_is_string(v) || !canon(json_string_value(v), json_string_length(v), c))
        return -1;
    struct node *nd = find(c);
    return nd && strcmp(zones[nd->zone].name, c) == 0 ? (long)nd->zone : -1;
}

static json_t *all_domains(void)
{
    json_t *arr = json_array();
    for (size_t z = 0; z < nzones; z++)
        json_array_append_new(arr, domain_info(z));
    return arr;
}

static json_t *m_lookup(json_t *params)
{
    json_t *jq = json_object_get(params, "qname");
    json_t *jt = json_object_get(params, "qtype");
    json_t *jz = json_object_get(params, "zone-id");
    char c[NAME_MAX_LEN];
    if (!json_is_string(jq) || !json_is_string(jt) ||
        !canon(json_string_value(jq), json_string_length(jq), c))
        return json_false();
    json_int_t zid = json_is_integer(jz) ? json_integer_value(jz) : -1;
    struct node *nd = find(c);
    if (!nd || (zid >= 0 && (json_int_t)nd->zone + 1 != zid))
        return json_false();
    const char *qtype = json_string_value(jt);
    bool any = strcasecmp(qtype, "ANY") == 0;
    json_t *arr = json_array();
    for (size_t i = 0; i < nd->nrecs; i++) {
        struct record *r = &nd->recs[i];
        if (!any && strcasecmp(r->type, qtype) != 0)
            continue;
        json_array_append_new(arr, json_pack("{s:s,s:O,s:s,s:I,s:i,s:i}", "qtype", r->type, "qname",
                                             jq, "content", r->content, "ttl", (json_int_t)r->ttl,
                                             "auth", 1, "domain_id", (json_int_t)nd->zone + 1));
    }
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return json_false();
    }
    return arr;
}

static json_t *m_list(json_t *params)
{
    json_t *jid = json_object_get(params, "domain_id");
    long z = zone_of(params, "zonename");
    if (z < 0 ||
        (json_is_integer(jid) && json_integer_value(jid) >= 0 && json_integer_value(jid) != z + 1))
        return json_false();
    json_t *arr = json_array();
    for (size_t k = 0; k < norder; k++) {
        struct node *nd = order[k];
        if (nd->zone != (size_t)z)
            continue;
        for (size_t i = 0; i < nd->nrecs; i++) {
            struct record *r = &nd->recs[i];
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:I,s:i,s:i}", "qtype", r->type,
                                                 "qname", nd->name, "content", r->content, "ttl",
                                                 (json_int_t)r->ttl, "auth", 1, "domain_id",
                                                 (json_int_t)z + 1));
        }
    }
    return arr;
}

static json_t *dispatch(const char *line, size_t len)
{
    json_error_t err;
    json_t *req = json_loadb(line, len, 0, &err);
    json_t *result;
    if (!req || !json_is_object(req)) {
        result = json_false();
    } else {
        const char *method = json_string_value(json_object_get(req, "method"));
        json_t *params = json_object_get(req, "parameters");
        if (!method || !json_is_object(params))
            result = json_false();
        else if (strcmp(method, "lookup") == 0)
            result = m_lookup(params);
        else if (strcmp(method, "initialize") == 0)
            result = json_true();
        else if (strcmp(method, "getAllDomains") == 0)
            result = all_domains();
        else if (strcmp(method, "getDomainInfo") == 0) {
            long z = zone_of(params, "name");
            result = z >= 0 ? domain_info((size_t)z) : json_false();
        } else if (strcmp(method, "getAllDomainMetadata") == 0)
            result = zone_of(params, "name") >= 0 ? json_object() : json_false();
        else if (strcmp(method, "getDomainMetadata") == 0)
            result = zone_of(params, "name") >= 0 ? json_array() : json_false();
        else if (strcmp(method, "list") == 0)
            result = m_list(params);
        else
            result = json_false();
    }
    json_decref(req);
    return json_pack("{s:o}", "result", result);
}

/* ---- I/O ---------------------------------------------------------------------------------- */

static int epfd;

static void conn_free(struct conn *c)
{
    if (verbose)
        fprintf(stderr, "floor_backend: connection %d closed\n", c->fd);
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

static void set_events(struct conn *c, bool want_out)
{
    if (c->want_out == want_out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want_out;
}

/* Writes what is queued; false on a fatal error. */
static bool flush_out(struct conn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_events(c, true);
                return true;
            }
            return false;
        }
        c->outoff += (size_t)n;
    }
    c->outoff = c->outlen = 0;
    set_events(c, false);
    return true;
}

static void queue_reply(struct conn *c, json_t *reply)
{
    char *s = json_dumps(reply, JSON_COMPACT);
    json_decref(reply);
    if (!s)
        die("cannot serialise a reply");
    size_t n = strlen(s);
    if (c->outlen + n + 1 > c->outcap) {
        c->outcap = (c->outlen + n + 1) * 2;
        c->out = xrealloc(c->out, c->outcap);
    }
    memcpy(c->out + c->outlen, s, n);
    c->out[c->outlen + n] = '\n';
    c->outlen += n + 1;
    free(s);
}

/* Reads what is there, answers every complete line; false when the connection is done. */
static bool on_readable(struct conn *c)
{
    for (;;) {
        if (c->incap - c->inlen < READ_CHUNK) {
            c->incap = c->incap ? 2 * c->incap : 2 * READ_CHUNK;
            c->in = xrealloc(c->in, c->incap);
        }
        size_t space = c->incap - c->inlen;
        ssize_t n = read(c->fd, c->in + c->inlen, space);
        if (n == 0)
            return false;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return false;
        }
        c->inlen += (size_t)n;
        if ((size_t)n < space)
            break; /* short read: the socket is drained */
    }
    size_t start = 0;
    char *nl;
    while ((nl = memchr(c->in + start, '\n', c->inlen - start)) != NULL) {
        size_t len = (size_t)(nl - (c->in + start));
        if (trace) {
            fwrite(c->in + start, 1, len + 1, trace);
            fflush(trace);
        }
        if (len > 0)
            queue_reply(c, dispatch(c->in + start, len));
        start += len + 1;
    }
    if (start > 0) {
        memmove(c->in, c->in + start, c->inlen - start);
        c->inlen -= start;
    }
    return flush_out(c);
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: floor_backend -s SOCKET -t RECORDS.tsv [-z ZONE] [-r TRACE] [-v]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *sock = NULL, *tsv = NULL, *zarg = NULL, *tracepath = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "s:t:z:r:v")) != -1) {
        switch (opt) {
        case 's':
            sock = optarg;
            break;
        case 't':
            tsv = optarg;
            break;
        case 'z':
            zarg = optarg;
            break;
        case 'r':
            tracepath = optarg;
            break;
        case 'v':
            verbose = true;
            break;
        default:
            usage();
        }
    }
    if (!sock || !tsv || optind != argc)
        usage();
    if (zarg && !canon(zarg, strlen(zarg), zarg_canon))
        die("bad zone name");
    load_tsv(tsv);
    if (nzones == 0)
        die("no zone (no SOA in the records and no -z)");
    if (tracepath && !(trace = fopen(tracepath, "a")))
        die("cannot open trace file");

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(sock) >= sizeof(addr.sun_path))
        die("socket path too long");
    memcpy(addr.sun_path, sock, strlen(sock) + 1);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        die("socket() failed");
    unlink(sock);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(lfd, 128) != 0)
        die("cannot bind/listen on the socket");
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
    if (verbose)
        fprintf(stderr, "floor_backend: %zu zones (the first %s), %zu names, on %s\n", nzones,
                zones[0].name, norder, sock);

    struct epoll_event evs[MAX_EVENTS];
    while (!stop) {
        int n = epoll_wait(epfd, evs, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait failed");
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    c = calloc(1, sizeof(*c));
                    if (!c)
                        die("out of memory");
                    c->fd = fd;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
                    if (verbose)
                        fprintf(stderr, "floor_backend: connection %d\n", fd);
                }
                continue;
            }
            bool ok = true;
            if (evs[i].events & EPOLLOUT)
                ok = flush_out(c);
            if (ok && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                ok = on_readable(c);
            if (!ok)
                conn_free(c);
        }
    }
    close(lfd);
    unlink(sock);
    if (trace)
        fclose(trace);
    return 0;
}
