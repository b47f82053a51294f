package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SockrtSelector against java.nio's Selector doing the same job on the same
 * traffic from standard java.net peers.
 */
@Timeout(30)
class SelectorTest {
    private final long[] tokens = new long[16];
    private final int[] events = new int[16];

    /** The same scenario on java.nio: what a standard selector reports. */
    private static List<Integer> nioReadiness() throws Exception {
        List<Integer> seen = new ArrayList<>();
        try (ServerSocketChannel server = ServerSocketChannel.open();
                Selector sel = Selector.open()) {
            server.bind(new InetSocketAddress("127.0.0.1", 0));
            try (Socket peer = new Socket("127.0.0.1", server.socket().getLocalPort());
                    SocketChannel ch = server.accept()) {
                ch.configureBlocking(false);
                ch.register(sel, SelectionKey.OP_READ);
                seen.add(sel.selectNow());
                peer.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
                seen.add(sel.select(5_000));
                sel.selectedKeys().clear();
                seen.add(sel.selectNow()); // level-triggered: still ready
                sel.selectedKeys().clear();
                ch.read(ByteBuffer.allocate(16));
                seen.add(sel.selectNow());
            }
        }
        return seen;
    }

    @Test
    void readinessMatchesJavaNio() throws Exception {
        List<Integer> ours = new ArrayList<>();
        try (SockrtServerSocket server = new SockrtServerSocket("127.0.0.1", 0, 16);
                SockrtSelector sel = new SockrtSelector()) {
            server.setSoTimeout(5_000);
            try (Socket peer = new Socket("127.0.0.1", server.getLocalPort());
                    SockrtSocket conn = server.accept()) {
                sel.register(conn, SockrtSelector.OP_READ, 42);
                ours.add(sel.select(tokens, events, 0));
                peer.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
                ours.add(sel.select(tokens, events, 5_000));
                assertEquals(42, tokens[0]);
                assertEquals(SockrtSelector.OP_READ, events[0]);
                ours.add(sel.select(tokens, events, 0));
                conn.read(new byte[16]);
                ours.add(sel.select(tokens, events, 0));
                sel.modify(conn, SockrtSelector.OP_WRITE, 43);
                assertEquals(1, sel.select(tokens, events, 0));
                assertEquals(43, tokens[0]);
                assertEquals(SockrtSelector.OP_WRITE, events[0]);
                sel.unregister(conn);
                assertEquals(0, sel.select(tokens, events, 0));
                assertThrows(java.net.SocketException.class, () -> sel.unregister(conn));
            }
        }
        assertEquals(nioReadiness(), ours);
    }

    @Test
    void listenerReadinessAndClosedSocketsAreReportedOnce() throws Exception {
        try (SockrtServerSocket server = new SockrtServerSocket("127.0.0.1", 0, 16);
                SockrtSelector sel = new SockrtSelector()) {
            server.setSoTimeout(5_000);
            sel.register(server, SockrtSelector.OP_READ, 1);
            try (Socket peer = new Socket("127.0.0.1", server.getLocalPort())) {
                assertTrue(peer.isConnected());
                assertEquals(1, sel.select(tokens, events, 5_000));
                assertEquals(1, tokens[0]);
                SockrtSocket conn = server.accept();
                sel.register(conn, SockrtSelector.OP_READ, 2);
                CompletableFuture<Integer> waiting = CompletableFuture.supplyAsync(() -> {
                    try {
                        long[] t = new long[4];
                        int[] e = new int[4];
                        int n = sel.select(t, e, 10_000);
                        return n == 1 && t[0] == 2 ? e[0] : -1;
                    } catch (Exception ex) {
                        return -2;
                    }
                });
                Thread.sleep(50);
                conn.close();
                assertEquals(SockrtSelector.CLOSED, waiting.get(5, TimeUnit.SECONDS));
                assertEquals(0, sel.select(tokens, events, 0));
            }
        }
    }

