package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.InetAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** TCP through io.sockrt on loopback: the classic flow, data paths, errors. */
@Timeout(30)
class SocketTest {
    private SockrtServerSocket server;
    private SockrtSocket client;
    private SockrtSocket accepted;

    @BeforeEach
    void connectPair() throws Exception {
        server = new SockrtServerSocket("127.0.0.1", 0, 16);
        server.setSoTimeout(5_000);
        client = new SockrtSocket("127.0.0.1", server.getLocalPort(), 5_000);
        accepted = server.accept();
        client.setSoTimeout(5_000);
        accepted.setSoTimeout(5_000);
    }

    @AfterEach
    void closeAll() {
        client.close();
        accepted.close();
        server.close();
    }

    private static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (seed + i * 13);
        }
        return b;
    }

    @Test
    void classicFlowStepByStep() throws Exception {
        try (SockrtServerSocket listener = new SockrtServerSocket()) {
            listener.setReuseAddress(true);
            listener.bind("127.0.0.1", 0, 8);
            int port = listener.getLocalPort();
            assertTrue(port > 0);
            try (SockrtSocket c = new SockrtSocket()) {
                c.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
                try (SockrtSocket s = listener.accept()) {
                    c.sendAll("ping".getBytes());
                    byte[] got = new byte[4];
                    s.recvExact(got);
                    assertEquals("ping", new String(got));
                    s.sendAll("pong".getBytes());
                    c.recvExact(got);
                    assertEquals("pong", new String(got));
                    assertEquals(c.getLocalPort(), s.getPort());
                    assertEquals(port, c.getPort());
                    assertEquals("127.0.0.1", s.getPeerHost());
                    assertEquals("127.0.0.1", c.getInetAddress().getHostAddress());
                    assertEquals(new InetSocketAddress("127.0.0.1", port), c.getRemoteSocketAddress());
                    assertTrue(c.isConnected());
                }
            }
        }
    }

    @Test
    void byteArraysWithOffsets() throws Exception {
        byte[] data = pattern(1000, 7);
        client.sendAll(data, 100, 500);
        byte[] got = new byte[700];
        accepted.recvExact(got, 150, 500);
        for (int i = 0; i < 500; i++) {
            assertEquals(data[100 + i], got[150 + i], "byte " + i);
        }
        assertEquals(0, got[149]);
        assertEquals(0, got[650]);

        int sent = client.write(data, 3, 10);
        assertTrue(sent >= 1 && sent <= 10);
        byte[] part = new byte[20];
        int n = accepted.read(part, 5, 15);
        assertTrue(n >= 1 && n <= sent);
        assertEquals(data[3], part[5]);
    }

    @Test
    void largeTransfersInBothDirections() throws Exception {
        byte[] data = pattern(3 * 1024 * 1024 + 17, 1); // above the kept bounce buffer
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try {
                client.sendAll(data);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        byte[] got = new byte[data.length];
        accepted.recvExact(got);
        writer.get(20, TimeUnit.SECONDS);
        assertArrayEquals(data, got);
    }

    @Test
    void directAndHeapByteBuffers() throws Exception {
        ByteBuffer out = ByteBuffer.allocateDirect(64);
        out.put(pattern(64, 3)).flip().position(8);
        client.sendAll(out);
        assertEquals(64, out.position());

        ByteBuffer in = ByteBuffer.allocateDirect(100);
        in.position(10).limit(66);
        accepted.recvExact(in);
        assertEquals(66, in.position());
        for (int i = 0; i < 56; i++) {
            assertEquals(pattern(64, 3)[8 + i], in.get(10 + i));
        }

        // heap buffers, a slice with a non-zero array offset, and read-only sources
        ByteBuffer heapOut = ByteBuffer.wrap(pattern(40, 9), 4, 30).slice();
        client.sendAll(heapOut);
        ByteBuffer readOnly = ByteBuffer.wrap(pattern(40, 9)).asReadOnlyBuffer();
        client.sendAll(readOnly);
        ByteBuffer heapIn = ByteBuffer.allocate(70);
        accepted.recvExact(heapIn);
        heapIn.flip();
        byte[] got = new byte[70];
        heapIn.get(got);
        byte[] expected = new byte[70];
        System.arraycopy(pattern(40, 9), 4, expected, 0, 30);
        System.arraycopy(pattern(40, 9), 0, expected, 30, 40);
        assertArrayEquals(expected, got);

        // partial read/write on buffers advance their positions
        ByteBuffer small = ByteBuffer.allocateDirect(5).put(new byte[] {1, 2, 3, 4, 5}).flip();
        int first = accepted.write(small);
        assertTrue(first >= 1 && first <= 5);
        assertEquals(first, small.position());
        while (small.hasRemaining()) {
            accepted.write(small);
        }
        ByteBuffer dst = ByteBuffer.allocate(5);
        while (dst.hasRemaining()) {
            assertTrue(client.read(dst) > 0);
        }
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5}, dst.array());
        assertThrows(ReadOnlyBufferException.class, () -> client.read(ByteBuffer.allocate(4).asReadOnlyBuffer()));
    }

    @Test
    void streamsWrapTheSocket() throws Exception {
        OutputStream out = client.getOutputStream();
        InputStream in = accepted.getInputStream();
        out.write(pattern(300, 5));
        out.write(42);
        byte[] got = in.readNBytes(300);
        assertArrayEquals(pattern(300, 5), got);
        assertEquals(42, in.read());
        client.shutdownOutput();
        assertTrue(client.isOutputShutdown());
        assertEquals(-1, in.read());
    }

    @Test
    void endOfStreamAndEof() throws Exception {
        client.sendAll(new byte[] {1, 2});
        client.close();
        byte[] got = new byte[4];
        EOFException eof = assertThrows(EOFException.class, () -> accepted.recvExact(got));
        assertTrue(eof.getMessage().contains("recv_exact"), eof.getMessage());
        assertEquals(-1, accepted.read(got, 0, 4));
    }

    @Test
    void readTimeoutThrowsSocketTimeoutException() throws Exception {
        client.setSoTimeout(150);
        assertEquals(150, client.getSoTimeout());
        long start = System.nanoTime();
        assertThrows(SocketTimeoutException.class, () -> client.read(new byte[8]));
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(elapsedMs >= 100 && elapsedMs < 5_000, "waited " + elapsedMs + " ms");
        client.setSoTimeout(0);
        assertEquals(0, client.getSoTimeout());
    }

    @Test
    void acceptTimeoutThrowsSocketTimeoutException() throws Exception {
        server.setSoTimeout(100);
        assertThrows(SocketTimeoutException.class, server::accept);
    }

    @Test
    void refusedThrowsConnectException() throws Exception {
        int port;
        try (SockrtServerSocket temporary = new SockrtServerSocket("127.0.0.1", 0, 1)) {
            port = temporary.getLocalPort();
        }
        ConnectException e = assertThrows(ConnectException.class, () -> new SockrtSocket("127.0.0.1", port, 2_000));
        assertTrue(e.getMessage().contains("refused"), e.getMessage());
    }

    @Test
    void closeFromAnotherThreadWakesBlockedRead() throws Exception {
        client.setSoTimeout(0);
        CompletableFuture<Integer> reader = CompletableFuture.supplyAsync(() -> {
            try {
                return client.read(new byte[16]);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(200);
        assertFalse(reader.isDone(), "read should still be blocked");
        client.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> reader.get(5, TimeUnit.SECONDS));
        assertInstanceOf(SocketException.class, e.getCause().getCause());
    }

    @Test
    void closeFromAnotherThreadWakesBlockedAccept() throws Exception {
        server.setSoTimeout(0);
        CompletableFuture<SockrtSocket> acceptor = CompletableFuture.supplyAsync(() -> {
            try {
                return server.accept();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(200);
        assertFalse(acceptor.isDone(), "accept should still be blocked");
        server.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> acceptor.get(5, TimeUnit.SECONDS));
        assertInstanceOf(SocketException.class, e.getCause().getCause());
    }

    @Test
    void useAfterCloseThrowsSocketException() throws Exception {
        int localPort = client.getLocalPort();
        client.close();
        client.close(); // idempotent
        assertTrue(client.isClosed());
        byte[] b = new byte[8];
        SocketException e = assertThrows(SocketException.class, () -> client.read(b));
        assertEquals("Socket is closed", e.getMessage());
        assertThrows(SocketException.class, () -> client.sendAll(b));
        assertThrows(SocketException.class, () -> client.write(ByteBuffer.allocateDirect(4)));
        assertThrows(SocketException.class, () -> client.recvExact(ByteBuffer.allocate(4)));
        assertThrows(SocketException.class, () -> client.setSoTimeout(10));
        assertThrows(SocketException.class, () -> client.setTcpNoDelay(true));
        assertThrows(SocketException.class, client::shutdownOutput);
        assertThrows(SocketException.class, client::getInputStream);
        // as java.net: the getters keep their last values after close
        assertEquals(localPort, client.getLocalPort());
        assertEquals(server.getLocalPort(), client.getPort());
        assertEquals(InetAddress.getByName("127.0.0.1"), client.getInetAddress());
        assertTrue(client.isConnected());
        assertTrue(client.isBound());
        int listening = server.getLocalPort();
        server.close();
        assertThrows(SocketException.class, server::accept);
        assertEquals(listening, server.getLocalPort());
        assertTrue(server.isBound());
    }

    @Test
    void staleAndForgedHandlesNeverCrash() throws Exception {
        long stale = client.handle;
        client.close();
        byte[] b = new byte[8];
        ByteBuffer direct = ByteBuffer.allocateDirect(8);
        for (long h : new long[] {stale, 0, -1, 1, 0x7fff_ffff_ffffL, Long.MIN_VALUE}) {
            assertThrows(SocketException.class, () -> SockrtNative.recv(h, b, 0, 8));
            assertThrows(SocketException.class, () -> SockrtNative.sendAll(h, b, 0, 8));
            assertThrows(SocketException.class, () -> SockrtNative.recvExactDirect(h, direct, 0, 8));
            assertThrows(SocketException.class, () -> SockrtNative.accept(h));
            assertThrows(SocketException.class, () -> SockrtNative.poolAcquire(h));
            assertTrue(SockrtNative.close(h) < 0);
        }
    }

    @Test
    void nativeGlueChecksItsArguments() {
        long h = accepted.handle;
        byte[] b = new byte[8];
        assertThrows(NullPointerException.class, () -> SockrtNative.recv(h, null, 0, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> SockrtNative.recv(h, b, 4, 5));
        assertThrows(IndexOutOfBoundsException.class, () -> SockrtNative.send(h, b, -1, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> SockrtNative.sendAll(h, b, Integer.MAX_VALUE, 2));
        assertThrows(IllegalArgumentException.class, () -> SockrtNative.recvDirect(h, ByteBuffer.allocate(8), 0, 8));
        assertThrows(IndexOutOfBoundsException.class,
                () -> SockrtNative.sendDirect(h, ByteBuffer.allocateDirect(8), 4, 5));
        assertThrows(NullPointerException.class, () -> SockrtNative.sendAllDirect(h, null, 0, 1));
        assertThrows(NullPointerException.class, () -> SockrtNative.tcpConnect(null, 1, 10));
        assertThrows(IllegalArgumentException.class, () -> SockrtNative.tcpConnect("127.0.0.1", 70_000, 10));
        assertThrows(IllegalArgumentException.class, () -> SockrtNative.recvFrom(h, b, 0, 8, new byte[3]));
        assertThrows(IllegalArgumentException.class, () -> SockrtNative.poolConfigDefaults(new int[2]));
        assertThrows(IllegalArgumentException.class, () -> SockrtNative.poolStats(h, new long[1]));
    }

    @Test
    void badJavaArgumentsThrowRuntimeExceptions() throws Exception {
        byte[] b = new byte[8];
        assertThrows(NullPointerException.class, () -> client.read((byte[]) null));
        assertThrows(NullPointerException.class, () -> client.sendAll((ByteBuffer) null));
        assertThrows(IndexOutOfBoundsException.class, () -> client.read(b, 6, 3));
        assertThrows(IndexOutOfBoundsException.class, () -> client.sendAll(b, -1, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> client.recvExact(b, 0, 9));
        assertThrows(IllegalArgumentException.class, () -> client.setSoTimeout(-1));
        assertThrows(IllegalArgumentException.class, () -> client.setReceiveBufferSize(0));
        assertThrows(IllegalArgumentException.class, () -> new SockrtSocket("127.0.0.1", 65_536, 100));
        assertThrows(IllegalArgumentException.class, () -> new SockrtSocket("", 80, 100));
        assertThrows(IllegalArgumentException.class, () -> new SockrtSocket("bad\0host", 80, 100));
        assertThrows(NullPointerException.class, () -> new SockrtSocket(null, 80, 100));
        assertThrows(IllegalArgumentException.class, () -> new SockrtSocket(99));
        // zero-length calls do nothing
        assertEquals(0, client.read(b, 8, 0));
        assertEquals(0, client.write(b, 0, 0));
        assertFalse(client.isClosed());
    }

    @Test
    void unknownHostThrowsUnknownHostException() {
        assertThrows(java.net.UnknownHostException.class,
                () -> new SockrtSocket("no-such-host.invalid", 80, 2_000));
    }

    @Test
    void otherFailuresCarryTheirCode() throws Exception {
        // a pool handle given to recv: a code of the library's own
        try (SockrtPool pool = new SockrtPool("127.0.0.1", 9)) {
            SockrtException e = assertThrows(SockrtException.class,
                    () -> SockrtNative.recv(pool.handle, new byte[1], 0, 1));
            assertEquals(Sockrt.E_WRONG_KIND, e.code());
            assertEquals("SOCKRT_E_WRONG_KIND", e.name());
            assertInstanceOf(SocketException.class, e); // code written for java.net catches it
        }
        // listen on a connected socket: a plain SocketException, as java.net's
        SocketException e = assertThrows(SocketException.class, () -> SockrtNative.listen(client.handle, 1));
        assertFalse(e instanceof SockrtException, e.toString());
    }

    @Test
    void options() throws Exception {
        client.setTcpNoDelay(true);
        assertTrue(client.getTcpNoDelay());
        client.setTcpNoDelay(false);
        assertFalse(client.getTcpNoDelay());
        client.setKeepAlive(true);
        assertTrue(client.getKeepAlive());
        client.setSendBufferSize(64 * 1024);
        assertTrue(client.getSendBufferSize() >= 64 * 1024);
        client.setWriteTimeout(1_000);
        assertEquals(1_000, client.getWriteTimeout());
        client.setBusyPollMicros(0);
    }

    @Test
    void shutdownInputReadsEndOfStream() throws Exception {
        accepted.shutdownInput();
        assertTrue(accepted.isInputShutdown());
        assertEquals(-1, accepted.read(new byte[4]));
    }
}
