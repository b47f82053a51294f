/*
 * The connection pool against a real echo server on loopback: reuse, the
 * liveness check (closed and out-of-step idle connections are never handed
 * out), max_total with many threads, acquire timeouts, idle expiry, closing
 * the pool under use, the release rules, and a stress run with a server that
 * drops connections at random. Then the hand-off to exactly one waiter,
 * close of an acquire that is still connecting, the config's flag bytes,
 * sockrt_pool_acquire_ex, and leases inherited across fork().
 */
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define IO_TIMEOUT_MS 10000
#define MAX_CONNS 128
#define SERVER_POLL_MS 20
#define SERVER_MAX_LIFE_MS 110000 /* a server never outlives the test */

/* ---- echo server --------------------------------------------------------- */

/*
 * One thread serves every connection with sockrt_poll. The test drives it
 * through flags: close every connection, send stray bytes to every
 * connection, stop. Each command is acknowledged once done.
 */
struct server {
    sockrt_handle listener;
    uint16_t port;
    int close_per_mille;    /* chance to close a connection after answering */
    int cmd_close_all;      /* set by the test, cleared by the server when done */
    int cmd_junk_all;       /* same */
    int stop;
    pthread_t thread;
    /* Owned by the server thread. */
    sockrt_handle conns[MAX_CONNS];
    int n_conns;
    unsigned seed;
    uint64_t answered, dropped;
};

static int flag_get(int *f) { return __atomic_load_n(f, __ATOMIC_ACQUIRE); }
static void flag_set(int *f, int v) { __atomic_store_n(f, v, __ATOMIC_RELEASE); }

static void server_drop(struct server *s, int i)
{
    CHECK_OK(sockrt_close(s->conns[i]));
    s->conns[i] = s->conns[--s->n_conns];
}

static void server_accept(struct server *s)
{
    sockrt_handle c = 0;
    int32_t rc = sockrt_accept(s->listener, &c);
    if (rc == SOCKRT_E_TIMEOUT)
        return; /* another wake-up took it */
    CHECK_OK(rc);
    CHECK_MSG(s->n_conns < MAX_CONNS, "server: more than %d connections", MAX_CONNS);
    /* Reads never wait (poll said readable); replies are small. */
    CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_READ_TIMEOUT_MS, 0));
    CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_WRITE_TIMEOUT_MS, IO_TIMEOUT_MS));
    s->conns[s->n_conns++] = c;
}

/* Echoes what conns[i] has; returns 0 if the connection was dropped. */
static int server_serve(struct server *s, int i)
{
    unsigned char buf[4096];
    int64_t n = sockrt_recv(s->conns[i], buf, sizeof buf);
    if (n == SOCKRT_E_TIMEOUT)
        return 1;
    if (n <= 0 || sockrt_send_all(s->conns[i], buf, (size_t)n) != SOCKRT_OK) {
        server_drop(s, i);
        return 0;
    }
    s->answered++;
    if (s->close_per_mille > 0 && (int)(rand_r(&s->seed) % 1000) < s->close_per_mille) {
        s->dropped++;
        server_drop(s, i);
        return 0;
    }
    return 1;
}

static void server_commands(struct server *s)
{
    if (flag_get(&s->cmd_close_all)) {
        while (s->n_conns > 0)
            server_drop(s, s->n_conns - 1);
        flag_set(&s->cmd_close_all, 0);
    }
    if (flag_get(&s->cmd_junk_all)) {
        for (int i = 0; i < s->n_conns; i++)
            CHECK_OK(sockrt_send_all(s->conns[i], "junk", 4));
        flag_set(&s->cmd_junk_all, 0);
    }
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    sockrt_handle hs[MAX_CONNS + 1];
    uint32_t ev[MAX_CONNS + 1];
    double started = now_ms();

    while (!flag_get(&s->stop) && now_ms() - started < SERVER_MAX_LIFE_MS) {
        int n;
        int32_t ready;
        server_commands(s);
        n = s->n_conns + 1;
        hs[0] = s->listener;
        ev[0] = SOCKRT_POLL_IN;
        for (int i = 0; i < s->n_conns; i++) {
            hs[i + 1] = s->conns[i];
            ev[i + 1] = SOCKRT_POLL_IN;
        }
        ready = sockrt_poll(hs, ev, (size_t)n, SERVER_POLL_MS);
        CHECK_OK(ready);
        /* Walk backwards: dropping swaps the last connection into slot i. */
        for (int i = n - 1; i >= 1; i--)
            if (ev[i] != 0)
                server_serve(s, i - 1);
        if (ev[0] & SOCKRT_POLL_IN)
            server_accept(s);
    }
    while (s->n_conns > 0)
        server_drop(s, s->n_conns - 1);
    CHECK_OK(sockrt_close(s->listener));
    return NULL;
}

static void server_start(struct server *s, int close_per_mille)
{
    memset(s, 0, sizeof *s);
    s->close_per_mille = close_per_mille;
    s->seed = 12345;
    s->listener = listen_any("127.0.0.1", &s->port);
    CHECK_OK(sockrt_set_option(s->listener, SOCKRT_OPT_READ_TIMEOUT_MS, 0));
    s->thread = spawn(server_main, s);
}

static void server_stop(struct server *s)
{
    flag_set(&s->stop, 1);
    join(s->thread);
}

/* Sends a command and waits (bounded) until the server has carried it out. */
static void server_command(int *cmd)
{
    double t0 = now_ms();
    flag_set(cmd, 1);
    while (flag_get(cmd)) {
        CHECK_MSG(now_ms() - t0 < 5000, "server did not carry out a command");
        sleep_ms(1);
    }
}

/*
 * Open handles include the server's side of each connection, which closes
 * when the server thread sees the end of stream: wait for it (bounded).
 */
static void expect_handles_settle(uint64_t expected)
{
    double t0 = now_ms();
    while (sockrt_open_handles() != expected && now_ms() - t0 < 2000)
        sleep_ms(5);
    CHECK_EQ(sockrt_open_handles(), expected);
}

