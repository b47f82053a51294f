/*
 * Shared helpers of the benchmark programs: command-line options, clocks,
 * latency statistics and the one JSON line each workload prints.
 *
 * Every client prints exactly one JSON object per workload on stdout:
 *   {"client":..., "workload":..., "unit":..., "value":..., ...extras}
 * `value` is the headline figure (a mean in µs or ns, or GB/s); the runner
 * (bench/run.py) takes medians over repetitions and computes the ratios.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define BENCH_MSG 64

/* What every client understands; 0 means "use the workload's default". */
struct bench_opts {
    const char *workload;
    const char *host;
    int echo_port;   /* TCP echo server */
    int sink_port;   /* TCP sink: reads to end of stream, answers one byte */
    int udp_port;    /* UDP echo server */
    long count;      /* timed iterations */
    long warmup;     /* untimed iterations before them */
    long long bytes; /* bulk: total bytes sent */
    long busy_us;    /* latency mode budget, libsockrt clients only */
    int threads;     /* pool_ops: threads sharing one pool */
    int check;       /* pool_ops: check_on_acquire */
    const char *unix_echo; /* Unix stream echo server: a path or @name */
    const char *unix_sink; /* Unix stream sink */
    long timeout_ms; /* rtt64: read timeout on the libsockrt client; -1 = none */
};

/* unix-rtt64 and unix-bulk: rtt64 and bulk over a Unix stream socket. */
static inline int bench_is_unix(const struct bench_opts *o) {
    return !strncmp(o->workload, "unix-", 5);
}

static inline void bench_die(const char *what) {
    fprintf(stderr, "bench: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(2);
}

static inline void bench_usage(const char *prog) {
    fprintf(stderr,
            "usage: %s WORKLOAD [--host H] [--echo P] [--sink P] [--udp P]\n"
            "          [--count N] [--warmup N] [--bytes N] [--busy-us N]\n"
            "          [--threads N] [--check 0|1] [--unix-echo PATH] [--unix-sink PATH]\n",
            prog);
    exit(2);
}

static inline void bench_parse(int argc, char **argv, struct bench_opts *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->threads = 1;
    o->check = 1;
    o->timeout_ms = -1;
    if (argc < 2 || argv[1][0] == '-')
        bench_usage(argv[0]);
    o->workload = argv[1];
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            bench_usage(argv[0]);
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--host")) o->host = v;
        else if (!strcmp(k, "--echo")) o->echo_port = atoi(v);
        else if (!strcmp(k, "--sink")) o->sink_port = atoi(v);
        else if (!strcmp(k, "--udp")) o->udp_port = atoi(v);
        else if (!strcmp(k, "--count")) o->count = atol(v);
        else if (!strcmp(k, "--warmup")) o->warmup = atol(v);
        else if (!strcmp(k, "--bytes")) o->bytes = atoll(v);
        else if (!strcmp(k, "--busy-us")) o->busy_us = atol(v);
        else if (!strcmp(k, "--threads")) o->threads = atoi(v);
        else if (!strcmp(k, "--check")) o->check = atoi(v);
        else if (!strcmp(k, "--unix-echo")) o->unix_echo = v;
        else if (!strcmp(k, "--unix-sink")) o->unix_sink = v;
        else if (!strcmp(k, "--timeout-ms")) o->timeout_ms = atol(v);
        else bench_usage(argv[0]);
    }
}

static inline long bench_default(long v, long def) { return v > 0 ? v : def; }

static inline uint64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* User + system CPU time of the whole process so far, in µs. */
static inline double bench_cpu_us(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

static int bench_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Prints the latency line: mean, median and p99 of `n` samples in ns. */
static inline void bench_report_latency(const char *client, const char *workload,
                                        uint64_t *samples, long n, double cpu_us,
                                        const char *extra) {
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += (double)samples[i];
    qsort(samples, (size_t)n, sizeof *samples, bench_cmp_u64);
    double mean = sum / n / 1000.0;
    double p50 = samples[n / 2] / 1000.0;
    double p99 = samples[(long)((n - 1) * 0.99)] / 1000.0;
    printf("{\"client\":\"%s\",\"workload\":\"%s\",\"unit\":\"us\",\"value\":%.3f,"
           "\"p50_us\":%.3f,\"p99_us\":%.3f,\"count\":%ld,\"cpu_us_per_op\":%.3f%s}\n",
           client, workload, mean, p50, p99, n, cpu_us / n, extra ? extra : "");
    fflush(stdout);
}

/* Prints a line whose value is the mean time per operation. */
static inline void bench_report_per_op(const char *client, const char *workload,
                                       const char *unit, double value, long n,
                                       double cpu_us, const char *extra) {
    printf("{\"client\":\"%s\",\"workload\":\"%s\",\"unit\":\"%s\",\"value\":%.3f,"
           "\"count\":%ld,\"cpu_us_per_op\":%.4f%s}\n",
           client, workload, unit, value, n, cpu_us / n, extra ? extra : "");
    fflush(stdout);
}

static inline void bench_report_bulk_as(const char *client, const char *workload,
                                        long long bytes, uint64_t ns, double cpu_us) {
    printf("{\"client\":\"%s\",\"workload\":\"%s\",\"unit\":\"GB/s\",\"value\":%.3f,"
           "\"bytes\":%lld,\"seconds\":%.4f,\"cpu_us_per_op\":%.3f}\n",
           client, workload, (double)bytes / (double)ns, bytes, ns / 1e9,
           cpu_us / (double)(bytes / 65536));
    fflush(stdout);
}

static inline void bench_report_bulk(const char *client, long long bytes, uint64_t ns,
                                     double cpu_us) {
    bench_report_bulk_as(client, "bulk", bytes, ns, cpu_us);
}

static inline uint64_t *bench_samples(long n) {
    uint64_t *s = malloc(sizeof *s * (size_t)(n > 0 ? n : 1));
    if (!s)
        bench_die("malloc");
    return s;
}

#define BENCH_RTT_COUNT 50000
#define BENCH_RTT_WARMUP 2000
#define BENCH_REQ_COUNT 5000
#define BENCH_BULK_BYTES (1LL << 30)
#define BENCH_CHUNK 65536

#endif
