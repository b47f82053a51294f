/*
 * The library never raises SIGPIPE and never touches the host's signal
 * handlers: with SIGPIPE at its default action (which kills the process),
 * writing to a reset or shut-down connection returns an error instead.
 * Also: every descriptor the library opens is close-on-exec.
 */
#include "check.h"

#include <fcntl.h>
#include <signal.h>

#define MAX_SENDS 1000
#define MAX_FDS 4096

static void expect_sigpipe_default(const char *when)
{
    struct sigaction sa;
    CHECK(sigaction(SIGPIPE, NULL, &sa) == 0);
    CHECK_MSG(sa.sa_handler == SIG_DFL, "SIGPIPE is not at its default action %s", when);
}

/*
 * The server closes with the client's bytes still unread, which makes Linux
 * answer with RST instead of FIN.
 */
static void reset_by_peer(struct pair *p)
{
    CHECK_OK(sockrt_send_all(p->client, "unread", 6));
    sleep_ms(20); /* let the bytes reach the server's receive queue */
    CHECK_OK(sockrt_close(p->server));
}

/* Sends until the first error (bounded); returns it. */
static int64_t send_until_error(sockrt_handle h)
{
    static const char chunk[1024];
    for (int i = 0; i < MAX_SENDS; i++) {
        int64_t rc = sockrt_send(h, chunk, sizeof chunk);
        if (rc < 0)
            return rc;
        sleep_ms(1);
    }
    CHECK_MSG(0, "%d sends to a reset peer all succeeded", MAX_SENDS);
    return 0;
}

static void check_send_after_reset(void)
{
    struct pair p;
    int64_t rc;
    SAY("send to a peer that reset: SOCKRT_E_CONNECTION_RESET, no SIGPIPE");
    pair_open(&p, PAIR_TIMEOUT_MS);
    reset_by_peer(&p);
    rc = send_until_error(p.client);
    CHECK_MSG(rc == SOCKRT_E_CONNECTION_RESET, "send returned %s",
              sockrt_error_name((int32_t)rc));
    CHECK_EQ(sockrt_last_error(), SOCKRT_E_CONNECTION_RESET);
    printf("    errno %d\n", sockrt_last_os_error());
    CHECK(sockrt_last_os_error() == ECONNRESET || sockrt_last_os_error() == EPIPE);

    SAY("more sends and send_all on the dead connection: still errors, still alive");
    for (int i = 0; i < 10; i++) {
        static const char big[65536];
        CHECK(sockrt_send(p.client, "x", 1) < 0);
        CHECK(sockrt_send_all(p.client, big, sizeof big) < 0);
    }
    CHECK_ERR(sockrt_send(p.client, "x", 1), SOCKRT_E_CONNECTION_RESET);
    CHECK_OK(sockrt_close(p.client));
    CHECK_OK(sockrt_close(p.listener));
}

static void check_recv_after_reset(void)
{
    struct pair p;
    char buf[16];
    SAY("recv on a connection the peer reset: SOCKRT_E_CONNECTION_RESET");
    pair_open(&p, PAIR_TIMEOUT_MS);
    reset_by_peer(&p);
    CHECK_ERR(sockrt_recv(p.client, buf, sizeof buf), SOCKRT_E_CONNECTION_RESET);
    CHECK_EQ(sockrt_last_os_error(), ECONNRESET);
    CHECK_OK(sockrt_close(p.client));
    CHECK_OK(sockrt_close(p.listener));
}

static void check_send_after_own_shutdown(void)
{
    struct pair p;
    SAY("send after our own shutdown(WRITE) (EPIPE): SOCKRT_E_CONNECTION_RESET, no SIGPIPE");
    pair_open(&p, PAIR_TIMEOUT_MS);
    CHECK_OK(sockrt_shutdown(p.client, SOCKRT_SHUT_WRITE));
    CHECK_ERR(sockrt_send(p.client, "x", 1), SOCKRT_E_CONNECTION_RESET);
    CHECK_EQ(sockrt_last_os_error(), EPIPE);
    CHECK_ERR(sockrt_send_all(p.client, "xyz", 3), SOCKRT_E_CONNECTION_RESET);
    CHECK_OK(sockrt_close(p.client));
    CHECK_OK(sockrt_close(p.server));
    CHECK_OK(sockrt_close(p.listener));
}

/* ---- close-on-exec ------------------------------------------------------ */

