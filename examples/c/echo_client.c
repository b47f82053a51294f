/*
 * echo_client: sends COUNT messages to an echo server and verifies each echo.
 *
 *   usage: echo_client HOST PORT [COUNT]
 *
 * A HOST with a '/' in it is a Unix socket path (PORT 0, sockrt_unix_connect).
 *
 * Message i is 1..4096 bytes long with deterministic contents; its echo is
 * read back with sockrt_recv_exact and compared byte for byte. The last line
 * printed is
 *
 *   RESULT messages=<n> bytes=<verified bytes> mean_rtt_us=<float>
 *
 * and the exit status is 0 only if every byte came back intact.
 */
#define EXAMPLE_NAME "echo_client"
#include "common.h"

#define DEFAULT_COUNT 100
#define CONNECT_TIMEOUT_MS 5000
/* No single echo should take this long on a working server: fail rather
 * than hang. */
#define READ_TIMEOUT_MS 10000

/* Connects with read timeout and (TCP) no Nagle delay. Returns the handle or 0. */
static sockrt_handle connect_to(const char *host, uint16_t port, int unix_socket) {
    sockrt_handle conn = 0;
    int32_t rc = unix_socket ? sockrt_unix_connect(host, CONNECT_TIMEOUT_MS, &conn)
                             : sockrt_tcp_connect(host, port, CONNECT_TIMEOUT_MS, &conn);
    if (rc != SOCKRT_OK) {
        report_error("connect", rc);
        return 0;
    }
    rc = sockrt_set_option(conn, SOCKRT_OPT_READ_TIMEOUT_MS, READ_TIMEOUT_MS);
    if (rc == SOCKRT_OK && !unix_socket) {
        rc = sockrt_set_option(conn, SOCKRT_OPT_NODELAY, 1);
    }
    if (rc != SOCKRT_OK) {
        report_error("set_option", rc);
        sockrt_close(conn);
        return 0;
    }
    return conn;
}

int main(int argc, char **argv) {
    long port = 0, count = DEFAULT_COUNT;
    int unix_socket = argc > 1 && strchr(argv[1], '/') != NULL;
    if (argc < 3 || argc > 4 || parse_number(argv[2], unix_socket ? 0 : 1, 65535, &port) != 0 ||
        (argc == 4 && parse_number(argv[3], 1, 10000000, &count) != 0)) {
        fprintf(stderr, "usage: %s HOST PORT [COUNT]\n", argv[0]);
        return 2;
    }
    sockrt_handle conn = connect_to(argv[1], (uint16_t)port, unix_socket);
    if (conn == 0) {
        return 1;
    }

    static unsigned char sent[MAX_MESSAGE], echoed[MAX_MESSAGE];
    long messages = 0;
    unsigned long long verified = 0;
    double total_rtt_us = 0;
    int ok = 1;
    for (long i = 0; i < count && ok; i++) {
        size_t len = message_size(i);
        fill_message(sent, len, i);
        double start = now_us();
        int32_t rc = sockrt_send_all(conn, sent, len);
        if (rc != SOCKRT_OK) {
            report_error("send_all", rc);
            ok = 0;
            break;
        }
        rc = sockrt_recv_exact(conn, echoed, len);
        if (rc != SOCKRT_OK) {
            report_error("recv_exact", rc);
            ok = 0;
            break;
        }
        total_rtt_us += now_us() - start;
        if (memcmp(sent, echoed, len) != 0) {
            fprintf(stderr, "echo_client: message %ld came back altered\n", i);
            ok = 0;
            break;
        }
        messages++;
        verified += len;
    }

    /* Tell the server we are done, then release the handle. */
    int32_t rc = sockrt_shutdown(conn, SOCKRT_SHUT_WRITE);
    if (rc != SOCKRT_OK && ok) {
        report_error("shutdown", rc);
    }
    rc = sockrt_close(conn);
    if (rc != SOCKRT_OK) {
        report_error("close", rc);
        ok = 0;
    }
    printf("RESULT messages=%ld bytes=%llu mean_rtt_us=%.1f\n", messages, verified,
           messages > 0 ? total_rtt_us / (double)messages : 0.0);
    return ok && messages == count ? 0 : 1;
}
