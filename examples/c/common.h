/*
 * common.h: what the C examples share, in one copy.
 *
 * Each example defines EXAMPLE_NAME (its program name, which starts every
 * message it prints) and then includes this file. Only static inline
 * functions live here, so each example stays one translation unit and an
 * example that does not use a helper gets no warning for it.
 *
 *   report_error      "<name>: <what> failed: <library message> (<code name>)"
 *   parse_number      a whole decimal argument within [min, max]
 *   now_us            the monotonic clock in microseconds
 *   message_size,     message i of the echo clients: 1..MAX_MESSAGE bytes with
 *   fill_message      deterministic contents, so a stale or altered echo shows
 *   struct watcher    SIGINT/SIGTERM and a time limit, collected by one thread
 *                     that then closes a handle (waking the call blocked on it)
 */
#ifndef SOCKRT_EXAMPLE_COMMON_H
#define SOCKRT_EXAMPLE_COMMON_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sockrt.h>

#ifndef EXAMPLE_NAME
#error "define EXAMPLE_NAME (the program's name) before including common.h"
#endif

#define MAX_MESSAGE 4096

/* Prints "<what> failed" with the library's message for the calling thread's
 * last failure and the name of the code the call returned. */
static inline void report_error(const char *what, int64_t status) {
    char message[256];
    sockrt_last_error_message(message, sizeof message);
    fprintf(stderr, EXAMPLE_NAME ": %s failed: %s (%s)\n", what, message,
            sockrt_error_name((int32_t)status));
}

/* Parses a whole decimal number in [min, max]. Returns 0, or -1 if text is
 * not one. */
static inline int parse_number(const char *text, long min, long max, long *out) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
        return -1;
    }
    *out = value;
    return 0;
}

static inline double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Sizes cycle through 1..MAX_MESSAGE in a scattered but repeatable order. */
static inline size_t message_size(long i) {
    return 1 + (size_t)((i * 7919 + 13) % MAX_MESSAGE);
}

static inline void fill_message(unsigned char *buf, size_t len, long i) {
    for (size_t j = 0; j < len; j++) {
        buf[j] = (unsigned char)((i * 31 + (long)j * 7) & 0xff);
    }
}

/* ---- shutdown ---------------------------------------------------------
 * SIGINT and SIGTERM are blocked in every thread (watcher_block, before any
 * thread starts, so all inherit the mask) and collected by one watcher thread
 * (sigtimedwait), which also enforces the time limit and then closes the
 * handle it watches. No signal handler ever calls the library. */

struct watcher {
    sigset_t signals;
    long seconds;
    sockrt_handle handle; /* closed by the watcher thread when it stops */
    pthread_t thread;
};

/* Blocks the shutdown signals in the calling thread and in every thread it
 * starts afterwards. Returns 0, or -1 with a message. */
static inline int watcher_block(struct watcher *w, long seconds) {
    w->seconds = seconds;
    w->handle = 0;
    sigemptyset(&w->signals);
    sigaddset(&w->signals, SIGINT);
    sigaddset(&w->signals, SIGTERM);
    int err = pthread_sigmask(SIG_BLOCK, &w->signals, NULL);
    if (err != 0) {
        fprintf(stderr, EXAMPLE_NAME ": pthread_sigmask: %s\n", strerror(err));
        return -1;
    }
    return 0;
}

/* The watcher thread: waits for a shutdown signal or the time limit, then
 * closes the handle, which wakes the call blocked on it with
 * SOCKRT_E_CLOSED. */
static inline void *watch_for_shutdown(void *arg) {
    struct watcher *w = arg;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += w->seconds;
    for (;;) {
        struct timespec now, left;
        clock_gettime(CLOCK_MONOTONIC, &now);
        left.tv_sec = deadline.tv_sec - now.tv_sec;
        left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
        if (left.tv_nsec < 0) {
            left.tv_nsec += 1000000000L;
            left.tv_sec -= 1;
        }
        if (left.tv_sec < 0) {
            fprintf(stderr, EXAMPLE_NAME ": time limit reached, shutting down\n");
            break;
        }
        int sig = sigtimedwait(&w->signals, NULL, &left);
        if (sig > 0) {
            fprintf(stderr, EXAMPLE_NAME ": signal %d, shutting down\n", sig);
            break;
        }
        /* EINTR: retry; EAGAIN: the deadline passed, caught at the top. */
    }
    int32_t rc = sockrt_close(w->handle);
    if (rc != SOCKRT_OK) {
        report_error("close", rc);
    }
    return NULL;
}

/* Starts the watcher thread over handle. Returns 0, or -1 with a message
 * (the handle is then still the caller's to close). */
static inline int watcher_start(struct watcher *w, sockrt_handle handle) {
    w->handle = handle;
    int err = pthread_create(&w->thread, NULL, watch_for_shutdown, w);
    if (err != 0) {
        fprintf(stderr, EXAMPLE_NAME ": pthread_create: %s\n", strerror(err));
        return -1;
    }
    return 0;
}

/* Waits for the watcher thread to finish. When the main loop stopped on its
 * own (failed), the watcher is woken first so it closes up at once. */
static inline void watcher_join(struct watcher *w, int failed) {
    if (failed) {
        pthread_kill(w->thread, SIGTERM);
    }
    pthread_join(w->thread, NULL);
}

#endif /* SOCKRT_EXAMPLE_COMMON_H */
