package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One-shot sendAll/recvExact of arrays larger than the per-thread native
 * buffer: they move in chunks, keep their bytes whole and in order, never
 * interleave with a concurrent call, and the timeout bounds the whole call.
 */
@Timeout(60)
class LargeArrayTest {
    static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 131 + seed);
        }
        return b;
    }

    @Test
    void largeArraysArriveWhole() throws Exception {
        try (SockrtServerSocket server = new SockrtServerSocket("127.0.0.1", 0, 4);
             SockrtSocket a = new SockrtSocket("127.0.0.1", server.getLocalPort(), 5_000);
             SockrtSocket b = server.accept()) {
            byte[] big = pattern(9 * 1024 * 1024 + 3, 1);
            CompletableFuture<Void> send = CompletableFuture.runAsync(() -> {
                try {
                    a.sendAll(big, 1, big.length - 1);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            byte[] got = new byte[big.length + 8];
            b.recvExact(got, 5, big.length - 1);
            send.get(30, TimeUnit.SECONDS);
            byte[] expected = new byte[got.length];
            System.arraycopy(big, 1, expected, 5, big.length - 1);
            assertArrayEquals(expected, got);
        }
    }

    @Test
    void concurrentLargeSendsNeverInterleave() throws Exception {
        int n = 3 * 1024 * 1024;
        try (SockrtServerSocket server = new SockrtServerSocket("127.0.0.1", 0, 4);
             SockrtSocket a = new SockrtSocket("127.0.0.1", server.getLocalPort(), 5_000);
             SockrtSocket b = server.accept()) {
            CompletableFuture<?>[] senders = new CompletableFuture<?>[4];
            for (int t = 0; t < senders.length; t++) {
                byte[] block = new byte[n];
                java.util.Arrays.fill(block, (byte) ('A' + t));
                senders[t] = CompletableFuture.runAsync(() -> {
                    try {
                        a.sendAll(block);
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
            }
            InputStream in = b.getInputStream();
            boolean[] seen = new boolean[senders.length];
            byte[] block = new byte[n];
            for (int t = 0; t < senders.length; t++) {
                b.recvExact(block);
                byte first = block[0];
                for (int i = 0; i < n; i++) {
                    if (block[i] != first) {
                        throw new AssertionError("bytes of two sendAll calls interleaved at " + i);
                    }
                }
                seen[first - 'A'] = true;
            }
            CompletableFuture.allOf(senders).get(30, TimeUnit.SECONDS);
            for (boolean s : seen) {
                assertTrue(s);
            }
            assertEquals(0, in.available());
        }
    }

    @Test
    void theReadTimeoutBoundsTheWholeCall() throws Exception {
        try (SockrtServerSocket server = new SockrtServerSocket("127.0.0.1", 0, 4);
             SockrtSocket a = new SockrtSocket("127.0.0.1", server.getLocalPort(), 5_000);
             SockrtSocket b = server.accept()) {
            b.setSoTimeout(300);
            // the data trickles in, 64 KiB every 50 ms: each 256 KiB chunk would
            // arrive within 300 ms, but the whole 2 MiB cannot, so the call must
            // end about 300 ms after it started
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            CompletableFuture<Void> trickle = CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; i < 60 && !stop.get(); i++) {
                        a.sendAll(pattern(64 * 1024, i));
                        Thread.sleep(50);
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            long t0 = System.nanoTime();
            assertThrows(SocketTimeoutException.class, () -> b.recvExact(new byte[2 * 1024 * 1024]));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            stop.set(true);
            trickle.get(10, TimeUnit.SECONDS);
            assertTrue(ms >= 250 && ms < 1_000, "timed out after " + ms + " ms");
            assertEquals(300, b.getSoTimeout()); // the option is as it was
        }
    }
}
