/*
 * End-to-end use of the C API the way a C program would use it: TCP echo
 * through the classic flow and the shortcuts, UDP, IPv6, addresses,
 * shutdown, options, descriptors, readiness, and the error-reporting
 * functions.
 */
#include "check.h"

#include <ctype.h>

/* Bounds every blocking call here so a bug fails the test, not the runner. */
#define IO_TIMEOUT_MS 10000

/* ---- library and error functions ------------------------------------ */

static void check_version(void)
{
    const char *v = sockrt_version();
    unsigned major, minor, patch;
    char tail;
    SAY("sockrt_version() is \"N.N.N\"");
    CHECK(v != NULL);
    CHECK_MSG(sscanf(v, "%u.%u.%u%c", &major, &minor, &patch, &tail) == 3,
              "version \"%s\"", v);
    CHECK_MSG(isdigit((unsigned char)v[0]) && isdigit((unsigned char)v[strlen(v) - 1]),
              "version \"%s\"", v);
}

struct code_name {
    int32_t code;
    const char *name;
};

static const struct code_name all_codes[] = {
    { SOCKRT_OK, "SOCKRT_OK" },
    { SOCKRT_E_INVALID_ARGUMENT, "SOCKRT_E_INVALID_ARGUMENT" },
    { SOCKRT_E_BAD_HANDLE, "SOCKRT_E_BAD_HANDLE" },
    { SOCKRT_E_WRONG_KIND, "SOCKRT_E_WRONG_KIND" },
    { SOCKRT_E_INVALID_STATE, "SOCKRT_E_INVALID_STATE" },
    { SOCKRT_E_NOT_CONNECTED, "SOCKRT_E_NOT_CONNECTED" },
    { SOCKRT_E_TIMEOUT, "SOCKRT_E_TIMEOUT" },
    { SOCKRT_E_CLOSED, "SOCKRT_E_CLOSED" },
    { SOCKRT_E_EOF, "SOCKRT_E_EOF" },
    { SOCKRT_E_CONNECTION_REFUSED, "SOCKRT_E_CONNECTION_REFUSED" },
    { SOCKRT_E_CONNECTION_RESET, "SOCKRT_E_CONNECTION_RESET" },
    { SOCKRT_E_ADDRESS_IN_USE, "SOCKRT_E_ADDRESS_IN_USE" },
    { SOCKRT_E_ADDRESS_NOT_AVAILABLE, "SOCKRT_E_ADDRESS_NOT_AVAILABLE" },
    { SOCKRT_E_RESOLVE, "SOCKRT_E_RESOLVE" },
    { SOCKRT_E_UNREACHABLE, "SOCKRT_E_UNREACHABLE" },
    { SOCKRT_E_POOL_EXHAUSTED, "SOCKRT_E_POOL_EXHAUSTED" },
    { SOCKRT_E_POOL_CLOSED, "SOCKRT_E_POOL_CLOSED" },
    { SOCKRT_E_LIMIT, "SOCKRT_E_LIMIT" },
    { SOCKRT_E_PANIC, "SOCKRT_E_PANIC" },
    { SOCKRT_E_IO, "SOCKRT_E_IO" },
    { SOCKRT_E_INTERRUPTED, "SOCKRT_E_INTERRUPTED" },
    { SOCKRT_E_WOULD_BLOCK, "SOCKRT_E_WOULD_BLOCK" },
    { SOCKRT_E_IN_PROGRESS, "SOCKRT_E_IN_PROGRESS" },
};
#define N_CODES (sizeof all_codes / sizeof all_codes[0])

