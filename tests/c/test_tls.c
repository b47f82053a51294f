/*
 * TLS from C: configs and their bad input, client and server streams made
 * every way (one-call connect, upgrades, accept), every stream data call on a
 * TLS handle, what the handshake negotiated, verification failures and a
 * peer that speaks plain text. Interop with openssl and curl is in
 * tests/tls/interop.c.
 */
#include "tls_pki.h"

#define T 10000

struct server_args {
    sockrt_handle listener, cfg;
    int rounds;          /* connections to serve */
    int32_t results[8];  /* per connection: the accept's status */
    int resumed[8];
};

/* Accepts TLS connections and echoes until end of stream. */
static void *echo_server(void *arg)
{
    struct server_args *a = arg;
    for (int i = 0; i < a->rounds; i++) {
        sockrt_handle conn = 0;
        a->results[i] = sockrt_tls_accept(a->listener, a->cfg, T, &conn);
        if (a->results[i] != SOCKRT_OK)
            continue;
        sockrt_tls_info info;
        CHECK_OK(sockrt_tls_get_info(conn, &info));
        a->resumed[i] = info.resumed;
        CHECK_OK(sockrt_set_option(conn, SOCKRT_OPT_READ_TIMEOUT_MS, T));
        char buf[70000];
        for (;;) {
            int64_t n = sockrt_recv(conn, buf, sizeof buf);
            if (n <= 0)
                break;
            if (sockrt_send_all(conn, buf, (size_t)n) != SOCKRT_OK)
                break;
        }
        CHECK_OK(sockrt_close(conn));
    }
    return NULL;
}

