/*
 * The libsockrt client: the same workloads as raw_client.c through the C
 * ABI, plus the library's own per-call costs:
 *   rtt64, rtt64-busy (SOCKRT_OPT_BUSY_POLL_US), bulk, connect, pooled,
 *   udp64, pool_ops (acquire+release pair, --threads, --check), call,
 *   unix-rtt64, unix-bulk (rtt64 and bulk over sockrt_unix_connect).
 * `sockrt_client --exchange WORKLOAD ...` does each 64-byte round trip with
 * one sockrt_exchange call instead of sockrt_send_all + sockrt_recv_exact
 * (reported as client "c-sockrt-exchange").
 */
#include <pthread.h>

#include "sockrt.h"
#include "bench_common.h"

static const char *CLIENT = "c-sockrt";
static int use_exchange; /* --exchange: one sockrt_exchange per round trip */

static void check(int64_t rc, const char *what) {
    if (rc < 0) {
        char msg[256];
        sockrt_last_error_message(msg, sizeof msg);
        fprintf(stderr, "sockrt_client: %s: %s (%s)\n", what, sockrt_error_name((int32_t)rc), msg);
        exit(2);
    }
}

static sockrt_handle tcp_connect(const struct bench_opts *o, int port) {
    sockrt_handle h;
    check(sockrt_tcp_connect(o->host, (uint16_t)port, 5000, &h), "tcp_connect");
    check(sockrt_set_option(h, SOCKRT_OPT_NODELAY, 1), "nodelay");
    return h;
}

/* The echo (or sink) peer of this workload: TCP, or Unix for unix-*. */
static sockrt_handle peer_connect(const struct bench_opts *o, int sink) {
    if (!bench_is_unix(o))
        return tcp_connect(o, sink ? o->sink_port : o->echo_port);
    sockrt_handle h;
    const char *path = sink ? o->unix_sink : o->unix_echo;
    check(path ? sockrt_unix_connect(path, 5000, &h) : SOCKRT_E_INVALID_ARGUMENT, "unix_connect");
    return h;
}

static void round_trip(sockrt_handle h, char *msg) {
    if (use_exchange) {
        check(sockrt_exchange(h, msg, BENCH_MSG, msg, BENCH_MSG), "exchange");
        return;
    }
    check(sockrt_send_all(h, msg, BENCH_MSG), "send_all");
    check(sockrt_recv_exact(h, msg, BENCH_MSG), "recv_exact");
}

static void run_rtt(const struct bench_opts *o, int busy) {
    long warm = bench_default(o->warmup, BENCH_RTT_WARMUP);
    long n = bench_default(o->count, BENCH_RTT_COUNT);
    long busy_us = busy ? bench_default(o->busy_us, 50) : 0;
    uint64_t *s = bench_samples(n);
    char msg[BENCH_MSG] = {1};
    sockrt_handle h = peer_connect(o, 0);
    check(sockrt_set_option(h, SOCKRT_OPT_BUSY_POLL_US, busy_us), "busy_poll");
    if (o->timeout_ms >= 0)
        check(sockrt_set_option(h, SOCKRT_OPT_READ_TIMEOUT_MS, o->timeout_ms), "read timeout");
    for (long i = 0; i < warm; i++)
        round_trip(h, msg);
    double cpu0 = bench_cpu_us();
    for (long i = 0; i < n; i++) {
        uint64_t t0 = bench_now_ns();
        round_trip(h, msg);
        s[i] = bench_now_ns() - t0;
    }
    char extra[48];
    snprintf(extra, sizeof extra, ",\"busy_us\":%ld", busy_us);
    bench_report_latency(CLIENT, o->workload, s, n, bench_cpu_us() - cpu0, extra);
    sockrt_close(h);
    free(s);
}

