/*
 * JNI methods of io.sockrt.SockrtNative for the connection pool.
 */
#include "glue.h"

/* The order of the int[] that carries a sockrt_pool_config to and from Java
 * (SockrtPool.Builder uses the same indexes). */
enum { CFG_MAX_IDLE, CFG_MAX_TOTAL, CFG_CONNECT, CFG_ACQUIRE, CFG_IDLE, CFG_LIFETIME, CFG_CHECK, CFG_NODELAY,
       CFG_FIELDS };

static int check_int_array(JNIEnv *env, jintArray array, jsize need)
{
    if (array == NULL) {
        sockrt_jni_throw_npe(env, "config");
        return 0;
    }
    if ((*env)->GetArrayLength(env, array) != need) {
        sockrt_jni_throw_iae(env, "config array has the wrong length");
        return 0;
    }
    return 1;
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_poolConfigDefaults(JNIEnv *env, jclass cls UNUSED,
                                                                      jintArray out)
{
    if (!check_int_array(env, out, CFG_FIELDS)) {
        return;
    }
    sockrt_pool_config cfg;
    sockrt_pool_config_init(&cfg);
    jint v[CFG_FIELDS];
    v[CFG_MAX_IDLE] = cfg.max_idle > INT32_MAX ? INT32_MAX : (jint)cfg.max_idle;
    v[CFG_MAX_TOTAL] = cfg.max_total > INT32_MAX ? INT32_MAX : (jint)cfg.max_total;
    v[CFG_CONNECT] = cfg.connect_timeout_ms;
    v[CFG_ACQUIRE] = cfg.acquire_timeout_ms;
    v[CFG_IDLE] = cfg.idle_timeout_ms;
    v[CFG_LIFETIME] = cfg.max_lifetime_ms;
    v[CFG_CHECK] = cfg.check_on_acquire ? 1 : 0;
    v[CFG_NODELAY] = cfg.nodelay ? 1 : 0;
    (*env)->SetIntArrayRegion(env, out, 0, CFG_FIELDS, v);
}

struct pool_open {
    const sockrt_pool_config *cfg;
    sockrt_handle pool;
};

static int32_t call_pool_open(const char *host, uint16_t port, void *ctx)
{
    struct pool_open *open = ctx;
    return sockrt_pool_open(host, port, open->cfg, &open->pool);
}

JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtNative_poolOpen(JNIEnv *env, jclass cls UNUSED, jstring host,
                                                             jint port, jintArray config)
{
    if (!check_int_array(env, config, CFG_FIELDS)) {
        return 0;
    }
    jint v[CFG_FIELDS];
    (*env)->GetIntArrayRegion(env, config, 0, CFG_FIELDS, v);
    if ((*env)->ExceptionCheck(env)) {
        return 0;
    }
    if (v[CFG_MAX_IDLE] < 0 || v[CFG_MAX_TOTAL] < 0) {
        sockrt_jni_throw_iae(env, "max_idle and max_total can't be negative");
        return 0;
    }
    sockrt_pool_config cfg;
    sockrt_pool_config_init(&cfg);
    cfg.max_idle = (uint32_t)v[CFG_MAX_IDLE];
    cfg.max_total = (uint32_t)v[CFG_MAX_TOTAL];
    cfg.connect_timeout_ms = v[CFG_CONNECT];
    cfg.acquire_timeout_ms = v[CFG_ACQUIRE];
    cfg.idle_timeout_ms = v[CFG_IDLE];
    cfg.max_lifetime_ms = v[CFG_LIFETIME];
    cfg.check_on_acquire = v[CFG_CHECK] != 0;
    cfg.nodelay = v[CFG_NODELAY] != 0;

    struct pool_open open = {&cfg, 0};
    return sockrt_jni_with_host(env, host, port, call_pool_open, &open) ? (jlong)open.pool : 0;
}

/* One bounded slice of an acquire (the Java side loops, checking for
 * Thread.interrupt() between slices): the connection, or 0 with no
 * exception if no slot came free within timeout_ms. Needs
 * sockrt_pool_acquire_ex (SOCKRT_ACQUIRE_FRESH marks a header that has it);
 * without it, UnsupportedOperationException. */
JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtNative_poolAcquireSlice(JNIEnv *env, jclass cls UNUSED, jlong pool,
                                                                     jint flags, jint timeout_ms)
{
#ifdef SOCKRT_ACQUIRE_FRESH
    sockrt_handle conn = 0;
    int32_t status = sockrt_pool_acquire_ex((sockrt_handle)pool, (uint32_t)flags, timeout_ms, &conn);
    if (status == SOCKRT_E_POOL_EXHAUSTED) {
        return 0;
    }
    return sockrt_jni_handle_or_throw(env, status, conn);
#else
    (void)pool;
    (void)flags;
    (void)timeout_ms;
    sockrt_jni_throw_unsupported(env, "this libsockrt has no sockrt_pool_acquire_ex");
    return 0;
#endif
}

JNIEXPORT jboolean JNICALL Java_io_sockrt_SockrtNative_poolHasSlices(JNIEnv *env UNUSED, jclass cls UNUSED)
{
#ifdef SOCKRT_ACQUIRE_FRESH
    return JNI_TRUE;
#else
    return JNI_FALSE;
#endif
}

JNIEXPORT jlong JNICALL Java_io_sockrt_SockrtNative_poolAcquire(JNIEnv *env, jclass cls UNUSED, jlong pool)
{
    sockrt_handle conn = 0;
    int32_t status = sockrt_pool_acquire((sockrt_handle)pool, &conn);
    return sockrt_jni_handle_or_throw(env, status, conn);
}

/* Release and discard run from close() and from the cleaner, so they never
 * throw. Once the pool itself is closed its handle is stale, and the
 * connection is closed directly instead (the header: leased connections
 * close when released after the pool closed). */
JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_poolRelease(JNIEnv *env UNUSED, jclass cls UNUSED, jlong pool,
                                                               jlong conn)
{
    if (sockrt_pool_release((sockrt_handle)pool, (sockrt_handle)conn) != SOCKRT_OK) {
        sockrt_close((sockrt_handle)conn);
    }
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_poolDiscard(JNIEnv *env UNUSED, jclass cls UNUSED, jlong pool,
                                                               jlong conn)
{
    if (sockrt_pool_discard((sockrt_handle)pool, (sockrt_handle)conn) != SOCKRT_OK) {
        sockrt_close((sockrt_handle)conn);
    }
}

JNIEXPORT jboolean JNICALL Java_io_sockrt_SockrtNative_poolWasReused(JNIEnv *env, jclass cls UNUSED, jlong conn)
{
    int32_t result = sockrt_pool_was_reused((sockrt_handle)conn);
    if (result < 0) {
        sockrt_jni_throw_status(env, result);
        return JNI_FALSE;
    }
    return result == 1 ? JNI_TRUE : JNI_FALSE;
}

JNIEXPORT void JNICALL Java_io_sockrt_SockrtNative_poolStats(JNIEnv *env, jclass cls UNUSED, jlong pool,
                                                             jlongArray out)
{
    if (out == NULL) {
        sockrt_jni_throw_npe(env, "stats");
        return;
    }
    if ((*env)->GetArrayLength(env, out) != 9) {
        sockrt_jni_throw_iae(env, "stats array has the wrong length");
        return;
    }
    sockrt_pool_stats s;
    if (!sockrt_jni_status_or_throw(env, sockrt_pool_get_stats((sockrt_handle)pool, &s))) {
        return;
    }
    const uint64_t fields[9] = {s.idle, s.in_use, s.created, s.reused, s.closed_stale,
                                s.closed_expired, s.closed_broken, s.waits, s.timeouts};
    jlong v[9];
    for (int i = 0; i < 9; i++) {
        v[i] = fields[i] > INT64_MAX ? INT64_MAX : (jlong)fields[i];
    }
    (*env)->SetLongArrayRegion(env, out, 0, 9, v);
}
