/*
 * The load client of `make realtime-bench`: one epoll loop in C that holds
 * thousands of SSE or WebSocket subscribers to a real-time server, and
 * measures when each event reaches each of them.
 *
 * It uses the operating system's sockets directly (nothing of libsockrt),
 * so it measures the sockrt server and its asyncio peer alike.
 *
 *   loadclient --port P --mode sse|ws --subscribers N --events E
 *              [--loris L] [--burst B] [--inflight K] [--timeout-s S] [--nap-us U]
 *
 * 1. Opens L slow-loris connections (a request head that never ends: one
 *    more header byte every 500 ms), then N subscribers, at most K
 *    handshaking at once.
 * 2. When every subscriber has its response head (or was refused), prints
 *    "ready ACCEPTED REFUSED" on stdout: the driver then publishes.
 * 3. Each event is JSON with "t": the server's publishing time (Unix
 *    seconds); latency = arrival (CLOCK_REALTIME) - t, per subscriber.
 *    With B > 0, the first event received starts a burst of B connections
 *    past the server's cap; each must be answered (503) or refused.
 *    With U > 0, while measuring it polls the epoll set every U µs instead
 *    of blocking in epoll_wait (see the loop).
 * 4. Ends when every subscriber has E events, or S seconds after "ready",
 *    and prints one JSON line of results, including its own CPU time.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum kind { SUB, LORIS, BURST };
enum state { CONNECTING, HEAD, LIVE, DONE };

struct conn {
    int fd;
    uint8_t kind, state;
    uint16_t carry_len;
    int events;
    char carry[96];
};

static const char *SSE_REQ = "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
static const char *WS_REQ =
    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
static const char *LORIS_REQ = "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n";

static struct sockaddr_in server;
static int epfd;
static struct conn *conns;
static int nconns;
static double *lat;
static size_t nlat, lat_cap;

static int subs_ok, subs_refused, subs_pending, loris_closed, burst_503, burst_refused,
    burst_other, burst_pending, subs_lost, subs_done;

static double now_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static int open_conn(int kind)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    struct conn *c = &conns[nconns];
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->kind = (uint8_t)kind;
    c->state = CONNECTING;
    struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)nconns };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        die("epoll_ctl");
    nconns++;
    return 0;
}

static void finish(struct conn *c)
{
    if (c->state == DONE)
        return;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = DONE;
}

#define MAX_EVENT_IDS 4096
static double event_max[MAX_EVENT_IDS];

static void record(double ms, long id)
{
    if (id > 0 && id < MAX_EVENT_IDS && ms > event_max[id])
        event_max[id] = ms;
    if (nlat == lat_cap) {
        lat_cap = lat_cap ? lat_cap * 2 : 1 << 16;
        lat = realloc(lat, lat_cap * sizeof *lat);
        if (!lat)
            die("realloc");
    }
    lat[nlat++] = ms;
}

/* Finds each {"id":N,"t":<seconds> in the stream (carrying partial tails). */
static void scan(struct conn *c, const char *data, size_t len, double arrival)
{
    char buf[65536 + 128];
    size_t n = c->carry_len;
    memcpy(buf, c->carry, n);
    memcpy(buf + n, data, len);
    n += len;
    buf[n] = '\0';
    size_t pos = 0, keep_from;
    for (;;) {
        char *p = memmem(buf + pos, n - pos, "{\"id\":", 6);
        if (!p) {
            keep_from = n > pos + 5 ? n - 5 : pos;
            break;
        }
        char *end;
        long id = strtol(p + 6, &end, 10);
        double t = 0;
        if (end + 5 < buf + n && !memcmp(end, ",\"t\":", 5))
            t = strtod(end + 5, &end);
        else
            end = buf + n;
        if (end >= buf + n) { /* the event may go on in the next read */
            keep_from = (size_t)(p - buf);
            break;
        }
        record((arrival - t) * 1e3, id);
        c->events++;
        pos = (size_t)(end - buf);
    }
    size_t keep = n - keep_from;
    if (keep > sizeof c->carry)
        keep = 0;
    memcpy(c->carry, buf + keep_from, keep);
    c->carry_len = (uint16_t)keep;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double p)
{
    if (nlat == 0)
        return -1;
    size_t i = (size_t)(p * (double)(nlat - 1) + 0.5);
    return lat[i];
}

