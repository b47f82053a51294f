/*
 * Library load, exception mapping, argument checks and bounce buffers for
 * the sockrt JNI glue.
 */
#include "glue.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Global references to the exception classes, taken once at load so that a
 * throw never has to look a class up on a hot or failing path. */
static jclass timeout_class;
static jclass connect_class;
static jclass bind_class;
static jclass no_route_class;
static jclass unknown_host_class;
static jclass socket_class;
static jclass eof_class;
static jclass sockrt_class;
static jmethodID sockrt_ctor;
static jclass ssl_handshake_class;
static jmethodID ssl_handshake_ctor;
static jclass ssl_class;
static jmethodID ssl_ctor;
static jclass npe_class;
static jclass iae_class;
static jclass ioobe_class;
static jclass oom_class;
static jclass unsupported_class;

/* Frees a thread's bounce buffer when the thread ends. */
static pthread_key_t bounce_key;
static _Thread_local unsigned char *bounce;
static _Thread_local size_t bounce_cap;

static jclass global_class(JNIEnv *env, const char *name)
{
    jclass local = (*env)->FindClass(env, name);
    if (local == NULL) {
        return NULL;
    }
    jclass global = (*env)->NewGlobalRef(env, local);
    (*env)->DeleteLocalRef(env, local);
    return global;
}

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved UNUSED)
{
    JNIEnv *env;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK) {
        return JNI_ERR;
    }
    struct {
        jclass *slot;
        const char *name;
    } classes[] = {
        {&timeout_class, "java/net/SocketTimeoutException"},
        {&connect_class, "java/net/ConnectException"},
        {&bind_class, "java/net/BindException"},
        {&no_route_class, "java/net/NoRouteToHostException"},
        {&unknown_host_class, "java/net/UnknownHostException"},
        {&socket_class, "java/net/SocketException"},
        {&eof_class, "java/io/EOFException"},
        {&sockrt_class, "io/sockrt/SockrtException"},
        {&ssl_handshake_class, "io/sockrt/SockrtSSLHandshakeException"},
        {&ssl_class, "io/sockrt/SockrtSSLException"},
        {&npe_class, "java/lang/NullPointerException"},
        {&iae_class, "java/lang/IllegalArgumentException"},
        {&ioobe_class, "java/lang/IndexOutOfBoundsException"},
        {&oom_class, "java/lang/OutOfMemoryError"},
        {&unsupported_class, "java/lang/UnsupportedOperationException"},
    };
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        *classes[i].slot = global_class(env, classes[i].name);
        if (*classes[i].slot == NULL) {
            return JNI_ERR; /* NoClassDefFoundError or OOM is pending */
        }
    }
    sockrt_ctor = (*env)->GetMethodID(env, sockrt_class, "<init>",
                                      "(Ljava/lang/String;ILjava/lang/String;I)V");
    if (sockrt_ctor == NULL) {
        return JNI_ERR;
    }
    ssl_handshake_ctor = (*env)->GetMethodID(env, ssl_handshake_class, "<init>",
                                             "(Ljava/lang/String;ILjava/lang/String;)V");
    ssl_ctor = (*env)->GetMethodID(env, ssl_class, "<init>", "(Ljava/lang/String;ILjava/lang/String;)V");
    if (ssl_handshake_ctor == NULL || ssl_ctor == NULL) {
        return JNI_ERR;
    }
    if (pthread_key_create(&bounce_key, free) != 0) {
        return JNI_ERR;
    }
    return JNI_VERSION_1_8;
}

/* JNI wants modified UTF-8; the library's messages are UTF-8 and may echo a
 * host name, so anything outside ASCII becomes '?' rather than risk an
 * invalid string. */
static void make_ascii(char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s >= 0x80) {
            *s = '?';
        }
    }
}

static void throw_sockrt_exception(JNIEnv *env, int32_t code, const char *message)
{
    jstring jmessage = (*env)->NewStringUTF(env, message);
    if (jmessage == NULL) {
        return;
    }
    jstring jname = (*env)->NewStringUTF(env, sockrt_error_name(code));
    if (jname == NULL) {
        (*env)->DeleteLocalRef(env, jmessage);
        return;
    }
    jobject error = (*env)->NewObject(env, sockrt_class, sockrt_ctor, jmessage, (jint)code, jname,
                                      (jint)sockrt_last_os_error());
    if (error != NULL) {
        (*env)->Throw(env, (jthrowable)error);
        (*env)->DeleteLocalRef(env, error);
    }
    (*env)->DeleteLocalRef(env, jname);
    (*env)->DeleteLocalRef(env, jmessage);
}

