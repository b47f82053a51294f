package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** SockrtPool against an echo server on loopback. */
@Timeout(60)
class PoolTest {
    private EchoServer echo;

    @BeforeEach
    void startEcho() throws Exception {
        echo = new EchoServer();
    }

    @AfterEach
    void stopEcho() throws Exception {
        echo.close();
    }

    private static void roundTrip(SockrtSocket conn, int seed) throws Exception {
        byte[] out = new byte[1 + seed % 512];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) (seed + i);
        }
        conn.setSoTimeout(5_000);
        conn.sendAll(out);
        byte[] in = new byte[out.length];
        conn.recvExact(in);
        assertArrayEquals(out, in);
    }

    @Test
    void builderStartsFromTheLibraryDefaults() {
        SockrtPool.Builder b = SockrtPool.builder();
        assertEquals(8, b.maxIdle());
        assertEquals(32, b.maxTotal());
        assertEquals(5_000, b.connectTimeoutMs());
        assertEquals(5_000, b.acquireTimeoutMs());
        assertEquals(60_000, b.idleTimeoutMs());
        assertTrue(b.maxLifetimeMs() < 0);
        assertTrue(b.checkOnAcquire());
        assertTrue(b.noDelay());
        assertThrows(IllegalArgumentException.class, () -> b.maxIdle(-1));
        assertThrows(IllegalArgumentException.class, () -> b.maxTotal(-1));
    }

    @Test
    void closeReturnsTheConnectionForReuse() throws Exception {
        try (SockrtPool pool = new SockrtPool("127.0.0.1", echo.port())) {
            PooledConnection first = pool.acquire();
            assertSame(pool, first.pool());
            assertFalse(first.wasReused());
            roundTrip(first, 1);
            int localPort = first.getLocalPort();
            first.close();
            first.close(); // idempotent
            assertThrows(SocketException.class, () -> first.read(new byte[1]));

            try (PooledConnection second = pool.acquire()) {
                assertTrue(second.wasReused());
                assertEquals(localPort, second.getLocalPort(), "the same TCP connection");
                roundTrip(second, 2);
            }
            SockrtPool.Stats stats = pool.stats();
            assertEquals(1, stats.created());
            assertEquals(1, stats.reused());
            assertEquals(1, stats.idle());
            assertEquals(0, stats.inUse());
        }
    }

    @Test
    void discardClosesTheConnection() throws Exception {
        try (SockrtPool pool = new SockrtPool("127.0.0.1", echo.port())) {
            PooledConnection conn = pool.acquire();
            roundTrip(conn, 3);
            conn.discard();
            conn.close(); // nothing left to release
            assertTrue(conn.isClosed());
            SockrtPool.Stats stats = pool.stats();
            assertEquals(0, stats.idle());
            assertEquals(1, stats.closedBroken());
            try (PooledConnection next = pool.acquire()) {
                assertFalse(next.wasReused());
            }
            assertEquals(2, pool.stats().created());
        }
    }

    @Test
    void eightThreadsShareAPool() throws Exception {
        int threads = 8;
        int perThread = 40;
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        try (SockrtPool pool = SockrtPool.builder().maxTotal(4).acquireTimeoutMs(10_000).open("127.0.0.1", echo.port())) {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                results.add(executor.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        try (PooledConnection conn = pool.acquire()) {
                            roundTrip(conn, id * 1000 + i);
                        }
                    }
                    return perThread;
                }));
            }
            int done = 0;
            for (Future<Integer> f : results) {
                done += f.get(40, TimeUnit.SECONDS);
            }
            assertEquals(threads * perThread, done);
            SockrtPool.Stats stats = pool.stats();
            assertTrue(stats.created() <= 4, stats.toString());
            assertEquals(threads * perThread, stats.created() + stats.reused(), stats.toString());
            assertEquals(0, stats.inUse());
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void closingABlockedLeaseWakesItAndDropsTheConnection() throws Exception {
        try (SockrtPool pool = new SockrtPool("127.0.0.1", echo.port())) {
            PooledConnection conn = pool.acquire();
            conn.setSoTimeout(0);
            Thread reader = new Thread(() -> {
                try {
                    conn.read(new byte[8]);
                } catch (Exception e) {
                    // expected: woken by close
                }
            });
            reader.start();
            Thread.sleep(150);
            assertTrue(reader.isAlive(), "read should still be blocked");
            conn.close(); // a call is in flight: the pool closes it instead of keeping it
            reader.join(5_000);
            assertFalse(reader.isAlive(), "close did not wake the read");
            SockrtPool.Stats stats = pool.stats();
            assertEquals(0, stats.idle(), stats.toString());
            assertEquals(1, stats.closedBroken(), stats.toString());
        }
    }

    @Test
    void exhaustedPoolThrowsWithItsCode() throws Exception {
        try (SockrtPool pool = SockrtPool.builder().maxTotal(1).acquireTimeoutMs(100).open("127.0.0.1", echo.port());
             PooledConnection held = pool.acquire()) {
            SockrtException e = assertThrows(SockrtException.class, pool::acquire);
            assertEquals(Sockrt.E_POOL_EXHAUSTED, e.code());
            assertEquals("SOCKRT_E_POOL_EXHAUSTED", e.name());
            assertEquals(1, pool.stats().timeouts());
            roundTrip(held, 5);
        }
    }

    @Test
    void poolClosedWhileWaitingThrowsWhatAClosedPoolThrows() throws Exception {
        SockrtPool pool = SockrtPool.builder().maxTotal(1).acquireTimeoutMs(-1).open("127.0.0.1", echo.port());
        PooledConnection held = pool.acquire();
        java.util.concurrent.atomic.AtomicReference<Throwable> waiting = new java.util.concurrent.atomic.AtomicReference<>();
        Thread waiter = Blocked.start("pool-wait", () -> {
            try {
                pool.acquire().close();
            } catch (Throwable e) {
                waiting.set(e);
            }
        });
        Blocked.await(waiter); // really waiting for the slot
        pool.close();
        waiter.join(5_000);
        assertFalse(waiter.isAlive(), "pool close did not wake the waiting acquire");
        SockrtException during = assertInstanceOf(SockrtException.class, waiting.get());
        SockrtException after = assertThrows(SockrtException.class, pool::acquire);
        assertEquals(Sockrt.E_POOL_CLOSED, during.code());
        assertEquals(during.code(), after.code());
        assertEquals(during.getMessage(), after.getMessage());
        assertEquals("Pool is closed", after.getMessage());
        held.close();
    }

    @Test
    void interruptWakesAWaitingAcquireAndKeepsTheFlag() throws Exception {
        assumeTrue(SockrtNative.poolHasSlices(), "this libsockrt has no sockrt_pool_acquire_ex");
        try (SockrtPool pool = SockrtPool.builder().maxTotal(1).acquireTimeoutMs(-1).open("127.0.0.1", echo.port());
             PooledConnection held = pool.acquire()) {
            java.util.concurrent.atomic.AtomicReference<Throwable> error = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicBoolean flagKept = new java.util.concurrent.atomic.AtomicBoolean();
            Thread waiter = Blocked.start("pool-intr", () -> {
                try {
                    pool.acquire().close();
                } catch (Throwable e) {
                    error.set(e);
                    flagKept.set(Thread.currentThread().isInterrupted());
                }
            });
            Blocked.await(waiter);
            long t0 = System.nanoTime();
            waiter.interrupt();
            waiter.join(5_000);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertFalse(waiter.isAlive(), "interrupt did not wake the acquire");
            assertInstanceOf(java.io.InterruptedIOException.class, error.get());
            assertTrue(flagKept.get(), "the interrupt flag was cleared");
            assertTrue(ms < 1_000, "woke after " + ms + " ms");
            // an interrupted thread's acquire throws at once, and the pool still works
            Thread.currentThread().interrupt();
            try {
                assertThrows(java.io.InterruptedIOException.class, pool::acquire);
            } finally {
                assertTrue(Thread.interrupted());
            }
            roundTrip(held, 3);
            SockrtPool.Stats stats = pool.stats();
            assertEquals(0, stats.timeouts(), stats.toString()); // the slices are not timeouts
            assertEquals(1, stats.inUse(), stats.toString());
        }
    }

    @Test
    void slicedWaitsStillTimeOutOnceAndHandOverFreedSlots() throws Exception {
        assumeTrue(SockrtNative.poolHasSlices(), "this libsockrt has no sockrt_pool_acquire_ex");
        try (SockrtPool pool = SockrtPool.builder().maxTotal(1).acquireTimeoutMs(230).open("127.0.0.1", echo.port())) {
            PooledConnection held = pool.acquire();
            long t0 = System.nanoTime();
            SockrtException e = assertThrows(SockrtException.class, pool::acquire);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(Sockrt.E_POOL_EXHAUSTED, e.code());
            assertTrue(ms >= 200 && ms < 2_000, "timed out after " + ms + " ms");
            assertEquals(1, pool.stats().timeouts(), pool.stats().toString());
            assertEquals(1, pool.stats().waits(), pool.stats().toString());
            // a waiter gets the slot when it is released
            java.util.concurrent.CompletableFuture<PooledConnection> next =
                    java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                        try {
                            return pool.acquire();
                        } catch (IOException ex) {
                            throw new RuntimeException(ex);
                        }
                    });
            held.close();
            try (PooledConnection c = next.get(5, java.util.concurrent.TimeUnit.SECONDS)) {
                roundTrip(c, 9);
            }
        }
    }

    @Test
    void freshAcquireNeverHandsOutAnIdleConnection() throws Exception {
        assumeTrue(SockrtNative.poolHasSlices(), "this libsockrt has no sockrt_pool_acquire_ex");
        try (SockrtPool pool = SockrtPool.builder().maxTotal(2).open("127.0.0.1", echo.port())) {
            try (PooledConnection a = pool.acquire(); PooledConnection b = pool.acquire()) {
                roundTrip(a, 1);
                roundTrip(b, 2);
            }
            assertEquals(2, pool.stats().idle());
            try (PooledConnection reused = pool.acquire()) {
                assertTrue(reused.wasReused());
            }
            // two idle connections, room for none: fresh closes an idle one and opens a new one
            try (PooledConnection fresh = pool.acquireFresh()) {
                assertFalse(fresh.wasReused());
                roundTrip(fresh, 4);
            }
            SockrtPool.Stats stats = pool.stats();
            assertEquals(3, stats.created(), stats.toString());
            assertEquals(2, stats.idle(), stats.toString());
        }
    }

    @Test
    void leasedConnectionOutlivesItsPool() throws Exception {
        long before = Sockrt.openHandles();
        SockrtPool pool = new SockrtPool("127.0.0.1", echo.port());
        PooledConnection conn = pool.acquire();
        pool.close();
        SocketException e = assertThrows(SocketException.class, pool::acquire);
        assertEquals("Pool is closed", e.getMessage());
        assertThrows(SocketException.class, pool::stats);
        roundTrip(conn, 7);
        conn.close(); // the pool is gone: the connection is closed instead
        // the echo server's side of the connection closes when it sees the end of stream
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (Sockrt.openHandles() != before && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(before, Sockrt.openHandles());
    }

    @Test
    void refusedPoolConnectThrowsConnectException() throws Exception {
        int port;
        try (SockrtServerSocket temporary = new SockrtServerSocket("127.0.0.1", 0, 1)) {
            port = temporary.getLocalPort();
        }
        try (SockrtPool pool = SockrtPool.builder().connectTimeoutMs(2_000).open("127.0.0.1", port)) {
            assertThrows(java.net.ConnectException.class, pool::acquire);
        }
        assertThrows(IllegalArgumentException.class, () -> new SockrtPool("127.0.0.1", 0));
    }
}
