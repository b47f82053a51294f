/*
 * Unix domain sockets through the ordinary calls: paths and '@' abstract
 * names, stream and datagram, addresses as text with port 0, socketpair,
 * close waking calls really blocked on a Unix socket, poll and exchange,
 * peer credentials, descriptors passed across fork (and a peer that dies
 * holding one), the pool on a path, the socket file's life, bad input, and
 * real peers: Python's socket module (AF_UNIX streams, datagrams and
 * socket.send_fds/recv_fds), socat, and Java NIO channels on a
 * UnixDomainSocketAddress.
 */
#include "check.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define IO_TIMEOUT_MS 5000

static char dir[128];

static void path_in_dir(char *out, size_t cap, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    CHECK(n > 0 && (size_t)n < cap);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void set_timeouts(sockrt_handle h)
{
    CHECK_OK(sockrt_set_option(h, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    CHECK_OK(sockrt_set_option(h, SOCKRT_OPT_WRITE_TIMEOUT_MS, IO_TIMEOUT_MS));
}

/* Echoes n bytes back on h, then returns. */
struct echo_args {
    sockrt_handle h;
    size_t n;
};

static void *echo(void *arg)
{
    struct echo_args *a = arg;
    char buf[8192];
    size_t done = 0;
    while (done < a->n) {
        int64_t n = sockrt_recv(a->h, buf, sizeof buf);
        CHECK(n > 0);
        CHECK_OK(sockrt_send_all(a->h, buf, (size_t)n));
        done += (size_t)n;
    }
    return NULL;
}

/* ---- stream on a path, through the step-by-step calls --------------------- */

static void check_stream_on_a_path(void)
{
    char path[256], host[SOCKRT_UNIX_PATH_MAX], small[8];
    uint16_t port = 99;
    sockrt_handle l, c, s;
    SAY("socket/bind/listen/accept/connect on a path; addresses are the path, port 0");
    path_in_dir(path, sizeof path, "stream.sock");
    CHECK_OK(sockrt_socket(SOCKRT_UNIX, SOCKRT_STREAM, &l));
    CHECK_ERR(sockrt_bind(l, path, 80), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_listen(l, 4), SOCKRT_E_INVALID_STATE); /* not bound yet */
    CHECK_OK(sockrt_bind(l, path, 0));
    CHECK(exists(path));
    CHECK_OK(sockrt_listen(l, 4));
    CHECK_OK(sockrt_local_addr(l, host, sizeof host, &port));
    CHECK_MSG(strcmp(host, path) == 0, "local_addr %s", host);
    CHECK_EQ(port, 0);
    CHECK_ERR(sockrt_local_addr(l, small, sizeof small, NULL), SOCKRT_E_INVALID_ARGUMENT);

    CHECK_OK(sockrt_socket(SOCKRT_UNIX, SOCKRT_STREAM, &c));
    CHECK_ERR(sockrt_connect(c, path, 1, IO_TIMEOUT_MS), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_OK(sockrt_connect(c, path, 0, IO_TIMEOUT_MS));
    CHECK_OK(sockrt_accept(l, &s));
    set_timeouts(c);
    set_timeouts(s);
    port = 99;
    CHECK_OK(sockrt_peer_addr(c, host, sizeof host, &port));
    CHECK_MSG(strcmp(host, path) == 0, "peer_addr %s", host);
    CHECK_EQ(port, 0);
    CHECK_OK(sockrt_peer_addr(s, host, sizeof host, &port)); /* client unnamed */
    CHECK_MSG(host[0] == '\0', "an unnamed peer reads as \"\", got \"%s\"", host);

    /* Data calls, poll and exchange, unchanged. */
    static unsigned char big[200000], back[200000];
    fill_pattern(big, sizeof big, 7);
    CHECK_EQ(sockrt_send(c, "hello", 5), 5);
    char buf[16];
    CHECK_OK(sockrt_recv_exact(s, buf, 5));
    CHECK(memcmp(buf, "hello", 5) == 0);
    sockrt_handle hs[1] = { s };
    uint32_t ev[1] = { SOCKRT_POLL_IN };
    CHECK_EQ(sockrt_poll(hs, ev, 1, 0), 0);
    CHECK_OK(sockrt_send_all(c, "x", 1));
    ev[0] = SOCKRT_POLL_IN;
    CHECK_EQ(sockrt_poll(hs, ev, 1, IO_TIMEOUT_MS), 1);
    CHECK(ev[0] & SOCKRT_POLL_IN);
    CHECK_EQ(sockrt_recv(s, buf, sizeof buf), 1);
    /* A peer thread echoes 200000 bytes while this one sends them. */
    struct echo_args args = { s, sizeof big };
    pthread_t t = spawn(echo, &args);
    CHECK_OK(sockrt_send_all(c, big, sizeof big));
    CHECK_OK(sockrt_recv_exact(c, back, sizeof back));
    join(t);
    CHECK(memcmp(big, back, sizeof big) == 0);
    t = spawn(echo, &(struct echo_args){ s, 8 });
    CHECK_OK(sockrt_exchange(c, "12345678", 8, buf, 8));
    join(t);
    CHECK(memcmp(buf, "12345678", 8) == 0);
    /* A read timeout on a Unix socket. */
    CHECK_OK(sockrt_set_option(c, SOCKRT_OPT_READ_TIMEOUT_MS, 30));
    CHECK_ERR(sockrt_recv(c, buf, sizeof buf), SOCKRT_E_TIMEOUT);
    CHECK_ERR(sockrt_set_option(c, SOCKRT_OPT_NODELAY, 1), SOCKRT_E_WRONG_KIND);
    CHECK_OK(sockrt_shutdown(c, SOCKRT_SHUT_WRITE));
    CHECK_EQ(sockrt_recv(s, buf, sizeof buf), 0);
    CHECK_OK(sockrt_close(c));
    CHECK_OK(sockrt_close(s));
    CHECK_OK(sockrt_close(l));
    CHECK_MSG(!exists(path), "the listener's close removes the socket file it made");
}

/* ---- abstract names and the shortcuts -------------------------------------- */

static void check_abstract_names(void)
{
    char name[64], host[SOCKRT_UNIX_PATH_MAX];
    sockrt_handle l, c, s, d;
    SAY("abstract names: sockrt_unix_listen/connect on \"@name\"; \"@\" autobinds");
    snprintf(name, sizeof name, "@sockrt-c-test-%d", (int)getpid());
    CHECK_OK(sockrt_unix_listen(name, 0, &l));
    CHECK_OK(sockrt_local_addr(l, host, sizeof host, NULL));
    CHECK_MSG(strcmp(host, name) == 0, "local_addr %s", host);
    CHECK_OK(sockrt_unix_connect(name, IO_TIMEOUT_MS, &c));
    CHECK_OK(sockrt_accept(l, &s));
    CHECK_OK(sockrt_send_all(c, "ab", 2));
    char buf[2];
    CHECK_OK(sockrt_recv_exact(s, buf, 2));
    CHECK(memcmp(buf, "ab", 2) == 0);
    CHECK_ERR(sockrt_unix_listen(name, 0, &d), SOCKRT_E_ADDRESS_IN_USE);
    CHECK_OK(sockrt_socket(SOCKRT_UNIX, SOCKRT_DGRAM, &d));
    CHECK_OK(sockrt_bind(d, "@", 0));
    CHECK_OK(sockrt_local_addr(d, host, sizeof host, NULL));
    CHECK_MSG(host[0] == '@' && strlen(host) > 1, "autobound name \"%s\"", host);
    CHECK_ERR(sockrt_unix_connect("@", IO_TIMEOUT_MS, &d), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_OK(sockrt_close(d));
    CHECK_OK(sockrt_close(c));
    CHECK_OK(sockrt_close(s));
    CHECK_OK(sockrt_close(l));
}

/* ---- datagrams ------------------------------------------------------------- */

static void check_datagrams(void)
{
    char a_path[256], b_path[256], host[SOCKRT_UNIX_PATH_MAX], buf[32];
    uint16_t port = 9;
    sockrt_handle a, b, u;
    SAY("datagrams: send_to/recv_from with path addresses; a short host buffer loses nothing");
    path_in_dir(a_path, sizeof a_path, "a.dgram");
    path_in_dir(b_path, sizeof b_path, "b.dgram");
    CHECK_OK(sockrt_socket(SOCKRT_UNIX, SOCKRT_DGRAM, &a));
    CHECK_OK(sockrt_socket(SOCKRT_UNIX, SOCKRT_DGRAM, &b));
    CHECK_OK(sockrt_bind(a, a_path, 0));
    CHECK_OK(sockrt_bind(b, b_path, 0));
    set_timeouts(b);
    CHECK_EQ(sockrt_send_to(a, "one", 3, b_path, 0), 3);
    CHECK_ERR(sockrt_recv_from(b, buf, sizeof buf, host, SOCKRT_ADDR_MAX, &port),
              SOCKRT_E_INVALID_ARGUMENT);
    CHECK_EQ(sockrt_recv_from(b, buf, sizeof buf, host, sizeof host, &port), 3);
    CHECK(memcmp(buf, "one", 3) == 0);
    CHECK_MSG(strcmp(host, a_path) == 0, "sender %s", host);
    CHECK_EQ(port, 0);
    /* An unbound sender reads as "". */
    CHECK_OK(sockrt_socket(SOCKRT_UNIX, SOCKRT_DGRAM, &u));
    CHECK_EQ(sockrt_send_to(u, "two", 3, b_path, 0), 3);
    CHECK_EQ(sockrt_recv_from_flags(b, buf, sizeof buf, 0, host, sizeof host, NULL), 3);
    CHECK_MSG(host[0] == '\0', "unbound sender \"%s\"", host);
    /* connect sets the default peer. */
    CHECK_OK(sockrt_connect(u, b_path, 0, 0));
    CHECK_EQ(sockrt_send(u, "three", 5), 5);
    CHECK_EQ(sockrt_recv(b, buf, sizeof buf), 5);
    CHECK_ERR(sockrt_send_to(a, "x", 1, b_path, 53), SOCKRT_E_INVALID_ARGUMENT);
    char none[256];
    path_in_dir(none, sizeof none, "nobody.dgram");
    CHECK_ERR(sockrt_send_to(a, "x", 1, none, 0), SOCKRT_E_IO); /* ENOENT */
    CHECK_EQ(sockrt_last_os_error(), ENOENT);
    CHECK_OK(sockrt_close(u));
    CHECK_OK(sockrt_close(a));
    CHECK_OK(sockrt_close(b));
    CHECK(!exists(a_path) && !exists(b_path));
}

/* ---- close wakes calls really blocked on Unix sockets ---------------------- */

enum blocked_kind { BLOCK_RECV, BLOCK_ACCEPT, BLOCK_RECV_FROM, BLOCK_RECV_FDS };

struct blocked_call {
    sockrt_handle h;
    enum blocked_kind kind;
    atomic_int tid;
    atomic_int done;
    int64_t result;
    double ended_ms;
};

static void *blocked_worker(void *arg)
{
    struct blocked_call *call = arg;
    char buf[64];
    sockrt_handle out = 0;
    int fds[4];
    atomic_store(&call->tid, (int)syscall(SYS_gettid));
    switch (call->kind) {
    case BLOCK_RECV:
        call->result = sockrt_recv(call->h, buf, sizeof buf);
        break;
    case BLOCK_ACCEPT:
        call->result = sockrt_accept(call->h, &out);
        break;
    case BLOCK_RECV_FROM:
        call->result = sockrt_recv_from(call->h, buf, sizeof buf, NULL, 0, NULL);
        break;
    case BLOCK_RECV_FDS:
        call->result = sockrt_recv_fds(call->h, buf, sizeof buf, fds, 4, NULL);
        break;
    }
    call->ended_ms = now_ms();
    atomic_store(&call->done, 1);
    return NULL;
}

static void wait_until_blocked(struct blocked_call *call)
{
    wait_thread_blocked(&call->tid, &call->done);
}

/* The call has a 5 s timeout: without a wake it would end in TIMEOUT. */
static void close_wakes(sockrt_handle h, enum blocked_kind kind, const char *what)
{
    struct blocked_call call = { .h = h, .kind = kind };
    CHECK_OK(sockrt_set_option(h, SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
    pthread_t t = spawn(blocked_worker, &call);
    wait_until_blocked(&call);
    double closed_at = now_ms();
    CHECK_OK(sockrt_close(h));
    join(t);
    CHECK_MSG(call.result == SOCKRT_E_CLOSED, "%s ended with %s", what,
              sockrt_error_name((int32_t)call.result));
    printf("    %s woke %.2f ms after close\n", what, call.ended_ms - closed_at);
}

static void check_close_wakes(void)
{
    char path[256];
    sockrt_handle l, c, s, pair[2], d;
    SAY("close wakes a recv, accept, recv_from and recv_fds verified blocked (/proc) on Unix sockets");
    path_in_dir(path, sizeof path, "wake.sock");
    CHECK_OK(sockrt_unix_listen(path, 4, &l));
    close_wakes(l, BLOCK_ACCEPT, "accept");
    CHECK(!exists(path));
    CHECK_OK(sockrt_unix_listen(path, 4, &l));
    CHECK_OK(sockrt_unix_connect(path, IO_TIMEOUT_MS, &c));
    CHECK_OK(sockrt_accept(l, &s));
    close_wakes(c, BLOCK_RECV, "stream recv");
    CHECK_OK(sockrt_close(s));
    CHECK_OK(sockrt_close(l));
    CHECK_OK(sockrt_socketpair(SOCKRT_STREAM, pair));
    close_wakes(pair[0], BLOCK_RECV_FDS, "recv_fds");
    CHECK_OK(sockrt_close(pair[1]));
    CHECK_OK(sockrt_socket(SOCKRT_UNIX, SOCKRT_DGRAM, &d));
    CHECK_OK(sockrt_bind(d, "@", 0));
    close_wakes(d, BLOCK_RECV_FROM, "datagram recv_from");
    CHECK_OK(sockrt_socketpair(SOCKRT_DGRAM, pair));
    close_wakes(pair[0], BLOCK_RECV, "socketpair datagram recv");
    CHECK_OK(sockrt_close(pair[1]));
}

/* ---- socketpair, credentials, descriptors across fork --------------------- */

static void check_socketpair_and_cred(void)
{
    sockrt_handle p[2];
    int32_t pid = 0;
    uint32_t uid = 1, gid = 1;
    char host[SOCKRT_UNIX_PATH_MAX];
    SAY("socketpair: connected and unnamed; peer credentials are this process's");
    CHECK_ERR(sockrt_socketpair(SOCKRT_STREAM, NULL), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_socketpair(7, p), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_OK(sockrt_socketpair(SOCKRT_STREAM, p));
    CHECK(p[0] != 0 && p[1] != 0 && p[0] != p[1]);
    CHECK_OK(sockrt_peer_cred(p[0], &pid, &uid, &gid));
    CHECK_EQ(pid, getpid());
    CHECK_EQ(uid, getuid());
    CHECK_EQ(gid, getgid());
    CHECK_OK(sockrt_peer_cred(p[1], NULL, NULL, NULL));
    CHECK_OK(sockrt_local_addr(p[0], host, sizeof host, NULL));
    CHECK_EQ(host[0], '\0');
    CHECK_OK(sockrt_send_all(p[0], "z", 1));
    char b;
    CHECK_OK(sockrt_recv_exact(p[1], &b, 1));
    CHECK_EQ(b, 'z');
    sockrt_handle tcp;
    uint16_t port;
    tcp = listen_any("127.0.0.1", &port);
    CHECK_ERR(sockrt_peer_cred(tcp, &pid, NULL, NULL), SOCKRT_E_WRONG_KIND);
    CHECK_ERR(sockrt_send_fds(tcp, "x", 1, NULL, 0), SOCKRT_E_WRONG_KIND);
    CHECK_OK(sockrt_close(tcp));
    sockrt_handle fresh;
    CHECK_OK(sockrt_socket(SOCKRT_UNIX, SOCKRT_STREAM, &fresh));
    CHECK_ERR(sockrt_peer_cred(fresh, &pid, NULL, NULL), SOCKRT_E_NOT_CONNECTED);
    CHECK_OK(sockrt_close(fresh));
    CHECK_OK(sockrt_close(p[0]));
    CHECK_OK(sockrt_close(p[1]));
}

static void check_descriptor_arguments(void)
{
    sockrt_handle p[2];
    int fds[SOCKRT_FDS_MAX + 1];
    size_t n = 99;
    char buf[8];
    SAY("send_fds/recv_fds: bad arguments; more descriptors than room: the rest closed, the count tells");
    CHECK_OK(sockrt_socketpair(SOCKRT_STREAM, p));
    set_timeouts(p[1]);
    CHECK_ERR(sockrt_send_fds(p[0], "x", 1, NULL, 1), SOCKRT_E_INVALID_ARGUMENT);
    for (int i = 0; i <= SOCKRT_FDS_MAX; i++)
        fds[i] = 0;
    CHECK_ERR(sockrt_send_fds(p[0], "x", 1, fds, SOCKRT_FDS_MAX + 1), SOCKRT_E_INVALID_ARGUMENT);
    fds[0] = -1;
    CHECK_ERR(sockrt_send_fds(p[0], "x", 1, fds, 1), SOCKRT_E_INVALID_ARGUMENT);
    fds[0] = 0;
    CHECK_ERR(sockrt_send_fds(p[0], "", 0, fds, 1), SOCKRT_E_INVALID_ARGUMENT);
    int closed_fd = dup(0);
    CHECK(closed_fd >= 0);
    close(closed_fd);
    fds[0] = closed_fd;
    CHECK_ERR(sockrt_send_fds(p[0], "x", 1, fds, 1), SOCKRT_E_IO);
    CHECK_EQ(sockrt_last_os_error(), EBADF);
    CHECK_ERR(sockrt_recv_fds(p[1], buf, sizeof buf, NULL, 2, &n), SOCKRT_E_INVALID_ARGUMENT);

    int before = count_fds();
    int three[3] = { 0, 1, 2 };
    CHECK_EQ(sockrt_send_fds(p[0], "abc", 3, three, 3), 3);
    int got[1] = { -1 };
    CHECK_EQ(sockrt_recv_fds(p[1], buf, sizeof buf, got, 1, &n), 3);
    CHECK_EQ(n, 3);
    CHECK(got[0] > 2);
    CHECK_EQ(fcntl(got[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    close(got[0]);
    CHECK_MSG(count_fds() == before, "the two that did not fit were closed (%d vs %d)",
              count_fds(), before);
    CHECK_OK(sockrt_close(p[0]));
    CHECK_OK(sockrt_close(p[1]));
}

static pid_t fork_or_die(void)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK_MSG(pid >= 0, "fork: %s", strerror(errno));
    return pid;
}

static void wait_child_ok(pid_t pid)
{
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
}

static void check_descriptors_across_fork(void)
{
    sockrt_handle ctl[2], data[2];
    char buf[32];
    SAY("a handle's descriptor passed to a forked child becomes its handle; the child dies holding it: EOF here");
    CHECK_OK(sockrt_socketpair(SOCKRT_STREAM, ctl));
    set_timeouts(ctl[0]);
    pid_t child = fork_or_die();
    if (child == 0) {
        int fd = -1;
        size_t n = 0;
        int32_t ppid = 0;
        sockrt_handle h;
        CHECK_OK(sockrt_set_option(ctl[1], SOCKRT_OPT_READ_TIMEOUT_MS, IO_TIMEOUT_MS));
        CHECK_EQ(sockrt_recv_fds(ctl[1], buf, sizeof buf, &fd, 1, &n), 1);
        CHECK_EQ(n, 1);
        CHECK_OK(sockrt_adopt_fd(fd, &h));
        CHECK_OK(sockrt_peer_cred(ctl[1], &ppid, NULL, NULL));
        CHECK_EQ(ppid, getppid());
        CHECK_OK(sockrt_send_all(h, "from child", 10));
        _exit(0); /* dies holding the descriptor: nothing closed by hand */
    }
    /* Made after the fork: the child can only have it by SCM_RIGHTS. */
    CHECK_OK(sockrt_socketpair(SOCKRT_STREAM, data));
    set_timeouts(data[0]);
    int fd = sockrt_fileno(data[1]);
    CHECK(fd >= 0);
    CHECK_EQ(sockrt_send_fds(ctl[0], "F", 1, &fd, 1), 1);
    CHECK_OK(sockrt_close(data[1])); /* ours goes; the child's copy lives */
    CHECK_OK(sockrt_recv_exact(data[0], buf, 10));
    CHECK(memcmp(buf, "from child", 10) == 0);
    wait_child_ok(child);
    CHECK_EQ(sockrt_recv(data[0], buf, sizeof buf), 0);
    CHECK_OK(sockrt_close(data[0]));

    SAY("a child dies before taking a descriptor in flight to it: the kernel drops it, EOF here");
    int go[2];
    CHECK(pipe(go) == 0);
    child = fork_or_die();
    if (child == 0) {
        char c;
        close(go[1]);
        (void)!read(go[0], &c, 1); /* wait until the parent has sent */
        _exit(0);                  /* without receiving */
    }
    close(go[0]);
    CHECK_OK(sockrt_socketpair(SOCKRT_STREAM, data));
    set_timeouts(data[0]);
    fd = sockrt_fileno(data[1]);
    CHECK_EQ(sockrt_send_fds(ctl[0], "G", 1, &fd, 1), 1);
    CHECK_OK(sockrt_close(data[1]));
    CHECK_OK(sockrt_close(ctl[1])); /* the parent's copy of the child's end */
    CHECK(write(go[1], "g", 1) == 1);
    close(go[1]);
    wait_child_ok(child);
    CHECK_EQ(sockrt_recv(data[0], buf, sizeof buf), 0);
    CHECK_ERR(sockrt_send_fds(ctl[0], "H", 1, &fd, 0), SOCKRT_E_CONNECTION_RESET);
    CHECK_OK(sockrt_close(data[0]));
    CHECK_OK(sockrt_close(ctl[0]));
}

/* Peer credentials name the real peer process, across fork. */
static void check_cred_of_a_forked_peer(void)
{
    char path[256];
    sockrt_handle l, s;
    int32_t pid = 0;
    SAY("peer credentials of a connection from a forked child give the child's pid");
    path_in_dir(path, sizeof path, "cred.sock");
    CHECK_OK(sockrt_unix_listen(path, 4, &l));
    pid_t child = fork_or_die();
    if (child == 0) {
        /* Raw C client: no library state needed in the child. */
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
            _exit(1);
        char c;
        _exit(read(fd, &c, 1) == 1 ? 0 : 2);
    }
    CHECK_OK(sockrt_accept(l, &s));
    CHECK_OK(sockrt_peer_cred(s, &pid, NULL, NULL));
    CHECK_EQ(pid, child);
    CHECK_OK(sockrt_send_all(s, "k", 1));
    wait_child_ok(child);
    CHECK_OK(sockrt_close(s));
    /* A forked child's close of the inherited listener leaves the file. */
    child = fork_or_die();
    if (child == 0)
        _exit(sockrt_close(l) == SOCKRT_OK ? 0 : 1);
    wait_child_ok(child);
    CHECK_MSG(exists(path), "a child's close must not remove the parent's socket file");
    CHECK_OK(sockrt_close(l));
    CHECK(!exists(path));
}

/* ---- the pool on a path ------------------------------------------------------ */

struct pool_server { sockrt_handle l; int rounds; };

static void *pool_server(void *arg)
{
    struct pool_server *ps = arg;
    sockrt_handle s;
    char buf[4];
    CHECK_OK(sockrt_accept(ps->l, &s));
    set_timeouts(s);
    for (int i = 0; i < ps->rounds; i++) {
        CHECK_OK(sockrt_recv_exact(s, buf, 4));
        CHECK_OK(sockrt_send_all(s, buf, 4));
    }
    CHECK_OK(sockrt_close(s));
    return NULL;
}

static void check_pool_on_a_path(void)
{
    char path[256], buf[4];
    sockrt_handle l, pool, conn;
    sockrt_pool_stats st;
    SAY("sockrt_pool_open(path, 0): keep-alive Unix connections, reused");
    path_in_dir(path, sizeof path, "pool.sock");
    CHECK_OK(sockrt_unix_listen(path, 8, &l));
    struct pool_server ps = { l, 3 };
    pthread_t t = spawn(pool_server, &ps);
    CHECK_OK(sockrt_pool_open(path, 0, NULL, &pool));
    for (int i = 0; i < 3; i++) {
        CHECK_OK(sockrt_pool_acquire(pool, &conn));
        CHECK_EQ(sockrt_pool_was_reused(conn), i > 0);
        CHECK_OK(sockrt_exchange(conn, "pool", 4, buf, 4));
        CHECK(memcmp(buf, "pool", 4) == 0);
        CHECK_OK(sockrt_pool_release(pool, conn));
    }
    join(t);
    CHECK_OK(sockrt_pool_get_stats(pool, &st));
    CHECK_EQ(st.created, 1);
    CHECK_EQ(st.reused, 2);
    CHECK_OK(sockrt_pool_close(pool));
    CHECK_ERR(sockrt_pool_open("no-slash", 0, NULL, &pool), SOCKRT_E_INVALID_ARGUMENT);
    /* Nothing listening at the path: the acquire is refused. */
    CHECK_OK(sockrt_close(l));
    CHECK_OK(sockrt_pool_open(path, 0, NULL, &pool));
    CHECK_ERR(sockrt_pool_acquire(pool, &conn), SOCKRT_E_CONNECTION_REFUSED);
    CHECK_OK(sockrt_pool_close(pool));
}

/* ---- bad input ------------------------------------------------------------- */

static void check_bad_paths(void)
{
    char path[256], host[SOCKRT_UNIX_PATH_MAX];
    char longest[SOCKRT_UNIX_PATH_MAX], too_long[SOCKRT_UNIX_PATH_MAX + 8];
    sockrt_handle h, l;
    SAY("bad paths: missing (REFUSED, errno ENOENT), missing directory, too long, stale file");
    path_in_dir(path, sizeof path, "missing.sock");
    CHECK_ERR(sockrt_unix_connect(path, IO_TIMEOUT_MS, &h), SOCKRT_E_CONNECTION_REFUSED);
    CHECK_EQ(sockrt_last_os_error(), ENOENT);
    path_in_dir(path, sizeof path, "no/such/dir.sock");
    CHECK_ERR(sockrt_unix_listen(path, 0, &h), SOCKRT_E_ADDRESS_NOT_AVAILABLE);
    CHECK_EQ(sockrt_last_os_error(), ENOENT);
    /* A regular file is no listener. */
    path_in_dir(path, sizeof path, "regular");
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fclose(f);
    CHECK_ERR(sockrt_unix_connect(path, IO_TIMEOUT_MS, &h), SOCKRT_E_CONNECTION_REFUSED);
    CHECK_ERR(sockrt_unix_listen(path, 0, &h), SOCKRT_E_ADDRESS_IN_USE);
    CHECK(exists(path));

    /* 107 bytes fit and come back whole; 108 do not. */
    size_t dlen = strlen(dir);
    memcpy(longest, dir, dlen);
    longest[dlen] = '/';
    memset(longest + dlen + 1, 'p', 107 - dlen - 1);
    longest[107] = '\0';
    CHECK_OK(sockrt_unix_listen(longest, 0, &l));
    CHECK_OK(sockrt_local_addr(l, host, sizeof host, NULL));
    CHECK_EQ(strlen(host), 107);
    CHECK(strcmp(host, longest) == 0);
    CHECK_ERR(sockrt_local_addr(l, host, 107, NULL), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_OK(sockrt_close(l));
    memcpy(too_long, longest, 107);
    too_long[107] = 'q';
    too_long[108] = '\0';
    CHECK_ERR(sockrt_unix_listen(too_long, 0, &h), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_unix_connect(too_long, 0, &h), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_OK(sockrt_socket(SOCKRT_UNIX, SOCKRT_STREAM, &h));
    CHECK_ERR(sockrt_bind(h, too_long, 0), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_connect(h, too_long, 0, 0), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_OK(sockrt_close(h));
    CHECK_ERR(sockrt_unix_connect(NULL, 0, &h), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_unix_connect("", 0, &h), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_ERR(sockrt_unix_listen("@x", 0, NULL), SOCKRT_E_INVALID_ARGUMENT);

    /* A stale socket file: ADDRESS_IN_USE, unless asked to unlink it. */
    path_in_dir(path, sizeof path, "stale.sock");
    int raw = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strcpy(sa.sun_path, path);
    CHECK(bind(raw, (struct sockaddr *)&sa, sizeof sa) == 0);
    close(raw); /* leaves the file behind */
    CHECK(exists(path));
    CHECK_OK(sockrt_socket(SOCKRT_UNIX, SOCKRT_STREAM, &h));
    int64_t v = 5;
    CHECK_OK(sockrt_get_option(h, SOCKRT_OPT_UNLINK_STALE, &v));
    CHECK_EQ(v, 0);
    CHECK_ERR(sockrt_bind(h, path, 0), SOCKRT_E_ADDRESS_IN_USE);
    CHECK_ERR(sockrt_set_option(h, SOCKRT_OPT_UNLINK_STALE, 2), SOCKRT_E_INVALID_ARGUMENT);
    CHECK_OK(sockrt_set_option(h, SOCKRT_OPT_UNLINK_STALE, 1));
    CHECK_OK(sockrt_bind(h, path, 0));
    CHECK_OK(sockrt_listen(h, 0));
    /* Now live: nobody's option removes it. */
    CHECK_ERR(sockrt_unix_listen(path, 0, &l), SOCKRT_E_ADDRESS_IN_USE);
    sockrt_handle tcp;
    CHECK_OK(sockrt_socket(SOCKRT_INET, SOCKRT_STREAM, &tcp));
    CHECK_ERR(sockrt_set_option(tcp, SOCKRT_OPT_UNLINK_STALE, 1), SOCKRT_E_WRONG_KIND);
    CHECK_OK(sockrt_close(tcp));
    /* Detached: the file becomes the new owner's. */
    int fd;
    CHECK_OK(sockrt_detach(h, &fd));
    CHECK(exists(path));
    close(fd);
    CHECK(exists(path));
    unlink(path);
}

/* A directory this process may not enter: as root, drop to nobody in a child. */
static void check_no_permission(void)
{
    char locked[256], path[300];
    SAY("a directory without permission: SOCKRT_E_IO with errno EACCES, for bind and connect");
    path_in_dir(locked, sizeof locked, "locked");
    CHECK(mkdir(locked, 0700) == 0);
    snprintf(path, sizeof path, "%s/s.sock", locked);
    sockrt_handle l;
    CHECK_OK(sockrt_unix_listen(path, 0, &l));
    CHECK(chmod(locked, 0) == 0);
    pid_t child = fork_or_die();
    if (child == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(3);
        sockrt_handle h;
        char other[320];
        snprintf(other, sizeof other, "%s/t.sock", locked);
        if (sockrt_unix_connect(path, 1000, &h) != SOCKRT_E_IO || sockrt_last_os_error() != EACCES)
            _exit(4);
        if (sockrt_unix_listen(other, 0, &h) != SOCKRT_E_IO || sockrt_last_os_error() != EACCES)
            _exit(5);
        _exit(0);
    }
    wait_child_ok(child);
    CHECK(chmod(locked, 0700) == 0);
    CHECK_OK(sockrt_close(l));
    CHECK(!exists(path));
    CHECK(rmdir(locked) == 0);
}

/* ---- real peers: Python's socket module and socat ------------------------- */

struct peer {
    pid_t pid;
    int out; /* the peer's stdout */
};

static struct peer start_peer(char *const argv[])
{
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork_or_die();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    return (struct peer){ pid, p[0] };
}

/* One line of the peer's output (bounded wait); "" at EOF. */
static void read_line(struct peer *pr, char *line, size_t cap)
{
    size_t n = 0;
    double give_up = now_ms() + 40000; /* a JVM starting on a busy machine */
    while (n + 1 < cap) {
        struct pollfd pfd = { pr->out, POLLIN, 0 };
        int left = (int)(give_up - now_ms());
        CHECK_MSG(left > 0, "peer %d said nothing in time", (int)pr->pid);
        if (poll(&pfd, 1, left) <= 0)
            continue;
        char c;
        ssize_t got = read(pr->out, &c, 1);
        if (got <= 0 || c == '\n')
            break;
        line[n++] = c;
    }
    line[n] = '\0';
}

static void finish_peer(struct peer *pr)
{
    close(pr->out);
    wait_child_ok(pr->pid);
}

/* Waits until a socket at path is listening (a real state): its line in
   /proc/net/unix carries the accepting flag (__SO_ACCEPTCON, 0x10000). */
static void wait_listening(const char *path)
{
    double give_up = now_ms() + 10000;
    char line[512];
    while (now_ms() < give_up) {
        FILE *f = fopen("/proc/net/unix", "r");
        CHECK(f != NULL);
        int found = 0;
        while (!found && fgets(line, sizeof line, f)) {
            unsigned long flags = 0;
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            size_t len = strlen(line), plen = strlen(path);
            if (len < plen || strcmp(line + len - plen, path) != 0)
                continue;
            if (sscanf(line, "%*s %*s %*s %lx", &flags) == 1 && (flags & 0x10000))
                found = 1;
        }
        fclose(f);
        if (found)
            return;
        sleep_ms(5);
    }
    CHECK_MSG(0, "nothing listens at %s", path);
}

static const char *peer_script(void)
{
    const char *s = getenv("SOCKRT_UNIX_PEER");
    return s ? s : "tests/c/unix_peer.py";
}

static void check_python_peers(void)
{
    char path[256], line[256], buf[64];
    sockrt_handle c, l, s, d;
    SAY("Python's socket.AF_UNIX echo server against sockrt_unix_connect; its SO_PEERCRED sees us");
    CHECK_MSG(access(peer_script(), R_OK) == 0, "missing %s", peer_script());
    path_in_dir(path, sizeof path, "py-server.sock");
    char *server_argv[] = { "python3", (char *)peer_script(), "echo-server", path, NULL };
    struct peer py = start_peer(server_argv);
    read_line(&py, line, sizeof line);
    CHECK_MSG(strcmp(line, "ready") == 0, "python said \"%s\"", line);
    CHECK_OK(sockrt_unix_connect(path, IO_TIMEOUT_MS, &c));
    set_timeouts(c);
    int32_t pid = 0;
    CHECK_OK(sockrt_peer_cred(c, &pid, NULL, NULL));
    CHECK_EQ(pid, py.pid);
    CHECK_OK(sockrt_exchange(c, "python-echo", 11, buf, 11));
    CHECK(memcmp(buf, "python-echo", 11) == 0);
    CHECK_OK(sockrt_close(c));
    read_line(&py, line, sizeof line);
    snprintf(buf, sizeof buf, "peer-pid %d", (int)getpid());
    CHECK_MSG(strcmp(line, buf) == 0, "python saw \"%s\", expected \"%s\"", line, buf);
    finish_peer(&py);

    SAY("Python's socket.AF_UNIX client against a sockrt listener");
    path_in_dir(path, sizeof path, "sockrt-server.sock");
    CHECK_OK(sockrt_unix_listen(path, 4, &l));
    char *client_argv[] = { "python3", (char *)peer_script(), "client", path, "from-python", NULL };
    py = start_peer(client_argv);
    CHECK_OK(sockrt_set_option(l, SOCKRT_OPT_READ_TIMEOUT_MS, 10000));
    CHECK_OK(sockrt_accept(l, &s));
    set_timeouts(s);
    CHECK_OK(sockrt_recv_exact(s, buf, 11));
    CHECK(memcmp(buf, "from-python", 11) == 0);
    CHECK_EQ(sockrt_recv(s, buf, sizeof buf), 0); /* it shut down writing */
    CHECK_OK(sockrt_send_all(s, "reply", 5));
    CHECK_OK(sockrt_close(s));
    read_line(&py, line, sizeof line);
    CHECK_MSG(strcmp(line, "reply") == 0, "python got \"%s\"", line);
    finish_peer(&py);
    CHECK_OK(sockrt_close(l));

    SAY("descriptors both ways with Python's socket.recv_fds/send_fds");
    path_in_dir(path, sizeof path, "py-fds.sock");
    char *fds_argv[] = { "python3", (char *)peer_script(), "fds", path, NULL };
    py = start_peer(fds_argv);
    read_line(&py, line, sizeof line);
    CHECK_MSG(strcmp(line, "ready") == 0, "python said \"%s\"", line);
    sockrt_handle pair[2], passed;
    CHECK_OK(sockrt_unix_connect(path, IO_TIMEOUT_MS, &c));
    set_timeouts(c);
    CHECK_OK(sockrt_socketpair(SOCKRT_STREAM, pair));
    set_timeouts(pair[0]);
    int pfd = sockrt_fileno(pair[1]);
    CHECK_EQ(sockrt_send_fds(c, "hi", 2, &pfd, 1), 2);
    CHECK_OK(sockrt_close(pair[1]));
    CHECK_OK(sockrt_recv_exact(pair[0], buf, 11));
    CHECK_MSG(memcmp(buf, "py-wrote:hi", 11) == 0, "got %.11s", buf);
    int got_fd = -1;
    size_t nfds = 0;
    CHECK_EQ(sockrt_recv_fds(c, buf, sizeof buf, &got_fd, 1, &nfds), 4);
    CHECK(memcmp(buf, "back", 4) == 0);
    CHECK_EQ(nfds, 1);
    CHECK_OK(sockrt_adopt_fd(got_fd, &passed));
    set_timeouts(passed);
    CHECK_OK(sockrt_recv_exact(passed, buf, 19));
    CHECK(memcmp(buf, "through-python-pair", 19) == 0);
    CHECK_EQ(sockrt_recv(passed, buf, sizeof buf), 0);
    CHECK_OK(sockrt_close(passed));
    CHECK_OK(sockrt_close(pair[0]));
    CHECK_OK(sockrt_close(c));
    read_line(&py, line, sizeof line);
    CHECK_MSG(strcmp(line, "done") == 0, "python said \"%s\"", line);
    finish_peer(&py);

    SAY("Python's AF_UNIX datagram socket against sockrt send_to/recv_from on paths");
    path_in_dir(path, sizeof path, "py.dgram");
    char me[256], from[SOCKRT_UNIX_PATH_MAX];
    path_in_dir(me, sizeof me, "me.dgram");
    char *dgram_argv[] = { "python3", (char *)peer_script(), "dgram", path, NULL };
    py = start_peer(dgram_argv);
    read_line(&py, line, sizeof line);
    CHECK_MSG(strcmp(line, "ready") == 0, "python said \"%s\"", line);
    CHECK_OK(sockrt_socket(SOCKRT_UNIX, SOCKRT_DGRAM, &d));
    CHECK_OK(sockrt_bind(d, me, 0));
    set_timeouts(d);
    CHECK_EQ(sockrt_send_to(d, "abc", 3, path, 0), 3);
    uint16_t port = 1;
    CHECK_EQ(sockrt_recv_from(d, buf, sizeof buf, from, sizeof from, &port), 3);
    CHECK(memcmp(buf, "cba", 3) == 0);
    CHECK(strcmp(from, path) == 0);
    CHECK_EQ(port, 0);
    read_line(&py, line, sizeof line);
    char want[300];
    snprintf(want, sizeof want, "sender %s", me);
    CHECK_MSG(strcmp(line, want) == 0, "python saw \"%s\"", line);
    finish_peer(&py);
    CHECK_OK(sockrt_close(d));
}

static void check_socat_peers(void)
{
    char path[256], listen_arg[300], connect_arg[300], line[256], buf[64];
    sockrt_handle c, l, s;
    SAY("socat UNIX-LISTEN echoing through cat, against sockrt_connect");
    path_in_dir(path, sizeof path, "socat.sock");
    snprintf(listen_arg, sizeof listen_arg, "UNIX-LISTEN:%s", path);
    char *server_argv[] = { "socat", "-T", "10", listen_arg, "EXEC:cat", NULL };
    struct peer so = start_peer(server_argv);
    wait_listening(path);
    CHECK_OK(sockrt_socket(SOCKRT_UNIX, SOCKRT_STREAM, &c));
    CHECK_OK(sockrt_connect(c, path, 0, IO_TIMEOUT_MS));
    set_timeouts(c);
    CHECK_OK(sockrt_exchange(c, "socat-echo", 10, buf, 10));
    CHECK(memcmp(buf, "socat-echo", 10) == 0);
    CHECK_OK(sockrt_shutdown(c, SOCKRT_SHUT_WRITE));
    CHECK_EQ(sockrt_recv(c, buf, sizeof buf), 0);
    CHECK_OK(sockrt_close(c));
    finish_peer(&so);

    SAY("socat UNIX-CONNECT client against a sockrt listener");
    path_in_dir(path, sizeof path, "socat-client.sock");
    CHECK_OK(sockrt_unix_listen(path, 4, &l));
    snprintf(connect_arg, sizeof connect_arg, "UNIX-CONNECT:%s", path);
    char *client_argv[] = { "socat", "-T", "10", "SYSTEM:echo from-socat", connect_arg, NULL };
    so = start_peer(client_argv);
    CHECK_OK(sockrt_set_option(l, SOCKRT_OPT_READ_TIMEOUT_MS, 10000));
    CHECK_OK(sockrt_accept(l, &s));
    set_timeouts(s);
    CHECK_OK(sockrt_recv_exact(s, buf, 11));
    CHECK(memcmp(buf, "from-socat\n", 11) == 0);
    CHECK_OK(sockrt_close(s));
    read_line(&so, line, sizeof line);
    CHECK_MSG(line[0] == '\0', "socat printed \"%s\"", line);
    finish_peer(&so);
    CHECK_OK(sockrt_close(l));
}

static const char *java_peer(void)
{
    const char *s = getenv("SOCKRT_UNIX_JAVA_PEER");
    return s ? s : "tests/c/UnixPeer.java";
}

static void check_java_peers(void)
{
    char path[256], line[256], buf[64];
    sockrt_handle c, l, s;
    SAY("Java NIO ServerSocketChannel on a UnixDomainSocketAddress against sockrt_connect");
    CHECK_MSG(access(java_peer(), R_OK) == 0, "missing %s", java_peer());
    path_in_dir(path, sizeof path, "java-server.sock");
    char *server_argv[] = { "java", (char *)java_peer(), "echo-server", path, NULL };
    struct peer jv = start_peer(server_argv);
    read_line(&jv, line, sizeof line);
    CHECK_MSG(strcmp(line, "ready") == 0, "java said \"%s\"", line);
    CHECK_OK(sockrt_socket(SOCKRT_UNIX, SOCKRT_STREAM, &c));
    CHECK_OK(sockrt_connect(c, path, 0, IO_TIMEOUT_MS));
    set_timeouts(c);
    CHECK_OK(sockrt_exchange(c, "java-echo", 9, buf, 9));
    CHECK(memcmp(buf, "java-echo", 9) == 0);
    CHECK_OK(sockrt_close(c));
    read_line(&jv, line, sizeof line);
    CHECK_MSG(strcmp(line, "served 9") == 0, "java said \"%s\"", line);
    finish_peer(&jv);

    SAY("Java NIO SocketChannel client against a sockrt listener");
    path_in_dir(path, sizeof path, "java-client.sock");
    CHECK_OK(sockrt_unix_listen(path, 4, &l));
    CHECK_OK(sockrt_set_option(l, SOCKRT_OPT_READ_TIMEOUT_MS, 40000));
    char *client_argv[] = { "java", (char *)java_peer(), "client", path, "from-java", NULL };
    jv = start_peer(client_argv);
    CHECK_OK(sockrt_accept(l, &s));
    set_timeouts(s);
    CHECK_OK(sockrt_recv_exact(s, buf, 9));
    CHECK(memcmp(buf, "from-java", 9) == 0);
    CHECK_EQ(sockrt_recv(s, buf, sizeof buf), 0);
    CHECK_OK(sockrt_send_all(s, "to-java", 7));
    CHECK_OK(sockrt_close(s));
    read_line(&jv, line, sizeof line);
    CHECK_MSG(strcmp(line, "to-java") == 0, "java got \"%s\"", line);
    finish_peer(&jv);
    CHECK_OK(sockrt_close(l));
}

int main(void)
{
    TEST_BEGIN("test_unix");
    signal(SIGPIPE, SIG_DFL); /* the library must never raise it */
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/sockrt-unix-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    CHECK_MSG(strlen(dir) < 60, "TMPDIR is too long for the 107-byte path checks");
    CHECK(mkdir(dir, 0755) == 0);
    uint64_t handles = sockrt_open_handles();
    int fds = count_fds();

    check_stream_on_a_path();
    check_abstract_names();
    check_datagrams();
    check_close_wakes();
    check_socketpair_and_cred();
    check_descriptor_arguments();
    check_descriptors_across_fork();
    check_cred_of_a_forked_peer();
    check_pool_on_a_path();
    check_bad_paths();
    check_no_permission();
    check_python_peers();
    check_socat_peers();
    check_java_peers();

    CHECK_EQ(sockrt_open_handles(), handles);
    CHECK_MSG(count_fds() == fds, "descriptors: %d at start, %d now", fds, count_fds());
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    TEST_END("test_unix");
    return 0;
}