    @Test
    void closingTheSelectorWakesItsWaiterAndWakeupReturnsZero() throws Exception {
        SockrtSelector sel = new SockrtSelector();
        CompletableFuture<Integer> woken = CompletableFuture.supplyAsync(() -> {
            try {
                return sel.select(new long[2], new int[2], 10_000);
            } catch (Exception e) {
                return -1;
            }
        });
        Thread.sleep(50);
        sel.wakeup();
        assertEquals(0, woken.get(5, TimeUnit.SECONDS));
        CompletableFuture<Class<?>> closed = CompletableFuture.supplyAsync(() -> {
            try {
                sel.select(new long[2], new int[2], -1);
                return null;
            } catch (Exception e) {
                return e.getClass();
            }
        });
        Thread.sleep(50);
        sel.close();
        assertEquals(SocketException.class, closed.get(5, TimeUnit.SECONDS));
        assertThrows(SocketException.class, () -> sel.select(tokens, events, 0));
        assertThrows(IllegalArgumentException.class, () -> sel.select(new long[0], events, 0));
    }

    @Test
    void sendManyReachesEveryStandardPeerAndReportsAFullOne() throws Exception {
        try (SockrtServerSocket server = new SockrtServerSocket("127.0.0.1", 0, 64)) {
            server.setSoTimeout(5_000);
            int n = 8;
            Socket[] peers = new Socket[n];
            SockrtSocket[] conns = new SockrtSocket[n];
            for (int i = 0; i < n; i++) {
                peers[i] = new Socket("127.0.0.1", server.getLocalPort());
                conns[i] = server.accept();
            }
            try {
                byte[] msg = "data: event\n\n".getBytes(StandardCharsets.US_ASCII);
                long[] results = new long[n];
                assertEquals(n, SockrtSelector.sendMany(conns, msg, 0, msg.length, results));
                for (int i = 0; i < n; i++) {
                    assertEquals(msg.length, results[i]);
                    byte[] got = peers[i].getInputStream().readNBytes(msg.length);
                    assertEquals("data: event\n\n", new String(got, StandardCharsets.US_ASCII));
                }
                // A peer that never reads fills up: WOULD_BLOCK, never a stall.
                conns[0].setSendBufferSize(4096);
                byte[] big = new byte[4096];
                boolean full = false;
                long[] one = new long[1];
                for (int i = 0; i < 10_000 && !full; i++) {
                    SockrtSelector.sendMany(new SockrtSocket[] {conns[0]}, big, 0, big.length, one);
                    full = one[0] == SockrtSelector.WOULD_BLOCK;
                    assertTrue(full || one[0] > 0, "unexpected result " + one[0]);
                }
                assertTrue(full);
                conns[1].close();
                long[] two = new long[2];
                assertEquals(1, SockrtSelector.sendMany(new SockrtSocket[] {conns[1], conns[2]}, msg, 0,
                        msg.length, two));
                assertTrue(two[0] < 0, "a closed socket gets its own code");
                assertEquals(msg.length, two[1]);
                assertThrows(IndexOutOfBoundsException.class,
                        () -> SockrtSelector.sendMany(conns, msg, 5, msg.length, results));
            } finally {
                for (int i = 0; i < n; i++) {
                    peers[i].close();
                    conns[i].close();
                }
            }
        }
    }

    @Test
    void standardEchoThroughTheSelector() throws Exception {
        try (SockrtServerSocket server = new SockrtServerSocket("127.0.0.1", 0, 16);
                SockrtSelector sel = new SockrtSelector();
                Socket peer = new Socket("127.0.0.1", server.getLocalPort())) {
            server.setSoTimeout(5_000);
            try (SockrtSocket conn = server.accept()) {
                sel.register(conn, SockrtSelector.OP_READ, 7);
                OutputStream out = peer.getOutputStream();
                InputStream in = peer.getInputStream();
                byte[] buf = new byte[64];
                for (int i = 0; i < 20; i++) {
                    out.write(("ping " + i).getBytes(StandardCharsets.US_ASCII));
                    assertEquals(1, sel.select(tokens, events, 5_000));
                    int got = conn.read(buf);
                    conn.write(buf, 0, got);
                    assertEquals("ping " + i, new String(in.readNBytes(got), StandardCharsets.US_ASCII));
                }
            }
        }
    }
}
