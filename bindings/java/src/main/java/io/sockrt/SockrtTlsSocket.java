package io.sockrt;

import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;

/**
 * A TLS connection (libsockrt on rustls): a {@link SockrtSocket} whose handle is
 * a TLS stream, so every read, write, timeout and close works as on a plain
 * one, and {@code close()} from another thread wakes blocked calls. Failures
 * are {@link javax.net.ssl.SSLHandshakeException} (a failed handshake or
 * certificate) and {@link javax.net.ssl.SSLException} (truncation, bad
 * records), both carrying the library's code.
 */
public final class SockrtTlsSocket extends SockrtSocket {
    SockrtTlsSocket(long handle) {
        super(handle, 0);
    }

    /**
     * Resolves, connects and does the handshake within {@code timeoutMs} (0: no
     * limit); the certificate must be valid for {@code serverName} (null: host).
     */
    public static SockrtTlsSocket connect(String host, int port, SockrtTlsConfig config, String serverName,
                                          int timeoutMs) throws IOException {
        NativeLibrary.load();
        try {
            return new SockrtTlsSocket(SockrtTlsNative.connect(host, port, config.liveHandle(), serverName,
                    timeoutMs <= 0 ? -1 : timeoutMs));
        } finally {
            Reference.reachabilityFence(config);
        }
    }

    private int[] info() throws IOException {
        int[] v = new int[4];
        try {
            SockrtTlsNative.info(liveHandle(), v);
        } finally {
            Reference.reachabilityFence(this);
        }
        return v;
    }

    /** "TLSv1.2" or "TLSv1.3", as {@code SSLSession.getProtocol()} names them. */
    public String getProtocol() throws IOException {
        return info()[0] == Sockrt.TLS_1_3 ? "TLSv1.3" : "TLSv1.2";
    }

    /** The cipher suite's IANA number. */
    public int getCipherSuiteId() throws IOException {
        return info()[1];
    }

    /** The cipher suite's name as rustls spells it, e.g. "TLS13_AES_256_GCM_SHA384". */
    public String getCipherSuite() throws IOException {
        try {
            return SockrtTlsNative.cipherSuiteName(liveHandle());
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** The ALPN protocol agreed on, or null (as {@code SSLSocket.getApplicationProtocol} gives ""). */
    public String getApplicationProtocol() throws IOException {
        try {
            byte[] p = SockrtTlsNative.alpn(liveHandle());
            return p == null ? null : new String(p, StandardCharsets.US_ASCII);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Whether the handshake resumed an earlier session. */
    public boolean isSessionResumed() throws IOException {
        return info()[2] == 1;
    }

    /** The peer certificate's subject (RFC 4514), or null if the peer sent none. */
    public String getPeerSubject() throws IOException {
        try {
            return SockrtTlsNative.peerSubject(liveHandle());
        } finally {
            Reference.reachabilityFence(this);
        }
    }
}
