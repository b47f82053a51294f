package io.sockrt;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.ref.Reference;

/**
 * Keep-alive TCP connections to one endpoint. {@link #acquire()} leases a
 * {@link PooledConnection}: closing it returns it to the pool (or closes it if
 * it saw an error or has unread bytes), {@link PooledConnection#discard()}
 * closes it. Connections are made lazily, on acquire.
 *
 * <pre>{@code
 * try (SockrtPool pool = SockrtPool.builder().maxTotal(8).open("127.0.0.1", 7000);
 *      PooledConnection c = pool.acquire()) {
 *     c.sendAll(request);
 *     c.recvExact(reply);
 * }
 * }</pre>
 *
 * <p>Closing the pool closes its idle connections and wakes queued acquirers;
 * leased connections stay usable until they are closed.
 */
public final class SockrtPool extends SockrtResource {
    /** An acquire waits in slices this long, checking for Thread.interrupt() between them. */
    static final int SLICE_MS = 50;

    private final String host;
    private final int port;
    private final int acquireTimeoutMs;
    // Slices that ran out and were followed by another: the library counted
    // each as a wait and a timeout; stats() takes them back out.
    private final java.util.concurrent.atomic.AtomicLong retriedSlices = new java.util.concurrent.atomic.AtomicLong();

    /** A pool to {@code host:port} with the default settings. */
    public SockrtPool(String host, int port) throws IOException {
        this(host, port, builder());
    }

    private SockrtPool(String host, int port, Builder config) throws IOException {
        super(open(host, port, config));
        this.host = host;
        this.port = port;
        this.acquireTimeoutMs = config.acquireTimeoutMs();
    }

    private static long open(String host, int port, Builder config) throws IOException {
        Args.host(host);
        Args.port(port);
        // Port 0 is only for a Unix socket path ('/' in it, or '@' first).
        if (port == 0 && host.indexOf('/') < 0 && !host.startsWith("@")) {
            throw new IllegalArgumentException("a pool needs a port");
        }
        NativeLibrary.load();
        return SockrtNative.poolOpen(host, port, config.values.clone());
    }

    /** Settings starting from the library's defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Leases a connection: an idle one that passes the liveness check, or a
     * new one; when {@code maxTotal} are out, waits up to the acquire timeout
     * ({@link SockrtException} with {@link Sockrt#E_POOL_EXHAUSTED}).
     *
     * <p>A thread waiting for a slot reacts to {@link Thread#interrupt()}: it
     * throws {@link InterruptedIOException} within about 50 ms and keeps its
     * interrupt flag set (the wait is made of 50 ms slices with the time left;
     * a slice that runs out rejoins the back of the queue, so first come
     * first served holds to within a slice). A thread that is interrupted
     * before it calls acquire throws at once. Once it has a connection, the
     * connection's calls behave as sockets' do: an interrupt does not stop
     * a blocked read (close the connection instead).
     *
     * <p>A closed pool, whether it was closed before the call or while the
     * call waited for a slot, throws the same exception: a
     * {@link SockrtException} with {@link Sockrt#E_POOL_CLOSED} and the
     * message "Pool is closed" (a {@link java.net.SocketException}).
     */
    public PooledConnection acquire() throws IOException {
        return acquire(0);
    }

    /**
     * Leases a connection that never served a lease: a new one, even when
     * idle ones exist (the oldest idle one is closed if that is needed to stay
     * within {@code maxTotal}). For the one retry of an idempotent request
     * that failed on a reused connection ({@link PooledConnection#wasReused()}):
     * another idle connection may be just as stale. Waits, times out and
     * reacts to interrupts as {@link #acquire()}.
     */
    public PooledConnection acquireFresh() throws IOException {
        return acquire(Sockrt.ACQUIRE_FRESH);
    }

    private PooledConnection acquire(int flags) throws IOException {
        if (isClosed()) {
            throw poolClosed(null);
        }
        if (!SockrtNative.poolHasSlices()) {
            if (flags != 0) {
                throw new UnsupportedOperationException("this libsockrt has no sockrt_pool_acquire_ex");
            }
            return acquireWhole();
        }
        long start = System.nanoTime();
        long retried = 0;
        try {
            while (true) {
                if (Thread.currentThread().isInterrupted()) {
                    // The flag stays set, as for other interruptible blocking calls that throw an IOException.
                    throw new InterruptedIOException("acquire interrupted");
                }
                int slice = SLICE_MS;
                if (acquireTimeoutMs >= 0) {
                    long left = acquireTimeoutMs - (System.nanoTime() - start) / 1_000_000L;
                    slice = (int) Math.max(0, Math.min(SLICE_MS, left));
                }
                long h = SockrtNative.poolAcquireSlice(handle, flags, slice);
                if (h != 0) {
                    return new PooledConnection(h, this);
                }
                if (acquireTimeoutMs >= 0 && (System.nanoTime() - start) / 1_000_000L >= acquireTimeoutMs) {
                    throw new SockrtException("pool_acquire: no connection free within " + acquireTimeoutMs
                            + " ms", Sockrt.E_POOL_EXHAUSTED, "SOCKRT_E_POOL_EXHAUSTED", 0);
                }
                retried++;
            }
        } catch (SockrtException e) {
            throw e.code() == Sockrt.E_POOL_CLOSED ? poolClosed(e) : e;
        } catch (java.net.SocketException e) {
            // the handle went stale: closed by another thread during the call
            throw isClosed() ? poolClosed(e) : e;
        } finally {
            if (retried > 0) {
                retriedSlices.addAndGet(retried);
            }
            Reference.reachabilityFence(this);
        }
    }

