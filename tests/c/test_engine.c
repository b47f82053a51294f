/*
 * The blocking engine: close wakes calls that are really blocked (within
 * 10 ms), a forked child's close never reaches the parent, busy polling
 * honours the deadline and close, signals interrupt only when asked, and
 * the calls added for the bindings (flags, descriptors, raw options,
 * background connect, overlapping exchange) behave as the header says.
 */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define IO_TIMEOUT_MS 5000

struct conn {
    sockrt_handle listener, client, server;
    uint16_t port;
};

static void connect_pair(struct conn *c)
{
    c->listener = listen_any("127.0.0.1", &c->port);
    CHECK_OK(sockrt_tcp_connect("127.0.0.1", c->port, IO_TIMEOUT_MS, &c->client));
    CHECK_OK(sockrt_accept(c->listener, &c->server));
}

static void close_pair(struct conn *c)
{
    if (c->client)
        CHECK_OK(sockrt_close(c->client));
    if (c->server)
        CHECK_OK(sockrt_close(c->server));
    CHECK_OK(sockrt_close(c->listener));
}

/* ---- a call that is really blocked ---------------------------------------- */

struct blocked_call {
    sockrt_handle h;
    atomic_int tid;
    atomic_int done;
    int64_t result;
    double ended_ms;
    char buf[64];
};

static void *recv_worker(void *arg)
{
    struct blocked_call *call = arg;
    atomic_store(&call->tid, (int)syscall(SYS_gettid));
    call->result = sockrt_recv(call->h, call->buf, sizeof call->buf);
    call->ended_ms = now_ms();
    atomic_store(&call->done, 1);
    return NULL;
}

static void wait_until_blocked(struct blocked_call *call)
{
    wait_thread_blocked(&call->tid, &call->done);
}

static void check_close_wakes_a_blocked_recv(void)
{
    struct conn c;
    struct blocked_call call = { 0 };
    SAY("close wakes a recv that is really blocked, within 10 ms");
    connect_pair(&c);
    call.h = c.client;
    pthread_t t = spawn(recv_worker, &call);
    wait_until_blocked(&call);
    double closed_at = now_ms();
    CHECK_OK(sockrt_close(c.client));
    join(t);
    CHECK_EQ(call.result, (int64_t)SOCKRT_E_CLOSED);
    printf("    woke after %.2f ms\n", call.ended_ms - closed_at);
    CHECK_MSG(call.ended_ms - closed_at < 10.0, "woke after %.2f ms", call.ended_ms - closed_at);
    c.client = 0;
    close_pair(&c);
}

/* ---- fork ------------------------------------------------------------------- */

static void check_fork_children_never_reach_the_parent(void)
{
    struct conn c;
    struct blocked_call call = { 0 };
    SAY("three forked children close every inherited handle: the parent's recv stays blocked");
    connect_pair(&c);
    call.h = c.client;
    pthread_t t = spawn(recv_worker, &call);
    wait_until_blocked(&call);
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            int bad = sockrt_close(c.client) != SOCKRT_OK || sockrt_close(c.server) != SOCKRT_OK ||
                      sockrt_close(c.listener) != SOCKRT_OK;
            _exit(bad ? 1 : 0);
        }
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", i);
    }
    sleep_ms(20);
    CHECK_MSG(!atomic_load(&call.done), "a child's close ended the parent's recv (%lld)",
              (long long)call.result);
    CHECK_EQ(thread_state(atomic_load(&call.tid)), 'S');
    SAY("the parent's connection still works, and its own close still wakes");
    CHECK_OK(sockrt_send_all(c.server, "ping", 4));
    join(t);
    CHECK_EQ(call.result, (int64_t)4);
    CHECK(memcmp(call.buf, "ping", 4) == 0);
    struct blocked_call again = { .h = c.client };
    t = spawn(recv_worker, &again);
    wait_until_blocked(&again);
    CHECK_OK(sockrt_close(c.client));
    join(t);
    CHECK_EQ(again.result, (int64_t)SOCKRT_E_CLOSED);
    c.client = 0;
    close_pair(&c);
}

/* ---- busy polling ------------------------------------------------------------- */

