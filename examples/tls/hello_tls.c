#include <pthread.h>
#include <sockrt.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what)
{
    char msg[256];
    sockrt_last_error_message(msg, sizeof msg);
    fprintf(stderr, "%s failed: %s (%s)\n", what, msg, sockrt_error_name(sockrt_last_error()));
    return 1;
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    char *buf = malloc(1 << 16);
    *len = f && buf ? fread(buf, 1, 1 << 16, f) : 0;
    if (f) fclose(f);
    return buf;
}

static sockrt_handle listener, server_cfg;

static void *serve(void *arg)
{
    sockrt_handle conn;
    char buf[5];
    (void)arg;
    for (int i = 0; i < 2; i++) {
        /* accept + TLS handshake; then the ordinary data calls */
        if (sockrt_tls_accept(listener, server_cfg, 5000, &conn) != SOCKRT_OK) continue;
        if (sockrt_recv_exact(conn, buf, 5) == SOCKRT_OK) sockrt_send_all(conn, buf, 5);
        sockrt_close(conn); /* sends close_notify */
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *pki = argc > 1 ? argv[1] : ".";  /* ca.pem, chain.pem, server.key */
    size_t cert_len, key_len, ca_len;
    char *cert = slurp(pki, "chain.pem", &cert_len), *key = slurp(pki, "server.key", &key_len);
    char *ca = slurp(pki, "ca.pem", &ca_len), reply[5];
    sockrt_handle client_cfg, conn;
    sockrt_tls_info info;
    uint16_t port;
    pthread_t t;

    /* server: a config with its certificate chain and key */
    if (sockrt_tls_server_config_new(cert, cert_len, key, key_len, &server_cfg) != SOCKRT_OK)
        return fail("server config");
    if (sockrt_tcp_listen("127.0.0.1", 0, 16, &listener) != SOCKRT_OK) return fail("listen");
    sockrt_local_addr(listener, NULL, 0, &port);
    pthread_create(&t, NULL, serve, NULL);

    /* client: trusts the system's roots by default; add our test CA */
    if (sockrt_tls_client_config_new(&client_cfg) != SOCKRT_OK) return fail("client config");
    if (sockrt_tls_client_config_add_ca_pem(client_cfg, ca, ca_len) != SOCKRT_OK) return fail("add CA");
    /* resolve, connect, handshake, verify "localhost": one call */
    if (sockrt_tls_connect("localhost", port, client_cfg, NULL, 5000, &conn) != SOCKRT_OK)
        return fail("tls_connect");
    if (sockrt_exchange(conn, "hello", 5, reply, 5) != SOCKRT_OK) return fail("exchange");
    sockrt_tls_get_info(conn, &info);
    printf("echoed \"%.5s\" over %s, %s\n", reply,
           info.version == SOCKRT_TLS_1_3 ? "TLS 1.3" : "TLS 1.2", info.cipher_suite_name);

    sockrt_close(conn);
    /* the wrong name fails verification, with the reason */
    if (sockrt_tls_connect("127.0.0.1", port, client_cfg, "example.com", 5000, &conn) != SOCKRT_OK)
        fail("tls_connect as example.com");
    pthread_join(t, NULL);
    sockrt_close(client_cfg);
    sockrt_close(server_cfg);
    sockrt_close(listener);
    free(cert);
    free(key);
    free(ca);
    return 0;
}
