/*
 * The fixed peer for every client: a raw POSIX blocking server on loopback.
 *   TCP echo: echoes whatever it reads (thread per connection, TCP_NODELAY).
 *   TCP sink: reads to end of stream, then answers one byte.
 *   UDP echo: sends every datagram back to its sender.
 *   Unix stream echo and sink: the same, on abstract names (no files).
 * It prints {"echo":P,"sink":P,"udp":P,"unix_echo":"@..","unix_sink":"@.."}
 * once listening, then serves until
 * killed or until --lifetime seconds pass (so it never outlives a run).
 *
 * usage: peer_server [--host 127.0.0.1] [--lifetime 900]
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench_common.h"

static struct sockaddr_in server_addr(const char *host) {
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        bench_die("bad host");
    return a;
}

static int bound_socket(const char *host, int type, int *port_out) {
    struct sockaddr_in a = server_addr(host);
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        bench_die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
        bench_die("bind");
    if (type == SOCK_STREAM && listen(fd, 1024) < 0)
        bench_die("listen");
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port_out = ntohs(a.sin_port);
    return fd;
}

/* A listening Unix stream socket on the abstract name "@sockrt-bench-PID-what". */
static int unix_listener(const char *what, char *name_out, size_t cap) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int len = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "sockrt-bench-%d-%s",
                       (int)getpid(), what);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        bench_die("unix socket");
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
    if (bind(fd, (struct sockaddr *)&a, alen) < 0 || listen(fd, 1024) < 0)
        bench_die("unix bind/listen");
    snprintf(name_out, cap, "@%s", a.sun_path + 1);
    return fd;
}

static int send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *echo_conn(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[BENCH_CHUNK];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || send_all(fd, buf, (size_t)n) < 0)
            break;
    }
    close(fd);
    return NULL;
}

static void *sink_conn(void *arg) {
    int fd = (int)(intptr_t)arg;
    static __thread char buf[4 * BENCH_CHUNK];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (n == 0) {
            send_all(fd, "k", 1);
            break;
        }
    }
    close(fd);
    return NULL;
}

struct acceptor {
    int fd;
    void *(*serve)(void *);
};

static void *accept_loop(void *arg) {
    struct acceptor *a = arg;
    for (;;) {
        int fd = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                continue;
            bench_die("accept");
        }
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails on Unix */
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 512 * 1024);
        if (pthread_create(&t, &attr, a->serve, (void *)(intptr_t)fd) != 0)
            close(fd);
        pthread_attr_destroy(&attr);
    }
    return NULL;
}

static void *udp_loop(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[65536];
    for (;;) {
        struct sockaddr_storage from;
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
        if (n < 0)
            continue;
        sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    unsigned lifetime = 900;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--host")) host = argv[i + 1];
        else if (!strcmp(argv[i], "--lifetime")) lifetime = (unsigned)atoi(argv[i + 1]);
    }
    signal(SIGPIPE, SIG_IGN);
    alarm(lifetime); /* default SIGALRM action ends the process */

    int echo_port, sink_port, udp_port;
    static struct acceptor echo, sink;
    echo = (struct acceptor){bound_socket(host, SOCK_STREAM, &echo_port), echo_conn};
    sink = (struct acceptor){bound_socket(host, SOCK_STREAM, &sink_port), sink_conn};
    int udp = bound_socket(host, SOCK_DGRAM, &udp_port);
    static struct acceptor unix_echo, unix_sink;
    char unix_echo_name[108], unix_sink_name[108];
    unix_echo = (struct acceptor){unix_listener("echo", unix_echo_name, sizeof unix_echo_name),
                                  echo_conn};
    unix_sink = (struct acceptor){unix_listener("sink", unix_sink_name, sizeof unix_sink_name),
                                  sink_conn};

    pthread_t t1, t2, t3, t4;
    pthread_create(&t1, NULL, accept_loop, &echo);
    pthread_create(&t2, NULL, accept_loop, &sink);
    pthread_create(&t3, NULL, accept_loop, &unix_echo);
    pthread_create(&t4, NULL, accept_loop, &unix_sink);
    printf("{\"echo\":%d,\"sink\":%d,\"udp\":%d,\"unix_echo\":\"%s\",\"unix_sink\":\"%s\"}\n",
           echo_port, sink_port, udp_port, unix_echo_name, unix_sink_name);
    fflush(stdout);
    udp_loop((void *)(intptr_t)udp);
    return 0;
}
