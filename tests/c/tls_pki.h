/*
 * Test certificates for the C TLS tests: made at run time by
 * tests/tls/make_certs.sh (the openssl command) in a fresh temporary
 * directory, or taken from $SOCKRT_TEST_PKI if that names a directory the
 * script filled already. Run the tests from the top of the source tree.
 */
#ifndef SOCKRT_TEST_TLS_PKI_H
#define SOCKRT_TEST_TLS_PKI_H

#include "check.h"
#include <sys/stat.h>

static char pki_dir[256];
static int pki_made_here;

static inline const char *pki_make(void)
{
    const char *given = getenv("SOCKRT_TEST_PKI");
    char cmd[600];
    if (given != NULL && given[0] != '\0') {
        snprintf(pki_dir, sizeof pki_dir, "%s", given);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(pki_dir, sizeof pki_dir, "%s/sockrt-pki-XXXXXX", tmp ? tmp : "/tmp");
        CHECK_MSG(mkdtemp(pki_dir) != NULL, "mkdtemp: %s", strerror(errno));
        pki_made_here = 1;
    }
    snprintf(cmd, sizeof cmd, "sh tests/tls/make_certs.sh '%s' >/dev/null", pki_dir);
    CHECK_MSG(system(cmd) == 0, "make_certs.sh failed in %.200s (run from the source tree; needs openssl)", pki_dir);
    return pki_dir;
}

/* Removes the directory pki_make made (not one given by the caller). */
static inline void pki_cleanup(void)
{
    char cmd[300];
    if (!pki_made_here)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pki_dir);
    CHECK(system(cmd) == 0);
}

static inline char *pki_path(const char *name)
{
    static char path[4][400];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", pki_dir, name);
    return p;
}

/* Reads a PEM file of the test PKI into a malloc'ed buffer. */
static inline char *pki_read(const char *name, size_t *len)
{
    FILE *f = fopen(pki_path(name), "rb");
    CHECK_MSG(f != NULL, "open %s: %s", pki_path(name), strerror(errno));
    char *buf = malloc(1 << 16);
    CHECK(buf != NULL);
    *len = fread(buf, 1, (1 << 16) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* A client config trusting only the test CA. */
static inline sockrt_handle pki_client_config(void)
{
    sockrt_handle cfg = 0;
    size_t len;
    char *ca = pki_read("ca.pem", &len);
    CHECK_OK(sockrt_tls_client_config_new(&cfg));
    CHECK_OK(sockrt_tls_client_config_use_system_roots(cfg, 0));
    CHECK_OK(sockrt_tls_client_config_add_ca_pem(cfg, ca, len));
    free(ca);
    return cfg;
}

/* A server config presenting `cert` with `key`. */
static inline sockrt_handle pki_server_config(const char *cert, const char *key)
{
    sockrt_handle cfg = 0;
    size_t clen, klen;
    char *c = pki_read(cert, &clen), *k = pki_read(key, &klen);
    CHECK_OK(sockrt_tls_server_config_new(c, clen, k, klen, &cfg));
    free(c);
    free(k);
    return cfg;
}

#endif /* SOCKRT_TEST_TLS_PKI_H */
