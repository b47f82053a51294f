package io.sockrt;

import java.io.IOException;
import java.lang.ref.Reference;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;

/**
 * A listening TCP socket, shaped like {@link java.net.ServerSocket}:
 * {@link #accept()} returns a new connected {@link SockrtSocket} and the
 * listener keeps listening. {@link #close()} from another thread wakes a
 * blocked accept with a {@link SocketException}.
 */
public class SockrtServerSocket extends SockrtResource {
    /** An unbound IPv4 socket; set options, then {@link #bind}. */
    public SockrtServerSocket() throws IOException {
        super(newSocket(Sockrt.INET));
    }

    /** Listens on every IPv4 interface at {@code port} (0: a free port), default backlog. */
    public SockrtServerSocket(int port) throws IOException {
        this("0.0.0.0", port, 0);
    }

    /** Listens on every IPv4 interface at {@code port} with a backlog (at most 0: the system default). */
    public SockrtServerSocket(int port, int backlog) throws IOException {
        this("0.0.0.0", port, backlog);
    }

    /**
     * Listens on {@code host:port} (port 0: a free port) with a backlog
     * (at most 0: the system default). SO_REUSEADDR is on.
     */
    public SockrtServerSocket(String host, int port, int backlog) throws IOException {
        super(newListener(host, port, backlog));
    }

    private SockrtServerSocket(long handle) {
        super(handle);
    }

    /** An unbound socket of a family ({@link Sockrt#INET} or {@link Sockrt#INET6}). */
    public static SockrtServerSocket unbound(int family) throws IOException {
        return new SockrtServerSocket(newSocket(family));
    }

    private static long newSocket(int family) throws IOException {
        if (family != Sockrt.INET && family != Sockrt.INET6) {
            throw new IllegalArgumentException("family must be Sockrt.INET or Sockrt.INET6: " + family);
        }
        NativeLibrary.load();
        return SockrtNative.socket(family, Sockrt.STREAM);
    }

    private static long newListener(String host, int port, int backlog) throws IOException {
        Args.host(host);
        Args.port(port);
        NativeLibrary.load();
        return SockrtNative.tcpListen(host, port, backlog);
    }

    /** Binds an unbound socket to {@code host:port} and listens (backlog at most 0: the system default). */
    public void bind(String host, int port, int backlog) throws IOException {
        Args.host(host);
        Args.port(port);
        try {
            long h = liveHandle();
            SockrtNative.bind(h, host, port);
            SockrtNative.listen(h, backlog);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    public void bind(SocketAddress endpoint, int backlog) throws IOException {
        bind(Args.hostOf(endpoint), Args.portOf(endpoint), backlog);
    }

    /**
     * Waits for a connection, up to the {@link #setSoTimeout} timeout
     * ({@link java.net.SocketTimeoutException}), and returns it.
     */
    public SockrtSocket accept() throws IOException {
        try {
            return new SockrtSocket(SockrtNative.accept(liveHandle()), 0);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** How long accept waits, in ms; 0 (the default) waits forever. */
    public void setSoTimeout(int timeoutMs) throws SocketException {
        setOptionValue(Sockrt.OPT_READ_TIMEOUT_MS, Args.timeout(timeoutMs));
    }

    public int getSoTimeout() throws SocketException {
        return Args.javaTimeout(optionValue(Sockrt.OPT_READ_TIMEOUT_MS));
    }

    /** SO_REUSEADDR; set it before {@link #bind}. */
    public void setReuseAddress(boolean on) throws SocketException {
        setOptionValue(Sockrt.OPT_REUSEADDR, on ? 1 : 0);
    }

    public boolean getReuseAddress() throws SocketException {
        return optionValue(Sockrt.OPT_REUSEADDR) != 0;
    }



    /** The local address text, e.g. "127.0.0.1"; null if closed. */
    public String getLocalHost() {
        return addressHost(false);
    }

    /** The local address; null if closed. */
    public InetAddress getInetAddress() {
        String host = getLocalHost();
        return host == null ? null : Args.literal(host);
    }

    /** The port it listens on; -1 if closed. */
    public int getLocalPort() {
        return addressPort(false, -1);
    }

    public InetSocketAddress getLocalSocketAddress() {
        InetAddress address = getInetAddress();
        return address == null ? null : new InetSocketAddress(address, getLocalPort());
    }

    @Override
    public String toString() {
        return isClosed() ? "SockrtServerSocket[closed]"
                : "SockrtServerSocket[" + getLocalHost() + ":" + getLocalPort() + "]";
    }
}
