/* lookup_client.c -- load generator for a PowerDNS remote backend on a unix socket.
 *
 * Opens N connections, sends "initialize" on each, then sends lookups round-robin from a
 * query mix, strictly one request in flight per connection (as pdns does: each pdns
 * backend thread waits for its reply before it asks again). Reports lookups/s and the
 * p50/p99/max latency of one request-reply round trip.
 *
 * The mix file has one request a line: either a raw JSON request (a line starting with
 * '{', e.g. captured from what pdns sent), or "QNAME QTYPE [ZONE-ID]" (zone-id default -1),
 * which is sent as a lookup with the parameters pdns adds. Blank lines and '#' are skipped.
 *
 * Usage: lookup_client -s SOCKET -q MIXFILE [-c CONNS] [-d SECONDS | -n COUNT] [-w WARMUP]
 *   -c CONNS    connections (default 4)
 *   -d SECONDS  measure for this long (default 10)
 *   -n COUNT    measure exactly COUNT lookups instead (for profiling runs)
 *   -w WARMUP   seconds of load before measuring starts (default 1; 0 with -n)
 *
 * Prints one line of key=value pairs:
 *   lookups= seconds= lookups_per_s= p50_us= p99_us= max_us= results= false= errors= total=
 * Measured replies: "results" with an array, "false" {"result":false}, "errors" neither (the
 * exit status is 1 when there are any). "total" counts every reply, warm-up included, for
 * CPU-per-lookup figures. Replies are not parsed beyond that: the client's CPU is kept small
 * since it shares the machine with the backend. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256

struct conn {
    int fd;
    size_t next;      /* index of the next request of the mix */
    uint64_t sent_ns; /* when the request in flight went out */
    bool busy;
    char *buf;
    size_t len, cap;
};

static char **mix;
static size_t *mixlen;
static size_t nmix;

static uint32_t *lat; /* latencies in ns of the measured lookups */
static size_t nlat, latcap;

static void die(const char *msg)
{
    fprintf(stderr, "lookup_client: %s\n", msg);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        die("out of memory");
    return p;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void add_mix(const char *line)
{
    mix = xrealloc(mix, (nmix + 1) * sizeof(*mix));
    mixlen = xrealloc(mixlen, (nmix + 1) * sizeof(*mixlen));
    size_t n = strlen(line);
    mix[nmix] = malloc(n + 2);
    if (!mix[nmix])
        die("out of memory");
    memcpy(mix[nmix], line, n);
    mix[nmix][n] = '\n';
    mix[nmix][n + 1] = '\0';
    mixlen[nmix] = n + 1;
    nmix++;
}

static void load_mix(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open the mix file");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        if (*p == '{') {
            add_mix(p);
            continue;
        }
        char qname[300], qtype[20], req[800];
        long zid = -1;
        int k = sscanf(p, "%299s %19s %ld", qname, qtype, &zid);
        if (k < 2)
            die("mix file: expected a JSON request or QNAME QTYPE [ZONE-ID]");
        size_t ql = strlen(qname);
        snprintf(req, sizeof(req),
                 "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"%s\",\"qname\":\"%s%s\","
                 "\"zone-id\":%ld,\"remote\":\"127.0.0.1\",\"local\":\"127.0.0.1\","
                 "\"real-remote\":\"127.0.0.1/32\"}}",
                 qtype, qname, qname[ql - 1] == '.' ? "" : ".", zid);
        add_mix(req);
    }
    free(line);
    fclose(f);
    if (nmix == 0)
        die("the mix file holds no requests");
}

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("write to the backend failed");
        }
        data += n;
        len -= (size_t)n;
    }
}

/* Reads until one full reply line is in c->buf; returns its length (newline excluded). */
static size_t read_line_blocking(struct conn *c)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl)
            return (size_t)(nl - c->buf);
        if (c->cap - c->len < 4096) {
            c->cap = c->cap ? 2 * c->cap : 65536;
            c->buf = xrealloc(c->buf, c->cap);
        }
        ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("the backend closed the connection or a read failed");
        c->len += (size_t)n;
    }
}

