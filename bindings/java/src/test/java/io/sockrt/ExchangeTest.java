package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.EOFException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** SockrtSocket.exchange: a request sent and a fixed-size reply read in one native call. */
@Timeout(30)
class ExchangeTest {
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

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** What the accepted side received, as text. */
    private String received(int n) throws Exception {
        byte[] got = new byte[n];
        accepted.recvExact(got);
        return new String(got, StandardCharsets.US_ASCII);
    }

    @Test
    void byteArrayRoundTripWithOffsets() throws Exception {
        accepted.sendAll(ascii("pong!")); // the reply waits in the socket buffer
        byte[] req = ascii("--ping--");
        byte[] resp = new byte[9];
        client.exchange(req, 2, 4, resp, 3, 5);
        assertArrayEquals(new byte[] {0, 0, 0, 'p', 'o', 'n', 'g', '!', 0}, resp);
        assertEquals("ping", received(4));
    }

    @Test
    void oneArrayCanBeRequestAndReply() throws Exception {
        accepted.sendAll(ascii("87654321"));
        byte[] buf = ascii("12345678");
        client.exchange(buf, buf);
        assertArrayEquals(ascii("87654321"), buf);
        assertEquals("12345678", received(8));
    }

    @Test
    void directBuffersAdvanceTheirPositions() throws Exception {
        accepted.sendAll(ascii("REPLY"));
        ByteBuffer req = ByteBuffer.allocateDirect(16);
        req.put(ascii("xxreqxx")).flip().position(2).limit(5);
        ByteBuffer resp = ByteBuffer.allocateDirect(16);
        resp.position(1).limit(6);
        client.exchange(req, resp);
        assertEquals(5, req.position());
        assertEquals(6, resp.position());
        byte[] got = new byte[5];
        resp.position(1);
        resp.get(got);
        assertArrayEquals(ascii("REPLY"), got);
        assertEquals("req", received(3));
    }

    @Test
    void heapAndMixedBuffers() throws Exception {
        accepted.sendAll(ascii("abcdefgh"));
        ByteBuffer heapReq = ByteBuffer.wrap(ascii("_one_"), 1, 3);
        ByteBuffer heapResp = ByteBuffer.allocate(4);
        client.exchange(heapReq, heapResp);
        assertEquals(4, heapReq.position());
        assertEquals(4, heapResp.position());
        assertArrayEquals(ascii("abcd"), heapResp.array());

        ByteBuffer readOnlyReq = ByteBuffer.wrap(ascii("two")).asReadOnlyBuffer();
        ByteBuffer directResp = ByteBuffer.allocateDirect(4);
        client.exchange(readOnlyReq, directResp);
        assertEquals(3, readOnlyReq.position());
        directResp.flip();
        byte[] got = new byte[4];
        directResp.get(got);
        assertArrayEquals(ascii("efgh"), got);
        assertEquals("onetwo", received(6));
    }

    @Test
    void emptyReplyOnlySends() throws Exception {
        client.exchange(ascii("only"), new byte[0]);
        client.exchange(ByteBuffer.allocateDirect(0), ByteBuffer.allocateDirect(0));
        assertEquals("only", received(4));
    }

    @Test
    void largeRequestAndReply() throws Exception {
        try (EchoServer echo = new EchoServer();
                SockrtSocket s = new SockrtSocket("127.0.0.1", echo.port(), 5_000)) {
            s.setSoTimeout(5_000);
            byte[] req = new byte[300_000]; // beyond the kept bounce buffer
            for (int i = 0; i < req.length; i++) {
                req[i] = (byte) (i * 31);
            }
            byte[] resp = new byte[req.length];
            s.exchange(req, resp);
            assertArrayEquals(req, resp);
        }
    }

    @Test
    void peerClosingEarlyIsEof() throws Exception {
        accepted.sendAll(ascii("ab"));
        accepted.shutdownOutput();
        byte[] resp = new byte[5];
        assertThrows(EOFException.class, () -> client.exchange(ascii("req"), resp));
        assertArrayEquals(new byte[5], resp); // left as it was
        assertEquals("req", received(3));
        assertThrows(EOFException.class,
                () -> client.exchange(ByteBuffer.allocateDirect(1), ByteBuffer.allocateDirect(1)));
    }

    @Test
    void missingReplyTimesOut() throws Exception {
        client.setSoTimeout(50);
        assertThrows(SocketTimeoutException.class, () -> client.exchange(ascii("r"), new byte[1]));
    }

    @Test
    void closedSocketThrowsSocketException() throws Exception {
        client.close();
        assertThrows(SocketException.class, () -> client.exchange(ascii("x"), new byte[1]));
        assertThrows(SocketException.class,
                () -> client.exchange(ByteBuffer.allocateDirect(1), ByteBuffer.allocateDirect(1)));
    }

    @Test
    void badOffsetsThrowIndexOutOfBounds() throws Exception {
        byte[] b = new byte[8];
        assertThrows(IndexOutOfBoundsException.class, () -> client.exchange(b, -1, 1, b, 0, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> client.exchange(b, 4, 5, b, 0, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> client.exchange(b, 0, 1, b, 6, 3));
        assertThrows(IndexOutOfBoundsException.class, () -> client.exchange(b, 0, 1, b, 0, -1));
        assertThrows(NullPointerException.class, () -> client.exchange(null, 0, 0, b, 0, 1));
        assertThrows(NullPointerException.class, () -> client.exchange(b, null));
        assertThrows(ReadOnlyBufferException.class,
                () -> client.exchange(ByteBuffer.allocate(1), ByteBuffer.allocate(1).asReadOnlyBuffer()));
        // Nothing went out: the next byte the peer sees is this one.
        client.sendAll(ascii("k"));
        assertEquals("k", received(1));
    }

    @Test
    void nativeGlueChecksItsArguments() {
        long h = client.handle;
        byte[] b = new byte[8];
        ByteBuffer d = ByteBuffer.allocateDirect(8);
        assertThrows(NullPointerException.class, () -> SockrtNative.exchange(h, null, 0, 1, b, 0, 1));
        assertThrows(NullPointerException.class, () -> SockrtNative.exchange(h, b, 0, 1, null, 0, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> SockrtNative.exchange(h, b, 4, 5, b, 0, 1));
        assertThrows(IndexOutOfBoundsException.class,
                () -> SockrtNative.exchange(h, b, 0, 1, b, Integer.MAX_VALUE, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> SockrtNative.exchange(h, b, 0, 1, b, 0, -1));
        assertThrows(NullPointerException.class, () -> SockrtNative.exchangeDirect(h, null, 0, 1, d, 0, 1));
        assertThrows(IllegalArgumentException.class,
                () -> SockrtNative.exchangeDirect(h, d, 0, 1, ByteBuffer.allocate(8), 0, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> SockrtNative.exchangeDirect(h, d, 0, 1, d, 4, 5));
    }

    @Test
    void pooledConnectionExchanges() throws Exception {
        try (EchoServer echo = new EchoServer(); SockrtPool pool = new SockrtPool("127.0.0.1", echo.port())) {
            for (int i = 0; i < 3; i++) {
                try (PooledConnection conn = pool.acquire()) {
                    conn.setSoTimeout(5_000);
                    byte[] resp = new byte[6];
                    conn.exchange(ascii("call-" + i), resp);
                    assertEquals("call-" + i, new String(resp, StandardCharsets.US_ASCII));
                }
            }
        }
    }
}
