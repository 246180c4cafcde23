/* test_server.c -- framing and limits of the backend socket, with real unix sockets: a libuv
 * loop serves in a thread while the test talks to it with blocking sockets. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mxg/audit.h"
#include "mxg/backend.h"
#include "mxg/config.h"
#include "mxg/daemon.h"
#include "mxg/err.h"
#include "mxg/limits.h"
#include "mxg/server.h"
#include "mxg/store.h"
#include "mxg/writer.h"
#include "mxg/zoneops.h"

/* usleep() is obsolescent (gone from POSIX.1-2008). */
static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

struct fixture {
    char dir[64];
    char path[128];
    struct mxg_config cfg;
    struct mxg_store *st, *wst;
    struct mxg_backend *be;
    struct mxg_writer *writer;
    struct mxg_line_handler h;
    uv_loop_t loop;
    uv_async_t stop;
    struct mxg_server *srv;
    pthread_t thread;
};

static void on_stop(uv_async_t *h)
{
    struct fixture *f = h->data;
    mxg_server_stop(f->srv);
    uv_close((uv_handle_t *)&f->stop, NULL);
}

static void *loop_thread(void *arg)
{
    struct fixture *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return NULL;
}

static int start_mode(void **state, unsigned max_conn, bool async);

static int start(void **state, unsigned max_conn)
{
    return start_mode(state, max_conn, false);
}

/* Commits on the writer thread, as the daemon runs them: a file store opened twice. */
static int setup_async(void **state)
{
    return start_mode(state, 256, true);
}

static int start_mode(void **state, unsigned max_conn, bool async)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];
    snprintf(f->dir, sizeof(f->dir), "/tmp/mxg-test-server.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/backend.sock", f->dir);
    assert_int_equal(mxg_config_load_string("", "test", &f->cfg, err, sizeof(err)), MXG_OK);
    char db[128];
    snprintf(db, sizeof(db), "%.60s/store.sqlite3", f->dir);
    assert_int_equal(mxg_store_sqlite_open(async ? db : ":memory:", &f->st, err, sizeof(err)),
                     MXG_OK);
    const char *ns[] = {"ns1.example.com"};
    assert_int_equal(mxg_zone_create(f->st, &f->cfg, "example.com.", MXG_KIND_NATIVE, NULL, ns, 1,
                                     err, sizeof(err)),
                     MXG_OK);
    f->be = mxg_backend_new(f->st, &f->cfg);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    if (async) {
        assert_int_equal(mxg_store_sqlite_open(db, &f->wst, err, sizeof(err)), MXG_OK);
        assert_non_null(f->writer = mxg_writer_new(&f->loop));
        mxg_backend_set_async(f->be, f->writer, f->wst);
    }
    f->h = mxg_daemon_backend_handler(f->be);
    uv_async_init(&f->loop, &f->stop, on_stop);
    f->stop.data = f;
    struct mxg_server_opts o = {.path = f->path, .mode = 0640, .max_connections = max_conn};
    assert_int_equal(mxg_server_start(&f->loop, &f->h, &o, &f->srv, err, sizeof(err)), MXG_OK);
    assert_int_equal(pthread_create(&f->thread, NULL, loop_thread, f), 0);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return start(state, 256);
}

