/*
 * pool_client: COUNT echo round trips from 4 threads through one connection
 * pool, then the pool's counters.
 *
 *   usage: pool_client HOST PORT [COUNT]
 *
 * Each round trip leases a connection (sockrt_pool_acquire), sends one
 * message, reads its echo back with sockrt_recv_exact, verifies it and
 * returns the connection (sockrt_pool_release; sockrt_pool_discard if the
 * exchange failed). With 4 threads and max_total 4 the pool opens at most
 * 4 connections and reuses them for everything else. Prints
 *
 *   STATS created=.. reused=.. closed_stale=.. ...
 *   RESULT messages=<n> bytes=<verified bytes> mean_rtt_us=<float>
 *
 * where a round trip is timed from acquire to release. Exits 0 only if
 * every round trip verified.
 */
#define EXAMPLE_NAME "pool_client"
#include "common.h"

#define THREADS 4
#define DEFAULT_COUNT 100
#define READ_TIMEOUT_MS 10000

/* What one worker thread does and what it measured. */
struct worker {
    sockrt_handle pool;
    long first, count; /* message numbers first .. first+count-1 */
    long messages;
    unsigned long long verified;
    double total_rtt_us;
    int failed;
};

/* Sends message i on conn and checks its echo. Returns 0 if it verified. */
static int exchange(sockrt_handle conn, long i, unsigned char *sent, unsigned char *echoed) {
    size_t len = message_size(i);
    fill_message(sent, len, i);
    int32_t rc = sockrt_set_option(conn, SOCKRT_OPT_READ_TIMEOUT_MS, READ_TIMEOUT_MS);
    if (rc != SOCKRT_OK) {
        report_error("set_option", rc);
        return -1;
    }
    rc = sockrt_send_all(conn, sent, len);
    if (rc != SOCKRT_OK) {
        report_error("send_all", rc);
        return -1;
    }
    rc = sockrt_recv_exact(conn, echoed, len);
    if (rc != SOCKRT_OK) {
        report_error("recv_exact", rc);
        return -1;
    }
    if (memcmp(sent, echoed, len) != 0) {
        fprintf(stderr, "pool_client: message %ld came back altered\n", i);
        return -1;
    }
    return 0;
}

/* One round trip through the pool: acquire, exchange, release or discard. */
static int round_trip(struct worker *w, long i, unsigned char *sent, unsigned char *echoed) {
    sockrt_handle conn = 0;
    int32_t rc = sockrt_pool_acquire(w->pool, &conn);
    if (rc != SOCKRT_OK) {
        report_error("pool_acquire", rc);
        return -1;
    }
    if (exchange(conn, i, sent, echoed) != 0) {
        /* A connection whose exchange failed is out of step: never reuse it. */
        rc = sockrt_pool_discard(w->pool, conn);
        if (rc != SOCKRT_OK) {
            report_error("pool_discard", rc);
        }
        return -1;
    }
    rc = sockrt_pool_release(w->pool, conn);
    if (rc != SOCKRT_OK) {
        report_error("pool_release", rc);
        return -1;
    }
    return 0;
}

static void *run_worker(void *arg) {
    struct worker *w = arg;
    unsigned char sent[MAX_MESSAGE], echoed[MAX_MESSAGE];
    for (long i = w->first; i < w->first + w->count; i++) {
        double start = now_us();
        if (round_trip(w, i, sent, echoed) != 0) {
            w->failed = 1;
            break;
        }
        w->total_rtt_us += now_us() - start;
        w->messages++;
        w->verified += message_size(i);
    }
    return NULL;
}

static int print_stats(sockrt_handle pool) {
    sockrt_pool_stats s;
    int32_t rc = sockrt_pool_get_stats(pool, &s);
    if (rc != SOCKRT_OK) {
        report_error("pool_get_stats", rc);
        return -1;
    }
    printf("STATS created=%llu reused=%llu closed_stale=%llu closed_expired=%llu "
           "closed_broken=%llu waits=%llu timeouts=%llu idle=%llu in_use=%llu\n",
           (unsigned long long)s.created, (unsigned long long)s.reused,
           (unsigned long long)s.closed_stale, (unsigned long long)s.closed_expired,
           (unsigned long long)s.closed_broken, (unsigned long long)s.waits,
           (unsigned long long)s.timeouts, (unsigned long long)s.idle,
           (unsigned long long)s.in_use);
    return 0;
}

/* Starts the workers, splitting the messages among them, and joins them. */
static int run_workers(struct worker *workers, sockrt_handle pool, long count) {
    pthread_t threads[THREADS];
    int started = 0, ok = 1;
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (struct worker){.pool = pool};
        workers[t].first = count * t / THREADS;
        workers[t].count = count * (t + 1) / THREADS - workers[t].first;
    }
    for (int t = 0; t < THREADS; t++) {
        int err = pthread_create(&threads[t], NULL, run_worker, &workers[t]);
        if (err != 0) {
            fprintf(stderr, "pool_client: pthread_create: %s\n", strerror(err));
            ok = 0;
            break;
        }
        started++;
    }
    for (int t = 0; t < started; t++) {
        pthread_join(threads[t], NULL);
        ok = ok && !workers[t].failed;
    }
    return ok;
}

int main(int argc, char **argv) {
    long port = 0, count = DEFAULT_COUNT;
    if (argc < 3 || argc > 4 || parse_number(argv[2], 1, 65535, &port) != 0 ||
        (argc == 4 && parse_number(argv[3], 1, 10000000, &count) != 0)) {
        fprintf(stderr, "usage: %s HOST PORT [COUNT]\n", argv[0]);
        return 2;
    }
    sockrt_pool_config cfg;
    sockrt_pool_config_init(&cfg);
    cfg.max_total = THREADS; /* one connection per thread at most */
    cfg.max_idle = THREADS;
    sockrt_handle pool = 0;
    int32_t rc = sockrt_pool_open(argv[1], (uint16_t)port, &cfg, &pool);
    if (rc != SOCKRT_OK) {
        report_error("pool_open", rc);
        return 1;
    }

    struct worker workers[THREADS];
    int ok = run_workers(workers, pool, count);
    long messages = 0;
    unsigned long long verified = 0;
    double total_rtt_us = 0;
    for (int t = 0; t < THREADS; t++) {
        messages += workers[t].messages;
        verified += workers[t].verified;
        total_rtt_us += workers[t].total_rtt_us;
    }
    if (print_stats(pool) != 0) {
        ok = 0;
    }
    rc = sockrt_pool_close(pool);
    if (rc != SOCKRT_OK) {
        report_error("pool_close", rc);
        ok = 0;
    }
    printf("RESULT messages=%ld bytes=%llu mean_rtt_us=%.1f\n", messages, verified,
           messages > 0 ? total_rtt_us / (double)messages : 0.0);
    return ok && messages == count ? 0 : 1;
}