/* TLS failures as javax.net.ssl exceptions that carry the code. */
static void throw_ssl_exception(JNIEnv *env, jclass cls, jmethodID ctor, int32_t code,
                                const char *message)
{
    jstring jmessage = (*env)->NewStringUTF(env, message);
    jstring jname = jmessage == NULL ? NULL : (*env)->NewStringUTF(env, sockrt_error_name(code));
    if (jname != NULL) {
        jobject error = (*env)->NewObject(env, cls, ctor, jmessage, (jint)code, jname);
        if (error != NULL) {
            (*env)->Throw(env, (jthrowable)error);
            (*env)->DeleteLocalRef(env, error);
        }
        (*env)->DeleteLocalRef(env, jname);
    }
    if (jmessage != NULL) {
        (*env)->DeleteLocalRef(env, jmessage);
    }
}

void sockrt_jni_throw_status(JNIEnv *env, int64_t status)
{
    if ((*env)->ExceptionCheck(env)) {
        return;
    }
    int32_t code = status < INT32_MIN ? SOCKRT_E_IO : (int32_t)status;
    char message[512];
    size_t length = sockrt_last_error_message(message, sizeof message);
    if (length == 0 || sockrt_last_error() != code) {
        snprintf(message, sizeof message, "%s", sockrt_strerror(code));
    }
    make_ascii(message);
    switch (code) {
    case SOCKRT_E_TIMEOUT:
        (*env)->ThrowNew(env, timeout_class, message);
        break;
    case SOCKRT_E_CONNECTION_REFUSED:
        (*env)->ThrowNew(env, connect_class, message);
        break;
    case SOCKRT_E_UNREACHABLE:
        (*env)->ThrowNew(env, no_route_class, message);
        break;
    case SOCKRT_E_ADDRESS_IN_USE:
    case SOCKRT_E_ADDRESS_NOT_AVAILABLE:
        (*env)->ThrowNew(env, bind_class, message);
        break;
    case SOCKRT_E_RESOLVE:
        (*env)->ThrowNew(env, unknown_host_class, message);
        break;
    case SOCKRT_E_BAD_HANDLE:
    case SOCKRT_E_CLOSED:
        /* Our handles are only ever stale because the object was closed;
         * the text is java.net's for a call that a close interrupted. */
        (*env)->ThrowNew(env, socket_class, "Socket closed");
        break;
    case SOCKRT_E_CONNECTION_RESET:
        /* java.net's texts, which some callers match on. */
        (*env)->ThrowNew(env, socket_class, sockrt_last_os_error() == EPIPE ? "Broken pipe" : "Connection reset");
        break;
    case SOCKRT_E_NOT_CONNECTED:
    case SOCKRT_E_INVALID_STATE:
        (*env)->ThrowNew(env, socket_class, message);
        break;
    case SOCKRT_E_EOF:
        (*env)->ThrowNew(env, eof_class, message);
        break;
    case SOCKRT_E_TLS_HANDSHAKE:
    case SOCKRT_E_TLS_CERTIFICATE:
        throw_ssl_exception(env, ssl_handshake_class, ssl_handshake_ctor, code, message);
        break;
    case SOCKRT_E_TLS_TRUNCATED:
    case SOCKRT_E_TLS_PROTOCOL:
        throw_ssl_exception(env, ssl_class, ssl_ctor, code, message);
        break;
    default:
        throw_sockrt_exception(env, code, message);
        break;
    }
}

static void throw_plain(JNIEnv *env, jclass cls, const char *what)
{
    if (!(*env)->ExceptionCheck(env)) {
        (*env)->ThrowNew(env, cls, what);
    }
}

void sockrt_jni_throw_npe(JNIEnv *env, const char *what)
{
    throw_plain(env, npe_class, what);
}

void sockrt_jni_throw_iae(JNIEnv *env, const char *what)
{
    throw_plain(env, iae_class, what);
}

void sockrt_jni_throw_ioobe(JNIEnv *env, const char *what)
{
    throw_plain(env, ioobe_class, what);
}

void sockrt_jni_throw_oom(JNIEnv *env, const char *what)
{
    throw_plain(env, oom_class, what);
}

