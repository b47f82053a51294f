/*
 * Every kind of bad input a C caller can pass returns the documented code,
 * records it as the thread's last error with a message, and never crashes.
 * Also the error paths that come from the network: unresolvable names,
 * refused connections, timeouts and early end of stream.
 */
#include "check.h"

#include <errno.h>

#define IO_TIMEOUT_MS 10000
#define BAD_HOST_UTF8 "\xff\xfe"

/* ---- NULL out-pointers ------------------------------------------------ */

static void check_null_outs(void)
{
    uint64_t before = sockrt_open_handles();
    struct pair p;
    sockrt_handle udp = 0, pool = 0;
    sockrt_handle dummy_h = 0;
    uint32_t dummy_ev = 0;
    char buf[16];

    SAY("NULL out-pointers: SOCKRT_E_INVALID_ARGUMENT and nothing left open");
    pair_open(&p, PAIR_TIMEOUT_MS);
    CHECK_OK(sockrt_udp_bind("127.0.0.1", 0, &udp));
    CHECK_OK(sockrt_pool_open("127.0.0.1", p.port, NULL, &pool));
    before = sockrt_open_handles();

    CHECK_ERR(sockrt_socket(SOCKRT_INET, SOCKRT_STREAM, NULL), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_accept(p.listener, NULL), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_tcp_connect("127.0.0.1", p.port, IO_TIMEOUT_MS, NULL),
              SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_tcp_listen("127.0.0.1", 0, 0, NULL), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_udp_bind("127.0.0.1", 0, NULL), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_get_option(p.client, SOCKRT_OPT_NODELAY, NULL), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_pool_open("127.0.0.1", p.port, NULL, NULL), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_pool_acquire(pool, NULL), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_pool_get_stats(pool, NULL), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_poll(NULL, &dummy_ev, 1, 0), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_poll(&dummy_h, NULL, 1, 0), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_poll(&p.client, &dummy_ev, 65537, 0), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_EQ(sockrt_open_handles(), before);

    /* A poll on nothing is allowed and simply times out. */
    CHECK_EQ(sockrt_poll(NULL, NULL, 0, 0), 0);

    /* Outputs documented as optional. */
    CHECK_OK(sockrt_local_addr(p.client, NULL, 0, NULL));
    CHECK_OK(sockrt_peer_addr(p.client, NULL, 0, NULL));
    sockrt_pool_config_init(NULL);
    CHECK(sockrt_last_error_message(NULL, 0) > 0);

    /* recv_from with NULL outs. */
    {
        uint16_t uport = 0;
        CHECK_OK(sockrt_local_addr(udp, NULL, 0, &uport));
        CHECK_EQ(sockrt_send_to(udp, "d", 1, "127.0.0.1", uport), 1);
        CHECK_OK(sockrt_set_option(udp, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
        CHECK_EQ(sockrt_recv_from(udp, buf, sizeof buf, NULL, 0, NULL), 1);
    }

    CHECK_OK(sockrt_pool_close(pool));
    CHECK_OK(sockrt_close(udp));
    pair_close(&p);
}

/* ---- hosts -------------------------------------------------------------- */

static void check_bad_hosts(void)
{
    static const char *const bad_hosts[] = { NULL, "", BAD_HOST_UTF8 };
    static const char *const labels[] = { "NULL", "empty", "non-UTF-8" };
    uint64_t before = sockrt_open_handles();
    sockrt_handle tcp = 0, udp = 0, out = 0;

    SAY("NULL, empty and non-UTF-8 hosts: SOCKRT_E_INVALID_ARGUMENT everywhere a host goes");
    CHECK_OK(sockrt_socket(SOCKRT_INET, SOCKRT_STREAM, &tcp));
    CHECK_OK(sockrt_udp_bind("127.0.0.1", 0, &udp));
    before = sockrt_open_handles();
    for (size_t i = 0; i < 3; i++) {
        const char *h = bad_hosts[i];
        printf("    host: %s\n", labels[i]);
        CHECK_ERR(sockrt_bind(tcp, h, 0), SOCKRT_E_INVALID_ARGUMENT);
        CHECK_ERR(sockrt_connect(tcp, h, 80, 100), SOCKRT_E_INVALID_ARGUMENT);
        CHECK_ERR(sockrt_tcp_connect(h, 80, 100, &out), SOCKRT_E_INVALID_ARGUMENT);
        CHECK_ERR(sockrt_tcp_listen(h, 0, 0, &out), SOCKRT_E_INVALID_ARGUMENT);
        CHECK_ERR(sockrt_udp_bind(h, 0, &out), SOCKRT_E_INVALID_ARGUMENT);
        CHECK_ERR(sockrt_send_to(udp, "x", 1, h, 9), SOCKRT_E_INVALID_ARGUMENT);
        CHECK_ERR(sockrt_pool_open(h, 80, NULL, &out), SOCKRT_E_INVALID_ARGUMENT);
    }
    CHECK_EQ(out, 0);
    CHECK_EQ(sockrt_open_handles(), before);

    SAY("pool_open with port 0: SOCKRT_E_INVALID_ARGUMENT");
    CHECK_ERR(sockrt_pool_open("127.0.0.1", 0, NULL, &out), SOCKRT_E_INVALID_ARGUMENT);

    /* The socket is still usable after all that. */
    CHECK_OK(sockrt_bind(tcp, "127.0.0.1", 0));
    CHECK_OK(sockrt_close(tcp));
    CHECK_OK(sockrt_close(udp));
}

/* ---- enums and option values ------------------------------------------ */

static void check_bad_enums(void)
{
    struct pair p;
    sockrt_handle out = 0, udp = 0;
    int64_t v = 0;
    static const int32_t bad_opts[] = { 0, -1, 4096, 99, INT32_MIN, INT32_MAX };

    SAY("unknown family/type: SOCKRT_E_INVALID_ARGUMENT");
    CHECK_ERR(sockrt_socket(0, SOCKRT_STREAM, &out), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_socket(5, SOCKRT_STREAM, &out), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_socket(-1, SOCKRT_DGRAM, &out), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_socket(SOCKRT_INET, 0, &out), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_socket(SOCKRT_INET, 3, &out), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_socket(SOCKRT_INET6, INT32_MAX, &out), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_EQ(out, 0);

    pair_open(&p, PAIR_TIMEOUT_MS);
    CHECK_OK(sockrt_udp_bind("127.0.0.1", 0, &udp));

    SAY("unknown options (set and get): SOCKRT_E_INVALID_ARGUMENT");
    for (size_t i = 0; i < sizeof bad_opts / sizeof bad_opts[0]; i++) {
        CHECK_ERR(sockrt_set_option(p.client, bad_opts[i], 1), SOCKRT_E_INVALID_ARGUMENT);
        CHECK_ERR(sockrt_get_option(p.client, bad_opts[i], &v), SOCKRT_E_INVALID_ARGUMENT);
    }

    SAY("option values out of range: SOCKRT_E_INVALID_ARGUMENT");
    CHECK_ERR(sockrt_set_option(p.client, SOCKRT_OPT_NODELAY, 2), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_set_option(p.client, SOCKRT_OPT_KEEPALIVE, -1), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_set_option(p.client, SOCKRT_OPT_RECV_BUFFER, 0), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_set_option(p.client, SOCKRT_OPT_SEND_BUFFER, -5), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_set_option(p.client, SOCKRT_OPT_SEND_BUFFER, (int64_t)INT32_MAX + 1),
              SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_set_option(p.client, SOCKRT_OPT_BUSY_POLL_US, 1000001),
              SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_set_option(p.client, SOCKRT_OPT_BUSY_POLL_US, -1), SOCKRT_E_INVALID_ARGUMENT);

    SAY("options of the wrong socket kind: SOCKRT_E_WRONG_KIND");
    CHECK_ERR(sockrt_set_option(udp, SOCKRT_OPT_NODELAY, 1), SOCKRT_E_WRONG_KIND);
    CHECK_ERR(sockrt_set_option(p.client, SOCKRT_OPT_BROADCAST, 1), SOCKRT_E_WRONG_KIND);

    SAY("unknown shutdown how: SOCKRT_E_INVALID_ARGUMENT");
    CHECK_ERR(sockrt_shutdown(p.client, 0), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_shutdown(p.client, 4), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_shutdown(p.client, -1), SOCKRT_E_INVALID_ARGUMENT);

    /* None of the above broke the connection. */
    CHECK_OK(sockrt_send_all(p.client, "ok", 2));
    CHECK_OK(sockrt_recv_exact(p.server, &v, 2));

    CHECK_OK(sockrt_close(udp));
    pair_close(&p);
}

/* ---- lengths and buffers ---------------------------------------------- */

static void check_bad_lengths(void)
{
    struct pair p;
    sockrt_handle udp = 0;
    char buf[64];
    char host[SOCKRT_ADDR_MAX];
    uint16_t port = 0;

    pair_open(&p, PAIR_TIMEOUT_MS);
    CHECK_OK(sockrt_udp_bind("127.0.0.1", 0, &udp));
    CHECK_OK(sockrt_local_addr(udp, NULL, 0, &port));
    /* If a bad length slipped through, a bounded wait fails the test instead of hanging. */
    CHECK_OK(sockrt_set_option(p.client, SOCKRT_OPT_READ_TIMEOUT_MS, 200));
    CHECK_OK(sockrt_set_option(udp, SOCKRT_OPT_READ_TIMEOUT_MS, 200));

    SAY("len SIZE_MAX for every data call: SOCKRT_E_INVALID_ARGUMENT");
    CHECK_ERR(sockrt_send(p.client, buf, SIZE_MAX), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_recv(p.client, buf, SIZE_MAX), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_send_all(p.client, buf, SIZE_MAX), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_recv_exact(p.client, buf, SIZE_MAX), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_send_to(udp, buf, SIZE_MAX, "127.0.0.1", port), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_recv_from(udp, buf, SIZE_MAX, host, sizeof host, &port),
              SOCKRT_E_INVALID_ARGUMENT);

    SAY("NULL buffer with a non-zero length: SOCKRT_E_INVALID_ARGUMENT");
    CHECK_ERR(sockrt_send(p.client, NULL, 10), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_recv(p.client, NULL, 10), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_send_all(p.client, NULL, 10), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_recv_exact(p.client, NULL, 10), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_send_to(udp, NULL, 10, "127.0.0.1", port), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_recv_from(udp, NULL, 10, host, sizeof host, &port),
              SOCKRT_E_INVALID_ARGUMENT);

    SAY("NULL buffer with length 0 is allowed");
    CHECK_EQ(sockrt_send(p.client, NULL, 0), 0);
    CHECK_OK(sockrt_send_all(p.client, NULL, 0));
    CHECK_OK(sockrt_recv_exact(p.client, NULL, 0));

    SAY("host_out too small: SOCKRT_E_INVALID_ARGUMENT, nothing truncated");
    {
        char small[9]; /* "127.0.0.1" needs 10 bytes with its NUL */
        memset(small, 'Z', sizeof small);
        port = 1;
        CHECK_ERR(sockrt_local_addr(p.client, small, sizeof small, &port),
                  SOCKRT_E_INVALID_ARGUMENT);
        CHECK_MSG(small[0] == 'Z' || small[0] == '\0', "a truncated address was written: %.9s",
                  small);
        CHECK_ERR(sockrt_local_addr(p.client, small, 1, NULL), SOCKRT_E_INVALID_ARGUMENT);
        CHECK_ERR(sockrt_peer_addr(p.client, small, sizeof small, NULL),
                  SOCKRT_E_INVALID_ARGUMENT);
        CHECK_OK(sockrt_local_addr(p.client, host, 10, NULL));
        CHECK(strcmp(host, "127.0.0.1") == 0);
    }

    SAY("recv_from with a too-small host buffer fails first and loses no datagram");
    {
        char small[4];
        CHECK_OK(sockrt_local_addr(udp, NULL, 0, &port));
        CHECK_EQ(sockrt_send_to(udp, "dgram", 5, "127.0.0.1", port), 5);
        CHECK_ERR(sockrt_recv_from(udp, buf, sizeof buf, small, sizeof small, NULL),
                  SOCKRT_E_INVALID_ARGUMENT);
        CHECK_EQ(sockrt_recv_from(udp, buf, sizeof buf, host, sizeof host, NULL), 5);
        CHECK(memcmp(buf, "dgram", 5) == 0);
    }

    CHECK_OK(sockrt_close(udp));
    pair_close(&p);
}

/* ---- handles ------------------------------------------------------------ */

/*
 * Calls every function that takes a handle with `h` (all other arguments
 * valid) and expects `code` from each. The close comes last.
 */
static void expect_handle_error(sockrt_handle h, int32_t code, sockrt_handle pool)
{
    char buf[16], host[SOCKRT_ADDR_MAX];
    uint16_t port = 0;
    int64_t v = 0;
    uint32_t ev = SOCKRT_POLL_IN;
    sockrt_handle out = 0;
    sockrt_pool_stats st;

    CHECK_ERR(sockrt_bind(h, "127.0.0.1", 0), code);
    CHECK_ERR(sockrt_listen(h, 0), code);
    CHECK_ERR(sockrt_accept(h, &out), code);
    CHECK_ERR(sockrt_connect(h, "127.0.0.1", 9, 100), code);
    CHECK_ERR(sockrt_send(h, "x", 1), code);
    CHECK_ERR(sockrt_recv(h, buf, sizeof buf), code);
    CHECK_ERR(sockrt_send_all(h, "x", 1), code);
    CHECK_ERR(sockrt_recv_exact(h, buf, 1), code);
    CHECK_ERR(sockrt_send_to(h, "x", 1, "127.0.0.1", 9), code);
    CHECK_ERR(sockrt_recv_from(h, buf, sizeof buf, host, sizeof host, &port), code);
    CHECK_ERR(sockrt_shutdown(h, SOCKRT_SHUT_BOTH), code);
    CHECK_ERR(sockrt_set_option(h, SOCKRT_OPT_NODELAY, 1), code);
    CHECK_ERR(sockrt_get_option(h, SOCKRT_OPT_NODELAY, &v), code);
    CHECK_ERR(sockrt_local_addr(h, host, sizeof host, &port), code);
    CHECK_ERR(sockrt_peer_addr(h, host, sizeof host, &port), code);
    CHECK_ERR(sockrt_fileno(h), code);
    CHECK_ERR(sockrt_poll(&h, &ev, 1, 0), code);
    CHECK_EQ(ev, SOCKRT_POLL_IN); /* events untouched on error */
    CHECK_ERR(sockrt_pool_acquire(h, &out), code);
    CHECK_ERR(sockrt_pool_release(h, h), code);
    CHECK_ERR(sockrt_pool_release(pool, h), code);
    CHECK_ERR(sockrt_pool_discard(h, h), code);
    CHECK_ERR(sockrt_pool_discard(pool, h), code);
    CHECK_ERR(sockrt_pool_was_reused(h), code);
    CHECK_ERR(sockrt_pool_get_stats(h, &st), code);
    CHECK_ERR(sockrt_pool_close(h), code);
    CHECK_ERR(sockrt_close(h), code);
    CHECK_EQ(out, 0);
}

static void check_bad_handles(void)
{
    static const sockrt_handle random_handles[] = {
        0x9e3779b97f4a7c15ull, 0xffffffffffffffffull, 0x0000000100000001ull, 1, 2,
    };
    sockrt_handle pool = 0, closed = 0, s = 0;
    uint64_t before;

    CHECK_OK(sockrt_pool_open("127.0.0.1", 9, NULL, &pool));
    before = sockrt_open_handles();

    SAY("handle 0: SOCKRT_E_BAD_HANDLE from every function that takes a handle");
    expect_handle_error(0, SOCKRT_E_BAD_HANDLE, pool);

    SAY("handles never issued: SOCKRT_E_BAD_HANDLE");
    for (size_t i = 0; i < sizeof random_handles / sizeof random_handles[0]; i++)
        expect_handle_error(random_handles[i], SOCKRT_E_BAD_HANDLE, pool);

    SAY("a closed handle: SOCKRT_E_BAD_HANDLE; double close too");
    CHECK_OK(sockrt_socket(SOCKRT_INET, SOCKRT_STREAM, &closed));
    CHECK_OK(sockrt_close(closed));
    expect_handle_error(closed, SOCKRT_E_BAD_HANDLE, pool);
    CHECK_ERR(sockrt_close(closed), SOCKRT_E_BAD_HANDLE);

    SAY("a closed handle stays invalid after its slot is reused");
    CHECK_OK(sockrt_socket(SOCKRT_INET, SOCKRT_STREAM, &s));
    CHECK(s != closed);
    CHECK_ERR(sockrt_fileno(closed), SOCKRT_E_BAD_HANDLE);
    CHECK_ERR(sockrt_close(closed), SOCKRT_E_BAD_HANDLE);
    CHECK(sockrt_fileno(s) >= 0);
    CHECK_OK(sockrt_close(s));
    CHECK_EQ(sockrt_open_handles(), before);

    CHECK_OK(sockrt_pool_close(pool));
    SAY("a closed pool: SOCKRT_E_BAD_HANDLE; closing it twice too");
    {
        sockrt_handle conn = 0;
        sockrt_pool_stats st;
        CHECK_ERR(sockrt_pool_acquire(pool, &conn), SOCKRT_E_BAD_HANDLE);
        CHECK_ERR(sockrt_pool_get_stats(pool, &st), SOCKRT_E_BAD_HANDLE);
        CHECK_ERR(sockrt_pool_close(pool), SOCKRT_E_BAD_HANDLE);
        CHECK_ERR(sockrt_close(pool), SOCKRT_E_BAD_HANDLE);
    }
}

/* ---- wrong kind, wrong state ------------------------------------------- */

static void check_wrong_kind_and_state(void)
{
    struct pair p;
    sockrt_handle pool = 0, udp = 0, fresh = 0, out = 0;
    char buf[16];

    pair_open(&p, PAIR_TIMEOUT_MS);
    CHECK_OK(sockrt_pool_open("127.0.0.1", p.port, NULL, &pool));
    CHECK_OK(sockrt_udp_bind("127.0.0.1", 0, &udp));
    CHECK_OK(sockrt_socket(SOCKRT_INET, SOCKRT_STREAM, &fresh));

    SAY("a pool handle given to socket calls: SOCKRT_E_WRONG_KIND");
    CHECK_ERR(sockrt_recv(pool, buf, sizeof buf), SOCKRT_E_WRONG_KIND);
    CHECK_ERR(sockrt_send(pool, "x", 1), SOCKRT_E_WRONG_KIND);
    CHECK_ERR(sockrt_accept(pool, &out), SOCKRT_E_WRONG_KIND);

    SAY("a socket given to pool calls: SOCKRT_E_WRONG_KIND");
    CHECK_ERR(sockrt_pool_acquire(p.client, &out), SOCKRT_E_WRONG_KIND);
    {
        sockrt_pool_stats st;
        CHECK_ERR(sockrt_pool_get_stats(p.client, &st), SOCKRT_E_WRONG_KIND);
    }

    SAY("a listener given to recv/send: SOCKRT_E_INVALID_STATE");
    CHECK_ERR(sockrt_recv(p.listener, buf, sizeof buf), SOCKRT_E_INVALID_STATE);
    CHECK_ERR(sockrt_send(p.listener, "x", 1), SOCKRT_E_INVALID_STATE);

    SAY("accept on a socket that is not listening: SOCKRT_E_INVALID_STATE");
    CHECK_ERR(sockrt_accept(fresh, &out), SOCKRT_E_INVALID_STATE);
    CHECK_ERR(sockrt_accept(p.client, &out), SOCKRT_E_INVALID_STATE);

    SAY("listen twice, listen on a connected socket: SOCKRT_E_INVALID_STATE");
    CHECK_ERR(sockrt_listen(p.listener, 0), SOCKRT_E_INVALID_STATE);
    CHECK_ERR(sockrt_listen(p.client, 0), SOCKRT_E_INVALID_STATE);

    SAY("bind twice, connect while listening: SOCKRT_E_INVALID_STATE");
    CHECK_ERR(sockrt_bind(p.listener, "127.0.0.1", 0), SOCKRT_E_INVALID_STATE);
    CHECK_ERR(sockrt_connect(p.listener, "127.0.0.1", p.port, 100), SOCKRT_E_INVALID_STATE);
    CHECK_ERR(sockrt_connect(p.client, "127.0.0.1", p.port, 100), SOCKRT_E_INVALID_STATE);

    SAY("listen/accept on UDP, send_to/recv_from on TCP: SOCKRT_E_WRONG_KIND");
    CHECK_ERR(sockrt_listen(udp, 0), SOCKRT_E_WRONG_KIND);
    CHECK_ERR(sockrt_accept(udp, &out), SOCKRT_E_WRONG_KIND);
    CHECK_ERR(sockrt_send_to(p.client, "x", 1, "127.0.0.1", p.port), SOCKRT_E_WRONG_KIND);
    CHECK_ERR(sockrt_recv_from(p.client, buf, sizeof buf, NULL, 0, NULL), SOCKRT_E_WRONG_KIND);

    SAY("data calls on an unconnected socket: SOCKRT_E_NOT_CONNECTED");
    CHECK_ERR(sockrt_recv(fresh, buf, sizeof buf), SOCKRT_E_NOT_CONNECTED);
    CHECK_ERR(sockrt_send(fresh, "x", 1), SOCKRT_E_NOT_CONNECTED);
    CHECK_ERR(sockrt_peer_addr(fresh, buf, sizeof buf, NULL), SOCKRT_E_NOT_CONNECTED);
    CHECK_ERR(sockrt_shutdown(fresh, SOCKRT_SHUT_BOTH), SOCKRT_E_NOT_CONNECTED);
    CHECK_EQ(out, 0);

    CHECK_OK(sockrt_close(fresh));
    CHECK_OK(sockrt_close(udp));
    CHECK_OK(sockrt_pool_close(pool));
    pair_close(&p);
}

/* ---- addresses ---------------------------------------------------------- */

static void check_address_errors(void)
{
    sockrt_handle l = 0, out = 0, s = 0;
    uint16_t port = 0;
    char msg[256], want[32];
    double t0;

    SAY("a name that does not resolve: SOCKRT_E_RESOLVE");
    t0 = now_ms();
    CHECK_ERR(sockrt_tcp_connect("no-such-host.invalid", 80, 5000, &out), SOCKRT_E_RESOLVE);
    CHECK_ERR(sockrt_udp_bind("no-such-host.invalid", 0, &out), SOCKRT_E_RESOLVE);
    printf("    two failed resolutions took %.1f ms\n", now_ms() - t0);

    SAY("connect to a port just closed: SOCKRT_E_CONNECTION_REFUSED, ECONNREFUSED, address in message");
    l = listen_any("127.0.0.1", &port);
    CHECK_OK(sockrt_close(l));
    CHECK_ERR(sockrt_tcp_connect("127.0.0.1", port, IO_TIMEOUT_MS, &out),
              SOCKRT_E_CONNECTION_REFUSED);
    CHECK_EQ(sockrt_last_os_error(), ECONNREFUSED);
    snprintf(want, sizeof want, "127.0.0.1:%u", (unsigned)port);
    CHECK_MSG(strstr(last_message(msg, sizeof msg), want) != NULL, "message \"%s\" lacks %s", msg,
              want);
    CHECK_OK(sockrt_socket(SOCKRT_INET, SOCKRT_STREAM, &s));
    CHECK_ERR(sockrt_connect(s, "127.0.0.1", port, IO_TIMEOUT_MS), SOCKRT_E_CONNECTION_REFUSED);
    CHECK_EQ(sockrt_last_os_error(), ECONNREFUSED);
    CHECK(strstr(last_message(msg, sizeof msg), want) != NULL);
    CHECK_OK(sockrt_close(s));
    CHECK_EQ(out, 0);

    SAY("listen on a port in use: SOCKRT_E_ADDRESS_IN_USE");
    l = listen_any("127.0.0.1", &port);
    CHECK_ERR(sockrt_tcp_listen("127.0.0.1", port, 0, &out), SOCKRT_E_ADDRESS_IN_USE);
    CHECK_EQ(sockrt_last_os_error(), EADDRINUSE);
    CHECK_OK(sockrt_close(l));

    SAY("bind to an address not on this machine: SOCKRT_E_ADDRESS_NOT_AVAILABLE");
    CHECK_ERR(sockrt_tcp_listen("192.0.2.1", 0, 0, &out), SOCKRT_E_ADDRESS_NOT_AVAILABLE);
    CHECK_EQ(out, 0);
}

/* ---- timeouts and end of stream ------------------------------------------ */

static void check_timeouts(void)
{
    struct pair p;
    char buf[16];
    double t0, waited;
    sockrt_handle out = 0;

    pair_open(&p, PAIR_TIMEOUT_MS);

    SAY("READ_TIMEOUT_MS=0: recv does not wait");
    CHECK_OK(sockrt_set_option(p.client, SOCKRT_OPT_READ_TIMEOUT_MS, 0));
    t0 = now_ms();
    CHECK_ERR(sockrt_recv(p.client, buf, sizeof buf), SOCKRT_E_TIMEOUT);
    waited = now_ms() - t0;
    /* Loose: it must not wait anything like a real timeout. */
    CHECK_MSG(waited < 1000, "waited %.1f ms", waited);

    SAY("recv with READ_TIMEOUT_MS=100: SOCKRT_E_TIMEOUT after roughly 100 ms");
    CHECK_OK(sockrt_set_option(p.client, SOCKRT_OPT_READ_TIMEOUT_MS, 100));
    t0 = now_ms();
    CHECK_ERR(sockrt_recv(p.client, buf, sizeof buf), SOCKRT_E_TIMEOUT);
    waited = now_ms() - t0;
    printf("    recv timed out after %.1f ms\n", waited);
    CHECK_MSG(waited >= 80 && waited <= 2000, "waited %.1f ms", waited);

    SAY("recv_exact with a timeout and some bytes: SOCKRT_E_TIMEOUT for the whole call");
    CHECK_OK(sockrt_send_all(p.server, "abc", 3));
    t0 = now_ms();
    CHECK_ERR(sockrt_recv_exact(p.client, buf, 10), SOCKRT_E_TIMEOUT);
    waited = now_ms() - t0;
    CHECK_MSG(waited >= 80 && waited <= 2000, "waited %.1f ms", waited);

    SAY("accept with READ_TIMEOUT_MS=100: SOCKRT_E_TIMEOUT after roughly 100 ms");
    CHECK_OK(sockrt_set_option(p.listener, SOCKRT_OPT_READ_TIMEOUT_MS, 100));
    t0 = now_ms();
    CHECK_ERR(sockrt_accept(p.listener, &out), SOCKRT_E_TIMEOUT);
    waited = now_ms() - t0;
    printf("    accept timed out after %.1f ms\n", waited);
    CHECK_MSG(waited >= 80 && waited <= 2000, "waited %.1f ms", waited);
    CHECK_EQ(out, 0);

    SAY("recv_exact when the peer closes early: SOCKRT_E_EOF");
    CHECK_OK(sockrt_set_option(p.client, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    CHECK_OK(sockrt_send_all(p.server, "xyz", 3));
    CHECK_OK(sockrt_close(p.server));
    CHECK_ERR(sockrt_recv_exact(p.client, buf, 10), SOCKRT_E_EOF);
    /* After EOF, plain recv reports the orderly end. */
    CHECK_EQ(sockrt_recv(p.client, buf, sizeof buf), 0);

    CHECK_OK(sockrt_close(p.client));
    CHECK_OK(sockrt_close(p.listener));
}

static void check_last_error_message_null(void)
{
    SAY("sockrt_last_error_message(NULL, n>0) does not crash and reports the length");
    CHECK_ERR(sockrt_close(0), SOCKRT_E_BAD_HANDLE);
    CHECK_EQ(sockrt_last_error_message(NULL, 16), sockrt_last_error_message(NULL, 0));
}

int main(void)
{
    uint64_t handles_at_start = sockrt_open_handles();

    TEST_BEGIN("test_bad_input");
    check_null_outs();
    check_bad_hosts();
    check_bad_enums();
    check_bad_lengths();
    check_bad_handles();
    check_wrong_kind_and_state();
    check_address_errors();
    check_timeouts();
    check_last_error_message_null();

    SAY("sockrt_open_handles() back to its starting value (%" PRIu64 ")", handles_at_start);
    CHECK_EQ(sockrt_open_handles(), handles_at_start);
    TEST_END("test_bad_input");
    return 0;
}
