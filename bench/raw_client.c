/*
 * The raw POSIX client: the practical limit every other client is held to.
 * Workloads: rtt64, bulk, connect, udp64, unix-rtt64, unix-bulk (see bench/README.md).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench_common.h"

static const char *CLIENT = "c-raw";

static struct sockaddr_in addr_of(const char *host, int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        bench_die("bad host");
    return a;
}

static int tcp_connect(const struct bench_opts *o, int port) {
    struct sockaddr_in a = addr_of(o->host, port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        bench_die("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        bench_die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* A Unix stream connection to a path or "@name" (abstract namespace). */
static int unix_connect(const char *path) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (!path[0] || len >= sizeof a.sun_path)
        bench_die("bad unix path");
    memcpy(a.sun_path, path, len);
    if (path[0] == '@')
        a.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
                                 (path[0] == '@' ? 0 : 1));
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, alen) < 0)
        bench_die("unix connect");
    return fd;
}

/* The echo (or sink) peer of this workload: TCP, or Unix for unix-*. */
static int peer_connect(const struct bench_opts *o, int sink) {
    if (bench_is_unix(o))
        return unix_connect(sink ? o->unix_sink : o->unix_echo);
    return tcp_connect(o, sink ? o->sink_port : o->echo_port);
}

static void send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            bench_die("send");
        p += w;
        n -= (size_t)w;
    }
}

static void recv_exact(int fd, char *p, size_t n) {
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = 0;
            bench_die("recv");
        }
        p += r;
        n -= (size_t)r;
    }
}

static void round_trip(int fd, char *msg) {
    send_all(fd, msg, BENCH_MSG);
    recv_exact(fd, msg, BENCH_MSG);
}

static void run_rtt(const struct bench_opts *o) {
    long warm = bench_default(o->warmup, BENCH_RTT_WARMUP);
    long n = bench_default(o->count, BENCH_RTT_COUNT);
    uint64_t *s = bench_samples(n);
    char msg[BENCH_MSG] = {1};
    int fd = peer_connect(o, 0);
    for (long i = 0; i < warm; i++)
        round_trip(fd, msg);
    double cpu0 = bench_cpu_us();
    for (long i = 0; i < n; i++) {
        uint64_t t0 = bench_now_ns();
        round_trip(fd, msg);
        s[i] = bench_now_ns() - t0;
    }
    bench_report_latency(CLIENT, o->workload, s, n, bench_cpu_us() - cpu0, NULL);
    close(fd);
    free(s);
}

static void run_bulk(const struct bench_opts *o) {
    long long total = o->bytes > 0 ? o->bytes : BENCH_BULK_BYTES;
    static char chunk[BENCH_CHUNK];
    memset(chunk, 'b', sizeof chunk);
    int fd = peer_connect(o, 1);
    double cpu0 = bench_cpu_us();
    uint64_t t0 = bench_now_ns();
    for (long long sent = 0; sent < total; sent += BENCH_CHUNK)
        send_all(fd, chunk, BENCH_CHUNK);
    shutdown(fd, SHUT_WR);
    char ack;
    recv_exact(fd, &ack, 1);
    uint64_t ns = bench_now_ns() - t0;
    bench_report_bulk_as(CLIENT, o->workload, total, ns, bench_cpu_us() - cpu0);
    close(fd);
}

static void run_connect(const struct bench_opts *o) {
    long n = bench_default(o->count, BENCH_REQ_COUNT);
    char msg[BENCH_MSG] = {2};
    double cpu0 = bench_cpu_us();
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        int fd = tcp_connect(o, o->echo_port);
        round_trip(fd, msg);
        close(fd);
    }
    uint64_t ns = bench_now_ns() - t0;
    bench_report_per_op(CLIENT, "connect", "us", ns / 1e3 / n, n, bench_cpu_us() - cpu0, NULL);
}

static void run_udp(const struct bench_opts *o) {
    long warm = bench_default(o->warmup, BENCH_RTT_WARMUP);
    long n = bench_default(o->count, BENCH_RTT_COUNT);
    uint64_t *s = bench_samples(n);
    struct sockaddr_in a = addr_of(o->host, o->udp_port);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        bench_die("udp connect");
    /* A lost datagram on loopback is not expected; a timeout turns one into
       an error instead of a hang. */
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char msg[BENCH_MSG] = {3};
    double cpu0 = 0;
    for (long i = 0; i < warm + n; i++) {
        if (i == warm)
            cpu0 = bench_cpu_us();
        uint64_t t0 = bench_now_ns();
        if (send(fd, msg, sizeof msg, 0) != sizeof msg)
            bench_die("udp send");
        if (recv(fd, msg, sizeof msg, 0) != sizeof msg)
            bench_die("udp recv");
        if (i >= warm)
            s[i - warm] = bench_now_ns() - t0;
    }
    bench_report_latency(CLIENT, "udp64", s, n, bench_cpu_us() - cpu0, NULL);
    close(fd);
    free(s);
}

int main(int argc, char **argv) {
    struct bench_opts o;
    bench_parse(argc, argv, &o);
    if (!strcmp(o.workload, "rtt64") || !strcmp(o.workload, "unix-rtt64")) run_rtt(&o);
    else if (!strcmp(o.workload, "bulk") || !strcmp(o.workload, "unix-bulk")) run_bulk(&o);
    else if (!strcmp(o.workload, "connect")) run_connect(&o);
    else if (!strcmp(o.workload, "udp64")) run_udp(&o);
    else {
        fprintf(stderr, "raw_client: unknown workload %s\n", o.workload);
        return 2;
    }
    return 0;
}