static void run_bulk(const struct bench_opts *o) {
    long long total = o->bytes > 0 ? o->bytes : BENCH_BULK_BYTES;
    static char chunk[BENCH_CHUNK];
    memset(chunk, 'b', sizeof chunk);
    sockrt_handle h = peer_connect(o, 1);
    double cpu0 = bench_cpu_us();
    uint64_t t0 = bench_now_ns();
    for (long long sent = 0; sent < total; sent += BENCH_CHUNK)
        check(sockrt_send_all(h, chunk, BENCH_CHUNK), "send_all");
    check(sockrt_shutdown(h, SOCKRT_SHUT_WRITE), "shutdown");
    char ack;
    check(sockrt_recv_exact(h, &ack, 1), "recv_exact ack");
    uint64_t ns = bench_now_ns() - t0;
    bench_report_bulk_as(CLIENT, o->workload, total, ns, bench_cpu_us() - cpu0);
    sockrt_close(h);
}

static void run_connect(const struct bench_opts *o) {
    long n = bench_default(o->count, BENCH_REQ_COUNT);
    char msg[BENCH_MSG] = {2};
    double cpu0 = bench_cpu_us();
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        sockrt_handle h = tcp_connect(o, o->echo_port);
        round_trip(h, msg);
        check(sockrt_close(h), "close");
    }
    uint64_t ns = bench_now_ns() - t0;
    bench_report_per_op(CLIENT, "connect", "us", ns / 1e3 / n, n, bench_cpu_us() - cpu0, NULL);
}

static sockrt_handle open_pool(const struct bench_opts *o, int check_on_acquire) {
    sockrt_pool_config cfg;
    sockrt_pool_config_init(&cfg);
    cfg.check_on_acquire = check_on_acquire != 0;
    cfg.nodelay = true;
    sockrt_handle pool;
    check(sockrt_pool_open(o->host, (uint16_t)o->echo_port, &cfg, &pool), "pool_open");
    return pool;
}

static void run_pooled(const struct bench_opts *o) {
    long n = bench_default(o->count, BENCH_REQ_COUNT);
    char msg[BENCH_MSG] = {2};
    sockrt_handle pool = open_pool(o, 1); /* the default, as users get it */
    double cpu0 = bench_cpu_us();
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        sockrt_handle c;
        check(sockrt_pool_acquire(pool, &c), "pool_acquire");
        round_trip(c, msg);
        check(sockrt_pool_release(pool, c), "pool_release");
    }
    uint64_t ns = bench_now_ns() - t0;
    bench_report_per_op(CLIENT, "pooled", "us", ns / 1e3 / n, n, bench_cpu_us() - cpu0, NULL);
    sockrt_pool_close(pool);
}

static void run_udp(const struct bench_opts *o) {
    long warm = bench_default(o->warmup, BENCH_RTT_WARMUP);
    long n = bench_default(o->count, BENCH_RTT_COUNT);
    uint64_t *s = bench_samples(n);
    sockrt_handle h;
    check(sockrt_udp_bind(o->host, 0, &h), "udp_bind");
    check(sockrt_connect(h, o->host, (uint16_t)o->udp_port, 5000), "udp connect");
    check(sockrt_set_option(h, SOCKRT_OPT_READ_TIMEOUT_MS, 5000), "read timeout");
    char msg[BENCH_MSG] = {3};
    double cpu0 = 0;
    for (long i = 0; i < warm + n; i++) {
        if (i == warm)
            cpu0 = bench_cpu_us();
        uint64_t t0 = bench_now_ns();
        if (sockrt_send(h, msg, sizeof msg) != sizeof msg)
            check(-1, "udp send");
        int64_t r = sockrt_recv(h, msg, sizeof msg);
        check(r, "udp recv");
        if (i >= warm)
            s[i - warm] = bench_now_ns() - t0;
    }
    bench_report_latency(CLIENT, "udp64", s, n, bench_cpu_us() - cpu0, NULL);
    sockrt_close(h);
    free(s);
}

struct pool_worker {
    sockrt_handle pool;
    long pairs;
    pthread_barrier_t *start;
    uint64_t ns;
};

