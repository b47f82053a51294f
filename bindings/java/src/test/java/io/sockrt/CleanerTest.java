package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Objects dropped without close() give their handles back after GC. */
@Timeout(30)
class CleanerTest {
    /** Opens one of everything and forgets it; returns how many handles that took. */
    private static long openAndForget(int port) throws Exception {
        long before = Sockrt.openHandles();
        SockrtServerSocket listener = new SockrtServerSocket("127.0.0.1", 0, 4);
        listener.setSoTimeout(5_000);
        new SockrtSocket("127.0.0.1", listener.getLocalPort(), 5_000);
        listener.accept();
        new SockrtDatagramSocket("127.0.0.1", 0);
        new SockrtSocket();
        SockrtPool pool = new SockrtPool("127.0.0.1", port);
        pool.acquire(); // a forgotten lease is discarded, and keeps its pool reachable until then
        return Sockrt.openHandles() - before;
    }

    @Test
    void forgottenObjectsAreCleaned() throws Exception {
        try (EchoServer echo = new EchoServer()) {
            long start = Sockrt.openHandles();
            long opened = openAndForget(echo.port());
            assertTrue(opened >= 7, "opened " + opened + " handles");
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (Sockrt.openHandles() > start && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(50);
            }
            assertEquals(start, Sockrt.openHandles(), "handles left after GC");
        }
    }
}
