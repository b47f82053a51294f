/*
 * JNI methods of io.sockrt.SelectorNative: the poller (sockrt_poller_*) and
 * the fan-out (sockrt_send_many) behind io.sockrt.SockrtSelector.
 */
#include <stdlib.h>

#include "glue.h"
#include "io_sockrt_SelectorNative.h"

static int check(JNIEnv *env, int64_t rc)
{
    if (rc < 0) {
        sockrt_jni_throw_status(env, rc);
        return 0;
    }
    return 1;
}

JNIEXPORT jlong JNICALL Java_io_sockrt_SelectorNative_open(JNIEnv *env, jclass cls UNUSED)
{
    sockrt_handle h = 0;
    check(env, sockrt_poller_open(&h));
    return (jlong)h;
}

JNIEXPORT void JNICALL Java_io_sockrt_SelectorNative_add(JNIEnv *env, jclass cls UNUSED, jlong poller, jlong h,
                                                          jint interest, jlong token)
{
    check(env, sockrt_poller_add((sockrt_handle)poller, (sockrt_handle)h, (uint32_t)interest, (uint64_t)token));
}

JNIEXPORT void JNICALL Java_io_sockrt_SelectorNative_modify(JNIEnv *env, jclass cls UNUSED, jlong poller,
                                                             jlong h, jint interest, jlong token)
{
    check(env,
          sockrt_poller_modify((sockrt_handle)poller, (sockrt_handle)h, (uint32_t)interest, (uint64_t)token));
}

JNIEXPORT void JNICALL Java_io_sockrt_SelectorNative_remove(JNIEnv *env, jclass cls UNUSED, jlong poller,
                                                             jlong h)
{
    check(env, sockrt_poller_remove((sockrt_handle)poller, (sockrt_handle)h));
}

JNIEXPORT jint JNICALL Java_io_sockrt_SelectorNative_await(JNIEnv *env, jclass cls UNUSED, jlong poller,
                                                            jlongArray tokens, jintArray events, jint timeout_ms)
{
    if (tokens == NULL || events == NULL) {
        sockrt_jni_throw_npe(env, "tokens or events");
        return 0;
    }
    jsize room = (*env)->GetArrayLength(env, tokens);
    jsize room_events = (*env)->GetArrayLength(env, events);
    if (room_events < room) {
        room = room_events;
    }
    if (room > (jsize)SOCKRT_POLLER_MAX_EVENTS) {
        room = (jsize)SOCKRT_POLLER_MAX_EVENTS;
    }
    if (room <= 0) {
        sockrt_jni_throw_iae(env, "no room for events");
        return 0;
    }
    sockrt_poll_event *ready = malloc((size_t)room * sizeof *ready);
    jlong *t = malloc((size_t)room * sizeof *t);
    jint *e = malloc((size_t)room * sizeof *e);
    if (ready == NULL || t == NULL || e == NULL) {
        free(ready);
        free(t);
        free(e);
        sockrt_jni_throw_oom(env, "select");
        return 0;
    }
    int32_t n = sockrt_poller_wait((sockrt_handle)poller, ready, (size_t)room, timeout_ms);
    if (n > 0) {
        for (int32_t i = 0; i < n; i++) {
            t[i] = (jlong)ready[i].token;
            e[i] = (jint)ready[i].events;
        }
        (*env)->SetLongArrayRegion(env, tokens, 0, n, t);
        (*env)->SetIntArrayRegion(env, events, 0, n, e);
    }
    free(ready);
    free(t);
    free(e);
    return check(env, n) ? n : 0;
}

JNIEXPORT void JNICALL Java_io_sockrt_SelectorNative_wake(JNIEnv *env, jclass cls UNUSED, jlong poller)
{
    check(env, sockrt_poller_wake((sockrt_handle)poller));
}

JNIEXPORT jint JNICALL Java_io_sockrt_SelectorNative_sendMany(JNIEnv *env, jclass cls UNUSED,
                                                               jlongArray handles, jint n, jbyteArray data,
                                                               jint off, jint len, jlongArray results)
{
    if (handles == NULL || results == NULL) {
        sockrt_jni_throw_npe(env, "handles or results");
        return 0;
    }
    if (n < 0 || (*env)->GetArrayLength(env, handles) < n || (*env)->GetArrayLength(env, results) < n) {
        sockrt_jni_throw_iae(env, "n is larger than handles or results");
        return 0;
    }
    if (!sockrt_jni_check_array(env, data, off, len)) {
        return 0;
    }
    int owned = 0;
    unsigned char empty = 0;
    unsigned char *buf = len > 0 ? sockrt_jni_scratch(env, (size_t)len, &owned) : &empty;
    sockrt_handle *hs = malloc((size_t)(n > 0 ? n : 1) * sizeof *hs);
    int64_t *rs = malloc((size_t)(n > 0 ? n : 1) * sizeof *rs);
    if (buf == NULL || hs == NULL || rs == NULL) {
        if (buf != NULL && buf != &empty) {
            sockrt_jni_scratch_done(buf, owned);
        }
        free(hs);
        free(rs);
        if (!(*env)->ExceptionCheck(env)) {
            sockrt_jni_throw_oom(env, "sendMany");
        }
        return 0;
    }
    (*env)->GetByteArrayRegion(env, data, off, len, (jbyte *)buf);
    (*env)->GetLongArrayRegion(env, handles, 0, n, (jlong *)hs);
    int64_t whole = sockrt_send_many(hs, (size_t)n, buf, (size_t)len, rs);
    if (whole >= 0) {
        (*env)->SetLongArrayRegion(env, results, 0, n, (const jlong *)rs);
    }
    if (buf != &empty) {
        sockrt_jni_scratch_done(buf, owned);
    }
    free(hs);
    free(rs);
    return check(env, whole) ? (jint)whole : 0;
}
