/* test_front.c -- the HTTP API front: its pure parts (routing, keys, the 422 body), and its
 * listening socket started for real (a port already taken, the connection cap). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixtures.h"
#include "mxg/config.h"
#include "mxg/err.h"
#include "mxg/front.h"

#define Z "/api/v1/servers/localhost/zones"

static void test_route_zones(void **state)
{
    char zone[256];
    assert_int_equal(mxg_front_route("PATCH", Z "/example.com.", zone, sizeof(zone)),
                     MXG_ROUTE_ZONE_PATCH);
    assert_string_equal(zone, "example.com.");
    assert_int_equal(mxg_front_route("DELETE", Z "/example.com.", zone, sizeof(zone)),
                     MXG_ROUTE_ZONE_DELETE);
    /* methods in any case */
    assert_int_equal(mxg_front_route("patch", Z "/example.com.", zone, sizeof(zone)),
                     MXG_ROUTE_ZONE_PATCH);
    assert_int_equal(
        mxg_front_route("Put", Z "/example.com./metadata/X-MXGUARD-MODE", zone, sizeof(zone)),
        MXG_ROUTE_META_GUARD);
    assert_int_equal(mxg_front_route("GET", Z "/example.com.", zone, sizeof(zone)),
                     MXG_ROUTE_FORWARD);
    assert_int_equal(mxg_front_route("PUT", Z "/example.com.", zone, sizeof(zone)),
                     MXG_ROUTE_ZONE_PUT);
    assert_int_equal(mxg_front_route("PUT", Z "/example.com./rectify", zone, sizeof(zone)),
                     MXG_ROUTE_FORWARD);
    assert_int_equal(mxg_front_route("POST", Z, zone, sizeof(zone)), MXG_ROUTE_ZONE_CREATE);
    assert_string_equal(zone, "");
    assert_int_equal(mxg_front_route("GET", Z, zone, sizeof(zone)), MXG_ROUTE_FORWARD);
    assert_int_equal(
        mxg_front_route("GET", "/api/v1/servers/localhost/statistics", zone, sizeof(zone)),
        MXG_ROUTE_FORWARD);
    assert_int_equal(mxg_front_route("GET", "/api/v1/servers", zone, sizeof(zone)),
                     MXG_ROUTE_FORWARD);
    /* pdns's zone id escapes: "=2F" is '/' */
    assert_int_equal(
        mxg_front_route("PATCH", Z "/0=2F26.2.0.192.in-addr.arpa.", zone, sizeof(zone)),
        MXG_ROUTE_ZONE_PATCH);
    assert_string_equal(zone, "0/26.2.0.192.in-addr.arpa.");
    /* a sub-resource of a zone is pdns's */
    assert_int_equal(mxg_front_route("PUT", Z "/example.com./notify", zone, sizeof(zone)),
                     MXG_ROUTE_FORWARD);
    assert_int_equal(mxg_front_route("PUT", Z "/example.com./rectify", zone, sizeof(zone)),
                     MXG_ROUTE_FORWARD);
}

static void test_route_metadata(void **state)
{
    char zone[256];
    const char *m = Z "/example.com./metadata/X-MXGUARD-MODE";
    assert_int_equal(mxg_front_route("PUT", m, zone, sizeof(zone)), MXG_ROUTE_META_GUARD);
    assert_string_equal(zone, "example.com.");
    assert_int_equal(mxg_front_route("POST", m, zone, sizeof(zone)), MXG_ROUTE_META_GUARD);
    assert_int_equal(mxg_front_route("DELETE", m, zone, sizeof(zone)), MXG_ROUTE_META_GUARD);
    assert_int_equal(mxg_front_route("GET", m, zone, sizeof(zone)), MXG_ROUTE_FORWARD);
    assert_int_equal(
        mxg_front_route("PUT", Z "/example.com./metadata/x-mxguard-whatever", zone, sizeof(zone)),
        MXG_ROUTE_META_GUARD);
    assert_int_equal(
        mxg_front_route("PUT", Z "/example.com./metadata/ALLOW-AXFR-FROM", zone, sizeof(zone)),
        MXG_ROUTE_FORWARD);
    assert_int_equal(mxg_front_route("POST", Z "/example.com./metadata", zone, sizeof(zone)),
                     MXG_ROUTE_META_POST);
    assert_int_equal(mxg_front_route("GET", Z "/example.com./metadata", zone, sizeof(zone)),
                     MXG_ROUTE_FORWARD);
    assert_true(mxg_front_operator_only(MXG_ROUTE_META_GUARD));
    assert_false(mxg_front_operator_only(MXG_ROUTE_META_POST)); /* decided on the body */
    assert_false(mxg_front_operator_only(MXG_ROUTE_ZONE_PATCH));
    assert_false(mxg_front_operator_only(MXG_ROUTE_FORWARD));
}

