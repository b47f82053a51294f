import io.sockrt.PooledConnection;
import io.sockrt.SockrtDatagramSocket;
import io.sockrt.SockrtPool;
import io.sockrt.SockrtSocket;
import io.sockrt.SockrtSocketFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Java clients: the workloads of the C clients on java.net.Socket
 * ("net"), on io.sockrt with byte[] ("sockrt") and with direct ByteBuffers
 * ("sockrt-direct"), and those two with each round trip done by one
 * exchange call instead of sendAll + recvExact ("sockrt-exchange",
 * "sockrt-direct-exchange"), and java.net.Socket objects made by
 * io.sockrt.SockrtSocketFactory driven by the same java.net code as "net"
 * ("net-sockrt"). Prints one JSON line (see bench/bench_common.h).
 *
 * The pool64x8 workload: --threads threads (64) make --count round trips in
 * all (64000 if not given) through --conns (8) connections: "net" leases
 * java.net sockets from an ArrayBlockingQueue, the sockrt clients lease from
 * a SockrtPool. It prints requests/s and the failed requests.
 *
 * usage: SockBench net|net-sockrt|sockrt|sockrt-direct|sockrt-exchange|sockrt-direct-exchange
 *        WORKLOAD [--echo P] [--sink P]
 *        [--udp P] [--count N] [--warmup N] [--bytes N] [--busy-us N] [--host H]
 *        [--threads N] [--conns N]
 */
public final class SockBench {
    static final int MSG = 64;
    static final int CHUNK = 65536;

    String impl;
    String workload;
    String host = "127.0.0.1";
    int echo, sink, udp, busyUs = 50, threads = 64, poolSize = 8;
    long count, warmup = 2000, bytes = 1L << 30;

    public static void main(String[] args) throws Exception {
        SockBench b = new SockBench();
        b.parse(args);
        System.out.println(b.run());
    }

    void parse(String[] a) {
        if (a.length < 2) {
            throw new IllegalArgumentException("usage: SockBench IMPL WORKLOAD [--opt value]...");
        }
        impl = a[0];
        workload = a[1];
        for (int i = 2; i + 1 < a.length; i += 2) {
            long v = a[i].equals("--host") ? 0 : Long.parseLong(a[i + 1]);
            switch (a[i]) {
                case "--host" -> host = a[i + 1];
                case "--echo" -> echo = (int) v;
                case "--sink" -> sink = (int) v;
                case "--udp" -> udp = (int) v;
                case "--count" -> count = v;
                case "--warmup" -> warmup = v;
                case "--bytes" -> bytes = v;
                case "--busy-us" -> busyUs = (int) v;
                case "--threads" -> threads = (int) v;
                case "--conns", "--pool-size" -> poolSize = (int) v;
                default -> throw new IllegalArgumentException("unknown option " + a[i]);
            }
        }
        if (count <= 0) {
            count = workload.equals("connect") || workload.equals("pooled") ? 5000
                    : workload.equals("pool64x8") ? 64000 : 50000;
        }
    }

    String client() {
        return "java-" + impl;
    }

    boolean direct() {
        return impl.startsWith("sockrt-direct");
    }

    boolean exchange() {
        return impl.endsWith("-exchange");
    }

    String run() throws Exception {
        return switch (workload) {
            case "rtt64" -> rtt(false);
            case "rtt64-busy" -> rtt(true);
            case "udp64" -> udp();
            case "bulk" -> bulk();
            case "connect" -> requests(false);
            case "pooled" -> requests(true);
            case "pool64x8" -> contendedPool();
            default -> throw new IllegalArgumentException("unknown workload " + workload);
        };
    }

    // ---- one connection, whatever the library ----

    /** A 64-byte round trip and a bulk write, on one of the three APIs. */
    interface Conn extends AutoCloseable {
        void roundTrip() throws IOException;

        void sendChunk() throws IOException;

        void finishBulk() throws IOException;

        @Override
        void close() throws IOException;
    }

    static final class NetConn implements Conn {
        final Socket s;
        final InputStream in;
        final OutputStream out;
        final byte[] msg = new byte[MSG];
        final byte[] chunk;

        NetConn(String host, int port, boolean bulk) throws IOException {
            this(new Socket(), host, port, bulk);
        }

        NetConn(Socket socket, String host, int port, boolean bulk) throws IOException {
            s = socket;
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(host, port));
            in = s.getInputStream();
            out = s.getOutputStream();
            chunk = bulk ? new byte[CHUNK] : null;
        }

        public void roundTrip() throws IOException {
            out.write(msg);
            readFully(msg);
        }

        void readFully(byte[] b) throws IOException {
            int got = 0;
            while (got < b.length) {
                int n = in.read(b, got, b.length - got);
                if (n < 0) {
                    throw new IOException("peer closed");
                }
                got += n;
            }
        }

        public void sendChunk() throws IOException {
            out.write(chunk);
        }

        public void finishBulk() throws IOException {
            s.shutdownOutput();
            readFully(new byte[1]);
        }

