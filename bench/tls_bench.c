/*
 * TLS benchmarks, each a ratio of two runs made here, in one process, over
 * loopback (the server side is a thread of this program):
 *   bulk     TLS vs plain TCP throughput, 64 KiB send_all calls
 *   rtt64    TLS vs plain TCP round trips of 64 bytes (sockrt_exchange)
 *   hs       TLS handshakes per second, full (resumption off) vs resumed
 *   pooled   pooled TLS request (acquire, exchange, release) vs
 *            connect + handshake + request + close per call
 * Usage: tls_bench PKI_DIR [quick|smoke]   (PKI_DIR made by tests/tls/make_certs.sh)
 *        tls_bench PKI_DIR serve SECONDS   a TLS server for other languages' clients:
 *            prints "port N", then for SECONDS serves each connection in a thread:
 *            a first byte 'S' and an 8-byte big-endian count make it a sink that
 *            answers 'k' once it has that many bytes; 'E' makes it an echo.
 * Prints one line per measurement and a line "ratio NAME VALUE" per ratio.
 */
#include "../tests/c/check.h"

#define T 30000

static char pki[256];
static long long bulk_bytes = 256LL << 20;
static int rtt_rounds = 20000, hs_rounds = 400, pool_rounds = 400;

static char *read_file(const char *name, size_t *len)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", pki, name);
    FILE *f = fopen(path, "rb");
    CHECK_MSG(f != NULL, "open %s", path);
    char *buf = malloc(1 << 16);
    CHECK(buf != NULL);
    *len = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    return buf;
}

static sockrt_handle server_config(void)
{
    size_t cl, kl;
    char *c = read_file("chain.pem", &cl), *k = read_file("server.key", &kl);
    sockrt_handle cfg = 0;
    CHECK_OK(sockrt_tls_server_config_new(c, cl, k, kl, &cfg));
    free(c);
    free(k);
    return cfg;
}

static sockrt_handle client_config(int resumption)
{
    size_t len;
    char *ca = read_file("ca.pem", &len);
    sockrt_handle cfg = 0;
    CHECK_OK(sockrt_tls_client_config_new(&cfg));
    CHECK_OK(sockrt_tls_client_config_use_system_roots(cfg, 0));
    CHECK_OK(sockrt_tls_client_config_add_ca_pem(cfg, ca, len));
    CHECK_OK(sockrt_tls_config_set_resumption(cfg, resumption));
    free(ca);
    return cfg;
}

/* ---- a server thread: accepts `conns` connections (TLS if cfg != 0) ---- */

enum mode { SINK, ECHO };

struct server {
    sockrt_handle listener, cfg;
    uint16_t port;
    enum mode mode;
    int conns;
    long long sunk;
    pthread_t thread;
};

static void serve_one(struct server *s, sockrt_handle c)
{
    static _Thread_local unsigned char buf[1 << 16];
    CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_NODELAY, 1));
    for (;;) {
        int64_t n = sockrt_recv(c, buf, sizeof buf);
        if (n <= 0)
            break;
        if (s->mode == SINK)
            s->sunk += n;
        else if (sockrt_send_all(c, buf, (size_t)n) != SOCKRT_OK)
            break;
    }
    CHECK_OK(sockrt_close(c));
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    for (int i = 0; i < s->conns; i++) {
        sockrt_handle c = 0;
        if (s->cfg)
            CHECK_OK(sockrt_tls_accept(s->listener, s->cfg, T, &c));
        else
            CHECK_OK(sockrt_accept(s->listener, &c));
        serve_one(s, c);
    }
    return NULL;
}

static void server_start(struct server *s, sockrt_handle cfg, enum mode mode, int conns)
{
    memset(s, 0, sizeof *s);
    s->listener = listen_any("127.0.0.1", &s->port);
    CHECK_OK(sockrt_set_option(s->listener, SOCKRT_OPT_READ_TIMEOUT_MS, T));
    s->cfg = cfg;
    s->mode = mode;
    s->conns = conns;
    s->thread = spawn(server_main, s);
}

static void server_stop(struct server *s)
{
    join(s->thread);
    CHECK_OK(sockrt_close(s->listener));
}

static sockrt_handle dial(struct server *s, sockrt_handle ccfg)
{
    sockrt_handle c = 0;
    if (ccfg)
        CHECK_OK(sockrt_tls_connect("127.0.0.1", s->port, ccfg, "localhost", T, &c));
    else
        CHECK_OK(sockrt_tcp_connect("127.0.0.1", s->port, T, &c));
    CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_NODELAY, 1));
    return c;
}

/* ---- measurements -------------------------------------------------------- */

