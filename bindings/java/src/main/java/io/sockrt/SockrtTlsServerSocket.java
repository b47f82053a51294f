package io.sockrt;

import java.io.IOException;
import java.lang.ref.Reference;

/**
 * A listening socket whose {@link #accept()} does the TLS server handshake and
 * returns a {@link SockrtTlsSocket}. The accept waits up to the socket's
 * timeout ({@link #setSoTimeout}), and so does the handshake.
 */
public final class SockrtTlsServerSocket extends SockrtServerSocket {
    private final SockrtTlsConfig config;

    /** Listens on {@code host:port} (port 0: a free port) with the server config. */
    public SockrtTlsServerSocket(String host, int port, int backlog, SockrtTlsConfig config) throws IOException {
        super(host, port, backlog);
        this.config = config;
    }

    @Override
    public SockrtTlsSocket accept() throws IOException {
        try {
            int timeout = getSoTimeout();
            return new SockrtTlsSocket(SockrtTlsNative.accept(liveHandle(), config.liveHandle(),
                    timeout <= 0 ? -1 : timeout));
        } finally {
            Reference.reachabilityFence(this);
            Reference.reachabilityFence(config);
        }
    }
}
