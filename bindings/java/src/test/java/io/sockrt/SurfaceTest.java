package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The java.net-shaped members of SockrtSocket, SockrtServerSocket and
 * SockrtDatagramSocket, each run next to the java.net class it copies; the
 * recorded outcomes must be equal.
 */
@Timeout(60)
@SuppressWarnings("try") // some checks close inside try-with-resources on purpose
class SurfaceTest {
    static final InetAddress LO = InetAddress.getLoopbackAddress();

    /** An outcome: a value, or the exception type a call threw. */
    interface Call {
        Object run() throws Exception;
    }

    static String outcome(Call c) {
        try {
            return String.valueOf(c.run());
        } catch (Exception e) {
            return "throws " + e.getClass().getSimpleName();
        }
    }

    @Test
    void streamSocketLifecycleAsJavaNet() throws Exception {
        List<String> net = new ArrayList<>();
        List<String> ours = new ArrayList<>();
        try (ServerSocket server = new ServerSocket(0, 50, LO)) {
            int port = server.getLocalPort();
            // java.net
            Socket s = new Socket();
            net.add("bound " + s.isBound() + " port " + s.getLocalPort() + " connected " + s.isConnected()
                    + " local " + s.getLocalSocketAddress());
            s.setReuseAddress(true);
            net.add("reuse " + s.getReuseAddress());
            s.bind(new InetSocketAddress(LO, 0));
            net.add("bound " + s.isBound() + " rebind " + outcome(() -> {
                s.bind(new InetSocketAddress(LO, 0));
                return "ok";
            }));
            s.connect(new InetSocketAddress(LO, port));
            int netLocal = s.getLocalPort();
            net.add("connected " + s.isConnected() + " peer " + s.getPort() + " again " + outcome(() -> {
                s.connect(new InetSocketAddress(LO, port));
                return "ok";
            }));
            net.add("linger " + s.getSoLinger());
            s.setSoLinger(true, 3);
            net.add("linger " + s.getSoLinger() + " option " + s.getOption(StandardSocketOptions.SO_LINGER));
            server.accept().close();
            s.close();
            net.add("after close: local " + (s.getLocalPort() == netLocal) + " peer " + s.getPort()  + " addr "
                    + s.getInetAddress().getHostAddress() + " bound " + s.isBound() + " connected " + s.isConnected());

            // io.sockrt
            SockrtSocket r = new SockrtSocket();
            ours.add("bound " + r.isBound() + " port " + r.getLocalPort() + " connected " + r.isConnected()
                    + " local " + r.getLocalSocketAddress());
            r.setReuseAddress(true);
            ours.add("reuse " + r.getReuseAddress());
            r.bind(new InetSocketAddress(LO, 0));
            ours.add("bound " + r.isBound() + " rebind " + outcome(() -> {
                r.bind(new InetSocketAddress(LO, 0));
                return "ok";
            }));
            r.connect(new InetSocketAddress(LO, port));
            int ourLocal = r.getLocalPort();
            ours.add("connected " + r.isConnected() + " peer " + r.getPort() + " again " + outcome(() -> {
                r.connect(new InetSocketAddress(LO, port));
                return "ok";
            }));
            ours.add("linger " + r.getSoLinger());
            r.setSoLinger(true, 3);
            ours.add("linger " + r.getSoLinger() + " option " + r.getOption(StandardSocketOptions.SO_LINGER));
            server.accept().close();
            r.close();
            ours.add("after close: local " + (r.getLocalPort() == ourLocal) + " peer " + r.getPort() + " addr "
                    + r.getInetAddress().getHostAddress() + " bound " + r.isBound() + " connected " + r.isConnected());
        }
        assertEquals(net, ours);
    }

