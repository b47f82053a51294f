/*
 * Shared helpers for the C test programs of libsockrt.
 *
 * Each test is one .c file that includes this header. Checks stop the
 * program at the first failure with the file, line, expression, and the
 * library's last error (code name and message), so a failing run says what
 * went wrong without a debugger. Only macros and static inline functions
 * live here, so every test stays a single translation unit.
 */
#ifndef SOCKRT_TEST_CHECK_H
#define SOCKRT_TEST_CHECK_H

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sockrt.h"

/* Prints the library's view of this thread's last failure to stderr. */
static inline void check_print_last_error(void)
{
    char msg[512];
    int32_t code = sockrt_last_error();
    sockrt_last_error_message(msg, sizeof msg);
    fprintf(stderr, "    last error: %s (%d), errno %d, message \"%s\"\n",
            sockrt_error_name(code), code, sockrt_last_os_error(), msg);
}

static inline void check_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    check_print_last_error();
    exit(1);
}

/* The expression must be true. */
#define CHECK(expr)                                                           \
    do {                                                                      \
        if (!(expr))                                                          \
            check_fail(__FILE__, __LINE__, "CHECK(%s)", #expr);               \
    } while (0)

/* Like CHECK, with an explanation formatted printf-style. */
#define CHECK_MSG(expr, ...)                                                  \
    do {                                                                      \
        if (!(expr)) {                                                        \
            char check_why_[512];                                             \
            snprintf(check_why_, sizeof check_why_, __VA_ARGS__);             \
            check_fail(__FILE__, __LINE__, "CHECK(%s): %s", #expr,            \
                       check_why_);                                           \
        }                                                                     \
    } while (0)

/* Two integer expressions must be equal; both values are printed if not. */
#define CHECK_EQ(actual, expected)                                            \
    do {                                                                      \
        int64_t check_a_ = (int64_t)(actual);                                 \
        int64_t check_e_ = (int64_t)(expected);                               \
        if (check_a_ != check_e_)                                             \
            check_fail(__FILE__, __LINE__, "%s == %s: got %" PRId64           \
                       ", expected %" PRId64, #actual, #expected, check_a_,   \
                       check_e_);                                             \
    } while (0)

/* The call must return SOCKRT_OK (or, for data calls, a count >= 0). */
#define CHECK_OK(call)                                                        \
    do {                                                                      \
        int64_t check_rc_ = (int64_t)(call);                                  \
        if (check_rc_ < 0)                                                    \
            check_fail(__FILE__, __LINE__, "%s returned %s (%" PRId64 ")",    \
                       #call, sockrt_error_name((int32_t)check_rc_),          \
                       check_rc_);                                            \
    } while (0)

/*
 * Sets this thread's last error to something other than `code`, so that a
 * following check proves the call under test recorded its own code and
 * message rather than finding a stale one. Returns the primer's message.
 */
static inline void check_prime_last_error(int32_t code, char *msg, size_t cap)
{
    if (code == SOCKRT_E_INVALID_ARGUMENT)
        (void)sockrt_close(0);                   /* SOCKRT_E_BAD_HANDLE */
    else
        (void)sockrt_socket(-1, -1, NULL);       /* SOCKRT_E_INVALID_ARGUMENT */
    sockrt_last_error_message(msg, cap);
}

/*
 * The call must fail with `code`, record that code as this thread's last
 * error, and leave a new, non-empty message.
 */
#define CHECK_ERR(call, code)                                                 \
    do {                                                                      \
        char check_primer_[256], check_msg_[256];                             \
        int32_t check_code_ = (code);                                         \
        int64_t check_rc_;                                                    \
        check_prime_last_error(check_code_, check_primer_,                    \
                               sizeof check_primer_);                         \
        check_rc_ = (int64_t)(call);                                          \
        if (check_rc_ != check_code_)                                         \
            check_fail(__FILE__, __LINE__, "%s returned %s (%" PRId64         \
                       "), expected %s", #call,                               \
                       sockrt_error_name((int32_t)check_rc_), check_rc_,      \
                       sockrt_error_name(check_code_));                       \
        if (sockrt_last_error() != check_code_)                               \
            check_fail(__FILE__, __LINE__, "after %s: last_error is %s, "     \
                       "expected %s", #call,                                  \
                       sockrt_error_name(sockrt_last_error()),                \
                       sockrt_error_name(check_code_));                       \
        sockrt_last_error_message(check_msg_, sizeof check_msg_);             \
        if (check_msg_[0] == '\0' || strcmp(check_msg_, check_primer_) == 0)  \
            check_fail(__FILE__, __LINE__, "after %s: message \"%s\" is "    \
                       "empty or left over from an earlier call", #call,      \
                       check_msg_);                                           \
    } while (0)

/* Progress lines: what is being checked, so a log reads as a checklist. */
#define SAY(...)                                                              \
    do {                                                                      \
        printf("  - ");                                                       \
        printf(__VA_ARGS__);                                                  \
        printf("\n");                                                         \
        fflush(stdout);                                                       \
    } while (0)

#define SKIP(...)                                                             \
    do {                                                                      \
        printf("  SKIP: ");                                                   \
        printf(__VA_ARGS__);                                                  \
        printf("\n");                                                         \
        fflush(stdout);                                                       \
    } while (0)

/* Copies this thread's last error message into a caller buffer. */
static inline const char *last_message(char *buf, size_t cap)
{
    sockrt_last_error_message(buf, cap);
    return buf;
}

/* Monotonic clock in milliseconds (fractional). */
static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Open descriptors of this process from /proc/self/fd: those that are
   eventfds when `eventfds` is 1, all others when it is 0. */
static inline int count_fds_of_kind(int eventfds)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    char path[300], target[128];
    int n = 0;
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof target - 1);
        target[len < 0 ? 0 : len] = '\0';
        int is_eventfd = strcmp(target, "anon_inode:[eventfd]") == 0;
        if (is_eventfd == eventfds)
            n++;
    }
    closedir(d);
    return eventfds ? n : n - 1; /* less the directory stream's own descriptor */
}

