package io.sockrt;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.net.SocketException;

/**
 * Base of every object backed by a libsockrt handle: it holds the handle,
 * makes {@link #close()} idempotent and thread-safe, and registers a
 * {@link Cleaner} once, in its constructor, so that an object dropped without
 * {@code close()} still frees its handle after garbage collection.
 *
 * <p>The cleaning action ({@link Release}) holds only the numeric handles, never
 * the object itself, otherwise the object could never become unreachable.
 */
public abstract class SockrtResource implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final VarHandle CLOSED;

    static {
        try {
            CLOSED = MethodHandles.lookup().findVarHandle(SockrtResource.class, "closed", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The library handle; never 0. Closed handles are never reused by the library. */
    final long handle;
    private final Release release;
    private final Cleaner.Cleanable cleanable;
    private volatile boolean closed;

    /** Takes ownership of a handle that closes with sockrt_close. */
    SockrtResource(long handle) {
        this(handle, 0);
    }

    /** Takes ownership of a pooled connection handle leased from {@code poolHandle}. */
    SockrtResource(long handle, long poolHandle) {
        this.handle = handle;
        this.release = new Release(handle, poolHandle);
        this.cleanable = CLEANER.register(this, release);
    }

    /**
     * Closes the object and frees its handle. Calls blocked on it in other
     * threads wake up with a {@link SocketException}. Calling it again does nothing.
     */
    @Override
    public void close() {
        end(false);
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Ends the handle once: back to its pool when {@code toPool} (pooled
     * connections only), otherwise closed.
     */
    final void end(boolean toPool) {
        // Only the first caller decides between release and discard.
        if (!CLOSED.compareAndSet(this, false, true)) {
            return;
        }
        release.toPool = toPool;
        cleanable.clean();
    }

    /** The handle, or a SocketException if the object is closed. */
    final long liveHandle() throws SocketException {
        if (closed) {
            throw new SocketException(closedMessage());
        }
        return handle;
    }

    /** Sets a {@code Sockrt.OPT_*} option; every failure is a SocketException, as in java.net. */
    final void setOptionValue(int option, long value) throws SocketException {
        try {
            SockrtNative.setOption(liveHandle(), option, value);
        } catch (SocketException e) {
            throw e;
        } catch (IOException e) {
            throw asSocketException(e);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Reads a {@code Sockrt.OPT_*} option. */
    final long optionValue(int option) throws SocketException {
        try {
            return SockrtNative.getOption(liveHandle(), option);
        } catch (SocketException e) {
            throw e;
        } catch (IOException e) {
            throw asSocketException(e);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    // Linux's numbers: IPPROTO_IP/IP_TOS and IPPROTO_IPV6/IPV6_TCLASS.
    private static final int IPPROTO_IP = 0;
    private static final int IP_TOS = 1;
    private static final int IPPROTO_IPV6 = 41;
    private static final int IPV6_TCLASS = 67;

    /**
     * The traffic class (IP_TOS, or IPV6_TCLASS on an IPv6 socket) as
     * java.net's setTrafficClass sets it: 0..255, a hint the network may ignore.
     */
    final void setTrafficClassValue(int tc) throws SocketException {
        if (tc < 0 || tc > 255) {
            throw new IllegalArgumentException("tc is not in range 0 -- 255");
        }
        try {
            if (isIpv6()) {
                SockrtNative.setSockOptInt(liveHandle(), IPPROTO_IPV6, IPV6_TCLASS, tc);
            } else {
                SockrtNative.setSockOptInt(liveHandle(), IPPROTO_IP, IP_TOS, tc);
            }
        } catch (SocketException e) {
            throw e;
        } catch (IOException e) {
            throw asSocketException(e);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    final int trafficClassValue() throws SocketException {
        try {
            return isIpv6() ? SockrtNative.getSockOptInt(liveHandle(), IPPROTO_IPV6, IPV6_TCLASS)
                    : SockrtNative.getSockOptInt(liveHandle(), IPPROTO_IP, IP_TOS);
        } catch (SocketException e) {
            throw e;
        } catch (IOException e) {
            throw asSocketException(e);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    private boolean isIpv6() {
        String local = addressHost(false);
        return local != null && local.indexOf(':') >= 0;
    }

    private static SocketException asSocketException(IOException e) {
        SocketException wrapped = new SocketException(e.getMessage());
        wrapped.initCause(e);
        return wrapped;
    }

    // The addresses last seen, so that getters keep their values after close
    // (as java.net's do). Index 0: local, 1: peer.
    private final String[] lastHost = new String[2];
    private final int[] lastPort = new int[2];

    /**
     * The local or peer address text; null if unbound or not connected (as
     * java.net's getters). After close: the last value seen while open.
     */
    final String addressHost(boolean peer) {
        int i = peer ? 1 : 0;
        if (closed) {
            synchronized (lastHost) {
                return lastHost[i];
            }
        }
        try {
            String host = SockrtNative.addressHost(handle, peer);
            synchronized (lastHost) {
                lastHost[i] = host;
            }
            return host;
        } catch (IOException e) {
            synchronized (lastHost) {
                return closed ? lastHost[i] : null;
            }
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** The local or peer port; {@code otherwise} if not known. After close: the last value seen while open. */
    final int addressPort(boolean peer, int otherwise) {
        int i = peer ? 1 : 0;
        if (closed) {
            synchronized (lastHost) {
                return lastPort[i] > 0 ? lastPort[i] : otherwise;
            }
        }
        try {
            int port = SockrtNative.addressPort(handle, peer);
            synchronized (lastHost) {
                lastPort[i] = port;
            }
            return port;
        } catch (IOException e) {
            synchronized (lastHost) {
                return closed && lastPort[i] > 0 ? lastPort[i] : otherwise;
            }
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Records the current addresses (after bind, connect or accept), for the getters after close. */
    final void rememberAddresses() {
        addressHost(false);
        addressPort(false, 0);
        addressHost(true);
        addressPort(true, 0);
    }

    /** The message of the exception thrown for use after close. */
    String closedMessage() {
        return "Socket is closed";
    }

    /** The cleaning action: frees a handle; must never refer to its owner. */
    private static final class Release implements Runnable {
        private final long handle;
        private final long pool;
        volatile boolean toPool;

        Release(long handle, long pool) {
            this.handle = handle;
            this.pool = pool;
        }

        @Override
        public void run() {
            if (pool == 0) {
                SockrtNative.close(handle);
            } else if (toPool) {
                SockrtNative.poolRelease(pool, handle);
            } else {
                SockrtNative.poolDiscard(pool, handle);
            }
        }
    }
}
