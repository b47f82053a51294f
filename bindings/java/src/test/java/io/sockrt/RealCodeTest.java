package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import javax.net.SocketFactory;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import okhttp3.ConnectionPool;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Code nobody here wrote, over sockets from SockrtSocketFactory, each check
 * also run over the JDK's default factory with the same assertions: OkHttp
 * against the JDK's HttpServer, and JSSE TLS layered on a connected socket.
 */
@Timeout(120)
class RealCodeTest {
    static {
        // The JDK's HttpServer closes a connection idle for 1 s (checked every
        // 100 ms); read once, when the first HttpServer is made in this JVM.
        System.setProperty("sun.net.httpserver.idleInterval", "1");
        System.setProperty("sun.net.httpserver.clockTick", "100");
    }

    static HttpServer http;
    static ExecutorService httpThreads;
    /** Remote ports the HTTP server saw, per path prefix: one per client connection. */
    static final Set<Integer> connections = ConcurrentHashMap.newKeySet();

    static Stream<Arguments> factories() {
        return Stream.of(Arguments.of("java.net", SocketFactory.getDefault()),
                Arguments.of("sockrt", new SockrtSocketFactory()));
    }

    @BeforeAll
    static void startHttpServer() throws IOException {
        http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        httpThreads = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "http-server");
            t.setDaemon(true);
            return t;
        });
        http.setExecutor(httpThreads);
        http.createContext("/hello", ex -> {
            connections.add(ex.getRemoteAddress().getPort());
            reply(ex, 200, "hello " + ex.getRequestMethod());
        });
        http.createContext("/echo", ex -> {
            connections.add(ex.getRemoteAddress().getPort());
            byte[] body;
            try (InputStream in = ex.getRequestBody()) {
                body = in.readAllBytes();
            }
            reply(ex, 200, ex.getRequestMethod() + " " + body.length + " " + sha(body));
        });
        http.createContext("/close", ex -> {
            // Serves, then closes the connection (as a server whose idle timer fired would).
            connections.add(ex.getRemoteAddress().getPort());
            ex.getResponseHeaders().set("Connection", "close");
            reply(ex, 200, "bye");
        });
        http.start();
    }

    @AfterAll
    static void stopHttpServer() {
        http.stop(0);
        httpThreads.shutdownNow();
    }

    static void reply(HttpExchange ex, int status, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    static String sha(byte[] data) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static String url(String path) {
        return "http://127.0.0.1:" + http.getAddress().getPort() + path;
    }

    /** A factory that remembers every socket it made, so a test can count them. */
    static final class Recording extends SocketFactory {
        final SocketFactory inner;
        final List<Socket> made = new CopyOnWriteArrayList<>();

        Recording(SocketFactory inner) {
            this.inner = inner;
        }

        Socket keep(Socket s) {
            made.add(s);
            return s;
        }

        @Override
        public Socket createSocket() throws IOException {
            return keep(inner.createSocket());
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return keep(inner.createSocket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress local, int localPort) throws IOException {
            return keep(inner.createSocket(host, port, local, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return keep(inner.createSocket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort)
                throws IOException {
            return keep(inner.createSocket(host, port, local, localPort));
        }
    }

    static OkHttpClient client(SocketFactory factory) {
        return new OkHttpClient.Builder()
                .socketFactory(factory)
                .connectionPool(new ConnectionPool(5, 1, TimeUnit.MINUTES))
                .connectTimeout(5, TimeUnit.SECONDS)
                .readTimeout(10, TimeUnit.SECONDS)
                .build();
    }

    static void shutdown(OkHttpClient client) {
        client.dispatcher().executorService().shutdown();
        client.connectionPool().evictAll();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("factories")
    void okHttpGetPostAndKeepAlive(String name, SocketFactory factory) throws Exception {
        Recording recording = new Recording(factory);
        OkHttpClient client = client(recording);
        try {
            connections.clear();
            for (int i = 0; i < 50; i++) {
                try (Response r = client.newCall(new Request.Builder().url(url("/hello")).build()).execute()) {
                    assertEquals(200, r.code());
                    assertEquals("hello GET", r.body().string());
                }
            }
            byte[] payload = new byte[300_000];
            new java.util.Random(7).nextBytes(payload);
            for (int i = 0; i < 10; i++) {
                RequestBody body = RequestBody.create(payload, MediaType.get("application/octet-stream"));
                try (Response r = client.newCall(new Request.Builder().url(url("/echo")).post(body).build())
                        .execute()) {
                    assertEquals(200, r.code());
                    assertEquals("POST " + payload.length + " " + sha(payload), r.body().string());
                }
            }
            // keep-alive: 60 requests, one after another, on one connection
            assertEquals(1, connections.size(), "server saw connections from ports " + connections);
            assertEquals(1, recording.made.size());
            Socket s = recording.made.get(0);
            assertEquals(name.equals("sockrt"), s instanceof SockrtSocketFactory.JavaSocket, s.getClass().getName());
        } finally {
            shutdown(client);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("factories")
    void okHttpAgainstAServerThatClosesConnections(String name, SocketFactory factory) throws Exception {
        Recording recording = new Recording(factory);
        OkHttpClient client = client(recording);
        try {
            connections.clear();
            for (int i = 0; i < 5; i++) {
                try (Response r = client.newCall(new Request.Builder().url(url("/close")).build()).execute()) {
                    assertEquals("bye", r.body().string());
                }
                // wait until the server really closed its side: our socket reads end of stream
                Socket last = recording.made.get(recording.made.size() - 1);
                awaitPeerClosed(last);
                try (Response r = client.newCall(new Request.Builder().url(url("/hello")).build()).execute()) {
                    assertEquals("hello GET", r.body().string());
                }
            }
            // every request after a close needed a new connection, and none failed
            assertEquals(recording.made.size(), connections.size(), "ports " + connections);
            assertTrue(recording.made.size() >= 6, "connections made: " + recording.made.size());
        } finally {
            shutdown(client);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("factories")
    void okHttpAgainstAServerThatClosesIdleConnections(String name, SocketFactory factory) throws Exception {
        Recording recording = new Recording(factory);
        OkHttpClient client = client(recording);
        try {
            connections.clear();
            for (int i = 0; i < 3; i++) {
                try (Response r = client.newCall(new Request.Builder().url(url("/hello")).build()).execute()) {
                    assertEquals("hello GET", r.body().string());
                }
                // the pooled connection idles until the server closes it (CLOSE_WAIT on our side)
                awaitCloseWait(recording.made.get(recording.made.size() - 1).getLocalPort());
            }
            try (Response r = client.newCall(new Request.Builder().url(url("/hello")).build()).execute()) {
                assertEquals("hello GET", r.body().string());
            }
            // OkHttp saw each stale connection and opened a new one, with no failed request
            assertEquals(4, recording.made.size());
            assertEquals(4, connections.size(), "ports " + connections);
        } finally {
            shutdown(client);
        }
    }

    /** Waits (bounded) until the TCP connection from this local port is in CLOSE_WAIT: the peer closed it. */
    static void awaitCloseWait(int localPort) throws Exception {
        String local = String.format(":%04X", localPort);
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (System.nanoTime() < deadline) {
            // java.net's sockets are IPv6 ones (v4-mapped addresses): they are listed in tcp6
            for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
                for (String line : Files.readAllLines(Path.of(table))) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length > 3 && f[1].endsWith(local) && f[3].equals("08")) {
                        return;
                    }
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("the server did not close the idle connection from port " + localPort);
    }

    /** Waits (bounded) until a socket the client closed or the server closed is done. */
    static void awaitPeerClosed(Socket s) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!s.isClosed() && System.nanoTime() < deadline) {
            // OkHttp closes a connection that answered "Connection: close" itself
            Thread.sleep(1);
        }
        assertTrue(s.isClosed(), "the client kept a connection the server closed");
    }

    // ---- TLS ----

    @TempDir
    static Path keys;

    /** A key store with a self-signed certificate for 127.0.0.1, made now with keytool. */
    static KeyStore keyStore() throws Exception {
        Path file = keys.resolve("server.p12");
        // a key store made once per run, here, with the JDK's keytool
        if (!Files.exists(file)) {
            Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
            Process p = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "server",
                    "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
                    "-dname", "CN=sockrt test", "-ext", "SAN=ip:127.0.0.1",
                    "-storetype", "PKCS12", "-keystore", file.toString(),
                    "-storepass", "changeit", "-keypass", "changeit")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "keytool hung");
            assertEquals(0, p.exitValue(), out);
        }
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(file)) {
            ks.load(in, "changeit".toCharArray());
        }
        return ks;
    }

    static SSLContext tls(boolean server) throws Exception {
        KeyStore ks = keyStore();
        SSLContext ctx = SSLContext.getInstance("TLS");
        if (server) {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, "changeit".toCharArray());
            ctx.init(kmf.getKeyManagers(), null, null);
        } else {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("server", ks.getCertificate("server"));
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            ctx.init(null, tmf.getTrustManagers(), null);
        }
        return ctx;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("factories")
    void tlsLayeredOnAConnectedSocket(String name, SocketFactory factory) throws Exception {
        SSLContext serverCtx = tls(true);
        SSLContext clientCtx = tls(false);
        try (SSLServerSocket server = (SSLServerSocket) serverCtx.getServerSocketFactory()
                .createServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            AtomicInteger lines = new AtomicInteger();
            CompletableFuture<String> served = CompletableFuture.supplyAsync(() -> {
                try (SSLSocket peer = (SSLSocket) server.accept()) {
                    BufferedReader r = new BufferedReader(new InputStreamReader(peer.getInputStream(),
                            StandardCharsets.UTF_8));
                    PrintWriter w = new PrintWriter(peer.getOutputStream(), true, StandardCharsets.UTF_8);
                    for (String line; (line = r.readLine()) != null; ) {
                        lines.incrementAndGet();
                        w.println(line.toUpperCase(java.util.Locale.ROOT));
                    }
                    return peer.getSession().getProtocol();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            Socket plain = factory.createSocket(InetAddress.getLoopbackAddress(), server.getLocalPort());
            assertEquals(name.equals("sockrt"), plain instanceof SockrtSocketFactory.JavaSocket);
            try (SSLSocket tls = (SSLSocket) clientCtx.getSocketFactory()
                    .createSocket(plain, "127.0.0.1", server.getLocalPort(), true)) {
                tls.startHandshake();
                X509Certificate cert = (X509Certificate) tls.getSession().getPeerCertificates()[0];
                assertEquals("CN=sockrt test", cert.getSubjectX500Principal().getName());
                PrintWriter w = new PrintWriter(tls.getOutputStream(), true, StandardCharsets.UTF_8);
                BufferedReader r = new BufferedReader(new InputStreamReader(tls.getInputStream(),
                        StandardCharsets.UTF_8));
                StringBuilder big = new StringBuilder();
                for (int i = 0; i < 20_000; i++) {
                    big.append('x');
                }
                for (int i = 0; i < 200; i++) {
                    String msg = "message " + i + (i % 50 == 0 ? big : "");
                    w.println(msg);
                    assertEquals(msg.toUpperCase(java.util.Locale.ROOT), r.readLine());
                }
                tls.shutdownOutput();
                String protocol = served.get(30, TimeUnit.SECONDS);
                assertNotNull(protocol);
                assertEquals(tls.getSession().getProtocol(), protocol);
                assertEquals(200, lines.get());
            }
            assertTrue(plain.isClosed(), "autoClose=true closes the layered socket");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("factories")
    void sockrtServerSocketServesOkHttp(String name, SocketFactory factory) throws Exception {
        // A plain-HTTP server written on a ServerSocket from the other factory family.
        javax.net.ServerSocketFactory ssf = name.equals("sockrt") ? new SockrtServerSocketFactory()
                : javax.net.ServerSocketFactory.getDefault();
        try (ServerSocket server = ssf.createServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Integer> served = CompletableFuture.supplyAsync(() -> {
                int requests = 0;
                try (Socket peer = server.accept()) {
                    BufferedReader r = new BufferedReader(new InputStreamReader(peer.getInputStream(),
                            StandardCharsets.ISO_8859_1));
                    OutputStream out = peer.getOutputStream();
                    for (String line; (line = r.readLine()) != null; ) {
                        if (line.isEmpty()) {
                            requests++;
                            byte[] body = ("request " + requests).getBytes(StandardCharsets.ISO_8859_1);
                            out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n")
                                    .getBytes(StandardCharsets.ISO_8859_1));
                            out.write(body);
                            out.flush();
                        }
                    }
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
                return requests;
            });
            OkHttpClient client = client(SocketFactory.getDefault()); // a java.net client
            try {
                for (int i = 1; i <= 20; i++) {
                    String u = "http://127.0.0.1:" + server.getLocalPort() + "/";
                    try (Response resp = client.newCall(new Request.Builder().url(u).build()).execute()) {
                        assertEquals("request " + i, resp.body().string());
                    }
                }
            } finally {
                shutdown(client);
            }
            assertEquals(20, served.get(20, TimeUnit.SECONDS));
        }
    }
}
