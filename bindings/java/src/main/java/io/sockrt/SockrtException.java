package io.sockrt;

import java.io.IOException;

/**
 * A libsockrt failure that has no closer match among the standard exceptions
 * (those become {@link java.net.SocketTimeoutException},
 * {@link java.net.ConnectException}, {@link java.net.UnknownHostException},
 * {@link java.net.SocketException} or {@link java.io.EOFException}). Carries the
 * library's status code, its constant name and the OS errno behind it.
 */
public class SockrtException extends IOException {
    private static final long serialVersionUID = 1L;

    private final int code;
    private final String name;
    private final int osError;

    /** Called by the JNI glue. */
    public SockrtException(String message, int code, String name, int osError) {
        super(message);
        this.code = code;
        this.name = name;
        this.osError = osError;
    }

    /** The status code, one of the {@code Sockrt.E_*} constants. */
    public int code() {
        return code;
    }

    /** The code's constant name, e.g. {@code "SOCKRT_E_POOL_EXHAUSTED"}. */
    public String name() {
        return name;
    }

    /** The OS errno behind the failure, 0 if none. */
    public int osError() {
        return osError;
    }
}
