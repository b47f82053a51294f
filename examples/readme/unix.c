#include <sockrt.h>
#include <stdio.h>
#include <unistd.h>

static int fail(const char *what)
{
    char msg[256];
    sockrt_last_error_message(msg, sizeof msg);
    fprintf(stderr, "%s failed: %s (%s)\n", what, msg, sockrt_error_name(sockrt_last_error()));
    return 1;
}

/* A Unix stream socket on a path, its peer's credentials, and socketpair. */
int main(void)
{
    char path[64], host[SOCKRT_UNIX_PATH_MAX], buf[5];
    sockrt_handle server, client, conn, pair[2];
    int32_t pid;
    uint32_t uid, gid;
    uint16_t port;

    snprintf(path, sizeof path, "/tmp/sockrt-readme-%d.sock", (int)getpid());
    /* bind + listen on a path ("@name" would be Linux's abstract namespace) */
    if (sockrt_unix_listen(path, 16, &server) != SOCKRT_OK) return fail("unix_listen");
    if (sockrt_unix_connect(path, 1000, &client) != SOCKRT_OK) return fail("unix_connect");
    if (sockrt_accept(server, &conn) != SOCKRT_OK) return fail("accept");
    if (sockrt_peer_addr(client, host, sizeof host, &port) != SOCKRT_OK) return fail("peer_addr");
    if (sockrt_peer_cred(conn, &pid, &uid, &gid) != SOCKRT_OK) return fail("peer_cred");
    printf("connected to %s (port %u); peer pid is ours: %s\n", host, port,
           pid == getpid() ? "yes" : "no");

    /* every data call, timeout and close works as on TCP */
    if (sockrt_send_all(client, "hello", 5) != SOCKRT_OK) return fail("send_all");
    if (sockrt_recv_exact(conn, buf, sizeof buf) != SOCKRT_OK) return fail("recv_exact");
    printf("server got \"%.5s\"\n", buf);

    /* two connected sockets, e.g. for a parent and a forked worker */
    if (sockrt_socketpair(SOCKRT_STREAM, pair) != SOCKRT_OK) return fail("socketpair");
    if (sockrt_send_all(pair[0], "pair!", 5) != SOCKRT_OK) return fail("send_all");
    if (sockrt_recv_exact(pair[1], buf, sizeof buf) != SOCKRT_OK) return fail("recv_exact");
    printf("socketpair carried \"%.5s\"\n", buf);

    sockrt_close(pair[0]);
    sockrt_close(pair[1]);
    sockrt_close(conn);
    sockrt_close(client);
    sockrt_close(server); /* removes the socket file it created */
    printf("socket file left behind: %s\n", access(path, F_OK) == 0 ? "yes" : "no");
    return 0;
}
