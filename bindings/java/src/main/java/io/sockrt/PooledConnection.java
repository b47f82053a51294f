package io.sockrt;

import java.io.IOException;
import java.lang.ref.Reference;

/**
 * A connection leased from a {@link SockrtPool}: an ordinary
 * {@link SockrtSocket} whose {@link #close()} gives it back to the pool. The
 * pool then keeps it if it is healthy and closes it if a call on it failed,
 * it was shut down or has unread bytes. Use {@link #discard()} for a
 * connection that is known to be broken. A connection dropped without either
 * is discarded by the cleaner.
 */
public final class PooledConnection extends SockrtSocket {
    // Keeps the pool reachable (and so open) while the connection is leased.
    private final SockrtPool pool;

    PooledConnection(long handle, SockrtPool pool) {
        super(handle, pool.handle);
        this.pool = pool;
    }

    /** The pool this connection came from. */
    public SockrtPool pool() {
        return pool;
    }

    /** Ends the lease: back to the pool. Calling it again does nothing. */
    @Override
    public void close() {
        end(true);
    }

    /** Ends the lease and closes the connection, freeing its slot in the pool. */
    public void discard() {
        end(false);
    }

    /**
     * Whether this connection served an earlier lease: a request that failed
     * before any reply on a reused connection may be retried once on a new one.
     */
    public boolean wasReused() throws IOException {
        try {
            return SockrtNative.poolWasReused(liveHandle());
        } finally {
            Reference.reachabilityFence(this);
        }
    }
}