static void *pool_pairs(void *arg) {
    struct pool_worker *w = arg;
    sockrt_handle c;
    /* The first acquire connects; keep that out of the timing. */
    check(sockrt_pool_acquire(w->pool, &c), "pool_acquire");
    check(sockrt_pool_release(w->pool, c), "pool_release");
    pthread_barrier_wait(w->start);
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < w->pairs; i++) {
        check(sockrt_pool_acquire(w->pool, &c), "pool_acquire");
        check(sockrt_pool_release(w->pool, c), "pool_release");
    }
    w->ns = bench_now_ns() - t0;
    return NULL;
}

/* ns per acquire+release pair, as each thread sees it (mean over threads). */
static void run_pool_ops(const struct bench_opts *o) {
    long n = bench_default(o->count, 1000000);
    int threads = o->threads > 0 && o->threads <= 16 ? o->threads : 1;
    sockrt_handle pool = open_pool(o, o->check);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads);
    struct pool_worker w[16];
    pthread_t t[16];
    double cpu0 = bench_cpu_us();
    for (int i = 0; i < threads; i++) {
        w[i] = (struct pool_worker){pool, n, &start, 0};
        pthread_create(&t[i], NULL, pool_pairs, &w[i]);
    }
    double ns = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        ns += (double)w[i].ns / n;
    }
    char name[48], extra[64];
    snprintf(name, sizeof name, "pool_ops-%s-%dt", o->check ? "check" : "nocheck", threads);
    snprintf(extra, sizeof extra, ",\"threads\":%d,\"check_on_acquire\":%d", threads, o->check);
    bench_report_per_op(CLIENT, name, "ns", ns / threads, n * threads, bench_cpu_us() - cpu0,
                        extra);
    pthread_barrier_destroy(&start);
    sockrt_pool_close(pool);
}

/* A trivial call through a handle: lookup, option read, status. The busy-poll
   budget lives in the library, so no system call is involved (reading
   NODELAY would add a getsockopt(2)). */
static void run_call(const struct bench_opts *o) {
    long n = bench_default(o->count, 5000000);
    sockrt_handle h = tcp_connect(o, o->echo_port);
    check(sockrt_set_option(h, SOCKRT_OPT_BUSY_POLL_US, 1), "busy_poll");
    int64_t v = 0, sum = 0;
    double cpu0 = bench_cpu_us();
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        check(sockrt_get_option(h, SOCKRT_OPT_BUSY_POLL_US, &v), "get_option");
        sum += v;
    }
    uint64_t ns = bench_now_ns() - t0;
    if (sum != n)
        check(-1, "get_option value");
    bench_report_per_op(CLIENT, "call", "ns", (double)ns / n, n, bench_cpu_us() - cpu0, NULL);
    sockrt_close(h);
}

int main(int argc, char **argv) {
    struct bench_opts o;
    if (argc > 1 && !strcmp(argv[1], "--exchange")) {
        use_exchange = 1;
        CLIENT = "c-sockrt-exchange";
        argv[1] = argv[0]; /* the rest parses as usual */
        argv++;
        argc--;
    }
    bench_parse(argc, argv, &o);
    if (!strcmp(o.workload, "rtt64") || !strcmp(o.workload, "unix-rtt64")) run_rtt(&o, 0);
    else if (!strcmp(o.workload, "rtt64-busy")) run_rtt(&o, 1);
    else if (!strcmp(o.workload, "bulk") || !strcmp(o.workload, "unix-bulk")) run_bulk(&o);
    else if (!strcmp(o.workload, "connect")) run_connect(&o);
    else if (!strcmp(o.workload, "pooled")) run_pooled(&o);
    else if (!strcmp(o.workload, "udp64")) run_udp(&o);
    else if (!strcmp(o.workload, "pool_ops")) run_pool_ops(&o);
    else if (!strcmp(o.workload, "call")) run_call(&o);
    else {
        fprintf(stderr, "sockrt_client: unknown workload %s\n", o.workload);
        return 2;
    }
    return 0;
}
