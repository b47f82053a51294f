/*
 * The server side through libsockrt: the same protocol as peer_server.c
 * (TCP echo, TCP sink answering one byte at end of stream, UDP echo), so the
 * raw C client can compare the two servers. --busy-us N puts every accepted
 * connection and the UDP socket in latency mode (SOCKRT_OPT_BUSY_POLL_US).
 *
 * usage: sockrt_server [--host 127.0.0.1] [--lifetime 900] [--busy-us 0]
 */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "sockrt.h"
#include "bench_common.h"

static long busy_us;

static void check(int64_t rc, const char *what) {
    if (rc < 0) {
        char msg[256];
        sockrt_last_error_message(msg, sizeof msg);
        fprintf(stderr, "sockrt_server: %s: %s\n", what, msg);
        exit(2);
    }
}

static uint16_t local_port(sockrt_handle h) {
    uint16_t port = 0;
    check(sockrt_local_addr(h, NULL, 0, &port), "local_addr");
    return port;
}

static void *echo_conn(void *arg) {
    sockrt_handle h = (sockrt_handle)(uintptr_t)arg;
    char buf[BENCH_CHUNK];
    for (;;) {
        int64_t n = sockrt_recv(h, buf, sizeof buf);
        if (n <= 0 || sockrt_send_all(h, buf, (size_t)n) < 0)
            break;
    }
    sockrt_close(h);
    return NULL;
}

static void *sink_conn(void *arg) {
    sockrt_handle h = (sockrt_handle)(uintptr_t)arg;
    static __thread char buf[4 * BENCH_CHUNK];
    for (;;) {
        int64_t n = sockrt_recv(h, buf, sizeof buf);
        if (n < 0)
            break;
        if (n == 0) {
            sockrt_send_all(h, "k", 1);
            break;
        }
    }
    sockrt_close(h);
    return NULL;
}

struct acceptor {
    sockrt_handle listener;
    void *(*serve)(void *);
};

static void *accept_loop(void *arg) {
    struct acceptor *a = arg;
    for (;;) {
        sockrt_handle h;
        int32_t rc = sockrt_accept(a->listener, &h);
        if (rc == SOCKRT_E_LIMIT)
            continue;
        check(rc, "accept");
        sockrt_set_option(h, SOCKRT_OPT_NODELAY, 1);
        sockrt_set_option(h, SOCKRT_OPT_BUSY_POLL_US, busy_us);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 512 * 1024);
        if (pthread_create(&t, &attr, a->serve, (void *)(uintptr_t)h) != 0)
            sockrt_close(h);
        pthread_attr_destroy(&attr);
    }
    return NULL;
}

static void udp_loop(sockrt_handle h) {
    char buf[65536], host[SOCKRT_ADDR_MAX];
    for (;;) {
        uint16_t port;
        int64_t n = sockrt_recv_from(h, buf, sizeof buf, host, sizeof host, &port);
        if (n >= 0)
            sockrt_send_to(h, buf, (size_t)n, host, port);
    }
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    unsigned lifetime = 900;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--host")) host = argv[i + 1];
        else if (!strcmp(argv[i], "--lifetime")) lifetime = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--busy-us")) busy_us = atol(argv[i + 1]);
    }
    alarm(lifetime); /* default SIGALRM action ends the process */

    static struct acceptor echo, sink;
    sockrt_handle udp;
    echo.serve = echo_conn;
    sink.serve = sink_conn;
    check(sockrt_tcp_listen(host, 0, 1024, &echo.listener), "listen echo");
    check(sockrt_tcp_listen(host, 0, 1024, &sink.listener), "listen sink");
    check(sockrt_udp_bind(host, 0, &udp), "udp_bind");
    check(sockrt_set_option(udp, SOCKRT_OPT_BUSY_POLL_US, busy_us), "udp busy_poll");

    pthread_t t1, t2;
    pthread_create(&t1, NULL, accept_loop, &echo);
    pthread_create(&t2, NULL, accept_loop, &sink);
    printf("{\"echo\":%u,\"sink\":%u,\"udp\":%u}\n", local_port(echo.listener),
           local_port(sink.listener), local_port(udp));
    fflush(stdout);
    udp_loop(udp);
    return 0;
}
