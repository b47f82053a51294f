#include <sockrt.h>
#include <stdio.h>

/* Every call returns a status; on failure the library says what and why. */
static int fail(const char *what)
{
    char msg[256];
    sockrt_last_error_message(msg, sizeof msg);
    fprintf(stderr, "%s failed: %s (%s)\n", what, msg, sockrt_error_name(sockrt_last_error()));
    return 1;
}

int main(void)
{
    sockrt_handle server, client, conn;
    char host[SOCKRT_ADDR_MAX], buf[5];
    uint16_t port;

    /* server: socket -> bind -> listen (port 0: any free port) */
    if (sockrt_tcp_listen("127.0.0.1", 0, 16, &server) != SOCKRT_OK) return fail("listen");
    if (sockrt_local_addr(server, host, sizeof host, &port) != SOCKRT_OK) return fail("local_addr");

    /* client: socket -> connect; accept hands the server a new connected socket */
    if (sockrt_tcp_connect(host, port, 1000, &client) != SOCKRT_OK) return fail("connect");
    if (sockrt_accept(server, &conn) != SOCKRT_OK) return fail("accept");

    if (sockrt_send_all(client, "hello", 5) != SOCKRT_OK) return fail("send_all");
    if (sockrt_recv_exact(conn, buf, sizeof buf) != SOCKRT_OK) return fail("recv_exact");
    printf("server got \"%.5s\" on %s:%u\n", buf, host, port);

    sockrt_close(conn);
    sockrt_close(client);
    sockrt_close(server);
    sockrt_close(server); /* a closed handle is an error, never a crash */
    printf("closing twice: %s\n", sockrt_error_name(sockrt_last_error()));
    printf("open handles: %llu\n", (unsigned long long)sockrt_open_handles());
    return 0;
}
