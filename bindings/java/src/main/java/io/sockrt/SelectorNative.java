package io.sockrt;

/** The native methods of {@link SockrtSelector}, implemented in bindings/java/native/selector.c. */
final class SelectorNative {
    private SelectorNative() {}

    static native long open() throws java.io.IOException;
    static native void add(long poller, long h, int interest, long token) throws java.io.IOException;
    static native void modify(long poller, long h, int interest, long token) throws java.io.IOException;
    static native void remove(long poller, long h) throws java.io.IOException;
    /** Fills tokens[i], events[i] for up to min(tokens.length, events.length) ready registrations. */
    static native int await(long poller, long[] tokens, int[] events, int timeoutMs) throws java.io.IOException;
    static native void wake(long poller) throws java.io.IOException;
    /** sockrt_send_many of data[off..off+len) to handles[0..n); per-handle results in results. */
    static native int sendMany(long[] handles, int n, byte[] data, int off, int len, long[] results)
            throws java.io.IOException;
}
