package io.sockrt;

import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A TLS configuration held by libsockrt (rustls): for clients, what to trust
 * (the system's trust store by default, plus PEM CA bundles), a client
 * certificate for mutual TLS, ALPN, versions; for servers, the certificate
 * chain and key, optional client verification, ALPN. Shareable between
 * threads; settings are fixed once a connection has used it. Verification
 * cannot be turned off by accident: {@link #dangerousDisableVerification()}
 * is for tests only.
 */
public final class SockrtTlsConfig extends SockrtResource {
    private SockrtTlsConfig(long handle) {
        super(handle);
    }

    /** A client config: system roots, verification of chain and host name, TLS 1.2 and 1.3. */
    public static SockrtTlsConfig client() throws IOException {
        NativeLibrary.load();
        return new SockrtTlsConfig(SockrtTlsNative.clientConfig());
    }

    /** A server config presenting {@code certPem} (leaf first) with the key {@code keyPem}. */
    public static SockrtTlsConfig server(byte[] certPem, byte[] keyPem) throws IOException {
        NativeLibrary.load();
        return new SockrtTlsConfig(SockrtTlsNative.serverConfig(certPem, keyPem));
    }

    /** A server config from PEM files. */
    public static SockrtTlsConfig server(Path certPem, Path keyPem) throws IOException {
        return server(Files.readAllBytes(certPem), Files.readAllBytes(keyPem));
    }

    /** Client: also trusts the CA certificates of a PEM bundle. */
    public SockrtTlsConfig trust(byte[] caPem) throws IOException {
        try {
            SockrtTlsNative.addCaPem(liveHandle(), caPem);
            return this;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Client: also trusts the CA certificates of a PEM file. */
    public SockrtTlsConfig trust(Path caPem) throws IOException {
        return trust(Files.readAllBytes(caPem));
    }

    /** Client: whether the system's trust store is trusted (the default). */
    public SockrtTlsConfig systemRoots(boolean on) throws IOException {
        try {
            SockrtTlsNative.useSystemRoots(liveHandle(), on);
            return this;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Client: the certificate and key presented for mutual TLS. */
    public SockrtTlsConfig clientCertificate(Path certPem, Path keyPem) throws IOException {
        try {
            SockrtTlsNative.clientCert(liveHandle(), Files.readAllBytes(certPem), Files.readAllBytes(keyPem));
            return this;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * DANGEROUS, tests only: accept any server certificate for any name. The
     * connection is then encrypted but not authenticated.
     */
    public SockrtTlsConfig dangerousDisableVerification() throws IOException {
        try {
            SockrtTlsNative.dangerousDisableVerification(liveHandle());
            return this;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Server: verify client certificates against the CAs of a PEM file. */
    public SockrtTlsConfig verifyClients(Path caPem, boolean required) throws IOException {
        try {
            SockrtTlsNative.verifyClients(liveHandle(), Files.readAllBytes(caPem), required);
            return this;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** ALPN protocols, preferred first. */
    public SockrtTlsConfig alpn(String... protocols) throws IOException {
        try {
            for (String p : protocols) {
                SockrtTlsNative.addAlpn(liveHandle(), p.getBytes(StandardCharsets.US_ASCII));
            }
            return this;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Versions allowed: {@link Sockrt#TLS_1_2} and/or {@link Sockrt#TLS_1_3} (0: no limit). */
    public SockrtTlsConfig versions(int min, int max) throws IOException {
        try {
            SockrtTlsNative.versions(liveHandle(), min, max);
            return this;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Whether sessions are kept for resumption (the default). */
    public SockrtTlsConfig resumption(boolean on) throws IOException {
        try {
            SockrtTlsNative.resumption(liveHandle(), on);
            return this;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    @Override
    String closedMessage() {
        return "TLS config is closed";
    }
}
