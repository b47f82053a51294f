/*
 * Shared helpers of the sockrt JNI glue: argument checks, the one place that
 * turns a status code into a Java exception, and the per-thread bounce buffer
 * that byte[] I/O goes through.
 */
#ifndef SOCKRT_JNI_GLUE_H
#define SOCKRT_JNI_GLUE_H

#include <jni.h>
#include <stddef.h>
#include <stdint.h>

#include "sockrt.h"
#include "io_sockrt_SockrtNative.h"

#define UNUSED __attribute__((unused))

/* The largest bounce buffer a thread keeps between calls. A partial read or
 * write moves at most this much per call; send_all/recv_exact of more go
 * through it in chunks of this size (the Java side serialises them). */
#define SOCKRT_JNI_BOUNCE_KEEP (256 * 1024)

/* Throws the Java exception for a negative library status (and does nothing
 * if an exception is already pending). */
void sockrt_jni_throw_status(JNIEnv *env, int64_t status);

/* Throws a standard exception by class: NullPointerException,
 * IllegalArgumentException, IndexOutOfBoundsException, OutOfMemoryError,
 * UnsupportedOperationException. */
void sockrt_jni_throw_npe(JNIEnv *env, const char *what);
void sockrt_jni_throw_iae(JNIEnv *env, const char *what);
void sockrt_jni_throw_ioobe(JNIEnv *env, const char *what);
void sockrt_jni_throw_oom(JNIEnv *env, const char *what);
void sockrt_jni_throw_unsupported(JNIEnv *env, const char *what);

/* Argument checks: return 1 if fine, else throw and return 0. */
int sockrt_jni_check_array(JNIEnv *env, jbyteArray array, jint off, jint len);
int sockrt_jni_check_port(JNIEnv *env, jint port);

/* The bytes [pos, pos+len) of a direct buffer, or NULL with an exception
 * pending (null, not direct, or out of its capacity). */
unsigned char *sockrt_jni_direct(JNIEnv *env, jobject buffer, jint pos, jint len);

/* Scratch memory of at least len bytes for this thread, or NULL with
 * OutOfMemoryError pending. *owned says whether the caller must free it. */
unsigned char *sockrt_jni_scratch(JNIEnv *env, size_t len, int *owned);
void sockrt_jni_scratch_done(unsigned char *p, int owned);

/* A host string argument: UTF chars to release with sockrt_jni_host_done,
 * or NULL with an exception pending. */
const char *sockrt_jni_host(JNIEnv *env, jstring host);
void sockrt_jni_host_done(JNIEnv *env, jstring host, const char *chars);

/* The handle a successful call wrote (0 and an exception pending otherwise).
 * Callers store the status first: the call must run before the handle is read. */
jlong sockrt_jni_handle_or_throw(JNIEnv *env, int32_t status, sockrt_handle handle);

/* 1 if status is SOCKRT_OK, else throws its exception and returns 0. */
int sockrt_jni_status_or_throw(JNIEnv *env, int32_t status);

/* A library call that takes a host string and a port; ctx carries the rest
 * of its arguments and results. */
typedef int32_t (*sockrt_jni_host_fn)(const char *host, uint16_t port, void *ctx);

/* Checks the port, borrows the host's chars, runs fn, releases the chars and
 * throws for a failed status: 1 if fn ran and succeeded, else 0 with an
 * exception pending. */
int sockrt_jni_with_host(JNIEnv *env, jstring host, jint port, sockrt_jni_host_fn fn, void *ctx);

#endif