int main(int argc, char **argv)
{
    int port = 0, subs = 0, events = 20, loris = 0, burst = 0, inflight = 200;
    double timeout_s = 30;
    int ws = 0, spin = 0, nap_us = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--mode")) ws = !strcmp(argv[i + 1], "ws");
        else if (!strcmp(argv[i], "--subscribers")) subs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--events")) events = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--loris")) loris = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--burst")) burst = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--inflight")) inflight = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--timeout-s")) timeout_s = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--spin")) spin = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--nap-us")) nap_us = atoi(argv[i + 1]);
        else { fprintf(stderr, "loadclient: unknown option %s\n", argv[i]); return 2; }
    }
    if (port <= 0 || subs <= 0) {
        fprintf(stderr, "usage: loadclient --port P --mode sse|ws --subscribers N --events E "
                        "[--loris L] [--burst B] [--inflight K] [--timeout-s S]\n");
        return 2;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if ((rlim_t)(subs + loris + burst + 64) > rl.rlim_cur) {
        fprintf(stderr, "loadclient: %d connections need more descriptors than RLIMIT_NOFILE %lu\n",
                subs + loris + burst, (unsigned long)rl.rlim_cur);
        return 2;
    }
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)port);
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    conns = calloc((size_t)(subs + loris + burst + 1), sizeof *conns);
    if (epfd < 0 || !conns)
        die("setup");

    const char *req = ws ? WS_REQ : SSE_REQ;
    size_t req_len = strlen(req);
    for (int i = 0; i < loris; i++)
        if (open_conn(LORIS) < 0)
            loris_closed++;
    int subs_opened = 0;
    double ready_at = 0, next_loris = now_mono() + 0.5, start = now_mono();
    int burst_opened = 0, burst_started = 0, ready = 0;
    struct epoll_event evs[1024];
    static char rbuf[65536];

    for (;;) {
        while (!ready && subs_opened < subs && subs_pending < inflight) {
            if (open_conn(SUB) < 0) {
                subs_refused++;
            } else {
                subs_pending++;
            }
            subs_opened++;
        }
        if (burst_started && burst_opened < burst) {
            for (int k = 0; k < 500 && burst_opened < burst; k++, burst_opened++) {
                if (open_conn(BURST) < 0)
                    burst_refused++;
                else
                    burst_pending++;
            }
        }
        if (!ready && subs_opened == subs && subs_pending == 0) {
            ready = 1;
            ready_at = now_mono();
            printf("ready %d %d\n", subs_ok, subs_refused);
            fflush(stdout);
        }
        double t = now_mono();
        if (ready && t - ready_at > timeout_s)
            break;
        if (!ready && t - start > 120) {
            fprintf(stderr, "loadclient: subscribers not connected after 120 s\n");
            break;
        }
        /* Every accepted subscriber has its events, or is gone. */
        if (ready && subs_done + subs_lost >= subs_ok &&
            (burst == 0 || (burst_opened == burst && burst_pending == 0)))
            break;
        if (loris && t >= next_loris) {
            next_loris = t + 0.5;
            for (int i = 0; i < nconns; i++)
                if (conns[i].kind == LORIS && conns[i].state != DONE &&
                    send(conns[i].fd, "X", 1, MSG_NOSIGNAL) < 0 && errno != EAGAIN) {
                    finish(&conns[i]);
                    loris_closed++;
                }
        }
        /* While measuring, poll every `nap_us` instead of blocking in
           epoll_wait: a blocked waiter makes every send of the server wake
           this process (on loopback the server's CPU pays for that wake-up,
           which a subscriber on another machine never costs it). */
        int n = epoll_wait(epfd, evs, 1024, ready && (spin || nap_us) ? 0 : 20);
        if (n == 0 && ready && nap_us && !spin) {
            struct timespec nap = { 0, nap_us * 1000L };
            nanosleep(&nap, NULL);
        }
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int e = 0; e < n; e++) {
            struct conn *c = &conns[evs[e].data.u32];
            if (c->state == DONE)
                continue;
            if (c->state == CONNECTING) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) {
                    finish(c);
                    if (c->kind == SUB) { subs_pending--; subs_refused++; }
                    else if (c->kind == BURST) { burst_pending--; burst_refused++; }
                    else loris_closed++;
                    continue;
                }
                const char *msg = c->kind == LORIS ? LORIS_REQ : c->kind == SUB ? req : SSE_REQ;
                size_t mlen = c->kind == SUB ? req_len : strlen(msg);
                if (send(c->fd, msg, mlen, MSG_NOSIGNAL) != (ssize_t)mlen) {
                    finish(c);
                    if (c->kind == SUB) { subs_pending--; subs_refused++; }
                    else if (c->kind == BURST) { burst_pending--; burst_refused++; }
                    else loris_closed++;
                    continue;
                }
                c->state = HEAD;
                struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data = evs[e].data };
                epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
                continue;
            }
            ssize_t got = recv(c->fd, rbuf, sizeof rbuf, 0);
            double arrival = now_real();
            if (got <= 0) {
                if (got < 0 && errno == EAGAIN)
                    continue;
                int was = c->state;
                finish(c);
                if (c->kind == LORIS) loris_closed++;
                else if (c->kind == BURST) { burst_pending--; burst_refused++; }
                else if (was == HEAD) { subs_pending--; subs_refused++; }
                else if (c->events < events) subs_lost++;
                continue;
            }
            if (c->kind == LORIS)
                continue; /* an answer (408) comes only at the deadline */
            if (c->kind == BURST) {
                if (got >= 12 && !memcmp(rbuf, "HTTP/1.1 503", 12)) burst_503++;
                else burst_other++;
                burst_pending--;
                finish(c);
                continue;
            }
            if (c->state == HEAD) {
                /* The head arrives in one piece on loopback; anything after it is stream. */
                char *end = memmem(rbuf, (size_t)got, "\r\n\r\n", 4);
                int ok = got >= 12 && (!memcmp(rbuf, "HTTP/1.1 200", 12) || !memcmp(rbuf, "HTTP/1.1 101", 12));
                subs_pending--;
                if (!ok || !end) {
                    subs_refused++;
                    finish(c);
                    continue;
                }
                subs_ok++;
                c->state = LIVE;
                size_t head = (size_t)(end + 4 - rbuf);
                scan(c, rbuf + head, (size_t)got - head, arrival);
                if (c->events >= events)
                    subs_done++;
                continue;
            }
            int before = c->events;
            scan(c, rbuf, (size_t)got, arrival);
            if (before < events && c->events >= events)
                subs_done++;
            if (!burst_started && burst && c->events > before)
                burst_started = 1;
        }
    }

    long delivered = 0, complete = 0, extra = 0;
    for (int i = 0; i < nconns; i++)
        if (conns[i].kind == SUB && (conns[i].state == LIVE || conns[i].state == DONE)) {
            delivered += conns[i].events > events ? events : conns[i].events;
            extra += conns[i].events > events ? conns[i].events - events : 0;
            complete += conns[i].events >= events;
        }
    int loris_open = 0;
    for (int i = 0; i < nconns; i++)
        if (conns[i].kind == LORIS && conns[i].state != DONE)
            loris_open++;
    qsort(lat, nlat, sizeof *lat, cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("{\"accepted\": %d, \"refused\": %d, \"lost\": %d, \"delivered\": %ld, \"expected\": %ld, "
           "\"complete\": %ld, \"extra\": %ld, \"p50_ms\": %.2f, \"p90_ms\": %.2f, \"p99_ms\": %.2f, "
           "\"max_ms\": %.2f, \"client_cpu_s\": %.3f, \"loris\": %d, \"loris_open_at_end\": %d, "
           "\"burst\": %d, \"burst_503\": %d, \"burst_refused\": %d, \"burst_other\": %d, "
           "\"burst_unanswered\": %d, \"event_max_ms\": [",
           subs_ok, subs_refused, subs_lost, delivered, (long)subs_ok * events, complete, extra,
           pct(0.5), pct(0.9), pct(0.99), nlat ? lat[nlat - 1] : -1.0, cpu, loris, loris_open,
           burst, burst_503, burst_refused, burst_other, burst_pending);
    int first = 1;
    for (int i = 1; i < MAX_EVENT_IDS; i++)
        if (event_max[i] > 0) {
            printf("%s%.1f", first ? "" : ", ", event_max[i]);
            first = 0;
        }
    printf("]}\n");
    fflush(stdout);
    for (int i = 0; i < nconns; i++)
        if (conns[i].state != DONE)
            close(conns[i].fd);
    return 0;
}