void sockrt_jni_throw_unsupported(JNIEnv *env, const char *what)
{
    throw_plain(env, unsupported_class, what);
}

int sockrt_jni_check_array(JNIEnv *env, jbyteArray array, jint off, jint len)
{
    if (array == NULL) {
        sockrt_jni_throw_npe(env, "buffer");
        return 0;
    }
    jsize size = (*env)->GetArrayLength(env, array);
    if (off < 0 || len < 0 || off > size - len) {
        sockrt_jni_throw_ioobe(env, "offset or length out of the array");
        return 0;
    }
    return 1;
}

int sockrt_jni_check_port(JNIEnv *env, jint port)
{
    if (port < 0 || port > 0xFFFF) {
        sockrt_jni_throw_iae(env, "port out of range");
        return 0;
    }
    return 1;
}

unsigned char *sockrt_jni_direct(JNIEnv *env, jobject buffer, jint pos, jint len)
{
    if (buffer == NULL) {
        sockrt_jni_throw_npe(env, "buffer");
        return NULL;
    }
    unsigned char *base = (*env)->GetDirectBufferAddress(env, buffer);
    jlong capacity = (*env)->GetDirectBufferCapacity(env, buffer);
    if (base == NULL || capacity < 0) {
        sockrt_jni_throw_iae(env, "not a direct buffer");
        return NULL;
    }
    if (pos < 0 || len < 0 || (jlong)pos + (jlong)len > capacity) {
        sockrt_jni_throw_ioobe(env, "position or length out of the buffer");
        return NULL;
    }
    return base + pos;
}

/* A kept buffer grows in two steps (64 KiB, then the keep limit), so small
 * messages never hold more than 64 KiB per thread. */
static size_t keep_size(size_t len)
{
    return len <= 64 * 1024 ? 64 * 1024 : SOCKRT_JNI_BOUNCE_KEEP;
}

unsigned char *sockrt_jni_scratch(JNIEnv *env, size_t len, int *owned)
{
    *owned = 0;
    if (len <= bounce_cap) {
        return bounce;
    }
    if (len <= SOCKRT_JNI_BOUNCE_KEEP) {
        size_t cap = keep_size(len);
        unsigned char *grown = realloc(bounce, cap);
        if (grown == NULL) {
            sockrt_jni_throw_oom(env, "sockrt: no memory for an I/O buffer");
            return NULL;
        }
        bounce = grown;
        bounce_cap = cap;
        pthread_setspecific(bounce_key, grown);
        return grown;
    }
    unsigned char *block = malloc(len);
    if (block == NULL) {
        sockrt_jni_throw_oom(env, "sockrt: no memory for an I/O buffer");
        return NULL;
    }
    *owned = 1;
    return block;
}

void sockrt_jni_scratch_done(unsigned char *p, int owned)
{
    if (owned) {
        free(p);
    }
}

const char *sockrt_jni_host(JNIEnv *env, jstring host)
{
    if (host == NULL) {
        sockrt_jni_throw_npe(env, "host");
        return NULL;
    }
    /* NULL means OutOfMemoryError is pending. */
    return (*env)->GetStringUTFChars(env, host, NULL);
}

void sockrt_jni_host_done(JNIEnv *env, jstring host, const char *chars)
{
    (*env)->ReleaseStringUTFChars(env, host, chars);
}

jlong sockrt_jni_handle_or_throw(JNIEnv *env, int32_t status, sockrt_handle handle)
{
    if (status != SOCKRT_OK) {
        sockrt_jni_throw_status(env, status);
        return 0;
    }
    return (jlong)handle;
}

int sockrt_jni_status_or_throw(JNIEnv *env, int32_t status)
{
    if (status != SOCKRT_OK) {
        sockrt_jni_throw_status(env, status);
        return 0;
    }
    return 1;
}

int sockrt_jni_with_host(JNIEnv *env, jstring host, jint port, sockrt_jni_host_fn fn, void *ctx)
{
    if (!sockrt_jni_check_port(env, port)) {
        return 0;
    }
    const char *chars = sockrt_jni_host(env, host);
    if (chars == NULL) {
        return 0;
    }
    int32_t status = fn(chars, (uint16_t)port, ctx);
    sockrt_jni_host_done(env, host, chars);
    return sockrt_jni_status_or_throw(env, status);
}