    @Test
    void socketByInetAddressOptionsAndChannel() throws Exception {
        try (SockrtServerSocket server = new SockrtServerSocket(0, 50, LO);
             SockrtSocket s = new SockrtSocket(LO, server.getLocalPort());
             SockrtSocket peer = server.accept()) {
            assertEquals(LO, s.getInetAddress());
            assertEquals(server.getLocalPort(), s.getPort());
            assertTrue(s.supportedOptions().contains(StandardSocketOptions.TCP_NODELAY));
            s.setOption(StandardSocketOptions.TCP_NODELAY, true);
            assertTrue(s.getOption(StandardSocketOptions.TCP_NODELAY));
            assertTrue(s.getTcpNoDelay());
            assertThrows(UnsupportedOperationException.class,
                    () -> s.setOption(StandardSocketOptions.IP_MULTICAST_TTL, 1));
            s.setTrafficClass(0x28);
            assertEquals(0x28, s.getTrafficClass());
            try (SockrtDatagramSocket d = new SockrtDatagramSocket("127.0.0.1", 0)) {
                d.setTrafficClass(0x08);
                assertEquals(0x08, d.getTrafficClass());
            }
            ByteChannel ch = s;
            assertTrue(ch.isOpen());
            ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
            // available() is the real count of readable bytes
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (peer.available() < 3 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertEquals(3, peer.available());
            assertEquals(3, peer.getInputStream().available());
            ByteBuffer got = ByteBuffer.allocate(8);
            assertEquals(3, ((ByteChannel) peer).read(got));
            assertEquals(0, peer.available());
            s.close();
            assertFalse(ch.isOpen());
        }
    }

    @Test
    void serverSocketAsJavaNet() throws Exception {
        List<String> net = new ArrayList<>();
        List<String> ours = new ArrayList<>();
        try (ServerSocket s = new ServerSocket()) {
            net.add("bound " + s.isBound() + " port " + s.getLocalPort() + " local " + s.getLocalSocketAddress());
            s.setReceiveBufferSize(100_000);
            net.add("rcvbuf>=100000 " + (s.getReceiveBufferSize() >= 100_000));
            s.bind(new InetSocketAddress(LO, 0));
            int port = s.getLocalPort();
            net.add("bound " + s.isBound() + " addr " + s.getInetAddress().getHostAddress() + " again " + outcome(() -> {
                s.bind(new InetSocketAddress(LO, 0));
                return "ok";
            }));
            net.add("in use " + outcome(() -> new ServerSocket(port, 50, LO)));
            s.close();
            net.add("after close " + (s.getLocalPort() == port) + " bound " + s.isBound());
        }
        try (SockrtServerSocket s = new SockrtServerSocket()) {
            ours.add("bound " + s.isBound() + " port " + s.getLocalPort() + " local " + s.getLocalSocketAddress());
            s.setReceiveBufferSize(100_000);
            ours.add("rcvbuf>=100000 " + (s.getReceiveBufferSize() >= 100_000));
            s.bind(new InetSocketAddress(LO, 0));
            int port = s.getLocalPort();
            ours.add("bound " + s.isBound() + " addr " + s.getInetAddress().getHostAddress() + " again " + outcome(() -> {
                s.bind(new InetSocketAddress(LO, 0));
                return "ok";
            }));
            String inUse = outcome(() -> new SockrtServerSocket(port, 50, LO));
            ours.add("in use " + inUse);
            s.close();
            ours.add("after close " + (s.getLocalPort() == port) + " bound " + s.isBound());
        }
        assertEquals(net, ours);
        assertTrue(ours.get(3).contains("BindException"), ours.toString());
        // bind without a backlog, and to null (a free port everywhere)
        try (SockrtServerSocket s = new SockrtServerSocket()) {
            s.bind(null);
            assertTrue(s.getLocalPort() > 0);
            assertTrue(s.supportedOptions().contains(StandardSocketOptions.SO_REUSEADDR));
            s.setOption(StandardSocketOptions.SO_RCVBUF, 65_536);
            assertTrue(s.getOption(StandardSocketOptions.SO_RCVBUF) >= 65_536);
        }
    }

    @Test
    void connectedDatagramSocketAsJavaNet() throws Exception {
        List<String> net = new ArrayList<>();
        List<String> ours = new ArrayList<>();
        try (DatagramSocket peer = new DatagramSocket(0, LO);
             DatagramSocket stranger = new DatagramSocket(0, LO)) {
            peer.setSoTimeout(5_000);
            int peerPort = peer.getLocalPort();
            for (int round = 0; round < 2; round++) {
                List<String> log = round == 0 ? net : ours;
                // unbound, then bound, then connected
                DatagramSocketLike s = round == 0 ? new NetDatagram() : new OurDatagram();
                log.add("bound " + s.isBound() + " port " + s.getLocalPort() + " connected " + s.isConnected()
                        + " peer " + s.getPort() + " " + s.getInetAddress());
                s.setReuseAddress(true);
                log.add("reuse " + s.getReuseAddress());
                s.bind(new InetSocketAddress(LO, 0));
                log.add("bound " + s.isBound() + " again " + outcome(() -> {
                    s.bind(new InetSocketAddress(LO, 0));
                    return "ok";
                }));
                s.connect(LO, peerPort);
                log.add("connected " + s.isConnected() + " peer " + s.getPort() + " " + s.getInetAddress()
                        + " remote " + s.getRemoteSocketAddress());
                s.send(new DatagramPacket(new byte[] {7}, 1)); // no address: to the peer
                DatagramPacket in = new DatagramPacket(new byte[4], 4);
                peer.receive(in);
                log.add("peer got " + in.getLength() + " from local port " + (in.getPort() == s.getLocalPort()));
                log.add("other address " + outcome(() -> {
                    s.send(new DatagramPacket(new byte[1], 1, LO, stranger.getLocalPort()));
                    return "ok";
                }));
                // only the connected peer's datagrams arrive
                stranger.send(new DatagramPacket(new byte[] {1}, 1, LO, s.getLocalPort()));
                peer.send(new DatagramPacket(new byte[] {2, 2}, 2, LO, s.getLocalPort()));
                DatagramPacket back = new DatagramPacket(new byte[4], 4);
                s.receive(back);
                log.add("got " + back.getLength() + " from " + (back.getPort() == peerPort));
                s.disconnect();
                log.add("disconnected " + s.isConnected() + " port " + s.getPort() + " " + s.getInetAddress());
                log.add("buffers " + (s.getReceiveBufferSize() > 0) + " " + (s.getSendBufferSize() > 0));
                int local = s.getLocalPort();
                s.close();
                log.add("after close " + (s.getLocalPort() == local) + " bound " + s.isBound());
            }
        }
        assertEquals(net, ours);
    }

    /** The members the datagram test uses, over either class. */
    interface DatagramSocketLike {
        boolean isBound();

        int getLocalPort();

        boolean isConnected();

        int getPort();

        InetAddress getInetAddress();

        java.net.SocketAddress getRemoteSocketAddress();

        void setReuseAddress(boolean on) throws IOException;

        boolean getReuseAddress() throws IOException;

        void bind(java.net.SocketAddress a) throws IOException;

        void connect(InetAddress a, int port) throws IOException;

        void send(DatagramPacket p) throws IOException;

        void receive(DatagramPacket p) throws IOException;

        void disconnect();

        int getReceiveBufferSize() throws IOException;

        int getSendBufferSize() throws IOException;

        void close();
    }

    static final class NetDatagram implements DatagramSocketLike {
        final DatagramSocket s;

        NetDatagram() throws IOException {
            s = new DatagramSocket(null);
            s.setSoTimeout(5_000);
        }

        public boolean isBound() {
            return s.isBound();
        }

        public int getLocalPort() {
            return s.getLocalPort();
        }

        public boolean isConnected() {
            return s.isConnected();
        }

        public int getPort() {
            return s.getPort();
        }

        public InetAddress getInetAddress() {
            return s.getInetAddress();
        }

        public java.net.SocketAddress getRemoteSocketAddress() {
            return s.getRemoteSocketAddress();
        }

        public void setReuseAddress(boolean on) throws IOException {
            s.setReuseAddress(on);
        }

        public boolean getReuseAddress() throws IOException {
            return s.getReuseAddress();
        }

        public void bind(java.net.SocketAddress a) throws IOException {
            s.bind(a);
        }

        public void connect(InetAddress a, int port) throws IOException {
            s.connect(a, port);
        }

        public void send(DatagramPacket p) throws IOException {
            s.send(p);
        }

        public void receive(DatagramPacket p) throws IOException {
            s.receive(p);
        }

        public void disconnect() {
            s.disconnect();
        }

        public int getReceiveBufferSize() throws IOException {
            return s.getReceiveBufferSize();
        }

        public int getSendBufferSize() throws IOException {
            return s.getSendBufferSize();
        }

        public void close() {
            s.close();
        }
    }

    static final class OurDatagram implements DatagramSocketLike {
        final SockrtDatagramSocket s;

        OurDatagram() throws IOException {
            s = new SockrtDatagramSocket((java.net.SocketAddress) null);
            s.setSoTimeout(5_000);
        }

        public boolean isBound() {
            return s.isBound();
        }

        public int getLocalPort() {
            return s.getLocalPort();
        }

        public boolean isConnected() {
            return s.isConnected();
        }

        public int getPort() {
            return s.getPort();
        }

        public InetAddress getInetAddress() {
            return s.getInetAddress();
        }

        public java.net.SocketAddress getRemoteSocketAddress() {
            return s.getRemoteSocketAddress();
        }

        public void setReuseAddress(boolean on) throws IOException {
            s.setReuseAddress(on);
        }

        public boolean getReuseAddress() throws IOException {
            return s.getReuseAddress();
        }

        public void bind(java.net.SocketAddress a) throws IOException {
            s.bind(a);
        }

        public void connect(InetAddress a, int port) throws IOException {
            s.connect(a, port);
        }

        public void send(DatagramPacket p) throws IOException {
            s.send(p);
        }

        public void receive(DatagramPacket p) throws IOException {
            s.receive(p);
        }

        public void disconnect() {
            s.disconnect();
        }

        public int getReceiveBufferSize() throws IOException {
            return s.getReceiveBufferSize();
        }

        public int getSendBufferSize() throws IOException {
            return s.getSendBufferSize();
        }

        public void close() {
            s.close();
        }
    }

    @Test
    void constructorsThatBindTheLocalEnd() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, LO);
             SockrtSocket s = new SockrtSocket("127.0.0.1", server.getLocalPort(), LO, 0);
             Socket peer = server.accept();
             SockrtSocket t = new SockrtSocket(LO, server.getLocalPort(), null, 0);
             Socket peer2 = server.accept()) {
            assertEquals(s.getLocalPort(), peer.getPort());
            assertEquals(LO, s.getLocalAddress());
            assertEquals(t.getLocalPort(), peer2.getPort());
            // a refused connect closes the socket it made
            int refused;
            try (ServerSocket gone = new ServerSocket(0, 1, LO)) {
                refused = gone.getLocalPort();
            }
            long before = Sockrt.openHandles();
            assertThrows(java.net.ConnectException.class, () -> new SockrtSocket("127.0.0.1", refused, LO, 0));
            assertEquals(before, Sockrt.openHandles());
        }
        try (SockrtDatagramSocket d = new SockrtDatagramSocket(0, LO);
             DatagramSocket n = new DatagramSocket(0, LO)) {
            assertEquals(n.getLocalAddress(), d.getLocalAddress());
            assertTrue(d.getLocalPort() > 0);
        }
    }

    @Test
    void exceptionTypes() throws Exception {
        try (SockrtServerSocket a = new SockrtServerSocket("127.0.0.1", 0, 5)) {
            BindException e = assertThrows(BindException.class,
                    () -> new SockrtServerSocket("127.0.0.1", a.getLocalPort(), 5));
            assertEquals(BindException.class, e.getClass());
            try (SockrtSocket c = new SockrtSocket("127.0.0.1", a.getLocalPort(), 5_000)) {
                SocketException again = assertThrows(SocketException.class,
                        () -> c.connect("127.0.0.1", a.getLocalPort(), 1_000));
                assertFalse(again instanceof SockrtException, again.toString());
            }
        }
        assertInstanceOf(SocketException.class, new SockrtException("x", Sockrt.E_LIMIT, "SOCKRT_E_LIMIT", 0));
        assertNull(new SockrtSocket().getLocalSocketAddress());
    }
}
