package io.sockrt;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ref.Reference;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.channels.ByteChannel;
import java.util.Objects;

/**
 * A TCP connection, shaped like {@link java.net.Socket}, over a libsockrt
 * stream handle. Calls block (up to {@link #setSoTimeout} for reads); one
 * thread may read while another writes, and {@link #close()} from any thread
 * wakes both with a {@link SocketException}.
 *
 * <p>Data calls come in three flavours: {@code byte[]} with offset and length
 * (copied through a per-thread native buffer), direct {@link ByteBuffer}s (the
 * library reads and writes their memory, no copy) and heap buffers (through
 * their array). {@link #read} and {@link #write} move what they can in one
 * system call; {@link #sendAll} and {@link #recvExact} move everything, and
 * concurrent calls of one of them never interleave their bytes.
 *
 * <p>Timeouts follow java.net: 0 means wait forever.
 */
public class SockrtSocket extends SockrtResource implements ByteChannel {
    // sendAll and recvExact of a byte[] cross into the library in chunks (see
    // the glue), so each direction is serialised here to keep the library's
    // promise that concurrent sendAll (recvExact) calls never interleave.
    private final Object writeLock = new Object();
    private final Object readLock = new Object();
    private volatile boolean inputShut;
    private volatile boolean outputShut;
    private volatile boolean bound;
    // Whether close() records the addresses first (SockrtSocketImpl keeps its own).
    boolean keepAddresses = true;
    private InputStream in;
    private OutputStream out;

    /** An unconnected IPv4 stream socket; connect it with {@link #connect}. */
    public SockrtSocket() throws IOException {
        this(Sockrt.INET);
    }

    /** An unconnected stream socket of a family ({@link Sockrt#INET} or {@link Sockrt#INET6}). */
    public SockrtSocket(int family) throws IOException {
        super(newSocket(family));
    }

    /** Connects to {@code host:port}, waiting as long as the system does. */
    public SockrtSocket(String host, int port) throws IOException {
        this(host, port, 0);
    }

    /** Connects to {@code host:port}, trying each address, within {@code timeoutMs} (0: no limit). */
    public SockrtSocket(String host, int port, int timeoutMs) throws IOException {
        super(newConnection(host, port, timeoutMs));
        bound = true;
    }

    /** Connects to {@code address:port}, as {@code new java.net.Socket(address, port)}. */
    public SockrtSocket(InetAddress address, int port) throws IOException {
        this(Objects.requireNonNull(address, "address").getHostAddress(), port, 0);
    }

