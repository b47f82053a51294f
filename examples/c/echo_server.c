/*
 * echo_server: a TCP (or Unix stream) echo server built with the classic
 * socket flow.
 *
 *   usage: echo_server HOST PORT [SECONDS]
 *
 * socket -> bind -> listen(backlog) -> accept in a loop, one thread per
 * connection echoing bytes until the peer closes. Port 0 picks a free port;
 * once ready the server prints one line "LISTENING <host> <port>". A HOST
 * with a '/' in it is a Unix socket path (PORT 0): a stale socket file
 * there is replaced, and closing the listener removes the file.
 *
 * Shutdown: SIGINT and SIGTERM are blocked in every thread and collected by
 * one watcher thread (sigtimedwait), which also enforces the SECONDS limit.
 * The watcher closes the listener, which wakes the blocked sockrt_accept;
 * the main thread then shuts down the open connections (waking their
 * threads) and joins them. No signal handler ever calls the library.
 */
#define EXAMPLE_NAME "echo_server"
#include "common.h"

#define BACKLOG 128
#define ECHO_BUFFER 65536
#define DEFAULT_SECONDS 30

/* One accepted connection and the thread serving it. */
struct connection {
    sockrt_handle handle;
    pthread_t thread;
    int done; /* set, under connections_lock, once the thread closed handle */
    struct connection *next;
};

static pthread_mutex_t connections_lock = PTHREAD_MUTEX_INITIALIZER;
static struct connection *connections;

/* Echoes until the peer closes, then closes the handle. The handle is closed
 * under connections_lock so the main thread never shuts down a closed one. */
static void *serve_connection(void *arg) {
    struct connection *conn = arg;
    char *buffer = malloc(ECHO_BUFFER);
    if (buffer == NULL) {
        fprintf(stderr, "echo_server: out of memory\n");
    }
    while (buffer != NULL) {
        int64_t n = sockrt_recv(conn->handle, buffer, ECHO_BUFFER);
        if (n == 0) {
            break; /* the peer closed its side: we are done */
        }
        if (n < 0) {
            /* A shutdown from the main thread or a reset peer ends the loop;
             * only an unexpected failure is worth a message. */
            if (n != SOCKRT_E_CONNECTION_RESET && n != SOCKRT_E_CLOSED &&
                n != SOCKRT_E_NOT_CONNECTED) {
                report_error("recv", n);
            }
            break;
        }
        int32_t rc = sockrt_send_all(conn->handle, buffer, (size_t)n);
        if (rc != SOCKRT_OK) {
            if (rc != SOCKRT_E_CONNECTION_RESET && rc != SOCKRT_E_CLOSED) {
                report_error("send_all", rc);
            }
            break;
        }
    }
    free(buffer);
    pthread_mutex_lock(&connections_lock);
    int32_t rc = sockrt_close(conn->handle);
    conn->done = 1;
    pthread_mutex_unlock(&connections_lock);
    if (rc != SOCKRT_OK) {
        report_error("close", rc);
    }
    return NULL;
}

/* Joins and frees the connections whose thread has finished, so a long-running
 * server does not accumulate them. */
static void reap_finished_connections(void) {
    pthread_mutex_lock(&connections_lock);
    struct connection **link = &connections;
    while (*link != NULL) {
        struct connection *conn = *link;
        if (conn->done) {
            *link = conn->next;
            pthread_join(conn->thread, NULL);
            free(conn);
        } else {
            link = &conn->next;
        }
    }
    pthread_mutex_unlock(&connections_lock);
}

/* Starts a thread for a freshly accepted connection (which it then owns). */
static int start_connection(sockrt_handle handle) {
    struct connection *conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        fprintf(stderr, "echo_server: out of memory\n");
        sockrt_close(handle);
        return -1;
    }
    conn->handle = handle;
    pthread_mutex_lock(&connections_lock);
    int err = pthread_create(&conn->thread, NULL, serve_connection, conn);
    if (err == 0) {
        conn->next = connections;
        connections = conn;
    }
    pthread_mutex_unlock(&connections_lock);
    if (err != 0) {
        fprintf(stderr, "echo_server: pthread_create: %s\n", strerror(err));
        sockrt_close(handle);
        free(conn);
        return -1;
    }
    return 0;
}

/* Wakes every connection thread still running, then joins them all. */
static void stop_connections(void) {
    pthread_mutex_lock(&connections_lock);
    for (struct connection *conn = connections; conn != NULL; conn = conn->next) {
        if (!conn->done) {
            /* Shutdown wakes the thread's blocked recv; the thread still
             * owns the handle and closes it itself. */
            sockrt_shutdown(conn->handle, SOCKRT_SHUT_BOTH);
        }
    }
    pthread_mutex_unlock(&connections_lock);
    /* Each thread takes the lock to finish, so join outside it. */
    while (connections != NULL) {
        struct connection *conn = connections;
        connections = conn->next;
        pthread_join(conn->thread, NULL);
        free(conn);
    }
}

