package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Unix stream sockets of the binding against the JDK's NIO Unix channels. */
@Timeout(30)
class UnixSocketTest {
    private Path dir;

    @BeforeEach
    void makeDir() throws IOException {
        dir = Files.createTempDirectory("sockrt-unix-java");
    }

    @AfterEach
    void removeDir() throws IOException {
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    @Test
    void sockrtClientAgainstAnNioServer() throws Exception {
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(dir.resolve("nio.sock"));
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(address);
            try (SockrtSocket client = SockrtSocket.open(address, 5000);
                    SocketChannel peer = server.accept()) {
                client.setSoTimeout(5000);
                client.sendAll("ping".getBytes(StandardCharsets.US_ASCII));
                ByteBuffer got = ByteBuffer.allocate(4);
                while (got.hasRemaining()) {
                    assertTrue(peer.read(got) > 0);
                }
                assertEquals("ping", new String(got.array(), StandardCharsets.US_ASCII));
                peer.write(ByteBuffer.wrap("pong".getBytes(StandardCharsets.US_ASCII)));
                byte[] reply = new byte[4];
                client.recvExact(reply);
                assertArrayEquals("pong".getBytes(StandardCharsets.US_ASCII), reply);
                peer.shutdownOutput();
                assertEquals(-1, client.read(new byte[1]));
            }
        }
    }

    @Test
    void nioClientAgainstASockrtServerThatRemovesItsFile() throws Exception {
        Path path = dir.resolve("sockrt.sock");
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(path);
        try (SockrtServerSocket server = SockrtServerSocket.open(address, 0)) {
            assertTrue(Files.exists(path));
            server.setSoTimeout(5000);
            try (SocketChannel client = SocketChannel.open(address);
                    SockrtSocket conn = server.accept()) {
                client.write(ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)));
                byte[] got = new byte[5];
                conn.recvExact(got);
                assertArrayEquals("hello".getBytes(StandardCharsets.US_ASCII), got);
            }
            // A second listener on a live socket's path is refused.
            assertThrows(BindException.class, () -> SockrtServerSocket.open(address, 0).close());
        }
        assertFalse(Files.exists(path), "close removes the socket file it created");
    }

    @Test
    void aPathLongerThanAnIpAddressComesBackWhole() throws Exception {
        // Longer than SOCKRT_ADDR_MAX (64) bytes, within sun_path's 107.
        Path dirLong = Files.createDirectory(dir.resolve("d".repeat(80 - dir.toString().length())));
        Path path = dirLong.resolve("long.sock");
        String text = path.toString();
        assertTrue(text.length() > 64 && text.length() <= 107, text);
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(path);
        try (SockrtServerSocket server = SockrtServerSocket.open(address, 0)) {
            server.setSoTimeout(5000);
            assertEquals(text, server.getLocalHost());
            try (SocketChannel nio = SocketChannel.open(address);
                    SockrtSocket conn = server.accept();
                    SockrtSocket client = SockrtSocket.open(address, 5000)) {
                // The JDK reports the same path for the channel's peer.
                assertEquals(address, nio.getRemoteAddress());
                assertEquals(text, client.getPeerHost());
                assertEquals(text, conn.getLocalHost());
            }
        } finally {
            Files.deleteIfExists(dirLong);
        }
    }

    @Test
    void aPoolOnAPathReusesItsConnection() throws Exception {
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(dir.resolve("pool.sock"));
        try (SockrtServerSocket server = SockrtServerSocket.open(address, 0);
                SockrtPool pool = SockrtPool.builder().open(address)) {
            server.setSoTimeout(5000);
            Thread echo = new Thread(() -> {
                try (SockrtSocket s = server.accept()) {
                    byte[] b = new byte[4];
                    for (int i = 0; i < 2; i++) {
                        s.recvExact(b);
                        s.sendAll(b);
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            echo.start();
            for (int i = 0; i < 2; i++) {
                try (PooledConnection c = pool.acquire()) {
                    assertEquals(i == 1, c.wasReused());
                    byte[] reply = new byte[4];
                    c.exchange("pool".getBytes(StandardCharsets.US_ASCII), reply);
                    assertArrayEquals("pool".getBytes(StandardCharsets.US_ASCII), reply);
                }
            }
            echo.join(5000);
            assertFalse(echo.isAlive());
            SockrtPool.Stats stats = pool.stats();
            assertEquals(1, stats.created());
            assertEquals(1, stats.reused());
        }
    }

    @Test
    void nothingAtThePathIsAConnectException() {
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(dir.resolve("none.sock"));
        // The JDK's own NIO channel fails the same way (SocketException subclass or IOException).
        assertThrows(IOException.class, () -> SocketChannel.open(address).close());
        assertThrows(ConnectException.class, () -> SockrtSocket.open(address, 1000).close());
    }
}
