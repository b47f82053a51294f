/*
 * TLS interop with peers nobody here wrote: `openssl s_server` and
 * `openssl s_client` (OpenSSL's own TLS) and `curl`, over loopback, for
 * TLS 1.2 and 1.3, with ALPN, mutual TLS and session resumption seen on
 * the other side. Each peer is a child process this program starts and
 * waits for (by PID); each runs under `timeout`, so none outlives the test.
 *
 * Prints one line per case of the matrix: "interop: PEER DIRECTION VERSION
 * FEATURE: pass".
 */
#include "../c/tls_pki.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#define T 10000

/* Like CHECK, printing the peer's output first if it fails. */
#define CHECK_LOG(cond, log)                                                  \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "peer output:\n%s\n", (log));                   \
            CHECK(cond);                                                      \
        }                                                                     \
    } while (0)

static const char *vname(int v) { return v == SOCKRT_TLS_1_3 ? "1.3" : "1.2"; }
static const char *vflag(int v) { return v == SOCKRT_TLS_1_3 ? "-tls1_3" : "-tls1_2"; }

struct proc {
    pid_t pid;
    int in, out; /* the child's stdin (write end), stdout+stderr (read end) */
    char log[16384];
    size_t len;
};

static void start(struct proc *p, char *const argv[])
{
    int in[2], out[2];
    CHECK(pipe(in) == 0 && pipe(out) == 0);
    memset(p, 0, sizeof *p);
    p->pid = fork();
    CHECK(p->pid >= 0);
    if (p->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        close(in[1]);
        close(out[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->in = in[1];
    p->out = out[0];
    fcntl(p->in, F_SETFD, FD_CLOEXEC);
    fcntl(p->out, F_SETFD, FD_CLOEXEC);
}

/* Reads the child's output until `needle` shows (1) or it ends/times out (0). */
static int wait_output(struct proc *p, const char *needle, int timeout_ms)
{
    double end = now_ms() + timeout_ms;
    while (strstr(p->log, needle) == NULL) {
        int left = (int)(end - now_ms());
        if (left <= 0 || p->len + 1 >= sizeof p->log)
            return 0;
        struct pollfd pfd = { p->out, POLLIN, 0 };
        if (poll(&pfd, 1, left) <= 0)
            return 0;
        ssize_t n = read(p->out, p->log + p->len, sizeof p->log - 1 - p->len);
        if (n <= 0)
            return 0;
        p->len += (size_t)n;
        p->log[p->len] = '\0';
    }
    return 1;
}

/* Ends the child (if still running) and returns its exit status. */
static int finish(struct proc *p, int kill_it)
{
    int status = 0;
    if (p->in >= 0)
        close(p->in);
    p->in = -1;
    if (kill_it)
        kill(p->pid, SIGTERM);
    wait_output(p, "\x01never", 3000); /* drain what is left, bounded */
    CHECK(waitpid(p->pid, &status, 0) == p->pid);
    close(p->out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static uint16_t free_port(void)
{
    uint16_t port;
    sockrt_handle l = listen_any("127.0.0.1", &port);
    CHECK_OK(sockrt_close(l));
    return port;
}

static void pass(const char *what) { printf("interop: %s: pass\n", what); fflush(stdout); }

/* Sends an HTTP/1.0 request and reads the reply until the end of stream.
   openssl's -www server ends with close_notify; both endings are accepted
   only if close_notify came: truncation would be an error. */
static void http_get(sockrt_handle c, char *reply, size_t cap)
{
    size_t got = 0;
    CHECK_OK(sockrt_send_all(c, "GET / HTTP/1.0\r\n\r\n", 18));
    for (;;) {
        CHECK(got + 1 < cap);
        int64_t n = sockrt_recv(c, reply + got, cap - 1 - got);
        CHECK_OK(n);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    reply[got] = '\0';
}

/* ---- libsockrt client -> openssl s_server ------------------------------ */

static void client_to_s_server(int v)
{
    char port_arg[32], what[128], reply[16384];
    uint16_t port = free_port();
    snprintf(port_arg, sizeof port_arg, "127.0.0.1:%u", port);
    char *argv[] = { "timeout", "60", "openssl", "s_server", "-accept", port_arg,
                     "-cert", pki_path("server.pem"), "-key", pki_path("server.key"),
                     (char *)vflag(v), "-alpn", "echo/1", "-www", "-naccept", "2", NULL };
    struct proc s;
    start(&s, argv);
    CHECK_LOG(wait_output(&s, "ACCEPT", T), s.log);

    sockrt_handle cfg = pki_client_config();
    CHECK_OK(sockrt_tls_config_add_alpn(cfg, "echo/1", 6));
    for (int round = 0; round < 2; round++) {
        sockrt_handle c = 0;
        sockrt_tls_info info;
        CHECK_OK(sockrt_tls_connect("localhost", port, cfg, NULL, T, &c));
        CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_READ_TIMEOUT_MS, T));
        CHECK_OK(sockrt_tls_get_info(c, &info));
        CHECK_EQ(info.version, v);
        CHECK(strcmp(info.alpn, "echo/1") == 0);
        CHECK_EQ(info.resumed, round == 1);
        http_get(c, reply, sizeof reply);
        CHECK_LOG(strstr(reply, round == 0 ? "New, " : "Reused, ") != NULL, reply);
        CHECK_LOG(strstr(reply, v == SOCKRT_TLS_1_3 ? "TLSv1.3" : "TLSv1.2") != NULL, reply);
        CHECK_OK(sockrt_close(c));
    }
    CHECK_EQ(finish(&s, 0), 0);
    snprintf(what, sizeof what, "openssl s_server <- libsockrt client, TLS %s, ALPN, resumption seen by the server", vname(v));
    pass(what);
    CHECK_OK(sockrt_close(cfg));
}

static void client_to_s_server_mtls(int v)
{
    char port_arg[32], what[128], reply[16384];
    uint16_t port = free_port();
    snprintf(port_arg, sizeof port_arg, "127.0.0.1:%u", port);
    char *argv[] = { "timeout", "60", "openssl", "s_server", "-accept", port_arg,
                     "-cert", pki_path("server.pem"), "-key", pki_path("server.key"),
                     "-CAfile", pki_path("ca.pem"), "-Verify", "1", "-verify_return_error",
                     (char *)vflag(v), "-www", "-naccept", "2", NULL };
    struct proc s;
    start(&s, argv);
    CHECK_LOG(wait_output(&s, "ACCEPT", T), s.log);

    /* Without a client certificate: refused (in TLS 1.3 the refusal comes
       after our side of the handshake, at the first receive). */
    sockrt_handle bare = pki_client_config(), c = 0;
    int32_t rc = sockrt_tls_connect("localhost", port, bare, NULL, T, &c);
    if (rc == SOCKRT_OK) {
        char b[64];
        CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_READ_TIMEOUT_MS, T));
        (void)sockrt_send_all(c, "GET / HTTP/1.0\r\n\r\n", 18);
        int64_t n = sockrt_recv(c, b, sizeof b);
        CHECK_MSG(n == SOCKRT_E_TLS_PROTOCOL || n == SOCKRT_E_TLS_HANDSHAKE,
                  "recv without a client certificate returned %" PRId64, n);
        CHECK_OK(sockrt_close(c));
        CHECK(v == SOCKRT_TLS_1_3);
    } else {
        CHECK_EQ(rc, SOCKRT_E_TLS_HANDSHAKE);
    }
    /* With one. */
    sockrt_handle cfg = pki_client_config();
    size_t clen, klen;
    char *cert = pki_read("client.pem", &clen), *key = pki_read("client.key", &klen);
    CHECK_OK(sockrt_tls_client_config_set_client_cert(cfg, cert, clen, key, klen));
    free(cert);
    free(key);
    CHECK_OK(sockrt_tls_connect("localhost", port, cfg, NULL, T, &c));
    CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_READ_TIMEOUT_MS, T));
    http_get(c, reply, sizeof reply);
    CHECK_LOG(strstr(reply, "New, ") != NULL, reply);
    CHECK_OK(sockrt_close(c));
    CHECK_EQ(finish(&s, 0), 0);
    snprintf(what, sizeof what, "openssl s_server <- libsockrt client, TLS %s, mutual TLS (refused without a certificate)", vname(v));
    pass(what);
    CHECK_OK(sockrt_close(cfg));
    CHECK_OK(sockrt_close(bare));
}