/* Set when HOST is a Unix socket path. */
static int unix_socket;

/* The classic flow: socket, bind, listen. Returns the listener or 0. */
static sockrt_handle open_listener(const char *host, uint16_t port) {
    int32_t family = unix_socket                  ? SOCKRT_UNIX
                     : strchr(host, ':') != NULL ? SOCKRT_INET6
                                                 : SOCKRT_INET;
    sockrt_handle listener = 0;
    int32_t rc = sockrt_socket(family, SOCKRT_STREAM, &listener);
    if (rc != SOCKRT_OK) {
        report_error("socket", rc);
        return 0;
    }
    /* Lets a restarted server bind at once: over lingering TCP connections,
     * or over the socket file a killed Unix server left behind. */
    int32_t option = unix_socket ? SOCKRT_OPT_UNLINK_STALE : SOCKRT_OPT_REUSEADDR;
    rc = sockrt_set_option(listener, option, 1);
    if (rc == SOCKRT_OK) {
        rc = sockrt_bind(listener, host, port);
        if (rc != SOCKRT_OK) {
            report_error("bind", rc);
        }
    } else {
        report_error("set_option", rc);
    }
    if (rc == SOCKRT_OK) {
        rc = sockrt_listen(listener, BACKLOG);
        if (rc != SOCKRT_OK) {
            report_error("listen", rc);
        }
    }
    if (rc != SOCKRT_OK) {
        sockrt_close(listener);
        return 0;
    }
    return listener;
}

/* Prints the LISTENING line with the address actually bound (port 0 made
 * the system choose one). */
static int announce(sockrt_handle listener) {
    char host[SOCKRT_UNIX_PATH_MAX]; /* an IP address or a Unix path */
    uint16_t port = 0;
    int32_t rc = sockrt_local_addr(listener, host, sizeof host, &port);
    if (rc != SOCKRT_OK) {
        report_error("local_addr", rc);
        return -1;
    }
    printf("LISTENING %s %u\n", host, (unsigned)port);
    fflush(stdout);
    return 0;
}

/* Accepts until the listener is closed by the watcher. Returns 0 on a clean
 * stop, 1 if accept failed for another reason. */
static int accept_loop(sockrt_handle listener) {
    for (;;) {
        sockrt_handle conn = 0;
        int32_t rc = sockrt_accept(listener, &conn);
        if (rc == SOCKRT_E_CLOSED || rc == SOCKRT_E_BAD_HANDLE) {
            return 0; /* the watcher closed the listener: a requested stop */
        }
        if (rc == SOCKRT_E_LIMIT || rc == SOCKRT_E_CONNECTION_RESET) {
            report_error("accept", rc); /* transient: keep serving */
            continue;
        }
        if (rc != SOCKRT_OK) {
            report_error("accept", rc);
            return 1;
        }
        /* Echoed replies are small and latency matters: no Nagle delay. */
        if (!unix_socket && sockrt_set_option(conn, SOCKRT_OPT_NODELAY, 1) != SOCKRT_OK) {
            report_error("set_option NODELAY", sockrt_last_error());
        }
        reap_finished_connections();
        start_connection(conn);
    }
}

int main(int argc, char **argv) {
    long port = 0, seconds = DEFAULT_SECONDS;
    if (argc < 3 || argc > 4 || parse_number(argv[2], 0, 65535, &port) != 0 ||
        (argc == 4 && parse_number(argv[3], 1, 86400, &seconds) != 0)) {
        fprintf(stderr, "usage: %s HOST PORT [SECONDS]\n", argv[0]);
        return 2;
    }
    unix_socket = strchr(argv[1], '/') != NULL;

    /* Block the shutdown signals before any thread starts, so every thread
     * inherits the mask and only the watcher receives them (by sigtimedwait). */
    struct watcher watcher;
    if (watcher_block(&watcher, seconds) != 0) {
        return 1;
    }
    sockrt_handle listener = open_listener(argv[1], (uint16_t)port);
    if (listener == 0) {
        return 1;
    }
    if (announce(listener) != 0 || watcher_start(&watcher, listener) != 0) {
        sockrt_close(listener);
        return 1;
    }

    /* The watcher closes the listener, which ends the accept loop. */
    int status = accept_loop(listener);
    watcher_join(&watcher, status != 0);
    stop_connections();
    return status;
}