    /**
     * Binds the local end to {@code localAddr:localPort} ({@code null}: any
     * address; port 0: a free one), then connects to {@code host:port}, as
     * {@code new java.net.Socket(host, port, localAddr, localPort)}. On
     * failure the socket is closed.
     */
    public SockrtSocket(String host, int port, InetAddress localAddr, int localPort) throws IOException {
        this(familyOf(localAddr));
        try {
            bind(new InetSocketAddress(localAddr, Args.port(localPort)));
            connect(host, port, 0);
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** As {@link #SockrtSocket(String, int, InetAddress, int)} with the peer's address. */
    public SockrtSocket(InetAddress address, int port, InetAddress localAddr, int localPort) throws IOException {
        this(Objects.requireNonNull(address, "address").getHostAddress(), port, localAddr, localPort);
    }

    private static int familyOf(InetAddress a) {
        return a instanceof java.net.Inet6Address ? Sockrt.INET6 : Sockrt.INET;
    }

    /** Takes ownership of an accepted or pooled handle. */
    SockrtSocket(long handle, long poolHandle) {
        super(handle, poolHandle);
        bound = true;
    }

    /** Connects to {@code host:port} within {@code timeoutMs} (0: no limit). */
    public static SockrtSocket open(String host, int port, int timeoutMs) throws IOException {
        return new SockrtSocket(host, port, timeoutMs);
    }

    // ---- Unix domain sockets (see Sockrt.UNIX in the header) ----

    /**
     * A Unix stream socket connected to {@code address} (a filesystem path;
     * a path starting with '@' names Linux's abstract namespace), something
     * java.net itself cannot do. The connect completes at once unless the
     * listener's backlog is full; then it waits up to {@code timeoutMs} (0: no
     * limit). Nothing listening there: {@link java.net.ConnectException}.
     * Reads, writes, timeouts and close work as on TCP; the IP address
     * getters have nothing to report on it.
     */
    public static SockrtSocket open(UnixDomainSocketAddress address, int timeoutMs) throws IOException {
        String path = Args.host(Objects.requireNonNull(address, "address").getPath().toString());
        int timeout = Args.timeout(timeoutMs);
        NativeLibrary.load();
        SockrtSocket socket = new SockrtSocket(SockrtNative.socket(Sockrt.UNIX, Sockrt.STREAM), 0);
        try {
            SockrtNative.connect(socket.liveHandle(), path, 0, timeout);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
        return socket;
    }

    private static long newSocket(int family) throws IOException {
        if (family != Sockrt.INET && family != Sockrt.INET6) {
            throw new IllegalArgumentException("family must be Sockrt.INET or Sockrt.INET6: " + family);
        }
        NativeLibrary.load();
        return SockrtNative.socket(family, Sockrt.STREAM);
    }

    private static long newConnection(String host, int port, int timeoutMs) throws IOException {
        Args.host(host);
        Args.port(port);
        int timeout = Args.timeout(timeoutMs);
        NativeLibrary.load();
        return SockrtNative.tcpConnect(host, port, timeout);
    }

    /** Connects this unconnected socket within {@code timeoutMs} (0: no limit). */
    public void connect(String host, int port, int timeoutMs) throws IOException {
        Args.host(host);
        Args.port(port);
        int timeout = Args.timeout(timeoutMs);
        try {
            SockrtNative.connect(liveHandle(), host, port, timeout);
        } finally {
            Reference.reachabilityFence(this);
        }
        bound = true;
    }

    /**
     * Connects to an {@link InetSocketAddress} within {@code timeoutMs} (0: no
     * limit). A connected socket throws {@link SocketException}.
     */
    public void connect(SocketAddress endpoint, int timeoutMs) throws IOException {
        connect(Args.hostOf(endpoint), Args.portOf(endpoint), timeoutMs);
    }

    /** Connects to an {@link InetSocketAddress}, waiting as long as the system does. */
    public void connect(SocketAddress endpoint) throws IOException {
        connect(endpoint, 0);
    }

    /**
     * Binds the local end before {@link #connect}; {@code null} picks a free
     * port on every interface. Address in use: {@link java.net.BindException}.
     */
    public void bind(SocketAddress local) throws IOException {
        String host = local == null ? "0.0.0.0" : Args.hostOf(local);
        int port = local == null ? 0 : Args.portOf(local);
        try {
            SockrtNative.bind(liveHandle(), host, port);
        } finally {
            Reference.reachabilityFence(this);
        }
        bound = true;
    }

    /** Whether the socket was bound (by bind, connect or accept); stays true after close, as java.net. */
    public boolean isBound() {
        return bound;
    }

    // ---- reading ----

    /** Reads up to {@code b.length} bytes; -1 at end of stream. */
    public int read(byte[] b) throws IOException {
        return read(b, 0, Objects.requireNonNull(b, "buffer").length);
    }

    /**
     * Reads up to {@code len} bytes into {@code b[off..]}, blocking until at
     * least one arrives; returns how many, or -1 at end of stream (0 if {@code len} is 0).
     */
    public int read(byte[] b, int off, int len) throws IOException {
        Args.range(b, off, len);
        if (len == 0) {
            return 0;
        }
        try {
            int n = SockrtNative.recv(liveHandle(), b, off, len);
            return n == 0 ? -1 : n;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Reads up to {@code dst.remaining()} bytes at the buffer's position and
     * advances it; -1 at end of stream (0 if nothing remains).
     */
    public int read(ByteBuffer dst) throws IOException {
        Objects.requireNonNull(dst, "buffer");
        if (dst.isReadOnly()) {
            throw new ReadOnlyBufferException();
        }
        int pos = dst.position();
        int len = dst.limit() - pos;
        if (len == 0) {
            return 0;
        }
        int n;
        try {
            long h = liveHandle();
            n = dst.isDirect()
                    ? SockrtNative.recvDirect(h, dst, pos, len)
                    : SockrtNative.recv(h, dst.array(), dst.arrayOffset() + pos, len);
        } finally {
            Reference.reachabilityFence(this);
        }
        if (n == 0) {
            return -1;
        }
        dst.position(pos + n);
        return n;
    }

    /** Reads exactly {@code b.length} bytes. */
    public void recvExact(byte[] b) throws IOException {
        recvExact(b, 0, Objects.requireNonNull(b, "buffer").length);
    }

    /**
     * Reads exactly {@code len} bytes into {@code b[off..]}; the read timeout
     * bounds the whole call. Throws {@link java.io.EOFException} if the peer
     * closes first (the bytes that did arrive may be in {@code b}, as with
     * {@link java.io.DataInputStream#readFully}).
     */
    public void recvExact(byte[] b, int off, int len) throws IOException {
        Args.range(b, off, len);
        if (len == 0) {
            return;
        }
        try {
            synchronized (readLock) {
                SockrtNative.recvExact(liveHandle(), b, off, len);
            }
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Fills the buffer's remaining bytes exactly and advances its position. */
    public void recvExact(ByteBuffer dst) throws IOException {
        Objects.requireNonNull(dst, "buffer");
        if (dst.isReadOnly()) {
            throw new ReadOnlyBufferException();
        }
        int pos = dst.position();
        int len = dst.limit() - pos;
        if (len == 0) {
            return;
        }
        try {
            long h = liveHandle();
            synchronized (readLock) {
                if (dst.isDirect()) {
                    SockrtNative.recvExactDirect(h, dst, pos, len);
                } else {
                    SockrtNative.recvExact(h, dst.array(), dst.arrayOffset() + pos, len);
                }
            }
        } finally {
            Reference.reachabilityFence(this);
        }
        dst.position(pos + len);
    }

    // ---- writing ----

    /**
     * Sends some of {@code b[off..off+len)} in one call (like send(2)) and
     * returns how many bytes went (at least 1 unless {@code len} is 0).
     */
    public int write(byte[] b, int off, int len) throws IOException {
        Args.range(b, off, len);
        if (len == 0) {
            return 0;
        }
        try {
            return SockrtNative.send(liveHandle(), b, off, len);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Sends some of the buffer's remaining bytes in one call and advances its position. */
    public int write(ByteBuffer src) throws IOException {
        Objects.requireNonNull(src, "buffer");
        int pos = src.position();
        int len = src.limit() - pos;
        if (len == 0) {
            return 0;
        }
        int n;
        try {
            long h = liveHandle();
            if (src.isDirect()) {
                n = SockrtNative.sendDirect(h, src, pos, len);
            } else if (src.hasArray()) {
                n = SockrtNative.send(h, src.array(), src.arrayOffset() + pos, len);
            } else {
                n = SockrtNative.send(h, copyOf(src), 0, len);
            }
        } finally {
            Reference.reachabilityFence(this);
        }
        src.position(pos + n);
        return n;
    }

    /** Sends all of {@code b}. */
    public void sendAll(byte[] b) throws IOException {
        sendAll(b, 0, Objects.requireNonNull(b, "buffer").length);
    }

    /**
     * Sends all of {@code b[off..off+len)}, blocking as needed; the write
     * timeout bounds the whole call. On failure some bytes may have gone.
     */
    public void sendAll(byte[] b, int off, int len) throws IOException {
        Args.range(b, off, len);
        if (len == 0) {
            return;
        }
        try {
            synchronized (writeLock) {
                SockrtNative.sendAll(liveHandle(), b, off, len);
            }
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Sends all of the buffer's remaining bytes and advances its position to the limit. */
    public void sendAll(ByteBuffer src) throws IOException {
        Objects.requireNonNull(src, "buffer");
        int pos = src.position();
        int len = src.limit() - pos;
        if (len == 0) {
            return;
        }
        try {
            long h = liveHandle();
            if (src.isDirect()) {
                synchronized (writeLock) {
                    SockrtNative.sendAllDirect(h, src, pos, len);
                }
            } else {
                byte[] array = src.hasArray() ? src.array() : copyOf(src);
                int start = src.hasArray() ? src.arrayOffset() + pos : 0;
                synchronized (writeLock) {
                    SockrtNative.sendAll(h, array, start, len);
                }
            }
        } finally {
            Reference.reachabilityFence(this);
        }
        src.position(pos + len);
    }

    // ---- request and reply in one call ----

    /**
     * Sends all of {@code req}, then fills all of {@code resp}; see
     * {@link #exchange(byte[], int, int, byte[], int, int)}.
     */
    public void exchange(byte[] req, byte[] resp) throws IOException {
        exchange(req, 0, Objects.requireNonNull(req, "request").length,
                resp, 0, Objects.requireNonNull(resp, "response").length);
    }

    /**
     * One request/response round trip in a single native call: sends all of
     * {@code req[off..off+len)}, then reads exactly {@code rlen} bytes into
     * {@code resp[roff..]}. Costs one crossing into the library instead of
     * the two of {@link #sendAll} plus {@link #recvExact}; made for
     * fixed-size replies. The write timeout bounds the send and the read
     * timeout the receive. Throws {@link java.io.EOFException} if the peer
     * closes before the reply is complete ({@code resp} is then left as it
     * was). {@code req} and {@code resp} may be the same array.
     */
    public void exchange(byte[] req, int off, int len, byte[] resp, int roff, int rlen) throws IOException {
        Args.range(req, off, len);
        Args.range(resp, roff, rlen);
        try {
            SockrtNative.exchange(liveHandle(), req, off, len, resp, roff, rlen);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Sends all of {@code req}'s remaining bytes, then fills {@code resp}'s
     * remaining bytes exactly, and advances both positions to their limits
     * (on success only). Two direct buffers are used in place and two heap
     * buffers through their arrays, each in one native call; a direct and a
     * heap buffer together take a {@link #sendAll} then a {@link #recvExact}
     * (two calls, so the request's position moves once it is sent).
     * Errors as {@link #exchange(byte[], int, int, byte[], int, int)};
     * {@code resp} must be writable ({@link ReadOnlyBufferException}).
     */
    public void exchange(ByteBuffer req, ByteBuffer resp) throws IOException {
        Objects.requireNonNull(req, "request");
        Objects.requireNonNull(resp, "response");
        if (resp.isReadOnly()) {
            throw new ReadOnlyBufferException();
        }
        int pos = req.position();
        int len = req.limit() - pos;
        int rpos = resp.position();
        int rlen = resp.limit() - rpos;
        if (req.isDirect() != resp.isDirect()) {
            sendAll(req);
            recvExact(resp);
            return;
        }
        try {
            long h = liveHandle();
            if (req.isDirect()) {
                SockrtNative.exchangeDirect(h, req, pos, len, resp, rpos, rlen);
            } else {
                byte[] src = req.hasArray() ? req.array() : copyOf(req);
                int srcOff = req.hasArray() ? req.arrayOffset() + pos : 0;
                SockrtNative.exchange(h, src, srcOff, len, resp.array(), resp.arrayOffset() + rpos, rlen);
            }
        } finally {
            Reference.reachabilityFence(this);
        }
        req.position(pos + len);
        resp.position(rpos + rlen);
    }

    /** The remaining bytes of a read-only heap buffer, which exposes no array. */
    private static byte[] copyOf(ByteBuffer src) {
        byte[] copy = new byte[src.remaining()];
        src.duplicate().get(copy);
        return copy;
    }

    // ---- streams ----

    /** An InputStream over {@link #read}; closing it closes the socket. */
    public synchronized InputStream getInputStream() throws IOException {
        liveHandle();
        if (in == null) {
            in = new SocketInput(this);
        }
        return in;
    }

    /** An OutputStream over {@link #sendAll}; closing it closes the socket. */
    public synchronized OutputStream getOutputStream() throws IOException {
        liveHandle();
        if (out == null) {
            out = new SocketOutput(this);
        }
        return out;
    }

    private static final class SocketInput extends InputStream {
        private final SockrtSocket socket;

        SocketInput(SockrtSocket socket) {
            this.socket = socket;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = socket.read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return socket.read(b, off, len);
        }

        @Override
        public int available() throws IOException {
            return socket.available();
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    private static final class SocketOutput extends OutputStream {
        private final SockrtSocket socket;

        SocketOutput(SockrtSocket socket) {
            this.socket = socket;
        }

        @Override
        public void write(int b) throws IOException {
            socket.sendAll(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            socket.sendAll(b, off, len);
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    // ---- options ----

    /** How long a read waits, in ms; 0 (the default) waits forever. */
    public void setSoTimeout(int timeoutMs) throws SocketException {
        setOptionValue(Sockrt.OPT_READ_TIMEOUT_MS, Args.timeout(timeoutMs));
    }

    /** The read timeout in ms, 0 for none. */
    public int getSoTimeout() throws SocketException {
        return Args.javaTimeout(optionValue(Sockrt.OPT_READ_TIMEOUT_MS));
    }

    /** How long a write (a whole sendAll) waits for buffer space, in ms; 0 waits forever. */
    public void setWriteTimeout(int timeoutMs) throws SocketException {
        setOptionValue(Sockrt.OPT_WRITE_TIMEOUT_MS, Args.timeout(timeoutMs));
    }

    /** The write timeout in ms, 0 for none. */
    public int getWriteTimeout() throws SocketException {
        return Args.javaTimeout(optionValue(Sockrt.OPT_WRITE_TIMEOUT_MS));
    }

    public void setTcpNoDelay(boolean on) throws SocketException {
        setOptionValue(Sockrt.OPT_NODELAY, on ? 1 : 0);
    }

    public boolean getTcpNoDelay() throws SocketException {
        return optionValue(Sockrt.OPT_NODELAY) != 0;
    }

    public void setKeepAlive(boolean on) throws SocketException {
        setOptionValue(Sockrt.OPT_KEEPALIVE, on ? 1 : 0);
    }

    public boolean getKeepAlive() throws SocketException {
        return optionValue(Sockrt.OPT_KEEPALIVE) != 0;
    }

    public void setReceiveBufferSize(int size) throws SocketException {
        setOptionValue(Sockrt.OPT_RECV_BUFFER, positive(size));
    }

    public int getReceiveBufferSize() throws SocketException {
        return (int) optionValue(Sockrt.OPT_RECV_BUFFER);
    }

    public void setSendBufferSize(int size) throws SocketException {
        setOptionValue(Sockrt.OPT_SEND_BUFFER, positive(size));
    }

    public int getSendBufferSize() throws SocketException {
        return (int) optionValue(Sockrt.OPT_SEND_BUFFER);
    }

    /**
     * Latency mode: before a read blocks, retry it without blocking for up to
     * {@code micros} microseconds (0: off). Trades CPU for wake-up latency.
     */
    public void setBusyPollMicros(int micros) throws SocketException {
        if (micros < 0) {
            throw new IllegalArgumentException("busy-poll time can't be negative: " + micros);
        }
        setOptionValue(Sockrt.OPT_BUSY_POLL_US, micros);
    }

    static int positive(int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("size must be positive: " + size);
        }
        return size;
    }

    /**
     * SO_LINGER: with {@code on}, close waits up to {@code seconds} for unsent
     * data, and 0 makes close reset the connection (RST); off (the default)
     * closes in the background.
     */
    public void setSoLinger(boolean on, int seconds) throws SocketException {
        if (on && seconds < 0) {
            throw new IllegalArgumentException("invalid value for SO_LINGER");
        }
        setOptionValue(Sockrt.OPT_LINGER, on ? Math.min(seconds, 65_535) : -1);
    }

    /** The SO_LINGER time in seconds, -1 if off. */
    public int getSoLinger() throws SocketException {
        return (int) optionValue(Sockrt.OPT_LINGER);
    }

    /** IP_TOS (IPV6_TCLASS on IPv6), 0..255, as {@link java.net.Socket#setTrafficClass}. */
    public void setTrafficClass(int tc) throws SocketException {
        setTrafficClassValue(tc);
    }

    public int getTrafficClass() throws SocketException {
        return trafficClassValue();
    }

    /** SO_REUSEADDR; set it before {@link #bind}. */
    public void setReuseAddress(boolean on) throws SocketException {
        setOptionValue(Sockrt.OPT_REUSEADDR, on ? 1 : 0);
    }

    public boolean getReuseAddress() throws SocketException {
        return optionValue(Sockrt.OPT_REUSEADDR) != 0;
    }

    /** The {@link java.net.StandardSocketOptions} this socket takes. */
    public java.util.Set<java.net.SocketOption<?>> supportedOptions() {
        return StandardOptions.STREAM;
    }

    /** Sets one of {@link #supportedOptions()}, as {@link java.net.Socket#setOption}. */
    public <T> SockrtSocket setOption(java.net.SocketOption<T> name, T value) throws IOException {
        StandardOptions.set(this, StandardOptions.STREAM, name, value);
        return this;
    }

    /** Reads one of {@link #supportedOptions()}, as {@link java.net.Socket#getOption}. */
    public <T> T getOption(java.net.SocketOption<T> name) throws IOException {
        return StandardOptions.get(this, StandardOptions.STREAM, name);
    }

    /** Sets a raw {@code Sockrt.OPT_*} option with the library's semantics. */
    public void setOption(int option, long value) throws SocketException {
        setOptionValue(option, value);
    }

    /** Reads a raw {@code Sockrt.OPT_*} option with the library's semantics. */
    public long getOption(int option) throws SocketException {
        return optionValue(option);
    }


    // ---- shutdown and addresses ----

    /** No more reads: they return end of stream. */
    public void shutdownInput() throws IOException {
        SockrtNative.shutdown(liveHandle(), Sockrt.SHUT_READ);
        inputShut = true;
        Reference.reachabilityFence(this);
    }

    /** No more writes: the peer sees end of stream. */
    public void shutdownOutput() throws IOException {
        SockrtNative.shutdown(liveHandle(), Sockrt.SHUT_WRITE);
        outputShut = true;
        Reference.reachabilityFence(this);
    }

    /**
     * Closes the socket (see {@link SockrtResource#close()}); the address
     * getters keep their last values afterwards, as java.net's do.
     */
    @Override
    public void close() {
        if (keepAddresses && bound && !isClosed()) {
            rememberAddresses();
        }
        super.close();
    }

    /** Whether the socket is still open ({@link java.nio.channels.Channel}'s view of {@link #isClosed()}). */
    @Override
    public boolean isOpen() {
        return !isClosed();
    }

    public boolean isInputShutdown() {
        return inputShut;
    }

    public boolean isOutputShutdown() {
        return outputShut;
    }

    /** Whether the socket has (or, after close, had) a peer. */
    public boolean isConnected() {
        return getPort() > 0;
    }

    /** The local address as the library prints it, e.g. "127.0.0.1"; after close the last one. */
    public String getLocalHost() {
        return addressHost(false);
    }

    /** The peer's address text; null if not connected; after close the last one. */
    public String getPeerHost() {
        return addressHost(true);
    }

    /** The local address; null if unbound; after close the last one. */
    public InetAddress getLocalAddress() {
        String host = addressHost(false);
        return host == null ? null : Args.literal(host);
    }

    /** The local port; -1 if unbound. After close: the last one. */
    public int getLocalPort() {
        return bound ? addressPort(false, -1) : -1;
    }

    /** Bytes that can be read now without blocking (the socket's FIONREAD count). */
    public int available() throws IOException {
        if (inputShut) {
            return 0;
        }
        return (int) Math.min(Integer.MAX_VALUE, optionValue(Sockrt.OPT_NREAD));
    }

    /** The peer's address; null if not connected; after close the last one. */
    public InetAddress getInetAddress() {
        String host = addressHost(true);
        return host == null ? null : Args.literal(host);
    }

    /** The peer's port; 0 if not connected; after close the last one. */
    public int getPort() {
        return addressPort(true, 0);
    }

    public InetSocketAddress getLocalSocketAddress() {
        if (!bound) {
            return null;
        }
        InetAddress address = getLocalAddress();
        return address == null ? null : new InetSocketAddress(address, getLocalPort());
    }

    public InetSocketAddress getRemoteSocketAddress() {
        InetAddress address = getInetAddress();
        return address == null ? null : new InetSocketAddress(address, getPort());
    }



    @Override
    public String toString() {
        if (isClosed()) {
            return "SockrtSocket[closed]";
        }
        return "SockrtSocket[local=" + getLocalHost() + ":" + getLocalPort()
                + ", peer=" + getPeerHost() + ":" + getPort() + "]";
    }
}