    /** One wait for the whole acquire timeout (a library without slices). */
    private PooledConnection acquireWhole() throws IOException {
        try {
            return new PooledConnection(SockrtNative.poolAcquire(handle), this);
        } catch (SockrtException e) {
            throw e.code() == Sockrt.E_POOL_CLOSED ? poolClosed(e) : e;
        } catch (java.net.SocketException e) {
            throw isClosed() ? poolClosed(e) : e;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    private static SockrtException poolClosed(Exception cause) {
        SockrtException e = new SockrtException("Pool is closed", Sockrt.E_POOL_CLOSED, "SOCKRT_E_POOL_CLOSED", 0);
        if (cause != null) {
            e.initCause(cause);
        }
        return e;
    }

    /** The pool's counters now. */
    public Stats stats() throws IOException {
        long[] v = new long[SockrtNative.POOL_STATS_FIELDS];
        try {
            SockrtNative.poolStats(liveHandle(), v);
        } finally {
            Reference.reachabilityFence(this);
        }
        // Each slice that ran out and was retried counted as a wait and a
        // timeout of its own; one acquire call is one wait.
        long retried = retriedSlices.get();
        return new Stats(v[0], v[1], v[2], v[3], v[4], v[5], v[6], Math.max(0, v[7] - retried),
                Math.max(0, v[8] - retried));
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    @Override
    String closedMessage() {
        return "Pool is closed";
    }

    @Override
    public String toString() {
        return "SockrtPool[" + host + ":" + port + (isClosed() ? ", closed]" : "]");
    }

    /**
     * Pool counters: {@code idle} and {@code inUse} are current, the rest
     * count events since the pool opened (see sockrt_pool_stats in sockrt.h).
     */
    public record Stats(long idle, long inUse, long created, long reused, long closedStale,
                        long closedExpired, long closedBroken, long waits, long timeouts) {}

    /**
     * The fields of {@code sockrt_pool_config}, starting from the library's
     * defaults. Times are in ms with the library's meaning: negative waits
     * forever (or never expires), 0 does not wait.
     */
    public static final class Builder {
        private static final int MAX_IDLE = 0;
        private static final int MAX_TOTAL = 1;
        private static final int CONNECT_TIMEOUT = 2;
        private static final int ACQUIRE_TIMEOUT = 3;
        private static final int IDLE_TIMEOUT = 4;
        private static final int MAX_LIFETIME = 5;
        private static final int CHECK_ON_ACQUIRE = 6;
        private static final int NODELAY = 7;

        private final int[] values = new int[SockrtNative.POOL_CONFIG_FIELDS];

        private Builder() {
            NativeLibrary.load();
            SockrtNative.poolConfigDefaults(values);
        }

        /** Idle connections kept for reuse (default 8); 0 keeps none. */
        public Builder maxIdle(int n) {
            values[MAX_IDLE] = nonNegative(n, "maxIdle");
            return this;
        }

        /** Idle + in use + connecting; 0 = unlimited (default 32). */
        public Builder maxTotal(int n) {
            values[MAX_TOTAL] = nonNegative(n, "maxTotal");
            return this;
        }

        /** Timeout of each new connection (default 5000; negative: none). */
        public Builder connectTimeoutMs(int ms) {
            values[CONNECT_TIMEOUT] = ms;
            return this;
        }

        /** How long acquire queues for a slot (default 5000; 0: not at all; negative: forever). */
        public Builder acquireTimeoutMs(int ms) {
            values[ACQUIRE_TIMEOUT] = ms;
            return this;
        }

        /** Close connections idle longer than this (default 60000; negative: never). */
        public Builder idleTimeoutMs(int ms) {
            values[IDLE_TIMEOUT] = ms;
            return this;
        }

        /** Close connections older than this at release (negative: never, the default). */
        public Builder maxLifetimeMs(int ms) {
            values[MAX_LIFETIME] = ms;
            return this;
        }

        /** Probe an idle connection before handing it out (default true). */
        public Builder checkOnAcquire(boolean on) {
            values[CHECK_ON_ACQUIRE] = on ? 1 : 0;
            return this;
        }

        /** TCP_NODELAY on pooled connections (default true). */
        public Builder noDelay(boolean on) {
            values[NODELAY] = on ? 1 : 0;
            return this;
        }

        public int maxIdle() {
            return values[MAX_IDLE];
        }

        public int maxTotal() {
            return values[MAX_TOTAL];
        }

        public int connectTimeoutMs() {
            return values[CONNECT_TIMEOUT];
        }

        public int acquireTimeoutMs() {
            return values[ACQUIRE_TIMEOUT];
        }

        public int idleTimeoutMs() {
            return values[IDLE_TIMEOUT];
        }

        public int maxLifetimeMs() {
            return values[MAX_LIFETIME];
        }

        public boolean checkOnAcquire() {
            return values[CHECK_ON_ACQUIRE] != 0;
        }

        public boolean noDelay() {
            return values[NODELAY] != 0;
        }

        /** Opens a pool to {@code host:port} with these settings (no connection is made yet). */
        public SockrtPool open(String host, int port) throws IOException {
            return new SockrtPool(host, port, this);
        }

        /**
         * Opens a pool of Unix stream connections to {@code address} (a
         * filesystem path; '@' first: Linux's abstract namespace) with these
         * settings; {@code noDelay} does not apply. No connection is made yet.
         */
        public SockrtPool open(java.net.UnixDomainSocketAddress address) throws IOException {
            String path = java.util.Objects.requireNonNull(address, "address").getPath().toString();
            if (path.indexOf('/') < 0 && !path.startsWith("@")) {
                path = "./" + path; // the library takes a host with a '/' and port 0 as a path
            }
            return new SockrtPool(path, 0, this);
        }

        private static int nonNegative(int n, String what) {
            if (n < 0) {
                throw new IllegalArgumentException(what + " can't be negative: " + n);
            }
            return n;
        }
    }
}
