#include <sockrt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Three requests over a pool to an echo server: one TCP handshake, then reuse. */
int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
        return 2;
    }
    sockrt_pool_config cfg;
    sockrt_pool_config_init(&cfg); /* defaults: max_idle 8, max_total 32, liveness check on */
    cfg.max_total = 4;

    sockrt_handle pool, conn;
    if (sockrt_pool_open(argv[1], (uint16_t)atoi(argv[2]), &cfg, &pool) != SOCKRT_OK)
        return 1;
    for (int i = 0; i < 3; i++) {
        char reply[8];
        if (sockrt_pool_acquire(pool, &conn) != SOCKRT_OK) {
            char msg[256];
            sockrt_last_error_message(msg, sizeof msg);
            fprintf(stderr, "acquire: %s\n", msg);
            return 1;
        }
        int reused = sockrt_pool_was_reused(conn);
        if (sockrt_send_all(conn, "request", 7) == SOCKRT_OK &&
            sockrt_recv_exact(conn, reply, 7) == SOCKRT_OK) {
            printf("request %d: %.7s (reused connection: %s)\n", i, reply, reused ? "yes" : "no");
            sockrt_pool_release(pool, conn); /* healthy: back to idle */
        } else {
            sockrt_pool_discard(pool, conn); /* broken: closed, slot freed */
        }
    }
    sockrt_pool_stats st;
    sockrt_pool_get_stats(pool, &st);
    printf("created=%llu reused=%llu idle=%llu in_use=%llu\n", (unsigned long long)st.created,
           (unsigned long long)st.reused, (unsigned long long)st.idle, (unsigned long long)st.in_use);
    return sockrt_pool_close(pool) == SOCKRT_OK ? 0 : 1;
}