        public void close() throws IOException {
            s.close();
        }
    }

    static final class SockrtConn implements Conn {
        final SockrtSocket s;
        final boolean direct;
        final boolean exchange;
        final byte[] msg = new byte[MSG];
        final ByteBuffer dmsg = ByteBuffer.allocateDirect(MSG);
        final byte[] chunk;
        final ByteBuffer dchunk;

        SockrtConn(SockrtSocket s, boolean direct, boolean exchange, boolean bulk) throws IOException {
            this.s = s;
            this.direct = direct;
            this.exchange = exchange;
            s.setTcpNoDelay(true);
            chunk = bulk && !direct ? new byte[CHUNK] : null;
            dchunk = bulk && direct ? ByteBuffer.allocateDirect(CHUNK) : null;
        }

        public void roundTrip() throws IOException {
            if (exchange) {
                if (direct) {
                    dmsg.clear();
                    s.exchange(dmsg, dmsg);
                } else {
                    s.exchange(msg, 0, MSG, msg, 0, MSG);
                }
            } else if (direct) {
                dmsg.clear();
                s.sendAll(dmsg);
                dmsg.clear();
                s.recvExact(dmsg);
            } else {
                s.sendAll(msg);
                s.recvExact(msg);
            }
        }

        public void sendChunk() throws IOException {
            if (direct) {
                dchunk.clear();
                s.sendAll(dchunk);
            } else {
                s.sendAll(chunk);
            }
        }

        public void finishBulk() throws IOException {
            s.shutdownOutput();
            s.recvExact(new byte[1]);
        }

        public void close() throws IOException {
            s.close();
        }
    }

    Conn connect(int port, boolean bulk) throws IOException {
        if (impl.equals("net")) {
            return new NetConn(host, port, bulk);
        }
        if (impl.equals("net-sockrt")) {
            return new NetConn(FACTORY.createSocket(), host, port, bulk);
        }
        return new SockrtConn(new SockrtSocket(host, port), direct(), exchange(), bulk);
    }

    // ---- workloads ----

    String rtt(boolean busy) throws IOException {
        try (Conn c = connect(echo, false)) {
            if (busy) {
                if (!(c instanceof SockrtConn sc)) {
                    throw new IllegalArgumentException("rtt64-busy needs sockrt");
                }
                sc.s.setBusyPollMicros(busyUs);
            }
            for (long i = 0; i < warmup; i++) {
                c.roundTrip();
            }
            long[] samples = new long[(int) count];
            long cpu0 = cpuNanos();
            for (int i = 0; i < count; i++) {
                long t0 = System.nanoTime();
                c.roundTrip();
                samples[i] = System.nanoTime() - t0;
            }
            long cpu = cpuNanos() - cpu0;
            return latency(busy ? "rtt64-busy" : "rtt64", samples, cpu,
                    busy ? ",\"busy_us\":" + busyUs : "");
        }
    }

    String udp() throws IOException {
        long[] samples = new long[(int) count];
        long cpu0 = 0;
        if (impl.equals("net")) {
            try (DatagramSocket s = new DatagramSocket()) {
                s.connect(new InetSocketAddress(host, udp));
                s.setSoTimeout(5000);
                byte[] buf = new byte[MSG];
                DatagramPacket out = new DatagramPacket(buf, MSG);
                DatagramPacket in = new DatagramPacket(buf, MSG);
                for (long i = 0; i < warmup + count; i++) {
                    if (i == warmup) {
                        cpu0 = cpuNanos();
                    }
                    long t0 = System.nanoTime();
                    s.send(out);
                    s.receive(in);
                    if (i >= warmup) {
                        samples[(int) (i - warmup)] = System.nanoTime() - t0;
                    }
                }
            }
        } else {
            boolean direct = impl.equals("sockrt-direct");
            try (SockrtDatagramSocket s = new SockrtDatagramSocket(host, 0)) {
                s.setSoTimeout(5000);
                byte[] buf = new byte[MSG];
                ByteBuffer dbuf = ByteBuffer.allocateDirect(MSG);
                for (long i = 0; i < warmup + count; i++) {
                    if (i == warmup) {
                        cpu0 = cpuNanos();
                    }
                    long t0 = System.nanoTime();
                    if (direct) {
                        dbuf.clear();
                        s.send(dbuf, host, udp);
                        dbuf.clear();
                        s.receive(dbuf);
                    } else {
                        s.send(buf, 0, MSG, host, udp);
                        s.receive(buf, 0, MSG);
                    }
                    if (i >= warmup) {
                        samples[(int) (i - warmup)] = System.nanoTime() - t0;
                    }
                }
            }
        }
        return latency("udp64", samples, cpuNanos() - cpu0, "");
    }

    String bulk() throws IOException {
        long chunks = bytes / CHUNK;
        try (Conn c = connect(sink, true)) {
            long cpu0 = cpuNanos();
            long t0 = System.nanoTime();
            for (long i = 0; i < chunks; i++) {
                c.sendChunk();
            }
            c.finishBulk();
            long ns = System.nanoTime() - t0;
            long cpu = cpuNanos() - cpu0;
            return String.format(Locale.ROOT,
                    "{\"client\":\"%s\",\"workload\":\"bulk\",\"unit\":\"GB/s\",\"value\":%.3f,"
                            + "\"bytes\":%d,\"seconds\":%.4f,\"cpu_us_per_op\":%.3f}",
                    client(), (double) (chunks * CHUNK) / ns, chunks * CHUNK, ns / 1e9,
                    cpu / 1e3 / chunks);
        }
    }

    String requests(boolean pooled) throws IOException {
        long cpu0 = cpuNanos();
        long t0 = System.nanoTime();
        if (pooled) {
            if (impl.equals("net")) {
                throw new IllegalArgumentException("pooled needs sockrt");
            }
            try (SockrtPool pool = new SockrtPool(host, echo)) {
                for (long i = 0; i < count; i++) {
                    try (PooledConnection pc = pool.acquire()) {
                        new SockrtConn(pc, direct(), exchange(), false).roundTrip();
                    }
                }
            }
        } else {
            for (long i = 0; i < count; i++) {
                try (Conn c = connect(echo, false)) {
                    c.roundTrip();
                }
            }
        }
        long ns = System.nanoTime() - t0;
        long cpu = cpuNanos() - cpu0;
        return String.format(Locale.ROOT,
                "{\"client\":\"%s\",\"workload\":\"%s\",\"unit\":\"us\",\"value\":%.3f,"
                        + "\"count\":%d,\"cpu_us_per_op\":%.3f}",
                client(), pooled ? "pooled" : "connect", ns / 1e3 / count, count,
                cpu / 1e3 / count);
    }

    static final SockrtSocketFactory FACTORY = new SockrtSocketFactory();

    /** Many threads, few connections: requests per second and failed requests. */
    String contendedPool() throws Exception {
        AtomicLong next = new AtomicLong();
        AtomicLong failures = new AtomicLong();
        List<Thread> workers = new ArrayList<>();
        long cpu0;
        long t0;
        long ns;
        if (impl.equals("net")) {
            ArrayBlockingQueue<NetConn> idle = new ArrayBlockingQueue<>(poolSize);
            for (int i = 0; i < poolSize; i++) {
                idle.add(new NetConn(host, echo, false));
            }
            cpu0 = cpuNanos();
            t0 = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                workers.add(startThread(() -> {
                    while (next.getAndIncrement() < count) {
                        NetConn c = null;
                        try {
                            c = idle.take();
                            c.roundTrip();
                        } catch (Exception e) {
                            failures.incrementAndGet();
                        } finally {
                            if (c != null) {
                                idle.add(c);
                            }
                        }
                    }
                }));
            }
            join(workers);
            ns = System.nanoTime() - t0;
            for (NetConn c : idle) {
                c.close();
            }
        } else {
            // As the C row: no liveness probe, which the queue of java.net sockets does not make either.
            try (SockrtPool pool = SockrtPool.builder().maxTotal(poolSize).maxIdle(poolSize)
                    .acquireTimeoutMs(-1).checkOnAcquire(false).open(host, echo)) {
                cpu0 = cpuNanos();
                t0 = System.nanoTime();
                for (int t = 0; t < threads; t++) {
                    workers.add(startThread(() -> {
                        byte[] msg = new byte[MSG]; // per thread, as NetConn's
                        while (next.getAndIncrement() < count) {
                            try (PooledConnection pc = pool.acquire()) {
                                pc.sendAll(msg);
                                pc.recvExact(msg);
                            } catch (Exception e) {
                                failures.incrementAndGet();
                            }
                        }
                    }));
                }
                join(workers);
                ns = System.nanoTime() - t0;
            }
        }
        long cpu = cpuNanos() - cpu0;
        return String.format(Locale.ROOT,
                "{\"client\":\"%s\",\"workload\":\"pool64x8\",\"unit\":\"req/s\",\"value\":%.1f,"
                        + "\"count\":%d,\"threads\":%d,\"pool_size\":%d,\"failures\":%d,"
                        + "\"cpu_us_per_op\":%.3f}",
                client(), count * 1e9 / ns, count, threads, poolSize, failures.get(), cpu / 1e3 / count);
    }

    static Thread startThread(Runnable body) {
        Thread t = new Thread(body);
        t.start();
        return t;
    }

    static void join(List<Thread> workers) throws InterruptedException {
        for (Thread w : workers) {
            w.join();
        }
    }

    // ---- reporting ----

    String latency(String name, long[] samples, long cpuNs, String extra) {
        double sum = 0;
        for (long s : samples) {
            sum += s;
        }
        Arrays.sort(samples);
        int n = samples.length;
        return String.format(Locale.ROOT,
                "{\"client\":\"%s\",\"workload\":\"%s\",\"unit\":\"us\",\"value\":%.3f,"
                        + "\"p50_us\":%.3f,\"p99_us\":%.3f,\"count\":%d,\"cpu_us_per_op\":%.3f%s}",
                client(), name, sum / n / 1e3, samples[n / 2] / 1e3,
                samples[(int) ((n - 1) * 0.99)] / 1e3, n, cpuNs / 1e3 / n, extra);
    }

    /** User + system CPU time of the whole process (every JVM thread). */
    static long cpuNanos() {
        var os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getProcessCpuTime();
        }
        return 0;
    }
}
