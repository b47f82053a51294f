package io.sockrt;

import java.io.IOException;
import java.lang.ref.Reference;
import java.net.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A UDP socket, shaped like {@link java.net.DatagramSocket}: it is bound when
 * made, sends datagrams to any address and receives them with the sender's
 * address. {@link #close()} from another thread wakes a blocked receive.
 */
public class SockrtDatagramSocket extends SockrtResource {
    private volatile boolean bound;
    // The connected peer (connect/disconnect), or null.
    private volatile InetSocketAddress peer;

    /** Bound to a free port on every IPv4 interface. */
    public SockrtDatagramSocket() throws IOException {
        this("0.0.0.0", 0);
    }

    /** Bound to {@code port} on every IPv4 interface (0: a free port). */
    public SockrtDatagramSocket(int port) throws IOException {
        this("0.0.0.0", port);
    }

    /** Bound to {@code laddr:port} ({@code null}: every IPv4 interface), as {@code new java.net.DatagramSocket(port, laddr)}. */
    public SockrtDatagramSocket(int port, InetAddress laddr) throws IOException {
        this(laddr == null ? "0.0.0.0" : laddr.getHostAddress(), port);
    }

    /** Bound to {@code host:port} (port 0: a free port). */
    public SockrtDatagramSocket(String host, int port) throws IOException {
        super(newBound(host, port));
        bound = true;
    }

    /**
     * Bound to {@code local}, or unbound if it is {@code null} (set options
     * such as {@link #setReuseAddress}, then {@link #bind}), as
     * {@code new java.net.DatagramSocket(SocketAddress)}. IPv4 when unbound.
     */
    public SockrtDatagramSocket(SocketAddress local) throws IOException {
        super(newUnbound());
        if (local != null) {
            try {
                bind(local);
            } catch (IOException | RuntimeException e) {
                close();
                throw e;
            }
        }
    }

    private static long newUnbound() throws IOException {
        NativeLibrary.load();
        return SockrtNative.socket(Sockrt.INET, Sockrt.DGRAM);
    }

    /**
     * Binds an unbound socket ({@code null}: a free port on every interface).
     * Already bound: {@link SocketException}; address in use: {@link java.net.BindException}.
     */
    public void bind(SocketAddress local) throws IOException {
        if (bound) {
            throw new SocketException("already bound");
        }
        String host = local == null ? "0.0.0.0" : Args.hostOf(local);
        int port = local == null ? 0 : Args.portOf(local);
        try {
            SockrtNative.bind(liveHandle(), host, port);
        } finally {
            Reference.reachabilityFence(this);
        }
        bound = true;
    }

    /** Whether the socket is bound; stays true after close, as java.net. */
    public boolean isBound() {
        return bound;
    }

    /**
     * Connects to one peer, as {@link java.net.DatagramSocket#connect}: sends
     * without an address go there, and only its datagrams are received.
     */
    public void connect(InetAddress address, int port) throws IOException {
        connect(new InetSocketAddress(Objects.requireNonNull(address, "address"), port));
    }

    public void connect(SocketAddress address) throws IOException {
        if (address instanceof InetSocketAddress isa && isa.isUnresolved()) {
            throw new SocketException("Unresolved address");
        }
        String host = Args.hostOf(address);
        int port = Args.portOf(address);
        if (port == 0) {
            throw new IllegalArgumentException("connect: port 0");
        }
        try {
            SockrtNative.connect(liveHandle(), host, port, -1);
        } finally {
            Reference.reachabilityFence(this);
        }
        bound = true;
        peer = (InetSocketAddress) address; // resolved: the caller's address object, as java.net keeps it
    }

    /** Forgets the connected peer; does nothing if not connected. */
    public void disconnect() {
        if (peer == null || isClosed()) {
            peer = null;
            return;
        }
        try {
            SockrtNative.disconnect(handle);
        } catch (IOException e) {
            // java.net's disconnect throws nothing: a closed socket has no peer anyway
        } finally {
            Reference.reachabilityFence(this);
        }
        peer = null;
    }

    /** Whether {@link #connect} gave it a peer (kept after close, as java.net). */
    public boolean isConnected() {
        return peer != null;
    }

    /** The connected peer's address, or null. */
    public InetAddress getInetAddress() {
        InetSocketAddress p = peer;
        return p == null ? null : p.getAddress();
    }

    /** The connected peer's port, or -1. */
    public int getPort() {
        InetSocketAddress p = peer;
        return p == null ? -1 : p.getPort();
    }

    public InetSocketAddress getRemoteSocketAddress() {
        return peer;
    }

    /** The local address and port; null if unbound. */
    public InetSocketAddress getLocalSocketAddress() {
        InetAddress address = getLocalAddress();
        return address == null ? null : new InetSocketAddress(address, getLocalPort());
    }

    /** IP_TOS (IPV6_TCLASS on IPv6), 0..255, as {@link java.net.DatagramSocket#setTrafficClass}. */
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

    public int getReceiveBufferSize() throws SocketException {
        return (int) optionValue(Sockrt.OPT_RECV_BUFFER);
    }

    public int getSendBufferSize() throws SocketException {
        return (int) optionValue(Sockrt.OPT_SEND_BUFFER);
    }

    /** The {@link java.net.StandardSocketOptions} a datagram socket takes here. */
    public java.util.Set<java.net.SocketOption<?>> supportedOptions() {
        return StandardOptions.DATAGRAM;
    }

    public <T> SockrtDatagramSocket setOption(java.net.SocketOption<T> name, T value) throws IOException {
        StandardOptions.set(this, StandardOptions.DATAGRAM, name, value);
        return this;
    }

    public <T> T getOption(java.net.SocketOption<T> name) throws IOException {
        return StandardOptions.get(this, StandardOptions.DATAGRAM, name);
    }



    private static long newBound(String host, int port) throws IOException {
        Args.host(host);
        Args.port(port);
        NativeLibrary.load();
        return SockrtNative.udpBind(host, port);
    }

    /** Sends {@code b[off..off+len)} as one datagram to {@code host:port}; returns {@code len}. */
    public int send(byte[] b, int off, int len, String host, int port) throws IOException {
        Args.range(b, off, len);
        Args.host(host);
        Args.port(port);
        try {
            int n = SockrtNative.sendTo(liveHandle(), b, off, len, host, port);
            bound = true; // a send binds an unbound socket
            return n;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Sends the buffer's remaining bytes as one datagram and advances its position. */
    public int send(ByteBuffer src, String host, int port) throws IOException {
        Objects.requireNonNull(src, "buffer");
        Args.host(host);
        Args.port(port);
        int pos = src.position();
        int len = src.limit() - pos;
        int n;
        try {
            long h = liveHandle();
            if (src.isDirect()) {
                n = SockrtNative.sendToDirect(h, src, pos, len, host, port);
            } else if (src.hasArray()) {
                n = SockrtNative.sendTo(h, src.array(), src.arrayOffset() + pos, len, host, port);
            } else {
                byte[] copy = new byte[len];
                src.duplicate().get(copy);
                n = SockrtNative.sendTo(h, copy, 0, len, host, port);
            }
        } finally {
            Reference.reachabilityFence(this);
        }
        bound = true;
        src.position(pos + n);
        return n;
    }

    /**
     * Sends a packet to its address and port, as java.net: on a connected
     * socket a packet without an address goes to the peer, and one with
     * another address is an {@link IllegalArgumentException}.
     */
    public void send(DatagramPacket packet) throws IOException {
        Objects.requireNonNull(packet, "packet");
        InetAddress address = packet.getAddress();
        int port = packet.getPort();
        InetSocketAddress connected = peer;
        if (connected != null) {
            if (address == null) {
                address = connected.getAddress();
                port = connected.getPort();
            } else if (!address.equals(connected.getAddress()) || port != connected.getPort()) {
                throw new IllegalArgumentException("connected address and packet address differ");
            }
        } else if (address == null) {
            throw new IllegalArgumentException("Address not set");
        }
        send(packet.getData(), packet.getOffset(), packet.getLength(), address.getHostAddress(), port);
        bound = true;
    }

    /**
     * Waits for one datagram, up to the {@link #setSoTimeout} timeout, and
     * puts it into {@code b[off..off+len)} (truncated if longer).
     */
    public Datagram receive(byte[] b, int off, int len) throws IOException {
        Args.range(b, off, len);
        byte[] host = new byte[Sockrt.ADDR_MAX];
        long packed;
        try {
            packed = SockrtNative.recvFrom(liveHandle(), b, off, len, host);
        } finally {
            Reference.reachabilityFence(this);
        }
        return datagram(packed, host);
    }

    /** Receives one datagram at the buffer's position and advances it. */
    public Datagram receive(ByteBuffer dst) throws IOException {
        Objects.requireNonNull(dst, "buffer");
        if (dst.isReadOnly()) {
            throw new ReadOnlyBufferException();
        }
        int pos = dst.position();
        int len = dst.limit() - pos;
        byte[] host = new byte[Sockrt.ADDR_MAX];
        long packed;
        try {
            long h = liveHandle();
            packed = dst.isDirect()
                    ? SockrtNative.recvFromDirect(h, dst, pos, len, host)
                    : SockrtNative.recvFrom(h, dst.array(), dst.arrayOffset() + pos, len, host);
        } finally {
            Reference.reachabilityFence(this);
        }
        Datagram datagram = datagram(packed, host);
        dst.position(pos + datagram.length());
        return datagram;
    }

    /**
     * Receives into a packet as {@link java.net.DatagramSocket#receive} does:
     * into {@code data[offset, offset + length)} only, a longer datagram
     * truncated to it, then sets the packet's length to what was stored and
     * its address and port to the sender's.
     *
     * <p>java.net keeps a packet's buffer length apart from its length, so a
     * packet reused in a loop keeps receiving up to its original length after
     * a short datagram. That field is not public; this socket remembers the
     * buffer length of the last packet it filled (if the same packet comes
     * back with the same array, offset and received length, the remembered
     * one is used; a {@code setLength} or {@code setData} in between is
     * honoured).
     */
    public void receive(DatagramPacket packet) throws IOException {
        Objects.requireNonNull(packet, "packet");
        synchronized (packet) {
            byte[] data = packet.getData();
            int off = packet.getOffset();
            int capacity = packet.getLength();
            synchronized (this) {
                if (packet == lastPacket && data == lastData && off == lastOffset && capacity == lastLength) {
                    capacity = lastCapacity;
                }
            }
            Datagram d = receive(data, off, capacity);
            packet.setData(data, off, d.length());
            packet.setSocketAddress(d.sender());
            synchronized (this) {
                lastPacket = packet;
                lastData = data;
                lastOffset = off;
                lastLength = d.length();
                lastCapacity = capacity;
            }
        }
    }

    // The buffer length of the last packet receive(DatagramPacket) filled.
    private DatagramPacket lastPacket;
    private byte[] lastData;
    private int lastOffset;
    private int lastLength;
    private int lastCapacity;

    private static Datagram datagram(long packed, byte[] host) {
        int length = (int) (packed & 0xFFFFFFFFL);
        int port = (int) (packed >>> 32);
        int end = 0;
        while (end < host.length && host[end] != 0) {
            end++;
        }
        return new Datagram(length, new String(host, 0, end, StandardCharsets.US_ASCII), port);
    }

    /** How long a receive waits, in ms; 0 (the default) waits forever. */
    public void setSoTimeout(int timeoutMs) throws SocketException {
        setOptionValue(Sockrt.OPT_READ_TIMEOUT_MS, Args.timeout(timeoutMs));
    }

    public int getSoTimeout() throws SocketException {
        return Args.javaTimeout(optionValue(Sockrt.OPT_READ_TIMEOUT_MS));
    }

    public void setBroadcast(boolean on) throws SocketException {
        setOptionValue(Sockrt.OPT_BROADCAST, on ? 1 : 0);
    }

    public boolean getBroadcast() throws SocketException {
        return optionValue(Sockrt.OPT_BROADCAST) != 0;
    }

    public void setReceiveBufferSize(int size) throws SocketException {
        setOptionValue(Sockrt.OPT_RECV_BUFFER, SockrtSocket.positive(size));
    }

    public void setSendBufferSize(int size) throws SocketException {
        setOptionValue(Sockrt.OPT_SEND_BUFFER, SockrtSocket.positive(size));
    }



    /** The local address text, e.g. "127.0.0.1"; null if unbound or closed (as java.net's). */
    public String getLocalHost() {
        return bound && !isClosed() ? addressHost(false) : null;
    }

    /** The local address; null if unbound or closed. */
    public InetAddress getLocalAddress() {
        String host = getLocalHost();
        return host == null ? null : Args.literal(host);
    }

    /** The bound port; 0 if unbound, -1 if closed (as java.net's). */
    public int getLocalPort() {
        if (isClosed()) {
            return -1;
        }
        return bound ? addressPort(false, -1) : 0;
    }
}