static void test_config_errors(void)
{
    SAY("configs: bad input is refused with a clear error");
    sockrt_handle cfg = 0, srv = 0;
    size_t clen, klen;
    char *cert = pki_read("chain.pem", &clen), *key = pki_read("server.key", &klen);
    char *ckey = pki_read("client.key", &klen);
    free(ckey);
    CHECK_ERR(sockrt_tls_client_config_new(NULL), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_tls_server_config_new(NULL, 0, key, klen, &srv), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_tls_server_config_new("junk", 4, "junk", 4, &srv), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_OK(sockrt_tls_client_config_new(&cfg));
    CHECK_ERR(sockrt_tls_client_config_add_ca_pem(cfg, "not a certificate", 17),
              SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_tls_client_config_add_ca_pem(cfg, NULL, 0), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_tls_client_config_use_system_roots(cfg, 2), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_tls_config_add_alpn(cfg, "", 0), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_tls_config_set_versions(cfg, 0x0301, 0), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_tls_config_set_versions(cfg, SOCKRT_TLS_1_3, SOCKRT_TLS_1_2),
              SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_tls_config_set_resumption(cfg, -1), SOCKRT_E_INVALID_ARGUMENT);
    /* A key that does not belong to the certificate. */
    {
        size_t l1, l2;
        char *c = pki_read("client.pem", &l1), *k = pki_read("server.key", &l2);
        CHECK_ERR(sockrt_tls_client_config_set_client_cert(cfg, c, l1, k, l2),
                  SOCKRT_E_INVALID_ARGUMENT);
        free(c);
        free(k);
    }
    /* Client calls on a server config and the reverse. */
    CHECK_OK(sockrt_tls_server_config_new(cert, clen, key, klen, &srv));
    CHECK_ERR(sockrt_tls_client_config_add_ca_pem(srv, cert, clen), SOCKRT_E_WRONG_KIND);
    CHECK_ERR(sockrt_tls_client_config_dangerous_disable_verification(srv), SOCKRT_E_WRONG_KIND);
    CHECK_ERR(sockrt_tls_server_config_verify_clients(cfg, cert, clen, 1), SOCKRT_E_WRONG_KIND);
    sockrt_handle out = 0;
    CHECK_ERR(sockrt_tls_connect("127.0.0.1", 9, srv, NULL, T, &out), SOCKRT_E_WRONG_KIND);
    CHECK_ERR(sockrt_tls_connect("127.0.0.1", 9, cfg, "bad name!", T, &out),
              SOCKRT_E_INVALID_ARGUMENT);
    /* A config is not a socket, a socket is not a config. */
    char b[4];
    CHECK_ERR(sockrt_recv(cfg, b, sizeof b), SOCKRT_E_WRONG_KIND);
    CHECK_ERR(sockrt_tls_get_info(cfg, NULL), SOCKRT_E_INVALID_ARGUMENT);
    sockrt_tls_info info;
    CHECK_ERR(sockrt_tls_get_info(cfg, &info), SOCKRT_E_WRONG_KIND);
    CHECK_ERR(sockrt_tls_peer_subject(srv, b, sizeof b), SOCKRT_E_WRONG_KIND);
    CHECK_OK(sockrt_close(cfg));
    CHECK_OK(sockrt_close(srv));
    CHECK_ERR(sockrt_close(cfg), SOCKRT_E_BAD_HANDLE);
    CHECK_ERR(sockrt_tls_config_add_alpn(cfg, "h2", 2), SOCKRT_E_BAD_HANDLE);
    free(cert);
    free(key);
}

static void test_connect_and_every_data_call(void)
{
    SAY("tls_connect + tls_accept: every data call on a TLS handle, TLS 1.2 and 1.3");
    int versions[2] = { SOCKRT_TLS_1_2, SOCKRT_TLS_1_3 };
    for (int v = 0; v < 2; v++) {
        struct server_args a = { 0 };
        uint16_t port;
        a.listener = listen_any("127.0.0.1", &port);
        a.cfg = pki_server_config("chain.pem", "server.key");
        CHECK_OK(sockrt_tls_config_add_alpn(a.cfg, "echo/1", 6));
        CHECK_OK(sockrt_set_option(a.listener, SOCKRT_OPT_READ_TIMEOUT_MS, T));
        a.rounds = 1;
        pthread_t t = spawn(echo_server, &a);

        sockrt_handle cfg = pki_client_config(), c = 0;
        CHECK_OK(sockrt_tls_config_set_versions(cfg, versions[v], versions[v]));
        CHECK_OK(sockrt_tls_config_add_alpn(cfg, "h2", 2));
        CHECK_OK(sockrt_tls_config_add_alpn(cfg, "echo/1", 6));
        CHECK_OK(sockrt_tls_connect("localhost", port, cfg, NULL, T, &c));
        /* Settings are fixed once a connection used the config. */
        CHECK_ERR(sockrt_tls_config_add_alpn(cfg, "late", 4), SOCKRT_E_INVALID_STATE);

        sockrt_tls_info info;
        CHECK_OK(sockrt_tls_get_info(c, &info));
        CHECK_EQ(info.version, versions[v]);
        CHECK_EQ(info.alpn_len, 6);
        CHECK(strcmp(info.alpn, "echo/1") == 0);
        CHECK(!info.resumed);
        CHECK(info.peer_certificate);
        CHECK(info.cipher_suite != 0);
        CHECK(strncmp(info.cipher_suite_name, versions[v] == SOCKRT_TLS_1_3 ? "TLS13_" : "TLS_ECDHE_", 6) == 0);
        char subject[256];
        int64_t slen = sockrt_tls_peer_subject(c, subject, sizeof subject);
        CHECK_EQ(slen, (int64_t)strlen("CN=localhost,O=sockrt test"));
        CHECK(strcmp(subject, "CN=localhost,O=sockrt test") == 0);
        CHECK_ERR(sockrt_tls_peer_subject(c, subject, 5), SOCKRT_E_INVALID_ARGUMENT);

        /* Options, addresses and the descriptor are the socket's. */
        CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_READ_TIMEOUT_MS, T));
        int64_t value = 0;
        CHECK_OK(sockrt_get_option(c, SOCKRT_OPT_READ_TIMEOUT_MS, &value));
        CHECK_EQ(value, T);
        uint16_t peer_port = 0;
        char host[SOCKRT_ADDR_MAX];
        CHECK_OK(sockrt_peer_addr(c, host, sizeof host, &peer_port));
        CHECK_EQ(peer_port, port);
        CHECK_OK(sockrt_local_addr(c, host, sizeof host, NULL));
        CHECK(sockrt_fileno(c) >= 0);
        /* Stream calls that make no sense for TLS. */
        CHECK_ERR(sockrt_send_to(c, "x", 1, "127.0.0.1", 9), SOCKRT_E_WRONG_KIND);
        CHECK_ERR(sockrt_listen(c, 1), SOCKRT_E_WRONG_KIND);
        char peek[1];
        sockrt_handle copy = 0;
        int fd = -1;
        CHECK_ERR(sockrt_recv_flags(c, peek, 1, SOCKRT_MSG_PEEK), SOCKRT_E_WRONG_KIND);
        CHECK_ERR(sockrt_dup(c, &copy), SOCKRT_E_WRONG_KIND);
        CHECK_ERR(sockrt_detach(c, &fd), SOCKRT_E_WRONG_KIND);
        /* The poller and the fan-out cannot see decrypted input: refused. */
        sockrt_handle poller = 0;
        CHECK_OK(sockrt_poller_open(&poller));
        CHECK_ERR(sockrt_poller_add(poller, c, SOCKRT_POLL_IN, 1), SOCKRT_E_WRONG_KIND);
        int64_t fanned = 0;
        CHECK_EQ(sockrt_send_many(&c, 1, "x", 1, &fanned), 0);
        CHECK_EQ(fanned, SOCKRT_E_WRONG_KIND);
        CHECK_OK(sockrt_close(poller));
        int32_t one = 1;
        CHECK_OK(sockrt_setsockopt(c, 6 /* IPPROTO_TCP */, 1 /* TCP_NODELAY */, &one, sizeof one));

        /* send, recv, send_all, recv_exact, exchange, poll. */
        unsigned char out[100000], in[100000];
        fill_pattern(out, sizeof out, 7);
        CHECK_EQ(sockrt_send(c, "ping", 4), 4);
        char four[4];
        CHECK_OK(sockrt_recv_exact(c, four, 4));
        CHECK(memcmp(four, "ping", 4) == 0);
        CHECK_OK(sockrt_send_all(c, out, sizeof out));
        CHECK_OK(sockrt_recv_exact(c, in, sizeof in));
        CHECK(memcmp(in, out, sizeof out) == 0);
        char reply[5];
        CHECK_OK(sockrt_exchange(c, "hello", 5, reply, 5));
        CHECK(memcmp(reply, "hello", 5) == 0);
        uint32_t ev = SOCKRT_POLL_IN;
        CHECK_EQ(sockrt_poll(&c, &ev, 1, 0), 0);     /* nothing to read */
        CHECK_OK(sockrt_send_all(c, "x", 1));
        ev = SOCKRT_POLL_IN;
        CHECK_EQ(sockrt_poll(&c, &ev, 1, T), 1);
        CHECK(ev & SOCKRT_POLL_IN);
        CHECK_EQ(sockrt_recv(c, in, sizeof in), 1);

        /* shutdown(WRITE) sends close_notify: the server sees a clean end
           of stream and closes, and so do we. */
        CHECK_OK(sockrt_shutdown(c, SOCKRT_SHUT_WRITE));
        CHECK_ERR(sockrt_send(c, "y", 1), SOCKRT_E_CONNECTION_RESET);
        CHECK_EQ(sockrt_recv(c, in, sizeof in), 0);
        join(t);
        CHECK_EQ(a.results[0], SOCKRT_OK);
        CHECK_OK(sockrt_close(c));
        CHECK_ERR(sockrt_recv(c, in, 1), SOCKRT_E_BAD_HANDLE);
        CHECK_OK(sockrt_close(cfg));
        CHECK_OK(sockrt_close(a.cfg));
        CHECK_OK(sockrt_close(a.listener));
    }
}