/* ---- openssl s_client -> libsockrt server ------------------------------ */

struct echo_args {
    sockrt_handle listener, cfg;
    int rounds;
    int32_t rc[4];
    int resumed[4], clean_end[4];
    char subject[4][128];
};

static void *echo_server(void *arg)
{
    struct echo_args *a = arg;
    for (int i = 0; i < a->rounds; i++) {
        sockrt_handle c = 0;
        a->rc[i] = sockrt_tls_accept(a->listener, a->cfg, T, &c);
        if (a->rc[i] != SOCKRT_OK)
            continue;
        sockrt_tls_info info;
        CHECK_OK(sockrt_tls_get_info(c, &info));
        a->resumed[i] = info.resumed;
        if (info.peer_certificate)
            CHECK(sockrt_tls_peer_subject(c, a->subject[i], sizeof a->subject[i]) > 0);
        CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_READ_TIMEOUT_MS, T));
        char buf[4096];
        int64_t n;
        while ((n = sockrt_recv(c, buf, sizeof buf)) > 0)
            CHECK_OK(sockrt_send_all(c, buf, (size_t)n));
        a->clean_end[i] = n == 0;
        CHECK_OK(sockrt_close(c));
    }
    return NULL;
}

static void s_client_to_server(int v, int mtls)
{
    struct echo_args a = { 0 };
    uint16_t port;
    char connect[32], what[160], sess[300];
    a.listener = listen_any("127.0.0.1", &port);
    CHECK_OK(sockrt_set_option(a.listener, SOCKRT_OPT_READ_TIMEOUT_MS, T));
    a.cfg = pki_server_config("chain.pem", "server.key");
    CHECK_OK(sockrt_tls_config_add_alpn(a.cfg, "echo/1", 6));
    if (mtls) {
        size_t len;
        char *ca = pki_read("ca.pem", &len);
        CHECK_OK(sockrt_tls_server_config_verify_clients(a.cfg, ca, len, 1));
        free(ca);
    }
    a.rounds = 2;
    pthread_t t = spawn(echo_server, &a);
    snprintf(connect, sizeof connect, "127.0.0.1:%u", port);
    snprintf(sess, sizeof sess, "%s", pki_path(v == SOCKRT_TLS_1_3 ? "sess13" : "sess12"));
    for (int round = 0; round < 2; round++) {
        char *argv[24];
        int n = 0;
        argv[n++] = "timeout"; argv[n++] = "30"; argv[n++] = "openssl"; argv[n++] = "s_client";
        argv[n++] = "-connect"; argv[n++] = connect; argv[n++] = "-servername"; argv[n++] = "localhost";
        argv[n++] = "-CAfile"; argv[n++] = pki_path("ca.pem"); argv[n++] = "-verify_return_error";
        argv[n++] = (char *)vflag(v); argv[n++] = "-alpn"; argv[n++] = "echo/1";
        argv[n++] = round == 0 ? "-sess_out" : "-sess_in"; argv[n++] = sess;
        if (mtls) {
            argv[n++] = "-cert"; argv[n++] = pki_path("client.pem");
            argv[n++] = "-key"; argv[n++] = pki_path("client.key");
        }
        argv[n] = NULL;
        struct proc c;
        start(&c, argv);
        CHECK_LOG(wait_output(&c, "Verify return code: 0 (ok)", T), c.log);
        CHECK_LOG(strstr(c.log, "ALPN protocol: echo/1") != NULL, c.log);
        CHECK_LOG(strstr(c.log, round == 0 ? "New, TLSv1." : "Reused, TLSv1.") != NULL, c.log);
        CHECK(write(c.in, "hello interop\n", 14) == 14);
        CHECK_LOG(wait_output(&c, "hello interop\n", T), c.log);
        /* In TLS 1.3 the session ticket comes after the handshake; wait a
           moment for s_client to store it before it quits. */
        if (round == 0)
            sleep_ms(200);
        CHECK_EQ(finish(&c, 0), 0); /* stdin closed: s_client sends close_notify */
    }
    join(t);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(a.rc[i], SOCKRT_OK);
        CHECK_EQ(a.resumed[i], i == 1);
        CHECK_MSG(a.clean_end[i], "the server saw truncation, not close_notify");
        if (mtls)
            CHECK(strcmp(a.subject[i], "CN=client,O=sockrt test") == 0);
    }
    snprintf(what, sizeof what, "openssl s_client -> libsockrt server, TLS %s, ALPN, resumption%s, close_notify",
             vname(v), mtls ? ", mutual TLS" : "");
    pass(what);
    CHECK_OK(sockrt_close(a.cfg));
    CHECK_OK(sockrt_close(a.listener));
}

