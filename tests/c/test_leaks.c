/*
 * Descriptors and handles come back: the process's descriptor count (from
 * /proc/self/fd) and sockrt_open_handles() return to their starting values
 * after many connect/accept/close cycles, after closes that wake blocked
 * calls, and after sockets that were only created.
 */
#include "check.h"

#define IO_TIMEOUT_MS 10000
#define CYCLES 10000
#define BLOCKED_ROUNDS 100
#define SIMPLE_ROUNDS 2000

static int fds_at_start;

static void expect_no_leak(const char *after)
{
    int fds = count_fds();
    uint64_t handles = sockrt_open_handles();
    printf("    after %s: %d descriptors (start %d), %" PRIu64 " handles\n", after, fds,
           fds_at_start, handles);
    CHECK_MSG(fds == fds_at_start, "%d descriptors after %s, %d at start", fds, after,
              fds_at_start);
    CHECK_MSG(handles == 0, "%" PRIu64 " handles open after %s", handles, after);
    /* Sockets own no wake descriptor: only this thread's own eventfd (made
       on its first blocking wait) may remain; the helper threads' closed
       when they exited. */
    CHECK_MSG(count_eventfds() <= 1, "%d eventfds open after %s", count_eventfds(), after);
}

static void check_connect_accept_close_cycles(void)
{
    uint16_t port;
    sockrt_handle l;
    double t0 = now_ms();

    SAY("%d connect/accept/close cycles against a listener in this process", CYCLES);
    l = listen_any("127.0.0.1", &port);
    CHECK_OK(sockrt_set_option(l, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    for (int i = 0; i < CYCLES; i++) {
        sockrt_handle c = 0, s = 0;
        char b = (char)i;
        CHECK_OK(sockrt_tcp_connect("127.0.0.1", port, IO_TIMEOUT_MS, &c));
        CHECK_OK(sockrt_accept(l, &s));
        /* One byte each way proves the pair is really connected. */
        CHECK_EQ(sockrt_send(c, &b, 1), 1);
        CHECK_EQ(sockrt_recv(s, &b, 1), 1);
        /* The accepted side closes first, so TIME_WAIT stays off the
           client's ephemeral ports. */
        CHECK_OK(sockrt_close(s));
        CHECK_OK(sockrt_close(c));
        if (i == CYCLES / 2)
            CHECK_MSG(count_fds() <= fds_at_start + 1, "%d descriptors at cycle %d (start %d)",
                      count_fds(), i, fds_at_start);
    }
    CHECK_OK(sockrt_close(l));
    printf("    %d cycles took %.0f ms\n", CYCLES, now_ms() - t0);
    expect_no_leak("the connect/accept/close cycles");
}

struct blocked {
    sockrt_handle h;
    int accept; /* 1: accept, 0: recv */
    int64_t rc;
};

static void *blocked_main(void *arg)
{
    struct blocked *b = arg;
    if (b->accept) {
        sockrt_handle out = 0;
        b->rc = sockrt_accept(b->h, &out);
    } else {
        char buf[16];
        b->rc = sockrt_recv(b->h, buf, sizeof buf);
    }
    return NULL;
}

/* Blocks a call on h in a thread, closes h from here, and waits for the call. */
static void close_while_blocked(sockrt_handle h, int accept, int settle_ms)
{
    struct blocked b = { h, accept, 1 };
    pthread_t t = spawn(blocked_main, &b);
    sleep_ms(settle_ms);
    CHECK_OK(sockrt_close(h));
    join(t);
    /* A call that starts after the close finds the handle gone. */
    CHECK_MSG(b.rc == SOCKRT_E_CLOSED || (settle_ms == 0 && b.rc == SOCKRT_E_BAD_HANDLE),
              "woken call returned %s (settled %d ms)", sockrt_error_name((int32_t)b.rc),
              settle_ms);
}

static void check_close_while_blocked(void)
{
    SAY("%d closes of sockets with a recv or accept blocked in another thread", BLOCKED_ROUNDS);
    for (int i = 0; i < BLOCKED_ROUNDS; i++) {
        uint16_t port;
        sockrt_handle l = listen_any("127.0.0.1", &port), c = 0, s = 0;
        CHECK_OK(sockrt_set_option(l, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
        CHECK_OK(sockrt_tcp_connect("127.0.0.1", port, IO_TIMEOUT_MS, &c));
        CHECK_OK(sockrt_accept(l, &s));
        CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
        /* Settle long enough, now and then, for the call to be truly blocked;
           the short ones race the close against the call's start. */
        close_while_blocked(c, 0, i % 10 == 0 ? 20 : 0);
        close_while_blocked(l, 1, i % 10 == 0 ? 20 : 0);
        CHECK_OK(sockrt_close(s));
    }
    expect_no_leak("close-while-blocked");
}

static void check_simple_sockets(void)
{
    SAY("%d sockets, datagram sockets and listeners created and closed", SIMPLE_ROUNDS);
    for (int i = 0; i < SIMPLE_ROUNDS; i++) {
        sockrt_handle a = 0, u = 0, l = 0;
        uint16_t port;
        CHECK_OK(sockrt_socket(i % 2 ? SOCKRT_INET : SOCKRT_INET6, SOCKRT_STREAM, &a));
        CHECK_OK(sockrt_udp_bind("127.0.0.1", 0, &u));
        l = listen_any("127.0.0.1", &port);
        CHECK_OK(sockrt_close(a));
        CHECK_OK(sockrt_close(u));
        CHECK_OK(sockrt_close(l));
    }
    expect_no_leak("simple sockets");
}

static void check_failed_calls(void)
{
    uint16_t port;
    sockrt_handle l = listen_any("127.0.0.1", &port), out = 0;
    CHECK_OK(sockrt_close(l));
    SAY("%d refused connects and failed listens leave nothing open", SIMPLE_ROUNDS / 4);
    for (int i = 0; i < SIMPLE_ROUNDS / 4; i++) {
        CHECK_ERR(sockrt_tcp_connect("127.0.0.1", port, IO_TIMEOUT_MS, &out),
                  SOCKRT_E_CONNECTION_REFUSED);
        CHECK_ERR(sockrt_tcp_listen("192.0.2.1", 0, 0, &out), SOCKRT_E_ADDRESS_NOT_AVAILABLE);
    }
    CHECK_EQ(out, 0);
    expect_no_leak("failed calls");
}

int main(void)
{
    TEST_BEGIN("test_leaks");
    SAY("the test starts with no handles open");
    CHECK_EQ(sockrt_open_handles(), 0);
    fds_at_start = count_fds();
    CHECK(fds_at_start >= 0);
    printf("    %d descriptors open at start\n", fds_at_start);

    check_connect_accept_close_cycles();
    check_close_while_blocked();
    check_simple_sockets();
    check_failed_calls();
    TEST_END("test_leaks");
    return 0;
}
