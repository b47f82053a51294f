import io.sockrt.PooledConnection;
import io.sockrt.SockrtPool;
import io.sockrt.SockrtServerSocket;
import io.sockrt.SockrtSocket;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.UnixDomainSocketAddress;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An echo server and two clients over io.sockrt.
 *
 * <pre>
 *   EchoDemo server HOST PORT [SECONDS]   port 0 picks a free port; prints "LISTENING host port";
 *                                         echoes on one thread per connection; exits after SECONDS (30)
 *   EchoDemo client HOST PORT [COUNT]     COUNT (100) messages of 1..4096 bytes, each echo verified;
 *                                         last line "RESULT messages=n bytes=b mean_rtt_us=f"
 *   EchoDemo pool HOST PORT [COUNT]       the same through a SockrtPool from 4 threads,
 *                                         printing "STATS created=.. reused=.. ..." before RESULT
 * </pre>
 * The clients exit with 0 only if every echo matched. A HOST with a '/' in it is a
 * Unix socket path (PORT 0): SockrtServerSocket.open / SockrtSocket.open on a
 * UnixDomainSocketAddress.
 */
public final class EchoDemo {
    private static final int MAX_MESSAGE = 4096;
    private static final int IO_TIMEOUT_MS = 10_000;
    private static final int POOL_THREADS = 4;

    /** Set by the shutdown hook before it closes the listener. */
    private static volatile boolean stopping;

