/*
 * Threads: sockrt_close from one thread wakes calls blocked on the handle in
 * other threads (recv, accept, send) with SOCKRT_E_CLOSED, and concurrent
 * sockrt_send_all / sockrt_recv_exact calls on one handle never interleave.
 */
#include "check.h"

#define IO_TIMEOUT_MS 10000
#define WAKE_TARGET_MS 10.0  /* the design goal: reported */
#define WAKE_LIMIT_MS 200.0  /* loose bound for loaded machines: asserted */
#define WAKE_ROUNDS 5
#define BLOCK_SIZE (64 * 1024)
#define WRITERS 4
#define BLOCKS_PER_WRITER 16

/* ---- close wakes blocked calls ---------------------------------------- */

enum blocked_call { CALL_RECV, CALL_ACCEPT, CALL_SEND };

struct blocked {
    enum blocked_call call;
    sockrt_handle h;
    int64_t rc;
    double returned_at;
    int done; /* set atomically once the call returned */
    char message[256];
};

static void *blocked_main(void *arg)
{
    struct blocked *b = arg;
    switch (b->call) {
    case CALL_RECV: {
        char buf[64];
        b->rc = sockrt_recv(b->h, buf, sizeof buf);
        break;
    }
    case CALL_ACCEPT: {
        sockrt_handle out = 0;
        b->rc = sockrt_accept(b->h, &out);
        break;
    }
    case CALL_SEND: {
        /* Far more than loopback buffers hold while the peer never reads. */
        size_t len = 16u << 20;
        unsigned char *buf = calloc(1, len);
        CHECK(buf != NULL);
        b->rc = sockrt_send_all(b->h, buf, len);
        free(buf);
        break;
    }
    }
    b->returned_at = now_ms();
    /* The error state is per thread: read it here. */
    last_message(b->message, sizeof b->message);
    __atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/*
 * Starts `call` on `h` in a thread, lets it block, closes `h` from this
 * thread, and returns how long the blocked call took to return.
 */
static double close_wakes(enum blocked_call call, sockrt_handle h, int settle_ms)
{
    struct blocked b = { call, h, 1, 0, 0, "" };
    pthread_t t = spawn(blocked_main, &b);
    double closed_at, latency;
    sleep_ms(settle_ms);
    CHECK_MSG(!__atomic_load_n(&b.done, __ATOMIC_ACQUIRE), "the call returned before the close");
    closed_at = now_ms();
    CHECK_OK(sockrt_close(h));
    join(t);
    latency = b.returned_at - closed_at;
    CHECK_MSG(b.rc == SOCKRT_E_CLOSED, "blocked call returned %s (%" PRId64 "): %s",
              sockrt_error_name((int32_t)b.rc), b.rc, b.message);
    CHECK_MSG(b.message[0] != '\0', "no error message in the woken thread");
    return latency;
}

struct latency_stats {
    double min, max, sum;
    int n;
};

static void record(struct latency_stats *s, double ms)
{
    if (s->n == 0 || ms < s->min)
        s->min = ms;
    if (s->n == 0 || ms > s->max)
        s->max = ms;
    s->sum += ms;
    s->n++;
}

static void report(const char *what, const struct latency_stats *s)
{
    printf("    %s wake latency over %d rounds: min %.3f ms, mean %.3f ms, max %.3f ms "
           "(target %.0f ms: %s; limit %.0f ms)\n",
           what, s->n, s->min, s->sum / s->n, s->max, WAKE_TARGET_MS,
           s->max <= WAKE_TARGET_MS ? "met" : "MISSED", WAKE_LIMIT_MS);
    CHECK_MSG(s->max <= WAKE_LIMIT_MS, "%s woke %.1f ms after the close", what, s->max);
}

static void check_close_wakes_recv(void)
{
    struct latency_stats s = { 0, 0, 0, 0 };
    SAY("close from another thread wakes a thread blocked in sockrt_recv");
    for (int i = 0; i < WAKE_ROUNDS; i++) {
        struct pair p;
        pair_open(&p, PAIR_TIMEOUT_MS);
        record(&s, close_wakes(CALL_RECV, p.client, 50));
        CHECK_OK(sockrt_close(p.server));
        CHECK_OK(sockrt_close(p.listener));
    }
    report("recv", &s);
}

static void check_close_wakes_accept(void)
{
    struct latency_stats s = { 0, 0, 0, 0 };
    SAY("close from another thread wakes a thread blocked in sockrt_accept");
    for (int i = 0; i < WAKE_ROUNDS; i++) {
        uint16_t port;
        sockrt_handle l = listen_any("127.0.0.1", &port);
        CHECK_OK(sockrt_set_option(l, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
        record(&s, close_wakes(CALL_ACCEPT, l, 50));
    }
    report("accept", &s);
}

static void check_close_wakes_send(void)
{
    struct latency_stats s = { 0, 0, 0, 0 };
    SAY("close from another thread wakes a thread blocked in sockrt_send_all (peer never reads)");
    for (int i = 0; i < WAKE_ROUNDS; i++) {
        struct pair p;
        pair_open(&p, PAIR_TIMEOUT_MS);
        /* Small buffers so the window fills quickly. */
        CHECK_OK(sockrt_set_option(p.client, SOCKRT_OPT_SEND_BUFFER, 4096));
        CHECK_OK(sockrt_set_option(p.server, SOCKRT_OPT_RECV_BUFFER, 4096));
        record(&s, close_wakes(CALL_SEND, p.client, 200));
        CHECK_OK(sockrt_close(p.server));
        CHECK_OK(sockrt_close(p.listener));
    }
    report("send", &s);
}

/* ---- concurrent send_all ----------------------------------------------- */

static unsigned char patterns[WRITERS][BLOCK_SIZE];

struct writer {
    sockrt_handle h;
    int id;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < BLOCKS_PER_WRITER; i++)
        CHECK_OK(sockrt_send_all(w->h, patterns[w->id], BLOCK_SIZE));
    return NULL;
}

/* Which writer's block `buf` is, or -1 if it matches none (interleaved). */
static int which_pattern(const unsigned char *buf)
{
    for (int k = 0; k < WRITERS; k++)
        if (memcmp(buf, patterns[k], BLOCK_SIZE) == 0)
            return k;
    return -1;
}

static void check_send_all_never_interleaves(void)
{
    struct pair p;
    struct writer w[WRITERS];
    pthread_t t[WRITERS];
    int seen[WRITERS] = { 0 };
    unsigned char *buf = malloc(BLOCK_SIZE);

    SAY("%d threads x %d send_all of distinct 64 KiB blocks on one handle: no interleaving",
        WRITERS, BLOCKS_PER_WRITER);
    CHECK(buf != NULL);
    pair_open(&p, PAIR_TIMEOUT_MS);
    /* Small send buffer: every send_all takes many partial sends, giving
       unsynchronized writers every chance to interleave. */
    CHECK_OK(sockrt_set_option(p.client, SOCKRT_OPT_SEND_BUFFER, 8192));
    for (int k = 0; k < WRITERS; k++) {
        w[k].h = p.client;
        w[k].id = k;
        t[k] = spawn(writer_main, &w[k]);
    }
    for (int i = 0; i < WRITERS * BLOCKS_PER_WRITER; i++) {
        int k;
        CHECK_OK(sockrt_recv_exact(p.server, buf, BLOCK_SIZE));
        k = which_pattern(buf);
        CHECK_MSG(k >= 0, "block %d received is not any writer's block: bytes interleaved", i);
        seen[k]++;
    }
    for (int k = 0; k < WRITERS; k++) {
        join(t[k]);
        CHECK_EQ(seen[k], BLOCKS_PER_WRITER);
    }
    free(buf);
    CHECK_OK(sockrt_close(p.client));
    CHECK_OK(sockrt_close(p.server));
    CHECK_OK(sockrt_close(p.listener));
}

/* ---- concurrent recv_exact --------------------------------------------- */

struct reader {
    sockrt_handle h;
    int blocks;
    int seen[WRITERS];
    int bad;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    unsigned char *buf = malloc(BLOCK_SIZE);
    CHECK(buf != NULL);
    for (int i = 0; i < r->blocks; i++) {
        int k;
        CHECK_OK(sockrt_recv_exact(r->h, buf, BLOCK_SIZE));
        k = which_pattern(buf);
        if (k < 0)
            r->bad++;
        else
            r->seen[k]++;
    }
    free(buf);
    return NULL;
}

static void check_recv_exact_never_interleaves(void)
{
    struct pair p;
    struct reader r[WRITERS];
    pthread_t t[WRITERS];
    int total[WRITERS] = { 0 };

    SAY("%d threads recv_exact 64 KiB blocks on one handle: each gets whole blocks", WRITERS);
    pair_open(&p, PAIR_TIMEOUT_MS);
    for (int k = 0; k < WRITERS; k++) {
        memset(&r[k], 0, sizeof r[k]);
        r[k].h = p.server;
        r[k].blocks = BLOCKS_PER_WRITER;
        t[k] = spawn(reader_main, &r[k]);
    }
    for (int i = 0; i < WRITERS * BLOCKS_PER_WRITER; i++)
        CHECK_OK(sockrt_send_all(p.client, patterns[i % WRITERS], BLOCK_SIZE));
    for (int k = 0; k < WRITERS; k++) {
        join(t[k]);
        CHECK_MSG(r[k].bad == 0, "reader %d got %d mixed blocks", k, r[k].bad);
        for (int j = 0; j < WRITERS; j++)
            total[j] += r[k].seen[j];
    }
    for (int j = 0; j < WRITERS; j++)
        CHECK_EQ(total[j], BLOCKS_PER_WRITER);
    CHECK_OK(sockrt_close(p.client));
    CHECK_OK(sockrt_close(p.server));
    CHECK_OK(sockrt_close(p.listener));
}

int main(void)
{
    uint64_t handles_at_start = sockrt_open_handles();

    TEST_BEGIN("test_threads");
    for (int k = 0; k < WRITERS; k++)
        fill_pattern(patterns[k], BLOCK_SIZE, (uint32_t)(k + 1) * 977u);
    check_close_wakes_recv();
    check_close_wakes_accept();
    check_close_wakes_send();
    check_send_all_never_interleaves();
    check_recv_exact_never_interleaves();

    SAY("sockrt_open_handles() back to its starting value (%" PRIu64 ")", handles_at_start);
    CHECK_EQ(sockrt_open_handles(), handles_at_start);
    TEST_END("test_threads");
    return 0;
}