struct upgrade_server {
    sockrt_handle listener, cfg;
    int32_t rc;
    char subject[256];
};

static void *upgrade_server(void *arg)
{
    struct upgrade_server *u = arg;
    sockrt_handle plain = 0, tls = 0;
    CHECK_OK(sockrt_accept(u->listener, &plain));
    /* A plain-text greeting first, then TLS (as STARTTLS does). */
    CHECK_OK(sockrt_send_all(plain, "OK starttls\n", 12));
    u->rc = sockrt_tls_server_upgrade(plain, u->cfg, T, &tls);
    if (u->rc != SOCKRT_OK)
        return NULL;
    CHECK_ERR(sockrt_send(plain, "x", 1), SOCKRT_E_BAD_HANDLE); /* the plain handle ended */
    sockrt_tls_info info;
    CHECK_OK(sockrt_tls_get_info(tls, &info));
    CHECK(info.peer_certificate);  /* mutual TLS */
    CHECK(sockrt_tls_peer_subject(tls, u->subject, sizeof u->subject) > 0);
    char buf[5];
    CHECK_OK(sockrt_recv_exact(tls, buf, 5));
    CHECK_OK(sockrt_send_all(tls, buf, 5));
    CHECK_OK(sockrt_close(tls));
    return NULL;
}