static void consume(struct conn *c, size_t linelen)
{
    size_t rest = c->len - (linelen + 1);
    memmove(c->buf, c->buf + linelen + 1, rest);
    c->len = rest;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void usage(void)
{
    fprintf(stderr, "usage: lookup_client -s SOCKET -q MIXFILE [-c CONNS] [-d SECONDS | -n "
                    "COUNT] [-w WARMUP]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *sock = NULL, *mixpath = NULL;
    int nconns = 4;
    double duration = 10, warmup = -1;
    long long count = 0;
    int opt;
    while ((opt = getopt(argc, argv, "s:q:c:d:n:w:")) != -1) {
        switch (opt) {
        case 's':
            sock = optarg;
            break;
        case 'q':
            mixpath = optarg;
            break;
        case 'c':
            nconns = atoi(optarg);
            break;
        case 'd':
            duration = atof(optarg);
            break;
        case 'n':
            count = atoll(optarg);
            break;
        case 'w':
            warmup = atof(optarg);
            break;
        default:
            usage();
        }
    }
    if (!sock || !mixpath || optind != argc || nconns < 1 || nconns > MAX_CONNS || duration <= 0 ||
        count < 0)
        usage();
    if (warmup < 0)
        warmup = count > 0 ? 0 : 1;
    load_mix(mixpath);

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(sock) >= sizeof(addr.sun_path))
        die("socket path too long");
    memcpy(addr.sun_path, sock, strlen(sock) + 1);

    static struct conn conns[MAX_CONNS];
    static struct pollfd pfds[MAX_CONNS];
    const char *init = "{\"method\":\"initialize\",\"parameters\":{\"path\":\"bench\","
                       "\"timeout\":\"2000\"}}\n";
    for (int i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
            die("cannot connect to the backend socket");
        send_all(c->fd, init, strlen(init));
        size_t n = read_line_blocking(c);
        if (n < 15 || memcmp(c->buf, "{\"result\":true", 14) != 0)
            die("initialize was not answered with {\"result\":true}");
        consume(c, n);
        c->next = (size_t)i * nmix / (size_t)nconns; /* spread the connections over the mix */
        pfds[i].fd = c->fd;
        pfds[i].events = POLLIN;
    }

    uint64_t start = now_ns();
    uint64_t measure_from = start + (uint64_t)(warmup * 1e9);
    uint64_t measure_to = count > 0 ? UINT64_MAX : measure_from + (uint64_t)(duration * 1e9);
    bool measuring = warmup <= 0;
    uint64_t t0 = measuring ? start : 0, t1 = 0;
    long long sent_measured = 0, results = 0, falses = 0, errors = 0, total = 0;
    int in_flight = 0;
    bool stopping = false;

    for (int i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        c->sent_ns = now_ns();
        send_all(c->fd, mix[c->next], mixlen[c->next]);
        c->next = (c->next + 1) % nmix;
        c->busy = true;
        in_flight++;
        if (measuring)
            sent_measured++;
    }

    while (in_flight > 0) {
        int r = poll(pfds, (nfds_t)nconns, 5000);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("poll failed");
        }
        if (r == 0)
            die("no reply within 5 s");
        for (int i = 0; i < nconns; i++) {
            if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            struct conn *c = &conns[i];
            if (c->cap - c->len < 4096) {
                c->cap = c->cap ? 2 * c->cap : 65536;
                c->buf = xrealloc(c->buf, c->cap);
            }
            ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                die("the backend closed the connection or a read failed");
            c->len += (size_t)n;
            char *nl;
            while (c->busy && (nl = memchr(c->buf, '\n', c->len)) != NULL) {
                size_t linelen = (size_t)(nl - c->buf);
                uint64_t t = now_ns();
                bool counted = c->sent_ns >= t0 && measuring;
                if (counted) {
                    if (nlat == latcap) {
                        latcap = latcap ? 2 * latcap : 1u << 20;
                        lat = xrealloc(lat, latcap * sizeof(*lat));
                    }
                    uint64_t d = t - c->sent_ns;
                    lat[nlat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
                    if (linelen >= 11 && memcmp(c->buf, "{\"result\":[", 11) == 0)
                        results++;
                    else if (linelen >= 15 && memcmp(c->buf, "{\"result\":false", 15) == 0)
                        falses++;
                    else
                        errors++;
                }
                consume(c, linelen);
                total++;
                c->busy = false;
                in_flight--;

                if (!measuring && t >= measure_from) {
                    measuring = true;
                    t0 = t;
                }
                if (measuring && !stopping &&
                    (count > 0 ? sent_measured >= count : t >= measure_to)) {
                    stopping = true;
                    t1 = t;
                }
                if (stopping)
                    continue;
                c->sent_ns = now_ns();
                send_all(c->fd, mix[c->next], mixlen[c->next]);
                c->next = (c->next + 1) % nmix;
                c->busy = true;
                in_flight++;
                if (measuring && c->sent_ns >= t0)
                    sent_measured++;
            }
        }
    }
    if (count > 0)
        t1 = now_ns();
    for (int i = 0; i < nconns; i++)
        close(conns[i].fd);

    double secs = (double)(t1 - t0) / 1e9;
    if (nlat == 0 || secs <= 0)
        die("nothing was measured");
    qsort(lat, nlat, sizeof(*lat), cmp_u32);
    double p50 = lat[(nlat - 1) / 2] / 1e3;
    double p99 = lat[(size_t)((double)(nlat - 1) * 0.99)] / 1e3;
    double mx = lat[nlat - 1] / 1e3;
    printf("lookups=%zu seconds=%.3f lookups_per_s=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f "
           "results=%lld false=%lld errors=%lld total=%lld conns=%d mix=%zu\n",
           nlat, secs, (double)nlat / secs, p50, p99, mx, results, falses, errors, total, nconns,
           nmix);
    return errors > 0 ? 1 : 0;
}
