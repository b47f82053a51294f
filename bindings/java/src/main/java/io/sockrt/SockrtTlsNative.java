package io.sockrt;

import java.io.IOException;

/** The TLS native methods of the binding, implemented in bindings/java/native/tls.c. */
final class SockrtTlsNative {
    private SockrtTlsNative() {}

    static native long clientConfig() throws IOException;

    static native long serverConfig(byte[] certPem, byte[] keyPem) throws IOException;

    static native void addCaPem(long cfg, byte[] pem) throws IOException;

    static native void useSystemRoots(long cfg, boolean on) throws IOException;

    static native void clientCert(long cfg, byte[] certPem, byte[] keyPem) throws IOException;

    static native void dangerousDisableVerification(long cfg) throws IOException;

    static native void verifyClients(long cfg, byte[] caPem, boolean required) throws IOException;

    static native void addAlpn(long cfg, byte[] protocol) throws IOException;

    static native void versions(long cfg, int min, int max) throws IOException;

    static native void resumption(long cfg, boolean on) throws IOException;

    static native long connect(String host, int port, long cfg, String serverName, int timeoutMs)
            throws IOException;

    static native long accept(long listener, long cfg, int timeoutMs) throws IOException;

    /** [version, cipher suite, resumed, peer certificate]; names via the other calls. */
    static native void info(long h, int[] out) throws IOException;

    static native String cipherSuiteName(long h) throws IOException;

    static native byte[] alpn(long h) throws IOException;

    static native String peerSubject(long h) throws IOException;
}