static double bulk(sockrt_handle scfg, sockrt_handle ccfg)
{
    static unsigned char chunk[1 << 16];
    struct server s;
    server_start(&s, scfg, SINK, 1);
    sockrt_handle c = dial(&s, ccfg);
    fill_pattern(chunk, sizeof chunk, 1);
    double t0 = now_ms();
    for (long long sent = 0; sent < bulk_bytes; sent += (long long)sizeof chunk)
        CHECK_OK(sockrt_send_all(c, chunk, sizeof chunk));
    CHECK_OK(sockrt_shutdown(c, SOCKRT_SHUT_WRITE));
    server_stop(&s); /* the receiver has everything */
    double ms = now_ms() - t0;
    CHECK_EQ(s.sunk, bulk_bytes);
    CHECK_OK(sockrt_close(c));
    return (double)bulk_bytes / (1 << 20) / (ms / 1000.0); /* MiB/s */
}

static double rtt64(sockrt_handle scfg, sockrt_handle ccfg)
{
    unsigned char req[64], resp[64];
    struct server s;
    server_start(&s, scfg, ECHO, 1);
    sockrt_handle c = dial(&s, ccfg);
    fill_pattern(req, sizeof req, 2);
    for (int i = 0; i < 200; i++) /* warm up */
        CHECK_OK(sockrt_exchange(c, req, 64, resp, 64));
    double t0 = now_ms();
    for (int i = 0; i < rtt_rounds; i++)
        CHECK_OK(sockrt_exchange(c, req, 64, resp, 64));
    double us = (now_ms() - t0) * 1000.0 / rtt_rounds;
    CHECK(memcmp(req, resp, 64) == 0);
    CHECK_OK(sockrt_close(c));
    server_stop(&s);
    return us;
}

/* Handshakes per second: connect, one small exchange (which also brings the
   TLS 1.3 session tickets in), close. */
static double handshakes(sockrt_handle scfg, sockrt_handle ccfg, int expect_resumed)
{
    struct server s;
    server_start(&s, scfg, ECHO, hs_rounds + 1);
    char b[1];
    sockrt_handle c = dial(&s, ccfg); /* the first one is always full */
    CHECK_OK(sockrt_exchange(c, "x", 1, b, 1));
    CHECK_OK(sockrt_close(c));
    int resumed = 0;
    double t0 = now_ms();
    for (int i = 0; i < hs_rounds; i++) {
        c = dial(&s, ccfg);
        CHECK_OK(sockrt_exchange(c, "x", 1, b, 1));
        sockrt_tls_info info;
        CHECK_OK(sockrt_tls_get_info(c, &info));
        resumed += info.resumed;
        CHECK_OK(sockrt_close(c));
    }
    double secs = (now_ms() - t0) / 1000.0;
    CHECK_EQ(resumed, expect_resumed ? hs_rounds : 0);
    server_stop(&s);
    return hs_rounds / secs;
}

/* Microseconds per 64-byte request: through a TLS pool, or each on a new
   TLS connection. */
static double pooled(sockrt_handle scfg, sockrt_handle ccfg, int use_pool)
{
    unsigned char req[64], resp[64];
    struct server s;
    server_start(&s, scfg, ECHO, use_pool ? 1 : pool_rounds);
    fill_pattern(req, sizeof req, 3);
    sockrt_handle pool = 0;
    if (use_pool) {
        sockrt_pool_config pc;
        sockrt_pool_config_init(&pc);
        pc.tls_config = ccfg;
        pc.tls_server_name = "localhost";
        CHECK_OK(sockrt_pool_open("127.0.0.1", s.port, &pc, &pool));
    }
    double t0 = now_ms();
    for (int i = 0; i < pool_rounds; i++) {
        sockrt_handle c = 0;
        if (use_pool) {
            CHECK_OK(sockrt_pool_acquire(pool, &c));
            CHECK_OK(sockrt_exchange(c, req, 64, resp, 64));
            CHECK_OK(sockrt_pool_release(pool, c));
        } else {
            c = dial(&s, ccfg);
            CHECK_OK(sockrt_exchange(c, req, 64, resp, 64));
            CHECK_OK(sockrt_close(c));
        }
    }
    double us = (now_ms() - t0) * 1000.0 / pool_rounds;
    if (use_pool) {
        sockrt_pool_stats st;
        CHECK_OK(sockrt_pool_get_stats(pool, &st));
        CHECK_EQ(st.created, 1);
        CHECK_OK(sockrt_pool_close(pool));
    }
    server_stop(&s);
    return us;
}

struct served {
    sockrt_handle conn;
};

