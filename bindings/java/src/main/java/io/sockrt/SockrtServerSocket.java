package io.sockrt;

import java.io.IOException;
import java.lang.ref.Reference;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.UnixDomainSocketAddress;

/**
 * A listening TCP socket, shaped like {@link java.net.ServerSocket}:
 * {@link #accept()} returns a new connected {@link SockrtSocket} and the
 * listener keeps listening. {@link #close()} from another thread wakes a
 * blocked accept with a {@link SocketException}.
 */
public class SockrtServerSocket extends SockrtResource {
    private volatile boolean bound;

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
        bound = true;
    }

    /**
     * Listens on {@code bindAddr:port} ({@code null}: every IPv4 interface),
     * as {@code new java.net.ServerSocket(port, backlog, bindAddr)}.
     */
    public SockrtServerSocket(int port, int backlog, InetAddress bindAddr) throws IOException {
        this(bindAddr == null ? "0.0.0.0" : bindAddr.getHostAddress(), port, backlog);
    }

    private SockrtServerSocket(long handle) {
        super(handle);
    }

    /** An unbound socket of a family ({@link Sockrt#INET} or {@link Sockrt#INET6}). */
    public static SockrtServerSocket unbound(int family) throws IOException {
        return new SockrtServerSocket(newSocket(family));
    }

    /**
     * A Unix stream socket listening on {@code address} (a filesystem path;
     * '@' first: Linux's abstract namespace), with a backlog (at most 0: the
     * system default). A stale socket file there (nothing bound to it) is
     * removed first; a live one, or any other file, is a
     * {@link java.net.BindException}. Closing it removes the socket file it
     * created. {@link #accept()} returns connected {@link SockrtSocket}s.
     */
    public static SockrtServerSocket open(UnixDomainSocketAddress address, int backlog) throws IOException {
        String path = Args.host(java.util.Objects.requireNonNull(address, "address").getPath().toString());
        NativeLibrary.load();
        SockrtServerSocket server = new SockrtServerSocket(SockrtNative.socket(Sockrt.UNIX, Sockrt.STREAM));
        try {
            long h = server.liveHandle();
            SockrtNative.setOption(h, Sockrt.OPT_UNLINK_STALE, 1);
            SockrtNative.bind(h, path, 0);
            SockrtNative.listen(h, backlog);
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        server.bound = true;
        return server;
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
        bound = true;
        rememberAddresses();
    }

    /**
     * Binds and listens, as {@link java.net.ServerSocket#bind(SocketAddress, int)}:
     * {@code null} is a free port on every IPv4 interface, a backlog below 1
     * is 50. Already bound: {@link SocketException}; address in use:
     * {@link java.net.BindException}.
     */
    public void bind(SocketAddress endpoint, int backlog) throws IOException {
        if (bound) {
            throw new SocketException("Already bound");
        }
        int b = backlog < 1 ? 50 : backlog;
        if (endpoint == null) {
            bind("0.0.0.0", 0, b);
        } else {
            bind(Args.hostOf(endpoint), Args.portOf(endpoint), b);
        }
    }

    /** {@link #bind(SocketAddress, int)} with the default backlog (50). */
    public void bind(SocketAddress endpoint) throws IOException {
        bind(endpoint, 50);
    }

    /** Whether the socket was bound; stays true after close, as java.net. */
    public boolean isBound() {
        return bound;
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

    /** SO_RCVBUF of the accepted connections (set it before {@link #bind} for a large window). */
    public void setReceiveBufferSize(int size) throws SocketException {
        setOptionValue(Sockrt.OPT_RECV_BUFFER, SockrtSocket.positive(size));
    }

    public int getReceiveBufferSize() throws SocketException {
        return (int) optionValue(Sockrt.OPT_RECV_BUFFER);
    }

    /** The {@link java.net.StandardSocketOptions} a listener takes: SO_RCVBUF and SO_REUSEADDR. */
    public java.util.Set<java.net.SocketOption<?>> supportedOptions() {
        return StandardOptions.LISTENER;
    }

    public <T> SockrtServerSocket setOption(java.net.SocketOption<T> name, T value) throws IOException {
        StandardOptions.set(this, StandardOptions.LISTENER, name, value);
        return this;
    }

    public <T> T getOption(java.net.SocketOption<T> name) throws IOException {
        return StandardOptions.get(this, StandardOptions.LISTENER, name);
    }

    @Override
    public void close() {
        if (bound && !isClosed()) {
            rememberAddresses();
        }
        super.close();
    }



    /** The local address text, e.g. "127.0.0.1"; null if unbound; after close the last one. */
    public String getLocalHost() {
        return bound ? addressHost(false) : null;
    }

    /** The local address; null if closed. */
    public InetAddress getInetAddress() {
        String host = getLocalHost();
        return host == null ? null : Args.literal(host);
    }

    /** The port it listens on; -1 if unbound; after close the last one. */
    public int getLocalPort() {
        return bound ? addressPort(false, -1) : -1;
    }

    /** The local address and port; null if unbound. */
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
