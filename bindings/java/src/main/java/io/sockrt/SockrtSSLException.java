package io.sockrt;

import javax.net.ssl.SSLException;

/**
 * A TLS failure after the handshake: the peer ended TCP without close_notify
 * ({@link Sockrt#E_TLS_TRUNCATED}), or sent a bad record or a fatal alert
 * ({@link Sockrt#E_TLS_PROTOCOL}). Carries the library's status code.
 */
public class SockrtSSLException extends SSLException {
    private static final long serialVersionUID = 1L;

    private final int code;
    private final String name;

    /** Called by the JNI glue. */
    public SockrtSSLException(String message, int code, String name) {
        super(message);
        this.code = code;
        this.name = name;
    }

    /** The status code, one of the {@code Sockrt.E_TLS_*} constants. */
    public int code() {
        return code;
    }

    /** The code's constant name, e.g. {@code "SOCKRT_E_TLS_TRUNCATED"}. */
    public String name() {
        return name;
    }
}