static void test_route_mxguard(void **state)
{
    char zone[256];
    assert_int_equal(mxg_front_route("POST", "/api/v1/mxguard/check", zone, sizeof(zone)),
                     MXG_ROUTE_MXG_CHECK);
    assert_int_equal(mxg_front_route("GET", "/api/v1/mxguard/check", zone, sizeof(zone)),
                     MXG_ROUTE_BAD_METHOD);
    assert_int_equal(mxg_front_route("GET", "/api/v1/mxguard/scan", zone, sizeof(zone)),
                     MXG_ROUTE_MXG_SCAN);
    assert_int_equal(mxg_front_route("GET", "/api/v1/mxguard/audit", zone, sizeof(zone)),
                     MXG_ROUTE_MXG_AUDIT);
    assert_int_equal(mxg_front_route("GET", "/api/v1/mxguard/audit/verify", zone, sizeof(zone)),
                     MXG_ROUTE_MXG_VERIFY);
    assert_int_equal(mxg_front_route("GET", "/api/v1/mxguard/zones/example.com./last-decision",
                                     zone, sizeof(zone)),
                     MXG_ROUTE_MXG_LAST);
    assert_string_equal(zone, "example.com.");
    assert_int_equal(
        mxg_front_route("GET", "/api/v1/mxguard/zones//last-decision", zone, sizeof(zone)),
        MXG_ROUTE_NOT_FOUND);
    assert_int_equal(
        mxg_front_route("GET", "/api/v1/mxguard/zones/a/b/last-decision", zone, sizeof(zone)),
        MXG_ROUTE_NOT_FOUND);
    assert_int_equal(mxg_front_route("GET", "/api/v1/mxguard/nothing", zone, sizeof(zone)),
                     MXG_ROUTE_NOT_FOUND);
    assert_int_equal(mxg_front_route("GET", "/metrics", zone, sizeof(zone)), MXG_ROUTE_METRICS);
    assert_true(mxg_front_operator_only(MXG_ROUTE_MXG_AUDIT));
    assert_true(mxg_front_operator_only(MXG_ROUTE_MXG_VERIFY));
    assert_true(mxg_front_operator_only(MXG_ROUTE_METRICS));
    assert_false(mxg_front_operator_only(MXG_ROUTE_MXG_CHECK));
    /* a zone id too long for the buffer is not a zone */
    char small[4];
    assert_int_equal(mxg_front_route("PATCH", Z "/example.com.", small, sizeof(small)),
                     MXG_ROUTE_FORWARD);
    assert_string_equal(small, "");
}

static void test_auth(void **state)
{
    assert_int_equal(mxg_front_auth(NULL, "panel", "op"), MXG_AUTH_NONE);
    assert_int_equal(mxg_front_auth("", "panel", "op"), MXG_AUTH_NONE);
    assert_int_equal(mxg_front_auth("panel", "panel", "op"), MXG_AUTH_PANEL);
    assert_int_equal(mxg_front_auth("op", "panel", "op"), MXG_AUTH_OPERATOR);
    assert_int_equal(mxg_front_auth("panelx", "panel", "op"), MXG_AUTH_NONE);
    assert_int_equal(mxg_front_auth("pane", "panel", "op"), MXG_AUTH_NONE);
    assert_int_equal(mxg_front_auth("Panel", "panel", "op"), MXG_AUTH_NONE);
    /* an unset key matches nothing, not even the empty string */
    assert_int_equal(mxg_front_auth("", NULL, NULL), MXG_AUTH_NONE);
    assert_int_equal(mxg_front_auth("", "", ""), MXG_AUTH_NONE);
    assert_int_equal(mxg_front_auth("op", NULL, "op"), MXG_AUTH_OPERATOR);
    assert_int_equal(mxg_front_auth("panel", "panel", NULL), MXG_AUTH_PANEL);
    /* the same key for both: the operator's rights */
    assert_int_equal(mxg_front_auth("k", "k", "k"), MXG_AUTH_OPERATOR);
}