/*
 * The open-handle count once the server has finished closing the connections
 * of earlier checks: unchanged over 50 ms (bounded wait).
 */
static uint64_t settled_handles(void)
{
    double t0 = now_ms();
    uint64_t last = sockrt_open_handles();
    int steady = 0;
    while (steady < 5 && now_ms() - t0 < 2000) {
        sleep_ms(10);
        uint64_t now = sockrt_open_handles();
        steady = now == last ? steady + 1 : 0;
        last = now;
    }
    return last;
}


/* ---- real states to wait for ------------------------------------------------ */

static int gettid_now(void) { return (int)syscall(SYS_gettid); }

/* Whether thread `tid` of this process sleeps in the kernel (state S). */
static int thread_sleeping(int tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close_paren = strrchr(buf, ')');
    return close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'S';
}

/* Waits (bounded) until every thread in tids[0..n) has started and sleeps. */
static void wait_until_blocked(int *tids, int n)
{
    double t0 = now_ms();
    for (;;) {
        int asleep = 0;
        for (int i = 0; i < n; i++)
            asleep += __atomic_load_n(&tids[i], __ATOMIC_ACQUIRE) != 0 &&
                      thread_sleeping(__atomic_load_n(&tids[i], __ATOMIC_ACQUIRE));
        if (asleep == n)
            return;
        CHECK_MSG(now_ms() - t0 < 10000, "only %d of %d threads blocked", asleep, n);
        sleep_ms(1);
    }
}

/*
 * Our side of the TCP connections to 127.0.0.1:port, from /proc/net/tcp:
 * how many are in `state` (hex: "02" SYN_SENT, "08" CLOSE_WAIT, "" any) and
 * have bytes waiting to be read if `with_bytes`.
 */
static int tcp_to(uint16_t port, const char *state, int with_bytes)
{
    char line[512], remote[32], want[32];
    unsigned st = 0, txq = 0, rxq = 0;
    int n = 0;
    FILE *f = fopen("/proc/net/tcp", "r");
    CHECK(f != NULL);
    snprintf(want, sizeof want, "0100007F:%04X", port);
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, " %*d: %*s %31s %x %x:%x", remote, &st, &txq, &rxq) != 4)
            continue;
        if (strcmp(remote, want) != 0)
            continue;
        if (state[0] != '\0' && st != (unsigned)strtoul(state, NULL, 16))
            continue;
        if (with_bytes && rxq == 0)
            continue;
        n++;
    }
    fclose(f);
    return n;
}

/* Waits (bounded) until tcp_to(port, state, with_bytes) == expected. */
static void wait_tcp(uint16_t port, const char *state, int with_bytes, int expected)
{
    double t0 = now_ms();
    while (tcp_to(port, state, with_bytes) != expected) {
        CHECK_MSG(now_ms() - t0 < 5000, "%d connections to port %u in state %s, not %d",
                  tcp_to(port, state, with_bytes), port, state, expected);
        sleep_ms(1);
    }
}

/* Waits (bounded) until a handle is readable. */
static void wait_readable(sockrt_handle h)
{
    uint32_t ev = SOCKRT_POLL_IN;
    CHECK_EQ(sockrt_poll(&h, &ev, 1, 5000), 1);
}

/* This thread's voluntary context switches so far (times it slept). */
static long voluntary_switches(void)
{
    char line[256];
    long n = -1;
    FILE *f = fopen("/proc/thread-self/status", "r");
    CHECK(f != NULL);
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
            break;
    fclose(f);
    CHECK(n >= 0);
    return n;
}

/* ---- client helpers ------------------------------------------------------- */

/* One request and its echo; 0 on success, else the failing code. */
static int64_t round_trip(sockrt_handle conn, uint64_t seq)
{
    uint64_t back = ~seq;
    int64_t rc = sockrt_send_all(conn, &seq, sizeof seq);
    if (rc == SOCKRT_OK)
        rc = sockrt_recv_exact(conn, &back, sizeof back);
    if (rc == SOCKRT_OK && back != seq)
        return 1; /* out of step: the worst failure a pool can cause */
    return rc;
}

