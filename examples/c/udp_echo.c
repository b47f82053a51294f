/*
 * udp_echo: a UDP echo server and client in one program.
 *
 *   usage: udp_echo server HOST PORT [SECONDS]
 *          udp_echo client HOST PORT [COUNT]
 *
 * The server binds a datagram socket (port 0 picks a free port), prints
 * "LISTENING <host> <port>" and sends every datagram back to its sender
 * until SIGINT/SIGTERM or SECONDS (default 30) pass; a watcher thread then
 * closes the socket, which wakes the blocked sockrt_recv_from.
 *
 * The client sends COUNT datagrams of 1..4096 bytes and checks each echo.
 * UDP may drop datagrams, so a datagram whose echo does not come back
 * within a second is sent again (at most 3 times); late echoes of earlier
 * datagrams are recognised by their contents and skipped. The last line is
 *
 *   RESULT messages=<n> bytes=<verified bytes> mean_rtt_us=<float>
 *
 * and the exit status is 0 only if every datagram came back intact.
 */
#define EXAMPLE_NAME "udp_echo"
#include "common.h"

#define DEFAULT_COUNT 100
#define DEFAULT_SECONDS 30
#define REPLY_TIMEOUT_MS 1000
#define SEND_ATTEMPTS 3
/* Stray datagrams tolerated while waiting for one echo. */
#define MAX_STRAY 16

/* The local address the client binds: loopback when talking to loopback
 * (nothing else on the machine can reach the socket), else every interface
 * of the server's family. */
static const char *local_host_for(const char *server_host) {
    if (strcmp(server_host, "::1") == 0) {
        return "::1";
    }
    if (strncmp(server_host, "127.", 4) == 0 || strcmp(server_host, "localhost") == 0) {
        return "127.0.0.1";
    }
    return strchr(server_host, ':') != NULL ? "::" : "0.0.0.0";
}

/* ---- server ---------------------------------------------------------- */

/* Echoes datagrams until the watcher closes the socket. */
static int echo_datagrams(sockrt_handle sock) {
    static unsigned char buffer[65536];
    char peer[SOCKRT_ADDR_MAX];
    for (;;) {
        uint16_t peer_port = 0;
        int64_t n = sockrt_recv_from(sock, buffer, sizeof buffer, peer, sizeof peer, &peer_port);
        if (n == SOCKRT_E_CLOSED || n == SOCKRT_E_BAD_HANDLE) {
            return 0; /* closed by the watcher: a requested stop */
        }
        if (n < 0) {
            report_error("recv_from", n);
            return 1;
        }
        int64_t sent = sockrt_send_to(sock, buffer, (size_t)n, peer, peer_port);
        if (sent == SOCKRT_E_CLOSED || sent == SOCKRT_E_BAD_HANDLE) {
            return 0;
        }
        if (sent < 0) {
            /* One unreachable sender must not stop the server. */
            report_error("send_to", sent);
        }
    }
}

static int run_server(const char *host, uint16_t port, long seconds) {
    struct watcher watcher;
    if (watcher_block(&watcher, seconds) != 0) {
        return 1;
    }
    sockrt_handle sock = 0;
    int32_t rc = sockrt_udp_bind(host, port, &sock);
    if (rc != SOCKRT_OK) {
        report_error("udp_bind", rc);
        return 1;
    }
    char bound_host[SOCKRT_ADDR_MAX];
    uint16_t bound_port = 0;
    rc = sockrt_local_addr(sock, bound_host, sizeof bound_host, &bound_port);
    if (rc != SOCKRT_OK) {
        report_error("local_addr", rc);
        sockrt_close(sock);
        return 1;
    }
    printf("LISTENING %s %u\n", bound_host, (unsigned)bound_port);
    fflush(stdout);

    if (watcher_start(&watcher, sock) != 0) {
        sockrt_close(sock);
        return 1;
    }
    /* The watcher closes the socket, which ends the echo loop. */
    int status = echo_datagrams(sock);
    watcher_join(&watcher, status != 0);
    return status;
}

