/*
 * JNI glue for io.sockrt's TLS classes (SockrtTlsNative): configs, TLS
 * connect and accept, and what a connection negotiated. Data calls on a TLS
 * handle go through the socket glue unchanged.
 */
#include "glue.h"
#include "io_sockrt_SockrtTlsNative.h"

#include <stdlib.h>
#include <string.h>

/* A byte[] argument copied out for one call; NULL with NPE pending. */
struct bytes {
    jbyteArray array;
    jbyte *data;
    jsize len;
};

static int bytes_get(JNIEnv *env, jbyteArray array, const char *what, struct bytes *b)
{
    b->array = array;
    b->data = NULL;
    b->len = 0;
    if (array == NULL) {
        sockrt_jni_throw_npe(env, what);
        return 0;
    }
    b->len = (*env)->GetArrayLength(env, array);
    b->data = (*env)->GetByteArrayElements(env, array, NULL);
    return b->data != NULL;
}

static void bytes_done(JNIEnv *env, struct bytes *b)
{
    if (b->data != NULL) {
        (*env)->ReleaseByteArrayElements(env, b->array, b->data, JNI_ABORT);
    }
}

static void check(JNIEnv *env, int32_t rc)
{
    if (rc != SOCKRT_OK) {
        sockrt_jni_throw_status(env, rc);
    }
}

JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtTlsNative_clientConfig(JNIEnv *env, jclass cls UNUSED)
{
    sockrt_handle h = 0;
    check(env, sockrt_tls_client_config_new(&h));
    return (jlong)h;
}

JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtTlsNative_serverConfig(JNIEnv *env, jclass cls UNUSED,
                                                                    jbyteArray cert, jbyteArray key)
{
    struct bytes c, k;
    sockrt_handle h = 0;
    if (bytes_get(env, cert, "certPem", &c) && bytes_get(env, key, "keyPem", &k)) {
        check(env, sockrt_tls_server_config_new(c.data, (size_t)c.len, k.data, (size_t)k.len, &h));
        bytes_done(env, &k);
    }
    bytes_done(env, &c);
    return (jlong)h;
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtTlsNative_addCaPem(JNIEnv *env, jclass cls UNUSED, jlong cfg,
                                                               jbyteArray pem)
{
    struct bytes p;
    if (bytes_get(env, pem, "pem", &p)) {
        check(env, sockrt_tls_client_config_add_ca_pem((sockrt_handle)cfg, p.data, (size_t)p.len));
    }
    bytes_done(env, &p);
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtTlsNative_useSystemRoots(JNIEnv *env, jclass cls UNUSED,
                                                                     jlong cfg, jboolean on)
{
    check(env, sockrt_tls_client_config_use_system_roots((sockrt_handle)cfg, on ? 1 : 0));
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtTlsNative_clientCert(JNIEnv *env, jclass cls UNUSED, jlong cfg,
                                                                 jbyteArray cert, jbyteArray key)
{
    struct bytes c, k;
    if (bytes_get(env, cert, "certPem", &c) && bytes_get(env, key, "keyPem", &k)) {
        check(env, sockrt_tls_client_config_set_client_cert((sockrt_handle)cfg, c.data, (size_t)c.len,
                                                            k.data, (size_t)k.len));
        bytes_done(env, &k);
    }
    bytes_done(env, &c);
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtTlsNative_dangerousDisableVerification(JNIEnv *env,
                                                                                   jclass cls UNUSED,
                                                                                   jlong cfg)
{
    check(env, sockrt_tls_client_config_dangerous_disable_verification((sockrt_handle)cfg));
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtTlsNative_verifyClients(JNIEnv *env, jclass cls UNUSED,
                                                                    jlong cfg, jbyteArray ca,
                                                                    jboolean required)
{
    struct bytes p;
    if (bytes_get(env, ca, "caPem", &p)) {
        check(env, sockrt_tls_server_config_verify_clients((sockrt_handle)cfg, p.data, (size_t)p.len,
                                                           required ? 1 : 0));
    }
    bytes_done(env, &p);
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtTlsNative_addAlpn(JNIEnv *env, jclass cls UNUSED, jlong cfg,
                                                              jbyteArray protocol)
{
    struct bytes p;
    if (bytes_get(env, protocol, "protocol", &p)) {
        check(env, sockrt_tls_config_add_alpn((sockrt_handle)cfg, p.data, (size_t)p.len));
    }
    bytes_done(env, &p);
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtTlsNative_versions(JNIEnv *env, jclass cls UNUSED, jlong cfg,
                                                               jint min, jint max)
{
    check(env, sockrt_tls_config_set_versions((sockrt_handle)cfg, min, max));
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtTlsNative_resumption(JNIEnv *env, jclass cls UNUSED, jlong cfg,
                                                                 jboolean on)
{
    check(env, sockrt_tls_config_set_resumption((sockrt_handle)cfg, on ? 1 : 0));
}

JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtTlsNative_connect(JNIEnv *env, jclass cls UNUSED, jstring host,
                                                               jint port, jlong cfg, jstring name,
                                                               jint timeout_ms)
{
    if (!sockrt_jni_check_port(env, port)) {
        return 0;
    }
    const char *h = sockrt_jni_host(env, host);
    if (h == NULL) {
        return 0;
    }
    const char *n = name == NULL ? NULL : sockrt_jni_host(env, name);
    sockrt_handle out = 0;
    if (name == NULL || n != NULL) {
        check(env, sockrt_tls_connect(h, (uint16_t)port, (sockrt_handle)cfg, n, timeout_ms, &out));
    }
    if (n != NULL) {
        sockrt_jni_host_done(env, name, n);
    }
    sockrt_jni_host_done(env, host, h);
    return (jlong)out;
}

JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtTlsNative_accept(JNIEnv *env, jclass cls UNUSED, jlong listener,
                                                              jlong cfg, jint timeout_ms)
{
    sockrt_handle out = 0;
    check(env, sockrt_tls_accept((sockrt_handle)listener, (sockrt_handle)cfg, timeout_ms, &out));
    return (jlong)out;
}

static int info_of(JNIEnv *env, jlong h, sockrt_tls_info *info)
{
    int32_t rc = sockrt_tls_get_info((sockrt_handle)h, info);
    if (rc != SOCKRT_OK) {
        sockrt_jni_throw_status(env, rc);
        return 0;
    }
    return 1;
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtTlsNative_info(JNIEnv *env, jclass cls UNUSED, jlong h,
                                                           jintArray out)
{
    sockrt_tls_info info;
    if (out == NULL || (*env)->GetArrayLength(env, out) < 4) {
        sockrt_jni_throw_iae(env, "info needs an int[4]");
        return;
    }
    if (!info_of(env, h, &info)) {
        return;
    }
    jint v[4] = { info.version, info.cipher_suite, info.resumed ? 1 : 0, info.peer_certificate ? 1 : 0 };
    (*env)->SetIntArrayRegion(env, out, 0, 4, v);
}

JNIEXPORT jstring JNICALL Java_io_sockrt_SockrtTlsNative_cipherSuiteName(JNIEnv *env, jclass cls UNUSED,
                                                                         jlong h)
{
    sockrt_tls_info info;
    return info_of(env, h, &info) ? (*env)->NewStringUTF(env, info.cipher_suite_name) : NULL;
}

JNIEXPORT jbyteArray JNICALL Java_io_sockrt_SockrtTlsNative_alpn(JNIEnv *env, jclass cls UNUSED, jlong h)
{
    sockrt_tls_info info;
    if (!info_of(env, h, &info) || info.alpn_len == 0) {
        return NULL;
    }
    jbyteArray out = (*env)->NewByteArray(env, (jsize)info.alpn_len);
    if (out != NULL) {
        (*env)->SetByteArrayRegion(env, out, 0, (jsize)info.alpn_len, (const jbyte *)info.alpn);
    }
    return out;
}

JNIEXPORT jstring JNICALL Java_io_sockrt_SockrtTlsNative_peerSubject(JNIEnv *env, jclass cls UNUSED,
                                                                     jlong h)
{
    sockrt_tls_info info;
    if (!info_of(env, h, &info) || !info.peer_certificate) {
        return NULL;
    }
    char subject[4096];
    int64_t n = sockrt_tls_peer_subject((sockrt_handle)h, subject, sizeof subject);
    if (n < 0) {
        sockrt_jni_throw_status(env, n);
        return NULL;
    }
    for (char *s = subject; *s; s++) {
        if ((unsigned char)*s >= 0x80) {
            *s = '?'; /* modified UTF-8 is not UTF-8 */
        }
    }
    return (*env)->NewStringUTF(env, subject);
}