static sockrt_handle acquire(sockrt_handle pool)
{
    sockrt_handle conn = 0;
    CHECK_OK(sockrt_pool_acquire(pool, &conn));
    CHECK(conn != 0);
    CHECK_OK(sockrt_set_option(conn, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    return conn;
}

static void expect_round_trip(sockrt_handle conn, uint64_t seq)
{
    int64_t rc = round_trip(conn, seq);
    CHECK_MSG(rc == 0, "round trip on a pooled connection: %s",
              rc == 1 ? "reply out of step" : sockrt_error_name((int32_t)rc));
}

static sockrt_pool_stats stats(sockrt_handle pool)
{
    sockrt_pool_stats st;
    memset(&st, 0xff, sizeof st);
    CHECK_OK(sockrt_pool_get_stats(pool, &st));
    return st;
}

static void print_stats(const char *what, const sockrt_pool_stats *st)
{
    printf("    %s: idle %" PRIu64 " in_use %" PRIu64 " created %" PRIu64 " reused %" PRIu64
           " closed_stale %" PRIu64 " closed_expired %" PRIu64 " closed_broken %" PRIu64
           " waits %" PRIu64 " timeouts %" PRIu64 "\n",
           what, st->idle, st->in_use, st->created, st->reused, st->closed_stale,
           st->closed_expired, st->closed_broken, st->waits, st->timeouts);
}

static sockrt_pool_config config(void)
{
    sockrt_pool_config cfg;
    sockrt_pool_config_init(&cfg);
    cfg.acquire_timeout_ms = IO_TIMEOUT_MS;
    return cfg;
}

static sockrt_handle open_pool(const struct server *s, const sockrt_pool_config *cfg)
{
    sockrt_handle pool = 0;
    CHECK_OK(sockrt_pool_open("127.0.0.1", s->port, cfg, &pool));
    CHECK(pool != 0);
    return pool;
}

/* ---- defaults --------------------------------------------------------------- */

static void check_config_defaults(void)
{
    sockrt_pool_config cfg;
    SAY("sockrt_pool_config_init fills the documented defaults");
    memset(&cfg, 0xa5, sizeof cfg);
    sockrt_pool_config_init(&cfg);
    CHECK_EQ(cfg.max_idle, 8);
    CHECK_EQ(cfg.max_total, 32);
    CHECK_EQ(cfg.connect_timeout_ms, 5000);
    CHECK_EQ(cfg.acquire_timeout_ms, 5000);
    CHECK_EQ(cfg.idle_timeout_ms, 60000);
    CHECK(cfg.max_lifetime_ms < 0);
    CHECK_EQ(cfg.check_on_acquire, 1);
    CHECK_EQ(cfg.nodelay, 1);
}

/* ---- reuse ------------------------------------------------------------------- */

static void check_reuse(struct server *s)
{
    sockrt_handle pool = open_pool(s, NULL); /* NULL: the defaults */
    sockrt_pool_stats st;
    int64_t nodelay = -1;

    SAY("1000 sequential acquire/round trip/release reuse one connection");
    st = stats(pool);
    CHECK_EQ(st.created, 0); /* connects lazily */
    for (int i = 0; i < 1000; i++) {
        sockrt_handle conn = acquire(pool);
        CHECK_EQ(sockrt_pool_was_reused(conn), i == 0 ? 0 : 1);
        if (i == 0) {
            CHECK_OK(sockrt_get_option(conn, SOCKRT_OPT_NODELAY, &nodelay));
            CHECK_EQ(nodelay, 1); /* nodelay defaults to on */
        }
        expect_round_trip(conn, (uint64_t)i);
        CHECK_OK(sockrt_pool_release(pool, conn));
    }
    st = stats(pool);
    print_stats("after 1000 cycles", &st);
    CHECK_EQ(st.created, 1);
    CHECK_EQ(st.reused, 999);
    CHECK_EQ(st.idle, 1);
    CHECK_EQ(st.in_use, 0);

    SAY("sockrt_pool_was_reused on a socket that is not pooled: 0");
    {
        sockrt_handle plain = 0;
        CHECK_OK(sockrt_tcp_connect("127.0.0.1", s->port, IO_TIMEOUT_MS, &plain));
        CHECK_EQ(sockrt_pool_was_reused(plain), 0);
        CHECK_OK(sockrt_close(plain));
    }
    CHECK_OK(sockrt_pool_close(pool));
}

/* ---- liveness check ------------------------------------------------------------ */

#define HELD 3

/* Puts HELD connections in the pool's idle list. */
static void fill_idle(sockrt_handle pool, sockrt_handle conns[HELD])
{
    for (int i = 0; i < HELD; i++) {
        conns[i] = acquire(pool);
        expect_round_trip(conns[i], (uint64_t)i);
    }
    for (int i = 0; i < HELD; i++)
        CHECK_OK(sockrt_pool_release(pool, conns[i]));
}

static void expect_all_fresh(sockrt_handle pool, sockrt_handle conns[HELD])
{
    for (int i = 0; i < HELD; i++) {
        conns[i] = acquire(pool);
        expect_round_trip(conns[i], 100u + (uint64_t)i);
    }
    for (int i = 0; i < HELD; i++)
        CHECK_OK(sockrt_pool_release(pool, conns[i]));
}

static void check_stale_closed(struct server *s)
{
    sockrt_pool_config cfg = config();
    sockrt_handle pool = open_pool(s, &cfg), conns[HELD];
    sockrt_pool_stats st;

    SAY("the server closes every idle connection: acquire never returns a dead one");
    fill_idle(pool, conns);
    CHECK_EQ(stats(pool).idle, HELD);
    server_command(&s->cmd_close_all);
    wait_tcp(s->port, "08", 0, HELD); /* each FIN arrived: CLOSE_WAIT on our side */
    expect_all_fresh(pool, conns);
    st = stats(pool);
    print_stats("after the server closed the idle ones", &st);
    CHECK_EQ(st.closed_stale, HELD);
    CHECK_EQ(st.created, 2 * HELD);

    SAY("the server sends unsolicited bytes to idle connections: they are not handed out");
    server_command(&s->cmd_junk_all);
    wait_tcp(s->port, "01", 1, HELD); /* the stray bytes arrived */
    expect_all_fresh(pool, conns);
    st = stats(pool);
    print_stats("after stray bytes", &st);
    CHECK_EQ(st.closed_stale, 2 * HELD);
    CHECK_EQ(st.created, 3 * HELD);
    CHECK_OK(sockrt_pool_close(pool));
}

/* ---- max_total with many threads ------------------------------------------------ */

#define CROWD 8
#define CROWD_CYCLES 50

struct crowd {
    sockrt_handle pool;
    int holders, max_holders; /* concurrent leases seen */
    int served[CROWD];
    int id_next;
};

static void *crowd_main(void *arg)
{
    struct crowd *c = arg;
    int id = __atomic_fetch_add(&c->id_next, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < CROWD_CYCLES; i++) {
        sockrt_handle conn = acquire(c->pool);
        int now = __atomic_add_fetch(&c->holders, 1, __ATOMIC_ACQ_REL);
        int seen = __atomic_load_n(&c->max_holders, __ATOMIC_RELAXED);
        while (now > seen && !__atomic_compare_exchange_n(&c->max_holders, &seen, now, 0,
                                                          __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        }
        expect_round_trip(conn, (uint64_t)(id * 1000 + i));
        sleep_ms(1); /* hold the lease so others must queue */
        __atomic_sub_fetch(&c->holders, 1, __ATOMIC_ACQ_REL);
        CHECK_OK(sockrt_pool_release(c->pool, conn));
        c->served[id]++;
    }
    return NULL;
}

static void check_max_total(struct server *s)
{
    sockrt_pool_config cfg = config();
    struct crowd c;
    pthread_t t[CROWD];
    sockrt_pool_stats st;
    double t0 = now_ms();

    SAY("max_total=2 with %d threads x %d cycles: everyone served, waits counted", CROWD,
        CROWD_CYCLES);
    cfg.max_total = 2;
    memset(&c, 0, sizeof c);
    c.pool = open_pool(s, &cfg);
    for (int i = 0; i < CROWD; i++)
        t[i] = spawn(crowd_main, &c);
    for (int i = 0; i < CROWD; i++)
        join(t[i]);
    st = stats(c.pool);
    print_stats("after the crowd", &st);
    printf("    took %.0f ms, at most %d leases at once\n", now_ms() - t0, c.max_holders);
    for (int i = 0; i < CROWD; i++)
        CHECK_EQ(c.served[i], CROWD_CYCLES);
    CHECK(c.max_holders <= 2);
    CHECK(st.created <= 2);
    CHECK(st.waits > 0);
    CHECK_EQ(st.timeouts, 0);
    CHECK_EQ(st.in_use, 0);
    CHECK_OK(sockrt_pool_close(c.pool));
}

/* ---- acquire timeout ---------------------------------------------------------------- */

static void check_acquire_timeout(struct server *s)
{
    sockrt_pool_config cfg = config();
    sockrt_handle pool, held, other = 0;
    double t0, waited;

    SAY("acquire_timeout_ms=200 with the only slot leased: SOCKRT_E_POOL_EXHAUSTED");
    cfg.max_total = 1;
    cfg.acquire_timeout_ms = 200;
    pool = open_pool(s, &cfg);
    held = acquire(pool);
    t0 = now_ms();
    CHECK_ERR(sockrt_pool_acquire(pool, &other), SOCKRT_E_POOL_EXHAUSTED);
    waited = now_ms() - t0;
    printf("    gave up after %.1f ms\n", waited);
    CHECK_MSG(waited >= 150 && waited <= 2000, "waited %.1f ms", waited);
    CHECK_EQ(other, 0);
    CHECK_EQ(stats(pool).timeouts, 1);
    CHECK_OK(sockrt_pool_close(pool));

    SAY("acquire_timeout_ms=0: SOCKRT_E_POOL_EXHAUSTED at once");
    cfg.acquire_timeout_ms = 0;
    pool = open_pool(s, &cfg);
    CHECK_OK(sockrt_pool_release(pool, acquire(pool)));
    {
        sockrt_handle again = acquire(pool);
        t0 = now_ms();
        CHECK_ERR(sockrt_pool_acquire(pool, &other), SOCKRT_E_POOL_EXHAUSTED);
        CHECK_MSG(now_ms() - t0 < 1000, "waited %.1f ms", now_ms() - t0); /* loose */
        CHECK_OK(sockrt_pool_release(pool, again));
    }
    CHECK_EQ(stats(pool).timeouts, 1);
    CHECK_OK(sockrt_pool_close(pool));

    /* The first pool's leased connection outlived its pool. */
    expect_round_trip(held, 7);
    CHECK_OK(sockrt_close(held));
}

/* ---- idle expiry ------------------------------------------------------------------------ */

static void check_idle_expiry(struct server *s)
{
    sockrt_pool_config cfg = config();
    sockrt_handle pool, conn;
    sockrt_pool_stats st;

    SAY("idle_timeout_ms=100: the idle connection expires, closed_expired counted");
    cfg.idle_timeout_ms = 100;
    pool = open_pool(s, &cfg);
    conn = acquire(pool);
    expect_round_trip(conn, 1);
    CHECK_OK(sockrt_pool_release(pool, conn));
    CHECK_EQ(stats(pool).idle, 1);
    {
        double t0 = now_ms(), waited;
        while (stats(pool).idle != 0) /* bounded: expiry takes 100 ms */
            CHECK_MSG(now_ms() - t0 < 5000, "an idle connection never expired");
        waited = now_ms() - t0;
        printf("    expired after %.1f ms\n", waited);
        CHECK_MSG(waited >= 90, "expired after %.1f ms, before idle_timeout_ms", waited);
    }
    st = stats(pool);
    print_stats("after the expiry", &st);
    CHECK_EQ(st.idle, 0);
    CHECK_EQ(st.closed_expired, 1);
    conn = acquire(pool);
    CHECK_EQ(sockrt_pool_was_reused(conn), 0);
    expect_round_trip(conn, 2);
    CHECK_OK(sockrt_pool_release(pool, conn));
    CHECK_EQ(stats(pool).created, 2);
    CHECK_OK(sockrt_pool_close(pool));
}

/* ---- pool close under use ---------------------------------------------------------------- */

#define QUEUED 3

struct queued {
    sockrt_handle pool;
    int32_t rc;
    double returned_at;
    int tid;
};

static void *queued_main(void *arg)
{
    struct queued *q = arg;
    sockrt_handle conn = 0;
    __atomic_store_n(&q->tid, gettid_now(), __ATOMIC_RELEASE);
    q->rc = sockrt_pool_acquire(q->pool, &conn);
    q->returned_at = now_ms();
    if (q->rc == SOCKRT_OK)
        CHECK_OK(sockrt_close(conn));
    return NULL;
}

static void check_close_under_use(struct server *s)
{
    sockrt_pool_config cfg = config();
    sockrt_handle pool, held, spare;
    struct queued q[QUEUED];
    pthread_t t[QUEUED];
    uint64_t handles_before = settled_handles();
    double closed_at, worst = 0;

    SAY("pool_close wakes threads queued in acquire with SOCKRT_E_POOL_CLOSED");
    cfg.max_total = 2;
    cfg.acquire_timeout_ms = -1; /* queue forever: only the close can end it */
    pool = open_pool(s, &cfg);
    held = acquire(pool);
    spare = acquire(pool);
    for (int i = 0; i < QUEUED; i++) {
        q[i].pool = pool;
        q[i].rc = 1;
        q[i].tid = 0;
        t[i] = spawn(queued_main, &q[i]);
    }
    {
        /* Really queued: every wait counted, every thread asleep. */
        int tids[QUEUED];
        double t0 = now_ms();
        while (stats(pool).waits != QUEUED) {
            CHECK_MSG(now_ms() - t0 < 10000, "acquirers never queued");
            sleep_ms(1);
        }
        for (int i = 0; i < QUEUED; i++) {
            while (__atomic_load_n(&q[i].tid, __ATOMIC_ACQUIRE) == 0)
                sleep_ms(1); /* set before the acquire, which we saw counted */
            tids[i] = q[i].tid;
        }
        wait_until_blocked(tids, QUEUED);
    }
    closed_at = now_ms();
    CHECK_OK(sockrt_pool_close(pool));
    for (int i = 0; i < QUEUED; i++) {
        join(t[i]);
        CHECK_MSG(q[i].rc == SOCKRT_E_POOL_CLOSED, "queued acquire returned %s",
                  sockrt_error_name(q[i].rc));
        if (q[i].returned_at - closed_at > worst)
            worst = q[i].returned_at - closed_at;
    }
    printf("    queued acquirers woke within %.3f ms of the close\n", worst);
    CHECK(worst < 1000);

    SAY("a connection leased before the close stays usable; release then closes it");
    expect_round_trip(held, 11);
    CHECK_OK(sockrt_pool_release(pool, held));
    CHECK_ERR(sockrt_fileno(held), SOCKRT_E_BAD_HANDLE);
    expect_round_trip(spare, 12);
    CHECK_OK(sockrt_close(spare));
    CHECK_ERR(sockrt_pool_get_stats(pool, &(sockrt_pool_stats){ 0 }), SOCKRT_E_BAD_HANDLE);
    expect_handles_settle(handles_before);
}

/* ---- release rules ------------------------------------------------------------------------ */

static void check_release_rules(struct server *s)
{
    sockrt_pool_config cfg = config();
    sockrt_handle pool = open_pool(s, &cfg), other_pool = open_pool(s, &cfg);
    sockrt_handle plain = 0, conn, foreign;
    sockrt_pool_stats st;
    char buf[8];

    SAY("release of a socket that is not from this pool: SOCKRT_E_INVALID_ARGUMENT, still valid");
    CHECK_OK(sockrt_tcp_connect("127.0.0.1", s->port, IO_TIMEOUT_MS, &plain));
    CHECK_OK(sockrt_set_option(plain, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    CHECK_ERR(sockrt_pool_release(pool, plain), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_pool_discard(pool, plain), SOCKRT_E_INVALID_ARGUMENT);
    expect_round_trip(plain, 21);
    CHECK_OK(sockrt_close(plain));
    foreign = acquire(other_pool);
    CHECK_ERR(sockrt_pool_release(pool, foreign), SOCKRT_E_INVALID_ARGUMENT);
    expect_round_trip(foreign, 22);
    CHECK_OK(sockrt_pool_release(other_pool, foreign));
    CHECK_OK(sockrt_pool_close(other_pool));

    SAY("release of a released handle: SOCKRT_E_BAD_HANDLE; the next acquire gets a new handle");
    conn = acquire(pool);
    CHECK_OK(sockrt_pool_release(pool, conn));
    CHECK_ERR(sockrt_pool_release(pool, conn), SOCKRT_E_BAD_HANDLE);
    CHECK_ERR(sockrt_pool_discard(pool, conn), SOCKRT_E_BAD_HANDLE);
    CHECK_ERR(sockrt_recv(conn, buf, sizeof buf), SOCKRT_E_BAD_HANDLE);
    {
        sockrt_handle again = acquire(pool);
        CHECK(again != conn);
        CHECK_EQ(sockrt_pool_was_reused(again), 1);
        CHECK_ERR(sockrt_pool_was_reused(conn), SOCKRT_E_BAD_HANDLE);
        conn = again;
    }

    SAY("release of a connection whose recv timed out: closed (closed_broken)");
    CHECK_OK(sockrt_set_option(conn, SOCKRT_OPT_READ_TIMEOUT_MS, 20));
    CHECK_ERR(sockrt_recv(conn, buf, sizeof buf), SOCKRT_E_TIMEOUT);
    st = stats(pool);
    CHECK_OK(sockrt_pool_release(pool, conn));
    CHECK_EQ(stats(pool).closed_broken, st.closed_broken + 1);
    CHECK_EQ(stats(pool).idle, 0);

    SAY("release with unread bytes waiting: closed (closed_broken)");
    conn = acquire(pool);
    CHECK_OK(sockrt_send_all(conn, "unread!!", 8));
    wait_readable(conn); /* the echo arrived; it is never read */
    CHECK_OK(sockrt_pool_release(pool, conn));
    CHECK_EQ(stats(pool).closed_broken, st.closed_broken + 2);
    CHECK_EQ(stats(pool).idle, 0);

    SAY("release after shutdown: closed (closed_broken)");
    conn = acquire(pool);
    CHECK_OK(sockrt_shutdown(conn, SOCKRT_SHUT_WRITE));
    CHECK_OK(sockrt_pool_release(pool, conn));
    CHECK_EQ(stats(pool).closed_broken, st.closed_broken + 3);

    SAY("discard closes the connection and frees its slot");
    conn = acquire(pool);
    CHECK_OK(sockrt_pool_discard(pool, conn));
    CHECK_ERR(sockrt_fileno(conn), SOCKRT_E_BAD_HANDLE);
    st = stats(pool);
    print_stats("after the release rules", &st);
    CHECK_EQ(st.in_use, 0);
    CHECK_OK(sockrt_pool_close(pool));
}

static void check_close_frees_slot(struct server *s)
{
    sockrt_pool_config cfg = config();
    sockrt_handle pool, conn, again = 0;

    SAY("sockrt_close on a pooled connection frees its slot");
    cfg.max_total = 1;
    cfg.acquire_timeout_ms = 0;
    pool = open_pool(s, &cfg);
    conn = acquire(pool);
    CHECK_ERR(sockrt_pool_acquire(pool, &again), SOCKRT_E_POOL_EXHAUSTED);
    CHECK_OK(sockrt_close(conn));
    CHECK_EQ(stats(pool).in_use, 0);
    again = acquire(pool);
    expect_round_trip(again, 31);
    CHECK_ERR(sockrt_pool_release(pool, conn), SOCKRT_E_BAD_HANDLE);
    CHECK_OK(sockrt_pool_release(pool, again));
    CHECK_EQ(stats(pool).created, 2);
    CHECK_OK(sockrt_pool_close(pool));
}

static void check_refused(void)
{
    uint16_t port;
    sockrt_handle l = listen_any("127.0.0.1", &port), pool = 0, conn = 0;
    sockrt_pool_config cfg = config();

    SAY("acquire from a pool whose server is gone: connect error, slot not lost");
    CHECK_OK(sockrt_close(l));
    cfg.max_total = 1;
    cfg.acquire_timeout_ms = 0;
    CHECK_OK(sockrt_pool_open("127.0.0.1", port, &cfg, &pool));
    for (int i = 0; i < 3; i++)
        CHECK_ERR(sockrt_pool_acquire(pool, &conn), SOCKRT_E_CONNECTION_REFUSED);
    CHECK_EQ(stats(pool).in_use, 0);
    CHECK_EQ(conn, 0);
    CHECK_OK(sockrt_close(pool)); /* sockrt_close works on a pool too */
}

/* ---- stress -------------------------------------------------------------------------------- */

#define STRESS_THREADS 4
#define STRESS_CYCLES 10000

struct stresser {
    sockrt_handle pool;
    int id;
    int retries, failures;
    int64_t first_failure;
};

/* One request the documented way: on error, discard and retry once. */
static int stress_request(struct stresser *w, uint64_t seq)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        sockrt_handle conn = 0;
        int64_t rc = sockrt_pool_acquire(w->pool, &conn);
        if (rc == SOCKRT_OK) {
            rc = sockrt_set_option(conn, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS);
            if (rc == SOCKRT_OK)
                rc = round_trip(conn, seq);
            if (rc == SOCKRT_OK) {
                CHECK_OK(sockrt_pool_release(w->pool, conn));
                return 0;
            }
            CHECK_OK(sockrt_pool_discard(w->pool, conn));
        }
        if (attempt == 0)
            w->retries++;
        else if (w->failures++ == 0)
            w->first_failure = rc;
    }
    return -1;
}

static void *stress_main(void *arg)
{
    struct stresser *w = arg;
    for (int i = 0; i < STRESS_CYCLES; i++)
        stress_request(w, ((uint64_t)w->id << 32) | (uint64_t)i);
    return NULL;
}

static void check_stress(void)
{
    struct server s;
    struct stresser w[STRESS_THREADS];
    pthread_t t[STRESS_THREADS];
    sockrt_pool_config cfg = config();
    sockrt_pool_stats st;
    sockrt_handle pool;
    int fds_before = count_fds(), retries = 0, failures = 0;
    uint64_t handles_before = settled_handles();
    double t0, took;

    SAY("stress: %d threads x %d cycles, server closes ~1%% of connections after answering",
        STRESS_THREADS, STRESS_CYCLES);
    server_start(&s, 10);
    pool = open_pool(&s, &cfg);
    t0 = now_ms();
    for (int i = 0; i < STRESS_THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].pool = pool;
        w[i].id = i;
        t[i] = spawn(stress_main, &w[i]);
    }
    for (int i = 0; i < STRESS_THREADS; i++) {
        join(t[i]);
        retries += w[i].retries;
        failures += w[i].failures;
        if (w[i].failures)
            printf("    thread %d: %d failures, first %s\n", i, w[i].failures,
                   sockrt_error_name((int32_t)w[i].first_failure));
    }
    took = now_ms() - t0;
    st = stats(pool);
    print_stats("after the stress", &st);
    printf("    %d requests in %.0f ms (%.1f us each), server dropped %" PRIu64
           " connections, %d retries, %d failures\n",
           STRESS_THREADS * STRESS_CYCLES, took, took * 1000 / (STRESS_THREADS * STRESS_CYCLES),
           s.dropped, retries, failures);
    CHECK_EQ(failures, 0);
    CHECK(st.closed_stale + st.closed_broken > 0); /* the drops were noticed */
    CHECK_EQ(st.in_use, 0);
    CHECK_OK(sockrt_pool_close(pool));
    server_stop(&s);
    CHECK_MSG(s.dropped > 0, "the server never dropped a connection");

    SAY("no descriptor or handle leak after the stress");
    CHECK_EQ(count_fds(), fds_before);
    CHECK_EQ(sockrt_open_handles(), handles_before);
}


/* ---- config flag bytes --------------------------------------------------------------------- */

static void check_config_flags(void)
{
    sockrt_pool_config cfg;
    sockrt_handle pool = 7;
    uint64_t handles = sockrt_open_handles();

    SAY("a config flag byte other than 0 or 1: SOCKRT_E_INVALID_ARGUMENT, nothing opened");
    for (int which = 0; which < 2; which++) {
        static const uint8_t bad[] = { 2, 0xff };
        for (size_t b = 0; b < sizeof bad; b++) {
            sockrt_pool_config_init(&cfg);
            if (which == 0)
                memset(&cfg.check_on_acquire, bad[b], 1);
            else
                memset(&cfg.nodelay, bad[b], 1);
            CHECK_ERR(sockrt_pool_open("127.0.0.1", 9, &cfg, &pool), SOCKRT_E_INVALID_ARGUMENT);
            CHECK_EQ(pool, 7);
        }
    }
    CHECK_EQ(sockrt_open_handles(), handles);
    SAY("flag bytes 0 and 1 are accepted");
    sockrt_pool_config_init(&cfg);
    cfg.check_on_acquire = 0;
    cfg.nodelay = 1;
    CHECK_OK(sockrt_pool_open("127.0.0.1", 9, &cfg, &pool));
    CHECK_OK(sockrt_pool_close(pool));
}

/* ---- acquire_ex ------------------------------------------------------------------------------ */

static void check_acquire_ex(struct server *s)
{
    sockrt_pool_config cfg = config();
    sockrt_handle pool, a, b, c = 0;
    double t0;

    SAY("sockrt_pool_acquire_ex: unknown flags refused, timeout_ms replaces acquire_timeout_ms");
    cfg.max_total = 2;
    cfg.acquire_timeout_ms = -1; /* the pool would wait forever */
    pool = open_pool(s, &cfg);
    CHECK_ERR(sockrt_pool_acquire_ex(pool, 2, 0, &c), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_pool_acquire_ex(pool, 0, 0, NULL), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_EQ(c, 0);
    CHECK_OK(sockrt_pool_acquire_ex(pool, 0, 0, &a));
    CHECK_OK(sockrt_pool_acquire_ex(pool, SOCKRT_ACQUIRE_FRESH, 0, &b));
    CHECK_ERR(sockrt_pool_acquire_ex(pool, 0, 0, &c), SOCKRT_E_POOL_EXHAUSTED);
    t0 = now_ms();
    CHECK_ERR(sockrt_pool_acquire_ex(pool, SOCKRT_ACQUIRE_FRESH, 50, &c), SOCKRT_E_POOL_EXHAUSTED);
    CHECK_MSG(now_ms() - t0 >= 40, "gave up after %.1f ms of 50", now_ms() - t0);
    CHECK_EQ(stats(pool).timeouts, 2);

    SAY("SOCKRT_ACQUIRE_FRESH with every slot idle: the oldest idle one makes room");
    expect_round_trip(a, 41);
    expect_round_trip(b, 42);
    CHECK_OK(sockrt_pool_release(pool, a));
    CHECK_OK(sockrt_pool_release(pool, b));
    CHECK_OK(sockrt_pool_acquire_ex(pool, SOCKRT_ACQUIRE_FRESH, 0, &c));
    CHECK_EQ(sockrt_pool_was_reused(c), 0);
    CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    expect_round_trip(c, 43);
    {
        sockrt_pool_stats st = stats(pool);
        print_stats("after a fresh acquire", &st);
        CHECK_EQ(st.created, 3);
        CHECK_EQ(st.idle, 1);
        CHECK_EQ(st.closed_expired, 1);
    }
    CHECK_OK(sockrt_pool_release(pool, c));
    CHECK_OK(sockrt_pool_close(pool));
}

/* ---- hand-off: a release wakes one waiter ------------------------------------------------------ */

#define HANDOFF_THREADS 16
#define HANDOFF_CYCLES 100

struct handoff {
    sockrt_handle pool;
    long switches; /* voluntary context switches, summed over threads */
    int served;
};

static void *handoff_main(void *arg)
{
    struct handoff *h = arg;
    long before = voluntary_switches();
    for (int i = 0; i < HANDOFF_CYCLES; i++) {
        sockrt_handle conn = 0;
        CHECK_OK(sockrt_pool_acquire(h->pool, &conn));
        double t0 = now_ms();
        while (now_ms() - t0 < 0.05) {
            /* hold the lease 50 us, without sleeping, so the others queue */
        }
        CHECK_OK(sockrt_pool_release(h->pool, conn));
    }
    __atomic_add_fetch(&h->switches, voluntary_switches() - before, __ATOMIC_RELAXED);
    __atomic_add_fetch(&h->served, HANDOFF_CYCLES, __ATOMIC_RELAXED);
    return NULL;
}

static void check_handoff(struct server *s)
{
    sockrt_pool_config cfg = config();
    struct handoff h = { 0 };
    pthread_t t[HANDOFF_THREADS];
    sockrt_pool_stats st;
    double per_wait;

    SAY("%d threads, one connection, check off: each release wakes exactly one waiter",
        HANDOFF_THREADS);
    cfg.max_total = 1;
    cfg.check_on_acquire = 0; /* acquire and release make no system call */
    cfg.acquire_timeout_ms = -1;
    h.pool = open_pool(s, &cfg);
    for (int i = 0; i < HANDOFF_THREADS; i++)
        t[i] = spawn(handoff_main, &h);
    for (int i = 0; i < HANDOFF_THREADS; i++)
        join(t[i]);
    st = stats(h.pool);
    print_stats("after the hand-off run", &st);
    per_wait = st.waits ? (double)h.switches / (double)st.waits : 0;
    printf("    %ld voluntary context switches for %" PRIu64 " waits (%.2f per wait)\n",
           h.switches, st.waits, per_wait);
    CHECK_EQ(h.served, HANDOFF_THREADS * HANDOFF_CYCLES);
    CHECK_EQ(st.created, 1);
    CHECK_EQ(st.in_use, 0);
    CHECK_MSG(st.waits >= HANDOFF_CYCLES, "only %" PRIu64 " waits: no contention", st.waits);
    /* One sleep per wait, plus the odd one on the pool's lock; waking every
       waiter at each release costs about one per queued thread instead. */
    CHECK_MSG(per_wait < 3.0, "%.2f sleeps per wait: releases wake more than one waiter",
              per_wait);
    CHECK_OK(sockrt_pool_close(h.pool));
}

/* ---- close wakes an acquire that is connecting ----------------------------------------------- */

#define CONNECTING 2

struct connecting {
    sockrt_handle pool;
    int32_t rc;
    double returned_at;
    int tid, done;
};

static void *connecting_main(void *arg)
{
    struct connecting *c = arg;
    sockrt_handle conn = 0;
    __atomic_store_n(&c->tid, gettid_now(), __ATOMIC_RELEASE);
    c->rc = sockrt_pool_acquire(c->pool, &conn);
    c->returned_at = now_ms();
    __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    if (c->rc == SOCKRT_OK)
        CHECK_OK(sockrt_close(conn));
    return NULL;
}

static void check_close_wakes_connecting(void)
{
    sockrt_handle listener = 0, pool = 0;
    sockrt_pool_config cfg = config();
    struct connecting c[CONNECTING];
    pthread_t t[CONNECTING];
    int fillers[16], n_fillers = 0, tids[CONNECTING];
    uint16_t port = 0;
    int fds_before = count_fds();
    double closed_at, worst = 0;

    SAY("pool_close wakes acquires stuck connecting (accept queue full) and closes their sockets");
    CHECK_OK(sockrt_tcp_listen("127.0.0.1", 0, 1, &listener));
    CHECK_OK(sockrt_local_addr(listener, NULL, 0, &port));
    /* Fill the accept queue: once full, the kernel drops new SYNs. */
    for (;;) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK(n_fillers < 16);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        CHECK(fd >= 0);
        fillers[n_fillers++] = fd;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            continue;
        CHECK_MSG(errno == EINPROGRESS, "connect: %s", strerror(errno));
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        if (poll(&p, 1, 300) == 0)
            break; /* this one hangs: the queue is full */
    }
    printf("    accept queue full after %d connections\n", n_fillers - 1);
    cfg.connect_timeout_ms = -1; /* only the close can end these connects */
    cfg.acquire_timeout_ms = -1;
    cfg.max_total = CONNECTING;
    CHECK_OK(sockrt_pool_open("127.0.0.1", port, &cfg, &pool));
    for (int i = 0; i < CONNECTING; i++) {
        c[i] = (struct connecting){ pool, 1, 0, 0, 0 };
        t[i] = spawn(connecting_main, &c[i]);
    }
    /* Both connects under way (the filler's SYN_SENT too), threads asleep. */
    wait_tcp(port, "02", 0, CONNECTING + 1);
    for (int i = 0; i < CONNECTING; i++) {
        while (__atomic_load_n(&c[i].tid, __ATOMIC_ACQUIRE) == 0)
            sleep_ms(1); /* set before the connect we saw under way */
        tids[i] = c[i].tid;
    }
    wait_until_blocked(tids, CONNECTING);
    closed_at = now_ms();
    CHECK_OK(sockrt_pool_close(pool));
    for (int i = 0; i < CONNECTING; i++) {
        /* Bounded: before the fix these never returned. */
        while (!__atomic_load_n(&c[i].done, __ATOMIC_ACQUIRE))
            CHECK_MSG(now_ms() - closed_at < 3000, "a connecting acquire was not woken");
        join(t[i]);
        CHECK_MSG(c[i].rc == SOCKRT_E_POOL_CLOSED, "connecting acquire returned %s",
                  sockrt_error_name(c[i].rc));
        if (c[i].returned_at - closed_at > worst)
            worst = c[i].returned_at - closed_at;
    }
    printf("    connecting acquirers woke within %.3f ms of the close\n", worst);
    CHECK(worst < 1000);
    /* The half-made connections are gone: only the filler still connects. */
    wait_tcp(port, "02", 0, 1);
    for (int i = 0; i < n_fillers; i++)
        close(fillers[i]);
    CHECK_OK(sockrt_close(listener));
    CHECK_EQ(count_fds(), fds_before);
}

/* ---- fork ---------------------------------------------------------------------------------- */

static void check_fork_accounting(void)
{
    sockrt_handle listener = 0, pool = 0, c1, c2, x1, x2, extra = 0;
    uint16_t port = 0;
    sockrt_pool_config cfg = config();
    pid_t child;
    int status = 0;

    SAY("leases inherited by a forked child: discard/close there never frees child slots");
    /* The kernel completes connections into the backlog; nothing serves them. */
    CHECK_OK(sockrt_tcp_listen("127.0.0.1", 0, 16, &listener));
    CHECK_OK(sockrt_local_addr(listener, NULL, 0, &port));
    cfg.max_total = 2;
    cfg.acquire_timeout_ms = 0;
    CHECK_OK(sockrt_pool_open("127.0.0.1", port, &cfg, &pool));
    CHECK_OK(sockrt_pool_acquire(pool, &c1));
    CHECK_OK(sockrt_pool_acquire(pool, &c2));
    fflush(stdout);
    child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        /* The child: its pool starts empty, so two connections of its own. */
        int ok = sockrt_pool_acquire(pool, &x1) == SOCKRT_OK &&
                 sockrt_pool_acquire(pool, &x2) == SOCKRT_OK;
        ok = ok && sockrt_pool_acquire(pool, &extra) == SOCKRT_E_POOL_EXHAUSTED;
        /* Ending the parent's leases must not free any of the child's slots. */
        ok = ok && sockrt_pool_discard(pool, c1) == SOCKRT_OK;
        ok = ok && sockrt_close(c2) == SOCKRT_OK;
        int32_t third = sockrt_pool_acquire(pool, &extra);
        sockrt_pool_stats st;
        ok = ok && sockrt_pool_get_stats(pool, &st) == SOCKRT_OK;
        if (third != SOCKRT_E_POOL_EXHAUSTED || st.in_use != 2) {
            fprintf(stderr, "    child: third acquire %s, in_use %" PRIu64 " (max_total 2)\n",
                    sockrt_error_name(third), st.in_use);
            ok = 0;
        }
        _exit(ok ? 0 : 1);
    }
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the child's pool let it exceed max_total (status %d)", status);
    /* The parent's side is untouched. */
    CHECK_EQ(stats(pool).in_use, 2);
    CHECK(sockrt_fileno(c1) >= 0);
    CHECK_OK(sockrt_pool_release(pool, c1));
    CHECK_OK(sockrt_pool_release(pool, c2));
    CHECK_OK(sockrt_pool_close(pool));
    CHECK_OK(sockrt_close(listener));
}

int main(void)
{
    struct server s;
    int fds_at_start = count_fds();
    uint64_t handles_at_start = sockrt_open_handles();

    TEST_BEGIN("test_pool");
    check_config_defaults();
    check_config_flags();
    server_start(&s, 0);
    check_reuse(&s);
    check_stale_closed(&s);
    check_max_total(&s);
    check_acquire_timeout(&s);
    check_idle_expiry(&s);
    check_close_under_use(&s);
    check_release_rules(&s);
    check_close_frees_slot(&s);
    check_acquire_ex(&s);
    check_handoff(&s);
    server_stop(&s);
    check_refused();
    check_close_wakes_connecting();
    check_fork_accounting();
    check_stress();

    SAY("descriptors and handles back to their starting values");
    CHECK_EQ(count_fds(), fds_at_start);
    CHECK_EQ(sockrt_open_handles(), handles_at_start);
    TEST_END("test_pool");
    return 0;
}
