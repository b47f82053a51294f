package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import javax.net.ServerSocketFactory;
import javax.net.SocketFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Timeout;

/**
 * java.net.Socket and ServerSocket from SockrtSocketFactory /
 * SockrtServerSocketFactory, each check run on the JDK's own factories too
 * (the "java.net" case) with the same assertions, so a difference in
 * behaviour fails the sockrt case.
 */
@Timeout(60)
@SuppressWarnings("try") // closing inside try-with-resources is what some checks test
class JavaNetSocketTest {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    static Stream<Arguments> impls() {
        return Stream.of(
                Arguments.of("java.net", SocketFactory.getDefault(), ServerSocketFactory.getDefault()),
                Arguments.of("sockrt", new SockrtSocketFactory(), new SockrtServerSocketFactory()));
    }

    static void assertSockrt(String name, Socket s) {
        // the sockets really are ours (or really the JDK's)
        assertEquals(name.equals("sockrt"), s instanceof SockrtSocketFactory.JavaSocket, s.getClass().getName());
    }

    /** Accepts one connection and echoes it until end of stream, on its own thread. */
    static CompletableFuture<Void> echoOnce(ServerSocket server) {
        return CompletableFuture.runAsync(() -> {
            try (Socket peer = server.accept()) {
                peer.getInputStream().transferTo(peer.getOutputStream());
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("impls")
    void linesAndDataStreamsEcho(String name, SocketFactory sf, ServerSocketFactory ssf) throws Exception {
        try (ServerSocket server = ssf.createServerSocket(0, 50, LOOPBACK)) {
            CompletableFuture<Void> echo = echoOnce(server);
            try (Socket s = sf.createSocket(LOOPBACK, server.getLocalPort())) {
                assertSockrt(name, s);
                assertTrue(s.isConnected());
                assertTrue(s.isBound());
                assertEquals(server.getLocalPort(), s.getPort());
                assertEquals(LOOPBACK, s.getInetAddress());
                assertTrue(s.getLocalPort() > 0);
                assertEquals(new InetSocketAddress(LOOPBACK, server.getLocalPort()), s.getRemoteSocketAddress());
                PrintWriter w = new PrintWriter(s.getOutputStream(), true, StandardCharsets.UTF_8);
                BufferedReader r = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                for (int i = 0; i < 100; i++) {
                    w.println("line " + i + " é");
                    assertEquals("line " + i + " é", r.readLine());
                }
                DataOutputStream dout = new DataOutputStream(s.getOutputStream());
                DataInputStream din = new DataInputStream(s.getInputStream());
                byte[] big = new byte[3 * 1024 * 1024 + 17];
                for (int i = 0; i < big.length; i++) {
                    big[i] = (byte) (i * 31);
                }
                CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                    try {
                        dout.writeLong(0x1122334455667788L);
                        dout.write(big);
                        dout.flush();
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                });
                assertEquals(0x1122334455667788L, din.readLong());
                byte[] back = new byte[big.length];
                din.readFully(back);
                assertArrayEquals(big, back);
                writer.get(30, TimeUnit.SECONDS);
                s.shutdownOutput();
                assertTrue(s.isOutputShutdown());
                assertEquals(-1, s.getInputStream().read()); // the echo ended
            }
            echo.get(10, TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("impls")
    void unconnectedSocketThenConnectAndGettersAfterClose(String name, SocketFactory sf, ServerSocketFactory ssf)
            throws Exception {
        try (ServerSocket server = ssf.createServerSocket()) {
            assertFalse(server.isBound());
            assertEquals(-1, server.getLocalPort());
            assertNull(server.getLocalSocketAddress());
            server.setReuseAddress(true);
            assertTrue(server.getReuseAddress());
            server.bind(new InetSocketAddress(LOOPBACK, 0));
            assertTrue(server.isBound());
            assertEquals(LOOPBACK, server.getInetAddress());
            assertEquals(new InetSocketAddress(LOOPBACK, server.getLocalPort()), server.getLocalSocketAddress());
            assertThrows(SocketException.class, () -> server.bind(new InetSocketAddress(LOOPBACK, 0)));

            Socket s = sf.createSocket();
            assertSockrt(name, s);
            assertFalse(s.isConnected());
            assertFalse(s.isBound());
            assertEquals(-1, s.getLocalPort());
            assertEquals(0, s.getPort());
            assertNull(s.getInetAddress());
            assertNull(s.getRemoteSocketAddress());
            assertNull(s.getLocalSocketAddress());
            s.setTcpNoDelay(true); // before connect, as OkHttp does
            s.setSoTimeout(5_000);
            s.connect(new InetSocketAddress(LOOPBACK, server.getLocalPort()), 5_000);
            assertTrue(s.getTcpNoDelay());
            assertEquals(5_000, s.getSoTimeout());
            assertTrue(s.isConnected());
            int localPort = s.getLocalPort();
            assertEquals(new InetSocketAddress(LOOPBACK, localPort), s.getLocalSocketAddress());
            assertEquals(LOOPBACK, s.getLocalAddress());
            SocketException again = assertThrows(SocketException.class,
                    () -> s.connect(new InetSocketAddress(LOOPBACK, server.getLocalPort())));
            assertEquals("already connected", again.getMessage());
            try (Socket peer = server.accept()) {
                assertEquals(localPort, peer.getPort());
                assertEquals(server.getLocalPort(), peer.getLocalPort());
            }
            s.close();
            assertTrue(s.isClosed());
            assertTrue(s.isConnected()); // java.net keeps these after close
            assertEquals(localPort, s.getLocalPort());
            assertEquals(server.getLocalPort(), s.getPort());
            assertEquals(LOOPBACK, s.getInetAddress());
            SocketException closed = assertThrows(SocketException.class, s::getInputStream);
            assertEquals("Socket is closed", closed.getMessage());
            assertThrows(SocketException.class, () -> s.setSoTimeout(1));
            s.close(); // twice is fine
            int port = server.getLocalPort();
            server.close();
            assertTrue(server.isBound());
            assertEquals(port, server.getLocalPort());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("impls")
    void readTimesOutAndTheSocketStaysUsable(String name, SocketFactory sf, ServerSocketFactory ssf)
            throws Exception {
        try (ServerSocket server = ssf.createServerSocket(0, 50, LOOPBACK);
             Socket s = sf.createSocket(LOOPBACK, server.getLocalPort());
             Socket peer = server.accept()) {
            s.setSoTimeout(100);
            InputStream in = s.getInputStream();
            long t0 = System.nanoTime();
            SocketTimeoutException e = assertThrows(SocketTimeoutException.class, in::read);
            assertEquals("Read timed out", e.getMessage());
            assertTrue(System.nanoTime() - t0 >= 90_000_000L);
            peer.getOutputStream().write(42);
            assertEquals(42, in.read());
            assertFalse(s.isClosed());

            server.setSoTimeout(50);
            SocketTimeoutException a = assertThrows(SocketTimeoutException.class, server::accept);
            assertEquals("Accept timed out", a.getMessage());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("impls")
    void exceptionsAsJavaNetThrowsThem(String name, SocketFactory sf, ServerSocketFactory ssf) throws Exception {
        int port;
        try (ServerSocket server = ssf.createServerSocket(0, 50, LOOPBACK)) {
            port = server.getLocalPort();
            // the port is in use: a second listener cannot bind it
            BindException b = assertThrows(BindException.class, () -> ssf.createServerSocket(port, 50, LOOPBACK));
            assertNotNull(b.getMessage());
            try (Socket s = sf.createSocket()) {
                s.bind(new InetSocketAddress(LOOPBACK, 0));
                assertTrue(s.isBound());
                assertTrue(s.getLocalPort() > 0);
                assertThrows(SocketException.class, () -> s.bind(new InetSocketAddress(LOOPBACK, 0)));
            }
        }
        // nothing listens there any more
        assertThrows(ConnectException.class, () -> sf.createSocket(LOOPBACK, port));
        Socket s = sf.createSocket();
        assertThrows(ConnectException.class, () -> s.connect(new InetSocketAddress(LOOPBACK, port), 2_000));
        assertTrue(s.isClosed() || !s.isConnected());
        s.close();
        assertThrows(java.net.UnknownHostException.class,
                () -> sf.createSocket().connect(InetSocketAddress.createUnresolved("no-such-host.invalid", 80)));
        assertThrows(IllegalArgumentException.class, () -> sf.createSocket().connect(null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("impls")
    void closeWakesBlockedReadAndAccept(String name, SocketFactory sf, ServerSocketFactory ssf) throws Exception {
        try (ServerSocket server = ssf.createServerSocket(0, 50, LOOPBACK);
             Socket s = sf.createSocket(LOOPBACK, server.getLocalPort());
             Socket peer = server.accept()) {
            AtomicReference<Throwable> readError = new AtomicReference<>();
            Thread reader = Blocked.start("jn-read-" + name.charAt(0), () -> {
                try {
                    s.getInputStream().read();
                } catch (Throwable e) {
                    readError.set(e);
                }
            });
            Blocked.await(reader);
            s.close();
            reader.join(5_000);
            assertFalse(reader.isAlive(), "close did not wake the read");
            assertInstanceOf(SocketException.class, readError.get());
            assertEquals("Socket closed", readError.get().getMessage());

            AtomicReference<Throwable> acceptError = new AtomicReference<>();
            Thread acceptor = Blocked.start("jn-acc-" + name.charAt(0), () -> {
                try {
                    server.accept();
                } catch (Throwable e) {
                    acceptError.set(e);
                }
            });
            Blocked.await(acceptor);
            server.close();
            acceptor.join(5_000);
            assertFalse(acceptor.isAlive(), "close did not wake the accept");
            assertInstanceOf(SocketException.class, acceptError.get());
            assertEquals("Socket closed", acceptError.get().getMessage());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("impls")
    void shutdownBothWays(String name, SocketFactory sf, ServerSocketFactory ssf) throws Exception {
        try (ServerSocket server = ssf.createServerSocket(0, 50, LOOPBACK);
             Socket s = sf.createSocket(LOOPBACK, server.getLocalPort());
             Socket peer = server.accept()) {
            InputStream in = s.getInputStream();
            s.shutdownInput();
            assertTrue(s.isInputShutdown());
            assertEquals(-1, in.read());
            assertEquals(-1, in.read(new byte[4]));
            assertEquals(0, in.available());
            assertThrows(SocketException.class, s::getInputStream);
            SocketException again = assertThrows(SocketException.class, s::shutdownInput);
            assertEquals("Socket input is already shutdown", again.getMessage());
            OutputStream out = s.getOutputStream();
            out.write("ok".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            SocketException w = assertThrows(SocketException.class, () -> out.write(1));
            assertEquals("Broken pipe", w.getMessage());
            assertEquals("ok", new String(peer.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
            assertThrows(SocketException.class, s::getOutputStream);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("impls")
    void standardSocketOptions(String name, SocketFactory sf, ServerSocketFactory ssf) throws Exception {
        try (ServerSocket server = ssf.createServerSocket(0, 50, LOOPBACK);
             Socket s = sf.createSocket(LOOPBACK, server.getLocalPort());
             Socket peer = server.accept()) {
            Set<SocketOption<?>> supported = s.supportedOptions();
            for (SocketOption<?> o : Set.of(StandardSocketOptions.TCP_NODELAY, StandardSocketOptions.SO_KEEPALIVE,
                    StandardSocketOptions.SO_RCVBUF, StandardSocketOptions.SO_SNDBUF,
                    StandardSocketOptions.SO_LINGER, StandardSocketOptions.SO_REUSEADDR)) {
                assertTrue(supported.contains(o), name + " lacks " + o);
            }
            assertTrue(server.supportedOptions().contains(StandardSocketOptions.SO_RCVBUF));
            assertTrue(server.supportedOptions().contains(StandardSocketOptions.SO_REUSEADDR));
            s.setOption(StandardSocketOptions.TCP_NODELAY, true);
            assertTrue(s.getOption(StandardSocketOptions.TCP_NODELAY));
            assertTrue(s.getTcpNoDelay());
            s.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
            assertTrue(s.getKeepAlive());
            s.setKeepAlive(false);
            assertFalse(s.getOption(StandardSocketOptions.SO_KEEPALIVE));
            s.setOption(StandardSocketOptions.SO_SNDBUF, 256 * 1024);
            assertTrue(s.getSendBufferSize() >= 256 * 1024);
            s.setReceiveBufferSize(128 * 1024);
            assertTrue(s.getOption(StandardSocketOptions.SO_RCVBUF) >= 128 * 1024);
            assertEquals(-1, s.getSoLinger());
            assertEquals(-1, s.getOption(StandardSocketOptions.SO_LINGER));
            s.setSoLinger(true, 7);
            assertEquals(7, s.getSoLinger());
            s.setOption(StandardSocketOptions.SO_LINGER, -1);
            assertEquals(-1, s.getSoLinger());
            assertThrows(IllegalArgumentException.class, () -> s.setOption(StandardSocketOptions.SO_RCVBUF, -1));
            assertThrows(IllegalArgumentException.class, () -> s.setSoTimeout(-1));
            assertThrows(UnsupportedOperationException.class,
                    () -> s.setOption(StandardSocketOptions.IP_MULTICAST_LOOP, true));
            s.setTrafficClass(0x10);
            assertEquals(0x10, s.getTrafficClass());
            assertEquals(0x10, s.getOption(StandardSocketOptions.IP_TOS));
            assertThrows(IllegalArgumentException.class, () -> s.setTrafficClass(256));
            server.setReceiveBufferSize(64 * 1024);
            assertTrue(server.getReceiveBufferSize() >= 64 * 1024);
            assertTrue(server.getReuseAddress()); // java.net's listeners have it on
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("impls")
    void lingerZeroResetsThePeer(String name, SocketFactory sf, ServerSocketFactory ssf) throws Exception {
        try (ServerSocket server = ssf.createServerSocket(0, 50, LOOPBACK);
             Socket s = sf.createSocket(LOOPBACK, server.getLocalPort());
             Socket peer = server.accept()) {
            s.setSoLinger(true, 0);
            s.close(); // abortive: RST instead of FIN
            SocketException e = assertThrows(SocketException.class, () -> peer.getInputStream().read());
            assertEquals("Connection reset", e.getMessage());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("impls")
    void availableCountsReadableBytes(String name, SocketFactory sf, ServerSocketFactory ssf) throws Exception {
        try (ServerSocket server = ssf.createServerSocket(0, 50, LOOPBACK);
             Socket s = sf.createSocket(LOOPBACK, server.getLocalPort());
             Socket peer = server.accept()) {
            InputStream in = s.getInputStream();
            assertEquals(0, in.available());
            peer.getOutputStream().write(new byte[5]);
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (in.available() < 5 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertEquals(5, in.available());
            assertEquals(5, in.read(new byte[16]));
            assertEquals(0, in.available());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("impls")
    void serverSocketServesJavaNetClients(String name, SocketFactory sf, ServerSocketFactory ssf) throws Exception {
        int clients = 20;
        try (ServerSocket server = ssf.createServerSocket(0, 50, LOOPBACK)) {
            CompletableFuture<Integer> served = CompletableFuture.supplyAsync(() -> {
                int n = 0;
                try {
                    for (; n < clients; n++) {
                        Socket peer = server.accept();
                        assertEquals(name.equals("sockrt"), peer instanceof SockrtSocketFactory.JavaSocket);
                        assertEquals(server.getLocalPort(), peer.getLocalPort());
                        CompletableFuture.runAsync(() -> {
                            try (peer) {
                                peer.getInputStream().transferTo(peer.getOutputStream());
                            } catch (IOException e) {
                                throw new RuntimeException(e);
                            }
                        });
                    }
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
                return n;
            });
            for (int i = 0; i < clients; i++) {
                try (Socket c = new Socket(LOOPBACK, server.getLocalPort())) { // plain java.net client
                    byte[] msg = ("client " + i).getBytes(StandardCharsets.US_ASCII);
                    c.getOutputStream().write(msg);
                    c.shutdownOutput();
                    assertArrayEquals(msg, c.getInputStream().readAllBytes());
                }
            }
            assertEquals(clients, served.get(20, TimeUnit.SECONDS));
            assertTrue(server.toString().contains("localport=" + server.getLocalPort()), server.toString());
        }
    }
}
