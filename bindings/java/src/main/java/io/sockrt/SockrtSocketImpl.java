package io.sockrt;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ref.Reference;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketImpl;
import java.net.SocketOption;
import java.net.SocketOptions;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * A {@link SocketImpl} over a libsockrt stream handle: what makes the
 * {@link java.net.Socket} and {@link java.net.ServerSocket} objects of
 * {@link SockrtSocketFactory} and {@link SockrtServerSocketFactory} genuine
 * java.net sockets that run on libsockrt.
 *
 * <p>It behaves as the JDK's own implementation does where a program can see
 * it: {@code SO_TIMEOUT} bounds reads and accepts
 * ({@link SocketTimeoutException} "Read timed out" / "Accept timed out"), a
 * refused connect is a {@link java.net.ConnectException}, an address in use a
 * {@link java.net.BindException}, a call on a closed socket or one that a
 * close interrupted a {@link SocketException} "Socket closed", a read after
 * {@code shutdownInput} returns -1 and a write after {@code shutdownOutput}
 * throws {@link SocketException} "Broken pipe". {@code close()} from any thread wakes calls blocked in read, write,
 * connect and accept. As with java.net, {@link Thread#interrupt()} does not
 * interrupt a blocked read (close the socket instead).
 *
 * <p>The traffic class ({@code setTrafficClass}, IP_TOS) is set as IP_TOS on
 * IPv4 sockets and IPV6_TCLASS on IPv6 ones.
 *
 * <p>The native socket is made when the address family is known (at bind or
 * connect); options set before then are kept and applied to it. Connect
 * needs a resolved address, as java.net's does (an unresolved one is an
 * {@link UnknownHostException}). Datagram sockets ({@code create(false)}) are
 * not supported: use {@link SockrtDatagramSocket}.
 */
public final class SockrtSocketImpl extends SocketImpl {
    private static final String CLOSED = "Socket closed";

    private final boolean server;
    private final Object stateLock = new Object();
    // The native socket, once made. Written under stateLock, read without it.
    private volatile SockrtSocket sock;
    private volatile boolean closed;
    private volatile boolean inputShut;
    private volatile boolean outputShut;
    private int timeoutMs; // SO_TIMEOUT in java.net's terms (0: none)
    // Options set before the native socket exists, by SocketOptions id.
    private final Map<Integer, Object> pending = new HashMap<>();
    private InputStream in;
    private OutputStream out;

    /** An implementation for a client socket ({@code server} false) or a listener. */
    public SockrtSocketImpl(boolean server) {
        this.server = server;
    }

    /** An implementation for a client socket. */
    public SockrtSocketImpl() {
        this(false);
    }

    // ---- lifecycle ----

    @Override
    protected void create(boolean stream) throws IOException {
        if (!stream) {
            throw new SocketException("sockrt: datagram sockets are SockrtDatagramSocket, not java.net.Socket");
        }
        NativeLibrary.load();
    }

    /** The native socket, made now for the family of {@code address} if needed. */
    private SockrtSocket socketFor(InetAddress address) throws IOException {
        synchronized (stateLock) {
            ensureOpen();
            SockrtSocket s = sock;
            if (s == null) {
                int family = address instanceof Inet6Address ? Sockrt.INET6 : Sockrt.INET;
                s = new SockrtSocket(family);
                s.keepAddresses = false;
                try {
                    if (server && !pending.containsKey(SocketOptions.SO_REUSEADDR)) {
                        s.setOptionValue(Sockrt.OPT_REUSEADDR, 1); // as java.net's listeners
                    }
                    if (timeoutMs != 0) {
                        s.setOptionValue(Sockrt.OPT_READ_TIMEOUT_MS, timeoutMs);
                    }
                    for (Map.Entry<Integer, Object> e : pending.entrySet()) {
                        apply(s, e.getKey(), e.getValue());
                    }
                } catch (IOException | RuntimeException e) {
                    s.close();
                    throw e;
                }
                pending.clear();
                sock = s;
            }
            return s;
        }
    }

