package io.sockrt;

import java.nio.ByteBuffer;

/**
 * Every native method of the binding, implemented in bindings/java/native.
 *
 * <p>Conventions: failures throw (the glue maps the library's status code to an
 * exception in one place), except {@code close}, {@code poolRelease} and
 * {@code poolDiscard}, which return or swallow the status because they run from
 * {@code close()} and from the cleaner. Callers validate Java arguments first;
 * the glue checks them again so that no argument can crash the JVM.
 */
final class SockrtNative {
    private SockrtNative() {}

    // library
    static native String version();
    static native long openHandles();
    static native String errorName(int code);
    static native String strerror(int code);

    // lifecycle
    static native long socket(int family, int type) throws java.io.IOException;
    static native long tcpConnect(String host, int port, int timeoutMs) throws java.io.IOException;
    static native long tcpListen(String host, int port, int backlog) throws java.io.IOException;
    static native long udpBind(String host, int port) throws java.io.IOException;
    static native void bind(long h, String host, int port) throws java.io.IOException;
    static native void listen(long h, int backlog) throws java.io.IOException;
    static native long accept(long h) throws java.io.IOException;
    static native void connect(long h, String host, int port, int timeoutMs) throws java.io.IOException;
    static native void shutdown(long h, int how) throws java.io.IOException;
    static native void disconnect(long h) throws java.io.IOException;
    static native int close(long h);

    // data on byte[] (copied through a per-thread native buffer)
    static native int recv(long h, byte[] b, int off, int len) throws java.io.IOException;
    static native int send(long h, byte[] b, int off, int len) throws java.io.IOException;
    static native void recvExact(long h, byte[] b, int off, int len) throws java.io.IOException;
    static native void sendAll(long h, byte[] b, int off, int len) throws java.io.IOException;
    /** sendAll of req[off..off+len) then recvExact into resp[roff..roff+rlen), in one crossing. */
    static native void exchange(long h, byte[] req, int off, int len, byte[] resp, int roff, int rlen)
            throws java.io.IOException;
    static native int sendTo(long h, byte[] b, int off, int len, String host, int port)
            throws java.io.IOException;
    /** Returns (port << 32) | length; the sender's host goes to hostOut, NUL-terminated. */
    static native long recvFrom(long h, byte[] b, int off, int len, byte[] hostOut) throws java.io.IOException;

    // data on direct ByteBuffers (no copy: the library reads and writes the buffer's memory)
    static native int recvDirect(long h, ByteBuffer buf, int pos, int len) throws java.io.IOException;
    static native int sendDirect(long h, ByteBuffer buf, int pos, int len) throws java.io.IOException;
    static native void recvExactDirect(long h, ByteBuffer buf, int pos, int len) throws java.io.IOException;
    static native void sendAllDirect(long h, ByteBuffer buf, int pos, int len) throws java.io.IOException;
    static native void exchangeDirect(long h, ByteBuffer req, int pos, int len, ByteBuffer resp, int rpos,
            int rlen) throws java.io.IOException;
    static native int sendToDirect(long h, ByteBuffer buf, int pos, int len, String host, int port)
            throws java.io.IOException;
    static native long recvFromDirect(long h, ByteBuffer buf, int pos, int len, byte[] hostOut)
            throws java.io.IOException;

    // options and addresses
    static native void setOption(long h, int opt, long value) throws java.io.IOException;
    static native long getOption(long h, int opt) throws java.io.IOException;
    /** Raw setsockopt/getsockopt of an int with the OS's level and name numbers. */
    static native void setSockOptInt(long h, int level, int name, int value) throws java.io.IOException;
    static native int getSockOptInt(long h, int level, int name) throws java.io.IOException;
    static native String addressHost(long h, boolean peer) throws java.io.IOException;
    static native int addressPort(long h, boolean peer) throws java.io.IOException;

    // pool
    static final int POOL_CONFIG_FIELDS = 8;
    static final int POOL_STATS_FIELDS = 9;
    static native void poolConfigDefaults(int[] out);
    static native long poolOpen(String host, int port, int[] config) throws java.io.IOException;
    static native long poolAcquire(long pool) throws java.io.IOException;
    /** One slice of an acquire: the connection, or 0 if no slot came free within timeoutMs. */
    static native long poolAcquireSlice(long pool, int flags, int timeoutMs) throws java.io.IOException;
    /** Whether the library has sockrt_pool_acquire_ex (slices and fresh acquires). */
    static native boolean poolHasSlices();
    static native void poolRelease(long pool, long conn);
    static native void poolDiscard(long pool, long conn);
    static native boolean poolWasReused(long conn) throws java.io.IOException;
    static native void poolStats(long pool, long[] out) throws java.io.IOException;
}
