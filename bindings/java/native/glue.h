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
 * write moves at most this much per call; send_all/recv_exact of more borrow
 * a temporary heap block for the call. */
#define SOCKRT_JNI_BOUNCE_KEEP (256 * 1024)

/* Throws the Java exception for a negative library status (and does nothing
 * if an exception is already pending). */
void sockrt_jni_throw_status(JNIEnv *env, int64_t status);

/* Throws a standard exception by class: "npe", "iae", "ioobe", "oom". */
void sockrt_jni_throw_npe(JNIEnv *env, const char *what);
void sockrt_jni_throw_iae(JNIEnv *env, const char *what);
void sockrt_jni_throw_ioobe(JNIEnv *env, const char *what);
void sockrt_jni_throw_oom(JNIEnv *env, const char *what);

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

#endif