/* ---- curl -> libsockrt HTTPS server ------------------------------------ */

struct https_args {
    sockrt_handle listener, cfg;
    int32_t rc;
    int version;
    char alpn[32];
};

static void *https_server(void *arg)
{
    struct https_args *a = arg;
    sockrt_handle c = 0;
    a->rc = sockrt_tls_accept(a->listener, a->cfg, T, &c);
    if (a->rc != SOCKRT_OK)
        return NULL;
    sockrt_tls_info info;
    CHECK_OK(sockrt_tls_get_info(c, &info));
    a->version = info.version;
    memcpy(a->alpn, info.alpn, info.alpn_len < sizeof a->alpn - 1 ? info.alpn_len : sizeof a->alpn - 1);
    CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_READ_TIMEOUT_MS, T));
    char req[4096];
    size_t got = 0;
    while (got < sizeof req - 1) {
        int64_t n = sockrt_recv(c, req + got, sizeof req - 1 - got);
        CHECK_OK(n);
        CHECK(n > 0);
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 17\r\nConnection: close\r\n\r\nhello from sockrt";
    CHECK_OK(sockrt_send_all(c, resp, strlen(resp)));
    CHECK_OK(sockrt_shutdown(c, SOCKRT_SHUT_WRITE));
    CHECK_OK(sockrt_close(c));
    return NULL;
}

