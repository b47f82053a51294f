package io.sockrt;

import javax.net.ssl.SSLHandshakeException;

/**
 * A failed TLS handshake ({@link Sockrt#E_TLS_HANDSHAKE}) or a peer
 * certificate that failed verification ({@link Sockrt#E_TLS_CERTIFICATE});
 * the message names the reason (unknown issuer, expired, name mismatch, plain
 * text from the peer, ...). Carries the library's status code.
 */
public class SockrtSSLHandshakeException extends SSLHandshakeException {
    private static final long serialVersionUID = 1L;

    private final int code;
    private final String name;

    /** Called by the JNI glue. */
    public SockrtSSLHandshakeException(String message, int code, String name) {
        super(message);
        this.code = code;
        this.name = name;
    }

    /** The status code, {@link Sockrt#E_TLS_HANDSHAKE} or {@link Sockrt#E_TLS_CERTIFICATE}. */
    public int code() {
        return code;
    }

    /** The code's constant name, e.g. {@code "SOCKRT_E_TLS_CERTIFICATE"}. */
    public String name() {
        return name;
    }
}
