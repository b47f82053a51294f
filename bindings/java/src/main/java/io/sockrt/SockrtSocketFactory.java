package io.sockrt;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import javax.net.SocketFactory;

/**
 * A {@link SocketFactory} whose sockets are genuine {@link java.net.Socket}
 * objects running on libsockrt (through {@link SockrtSocketImpl}), for code
 * that takes a factory: HTTP clients ({@code OkHttpClient.Builder().socketFactory(...)}),
 * JDBC and mail drivers, or TLS layered with
 * {@code SSLSocketFactory.createSocket(socket, host, port, true)}.
 *
 * <p>Every method behaves as {@link SocketFactory#getDefault()}'s: the
 * unconnected {@link #createSocket()} is what most libraries call, then
 * {@code connect(address, timeout)}; the others connect before returning,
 * and close the socket if that fails.
 */
public class SockrtSocketFactory extends SocketFactory {
    /** A factory; it has no state, so one may be shared. */
    public SockrtSocketFactory() {}

    /** An unconnected socket, as {@code new Socket()}. */
    @Override
    public Socket createSocket() throws IOException {
        return new JavaSocket();
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port), null);
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return connected(new InetSocketAddress(host, port), new InetSocketAddress(localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port), null);
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
            throws IOException {
        return connected(new InetSocketAddress(address, port), new InetSocketAddress(localAddress, localPort));
    }

    private Socket connected(SocketAddress remote, SocketAddress local) throws IOException {
        Socket s = createSocket();
        try {
            if (local != null) {
                s.bind(local);
            }
            s.connect(remote);
            return s;
        } catch (IOException | RuntimeException e) {
            try {
                s.close();
            } catch (IOException ce) {
                e.addSuppressed(ce);
            }
            throw e;
        }
    }

    @Override
    public String toString() {
        return "SockrtSocketFactory";
    }

    /** java.net.Socket over a SockrtSocketImpl (its SocketImpl constructor is protected). */
    static final class JavaSocket extends Socket {
        JavaSocket() throws SocketException {
            super(new SockrtSocketImpl(false));
        }
    }
}