static void check_busy_poll_honours_deadline_and_close(void)
{
    struct conn c;
    char buf[8];
    SAY("busy poll of 1 s with a 10 ms read timeout: times out at about 10 ms");
    connect_pair(&c);
    CHECK_OK(sockrt_set_option(c.client, SOCKRT_OPT_BUSY_POLL_US, 1000000));
    CHECK_OK(sockrt_set_option(c.client, SOCKRT_OPT_READ_TIMEOUT_MS, 10));
    double start = now_ms();
    CHECK_ERR(sockrt_recv(c.client, buf, sizeof buf), SOCKRT_E_TIMEOUT);
    double took = now_ms() - start;
    printf("    timed out after %.1f ms\n", took);
    CHECK_MSG(took < 500, "busy poll ran past the deadline: %.1f ms", took);

    SAY("a spinning recv notices close at once");
    CHECK_OK(sockrt_set_option(c.client, SOCKRT_OPT_READ_TIMEOUT_MS, -1));
    struct blocked_call call = { .h = c.client };
    pthread_t t = spawn(recv_worker, &call);
    while (atomic_load(&call.tid) == 0)
        sleep_ms(1);
    sleep_ms(20); /* inside its 1 s spin: it never sleeps in the kernel */
    double closed_at = now_ms();
    CHECK_OK(sockrt_close(c.client));
    join(t);
    CHECK_EQ(call.result, (int64_t)SOCKRT_E_CLOSED);
    CHECK_MSG(call.ended_ms - closed_at < 500, "spin ended %.1f ms after close",
              call.ended_ms - closed_at);
    c.client = 0;
    close_pair(&c);
}

/* ---- signals -------------------------------------------------------------------- */

static void on_signal(int sig) { (void)sig; }

struct signalled_call {
    sockrt_handle h;
    int interruptible;
    atomic_int tid;
    int64_t result;
};

static void *signalled_recv(void *arg)
{
    struct signalled_call *call = arg;
    char buf[8];
    CHECK_EQ(sockrt_set_interruptible(call->interruptible), 0);
    atomic_store(&call->tid, (int)syscall(SYS_gettid));
    call->result = sockrt_recv(call->h, buf, sizeof buf);
    CHECK_EQ(sockrt_set_interruptible(0), call->interruptible);
    return NULL;
}

struct signalled_send {
    sockrt_handle h;
    atomic_int tid;
    int32_t result;
    uint64_t transferred;
};

static void *signalled_send_all(void *arg)
{
    struct signalled_send *call = arg;
    static char big[8 << 20];
    CHECK_EQ(sockrt_set_interruptible(1), 0);
    atomic_store(&call->tid, (int)syscall(SYS_gettid));
    call->result = sockrt_send_all(call->h, big, sizeof big);
    call->transferred = sockrt_last_error_transferred();
    CHECK_EQ(sockrt_set_interruptible(0), 1);
    return NULL;
}

static void check_interrupted_send_all(void)
{
    struct conn c;
    struct signalled_send call = { 0 };
    SAY("an interruptible send_all blocked mid-way: SOCKRT_E_INTERRUPTED, and how much went");
    connect_pair(&c);
    call.h = c.client;
    pthread_t t = spawn(signalled_send_all, &call);
    struct blocked_call probe = { 0 };
    while (atomic_load(&call.tid) == 0)
        sleep_ms(1);
    atomic_store(&probe.tid, atomic_load(&call.tid));
    wait_until_blocked(&probe); /* the peer reads nothing: the buffers are full */
    CHECK(pthread_kill(t, SIGUSR1) == 0);
    join(t);
    CHECK_EQ(call.result, SOCKRT_E_INTERRUPTED);
    printf("    %llu of %d bytes sent before the signal\n", (unsigned long long)call.transferred,
           8 << 20);
    CHECK(call.transferred > 0 && call.transferred < (8u << 20));
    close_pair(&c);
}