static void *serve_conn(void *arg)
{
    sockrt_handle c = ((struct served *)arg)->conn;
    static _Thread_local unsigned char buf[1 << 16];
    free(arg);
    char mode;
    unsigned char count[8];
    uint64_t want = UINT64_MAX, got = 0;
    if (sockrt_recv_exact(c, &mode, 1) == SOCKRT_OK) {
        if (mode == 'S' && sockrt_recv_exact(c, count, 8) == SOCKRT_OK) {
            want = 0;
            for (int i = 0; i < 8; i++)
                want = want << 8 | count[i];
        }
        while (got < want) {
            int64_t n = sockrt_recv(c, buf, sizeof buf);
            if (n <= 0)
                break;
            got += (uint64_t)n;
            if (mode == 'E' && sockrt_send_all(c, buf, (size_t)n) != SOCKRT_OK)
                break;
        }
        if (mode == 'S' && got == want)
            (void)sockrt_send_all(c, "k", 1);
    }
    sockrt_close(c);
    return NULL;
}

static int serve_forever(sockrt_handle cfg, int seconds)
{
    uint16_t port;
    sockrt_handle l = listen_any("127.0.0.1", &port);
    printf("port %u\n", port);
    fflush(stdout);
    double end = now_ms() + seconds * 1000.0;
    CHECK_OK(sockrt_set_option(l, SOCKRT_OPT_READ_TIMEOUT_MS, 200));
    while (now_ms() < end) {
        sockrt_handle c = 0;
        int32_t rc = sockrt_tls_accept(l, cfg, T, &c);
        if (rc != SOCKRT_OK)
            continue; /* a timeout to look at the clock, or a failed handshake */
        CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_NODELAY, 1));
        CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_READ_TIMEOUT_MS, T));
        struct served *arg = malloc(sizeof *arg);
        CHECK(arg != NULL);
        arg->conn = c;
        pthread_t t;
        CHECK(pthread_create(&t, NULL, serve_conn, arg) == 0);
        pthread_detach(t);
    }
    return 0;
}

int main(int argc, char **argv)
{
    CHECK_MSG(argc >= 2, "usage: tls_bench PKI_DIR [quick|smoke]");
    snprintf(pki, sizeof pki, "%s", argv[1]);
    if (argc > 2 && strcmp(argv[2], "quick") == 0) {
        bulk_bytes = 64LL << 20;
        rtt_rounds = 5000;
        hs_rounds = pool_rounds = 100;
    } else if (argc > 2 && strcmp(argv[2], "smoke") == 0) {
        bulk_bytes = 1LL << 20;
        rtt_rounds = 100;
        hs_rounds = pool_rounds = 5;
    }
    if (argc > 3 && strcmp(argv[2], "serve") == 0) {
        sockrt_handle cfg = server_config();
        return serve_forever(cfg, atoi(argv[3]));
    }
    sockrt_handle scfg = server_config(), full = client_config(0), resume = client_config(1);

    double plain_bulk = bulk(0, 0), tls_bulk = bulk(scfg, resume);
    printf("bulk plain TCP   %8.1f MiB/s  (%lld MiB in 64 KiB send_all)\n", plain_bulk, bulk_bytes >> 20);
    printf("bulk TLS         %8.1f MiB/s\n", tls_bulk);
    double plain_rtt = rtt64(0, 0), tls_rtt = rtt64(scfg, resume);
    printf("rtt64 plain TCP  %8.1f us\n", plain_rtt);
    printf("rtt64 TLS        %8.1f us\n", tls_rtt);
    double hs_full = handshakes(scfg, full, 0), hs_resumed = handshakes(scfg, resume, 1);
    printf("handshakes full    %8.0f /s  (connect + handshake + 1-byte exchange + close)\n", hs_full);
    printf("handshakes resumed %8.0f /s\n", hs_resumed);
    double per_call = pooled(scfg, resume, 0), via_pool = pooled(scfg, resume, 1);
    printf("request, new TLS connection each  %8.1f us\n", per_call);
    printf("request, pooled TLS connection    %8.1f us\n", via_pool);

    printf("ratio tls_bulk_vs_plain %.2f\n", tls_bulk / plain_bulk);
    printf("ratio tls_rtt64_vs_plain %.2f\n", plain_rtt / tls_rtt);
    printf("ratio handshakes_resumed_vs_full %.2f\n", hs_resumed / hs_full);
    printf("ratio pooled_vs_connect_per_request %.2f\n", per_call / via_pool);
    CHECK_OK(sockrt_close(scfg));
    CHECK_OK(sockrt_close(full));
    CHECK_OK(sockrt_close(resume));
    return 0;
}