static void check_error_names(void)
{
    static const int32_t unknown[] = { 1, 7, -99, 1000, -100000, INT32_MIN, INT32_MAX };

    SAY("sockrt_error_name/sockrt_strerror for all %zu codes", N_CODES);
    for (size_t i = 0; i < N_CODES; i++) {
        const char *name = sockrt_error_name(all_codes[i].code);
        const char *text = sockrt_strerror(all_codes[i].code);
        CHECK(name != NULL && text != NULL);
        CHECK_MSG(strcmp(name, all_codes[i].name) == 0, "code %d named \"%s\", expected \"%s\"",
                  all_codes[i].code, name, all_codes[i].name);
        CHECK_MSG(text[0] != '\0', "empty strerror for %s", name);
        CHECK_MSG(strcmp(text, "unknown error code") != 0, "strerror(%s) says unknown", name);
        /* Each known code has its own text. */
        for (size_t j = 0; j < i; j++)
            CHECK_MSG(strcmp(text, sockrt_strerror(all_codes[j].code)) != 0,
                      "%s and %s share the text \"%s\"", name, all_codes[j].name, text);
    }
    CHECK(strcmp(sockrt_strerror(SOCKRT_OK), "success") == 0);
    CHECK(strcmp(sockrt_strerror(SOCKRT_E_TIMEOUT), "timed out") == 0);

    SAY("unknown codes: \"SOCKRT_E_UNKNOWN\" / \"unknown error code\", never NULL");
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *name = sockrt_error_name(unknown[i]);
        const char *text = sockrt_strerror(unknown[i]);
        CHECK(name != NULL && text != NULL);
        CHECK_MSG(strcmp(name, "SOCKRT_E_UNKNOWN") == 0, "code %d named \"%s\"", unknown[i], name);
        CHECK_MSG(strcmp(text, "unknown error code") == 0, "code %d: \"%s\"", unknown[i], text);
    }
}

static void check_last_error_message(void)
{
    char full[512], small[8], one[1];
    size_t n;

    SAY("sockrt_last_error_message: full length, NUL-terminated truncation, NULL/0");
    CHECK_ERR(sockrt_close(0), SOCKRT_E_BAD_HANDLE);
    CHECK_EQ(sockrt_last_os_error(), 0);
    n = sockrt_last_error_message(NULL, 0);
    CHECK_MSG(n > sizeof small, "message of %zu bytes is too short to test truncation", n);

    memset(full, 'x', sizeof full);
    CHECK_EQ(sockrt_last_error_message(full, sizeof full), n);
    CHECK_EQ(strlen(full), n);

    memset(small, 'x', sizeof small);
    CHECK_EQ(sockrt_last_error_message(small, sizeof small), n);
    CHECK_EQ(small[sizeof small - 1], '\0');
    CHECK(memcmp(small, full, sizeof small - 1) == 0);

    one[0] = 'x';
    CHECK_EQ(sockrt_last_error_message(one, 1), n);
    CHECK_EQ(one[0], '\0');

    /* cap 0 with a real buffer writes nothing. */
    small[0] = 'x';
    CHECK_EQ(sockrt_last_error_message(small, 0), n);
    CHECK_EQ(small[0], 'x');

    /* Exactly n+1 fits without truncation. */
    {
        char *exact = malloc(n + 1);
        CHECK(exact != NULL);
        CHECK_EQ(sockrt_last_error_message(exact, n + 1), n);
        CHECK(strcmp(exact, full) == 0);
        free(exact);
    }
}

/* ---- echo server ------------------------------------------------------ */

struct echo_server {
    sockrt_handle listener;
    int connections; /* how many to serve before returning */
    uint64_t echoed; /* bytes echoed in total */
};

/* Echoes everything it reads until the peer's EOF, then closes. */
static uint64_t echo_connection(sockrt_handle c)
{
    unsigned char buf[65536];
    uint64_t total = 0;
    CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_WRITE_TIMEOUT_MS, IO_TIMEOUT_MS));
    for (;;) {
        int64_t n = sockrt_recv(c, buf, sizeof buf);
        CHECK_OK(n);
        if (n == 0)
            break;
        CHECK_OK(sockrt_send_all(c, buf, (size_t)n));
        total += (uint64_t)n;
    }
    CHECK_OK(sockrt_close(c));
    return total;
}

static void *echo_server_main(void *arg)
{
    struct echo_server *s = arg;
    for (int i = 0; i < s->connections; i++) {
        sockrt_handle c = 0;
        CHECK_OK(sockrt_accept(s->listener, &c));
        CHECK(c != 0);
        s->echoed += echo_connection(c);
    }
    return NULL;
}