static void test_refusal(void **state)
{
    json_t *findings = json_loads(
        "[{\"rule\":\"implicit-mail-moved\",\"severity\":\"warn\",\"name\":\"x.example.\","
        "\"reason\":\"warned\"},"
        "{\"rule\":\"mail-moved\",\"severity\":\"block\",\"name\":\"example.com.\","
        "\"family\":\"A\",\"reason\":\"mail for example.com. would move\\nin A\"}]",
        0, NULL);
    json_t *remedies = json_loads("[\"keep the apex, proxy only www\"]", 0, NULL);
    json_t *fix = json_array(), *verdict = json_string("reject");
    assert_non_null(findings);
    json_t *b = mxg_front_refusal(verdict, findings, fix, remedies, 42);
    assert_non_null(b);
    const char *e = json_string_value(json_object_get(b, "error"));
    assert_non_null(e);
    assert_non_null(strstr(e, "mail-moved at example.com.: mail for example.com. would move in A"));
    assert_non_null(strstr(e, "; remedy: keep the apex, proxy only www"));
    assert_null(strchr(e, '\n'));
    json_t *mx = json_object_get(b, "mxguard");
    assert_string_equal(json_string_value(json_object_get(mx, "verdict")), "reject");
    assert_int_equal(json_integer_value(json_object_get(mx, "audit_seq")), 42);
    assert_int_equal(json_array_size(json_object_get(mx, "findings")), 2);
    assert_int_equal(json_array_size(json_object_get(mx, "remedies")), 1);
    assert_true(json_is_array(json_object_get(mx, "fix")));
    json_decref(b);

    /* no remedy, a fix: the fix is the remedy; no seq: null */
    json_array_append_new(fix, json_object());
    b = mxg_front_refusal(verdict, findings, fix, NULL, 0);
    e = json_string_value(json_object_get(b, "error"));
    assert_non_null(strstr(e, "remedy: apply the fix"));
    assert_true(json_is_null(json_object_get(json_object_get(b, "mxguard"), "audit_seq")));
    assert_int_equal(json_array_size(json_object_get(json_object_get(b, "mxguard"), "remedies")),
                     0);
    json_decref(b);

    /* nothing known */
    b = mxg_front_refusal(NULL, NULL, NULL, NULL, 0);
    assert_string_equal(json_string_value(json_object_get(b, "error")),
                        "mxguard refused the change");
    json_decref(b);

    json_decref(findings);
    json_decref(remedies);
    json_decref(fix);
    json_decref(verdict);
}

/* ---- the listening socket, for real ------------------------------------------------- */

/* A TCP socket on 127.0.0.1 with a port of the kernel's choice, listening; *port gets it. */
static int listener(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 64), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

struct front_fixture {
    char db[256];
    struct mxg_config cfg;
    struct mxg_front *front;
    int port;
};

/* pdns_port: where the front forwards pdns's API (0: the default). */
static int start_front_to(struct front_fixture *fx, int port, unsigned cap, int pdns_port,
                          char *err, size_t errlen)
{
    char text[768];
    mxg_test_db_path(fx->db, sizeof(fx->db), "front");
    fx->port = port;
    snprintf(text, sizeof(text),
             "store=sqlite:%s\napi-listen=127.0.0.1:%d\napi-key=panel\n"
             "api-max-connections=%u\napi-timeout=30\npdns-api-url=http://127.0.0.1:%d\n",
             fx->db, port, cap, pdns_port ? pdns_port : 8081);
    assert_int_equal(mxg_config_load_string(text, "front.conf", &fx->cfg, err, errlen), MXG_OK);
    return mxg_front_start(&fx->cfg, &fx->front, err, errlen);
}

static int start_front(struct front_fixture *fx, int port, unsigned cap, char *err, size_t errlen)
{
    return start_front_to(fx, port, cap, 0, err, errlen);
}

static void stop_front(struct front_fixture *fx)
{
    mxg_front_stop(fx->front);
    mxg_config_free(&fx->cfg);
    mxg_test_db_remove(fx->db);
}