static void check_signals(void)
{
    struct sigaction sa = { 0 };
    sa.sa_handler = on_signal; /* no SA_RESTART: the kernel returns EINTR */
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK_ERR(sockrt_set_interruptible(2), SOCKRT_E_INVALID_ARGUMENT);

    for (int interruptible = 1; interruptible >= 0; interruptible--) {
        struct conn c;
        struct signalled_call call = { 0 };
        SAY(interruptible ? "an interruptible thread's recv returns SOCKRT_E_INTERRUPTED on a signal"
                          : "by default a signal does not end a recv (the library retries)");
        connect_pair(&c);
        call.h = c.client;
        call.interruptible = interruptible;
        pthread_t t = spawn(signalled_recv, &call);
        struct blocked_call probe = { 0 };
        while (atomic_load(&call.tid) == 0)
            sleep_ms(1);
        atomic_store(&probe.tid, atomic_load(&call.tid));
        wait_until_blocked(&probe);
        CHECK(pthread_kill(t, SIGUSR1) == 0);
        if (!interruptible) {
            sleep_ms(20);
            CHECK_EQ(thread_state(atomic_load(&call.tid)), 'S');
            CHECK_OK(sockrt_send_all(c.server, "late", 4));
        }
        join(t);
        CHECK_EQ(call.result, interruptible ? (int64_t)SOCKRT_E_INTERRUPTED : (int64_t)4);
        close_pair(&c);
    }

    SAY("a timed recv interrupted and retried keeps its deadline");
    struct conn c;
    char buf[4];
    connect_pair(&c);
    CHECK_OK(sockrt_set_option(c.client, SOCKRT_OPT_READ_TIMEOUT_MS, 300));
    CHECK_EQ(sockrt_set_interruptible(0), 0);
    struct itimerval every = { { 0, 50000 }, { 0, 50000 } }, off = { 0 };
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    CHECK(setitimer(ITIMER_REAL, &every, NULL) == 0);
    double start = now_ms();
    CHECK_ERR(sockrt_recv(c.client, buf, sizeof buf), SOCKRT_E_TIMEOUT);
    double took = now_ms() - start;
    CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
    printf("    timed out after %.0f ms with a signal every 50 ms\n", took);
    CHECK_MSG(took >= 290 && took < 1500, "took %.0f ms", took);
    close_pair(&c);
    check_interrupted_send_all();
}

/* ---- the calls added for the bindings ---------------------------------------------- */

