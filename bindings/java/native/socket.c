/*
 * JNI methods of io.sockrt.SockrtNative: library queries, socket lifecycle,
 * data calls, options and addresses. Each one converts its arguments, calls
 * one sockrt_* function and throws through sockrt_jni_throw_status on failure.
 *
 * byte[] data goes through a per-thread native buffer (Get/SetByteArrayRegion)
 * so that no array is pinned while a call blocks; direct buffers are read and
 * written in place.
 */
#include "glue.h"

#include <string.h>
#include <time.h>

/* ---- library ---- */

JNIEXPORT jstring JNICALL Java_io_sockrt_SockrtNative_version(JNIEnv *env, jclass cls UNUSED)
{
    return (*env)->NewStringUTF(env, sockrt_version());
}

JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtNative_openHandles(JNIEnv *env UNUSED, jclass cls UNUSED)
{
    uint64_t n = sockrt_open_handles();
    return n > INT64_MAX ? INT64_MAX : (jlong)n;
}

JNIEXPORT jstring JNICALL Java_io_sockrt_SockrtNative_errorName(JNIEnv *env, jclass cls UNUSED, jint code)
{
    return (*env)->NewStringUTF(env, sockrt_error_name(code));
}

JNIEXPORT jstring JNICALL Java_io_sockrt_SockrtNative_strerror(JNIEnv *env, jclass cls UNUSED, jint code)
{
    return (*env)->NewStringUTF(env, sockrt_strerror(code));
}

/* ---- lifecycle ---- */

JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtNative_socket(JNIEnv *env, jclass cls UNUSED, jint family,
                                                           jint type)
{
    sockrt_handle h = 0;
    int32_t status = sockrt_socket(family, type, &h);
    return sockrt_jni_handle_or_throw(env, status, h);
}

/* The calls below that take a host and a port go through sockrt_jni_with_host;
 * each passes its other arguments and its result in a small struct. */
struct host_call {
    sockrt_handle h;    /* in: the socket, or out: the new handle */
    int32_t number;     /* a timeout or a backlog */
};

static int32_t call_tcp_connect(const char *host, uint16_t port, void *ctx)
{
    struct host_call *c = ctx;
    return sockrt_tcp_connect(host, port, c->number, &c->h);
}

static int32_t call_tcp_listen(const char *host, uint16_t port, void *ctx)
{
    struct host_call *c = ctx;
    return sockrt_tcp_listen(host, port, c->number, &c->h);
}

static int32_t call_udp_bind(const char *host, uint16_t port, void *ctx)
{
    struct host_call *c = ctx;
    return sockrt_udp_bind(host, port, &c->h);
}

static int32_t call_bind(const char *host, uint16_t port, void *ctx)
{
    struct host_call *c = ctx;
    return sockrt_bind(c->h, host, port);
}

static int32_t call_connect(const char *host, uint16_t port, void *ctx)
{
    struct host_call *c = ctx;
    return sockrt_connect(c->h, host, port, c->number);
}

JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtNative_tcpConnect(JNIEnv *env, jclass cls UNUSED, jstring host,
                                                               jint port, jint timeout_ms)
{
    struct host_call c = {0, timeout_ms};
    return sockrt_jni_with_host(env, host, port, call_tcp_connect, &c) ? (jlong)c.h : 0;
}

JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtNative_tcpListen(JNIEnv *env, jclass cls UNUSED, jstring host,
                                                              jint port, jint backlog)
{
    struct host_call c = {0, backlog};
    return sockrt_jni_with_host(env, host, port, call_tcp_listen, &c) ? (jlong)c.h : 0;
}

JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtNative_udpBind(JNIEnv *env, jclass cls UNUSED, jstring host,
                                                            jint port)
{
    struct host_call c = {0, 0};
    return sockrt_jni_with_host(env, host, port, call_udp_bind, &c) ? (jlong)c.h : 0;
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_bind(JNIEnv *env, jclass cls UNUSED, jlong h, jstring host,
                                                        jint port)
{
    struct host_call c = {(sockrt_handle)h, 0};
    sockrt_jni_with_host(env, host, port, call_bind, &c);
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_listen(JNIEnv *env, jclass cls UNUSED, jlong h, jint backlog)
{
    sockrt_jni_status_or_throw(env, sockrt_listen((sockrt_handle)h, backlog));
}

JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtNative_accept(JNIEnv *env, jclass cls UNUSED, jlong h)
{
    sockrt_handle conn = 0;
    int32_t status = sockrt_accept((sockrt_handle)h, &conn);
    return sockrt_jni_handle_or_throw(env, status, conn);
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_connect(JNIEnv *env, jclass cls UNUSED, jlong h, jstring host,
                                                           jint port, jint timeout_ms)
{
    struct host_call c = {(sockrt_handle)h, timeout_ms};
    sockrt_jni_with_host(env, host, port, call_connect, &c);
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_shutdown(JNIEnv *env, jclass cls UNUSED, jlong h, jint how)
{
    sockrt_jni_status_or_throw(env, sockrt_shutdown((sockrt_handle)h, how));
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_disconnect(JNIEnv *env, jclass cls UNUSED, jlong h)
{
    sockrt_jni_status_or_throw(env, sockrt_disconnect((sockrt_handle)h));
}

JNIEXPORT jint JNICALL Java_io_sockrt_SockrtNative_close(JNIEnv *env UNUSED, jclass cls UNUSED, jlong h)
{
    return sockrt_close((sockrt_handle)h);
}

/* ---- data on byte[] ---- */

/* A partial read or write moves at most what the kept bounce buffer holds. */
static size_t partial_length(jint len)
{
    return (size_t)len < SOCKRT_JNI_BOUNCE_KEEP ? (size_t)len : SOCKRT_JNI_BOUNCE_KEEP;
}

JNIEXPORT jint JNICALL Java_io_sockrt_SockrtNative_recv(JNIEnv *env, jclass cls UNUSED, jlong h, jbyteArray array,
                                                        jint off, jint len)
{
    if (!sockrt_jni_check_array(env, array, off, len)) {
        return 0;
    }
    size_t want = partial_length(len);
    int owned;
    unsigned char *buf = sockrt_jni_scratch(env, want, &owned);
    if (buf == NULL && want > 0) {
        return 0;
    }
    int64_t n = sockrt_recv((sockrt_handle)h, buf, want);
    if (n < 0) {
        sockrt_jni_throw_status(env, n);
        return 0;
    }
    if (n > 0) {
        (*env)->SetByteArrayRegion(env, array, off, (jsize)n, (const jbyte *)buf);
    }
    return (jint)n;
}

JNIEXPORT jint JNICALL Java_io_sockrt_SockrtNative_send(JNIEnv *env, jclass cls UNUSED, jlong h, jbyteArray array,
                                                        jint off, jint len)
{
    if (!sockrt_jni_check_array(env, array, off, len)) {
        return 0;
    }
    size_t want = partial_length(len);
    int owned;
    unsigned char *buf = sockrt_jni_scratch(env, want, &owned);
    if (buf == NULL && want > 0) {
        return 0;
    }
    (*env)->GetByteArrayRegion(env, array, off, (jsize)want, (jbyte *)buf);
    if ((*env)->ExceptionCheck(env)) {
        return 0;
    }
    int64_t n = sockrt_send((sockrt_handle)h, buf, want);
    if (n < 0) {
        sockrt_jni_throw_status(env, n);
        return 0;
    }
    return (jint)n;
}

/* sendAll and recvExact of a byte[] go through the kept bounce buffer one
 * chunk at a time, so a large array costs no allocation of its size. The Java
 * side holds the socket's write (or read) lock around the call, so concurrent
 * calls still never interleave their bytes. The option's timeout still bounds
 * the whole call: when one is set, each chunk after the first is given the
 * time left (and the option is put back afterwards). */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void all_in_chunks(JNIEnv *env, sockrt_handle h, jbyteArray array, jint off, jint len, int sending)
{
    size_t chunk = partial_length(len);
    int owned;
    unsigned char *buf = sockrt_jni_scratch(env, chunk, &owned);
    if (buf == NULL) {
        return;
    }
    int32_t opt = sending ? SOCKRT_OPT_WRITE_TIMEOUT_MS : SOCKRT_OPT_READ_TIMEOUT_MS;
    int64_t timeout = -1;
    int32_t status = SOCKRT_OK;
    if ((size_t)len > chunk) {
        status = sockrt_get_option(h, opt, &timeout);
    }
    int64_t deadline = timeout > 0 ? now_ms() + timeout : 0;
    int changed = 0;
    for (jint done = 0; status == SOCKRT_OK && done < len;) {
        jint n = (jint)partial_length(len - done);
        if (deadline != 0 && done > 0) {
            int64_t left = deadline - now_ms();
            status = left > 0 ? sockrt_set_option(h, opt, left) : SOCKRT_E_TIMEOUT;
            changed = 1;
            if (status != SOCKRT_OK) {
                break;
            }
        }
        if (sending) {
            (*env)->GetByteArrayRegion(env, array, off + done, n, (jbyte *)buf);
            if ((*env)->ExceptionCheck(env)) {
                break;
            }
            status = sockrt_send_all(h, buf, (size_t)n);
        } else {
            status = sockrt_recv_exact(h, buf, (size_t)n);
            if (status == SOCKRT_OK) {
                (*env)->SetByteArrayRegion(env, array, off + done, n, (const jbyte *)buf);
            }
        }
        done += n;
    }
    /* Throw first: it reads the failed call's message, which the restore would replace. */
    sockrt_jni_status_or_throw(env, status);
    if (changed) {
        sockrt_set_option(h, opt, timeout);
    }
    sockrt_jni_scratch_done(buf, owned);
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_recvExact(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                             jbyteArray array, jint off, jint len)
{
    if (sockrt_jni_check_array(env, array, off, len) && len > 0) {
        all_in_chunks(env, (sockrt_handle)h, array, off, len, 0);
    }
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_sendAll(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                           jbyteArray array, jint off, jint len)
{
    if (sockrt_jni_check_array(env, array, off, len) && len > 0) {
        all_in_chunks(env, (sockrt_handle)h, array, off, len, 1);
    }
}

/* One bounce buffer holds the request, then the reply after it, so the
 * library is crossed once; the reply reaches the array only on success. */
JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_exchange(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                            jbyteArray req, jint off, jint len,
                                                            jbyteArray resp, jint roff, jint rlen)
{
    if (!sockrt_jni_check_array(env, req, off, len) || !sockrt_jni_check_array(env, resp, roff, rlen)) {
        return;
    }
    size_t total = (size_t)len + (size_t)rlen; /* both are at most INT32_MAX */
    int owned;
    unsigned char *buf = sockrt_jni_scratch(env, total, &owned);
    if (buf == NULL && total > 0) {
        return;
    }
    unsigned char *reply = buf == NULL ? NULL : buf + len;
    (*env)->GetByteArrayRegion(env, req, off, len, (jbyte *)buf);
    if (!(*env)->ExceptionCheck(env)) {
        int32_t status = sockrt_exchange((sockrt_handle)h, buf, (size_t)len, reply, (size_t)rlen);
        if (status != SOCKRT_OK) {
            sockrt_jni_throw_status(env, status);
        } else if (rlen > 0) {
            (*env)->SetByteArrayRegion(env, resp, roff, rlen, (const jbyte *)reply);
        }
    }
    sockrt_jni_scratch_done(buf, owned);
}

/* send_to through sockrt_jni_with_host: the datagram in, the count out. */
struct send_to_call {
    sockrt_handle h;
    const unsigned char *buf;
    size_t len;
    int64_t sent;
};

static int32_t call_send_to(const char *host, uint16_t port, void *ctx)
{
    struct send_to_call *c = ctx;
    c->sent = sockrt_send_to(c->h, c->buf, c->len, host, port);
    return c->sent < 0 ? (int32_t)(c->sent < INT32_MIN ? SOCKRT_E_IO : c->sent) : SOCKRT_OK;
}

JNIEXPORT jint JNICALL Java_io_sockrt_SockrtNative_sendTo(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                          jbyteArray array, jint off, jint len, jstring host,
                                                          jint port)
{
    if (!sockrt_jni_check_array(env, array, off, len)) {
        return 0;
    }
    int owned;
    unsigned char *buf = sockrt_jni_scratch(env, (size_t)len, &owned);
    if (buf == NULL && len > 0) {
        return 0;
    }
    (*env)->GetByteArrayRegion(env, array, off, len, (jbyte *)buf);
    struct send_to_call c = {(sockrt_handle)h, buf, (size_t)len, 0};
    int ok = !(*env)->ExceptionCheck(env) && sockrt_jni_with_host(env, host, port, call_send_to, &c);
    sockrt_jni_scratch_done(buf, owned);
    return ok ? (jint)c.sent : 0;
}

/* Copies the sender's host (NUL included) to the caller's byte[ADDR_MAX]
 * and packs port and length into the return value. */
static jlong finish_recv_from(JNIEnv *env, int64_t n, const char *host, uint16_t port, jbyteArray host_out)
{
    if (n < 0) {
        sockrt_jni_throw_status(env, n);
        return 0;
    }
    (*env)->SetByteArrayRegion(env, host_out, 0, (jsize)(strlen(host) + 1), (const jbyte *)host);
    return ((jlong)port << 32) | (jlong)n;
}

static int check_host_out(JNIEnv *env, jbyteArray host_out)
{
    if (host_out == NULL) {
        sockrt_jni_throw_npe(env, "host buffer");
        return 0;
    }
    if ((*env)->GetArrayLength(env, host_out) < SOCKRT_ADDR_MAX) {
        sockrt_jni_throw_iae(env, "host buffer shorter than SOCKRT_ADDR_MAX");
        return 0;
    }
    return 1;
}

JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtNative_recvFrom(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                             jbyteArray array, jint off, jint len,
                                                             jbyteArray host_out)
{
    if (!sockrt_jni_check_array(env, array, off, len) || !check_host_out(env, host_out)) {
        return 0;
    }
    size_t want = partial_length(len); /* more than any datagram */
    int owned;
    unsigned char *buf = sockrt_jni_scratch(env, want, &owned);
    if (buf == NULL && want > 0) {
        return 0;
    }
    char host[SOCKRT_ADDR_MAX] = "";
    uint16_t port = 0;
    int64_t n = sockrt_recv_from((sockrt_handle)h, buf, want, host, sizeof host, &port);
    if (n > 0) {
        (*env)->SetByteArrayRegion(env, array, off, (jsize)n, (const jbyte *)buf);
    }
    return finish_recv_from(env, n, host, port, host_out);
}

/* ---- data on direct buffers: no copy ---- */

JNIEXPORT jint JNICALL Java_io_sockrt_SockrtNative_recvDirect(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                              jobject buffer, jint pos, jint len)
{
    unsigned char *p = sockrt_jni_direct(env, buffer, pos, len);
    if (p == NULL) {
        return 0;
    }
    int64_t n = sockrt_recv((sockrt_handle)h, p, (size_t)len);
    if (n < 0) {
        sockrt_jni_throw_status(env, n);
        return 0;
    }
    return (jint)n;
}

JNIEXPORT jint JNICALL Java_io_sockrt_SockrtNative_sendDirect(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                              jobject buffer, jint pos, jint len)
{
    unsigned char *p = sockrt_jni_direct(env, buffer, pos, len);
    if (p == NULL) {
        return 0;
    }
    int64_t n = sockrt_send((sockrt_handle)h, p, (size_t)len);
    if (n < 0) {
        sockrt_jni_throw_status(env, n);
        return 0;
    }
    return (jint)n;
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_recvExactDirect(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                                   jobject buffer, jint pos, jint len)
{
    unsigned char *p = sockrt_jni_direct(env, buffer, pos, len);
    if (p != NULL) {
        sockrt_jni_status_or_throw(env, sockrt_recv_exact((sockrt_handle)h, p, (size_t)len));
    }
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_sendAllDirect(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                                 jobject buffer, jint pos, jint len)
{
    unsigned char *p = sockrt_jni_direct(env, buffer, pos, len);
    if (p != NULL) {
        sockrt_jni_status_or_throw(env, sockrt_send_all((sockrt_handle)h, p, (size_t)len));
    }
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_exchangeDirect(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                                  jobject req, jint pos, jint len, jobject resp,
                                                                  jint rpos, jint rlen)
{
    unsigned char *p = sockrt_jni_direct(env, req, pos, len);
    unsigned char *r = p == NULL ? NULL : sockrt_jni_direct(env, resp, rpos, rlen);
    if (r != NULL) {
        sockrt_jni_status_or_throw(env, sockrt_exchange((sockrt_handle)h, p, (size_t)len, r, (size_t)rlen));
    }
}

JNIEXPORT jint JNICALL Java_io_sockrt_SockrtNative_sendToDirect(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                                jobject buffer, jint pos, jint len, jstring host,
                                                                jint port)
{
    unsigned char *p = sockrt_jni_direct(env, buffer, pos, len);
    if (p == NULL) {
        return 0;
    }
    struct send_to_call c = {(sockrt_handle)h, p, (size_t)len, 0};
    return sockrt_jni_with_host(env, host, port, call_send_to, &c) ? (jint)c.sent : 0;
}

JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtNative_recvFromDirect(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                                   jobject buffer, jint pos, jint len,
                                                                   jbyteArray host_out)
{
    if (!check_host_out(env, host_out)) {
        return 0;
    }
    unsigned char *p = sockrt_jni_direct(env, buffer, pos, len);
    if (p == NULL) {
        return 0;
    }
    char host[SOCKRT_ADDR_MAX] = "";
    uint16_t port = 0;
    int64_t n = sockrt_recv_from((sockrt_handle)h, p, (size_t)len, host, sizeof host, &port);
    return finish_recv_from(env, n, host, port, host_out);
}

/* ---- options and addresses ---- */

JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_setOption(JNIEnv *env, jclass cls UNUSED, jlong h, jint opt,
                                                             jlong value)
{
    sockrt_jni_status_or_throw(env, sockrt_set_option((sockrt_handle)h, opt, value));
}

JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtNative_getOption(JNIEnv *env, jclass cls UNUSED, jlong h, jint opt)
{
    int64_t value = 0;
    sockrt_jni_status_or_throw(env, sockrt_get_option((sockrt_handle)h, opt, &value));
    return value;
}

/* Raw int-valued socket options (IP_TOS and IPV6_TCLASS: java.net's traffic class). */
JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_setSockOptInt(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                                 jint level, jint name, jint value)
{
    int v = value;
    sockrt_jni_status_or_throw(env, sockrt_setsockopt((sockrt_handle)h, level, name, &v, sizeof v));
}

JNIEXPORT jint JNICALL Java_io_sockrt_SockrtNative_getSockOptInt(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                                 jint level, jint name)
{
    int v = 0;
    size_t len = sizeof v;
    sockrt_jni_status_or_throw(env, sockrt_getsockopt((sockrt_handle)h, level, name, &v, &len));
    return v;
}

static int32_t address_of(sockrt_handle h, jboolean peer, char *host, size_t cap, uint16_t *port)
{
    return peer ? sockrt_peer_addr(h, host, cap, port) : sockrt_local_addr(h, host, cap, port);
}

JNIEXPORT jstring JNICALL Java_io_sockrt_SockrtNative_addressHost(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                                  jboolean peer)
{
    /* Room for a Unix path or "@name" (up to 107 bytes), not only an IP address. */
    char host[SOCKRT_UNIX_PATH_MAX] = "";
    int32_t status = address_of((sockrt_handle)h, peer, host, sizeof host, NULL);
    if (status != SOCKRT_OK) {
        sockrt_jni_throw_status(env, status);
        return NULL;
    }
    return (*env)->NewStringUTF(env, host);
}

JNIEXPORT jint JNICALL Java_io_sockrt_SockrtNative_addressPort(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                               jboolean peer)
{
    uint16_t port = 0;
    int32_t status = address_of((sockrt_handle)h, peer, NULL, 0, &port);
    if (status != SOCKRT_OK) {
        sockrt_jni_throw_status(env, status);
        return -1;
    }
    return port;
}