static void curl_to_server(int v)
{
    struct https_args a = { 0 };
    uint16_t port;
    char url[64], what[128];
    a.listener = listen_any("127.0.0.1", &port);
    CHECK_OK(sockrt_set_option(a.listener, SOCKRT_OPT_READ_TIMEOUT_MS, T));
    a.cfg = pki_server_config("chain.pem", "server.key");
    CHECK_OK(sockrt_tls_config_add_alpn(a.cfg, "http/1.1", 8));
    pthread_t t = spawn(https_server, &a);
    snprintf(url, sizeof url, "https://localhost:%u/", port);
    char *argv[] = { "timeout", "30", "curl", "-sS", "--http1.1", "--cacert", pki_path("ca.pem"),
                     v == SOCKRT_TLS_1_3 ? "--tlsv1.3" : "--tlsv1.2",
                     "--tls-max", (char *)vname(v), url, NULL };
    struct proc c;
    start(&c, argv);
    CHECK_LOG(wait_output(&c, "hello from sockrt", T), c.log);
    CHECK_EQ(finish(&c, 0), 0);
    join(t);
    CHECK_EQ(a.rc, SOCKRT_OK);
    CHECK_EQ(a.version, v);
    CHECK(strcmp(a.alpn, "http/1.1") == 0);
    snprintf(what, sizeof what, "curl -> libsockrt HTTPS server, TLS %s, ALPN http/1.1", vname(v));
    pass(what);
    CHECK_OK(sockrt_close(a.cfg));
    CHECK_OK(sockrt_close(a.listener));
}

int main(void)
{
    TEST_BEGIN("tls interop (openssl, curl)");
    signal(SIGPIPE, SIG_IGN);
    pki_make();
    int versions[2] = { SOCKRT_TLS_1_2, SOCKRT_TLS_1_3 };
    for (int i = 0; i < 2; i++) {
        client_to_s_server(versions[i]);
        client_to_s_server_mtls(versions[i]);
        s_client_to_server(versions[i], 0);
        s_client_to_server(versions[i], 1);
        curl_to_server(versions[i]);
    }
    pki_cleanup();
    TEST_END("tls interop (openssl, curl)");
    return 0;
}