    private EchoDemo() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 3 || args.length > 4) {
            usage();
        }
        String host = args[1];
        int port = Integer.parseInt(args[2]);
        switch (args[0]) {
            case "server" -> serve(host, port, args.length > 3 ? Integer.parseInt(args[3]) : 30);
            case "client" -> System.exit(client(host, port, count(args)) ? 0 : 1);
            case "pool" -> System.exit(pool(host, port, count(args)) ? 0 : 1);
            default -> usage();
        }
    }

    /** A host with a '/' in it names a Unix socket path. */
    private static boolean isUnix(String host) {
        return host.indexOf('/') >= 0;
    }

    private static int count(String[] args) {
        return args.length > 3 ? Integer.parseInt(args[3]) : 100;
    }

    private static void usage() {
        System.err.println("usage: EchoDemo server HOST PORT [SECONDS] | client HOST PORT [COUNT] | pool HOST PORT [COUNT]");
        System.exit(2);
    }

    // ---- server ----

    private static void serve(String host, int port, int seconds) throws IOException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        boolean unix = isUnix(host);
        SockrtServerSocket server = unix
                ? SockrtServerSocket.open(UnixDomainSocketAddress.of(host), 128)
                : new SockrtServerSocket(host, port, 128);
        // SIGTERM/SIGINT ask for a stop: close the listener (which wakes the
        // blocked accept) and end with status 0 rather than the signal's. The
        // woken accept sees `stopping` and returns quietly.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping = true;
            server.close();
            Runtime.getRuntime().halt(0);
        }, "echo-shutdown"));
        System.out.println("LISTENING " + server.getLocalHost() + " " + (unix ? 0 : server.getLocalPort()));
        System.out.flush();
        while (true) {
            long leftMs = (deadline - System.nanoTime()) / 1_000_000;
            if (leftMs <= 0) {
                break;
            }
            SockrtSocket conn;
            try {
                server.setSoTimeout((int) Math.min(leftMs, Integer.MAX_VALUE));
                conn = server.accept();
            } catch (SocketTimeoutException e) {
                break;
            } catch (IOException e) {
                if (stopping) {
                    return; // closed by the shutdown hook, which ends the process
                }
                throw e;
            }
            Thread worker = new Thread(() -> echo(conn), "echo-" + conn.getPort());
            worker.setDaemon(true); // the process ends at the deadline, whatever they do
            worker.start();
        }
        System.exit(0); // the shutdown hook closes the listener
    }

    private static void echo(SockrtSocket conn) {
        byte[] buf = new byte[64 * 1024];
        try (conn) {
            int n;
            while ((n = conn.read(buf, 0, buf.length)) > 0) {
                conn.sendAll(buf, 0, n);
            }
        } catch (IOException e) {
            System.err.println("echo: " + e.getMessage());
        }
    }

    // ---- clients ----

    /** The size of message i: deterministic, 1..4096 bytes. */
    static int size(int i) {
        return 1 + (int) ((i * 2654435761L) % MAX_MESSAGE);
    }

    /** Fills message i with a pattern that depends on i, so a stale echo shows. */
    static void fill(byte[] buf, int i, int size) {
        for (int j = 0; j < size; j++) {
            buf[j] = (byte) (i * 31 + j * 7);
        }
    }

    /** Sends message i on conn and checks its echo; returns the verified byte count, or -1. */
    private static int roundTrip(SockrtSocket conn, int i, byte[] out, byte[] in) throws IOException {
        int size = size(i);
        fill(out, i, size);
        conn.sendAll(out, 0, size);
        conn.recvExact(in, 0, size);
        return Arrays.equals(out, 0, size, in, 0, size) ? size : -1;
    }

    private static boolean client(String host, int port, int count) throws IOException {
        byte[] out = new byte[MAX_MESSAGE];
        byte[] in = new byte[MAX_MESSAGE];
        long verifiedBytes = 0;
        int verified = 0;
        long totalNanos = 0;
        boolean unix = isUnix(host);
        try (SockrtSocket conn = unix ? SockrtSocket.open(UnixDomainSocketAddress.of(host), 5000)
                : new SockrtSocket(host, port, 5000)) {
            if (!unix) {
                conn.setTcpNoDelay(true);
            }
            conn.setSoTimeout(IO_TIMEOUT_MS);
            for (int i = 0; i < count; i++) {
                long start = System.nanoTime();
                int n = roundTrip(conn, i, out, in);
                totalNanos += System.nanoTime() - start;
                if (n < 0) {
                    System.err.println("message " + i + ": echo differs");
                    continue;
                }
                verified++;
                verifiedBytes += n;
            }
        }
        printResult(verified, verifiedBytes, totalNanos);
        return verified == count;
    }

    private static boolean pool(String host, int port, int count) throws Exception {
        AtomicLong verified = new AtomicLong();
        AtomicLong verifiedBytes = new AtomicLong();
        AtomicLong totalNanos = new AtomicLong();
        try (SockrtPool pool = SockrtPool.builder().maxTotal(POOL_THREADS).open(host, port)) {
            Thread[] threads = new Thread[POOL_THREADS];
            for (int t = 0; t < POOL_THREADS; t++) {
                int first = t;
                threads[t] = new Thread(() -> {
                    byte[] out = new byte[MAX_MESSAGE];
                    byte[] in = new byte[MAX_MESSAGE];
                    for (int i = first; i < count; i += POOL_THREADS) {
                        long start = System.nanoTime();
                        int n = pooledRoundTrip(pool, i, out, in);
                        totalNanos.addAndGet(System.nanoTime() - start);
                        if (n < 0) {
                            break; // reported already; the RESULT line shows the shortfall
                        }
                        verified.incrementAndGet();
                        verifiedBytes.addAndGet(n);
                    }
                }, "pool-client-" + t);
                threads[t].start();
            }
            for (Thread thread : threads) {
                thread.join(60_000);
            }
            SockrtPool.Stats s = pool.stats();
            System.out.println("STATS created=" + s.created() + " reused=" + s.reused() + " idle=" + s.idle()
                    + " in_use=" + s.inUse() + " closed_broken=" + s.closedBroken() + " closed_stale="
                    + s.closedStale() + " waits=" + s.waits() + " timeouts=" + s.timeouts());
        }
        printResult(verified.get(), verifiedBytes.get(), totalNanos.get());
        return verified.get() == count;
    }

    /** One round trip on a leased connection: released if it went well, discarded if not. */
    private static int pooledRoundTrip(SockrtPool pool, int i, byte[] out, byte[] in) {
        PooledConnection conn;
        try {
            conn = pool.acquire();
        } catch (IOException e) {
            System.err.println("message " + i + ": acquire: " + e.getMessage());
            return -1;
        }
        try {
            conn.setSoTimeout(IO_TIMEOUT_MS);
            int n = roundTrip(conn, i, out, in);
            if (n < 0) {
                System.err.println("message " + i + ": echo differs");
                conn.discard();
            }
            return n;
        } catch (IOException e) {
            System.err.println("message " + i + ": " + e.getMessage());
            conn.discard();
            return -1;
        } finally {
            conn.close(); // back to the pool; does nothing after discard
        }
    }

    private static void printResult(long messages, long bytes, long totalNanos) {
        double meanUs = messages == 0 ? 0.0 : totalNanos / 1000.0 / messages;
        System.out.println(String.format(Locale.ROOT, "RESULT messages=%d bytes=%d mean_rtt_us=%.1f",
                messages, bytes, meanUs));
        System.out.flush();
    }
}
