/*
 * The poller and the fan-out from C: readiness checked against poll(2) on
 * the same descriptors, a raw C socket peer, a close from another thread,
 * a poller closed under its waiter, foreign descriptors, and
 * sockrt_send_many against a raw send(2) loop doing the same job.
 */
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#define IO_TIMEOUT_MS 10000


/* A raw C client connected to a sockrt listener; *server gets the accepted handle. */
static int raw_pair(sockrt_handle *server)
{
    sockrt_handle l;
    uint16_t port;
    struct sockaddr_in a;
    CHECK_OK(sockrt_tcp_listen("127.0.0.1", 0, 8, &l));
    CHECK_OK(sockrt_local_addr(l, NULL, 0, &port));
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK_OK(sockrt_set_option(l, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    CHECK_OK(sockrt_accept(l, server));
    CHECK_OK(sockrt_close(l));
    return fd;
}

static int poll_in(int fd)
{
    struct pollfd p = { fd, POLLIN, 0 };
    CHECK(poll(&p, 1, 0) >= 0);
    return (p.revents & POLLIN) != 0;
}

static void check_readiness(void)
{
    sockrt_handle p, h;
    sockrt_poll_event ev[4];
    char buf[16];
    SAY("readiness agrees with poll(2); level-triggered; tokens come back");
    CHECK_OK(sockrt_poller_open(&p));
    int peer = raw_pair(&h);
    CHECK_OK(sockrt_poller_add(p, h, SOCKRT_POLL_IN, 42));
    CHECK_EQ(sockrt_poller_wait(p, ev, 4, 0), 0);
    CHECK_EQ(poll_in(sockrt_fileno(h)), 0);
    CHECK_EQ(send(peer, "ping", 4, MSG_NOSIGNAL), 4);
    CHECK_EQ(sockrt_poller_wait(p, ev, 4, IO_TIMEOUT_MS), 1);
    CHECK_EQ(ev[0].token, 42);
    CHECK_EQ(ev[0].events, SOCKRT_POLL_IN);
    CHECK_EQ(poll_in(sockrt_fileno(h)), 1);
    CHECK_EQ(sockrt_poller_wait(p, ev, 4, 0), 1); /* still readable */
    CHECK_EQ(sockrt_recv(h, buf, sizeof buf), 4);
    CHECK_EQ(sockrt_poller_wait(p, ev, 4, 0), 0);
    CHECK_OK(sockrt_poller_modify(p, h, SOCKRT_POLL_OUT, 43));
    CHECK_EQ(sockrt_poller_wait(p, ev, 4, 0), 1);
    CHECK_EQ(ev[0].token, 43);
    CHECK_EQ(ev[0].events, SOCKRT_POLL_OUT);
    CHECK_OK(sockrt_poller_remove(p, h));
    CHECK_EQ(sockrt_poller_wait(p, ev, 4, 0), 0);

    SAY("bad input: clear errors, nothing lost");
    CHECK_ERR(sockrt_poller_open(NULL), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_poller_wait(p, NULL, 4, 0), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_poller_wait(p, ev, 0, 0), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_poller_wait(h, ev, 4, 0), SOCKRT_E_WRONG_KIND);
    CHECK_ERR(sockrt_poller_add(p, p, SOCKRT_POLL_IN, 0), SOCKRT_E_WRONG_KIND);
    CHECK_ERR(sockrt_poller_add(p, h, 1u << 10, 0), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_poller_remove(p, h), SOCKRT_E_INVALID_STATE);
    CHECK_ERR(sockrt_poller_add_fd(p, -5, SOCKRT_POLL_IN, 0), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_poller_wake(h), SOCKRT_E_WRONG_KIND);
    CHECK_OK(sockrt_close(h));
    CHECK_OK(sockrt_close(p));
    CHECK_ERR(sockrt_poller_wake(p), SOCKRT_E_BAD_HANDLE);
    close(peer);
}

struct closer {
    sockrt_handle h;
    int delay_ms;
};

static void *close_later(void *arg)
{
    struct closer *c = arg;
    sleep_ms(c->delay_ms);
    CHECK_OK(sockrt_close(c->h));
    return NULL;
}

static void check_close_reports(void)
{
    sockrt_handle p, h;
    sockrt_poll_event ev[4];
    pthread_t t;
    SAY("a handle closed by another thread is reported CLOSED once, waking the waiter");
    int before = count_fds();
    CHECK_OK(sockrt_poller_open(&p));
    int peer = raw_pair(&h);
    CHECK_OK(sockrt_poller_add(p, h, SOCKRT_POLL_IN, 7));
    struct closer c = { h, 50 };
    CHECK(pthread_create(&t, NULL, close_later, &c) == 0);
    double start = now_ms();
    CHECK_EQ(sockrt_poller_wait(p, ev, 4, IO_TIMEOUT_MS), 1);
    CHECK_MSG(now_ms() - start < IO_TIMEOUT_MS / 2, "woken by the close");
    CHECK_EQ(ev[0].token, 7);
    CHECK_EQ(ev[0].events, SOCKRT_POLL_CLOSED);
    CHECK_EQ(sockrt_poller_wait(p, ev, 4, 0), 0);
    pthread_join(t, NULL);

    SAY("closing the poller wakes its waiter with SOCKRT_E_CLOSED");
    struct closer cp = { p, 50 };
    CHECK(pthread_create(&t, NULL, close_later, &cp) == 0);
    CHECK_EQ(sockrt_poller_wait(p, ev, 4, -1), SOCKRT_E_CLOSED);
    pthread_join(t, NULL);
    close(peer);
    CHECK_EQ(count_fds(), before);
}

static void check_foreign_fd(void)
{
    sockrt_handle p;
    sockrt_poll_event ev[2];
    int fds[2];
    SAY("a pipe registers by number");
    CHECK(pipe(fds) == 0);
    CHECK_OK(sockrt_poller_open(&p));
    CHECK_OK(sockrt_poller_add_fd(p, fds[0], SOCKRT_POLL_IN, 5));
    CHECK_EQ(sockrt_poller_wait(p, ev, 2, 0), 0);
    CHECK_EQ(write(fds[1], "x", 1), 1);
    CHECK_EQ(sockrt_poller_wait(p, ev, 2, IO_TIMEOUT_MS), 1);
    CHECK_EQ(ev[0].token, 5);
    CHECK_OK(sockrt_poller_modify_fd(p, fds[0], SOCKRT_POLL_IN, 6));
    CHECK_EQ(sockrt_poller_wait(p, ev, 2, 0), 1);
    CHECK_EQ(ev[0].token, 6);
    CHECK_OK(sockrt_poller_remove_fd(p, fds[0]));
    CHECK_EQ(sockrt_poller_wait(p, ev, 2, 0), 0);
    CHECK_OK(sockrt_poller_wake(p));
    CHECK_EQ(sockrt_poller_wait(p, ev, 2, IO_TIMEOUT_MS), 0); /* woken, nothing ready */
    CHECK_OK(sockrt_close(p));
    close(fds[0]);
    close(fds[1]);
}

#define FAN 64

static void check_send_many(void)
{
    sockrt_handle hs[FAN + 1];
    int peers[FAN];
    int64_t results[FAN + 1];
    char msg[512], got[512];
    SAY("send_many gives each of %d handles what a raw send(2) loop would", FAN);
    memset(msg, 'm', sizeof msg);
    for (int i = 0; i < FAN; i++)
        peers[i] = raw_pair(&hs[i]);
    hs[FAN] = 0; /* never valid */
    CHECK_EQ(sockrt_send_many(hs, FAN + 1, msg, sizeof msg, results), FAN);
    for (int i = 0; i < FAN; i++) {
        CHECK_EQ(results[i], sizeof msg);
        CHECK_EQ(recv(peers[i], got, sizeof got, MSG_WAITALL), sizeof msg);
        CHECK(memcmp(got, msg, sizeof msg) == 0);
        /* The oracle: the same bytes through send(2) on the same descriptor. */
        CHECK_EQ(send(sockrt_fileno(hs[i]), msg, sizeof msg, MSG_NOSIGNAL | MSG_DONTWAIT), sizeof msg);
        CHECK_EQ(recv(peers[i], got, sizeof got, MSG_WAITALL), sizeof msg);
    }
    CHECK_EQ(results[FAN], SOCKRT_E_BAD_HANDLE);

    SAY("a subscriber that never reads gets SOCKRT_E_WOULD_BLOCK, never a stall");
    CHECK_OK(sockrt_set_option(hs[0], SOCKRT_OPT_SEND_BUFFER, 4096));
    int blocked = 0;
    double start = now_ms();
    for (int round = 0; round < 100000 && !blocked; round++) {
        CHECK(sockrt_send_many(hs, 2, msg, sizeof msg, results) >= 1);
        blocked = results[0] == SOCKRT_E_WOULD_BLOCK;
        CHECK_EQ(recv(peers[1], got, sizeof got, MSG_WAITALL), results[1]);
    }
    CHECK(blocked);
    CHECK(now_ms() - start < IO_TIMEOUT_MS);
    CHECK_ERR(sockrt_send_many(NULL, 1, msg, 1, results), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_send_many(hs, 1, NULL, 1, results), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_send_many(hs, 1, msg, 1, NULL), SOCKRT_E_INVALID_ARGUMENT);
    for (int i = 0; i < FAN; i++) {
        CHECK_OK(sockrt_close(hs[i]));
        close(peers[i]);
    }
}

int main(void)
{
    uint64_t handles = sockrt_open_handles();
    printf("test_poller\n");
    check_readiness();
    check_close_reports();
    check_foreign_fd();
    check_send_many();
    CHECK_EQ(sockrt_open_handles(), handles);
    printf("test_poller: ok\n");
    return 0;
}
