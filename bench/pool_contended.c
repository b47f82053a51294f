/*
 * Many threads through one small pool: --threads threads (64 in the
 * matrix) share a pool of --conns connections (8) to the echo server; each
 * thread makes --count requests (acquire, one 64-byte round trip, release).
 * Reports requests per second over the whole run, and failed requests.
 *
 *   pool_contended sockrt  pool64x8 [options]   the libsockrt pool (check off,
 *                                               as a pool under load runs it)
 *   pool_contended trivial pool64x8 [options]   the peer: a mutex + condition
 *                                               variable pool over raw descriptors
 *
 * Both make the same system calls per request (send, recv) and no others.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockrt.h"
#include "bench_common.h"

#define MAX_THREADS 256
#define MAX_CONNS 64

static int use_sockrt;
static int n_conns = 8;

/* ---- the trivial pool: a stack of descriptors under one mutex ------------ */

struct trivial_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    int fds[MAX_CONNS];
    int n_free;
};

static struct trivial_pool trivial = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                                      {0}, 0};

static int trivial_acquire(void) {
    pthread_mutex_lock(&trivial.lock);
    while (trivial.n_free == 0)
        pthread_cond_wait(&trivial.freed, &trivial.lock);
    int fd = trivial.fds[--trivial.n_free];
    pthread_mutex_unlock(&trivial.lock);
    return fd;
}

static void trivial_release(int fd) {
    pthread_mutex_lock(&trivial.lock);
    trivial.fds[trivial.n_free++] = fd;
    pthread_cond_signal(&trivial.freed);
    pthread_mutex_unlock(&trivial.lock);
}

static int raw_round_trip(int fd, char *msg) {
    size_t done = 0;
    while (done < BENCH_MSG) {
        ssize_t w = send(fd, msg + done, BENCH_MSG - done, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        done += (size_t)w;
    }
    for (done = 0; done < BENCH_MSG;) {
        ssize_t r = recv(fd, msg + done, BENCH_MSG - done, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

static void trivial_open(const struct bench_opts *o) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->echo_port)};
    if (inet_pton(AF_INET, o->host, &a.sin_addr) != 1)
        bench_die("bad host");
    for (int i = 0; i < n_conns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
            bench_die("connect");
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        trivial.fds[trivial.n_free++] = fd;
    }
}

/* ---- the workload ------------------------------------------------------------ */

struct worker {
    sockrt_handle pool;
    long requests;
    long failed;
    pthread_barrier_t *start;
};

static long sockrt_request(sockrt_handle pool, char *msg) {
    sockrt_handle c;
    if (sockrt_pool_acquire(pool, &c) != SOCKRT_OK)
        return 1;
    if (sockrt_send_all(c, msg, BENCH_MSG) != SOCKRT_OK ||
        sockrt_recv_exact(c, msg, BENCH_MSG) != SOCKRT_OK) {
        sockrt_pool_discard(pool, c);
        return 1;
    }
    return sockrt_pool_release(pool, c) != SOCKRT_OK;
}

static long trivial_request(char *msg) {
    int fd = trivial_acquire();
    long failed = raw_round_trip(fd, msg) != 0;
    trivial_release(fd);
    return failed;
}

static void *work(void *arg) {
    struct worker *w = arg;
    char msg[BENCH_MSG] = {7};
    pthread_barrier_wait(w->start);
    for (long i = 0; i < w->requests; i++)
        w->failed += use_sockrt ? sockrt_request(w->pool, msg) : trivial_request(msg);
    return NULL;
}

int main(int argc, char **argv) {
    struct bench_opts o;
    if (argc < 2 || (strcmp(argv[1], "sockrt") && strcmp(argv[1], "trivial"))) {
        fprintf(stderr, "usage: %s sockrt|trivial pool64x8 [bench options] [--conns N]\n",
                argv[0]);
        return 2;
    }
    use_sockrt = !strcmp(argv[1], "sockrt");
    argv[1] = argv[0]; /* the rest parses as usual */
    argv++;
    argc--;
    for (int i = 2; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "--conns")) {
            n_conns = atoi(argv[i + 1]);
            for (int j = i; j + 2 < argc; j++)
                argv[j] = argv[j + 2];
            argc -= 2;
            break;
        }
    }
    bench_parse(argc, argv, &o);
    int threads = o.threads > 1 ? o.threads : 64;
    long per_thread = bench_default(o.count, 200000) / threads;
    if (threads > MAX_THREADS || n_conns < 1 || n_conns > MAX_CONNS || per_thread < 1)
        bench_usage(argv[0]);

    sockrt_handle pool = 0;
    if (use_sockrt) {
        sockrt_pool_config cfg;
        sockrt_pool_config_init(&cfg);
        cfg.max_total = (uint32_t)n_conns;
        cfg.max_idle = (uint32_t)n_conns;
        cfg.check_on_acquire = 0;
        cfg.acquire_timeout_ms = -1;
        if (sockrt_pool_open(o.host, (uint16_t)o.echo_port, &cfg, &pool) != SOCKRT_OK)
            bench_die("pool_open");
        /* Connect all of them before the clock starts, as the trivial pool does. */
        sockrt_handle c[MAX_CONNS];
        for (int i = 0; i < n_conns; i++)
            if (sockrt_pool_acquire(pool, &c[i]) != SOCKRT_OK)
                bench_die("pool_acquire");
        for (int i = 0; i < n_conns; i++)
            sockrt_pool_release(pool, c[i]);
    } else {
        trivial_open(&o);
    }

    static struct worker w[MAX_THREADS];
    pthread_t t[MAX_THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++) {
        w[i] = (struct worker){pool, per_thread, 0, &start};
        if (pthread_create(&t[i], NULL, work, &w[i]) != 0)
            bench_die("pthread_create");
    }
    double cpu0 = bench_cpu_us();
    pthread_barrier_wait(&start);
    uint64_t t0 = bench_now_ns();
    long failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        failed += w[i].failed;
    }
    uint64_t ns = bench_now_ns() - t0;
    long total = per_thread * threads;
    char extra[128];
    snprintf(extra, sizeof extra, ",\"threads\":%d,\"conns\":%d,\"failed\":%ld", threads, n_conns,
             failed);
    bench_report_per_op(use_sockrt ? "c-sockrt-pool" : "c-trivial-pool", o.workload, "req/s",
                        (double)total / ((double)ns / 1e9), total, bench_cpu_us() - cpu0, extra);
    pthread_barrier_destroy(&start);
    if (use_sockrt)
        sockrt_pool_close(pool);
    return failed ? 1 : 0;
}