/* ---- client ---------------------------------------------------------- */

/* Waits for the echo of `sent`, skipping late echoes of earlier datagrams.
 * Returns 0 when it arrived, SOCKRT_E_TIMEOUT when it did not, another
 * negative code on failure. */
static int64_t await_echo(sockrt_handle sock, const unsigned char *sent, size_t len) {
    static unsigned char reply[MAX_MESSAGE + 1];
    for (int stray = 0; stray <= MAX_STRAY; stray++) {
        int64_t n = sockrt_recv_from(sock, reply, sizeof reply, NULL, 0, NULL);
        if (n < 0) {
            return n;
        }
        if ((size_t)n == len && memcmp(reply, sent, len) == 0) {
            return 0;
        }
    }
    fprintf(stderr, "udp_echo: too many unexpected datagrams\n");
    return SOCKRT_E_IO;
}

/* Sends datagram i and waits for its echo, resending after a timeout. */
static int echo_one(sockrt_handle sock, const char *host, uint16_t port, long i) {
    static unsigned char sent[MAX_MESSAGE];
    size_t len = message_size(i);
    fill_message(sent, len, i);
    for (int attempt = 0; attempt < SEND_ATTEMPTS; attempt++) {
        int64_t n = sockrt_send_to(sock, sent, len, host, port);
        if (n < 0) {
            report_error("send_to", n);
            return -1;
        }
        n = await_echo(sock, sent, len);
        if (n == 0) {
            return 0;
        }
        if (n != SOCKRT_E_TIMEOUT) {
            report_error("recv_from", n);
            return -1;
        }
    }
    fprintf(stderr, "udp_echo: no echo for datagram %ld after %d attempts\n", i,
            SEND_ATTEMPTS);
    return -1;
}

static int run_client(const char *host, uint16_t port, long count) {
    sockrt_handle sock = 0;
    int32_t rc = sockrt_udp_bind(local_host_for(host), 0, &sock);
    if (rc != SOCKRT_OK) {
        report_error("udp_bind", rc);
        return 1;
    }
    rc = sockrt_set_option(sock, SOCKRT_OPT_READ_TIMEOUT_MS, REPLY_TIMEOUT_MS);
    if (rc != SOCKRT_OK) {
        report_error("set_option", rc);
        sockrt_close(sock);
        return 1;
    }
    long messages = 0;
    unsigned long long verified = 0;
    double total_rtt_us = 0;
    for (long i = 0; i < count; i++) {
        double start = now_us();
        if (echo_one(sock, host, port, i) != 0) {
            break;
        }
        total_rtt_us += now_us() - start;
        messages++;
        verified += message_size(i);
    }
    int ok = messages == count;
    rc = sockrt_close(sock);
    if (rc != SOCKRT_OK) {
        report_error("close", rc);
        ok = 0;
    }
    printf("RESULT messages=%ld bytes=%llu mean_rtt_us=%.1f\n", messages, verified,
           messages > 0 ? total_rtt_us / (double)messages : 0.0);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    long port = 0, extra = 0;
    int is_server = argc >= 2 && strcmp(argv[1], "server") == 0;
    int is_client = argc >= 2 && strcmp(argv[1], "client") == 0;
    if ((!is_server && !is_client) || argc < 4 || argc > 5 ||
        parse_number(argv[3], is_server ? 0 : 1, 65535, &port) != 0 ||
        (argc == 5 && parse_number(argv[4], 1, is_server ? 86400 : 10000000, &extra) != 0)) {
        fprintf(stderr, "usage: %s server HOST PORT [SECONDS]\n"
                        "       %s client HOST PORT [COUNT]\n",
                argv[0], argv[0]);
        return 2;
    }
    if (is_server) {
        return run_server(argv[2], (uint16_t)port, argc == 5 ? extra : DEFAULT_SECONDS);
    }
    return run_client(argv[2], (uint16_t)port, argc == 5 ? extra : DEFAULT_COUNT);
}