    /** The native socket, or SocketException "Socket closed" (or "not created"). */
    private SockrtSocket live() throws SocketException {
        SockrtSocket s = sock;
        if (closed) {
            throw new SocketException(CLOSED);
        }
        if (s == null) {
            throw new SocketException("Socket not created");
        }
        return s;
    }

    private void ensureOpen() throws SocketException {
        if (closed) {
            throw new SocketException(CLOSED);
        }
    }

    @Override
    protected void connect(String host, int port) throws IOException {
        connect(new InetSocketAddress(host, port), 0);
    }

    @Override
    protected void connect(InetAddress address, int port) throws IOException {
        connect(new InetSocketAddress(address, port), 0);
    }

    @Override
    protected void connect(SocketAddress endpoint, int timeout) throws IOException {
        if (!(endpoint instanceof InetSocketAddress isa)) {
            throw new IllegalArgumentException("Unsupported address type");
        }
        if (isa.isUnresolved()) {
            throw new UnknownHostException(isa.getHostName());
        }
        if (timeout < 0) {
            throw new IllegalArgumentException("connect: timeout can't be negative");
        }
        InetAddress target = isa.getAddress();
        SockrtSocket s = socketFor(target);
        try {
            SockrtNative.connect(s.liveHandle(), target.getHostAddress(), isa.getPort(), Args.timeout(timeout));
        } catch (SocketTimeoutException e) {
            close();
            throw renamed(new SocketTimeoutException("Connect timed out"), e);
        } catch (IOException e) {
            // As java.net: a failed connect closes the socket.
            boolean wasClosed = closed;
            close();
            throw wasClosed ? renamed(new SocketException(CLOSED), e) : e;
        } finally {
            Reference.reachabilityFence(s);
        }
        synchronized (stateLock) {
            address = target;
            port = isa.getPort();
            localport = s.addressPort(false, 0);
        }
    }

    @Override
    protected void bind(InetAddress host, int lport) throws IOException {
        InetAddress local = host != null ? host : InetAddress.getByName("0.0.0.0");
        SockrtSocket s = socketFor(local);
        try {
            SockrtNative.bind(s.liveHandle(), local.getHostAddress(), lport);
        } finally {
            Reference.reachabilityFence(s);
        }
        synchronized (stateLock) {
            if (server) {
                address = local; // java.net's listeners report the address they were given
            }
            localport = s.addressPort(false, 0);
        }
    }

    @Override
    protected void listen(int backlog) throws IOException {
        SockrtSocket s = live();
        try {
            SockrtNative.listen(s.liveHandle(), backlog);
        } finally {
            Reference.reachabilityFence(s);
        }
    }

    @Override
    protected void accept(SocketImpl target) throws IOException {
        if (!(target instanceof SockrtSocketImpl into)) {
            throw new IOException("a SockrtSocketImpl accepts only into a SockrtSocketImpl, not "
                    + target.getClass().getName());
        }
        SockrtSocket listener = live();
        long h;
        try {
            h = SockrtNative.accept(listener.liveHandle());
        } catch (SocketTimeoutException e) {
            throw renamed(new SocketTimeoutException("Accept timed out"), e);
        } catch (SocketException e) {
            throw closed ? renamed(new SocketException(CLOSED), e) : e;
        } finally {
            Reference.reachabilityFence(listener);
        }
        SockrtSocket accepted = new SockrtSocket(h, 0);
        accepted.keepAddresses = false;
        into.adopt(accepted);
    }

    /** Becomes the implementation of an accepted connection. */
    private void adopt(SockrtSocket s) {
        synchronized (stateLock) {
            sock = s;
            closed = false;
            String peer = s.addressHost(true);
            address = peer == null ? null : Args.literal(peer);
            port = s.addressPort(true, 0);
            localport = s.addressPort(false, 0);
        }
    }

    @Override
    protected void close() {
        SockrtSocket s;
        synchronized (stateLock) {
            if (closed) {
                return;
            }
            closed = true;
            s = sock;
        }
        if (s != null) {
            s.close(); // wakes every call blocked on it
        }
    }