static void check_flags(void)
{
    struct conn c;
    char buf[16];
    SAY("MSG_DONTWAIT: SOCKRT_E_WOULD_BLOCK; MSG_PEEK leaves the bytes; MSG_WAITALL waits for all");
    connect_pair(&c);
    CHECK_ERR(sockrt_recv_flags(c.client, buf, sizeof buf, SOCKRT_MSG_DONTWAIT), SOCKRT_E_WOULD_BLOCK);
    CHECK_EQ(sockrt_last_os_error(), EAGAIN);
    CHECK_ERR(sockrt_recv_flags(c.client, buf, sizeof buf, 64), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_send_flags(c.client, "x", 1, SOCKRT_MSG_PEEK), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_EQ(sockrt_send_flags(c.server, "abcdef", 6, SOCKRT_MSG_DONTWAIT), (int64_t)6);
    int64_t nread = 0;
    for (int i = 0; i < 1000 && nread < 6; i++) {
        CHECK_OK(sockrt_get_option(c.client, SOCKRT_OPT_NREAD, &nread));
        if (nread < 6)
            sleep_ms(1);
    }
    CHECK_EQ(nread, (int64_t)6);
    CHECK_EQ(sockrt_recv_flags(c.client, buf, 3, SOCKRT_MSG_PEEK), (int64_t)3);
    CHECK_EQ(sockrt_recv_flags(c.client, buf, 6, SOCKRT_MSG_WAITALL), (int64_t)6);
    CHECK(memcmp(buf, "abcdef", 6) == 0);
    close_pair(&c);

    SAY("datagram flags: peek, then take; sender formatted only when asked");
    sockrt_handle a, b;
    uint16_t port_b, from_port = 0;
    char host[SOCKRT_ADDR_MAX];
    CHECK_OK(sockrt_udp_bind("127.0.0.1", 0, &a));
    CHECK_OK(sockrt_udp_bind("127.0.0.1", 0, &b));
    CHECK_OK(sockrt_local_addr(b, NULL, 0, &port_b));
    CHECK_ERR(sockrt_recv_from_flags(b, buf, sizeof buf, SOCKRT_MSG_DONTWAIT, NULL, 0, NULL),
              SOCKRT_E_WOULD_BLOCK);
    CHECK_EQ(sockrt_send_to_flags(a, "dgram", 5, SOCKRT_MSG_DONTWAIT, "127.0.0.1", port_b), (int64_t)5);
    CHECK_EQ(sockrt_recv_from_flags(b, buf, sizeof buf, SOCKRT_MSG_PEEK, NULL, 0, NULL), (int64_t)5);
    CHECK_EQ(sockrt_recv_from_flags(b, buf, sizeof buf, 0, host, sizeof host, &from_port), (int64_t)5);
    CHECK(strcmp(host, "127.0.0.1") == 0 && from_port != 0);

    SAY("connected datagram socket: disconnect lets it send anywhere again");
    CHECK_OK(sockrt_connect(a, "127.0.0.1", port_b, 0));
    CHECK_EQ(sockrt_send(a, "one", 3), (int64_t)3);
    CHECK_OK(sockrt_disconnect(a));
    CHECK_ERR(sockrt_send(a, "two", 3), SOCKRT_E_NOT_CONNECTED);
    uint16_t unused;
    sockrt_handle stream = listen_any("127.0.0.1", &unused);
    CHECK_ERR(sockrt_disconnect(stream), SOCKRT_E_WRONG_KIND);
    CHECK_OK(sockrt_close(stream));
    CHECK_OK(sockrt_close(a));
    CHECK_OK(sockrt_close(b));
}

static void check_descriptors(void)
{
    SAY("adopt_fd takes a raw listener; detach hands back the same descriptor, open");
    int raw = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    CHECK(raw >= 0 && bind(raw, (struct sockaddr *)&sin, sizeof sin) == 0 && listen(raw, 8) == 0);
    sockrt_handle l, client, server, dup;
    CHECK_OK(sockrt_adopt_fd(raw, &l));
    CHECK_EQ(sockrt_fileno(l), raw);
    CHECK_MSG(!(fcntl(raw, F_GETFL) & O_NONBLOCK), "an adopted descriptor is made blocking");
    uint16_t port;
    CHECK_OK(sockrt_local_addr(l, NULL, 0, &port));
    CHECK_OK(sockrt_tcp_connect("127.0.0.1", port, IO_TIMEOUT_MS, &client));
    CHECK_OK(sockrt_accept(l, &server));
    CHECK_ERR(sockrt_adopt_fd(-1, &dup), SOCKRT_E_INVALID_ARGUMENT);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    CHECK_ERR(sockrt_adopt_fd(pipefd[0], &dup), SOCKRT_E_IO);
    CHECK_MSG(fcntl(pipefd[0], F_GETFD) >= 0, "a refused descriptor stays open");
    close(pipefd[0]);
    close(pipefd[1]);

    SAY("dup: closing one handle leaves the other's connection working");
    CHECK_OK(sockrt_dup(client, &dup));
    CHECK(sockrt_fileno(dup) != sockrt_fileno(client));
    CHECK_OK(sockrt_close(client));
    char buf[8];
    CHECK_OK(sockrt_send_all(dup, "dup!", 4));
    CHECK_OK(sockrt_recv_exact(server, buf, 4));
    CHECK(memcmp(buf, "dup!", 4) == 0);

    int fd = -1, server_fd = sockrt_fileno(server);
    CHECK_ERR(sockrt_detach(server, NULL), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_OK(sockrt_detach(server, &fd));
    CHECK_EQ(fd, server_fd);
    CHECK_ERR(sockrt_send(server, "x", 1), SOCKRT_E_BAD_HANDLE);
    CHECK_MSG(fcntl(fd, F_GETFD) >= 0, "a detached descriptor stays open");
    CHECK(send(fd, "raw", 3, MSG_NOSIGNAL) == 3);
    CHECK_OK(sockrt_recv_exact(dup, buf, 3));
    CHECK(memcmp(buf, "raw", 3) == 0);
    close(fd);
    CHECK_OK(sockrt_close(dup));
    CHECK_OK(sockrt_close(l));
}

static void check_options(void)
{
    struct conn c;
    SAY("raw getsockopt/setsockopt, linger, reuseport, backlog");
    connect_pair(&c);
    int one = 1, got = 0;
    size_t len = sizeof got;
    CHECK_OK(sockrt_setsockopt(c.client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
    CHECK_OK(sockrt_getsockopt(c.client, IPPROTO_TCP, TCP_NODELAY, &got, &len));
    CHECK(len == sizeof got && got != 0);
    CHECK_ERR(sockrt_getsockopt(c.client, IPPROTO_TCP, TCP_NODELAY, &got, NULL),
              SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_setsockopt(c.client, SOL_SOCKET, 9999, &one, sizeof one), SOCKRT_E_IO);
    int64_t v = 7;
    CHECK_OK(sockrt_get_option(c.client, SOCKRT_OPT_LINGER, &v));
    CHECK_EQ(v, (int64_t)-1);
    CHECK_OK(sockrt_set_option(c.client, SOCKRT_OPT_REUSEPORT, 1));
    CHECK_OK(sockrt_get_option(c.client, SOCKRT_OPT_REUSEPORT, &v));
    CHECK_EQ(v, (int64_t)1);
    CHECK_ERR(sockrt_set_option(c.client, SOCKRT_OPT_ERROR, 0), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_OK(sockrt_get_option(c.client, SOCKRT_OPT_ERROR, &v));
    CHECK_EQ(v, (int64_t)0);
    CHECK_ERR(sockrt_listen(c.listener, 4), SOCKRT_E_INVALID_STATE);
    CHECK_OK(sockrt_set_option(c.listener, SOCKRT_OPT_BACKLOG, 4));
    CHECK_ERR(sockrt_set_option(c.client, SOCKRT_OPT_BACKLOG, 4), SOCKRT_E_INVALID_STATE);

    SAY("linger 0: close resets the connection (the peer sees a reset, not an end of stream)");
    CHECK_OK(sockrt_set_option(c.client, SOCKRT_OPT_LINGER, 0));
    CHECK_OK(sockrt_close(c.client));
    c.client = 0;
    char buf[4];
    CHECK_OK(sockrt_set_option(c.server, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    CHECK_ERR(sockrt_recv(c.server, buf, sizeof buf), SOCKRT_E_CONNECTION_RESET);
    close_pair(&c);
}

static void check_background_connect(void)
{
    SAY("connect with timeout 0: SOCKRT_E_IN_PROGRESS, then poll and SOCKRT_OPT_ERROR");
    uint16_t port;
    sockrt_handle l = listen_any("127.0.0.1", &port), s, server;
    CHECK_OK(sockrt_socket(SOCKRT_INET, SOCKRT_STREAM, &s));
    int32_t rc = sockrt_connect(s, "127.0.0.1", port, 0);
    CHECK_MSG(rc == SOCKRT_E_IN_PROGRESS || rc == SOCKRT_OK, "connect returned %s", sockrt_error_name(rc));
    uint32_t ev = SOCKRT_POLL_OUT;
    CHECK_EQ(sockrt_poll(&s, &ev, 1, IO_TIMEOUT_MS), 1);
    int64_t err = -1;
    CHECK_OK(sockrt_get_option(s, SOCKRT_OPT_ERROR, &err));
    CHECK_EQ(err, (int64_t)0);
    CHECK_ERR(sockrt_connect(s, "127.0.0.1", port, 0), SOCKRT_E_INVALID_STATE);
    CHECK_OK(sockrt_accept(l, &server));
    CHECK_OK(sockrt_send_all(s, "hi", 2));
    char buf[2];
    CHECK_OK(sockrt_recv_exact(server, buf, 2));
    CHECK_MSG(!(fcntl(sockrt_fileno(s), F_GETFL) & O_NONBLOCK), "blocking again once connected");
    CHECK_OK(sockrt_close(s));
    CHECK_OK(sockrt_close(server));
    CHECK_OK(sockrt_close(l));
}

static void check_overlapping_exchange(void)
{
    struct conn c;
    SAY("exchange with one buffer for request and reply");
    connect_pair(&c);
    unsigned char buf[256], expect[256];
    fill_pattern(buf, sizeof buf, 7);
    memcpy(expect, buf, sizeof buf);
    CHECK_OK(sockrt_send_all(c.server, "0123456789", 10));
    CHECK_OK(sockrt_exchange(c.client, buf, sizeof buf, buf + 100, 10));
    CHECK(memcmp(buf + 100, "0123456789", 10) == 0);
    CHECK(memcmp(buf, expect, 100) == 0);
    unsigned char got[256];
    CHECK_OK(sockrt_recv_exact(c.server, got, sizeof got));
    CHECK(memcmp(got, expect, sizeof got) == 0);
    close_pair(&c);
}

int main(void)
{
    TEST_BEGIN("test_engine");
    check_close_wakes_a_blocked_recv();
    check_fork_children_never_reach_the_parent();
    check_busy_poll_honours_deadline_and_close();
    check_signals();
    check_flags();
    check_descriptors();
    check_options();
    check_background_connect();
    check_overlapping_exchange();
    CHECK_EQ(sockrt_open_handles(), (uint64_t)0);
    TEST_END("test_engine");
    return 0;
}
