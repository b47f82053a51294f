import io.sockrt.Sockrt;
import io.sockrt.SockrtTlsConfig;
import io.sockrt.SockrtTlsSocket;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.Locale;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS from Java: io.sockrt's SockrtTlsSocket against JSSE's SSLSocket, both
 * clients of the same libsockrt TLS server (bench/tls_bench serve) in one
 * run: bulk (64 KiB writes) and rtt64 (64-byte round trips), TCP_NODELAY on.
 * Prints each measurement and "ratio NAME VALUE" (sockrt over JSSE).
 *
 * usage: TlsBench TLS_BENCH PKI_DIR [quick]
 */
public final class TlsBench {
    interface Conn extends java.io.Closeable {
        InputStream in();

        OutputStream out();
    }

    public static void main(String[] args) throws Exception {
        String pki = args[1];
        boolean quick = args.length > 2 && args[2].equals("quick");
        long bulkBytes = (quick ? 32L : 256L) << 20;
        int rounds = quick ? 3000 : 20000;
        Process server = new ProcessBuilder(args[0], pki, "serve", "300").redirectErrorStream(true).start();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.US_ASCII));
            int port = Integer.parseInt(r.readLine().split(" ")[1]);

            KeyStore ts = KeyStore.getInstance("PKCS12");
            ts.load(null, null);
            try (InputStream in = Files.newInputStream(Path.of(pki, "ca.pem"))) {
                ts.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ts);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            SockrtTlsConfig cfg = SockrtTlsConfig.client().systemRoots(false).trust(Path.of(pki, "ca.pem"));

            double[] jsse = run(() -> {
                Socket raw = new Socket("127.0.0.1", port);
                raw.setTcpNoDelay(true);
                SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(raw, "localhost", port, true);
                SSLParameters p = s.getSSLParameters();
                p.setEndpointIdentificationAlgorithm("HTTPS");
                p.setServerNames(java.util.List.of(new SNIHostName("localhost")));
                s.setSSLParameters(p);
                s.startHandshake();
                return conn(s.getInputStream(), s.getOutputStream(), s);
            }, bulkBytes, rounds);
            double[] ours = run(() -> {
                SockrtTlsSocket s = SockrtTlsSocket.connect("127.0.0.1", port, cfg, "localhost", 10_000);
                s.setTcpNoDelay(true);
                return conn(s.getInputStream(), s.getOutputStream(), s::close);
            }, bulkBytes, rounds);
            System.out.printf(Locale.ROOT, "java jsse        bulk %8.1f MiB/s   rtt64 %7.1f us%n", jsse[0], jsse[1]);
            System.out.printf(Locale.ROOT, "java sockrt tls  bulk %8.1f MiB/s   rtt64 %7.1f us%n", ours[0], ours[1]);
            System.out.printf(Locale.ROOT, "ratio java_tls_bulk_vs_jsse %.2f%n", ours[0] / jsse[0]);
            System.out.printf(Locale.ROOT, "ratio java_tls_rtt64_vs_jsse %.2f%n", jsse[1] / ours[1]);
            cfg.close();
            System.out.println("libsockrt " + Sockrt.version());
        } finally {
            server.destroy();
            server.waitFor();
        }
    }

    interface Opener {
        Conn open() throws Exception;
    }

    static Conn conn(InputStream in, OutputStream out, java.io.Closeable c) {
        return new Conn() {
            public InputStream in() {
                return in;
            }

            public OutputStream out() {
                return out;
            }

            public void close() throws java.io.IOException {
                c.close();
            }
        };
    }

    /** [bulk MiB/s, rtt64 us]. */
    static double[] run(Opener opener, long bulkBytes, int rounds) throws Exception {
        byte[] chunk = new byte[65536];
        double mibs;
        try (Conn c = opener.open()) {
            byte[] head = new byte[9];
            head[0] = 'S';
            for (int i = 0; i < 8; i++) {
                head[1 + i] = (byte) (bulkBytes >>> (56 - 8 * i));
            }
            c.out().write(head);
            long t0 = System.nanoTime();
            for (long sent = 0; sent < bulkBytes; sent += chunk.length) {
                c.out().write(chunk);
            }
            c.out().flush();
            if (c.in().read() != 'k') {
                throw new IllegalStateException("no ack from the sink");
            }
            mibs = bulkBytes / (double) (1 << 20) / ((System.nanoTime() - t0) / 1e9);
        }
        double us;
        try (Conn c = opener.open()) {
            byte[] req = new byte[64];
            byte[] resp = new byte[64];
            c.out().write('E');
            DataInputStream in = new DataInputStream(c.in());
            for (int i = 0; i < 200; i++) {
                c.out().write(req);
                in.readFully(resp);
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < rounds; i++) {
                c.out().write(req);
                in.readFully(resp);
            }
            us = (System.nanoTime() - t0) / 1e3 / rounds;
        }
        return new double[] {mibs, us};
    }
}
