/*
 * The connection pool against a real echo server on loopback: reuse, the
 * liveness check (closed and out-of-step idle connections are never handed
 * out), max_total with many threads, acquire timeouts, idle expiry, closing
 * the pool under use, the release rules, and a stress run with a server that
 * drops connections at random.
 */
#include "check.h"

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
    sleep_ms(30); /* let the FIN or bytes reach the client side */
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
    CHECK(cfg.check_on_acquire == true);
    CHECK(cfg.nodelay == true);
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
    expect_all_fresh(pool, conns);
    st = stats(pool);
    print_stats("after the server closed the idle ones", &st);
    CHECK_EQ(st.closed_stale, HELD);
    CHECK_EQ(st.created, 2 * HELD);

    SAY("the server sends unsolicited bytes to idle connections: they are not handed out");
    server_command(&s->cmd_junk_all);
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

    SAY("idle_timeout_ms=100: after 300 ms idle 0 and closed_expired counted");
    cfg.idle_timeout_ms = 100;
    pool = open_pool(s, &cfg);
    conn = acquire(pool);
    expect_round_trip(conn, 1);
    CHECK_OK(sockrt_pool_release(pool, conn));
    CHECK_EQ(stats(pool).idle, 1);
    sleep_ms(300);
    st = stats(pool);
    print_stats("after 300 ms", &st);
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
};

static void *queued_main(void *arg)
{
    struct queued *q = arg;
    sockrt_handle conn = 0;
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
        t[i] = spawn(queued_main, &q[i]);
    }
    sleep_ms(100);
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
    sleep_ms(30); /* the echo arrives and is never read */
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

int main(void)
{
    struct server s;
    int fds_at_start = count_fds();
    uint64_t handles_at_start = sockrt_open_handles();

    TEST_BEGIN("test_pool");
    check_config_defaults();
    server_start(&s, 0);
    check_reuse(&s);
    check_stale_closed(&s);
    check_max_total(&s);
    check_acquire_timeout(&s);
    check_idle_expiry(&s);
    check_close_under_use(&s);
    check_release_rules(&s);
    check_close_frees_slot(&s);
    server_stop(&s);
    check_refused();
    check_stress();

    SAY("descriptors and handles back to their starting values");
    CHECK_EQ(count_fds(), fds_at_start);
    CHECK_EQ(sockrt_open_handles(), handles_at_start);
    TEST_END("test_pool");
    return 0;
}