    @Override
    protected void shutdownInput() throws IOException {
        SockrtSocket s = live();
        try {
            SockrtNative.shutdown(s.liveHandle(), Sockrt.SHUT_READ);
        } finally {
            Reference.reachabilityFence(s);
        }
        inputShut = true;
    }

    @Override
    protected void shutdownOutput() throws IOException {
        SockrtSocket s = live();
        try {
            SockrtNative.shutdown(s.liveHandle(), Sockrt.SHUT_WRITE);
        } finally {
            Reference.reachabilityFence(s);
        }
        outputShut = true;
    }

    @Override
    protected void sendUrgentData(int data) throws IOException {
        throw new SocketException("Urgent data not supported");
    }

    @Override
    protected boolean supportsUrgentData() {
        return false;
    }

    // ---- streams ----

    @Override
    protected InputStream getInputStream() throws IOException {
        synchronized (stateLock) {
            ensureOpen();
            if (in == null) {
                in = new Input();
            }
            return in;
        }
    }

    @Override
    protected OutputStream getOutputStream() throws IOException {
        synchronized (stateLock) {
            ensureOpen();
            if (out == null) {
                out = new Output();
            }
            return out;
        }
    }

    /** Bytes readable now without blocking (FIONREAD); 0 after shutdownInput. */
    @Override
    protected int available() throws IOException {
        SockrtSocket s = live();
        if (inputShut) {
            return 0;
        }
        try {
            return (int) Math.min(Integer.MAX_VALUE, SockrtNative.getOption(s.liveHandle(), Sockrt.OPT_NREAD));
        } catch (SocketException e) {
            throw closed ? renamed(new SocketException(CLOSED), e) : e;
        } finally {
            Reference.reachabilityFence(s);
        }
    }

    private IOException readFailure(IOException e) {
        if (closed) {
            return renamed(new SocketException(CLOSED), e);
        }
        if (e instanceof SocketTimeoutException) {
            return renamed(new SocketTimeoutException("Read timed out"), e);
        }
        return e;
    }

    private final class Input extends InputStream {
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            Args.range(b, off, len);
            SockrtSocket s = live();
            if (len == 0) {
                return 0;
            }
            if (inputShut) {
                return -1;
            }
            try {
                int n = SockrtNative.recv(s.handle, b, off, len);
                return n == 0 ? -1 : n;
            } catch (IOException e) {
                if (inputShut && !closed) {
                    return -1;
                }
                throw readFailure(e);
            } finally {
                Reference.reachabilityFence(s);
            }
        }

        @Override
        public int available() throws IOException {
            return SockrtSocketImpl.this.available();
        }

