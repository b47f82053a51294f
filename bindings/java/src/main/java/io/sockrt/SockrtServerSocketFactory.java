package io.sockrt;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import javax.net.ServerSocketFactory;

/**
 * A {@link ServerSocketFactory} whose listeners are genuine
 * {@link java.net.ServerSocket} objects running on libsockrt (through
 * {@link SockrtSocketImpl}); {@code accept()} returns {@link java.net.Socket}s
 * on libsockrt too. Behaves as {@link ServerSocketFactory#getDefault()}'s:
 * {@link #createServerSocket()} is unbound, the others bind and listen
 * (backlog below 1: 50, as java.net), with SO_REUSEADDR on. An address of
 * {@code null} binds every IPv4 interface (java.net's binds IPv6 as well).
 */
public class SockrtServerSocketFactory extends ServerSocketFactory {
    /** A factory; it has no state, so one may be shared. */
    public SockrtServerSocketFactory() {}

    @Override
    public ServerSocket createServerSocket() throws IOException {
        return new JavaServerSocket();
    }

    @Override
    public ServerSocket createServerSocket(int port) throws IOException {
        return createServerSocket(port, 50, null);
    }

    @Override
    public ServerSocket createServerSocket(int port, int backlog) throws IOException {
        return createServerSocket(port, backlog, null);
    }

    @Override
    public ServerSocket createServerSocket(int port, int backlog, InetAddress ifAddress) throws IOException {
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("Port value out of range: " + port);
        }
        ServerSocket s = createServerSocket();
        try {
            s.bind(new InetSocketAddress(ifAddress, port), backlog);
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    @Override
    public String toString() {
        return "SockrtServerSocketFactory";
    }

    /**
     * java.net.ServerSocket over a SockrtSocketImpl. Its accept hands
     * ServerSocket.implAccept a socket that has a SockrtSocketImpl, so the
     * connection is accepted straight into it.
     */
    static final class JavaServerSocket extends ServerSocket {
        JavaServerSocket() throws IOException {
            super(new SockrtSocketImpl(true));
        }

        @Override
        public Socket accept() throws IOException {
            if (isClosed()) {
                throw new SocketException("Socket is closed");
            }
            if (!isBound()) {
                throw new SocketException("Socket is not bound yet");
            }
            Socket s = new SockrtSocketFactory.JavaSocket();
            implAccept(s);
            return s;
        }
    }
}
