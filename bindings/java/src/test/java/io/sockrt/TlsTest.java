package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * io.sockrt TLS against Java's own TLS (JSSE) on both ends, with the same
 * failure run through JSSE alone so a difference shows. Certificates are made
 * by tests/tls/make_certs.sh (the openssl command).
 */
@Timeout(60)
class TlsTest {
    @TempDir
    static Path pki;

    private static final char[] PASS = "changeit".toCharArray();

    @BeforeAll
    static void makePki() throws Exception {
        Path repo = ConstantsTest.header().toAbsolutePath().getParent().getParent();
        run(repo, "sh", repo.resolve("tests/tls/make_certs.sh").toString(), pki.toString());
        run(pki, "openssl", "pkcs12", "-export", "-in", "chain.pem", "-inkey", "server.key",
                "-out", "server.p12", "-passout", "pass:changeit");
    }

    private static void run(Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).inheritIO().start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", command));
        assertEquals(0, p.exitValue(), String.join(" ", command));
    }

    private static SSLContext jsseServerContext() throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(pki.resolve("server.p12").toFile())) {
            ks.load(in, PASS);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, PASS);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    private static SSLContext jsseClientContext() throws Exception {
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        try (InputStream in = Files.newInputStream(pki.resolve("ca.pem"))) {
            ts.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    private static SockrtTlsConfig ourClient() throws Exception {
        return SockrtTlsConfig.client().systemRoots(false).trust(pki.resolve("ca.pem"));
    }

    private static String jsseName(int version) {
        return version == Sockrt.TLS_1_3 ? "TLSv1.3" : "TLSv1.2";
    }

    @ParameterizedTest
    @ValueSource(ints = {Sockrt.TLS_1_2, Sockrt.TLS_1_3})
    void ourClientAgainstAJsseServer(int version) throws Exception {
        SSLServerSocket server = (SSLServerSocket) jsseServerContext().getServerSocketFactory()
                .createServerSocket(0, 4, java.net.InetAddress.getLoopbackAddress());
        SSLParameters params = server.getSSLParameters();
        params.setApplicationProtocols(new String[] {"echo/1"});
        params.setProtocols(new String[] {jsseName(version)});
        server.setSSLParameters(params);
        server.setSoTimeout(10_000);
        CompletableFuture<String> seen = CompletableFuture.supplyAsync(() -> {
            try (SSLSocket s = (SSLSocket) server.accept()) {
                s.setSoTimeout(10_000);
                byte[] buf = new byte[5];
                new java.io.DataInputStream(s.getInputStream()).readFully(buf);
                s.getOutputStream().write(buf);
                s.getOutputStream().flush();
                return s.getSession().getProtocol() + " " + s.getApplicationProtocol();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        try (SockrtTlsConfig cfg = ourClient().alpn("echo/1").versions(version, version);
             SockrtTlsSocket s = SockrtTlsSocket.connect("127.0.0.1", server.getLocalPort(), cfg, "localhost", 10_000)) {
            assertEquals(jsseName(version), s.getProtocol());
            assertEquals("echo/1", s.getApplicationProtocol());
            assertFalse(s.isSessionResumed());
            assertEquals("CN=localhost,O=sockrt test", s.getPeerSubject());
            s.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            byte[] back = new byte[5];
            new java.io.DataInputStream(s.getInputStream()).readFully(back);
            assertArrayEquals("hello".getBytes(StandardCharsets.US_ASCII), back);
        }
        assertEquals(jsseName(version) + " echo/1", seen.get(20, TimeUnit.SECONDS));
        server.close();
    }

    @ParameterizedTest
    @ValueSource(ints = {Sockrt.TLS_1_2, Sockrt.TLS_1_3})
    void aJsseClientAgainstOurServer(int version) throws Exception {
        try (SockrtTlsConfig cfg = SockrtTlsConfig.server(pki.resolve("chain.pem"), pki.resolve("server.key"))
                .alpn("echo/1");
             SockrtTlsServerSocket server = new SockrtTlsServerSocket("127.0.0.1", 0, 4, cfg)) {
            server.setSoTimeout(10_000);
            CompletableFuture<String> seen = CompletableFuture.supplyAsync(() -> {
                try (SockrtTlsSocket s = server.accept()) {
                    s.setSoTimeout(10_000);
                    InputStream in = s.getInputStream();
                    OutputStream out = s.getOutputStream();
                    byte[] buf = new byte[4];
                    new java.io.DataInputStream(in).readFully(buf);
                    out.write(buf);
                    return s.getProtocol() + " " + s.getApplicationProtocol();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            try (SSLSocket c = (SSLSocket) jsseClientContext().getSocketFactory()
                    .createSocket("127.0.0.1", server.getLocalPort())) {
                SSLParameters params = c.getSSLParameters();
                params.setApplicationProtocols(new String[] {"echo/1"});
                params.setProtocols(new String[] {jsseName(version)});
                params.setEndpointIdentificationAlgorithm("HTTPS"); // host name check, as ours
                params.setServerNames(java.util.List.of(new javax.net.ssl.SNIHostName("localhost")));
                c.setSSLParameters(params);
                c.setSoTimeout(10_000);
                c.startHandshake();
                assertEquals(jsseName(version), c.getSession().getProtocol());
                assertEquals("echo/1", c.getApplicationProtocol());
                c.getOutputStream().write("jsse".getBytes(StandardCharsets.US_ASCII));
                byte[] back = new byte[4];
                new java.io.DataInputStream(c.getInputStream()).readFully(back);
                assertArrayEquals("jsse".getBytes(StandardCharsets.US_ASCII), back);
            }
            assertEquals(jsseName(version) + " echo/1", seen.get(20, TimeUnit.SECONDS));
        }
    }

    @Test
    void anUnknownIssuerIsAnSslHandshakeExceptionAsInJsse() throws Exception {
        SSLServerSocket server = (SSLServerSocket) jsseServerContext().getServerSocketFactory()
                .createServerSocket(0, 4, java.net.InetAddress.getLoopbackAddress());
        server.setSoTimeout(10_000);
        CompletableFuture<Void> serving = CompletableFuture.runAsync(() -> {
            for (int i = 0; i < 2; i++) {
                try (SSLSocket s = (SSLSocket) server.accept()) {
                    s.startHandshake();
                } catch (Exception expected) {
                    // the client refused our certificate
                }
            }
        });
        // JSSE with the JDK's default trust store does not know the test CA...
        SSLSocket jsse = (SSLSocket) SSLContext.getDefault().getSocketFactory()
                .createSocket("127.0.0.1", server.getLocalPort());
        assertThrows(SSLHandshakeException.class, jsse::startHandshake);
        jsse.close();
        // ...nor does the system's, which is what ours trusts by default.
        try (SockrtTlsConfig cfg = SockrtTlsConfig.client()) {
            SSLHandshakeException e = assertThrows(SSLHandshakeException.class,
                    () -> SockrtTlsSocket.connect("127.0.0.1", server.getLocalPort(), cfg, "localhost", 10_000));
            SockrtSSLHandshakeException ours = assertInstanceOf(SockrtSSLHandshakeException.class, e);
            assertEquals(Sockrt.E_TLS_CERTIFICATE, ours.code());
            assertTrue(e.getMessage().contains("unknown issuer"), e.getMessage());
        }
        serving.get(20, TimeUnit.SECONDS);
        server.close();
    }

    @Test
    void truncationIsAnSslException() throws Exception {
        SSLContext ctx = jsseServerContext();
        try (java.net.ServerSocket plain = new java.net.ServerSocket(0, 4, java.net.InetAddress.getLoopbackAddress());
             SockrtTlsConfig client = ourClient()) {
            plain.setSoTimeout(10_000);
            CompletableFuture<Void> serving = CompletableFuture.runAsync(() -> {
                try (java.net.Socket raw = plain.accept()) {
                    SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(raw, null, false);
                    s.setUseClientMode(false);
                    s.startHandshake();
                    s.getOutputStream().write(1);
                    s.getOutputStream().flush();
                    // TCP ends under JSSE's feet: no close_notify.
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            try (SockrtTlsSocket s = SockrtTlsSocket.connect("127.0.0.1", plain.getLocalPort(), client,
                    "localhost", 10_000)) {
                s.setSoTimeout(10_000);
                assertEquals(1, s.getInputStream().read());
                serving.get(20, TimeUnit.SECONDS);
                SSLException e = assertThrows(SSLException.class, () -> s.getInputStream().read());
                assertEquals(Sockrt.E_TLS_TRUNCATED, assertInstanceOf(SockrtSSLException.class, e).code());
            }
        }
    }
}