        @Override
        public void close() {
            SockrtSocketImpl.this.close();
        }
    }

    private final class Output extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            Args.range(b, off, len);
            SockrtSocket s = live();
            // After shutdownOutput the kernel refuses the write ("Broken pipe"), as with java.net.
            if (len == 0) {
                return;
            }
            try {
                s.sendAll(b, off, len);
            } catch (IOException e) {
                throw closed ? renamed(new SocketException(CLOSED), e) : e;
            } finally {
                Reference.reachabilityFence(s);
            }
        }

        @Override
        public void close() {
            SockrtSocketImpl.this.close();
        }
    }

    private static <E extends IOException> E renamed(E replacement, IOException cause) {
        replacement.initCause(cause);
        return replacement;
    }

    // ---- options: the SocketOptions ids that java.net.Socket uses ----

    @Override
    public void setOption(int optID, Object value) throws SocketException {
        synchronized (stateLock) {
            ensureOpen();
            if (optID == SO_TIMEOUT) {
                if (!(value instanceof Integer t) || t < 0) {
                    throw new SocketException("Bad value for SO_TIMEOUT");
                }
                timeoutMs = t;
                SockrtSocket s = sock;
                if (s != null) {
                    s.setOptionValue(Sockrt.OPT_READ_TIMEOUT_MS, Args.timeout(t));
                }
                return;
            }
            check(optID, value);
            SockrtSocket s = sock;
            if (s == null) {
                pending.put(optID, value);
            } else {
                apply(s, optID, value);
            }
        }
    }

    /** Rejects an option this implementation does not have, or a bad value, before storing it. */
    private static void check(int optID, Object value) throws SocketException {
        switch (optID) {
            case TCP_NODELAY, SO_KEEPALIVE, SO_REUSEADDR, SO_OOBINLINE -> {
                if (!(value instanceof Boolean)) {
                    throw new SocketException("Bad value for option " + optID);
                }
            }
            case SO_RCVBUF, SO_SNDBUF -> {
                if (!(value instanceof Integer n) || n <= 0) {
                    throw new SocketException("Bad value for option " + optID);
                }
            }
            case SO_LINGER -> {
                if (!(value instanceof Boolean) && !(value instanceof Integer)) {
                    throw new SocketException("Bad value for SO_LINGER");
                }
            }
            case IP_TOS -> {
                if (!(value instanceof Integer tc) || tc < 0 || tc > 255) {
                    throw new SocketException("Bad value for IP_TOS");
                }
            }
            default -> throw new SocketException("Option " + optID + " not supported");
        }
    }

    private static void apply(SockrtSocket s, int optID, Object value) throws SocketException {
        switch (optID) {
            case TCP_NODELAY -> s.setOptionValue(Sockrt.OPT_NODELAY, (Boolean) value ? 1 : 0);
            case SO_KEEPALIVE -> s.setOptionValue(Sockrt.OPT_KEEPALIVE, (Boolean) value ? 1 : 0);
            case SO_REUSEADDR -> s.setOptionValue(Sockrt.OPT_REUSEADDR, (Boolean) value ? 1 : 0);
            case SO_RCVBUF -> s.setOptionValue(Sockrt.OPT_RECV_BUFFER, (Integer) value);
            case SO_SNDBUF -> s.setOptionValue(Sockrt.OPT_SEND_BUFFER, (Integer) value);
            case SO_LINGER -> {
                // java.net passes Boolean false for "off", an Integer (seconds) for "on".
                int seconds = value instanceof Integer i ? Math.max(0, Math.min(i, 65_535)) : -1;
                s.setOptionValue(Sockrt.OPT_LINGER, seconds);
            }
            case SO_OOBINLINE -> {
                if ((Boolean) value) {
                    throw new SocketException("SO_OOBINLINE not supported (no urgent data)");
                }
            }
            case IP_TOS -> s.setTrafficClassValue((Integer) value);
            default -> throw new SocketException("Option " + optID + " not supported");
        }
    }

    @Override
    public Object getOption(int optID) throws SocketException {
        synchronized (stateLock) {
            ensureOpen();
            if (optID == SO_TIMEOUT) {
                return timeoutMs;
            }
            SockrtSocket s = sock;
            if (optID == SO_BINDADDR) {
                String host = s == null ? null : s.addressHost(false);
                return host == null ? Args.literal("0.0.0.0") : Args.literal(host);
            }
            if (s == null) {
                Object v = pending.get(optID);
                if (v != null) {
                    return optID == SO_LINGER && v instanceof Integer i ? Math.min(i, 65_535) : v;
                }
                return defaultOf(optID);
            }
            return switch (optID) {
                case TCP_NODELAY -> s.optionValue(Sockrt.OPT_NODELAY) != 0;
                case SO_KEEPALIVE -> s.optionValue(Sockrt.OPT_KEEPALIVE) != 0;
                case SO_REUSEADDR -> s.optionValue(Sockrt.OPT_REUSEADDR) != 0;
                case SO_RCVBUF -> (int) s.optionValue(Sockrt.OPT_RECV_BUFFER);
                case SO_SNDBUF -> (int) s.optionValue(Sockrt.OPT_SEND_BUFFER);
                case SO_LINGER -> (int) s.optionValue(Sockrt.OPT_LINGER); // -1: off, as java.net
                case SO_OOBINLINE -> false;
                case IP_TOS -> s.trafficClassValue();
                default -> throw new SocketException("Option " + optID + " not supported");
            };
        }
    }

    /** What an option reads before the native socket exists (the system's defaults). */
    private Object defaultOf(int optID) throws SocketException {
        return switch (optID) {
            case TCP_NODELAY, SO_KEEPALIVE, SO_OOBINLINE -> false;
            case SO_REUSEADDR -> server;
            case SO_LINGER -> -1;
            case IP_TOS -> 0;
            case SO_RCVBUF, SO_SNDBUF -> {
                // Ask a scratch socket, so the figure is the system's.
                try (SockrtSocket scratch = new SockrtSocket(Sockrt.INET)) {
                    yield (int) scratch.optionValue(optID == SO_RCVBUF ? Sockrt.OPT_RECV_BUFFER
                            : Sockrt.OPT_SEND_BUFFER);
                } catch (IOException e) {
                    throw renamed(new SocketException(e.getMessage()), e);
                }
            }
            default -> throw new SocketException("Option " + optID + " not supported");
        };
    }

    // ---- options: the StandardSocketOptions API ----

    private static final Set<SocketOption<?>> CLIENT_OPTIONS = Set.of(StandardSocketOptions.SO_KEEPALIVE,
            StandardSocketOptions.SO_SNDBUF, StandardSocketOptions.SO_RCVBUF, StandardSocketOptions.SO_REUSEADDR,
            StandardSocketOptions.SO_LINGER, StandardSocketOptions.TCP_NODELAY, StandardSocketOptions.IP_TOS);
    private static final Set<SocketOption<?>> SERVER_OPTIONS = Set.of(StandardSocketOptions.SO_RCVBUF,
            StandardSocketOptions.SO_REUSEADDR);

    @Override
    protected Set<SocketOption<?>> supportedOptions() {
        return server ? SERVER_OPTIONS : CLIENT_OPTIONS;
    }

    private static int idOf(SocketOption<?> name) {
        if (name == StandardSocketOptions.SO_KEEPALIVE) {
            return SO_KEEPALIVE;
        } else if (name == StandardSocketOptions.SO_SNDBUF) {
            return SO_SNDBUF;
        } else if (name == StandardSocketOptions.SO_RCVBUF) {
            return SO_RCVBUF;
        } else if (name == StandardSocketOptions.SO_REUSEADDR) {
            return SO_REUSEADDR;
        } else if (name == StandardSocketOptions.SO_LINGER) {
            return SO_LINGER;
        } else if (name == StandardSocketOptions.TCP_NODELAY) {
            return TCP_NODELAY;
        } else if (name == StandardSocketOptions.IP_TOS) {
            return IP_TOS;
        }
        return -1;
    }

    @Override
    protected <T> void setOption(SocketOption<T> name, T value) throws IOException {
        if (!supportedOptions().contains(name)) {
            throw new UnsupportedOperationException("'" + name + "' not supported");
        }
        if (!name.type().isInstance(value)) {
            throw new IllegalArgumentException("Bad value for " + name);
        }
        int id = idOf(name);
        Object v = value;
        if (id == SO_LINGER) {
            int seconds = (Integer) value;
            v = seconds < 0 ? (Object) Boolean.FALSE : (Object) seconds;
        } else if ((id == SO_RCVBUF || id == SO_SNDBUF) && (Integer) value <= 0) {
            throw new IllegalArgumentException("Bad value for " + name);
        }
        setOption(id, v);
    }

    @Override
    @SuppressWarnings("unchecked")
    protected <T> T getOption(SocketOption<T> name) throws IOException {
        if (!supportedOptions().contains(name)) {
            throw new UnsupportedOperationException("'" + name + "' not supported");
        }
        return (T) getOption(idOf(name));
    }

    @Override
    public String toString() {
        return "SockrtSocketImpl[" + (server ? "server, " : "") + (closed ? "closed" : sock == null ? "unbound"
                : String.valueOf(sock)) + "]";
    }
}