static void expect_cloexec(sockrt_handle h, const char *what)
{
    int fd = sockrt_fileno(h), flags;
    CHECK_MSG(fd >= 0, "fileno of %s", what);
    flags = fcntl(fd, F_GETFD);
    CHECK_MSG(flags >= 0, "fcntl(F_GETFD) on %s: %s", what, strerror(errno));
    CHECK_MSG(flags & FD_CLOEXEC, "%s (fd %d) is not close-on-exec", what, fd);
    flags = fcntl(fd, F_GETFL);
    /* Blocking: a call with no timeout is one system call (see the header). */
    CHECK_MSG(flags >= 0 && !(flags & O_NONBLOCK), "%s (fd %d) is not blocking", what, fd);
}

/* Marks which descriptors are open now. */
static void snapshot_fds(unsigned char *open_now)
{
    memset(open_now, 0, MAX_FDS);
    for (int fd = 0; fd < MAX_FDS; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            open_now[fd] = 1;
}

static void check_close_on_exec(void)
{
    static unsigned char before[MAX_FDS], after[MAX_FDS];
    struct pair p;
    sockrt_handle s4 = 0, s6 = 0, d = 0, u = 0, pool = 0, conn = 0;
    uint32_t ev = SOCKRT_POLL_IN;
    int checked = 0;

    SAY("every descriptor the library hands out is close-on-exec and non-blocking");
    snapshot_fds(before);
    pair_open(&p, PAIR_TIMEOUT_MS);
    CHECK_OK(sockrt_socket(SOCKRT_INET, SOCKRT_STREAM, &s4));
    CHECK_OK(sockrt_socket(SOCKRT_INET, SOCKRT_DGRAM, &d));
    CHECK_OK(sockrt_udp_bind("127.0.0.1", 0, &u));
    CHECK_OK(sockrt_pool_open("127.0.0.1", p.port, NULL, &pool));
    CHECK_OK(sockrt_pool_acquire(pool, &conn));
    expect_cloexec(p.listener, "a listener");
    expect_cloexec(p.client, "a tcp_connect socket");
    expect_cloexec(p.server, "an accepted socket");
    expect_cloexec(s4, "a new stream socket");
    expect_cloexec(d, "a new datagram socket");
    expect_cloexec(u, "a udp_bind socket");
    expect_cloexec(conn, "a pooled connection");
    if (sockrt_socket(SOCKRT_INET6, SOCKRT_STREAM, &s6) == SOCKRT_OK)
        expect_cloexec(s6, "a new IPv6 socket");
    /* A poll makes the library arm its internal wake descriptors too. */
    CHECK_EQ(sockrt_poll(&p.client, &ev, 1, 0), 0);

    SAY("and so is every other descriptor it opened (wake-up descriptors included)");
    snapshot_fds(after);
    for (int fd = 0; fd < MAX_FDS; fd++) {
        if (after[fd] && !before[fd]) {
            int flags = fcntl(fd, F_GETFD);
            CHECK_MSG(flags >= 0 && (flags & FD_CLOEXEC), "fd %d is not close-on-exec", fd);
            checked++;
        }
    }
    printf("    %d new descriptors, all close-on-exec\n", checked);
    CHECK(checked >= 7); /* at least the seven sockets above */

    CHECK_OK(sockrt_pool_release(pool, conn));
    CHECK_OK(sockrt_pool_close(pool));
    if (s6 != 0)
        CHECK_OK(sockrt_close(s6));
    CHECK_OK(sockrt_close(s4));
    CHECK_OK(sockrt_close(d));
    CHECK_OK(sockrt_close(u));
    CHECK_OK(sockrt_close(p.client));
    CHECK_OK(sockrt_close(p.server));
    CHECK_OK(sockrt_close(p.listener));
}

int main(void)
{
    struct sigaction dfl;
    uint64_t handles_at_start = sockrt_open_handles();

    TEST_BEGIN("test_sigpipe");
    /* Whatever the parent left, this process runs with the default action:
       a SIGPIPE would kill it and fail the test. Nothing is ignored. */
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    CHECK(sigaction(SIGPIPE, &dfl, NULL) == 0);
    SAY("SIGPIPE is at its default action (SIG_DFL)");
    expect_sigpipe_default("at start");

    check_send_after_reset();
    check_recv_after_reset();
    check_send_after_own_shutdown();
    check_close_on_exec();

    SAY("SIGPIPE still at SIG_DFL: the library left the handlers alone");
    expect_sigpipe_default("after the tests");
    CHECK_EQ(sockrt_open_handles(), handles_at_start);
    TEST_END("test_sigpipe");
    return 0;
}