/*
 * Descriptors other than the library's per-thread wake eventfds (each thread
 * that has blocked in the library keeps one until it exits): sockets and
 * anything else a leak would show in.
 */
static inline int count_fds(void)
{
    return count_fds_of_kind(0);
}

/* The wake eventfds: at most one per live thread that has blocked. */
static inline int count_eventfds(void)
{
    return count_fds_of_kind(1);
}

/* A TCP listener on host with a free port; the port goes to *port. */
static inline sockrt_handle listen_any(const char *host, uint16_t *port)
{
    sockrt_handle l = 0;
    CHECK_OK(sockrt_tcp_listen(host, 0, 64, &l));
    CHECK_OK(sockrt_local_addr(l, NULL, 0, port));
    CHECK(*port != 0);
    return l;
}

/*
 * A connected TCP pair on loopback plus its listener. pair_open bounds every
 * wait by timeout_ms (the listener's accept, reads and writes on both ends);
 * a negative timeout_ms sets none, so calls block as by default.
 */
#define PAIR_TIMEOUT_MS 10000

struct pair {
    sockrt_handle listener, client, server;
    uint16_t port;
};

static inline void pair_open(struct pair *p, int32_t timeout_ms)
{
    int32_t connect_ms = timeout_ms < 0 ? PAIR_TIMEOUT_MS : timeout_ms;
    p->listener = listen_any("127.0.0.1", &p->port);
    if (timeout_ms >= 0)
        CHECK_OK(sockrt_set_option(p->listener, SOCKRT_OPT_READ_TIMEOUT_MS, timeout_ms));
    CHECK_OK(sockrt_tcp_connect("127.0.0.1", p->port, connect_ms, &p->client));
    CHECK_OK(sockrt_accept(p->listener, &p->server));
    if (timeout_ms >= 0) {
        CHECK_OK(sockrt_set_option(p->client, SOCKRT_OPT_READ_TIMEOUT_MS, timeout_ms));
        CHECK_OK(sockrt_set_option(p->server, SOCKRT_OPT_READ_TIMEOUT_MS, timeout_ms));
        CHECK_OK(sockrt_set_option(p->client, SOCKRT_OPT_WRITE_TIMEOUT_MS, timeout_ms));
        CHECK_OK(sockrt_set_option(p->server, SOCKRT_OPT_WRITE_TIMEOUT_MS, timeout_ms));
    }
}

/* Closes the handles still open (a test sets one to 0 once it closed it
 * itself); each close must succeed. */
static inline void pair_close(struct pair *p)
{
    if (p->client)
        CHECK_OK(sockrt_close(p->client));
    if (p->server)
        CHECK_OK(sockrt_close(p->server));
    CHECK_OK(sockrt_close(p->listener));
}

/* Fills buf with a pattern derived from seed and the byte offset. */
static inline void fill_pattern(unsigned char *buf, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)((i * 31u + seed * 131u + (i >> 8)) & 0xff);
}

static inline pthread_t spawn(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    int rc = pthread_create(&t, NULL, fn, arg);
    CHECK_MSG(rc == 0, "pthread_create: %s", strerror(rc));
    return t;
}

static inline void join(pthread_t t)
{
    int rc = pthread_join(t, NULL);
    CHECK_MSG(rc == 0, "pthread_join: %s", strerror(rc));
}

/* Marks the start and end of a test program in the log. */
/* ---- calls really blocked ------------------------------------------------ */

/* A thread's scheduler state from /proc: 'S' while it sleeps in a call. */
static inline char thread_state(int tid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    char *got = fgets(line, sizeof line, f);
    fclose(f);
    char *paren = got ? strrchr(line, ')') : NULL;
    return paren && paren[1] == ' ' ? paren[2] : '?';
}

/*
 * Waits (bounded, 5 s) until the worker whose kernel thread id lands in *tid
 * sleeps in its system call: 'S' on three looks in a row, not merely started.
 * Fails the test if it never does, or if *done is set first.
 */
static inline void wait_thread_blocked(atomic_int *tid, atomic_int *done)
{
    double give_up = now_ms() + 5000;
    while (atomic_load(tid) == 0 && now_ms() < give_up)
        sleep_ms(1);
    CHECK_MSG(atomic_load(tid) != 0, "worker never started");
    int sleeping = 0;
    while (now_ms() < give_up && !atomic_load(done)) {
        sleeping = thread_state(atomic_load(tid)) == 'S' ? sleeping + 1 : 0;
        if (sleeping >= 3)
            return;
        sleep_ms(2);
    }
    CHECK_MSG(0, "worker did not block (done %d)", atomic_load(done));
}

#define TEST_BEGIN(name) printf("%s (libsockrt %s)\n", (name), sockrt_version())
#define TEST_END(name) printf("%s: all checks passed\n", (name))

#endif /* SOCKRT_TEST_CHECK_H */