static void test_upgrades_and_mutual_tls(void)
{
    SAY("upgrades of connected sockets (STARTTLS style), mutual TLS");
    struct upgrade_server u = { 0 };
    uint16_t port;
    size_t len, klen;
    u.listener = listen_any("127.0.0.1", &port);
    CHECK_OK(sockrt_set_option(u.listener, SOCKRT_OPT_READ_TIMEOUT_MS, T));
    u.cfg = pki_server_config("chain.pem", "server.key");
    char *ca = pki_read("ca.pem", &len);
    CHECK_OK(sockrt_tls_server_config_verify_clients(u.cfg, ca, len, 1));
    free(ca);
    pthread_t t = spawn(upgrade_server, &u);

    sockrt_handle cfg = pki_client_config(), plain = 0, tls = 0;
    char *cert = pki_read("client.pem", &len), *key = pki_read("client.key", &klen);
    CHECK_OK(sockrt_tls_client_config_set_client_cert(cfg, cert, len, key, klen));
    free(cert);
    free(key);
    CHECK_OK(sockrt_tcp_connect("127.0.0.1", port, T, &plain));
    char greeting[12];
    CHECK_OK(sockrt_recv_exact(plain, greeting, sizeof greeting));
    CHECK_ERR(sockrt_tls_client_upgrade(plain, cfg, NULL, T, &tls), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_OK(sockrt_tls_client_upgrade(plain, cfg, "127.0.0.1", T, &tls)); /* IP SAN */
    CHECK_ERR(sockrt_recv(plain, greeting, 1), SOCKRT_E_BAD_HANDLE);
    char buf[5];
    CHECK_OK(sockrt_exchange(tls, "mtls!", 5, buf, 5));
    CHECK(memcmp(buf, "mtls!", 5) == 0);
    join(t);
    CHECK_EQ(u.rc, SOCKRT_OK);
    CHECK(strcmp(u.subject, "CN=client,O=sockrt test") == 0);
    CHECK_OK(sockrt_close(tls));

    /* Upgrading what is not a connected stream is refused; the handle lives. */
    sockrt_handle udp = 0;
    CHECK_OK(sockrt_udp_bind("127.0.0.1", 0, &udp));
    CHECK_ERR(sockrt_tls_client_upgrade(udp, cfg, "localhost", T, &tls), SOCKRT_E_WRONG_KIND);
    CHECK_ERR(sockrt_tls_client_upgrade(u.listener, cfg, "localhost", T, &tls),
              SOCKRT_E_INVALID_STATE);
    CHECK_ERR(sockrt_tls_server_upgrade(udp, u.cfg, T, &tls), SOCKRT_E_WRONG_KIND);
    CHECK_OK(sockrt_close(udp));
    CHECK_OK(sockrt_close(cfg));
    CHECK_OK(sockrt_close(u.cfg));
    CHECK_OK(sockrt_close(u.listener));
}

static void test_verification_and_bad_peers(void)
{
    SAY("unknown issuer, name mismatch, plain text to a TLS server, resumption");
    struct server_args a = { 0 };
    uint16_t port;
    a.listener = listen_any("127.0.0.1", &port);
    CHECK_OK(sockrt_set_option(a.listener, SOCKRT_OPT_READ_TIMEOUT_MS, T));
    a.cfg = pki_server_config("chain.pem", "server.key");
    a.rounds = 5;
    pthread_t t = spawn(echo_server, &a);

    char msg[512];
    sockrt_handle c = 0;
    /* 1: system roots only: the test CA is unknown. */
    sockrt_handle system = 0;
    CHECK_OK(sockrt_tls_client_config_new(&system));
    CHECK_ERR(sockrt_tls_connect("127.0.0.1", port, system, "localhost", T, &c),
              SOCKRT_E_TLS_CERTIFICATE);
    CHECK_MSG(strstr(last_message(msg, sizeof msg), "unknown issuer") != NULL, "%s", msg);
    /* 2: a name the certificate is not for. */
    sockrt_handle cfg = pki_client_config();
    CHECK_ERR(sockrt_tls_connect("127.0.0.1", port, cfg, "elsewhere.invalid", T, &c),
              SOCKRT_E_TLS_CERTIFICATE);
    CHECK_MSG(strstr(last_message(msg, sizeof msg), "name mismatch") != NULL, "%s", msg);
    /* 3: plain text to the TLS server. */
    sockrt_handle plain = 0;
    CHECK_OK(sockrt_tcp_connect("127.0.0.1", port, T, &plain));
    CHECK_OK(sockrt_set_option(plain, SOCKRT_OPT_READ_TIMEOUT_MS, T));
    CHECK_OK(sockrt_send_all(plain, "HELLO plain text\r\n", 18));
    char junk[256];
    while (sockrt_recv(plain, junk, sizeof junk) > 0) {
    } /* an alert, then the end: no hang */
    CHECK_OK(sockrt_close(plain));
    /* 4 and 5: a full handshake, then a resumed one. */
    for (int i = 0; i < 2; i++) {
        CHECK_OK(sockrt_tls_connect("127.0.0.1", port, cfg, "localhost", T, &c));
        char b[3];
        CHECK_OK(sockrt_exchange(c, "abc", 3, b, 3));
        sockrt_tls_info info;
        CHECK_OK(sockrt_tls_get_info(c, &info));
        CHECK_EQ(info.resumed, i == 1);
        CHECK_OK(sockrt_close(c));
    }
    join(t);
    CHECK_EQ(a.results[0], SOCKRT_E_TLS_HANDSHAKE); /* the client's alert */
    CHECK_EQ(a.results[1], SOCKRT_E_TLS_HANDSHAKE);
    CHECK_EQ(a.results[2], SOCKRT_E_TLS_HANDSHAKE); /* plain text */
    CHECK_EQ(a.results[3], SOCKRT_OK);
    CHECK_EQ(a.results[4], SOCKRT_OK);
    CHECK(!a.resumed[3] && a.resumed[4]);

    /* The dangerous switch accepts the wrong name. */
    a.rounds = 1;
    memset(a.results, 0, sizeof a.results);
    t = spawn(echo_server, &a);
    sockrt_handle blind = 0;
    CHECK_OK(sockrt_tls_client_config_new(&blind));
    CHECK_OK(sockrt_tls_client_config_dangerous_disable_verification(blind));
    CHECK_OK(sockrt_tls_config_set_resumption(blind, 0));
    CHECK_OK(sockrt_tls_connect("127.0.0.1", port, blind, "elsewhere.invalid", T, &c));
    char b[2];
    CHECK_OK(sockrt_exchange(c, "ok", 2, b, 2));
    CHECK_OK(sockrt_close(c));
    join(t);
    CHECK_OK(sockrt_close(blind));
    CHECK_OK(sockrt_close(system));
    CHECK_OK(sockrt_close(cfg));
    CHECK_OK(sockrt_close(a.cfg));
    CHECK_OK(sockrt_close(a.listener));
}

struct closer {
    sockrt_handle h;
    int delay_ms;
};

static void *close_later(void *arg)
{
    struct closer *c = arg;
    sleep_ms(c->delay_ms);
    CHECK_OK(sockrt_close(c->h));
    return NULL;
}

static void test_close_wakes_blocked_recv(void)
{
    SAY("close from another thread wakes a TLS recv blocked on the network");
    struct server_args a = { 0 };
    uint16_t port;
    a.listener = listen_any("127.0.0.1", &port);
    CHECK_OK(sockrt_set_option(a.listener, SOCKRT_OPT_READ_TIMEOUT_MS, T));
    a.cfg = pki_server_config("chain.pem", "server.key");
    a.rounds = 1;
    pthread_t t = spawn(echo_server, &a);
    sockrt_handle cfg = pki_client_config(), c = 0;
    CHECK_OK(sockrt_tls_connect("127.0.0.1", port, cfg, "localhost", T, &c));
    struct closer cl = { c, 100 };
    pthread_t k = spawn(close_later, &cl);
    char b[8];
    double start = now_ms();
    CHECK_ERR(sockrt_recv(c, b, sizeof b), SOCKRT_E_CLOSED);
    CHECK(now_ms() - start < 5000);
    join(k);
    join(t); /* the server saw close_notify (or the end of the stream) */
    CHECK_OK(sockrt_close(cfg));
    CHECK_OK(sockrt_close(a.cfg));
    CHECK_OK(sockrt_close(a.listener));
}

static void test_pooled_tls(void)
{
    SAY("pooled TLS: reuse, resumption on a new connection, handshake counts");
    struct server_args a1 = { 0 }, a2 = { 0 };
    uint16_t port;
    a1.listener = listen_any("127.0.0.1", &port);
    CHECK_OK(sockrt_set_option(a1.listener, SOCKRT_OPT_READ_TIMEOUT_MS, T));
    a1.cfg = pki_server_config("chain.pem", "server.key");
    a1.rounds = 1;
    a2 = a1;
    pthread_t t1 = spawn(echo_server, &a1), t2 = spawn(echo_server, &a2);

    sockrt_handle cfg = pki_client_config(), pool = 0, c = 0, d = 0;
    sockrt_pool_config pc;
    sockrt_pool_config_init(&pc);
    CHECK_EQ(pc.tls_config, 0);
    CHECK(pc.tls_server_name == NULL);
    pc.tls_server_name = "localhost";
    CHECK_ERR(sockrt_pool_open("127.0.0.1", port, &pc, &pool), SOCKRT_E_INVALID_ARGUMENT);
    pc.tls_config = a1.cfg; /* a server config */
    CHECK_ERR(sockrt_pool_open("127.0.0.1", port, &pc, &pool), SOCKRT_E_WRONG_KIND);
    pc.tls_config = cfg;
    CHECK_OK(sockrt_pool_open("127.0.0.1", port, &pc, &pool));
    for (int i = 0; i < 3; i++) {
        char b[4];
        CHECK_OK(sockrt_pool_acquire(pool, &c));
        CHECK_EQ(sockrt_pool_was_reused(c), i > 0);
        sockrt_tls_info info;
        CHECK_OK(sockrt_tls_get_info(c, &info)); /* a lease is a TLS stream */
        if (i == 0) {
            /* ... and refused where a TLS stream is. */
            char peek[1];
            int fd = -1;
            int64_t fanned = 0;
            sockrt_handle poller = 0, upgraded = 0;
            CHECK_ERR(sockrt_recv_flags(c, peek, 1, SOCKRT_MSG_PEEK), SOCKRT_E_WRONG_KIND);
            CHECK_ERR(sockrt_detach(c, &fd), SOCKRT_E_WRONG_KIND);
            CHECK_ERR(sockrt_tls_client_upgrade(c, cfg, "localhost", T, &upgraded),
                      SOCKRT_E_WRONG_KIND); /* TLS already */
            CHECK_OK(sockrt_poller_open(&poller));
            CHECK_ERR(sockrt_poller_add(poller, c, SOCKRT_POLL_IN, 1), SOCKRT_E_WRONG_KIND);
            CHECK_OK(sockrt_close(poller));
            CHECK_EQ(sockrt_send_many(&c, 1, "x", 1, &fanned), 0);
            CHECK_EQ(fanned, SOCKRT_E_WRONG_KIND);
            CHECK(sockrt_fileno(c) >= 0);
        }
        CHECK_OK(sockrt_exchange(c, "pool", 4, b, 4));
        CHECK(memcmp(b, "pool", 4) == 0);
        CHECK_OK(sockrt_pool_release(pool, c));
    }
    /* Two at once: the second is new and resumes the first's session. */
    CHECK_OK(sockrt_pool_acquire(pool, &c));
    CHECK_OK(sockrt_pool_acquire(pool, &d));
    sockrt_tls_info info;
    CHECK_OK(sockrt_tls_get_info(d, &info));
    CHECK(info.resumed);
    char b[1];
    CHECK_OK(sockrt_exchange(d, "d", 1, b, 1));
    uint64_t full = 0, resumed = 0;
    CHECK_OK(sockrt_pool_tls_handshakes(pool, &full, &resumed));
    CHECK_EQ(full, 1);
    CHECK_EQ(resumed, 1);
    CHECK_OK(sockrt_pool_tls_handshakes(pool, NULL, NULL));
    sockrt_pool_stats st;
    CHECK_OK(sockrt_pool_get_stats(pool, &st));
    CHECK_EQ(st.created, 2);
    CHECK_EQ(st.reused, 3);
    CHECK_EQ(st.closed_stale, 0);
    CHECK_OK(sockrt_pool_release(pool, c));
    CHECK_OK(sockrt_close(d)); /* close on a lease discards it */
    CHECK_OK(sockrt_pool_close(pool));
    join(t1);
    join(t2);
    CHECK_EQ(a1.results[0], SOCKRT_OK);
    CHECK_EQ(a2.results[0], SOCKRT_OK);
    CHECK_OK(sockrt_close(cfg));
    CHECK_OK(sockrt_close(a1.cfg));
    CHECK_OK(sockrt_close(a1.listener));
}

int main(void)
{
    TEST_BEGIN("test_tls");
    pki_make();
    uint64_t handles = sockrt_open_handles();
    test_config_errors();
    test_connect_and_every_data_call();
    test_upgrades_and_mutual_tls();
    test_verification_and_bad_peers();
    test_close_wakes_blocked_recv();
    test_pooled_tls();
    CHECK_EQ(sockrt_open_handles(), handles);
    pki_cleanup();
    TEST_END("test_tls");
    return 0;
}