static int setup_max2(void **state)
{
    return start(state, 2);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    uv_async_send(&f->stop);
    pthread_join(f->thread, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    mxg_writer_free(f->writer);
    mxg_backend_free(f->be);
    mxg_store_close(f->st);
    mxg_store_close(f->wst);
    mxg_config_free(&f->cfg);
    char p[160];
    const char *files[] = {"store.sqlite3", "store.sqlite3-wal", "store.sqlite3-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%.60s/%s", f->dir, files[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static int client(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the server may close on us: that is what some tests check */
        data += n;
        len -= (size_t)n;
    }
}

/* Reads one reply line into buf; returns its length, 0 on EOF, -1 on timeout/error. */
static ssize_t read_line(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = recv(fd, buf + len, 1, 0);
        if (n == 0)
            return len ? (ssize_t)len : 0;
        if (n < 0)
            return -1;
        if (buf[len] == '\n') {
            buf[len] = '\0';
            return (ssize_t)len;
        }
        len++;
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

#define INIT "{\"method\":\"initialize\",\"parameters\":{}}\n"
#define PING "{\"method\":\"directBackendCmd\",\"parameters\":{\"query\":\"ping\"}}\n"

static void expect(int fd, const char *want)
{
    char buf[4096];
    assert_true(read_line(fd, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, want);
}

static void test_split_and_pipelined(void **state)
{
    struct fixture *f = *state;
    int fd = client(f->path);
    /* One request split over several writes. */
    send_all(fd, "{\"method\":\"initia", 17);
    sleep_ms(20);
    send_all(fd, "lize\",\"parameters\":{}}", 22);
    sleep_ms(20);
    send_all(fd, "\n", 1);
    expect(fd, "{\"result\":true}");
    /* Two requests in one write are answered in order; CRLF is tolerated; blank lines ignored. */
    const char two[] = PING "\r\n"
                            "{\"method\":\"directBackendCmd\",\"parameters\":{\"query\":"
                            "\"version\"}}\r\n";
    send_all(fd, two, sizeof(two) - 1);
    expect(fd, "{\"result\":\"pong\"}");
    char buf[256];
    assert_true(read_line(fd, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "mxguard"));
    close(fd);
}

static void test_oversized_line_closes_only_that_connection(void **state)
{
    struct fixture *f = *state;
    int other = client(f->path);
    send_all(other, INIT, strlen(INIT));
    expect(other, "{\"result\":true}");

    int fd = client(f->path);
    size_t big = (size_t)10 * 1024 * 1024;
    char *junk = malloc(big);
    memset(junk, 'x', big);
    send_all(fd, junk, big);
    free(junk);
    char buf[512];
    ssize_t n = read_line(fd, buf, sizeof(buf));
    assert_true(n > 0);
    assert_non_null(strstr(buf, "\"result\":false"));
    assert_non_null(strstr(buf, "too long"));
    /* then closed: EOF, or a reset because mxguard closed with the rest of the line unread */
    assert_true(read_line(fd, buf, sizeof(buf)) <= 0);
    close(fd);

    send_all(other, PING, strlen(PING));
    expect(other, "{\"result\":\"pong\"}");
    close(other);
    assert_int_equal(mxg_server_stats(f->srv)->oversized, 1);
}

static void test_garbage_and_abrupt_disconnect(void **state)
{
    struct fixture *f = *state;
    int other = client(f->path);
    send_all(other, INIT, strlen(INIT));
    expect(other, "{\"result\":true}");
    for (int i = 0; i < 20; i++) {
        int fd = client(f->path);
        const char *bad = "{\"method\":\"lookup\",\"parameters\":{\"qname\":";
        send_all(fd, bad, strlen(bad)); /* half a line, then gone */
        close(fd);
    }
    int fd = client(f->path);
    const char garbage[] = "\x01\x02\xff not json\n{\"a\":[[[[[[[[[[]]]]]]]]]]}\n\n";
    send_all(fd, garbage, sizeof(garbage) - 1);
    char buf[512];
    assert_true(read_line(fd, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"result\":false"));
    assert_true(read_line(fd, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"result\":false"));
    close(fd);
    send_all(other, PING, strlen(PING));
    expect(other, "{\"result\":\"pong\"}");
    close(other);
}

static void test_max_connections(void **state)
{
    struct fixture *f = *state;
    int a = client(f->path), b = client(f->path);
    send_all(a, INIT, strlen(INIT));
    expect(a, "{\"result\":true}");
    send_all(b, INIT, strlen(INIT));
    expect(b, "{\"result\":true}");
    int c = client(f->path); /* accepted by the kernel, closed by mxguard */
    send_all(c, INIT, strlen(INIT));
    char buf[64];
    assert_true(read_line(c, buf, sizeof(buf)) <= 0);
    close(c);
    close(a);
    /* A slot is free again once a connection closed. */
    int d = -1;
    for (int i = 0; i < 50; i++) {
        sleep_ms(20);
        if (mxg_server_stats(f->srv)->open < 2)
            break;
    }
    d = client(f->path);
    send_all(d, INIT, strlen(INIT));
    expect(d, "{\"result\":true}");
    close(d);
    close(b);
    assert_true(mxg_server_stats(f->srv)->refused >= 1);
}

static void test_socket_file(void **state)
{
    struct fixture *f = *state;
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_true(S_ISSOCK(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0640);
    /* A second server on the live path is refused. */
    uv_loop_t loop2;
    uv_loop_init(&loop2);
    struct mxg_server *srv2 = NULL;
    struct mxg_server_opts o = {.path = f->path, .mode = 0600, .max_connections = 4};
    char err[256];
    assert_int_equal(mxg_server_start(&loop2, &f->h, &o, &srv2, err, sizeof(err)), MXG_EBUSY);
    assert_non_null(strstr(err, "in use"));
    /* A path that is not a socket is refused. */
    char file[160];
    snprintf(file, sizeof(file), "%s/plain", f->dir);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    assert_int_equal(fclose(fp), 0);
    o.path = file;
    assert_int_equal(mxg_server_start(&loop2, &f->h, &o, &srv2, err, sizeof(err)), MXG_EEXIST);
    unlink(file);
    /* A stale socket (nobody listening) is replaced. */
    char stale[100];
    snprintf(stale, sizeof(stale), "%.60s/stale.sock", f->dir);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, stale, strlen(stale) + 1);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(s);
    o.path = stale;
    assert_int_equal(mxg_server_start(&loop2, &f->h, &o, &srv2, err, sizeof(err)), MXG_OK);
    mxg_server_stop(srv2);
    uv_run(&loop2, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&loop2), 0);
    assert_int_not_equal(access(stale, F_OK), 0); /* removed on stop */
}

#define START_TXN                                                                                  \
    "{\"method\":\"startTransaction\",\"parameters\":{\"domain\":\"example.com.\","                \
    "\"domain_id\":-1,\"trxid\":7}}\n"
#define REPLACE_TXT                                                                                \
    "{\"method\":\"replaceRRSet\",\"parameters\":{\"domain_id\":1,\"qname\":"                      \
    "\"k.example.com.\",\"qtype\":\"TXT\",\"trxid\":7,\"rrset\":[{\"qtype\":\"TXT\","              \
    "\"qname\":\"k.example.com.\",\"content\":\"\\\"v\\\"\",\"ttl\":60}]}}\n"
#define COMMIT_TXN "{\"method\":\"commitTransaction\",\"parameters\":{\"trxid\":7}}\n"
#define LOOKUP_K                                                                                   \
    "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"TXT\",\"qname\":"                          \
    "\"k.example.com.\",\"zone-id\":1}}\n"

static void test_async_commit(void **state)
{
    struct fixture *f = *state;
    int w = client(f->path), r = client(f->path);
    send_all(w, INIT, strlen(INIT));
    expect(w, "{\"result\":true}");
    send_all(r, INIT, strlen(INIT));
    expect(r, "{\"result\":true}");
    /* A pipelined sequence: the lines after the commit wait for its reply, in order. */
    const char seq[] = START_TXN REPLACE_TXT COMMIT_TXN LOOKUP_K;
    send_all(w, seq, sizeof(seq) - 1);
    expect(w, "{\"result\":true}");
    expect(w, "{\"result\":true}");
    expect(w, "{\"result\":true}");
    char buf[512];
    assert_true(read_line(w, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\\\"v\\\""));
    /* The other connection sees the committed record. */
    send_all(r, LOOKUP_K, strlen(LOOKUP_K));
    assert_true(read_line(r, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "k.example.com."));
    /* A connection that leaves right after its commit: the commit finishes, nothing leaks. */
    for (int i = 0; i < 10; i++) {
        int g = client(f->path);
        const char go[] = INIT START_TXN REPLACE_TXT COMMIT_TXN;
        send_all(g, go, sizeof(go) - 1);
        close(g);
    }
    send_all(r, PING, strlen(PING));
    expect(r, "{\"result\":\"pong\"}");
    for (int i = 0; i < 100 && mxg_backend_busy(f->be); i++)
        sleep_ms(20);
    close(w);
    close(r);
}

#define BAD_A                                                                                      \
    "{\"method\":\"feedRecord\",\"parameters\":{\"trxid\":7,\"rr\":{\"qtype\":\"A\","              \
    "\"qname\":\"bad.example.com.\",\"content\":\"192.0.2.300\",\"ttl\":60}}}\n"

static int newest_cb(void *ctx, int64_t seq, const char *record, json_t *obj)
{
    (void)seq;
    (void)record;
    *(json_t **)ctx = json_incref(obj);
    return 0;
}

/* A poisoned commit on the writer thread: refused, and audited there (PRODUCT.md §5). */
static void test_async_poisoned_commit(void **state)
{
    struct fixture *f = *state;
    int w = client(f->path);
    const char seq[] = INIT START_TXN REPLACE_TXT BAD_A COMMIT_TXN;
    send_all(w, seq, sizeof(seq) - 1);
    expect(w, "{\"result\":true}");
    expect(w, "{\"result\":true}");
    expect(w, "{\"result\":true}");
    char buf[1024];
    assert_true(read_line(w, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"result\":false"));
    assert_true(read_line(w, buf, sizeof(buf)) > 0);
    assert_null(strstr(buf, "\"result\""));
    assert_non_null(strstr(buf, "a write of this transaction was refused"));
    for (int i = 0; i < 100 && mxg_backend_busy(f->be); i++)
        sleep_ms(20);
    close(w);
    assert_int_equal(mxg_backend_stats(f->be)->commits, 1);
    assert_int_equal(mxg_backend_stats(f->be)->rejected, 1);
    /* The record, read through a handle of the test's own. */
    char db[128], err[256];
    snprintf(db, sizeof(db), "%.60s/store.sqlite3", f->dir);
    struct mxg_store *st = NULL;
    assert_int_equal(mxg_store_sqlite_open(db, &st, err, sizeof(err)), MXG_OK);
    struct mxg_audit_filter flt = {.newest_first = true, .limit = 1};
    json_t *rec = NULL;
    assert_int_equal(mxg_audit_list(st, &flt, newest_cb, &rec), MXG_OK);
    assert_non_null(rec);
    assert_int_equal(json_integer_value(json_object_get(rec, "seq")), 2); /* 1: the zone */
    assert_string_equal(json_string_value(json_object_get(rec, "verdict")), "reject");
    json_t *fd = json_array_get(json_object_get(rec, "findings"), 0);
    assert_string_equal(json_string_value(json_object_get(fd, "rule")), "invalid-record");
    assert_string_equal(json_string_value(json_object_get(fd, "name")), "bad.example.com.");
    assert_string_equal(json_string_value(json_array_get(json_object_get(fd, "new"), 0)),
                        "192.0.2.300");
    assert_int_equal(json_array_size(json_object_get(rec, "changes")), 1); /* k TXT */
    json_decref(rec);
    struct mxg_audit_verify v;
    assert_int_equal(mxg_audit_verify(st, NULL, &v), MXG_OK);
    assert_int_equal(v.records, 2);
    mxg_store_close(st);
}

int main(void)
{
    /* As the daemon does: a peer gone before its reply must not kill the process. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_split_and_pipelined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_line_closes_only_that_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_garbage_and_abrupt_disconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_connections, setup_max2, teardown),
        cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_commit, setup_async, teardown),
        cmocka_unit_test_setup_teardown(test_async_poisoned_commit, setup_async, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