static struct sockaddr_in loopback(int port)
{
    return (struct sockaddr_in){.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
}

static int connect_to(int port)
{
    struct sockaddr_in a = loopback(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Sends a request the front answers itself (no key: 401) on a connection it keeps open. */
static void ask(int fd)
{
    static const char rq[] = "GET /api/v1/servers HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(write(fd, rq, sizeof(rq) - 1), (ssize_t)(sizeof(rq) - 1));
}

/* Whether an answer's status line arrives within ms; a "401" one when it does. */
static bool answered(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) != 1)
        return false;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    assert_true(n > 12);
    buf[n] = '\0';
    assert_memory_equal(buf, "HTTP/1.1 401", 12);
    return true;
}

/* A port something else listens on: start fails with the address and the reason, and leaves
 * nothing behind (the sanitizers and valgrind see the teardown of a half-started front). */
static void test_listen_taken(void **state)
{
    (void)state;
    int port, taken = listener(&port);
    struct front_fixture fx = {0};
    char err[512] = "";
    assert_int_equal(start_front(&fx, port, 8, err, sizeof(err)), MXG_EIO);
    assert_null(fx.front);
    assert_non_null(strstr(err, "cannot listen on 127.0.0.1:"));
    assert_non_null(strstr(err, "in use"));
    stop_front(&fx);
    close(taken);
}

/* api-max-connections open at once; the next waits in the listen queue, unanswered, until one
 * closes, and is then served. Many connections one after another are all served. */
static void test_connection_cap(void **state)
{
    (void)state;
    int port, probe = listener(&port);
    close(probe); /* the front takes the port the kernel just chose */
    struct front_fixture fx = {0};
    char err[512] = "";
    assert_int_equal(start_front(&fx, port, 2, err, sizeof(err)), MXG_OK);
    int a = connect_to(port), b = connect_to(port);
    ask(a);
    ask(b);
    assert_true(answered(a, 5000));
    assert_true(answered(b, 5000));
    int c = connect_to(port); /* the kernel completes it; the front does not take it yet */
    ask(c);
    assert_false(answered(c, 300));
    close(a);
    assert_true(answered(c, 5000));
    ask(b); /* kept open: answered again */
    assert_true(answered(b, 5000));
    close(b);
    close(c);
    for (int i = 0; i < 50; i++) {
        int d = connect_to(port);
        ask(d);
        assert_true(answered(d, 5000));
        close(d);
    }
    /* stopped with a connection open */
    int e = connect_to(port);
    ask(e);
    assert_true(answered(e, 5000));
    stop_front(&fx);
    close(e);
}

/* Out of descriptors: the connection stays in the listen queue (the front says so and retries,
 * no busy loop) and is answered once a descriptor is free again. */
static void test_accept_out_of_fds(void **state)
{
    (void)state;
    int port, probe = listener(&port);
    close(probe);
    struct front_fixture fx = {0};
    char err[512] = "";
    assert_int_equal(start_front(&fx, port, 8, err, sizeof(err)), MXG_OK);
    struct sockaddr_in a = loopback(port);
    int c = socket(AF_INET, SOCK_STREAM, 0); /* made before the limit, connected after it */
    assert_true(c >= 0);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int next = dup(0); /* the lowest free descriptor: none at or above it may open now */
    assert_true(next >= 0);
    close(next);
    low = old;
    low.rlim_cur = (rlim_t)next;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    /* Valgrind keeps its own limit, and takes a connection it will not hand over off the queue
     * and closes it: the kernel's behaviour is not what runs there. */
    const char *pre = getenv("LD_PRELOAD");
    int d = pre && strstr(pre, "vgpreload") ? 0 : dup(0);
    if (d >= 0) { /* the limit is not enforced here: nothing to see */
        if (d > 0)
            close(d);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
        close(c);
        stop_front(&fx);
        skip();
        return;
    }
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
    ask(c);
    bool early = answered(c, 400);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_false(early);
    assert_true(answered(c, 5000));
    close(c);
    stop_front(&fx);
}

/* A request at work holds its thread (here: forwarded to a pdns API that never answers), and a
 * new connection goes to a thread with none; with all 16 at work, it waits in the listen queue
 * until one is free again. */
static void test_busy_threads(void **state)
{
    (void)state;
    int pdns_port, pdns = listener(&pdns_port); /* takes connections into its queue, no more */
    int port, probe = listener(&port);
    close(probe);
    struct front_fixture fx = {0};
    char err[512] = "";
    assert_int_equal(start_front_to(&fx, port, 64, pdns_port, err, sizeof(err)), MXG_OK);
    static const char fwd[] =
        "GET /api/v1/servers/localhost/zones HTTP/1.1\r\nHost: t\r\nX-API-Key: panel\r\n\r\n";
    int held[16];
    for (int i = 0; i < 16; i++) {
        held[i] = connect_to(port);
        assert_int_equal(write(held[i], fwd, sizeof(fwd) - 1), (ssize_t)(sizeof(fwd) - 1));
        if (i == 0) { /* the one before the others: a free thread answers it */
            int c = connect_to(port);
            ask(c);
            assert_true(answered(c, 5000));
            close(c);
        }
    }
    poll(NULL, 0, 300); /* every forward sent */
    int c = connect_to(port);
    ask(c);
    assert_false(answered(c, 300));
    close(pdns); /* the forwards fail (502), their threads are free again */
    assert_true(answered(c, 5000));
    close(c);
    for (int i = 0; i < 16; i++)
        close(held[i]);
    stop_front(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_zones),    cmocka_unit_test(test_route_metadata),
        cmocka_unit_test(test_route_mxguard),  cmocka_unit_test(test_auth),
        cmocka_unit_test(test_refusal),        cmocka_unit_test(test_listen_taken),
        cmocka_unit_test(test_connection_cap), cmocka_unit_test(test_accept_out_of_fds),
        cmocka_unit_test(test_busy_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