/* ---- echo client ------------------------------------------------------ */

struct sender {
    sockrt_handle h;
    const unsigned char *buf;
    size_t len;
};

static void *send_all_main(void *arg)
{
    struct sender *s = arg;
    CHECK_OK(sockrt_send_all(s->h, s->buf, s->len));
    return NULL;
}

/*
 * Sends len patterned bytes and reads them back. The send runs in its own
 * thread: with 1 MiB in flight both directions' buffers fill, and a client
 * that only read after sending would deadlock against the echo.
 */
static void echo_round_trip(sockrt_handle h, size_t len, uint32_t seed)
{
    unsigned char *out = malloc(len), *in = malloc(len);
    struct sender s = { h, out, len };
    pthread_t t;
    CHECK(out != NULL && in != NULL);
    fill_pattern(out, len, seed);
    memset(in, 0, len);
    t = spawn(send_all_main, &s);
    CHECK_OK(sockrt_recv_exact(h, in, len));
    join(t);
    CHECK_MSG(memcmp(in, out, len) == 0, "echo of %zu bytes differs", len);
    free(out);
    free(in);
}

/* A few bytes through sockrt_send and sockrt_recv, looping on short counts. */
static void echo_small_with_send_recv(sockrt_handle h)
{
    const char msg[] = "hello, sockrt";
    char in[sizeof msg];
    size_t got = 0, sent = 0;
    while (sent < sizeof msg) {
        int64_t n = sockrt_send(h, msg + sent, sizeof msg - sent);
        CHECK_OK(n);
        CHECK(n > 0);
        sent += (size_t)n;
    }
    while (got < sizeof msg) {
        int64_t n = sockrt_recv(h, in + got, sizeof in - got);
        CHECK_OK(n);
        CHECK_MSG(n > 0, "unexpected EOF after %zu bytes", got);
        got += (size_t)n;
    }
    CHECK(memcmp(in, msg, sizeof msg) == 0);
    /* Zero-length send is allowed and sends nothing. */
    CHECK_EQ(sockrt_send(h, msg, 0), 0);
}

static const size_t echo_sizes[] = { 1, 100, 4096, 65536 + 7, 1 << 20 };
#define N_SIZES (sizeof echo_sizes / sizeof echo_sizes[0])

static void echo_all_sizes(sockrt_handle h)
{
    for (size_t i = 0; i < N_SIZES; i++)
        echo_round_trip(h, echo_sizes[i], (uint32_t)i + 1);
}

