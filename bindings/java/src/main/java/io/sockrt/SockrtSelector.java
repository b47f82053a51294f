package io.sockrt;

import java.io.IOException;
import java.util.Objects;

/**
 * Readiness of many sockrt sockets at once, on the library's poller (an epoll
 * set): register a {@link SockrtSocket} or {@link SockrtServerSocket} with an
 * interest ({@link #OP_READ}, {@link #OP_WRITE}) and a token of your choosing,
 * then {@link #select} fills arrays with the tokens and events that are ready.
 * Level-triggered. Thread-safe: one thread may select while others register.
 *
 * <p>A registered socket that is closed is reported once with {@link #CLOSED}
 * and is no longer registered. {@link #close()} wakes a thread blocked in
 * {@code select} (it throws a {@code SocketException}); {@link #wakeup()} makes
 * it return 0.
 *
 * <p>{@link #sendMany} is the fan-out: one buffer to many stream sockets in one
 * native call that never blocks, with a result per socket.
 */
public final class SockrtSelector extends SockrtResource {
    /** Interest and event: readable (data, a connection to accept, or end of stream). */
    public static final int OP_READ = 1;
    /** Interest and event: writable. */
    public static final int OP_WRITE = 2;
    /** Event: an error is pending on the socket. */
    public static final int ERROR = 4;
    /** Event: the peer hung up. */
    public static final int HANGUP = 8;
    /** Event, alone: the socket was closed while registered (reported once). */
    public static final int CLOSED = 16;
    /** Interest flag: edge-triggered instead of level-triggered. */
    public static final int EDGE = 32;
    /** Per-socket result of {@link #sendMany}: its send buffer is full, nothing was sent. */
    public static final long WOULD_BLOCK = -21;

    public SockrtSelector() throws IOException {
        super(openHandle());
    }

    private static long openHandle() throws IOException {
        NativeLibrary.load();
        return SelectorNative.open();
    }

    private static long handleOf(SockrtResource socket) {
        Objects.requireNonNull(socket, "socket");
        if (socket instanceof SockrtSelector) {
            throw new IllegalArgumentException("a selector cannot watch a selector");
        }
        return socket.handle;
    }

    /** Watches {@code socket} for {@code interest} ({@link #OP_READ} | {@link #OP_WRITE}, optionally {@link #EDGE}). */
    public void register(SockrtResource socket, int interest, long token) throws IOException {
        SelectorNative.add(handle, handleOf(socket), interest, token);
    }

    /** Changes the interest and token of a registration. */
    public void modify(SockrtResource socket, int interest, long token) throws IOException {
        SelectorNative.modify(handle, handleOf(socket), interest, token);
    }

    /** Ends a registration. */
    public void unregister(SockrtResource socket) throws IOException {
        SelectorNative.remove(handle, handleOf(socket));
    }

    /**
     * Waits up to {@code timeoutMs} (negative: no limit, 0: do not wait) for ready
     * registrations; writes up to {@code min(tokens.length, events.length)} of them
     * and returns how many (0 on timeout or after {@link #wakeup()}).
     */
    public int select(long[] tokens, int[] events, int timeoutMs) throws IOException {
        Objects.requireNonNull(tokens, "tokens");
        Objects.requireNonNull(events, "events");
        if (tokens.length == 0 || events.length == 0) {
            throw new IllegalArgumentException("no room for events");
        }
        return SelectorNative.await(handle, tokens, events, timeoutMs);
    }

    /** Makes a {@code select} blocked in another thread return 0 now. */
    public void wakeup() throws IOException {
        SelectorNative.wake(handle);
    }

    /**
     * Sends {@code data[off..off+len)} once to each of {@code sockets} without
     * blocking; {@code results[i]} gets the bytes socket i took (fewer than
     * {@code len} if its buffer filled), {@link #WOULD_BLOCK}, or another negative
     * library code for that socket alone. Returns how many took all {@code len} bytes.
     */
    public static int sendMany(SockrtSocket[] sockets, byte[] data, int off, int len, long[] results)
            throws IOException {
        Objects.requireNonNull(sockets, "sockets");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(results, "results");
        Objects.checkFromIndexSize(off, len, data.length);
        if (results.length < sockets.length) {
            throw new IllegalArgumentException("results is shorter than sockets");
        }
        long[] handles = new long[sockets.length];
        for (int i = 0; i < sockets.length; i++) {
            handles[i] = Objects.requireNonNull(sockets[i], "sockets[i]").handle;
        }
        NativeLibrary.load();
        return SelectorNative.sendMany(handles, handles.length, data, off, len, results);
    }
}