static void set_io_timeouts(sockrt_handle h)
{
    CHECK_OK(sockrt_set_option(h, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    CHECK_OK(sockrt_set_option(h, SOCKRT_OPT_WRITE_TIMEOUT_MS, IO_TIMEOUT_MS));
}

static void check_classic_flow(void)
{
    struct echo_server srv = { 0, 1, 0 };
    sockrt_handle client = 0;
    char host[SOCKRT_ADDR_MAX];
    uint16_t port = 0;
    pthread_t t;
    uint64_t expected = sizeof "hello, sockrt";

    SAY("classic flow: socket, bind, listen, accept (thread) / socket, connect");
    CHECK_OK(sockrt_socket(SOCKRT_INET, SOCKRT_STREAM, &srv.listener));
    CHECK(srv.listener != 0);
    CHECK_OK(sockrt_set_option(srv.listener, SOCKRT_OPT_REUSEADDR, 1));
    CHECK_OK(sockrt_bind(srv.listener, "127.0.0.1", 0));
    CHECK_OK(sockrt_listen(srv.listener, 16));
    CHECK_OK(sockrt_set_option(srv.listener, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    CHECK_OK(sockrt_local_addr(srv.listener, host, sizeof host, &port));
    CHECK_MSG(strcmp(host, "127.0.0.1") == 0, "listener host \"%s\"", host);
    CHECK(port != 0);
    t = spawn(echo_server_main, &srv);

    CHECK_OK(sockrt_socket(SOCKRT_INET, SOCKRT_STREAM, &client));
    CHECK_OK(sockrt_connect(client, "127.0.0.1", port, IO_TIMEOUT_MS));
    set_io_timeouts(client);

    SAY("send/recv of a short message");
    echo_small_with_send_recv(client);
    SAY("send_all/recv_exact of 1, 100, 4096, 65543 and 1048576 bytes");
    echo_all_sizes(client);
    for (size_t i = 0; i < N_SIZES; i++)
        expected += echo_sizes[i];

    CHECK_OK(sockrt_close(client));
    join(t);
    CHECK_EQ(srv.echoed, expected);
    CHECK_OK(sockrt_close(srv.listener));
}

static void check_shortcuts(const char *loopback)
{
    struct echo_server srv = { 0, 1, 0 };
    sockrt_handle client = 0;
    uint16_t port = 0;
    pthread_t t;

    SAY("shortcuts on %s: tcp_listen port 0, local_addr, tcp_connect, echo", loopback);
    srv.listener = listen_any(loopback, &port);
    CHECK_OK(sockrt_set_option(srv.listener, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    t = spawn(echo_server_main, &srv);
    CHECK_OK(sockrt_tcp_connect(loopback, port, IO_TIMEOUT_MS, &client));
    CHECK(client != 0);
    set_io_timeouts(client);
    echo_small_with_send_recv(client);
    echo_all_sizes(client);
    CHECK_OK(sockrt_close(client));
    join(t);
    CHECK_OK(sockrt_close(srv.listener));
}

/* ---- addresses, shutdown, descriptors --------------------------------- */

/* A connected pair on loopback: *client from tcp_connect, *server accepted. */
static void connected_pair(const char *loopback, sockrt_handle *listener, sockrt_handle *client,
                           sockrt_handle *server, uint16_t *port)
{
    *listener = listen_any(loopback, port);
    CHECK_OK(sockrt_set_option(*listener, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    /* The kernel completes the handshake into the backlog: no thread needed. */
    CHECK_OK(sockrt_tcp_connect(loopback, *port, IO_TIMEOUT_MS, client));
    CHECK_OK(sockrt_accept(*listener, server));
    set_io_timeouts(*client);
    set_io_timeouts(*server);
}

static void check_addresses_and_shutdown(const char *loopback)
{
    sockrt_handle l, c, s;
    uint16_t lport, cport = 0, sport = 0, pport = 0;
    char chost[SOCKRT_ADDR_MAX], shost[SOCKRT_ADDR_MAX], phost[SOCKRT_ADDR_MAX];
    char buf[16];

    connected_pair(loopback, &l, &c, &s, &lport);

    SAY("peer_addr/local_addr agree on both ends (%s)", loopback);
    CHECK_OK(sockrt_peer_addr(c, phost, sizeof phost, &pport));
    CHECK_MSG(strcmp(phost, loopback) == 0, "client's peer \"%s\"", phost);
    CHECK_EQ(pport, lport);
    CHECK_OK(sockrt_local_addr(c, chost, sizeof chost, &cport));
    CHECK_OK(sockrt_peer_addr(s, shost, sizeof shost, &sport));
    CHECK_MSG(strcmp(shost, chost) == 0, "server sees \"%s\", client is \"%s\"", shost, chost);
    CHECK_EQ(sport, cport);
    /* Either output may be NULL. */
    CHECK_OK(sockrt_peer_addr(c, NULL, 0, &pport));
    CHECK_OK(sockrt_peer_addr(c, phost, sizeof phost, NULL));

    SAY("sockrt_fileno >= 0 and distinct per socket");
    CHECK(sockrt_fileno(c) >= 0);
    CHECK(sockrt_fileno(s) >= 0);
    CHECK(sockrt_fileno(l) >= 0);
    CHECK(sockrt_fileno(c) != sockrt_fileno(s));

    SAY("sockrt_exchange: send_all then recv_exact in one call");
    CHECK_OK(sockrt_send_all(s, "pong", 4)); /* the reply is already on its way */
    CHECK_OK(sockrt_exchange(c, "ping", 4, buf, 4));
    CHECK(memcmp(buf, "pong", 4) == 0);
    CHECK_OK(sockrt_recv_exact(s, buf, 4));
    CHECK(memcmp(buf, "ping", 4) == 0);
    CHECK_ERR(sockrt_exchange(c, "ping", 4, NULL, 4), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_exchange(c, "ping", SIZE_MAX, buf, 4), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_exchange(0, "ping", 4, buf, 4), SOCKRT_E_BAD_HANDLE);

    SAY("shutdown(WRITE) makes the peer's recv return 0; the other way still works");
    CHECK_OK(sockrt_send_all(c, "last", 4));
    CHECK_OK(sockrt_shutdown(c, SOCKRT_SHUT_WRITE));
    CHECK_OK(sockrt_recv_exact(s, buf, 4));
    CHECK(memcmp(buf, "last", 4) == 0);
    CHECK_EQ(sockrt_recv(s, buf, sizeof buf), 0);
    CHECK_OK(sockrt_send_all(s, "back", 4));
    CHECK_OK(sockrt_recv_exact(c, buf, 4));
    CHECK(memcmp(buf, "back", 4) == 0);
    /* Both directions still open on the server side: READ, then BOTH. */
    CHECK_OK(sockrt_shutdown(s, SOCKRT_SHUT_READ));
    CHECK_OK(sockrt_shutdown(s, SOCKRT_SHUT_BOTH));
    CHECK_EQ(sockrt_recv(c, buf, sizeof buf), 0);

    CHECK_OK(sockrt_close(c));
    CHECK_OK(sockrt_close(s));
    CHECK_OK(sockrt_close(l));
}

/* ---- options ---------------------------------------------------------- */

static void expect_option(sockrt_handle h, int32_t opt, const char *name, int64_t set,
                          int64_t expected)
{
    int64_t got = -12345;
    CHECK_OK(sockrt_set_option(h, opt, set));
    CHECK_OK(sockrt_get_option(h, opt, &got));
    CHECK_MSG(got == expected, "%s: set %" PRId64 ", got %" PRId64 ", expected %" PRId64, name,
              set, got, expected);
}

/* The kernel may round buffer sizes up (Linux doubles them): at least what was set. */
static void expect_buffer_option(sockrt_handle h, int32_t opt, const char *name)
{
    int64_t got = 0;
    CHECK_OK(sockrt_set_option(h, opt, 65536));
    CHECK_OK(sockrt_get_option(h, opt, &got));
    CHECK_MSG(got >= 65536, "%s: set 65536, got %" PRId64, name, got);
}

#define EXPECT_OPT(h, opt, set, expected) expect_option((h), (opt), #opt, (set), (expected))

static void check_options(void)
{
    sockrt_handle tcp = 0, udp = 0;
    int64_t v = 0;

    SAY("set/get round trip of every SOCKRT_OPT_*");
    CHECK_OK(sockrt_socket(SOCKRT_INET, SOCKRT_STREAM, &tcp));
    CHECK_OK(sockrt_udp_bind("127.0.0.1", 0, &udp));

    /* Defaults documented in the header. */
    CHECK_OK(sockrt_get_option(tcp, SOCKRT_OPT_READ_TIMEOUT_MS, &v));
    CHECK_MSG(v < 0, "default read timeout %" PRId64, v);
    CHECK_OK(sockrt_get_option(tcp, SOCKRT_OPT_WRITE_TIMEOUT_MS, &v));
    CHECK_MSG(v < 0, "default write timeout %" PRId64, v);
    CHECK_OK(sockrt_get_option(tcp, SOCKRT_OPT_BUSY_POLL_US, &v));
    CHECK_EQ(v, 0);

    EXPECT_OPT(tcp, SOCKRT_OPT_READ_TIMEOUT_MS, 1234, 1234);
    EXPECT_OPT(tcp, SOCKRT_OPT_READ_TIMEOUT_MS, 0, 0);
    EXPECT_OPT(tcp, SOCKRT_OPT_READ_TIMEOUT_MS, -1, -1);
    EXPECT_OPT(tcp, SOCKRT_OPT_WRITE_TIMEOUT_MS, 4321, 4321);
    EXPECT_OPT(tcp, SOCKRT_OPT_WRITE_TIMEOUT_MS, 0, 0);
    EXPECT_OPT(tcp, SOCKRT_OPT_WRITE_TIMEOUT_MS, -1, -1);
    EXPECT_OPT(tcp, SOCKRT_OPT_NODELAY, 1, 1);
    EXPECT_OPT(tcp, SOCKRT_OPT_NODELAY, 0, 0);
    EXPECT_OPT(tcp, SOCKRT_OPT_KEEPALIVE, 1, 1);
    EXPECT_OPT(tcp, SOCKRT_OPT_KEEPALIVE, 0, 0);
    EXPECT_OPT(tcp, SOCKRT_OPT_REUSEADDR, 1, 1);
    EXPECT_OPT(tcp, SOCKRT_OPT_REUSEADDR, 0, 0);
    expect_buffer_option(tcp, SOCKRT_OPT_RECV_BUFFER, "SOCKRT_OPT_RECV_BUFFER");
    expect_buffer_option(tcp, SOCKRT_OPT_SEND_BUFFER, "SOCKRT_OPT_SEND_BUFFER");
    EXPECT_OPT(tcp, SOCKRT_OPT_BUSY_POLL_US, 50, 50);
    EXPECT_OPT(tcp, SOCKRT_OPT_BUSY_POLL_US, 0, 0);

    EXPECT_OPT(udp, SOCKRT_OPT_BROADCAST, 1, 1);
    EXPECT_OPT(udp, SOCKRT_OPT_BROADCAST, 0, 0);
    EXPECT_OPT(udp, SOCKRT_OPT_READ_TIMEOUT_MS, 250, 250);
    expect_buffer_option(udp, SOCKRT_OPT_RECV_BUFFER, "SOCKRT_OPT_RECV_BUFFER (udp)");

    CHECK_OK(sockrt_close(tcp));
    CHECK_OK(sockrt_close(udp));
}

/* ---- UDP -------------------------------------------------------------- */

static void check_udp(const char *loopback)
{
    sockrt_handle a = 0, b = 0;
    uint16_t aport = 0, bport = 0, from_port = 0;
    char from[SOCKRT_ADDR_MAX];
    unsigned char out[1200], in[2048];

    SAY("UDP round trip on %s: udp_bind, send_to, recv_from with sender address", loopback);
    CHECK_OK(sockrt_udp_bind(loopback, 0, &a));
    CHECK_OK(sockrt_udp_bind(loopback, 0, &b));
    CHECK_OK(sockrt_local_addr(a, NULL, 0, &aport));
    CHECK_OK(sockrt_local_addr(b, NULL, 0, &bport));
    CHECK(aport != 0 && bport != 0 && aport != bport);
    CHECK_OK(sockrt_set_option(a, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    CHECK_OK(sockrt_set_option(b, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));

    fill_pattern(out, sizeof out, 7);
    CHECK_EQ(sockrt_send_to(a, out, sizeof out, loopback, bport), (int64_t)sizeof out);
    CHECK_EQ(sockrt_recv_from(b, in, sizeof in, from, sizeof from, &from_port), (int64_t)sizeof out);
    CHECK(memcmp(in, out, sizeof out) == 0);
    CHECK_MSG(strcmp(from, loopback) == 0, "sender host \"%s\"", from);
    CHECK_EQ(from_port, aport);

    /* Reply to the address recv_from reported. */
    CHECK_EQ(sockrt_send_to(b, "pong", 4, from, from_port), 4);
    CHECK_EQ(sockrt_recv_from(a, in, sizeof in, NULL, 0, NULL), 4);
    CHECK(memcmp(in, "pong", 4) == 0);

    /* A datagram longer than the buffer is truncated, not split. */
    CHECK_EQ(sockrt_send_to(a, out, 100, loopback, bport), 100);
    CHECK_EQ(sockrt_recv_from(b, in, 10, NULL, 0, NULL), 10);
    CHECK(memcmp(in, out, 10) == 0);

    CHECK_OK(sockrt_close(a));
    CHECK_OK(sockrt_close(b));
}

/* UDP through the classic flow: socket(DGRAM), bind, connect, send/recv. */
static void check_udp_connected(void)
{
    sockrt_handle a = 0, b = 0;
    uint16_t aport = 0, bport = 0;
    char buf[16];

    SAY("UDP classic flow: socket(DGRAM), bind, connect, send, recv");
    CHECK_OK(sockrt_socket(SOCKRT_INET, SOCKRT_DGRAM, &a));
    CHECK_OK(sockrt_socket(SOCKRT_INET, SOCKRT_DGRAM, &b));
    CHECK_OK(sockrt_bind(a, "127.0.0.1", 0));
    CHECK_OK(sockrt_bind(b, "127.0.0.1", 0));
    CHECK_OK(sockrt_local_addr(a, NULL, 0, &aport));
    CHECK_OK(sockrt_local_addr(b, NULL, 0, &bport));
    CHECK_OK(sockrt_connect(a, "127.0.0.1", bport, IO_TIMEOUT_MS));
    CHECK_OK(sockrt_connect(b, "127.0.0.1", aport, IO_TIMEOUT_MS));
    CHECK_OK(sockrt_set_option(a, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    CHECK_OK(sockrt_set_option(b, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    CHECK_EQ(sockrt_send(a, "ping", 4), 4);
    CHECK_EQ(sockrt_recv(b, buf, sizeof buf), 4);
    CHECK(memcmp(buf, "ping", 4) == 0);
    CHECK_EQ(sockrt_send(b, "pong!", 5), 5);
    CHECK_EQ(sockrt_recv(a, buf, sizeof buf), 5);
    CHECK(memcmp(buf, "pong!", 5) == 0);
    CHECK_OK(sockrt_close(a));
    CHECK_OK(sockrt_close(b));
}

/* ---- IPv6 ------------------------------------------------------------- */

static void check_ipv6(void)
{
    sockrt_handle l = 0, c = 0;
    int32_t rc;

    SAY("IPv6 on ::1");
    rc = sockrt_tcp_listen("::1", 0, 16, &l);
    if (rc == SOCKRT_E_ADDRESS_NOT_AVAILABLE) {
        SKIP("IPv6 loopback is not available on this machine");
        return;
    }
    CHECK_OK(rc);
    CHECK_OK(sockrt_close(l));

    check_shortcuts("::1");
    check_addresses_and_shutdown("::1");
    check_udp("::1");

    SAY("IPv6 classic flow: socket(INET6), bind ::1, listen, connect");
    {
        uint16_t port = 0;
        sockrt_handle s = 0;
        char host[SOCKRT_ADDR_MAX];
        CHECK_OK(sockrt_socket(SOCKRT_INET6, SOCKRT_STREAM, &l));
        CHECK_OK(sockrt_bind(l, "::1", 0));
        CHECK_OK(sockrt_listen(l, 0));
        CHECK_OK(sockrt_local_addr(l, host, sizeof host, &port));
        CHECK_MSG(strcmp(host, "::1") == 0, "IPv6 listener host \"%s\"", host);
        CHECK_OK(sockrt_socket(SOCKRT_INET6, SOCKRT_STREAM, &c));
        CHECK_OK(sockrt_connect(c, "::1", port, IO_TIMEOUT_MS));
        CHECK_OK(sockrt_set_option(l, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
        CHECK_OK(sockrt_accept(l, &s));
        CHECK_EQ(sockrt_send(c, "v6", 2), 2);
        CHECK_OK(sockrt_set_option(s, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
        CHECK_OK(sockrt_recv_exact(s, host, 2));
        CHECK(memcmp(host, "v6", 2) == 0);
        CHECK_OK(sockrt_close(s));
        CHECK_OK(sockrt_close(c));
        CHECK_OK(sockrt_close(l));
    }
}

/* ---- readiness ------------------------------------------------------- */

struct poller {
    sockrt_handle h;
    uint32_t events;
    int32_t rc;
    double waited_ms;
};

static void *poll_main(void *arg)
{
    struct poller *p = arg;
    double t0 = now_ms();
    p->rc = sockrt_poll(&p->h, &p->events, 1, IO_TIMEOUT_MS);
    p->waited_ms = now_ms() - t0;
    return NULL;
}

static void check_poll(void)
{
    sockrt_handle l, c, s, hs[2];
    uint16_t port;
    uint32_t ev[2];
    double t0, waited;
    struct poller p;
    pthread_t t;
    char buf[8];

    connected_pair("127.0.0.1", &l, &c, &s, &port);

    SAY("sockrt_poll: nothing readable -> 0 after the timeout; zero timeout just checks");
    ev[0] = SOCKRT_POLL_IN;
    CHECK_EQ(sockrt_poll(&c, ev, 1, 0), 0);
    ev[0] = SOCKRT_POLL_IN;
    t0 = now_ms();
    CHECK_EQ(sockrt_poll(&c, ev, 1, 100), 0);
    waited = now_ms() - t0;
    CHECK_MSG(waited >= 80 && waited < 2000, "poll(100 ms) returned after %.1f ms", waited);
    CHECK_EQ(ev[0], 0);

    SAY("sockrt_poll: writable at once; readable after the peer sends");
    ev[0] = SOCKRT_POLL_OUT;
    CHECK_EQ(sockrt_poll(&c, ev, 1, 1000), 1);
    CHECK(ev[0] & SOCKRT_POLL_OUT);
    CHECK_EQ(sockrt_send(s, "x", 1), 1);
    hs[0] = l;
    hs[1] = c;
    ev[0] = SOCKRT_POLL_IN;
    ev[1] = SOCKRT_POLL_IN;
    CHECK_EQ(sockrt_poll(hs, ev, 2, IO_TIMEOUT_MS), 1);
    CHECK_EQ(ev[0], 0);
    CHECK(ev[1] & SOCKRT_POLL_IN);
    CHECK_EQ(sockrt_recv(c, buf, sizeof buf), 1);

    SAY("sockrt_poll: a listener is readable when a connection waits");
    {
        sockrt_handle c2 = 0, s2 = 0;
        CHECK_OK(sockrt_tcp_connect("127.0.0.1", port, IO_TIMEOUT_MS, &c2));
        ev[0] = SOCKRT_POLL_IN;
        CHECK_EQ(sockrt_poll(&l, ev, 1, IO_TIMEOUT_MS), 1);
        CHECK(ev[0] & SOCKRT_POLL_IN);
        CHECK_OK(sockrt_accept(l, &s2));
        CHECK_OK(sockrt_close(c2));
        CHECK_OK(sockrt_close(s2));
    }

    SAY("sockrt_poll: closing the handle from another thread ends the wait with POLL_CLOSED");
    p.h = c;
    p.events = SOCKRT_POLL_IN;
    p.rc = -999;
    t = spawn(poll_main, &p);
    sleep_ms(100);
    CHECK_OK(sockrt_close(c));
    join(t);
    CHECK_MSG(p.rc == 1, "poll returned %d (%s)", p.rc, sockrt_error_name(p.rc));
    CHECK_MSG(p.events & SOCKRT_POLL_CLOSED, "events 0x%x", p.events);
    CHECK_MSG(p.waited_ms < 5000, "poll woke after %.1f ms", p.waited_ms);
    printf("    poll woke %.1f ms after start (close at ~100 ms)\n", p.waited_ms);

    CHECK_OK(sockrt_close(s));
    CHECK_OK(sockrt_close(l));
}

int main(void)
{
    uint64_t handles_at_start = sockrt_open_handles();

    TEST_BEGIN("test_echo");
    check_version();
    check_error_names();
    check_last_error_message();
    check_classic_flow();
    check_shortcuts("127.0.0.1");
    check_addresses_and_shutdown("127.0.0.1");
    check_options();
    check_udp("127.0.0.1");
    check_udp_connected();
    check_ipv6();
    check_poll();

    SAY("sockrt_open_handles() back to its starting value (%" PRIu64 ")", handles_at_start);
    CHECK_EQ(sockrt_open_handles(), handles_at_start);
    TEST_END("test_echo");
    return 0;
}
