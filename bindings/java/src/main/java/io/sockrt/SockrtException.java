package io.sockrt;

import java.net.SocketException;

/**
 * A libsockrt failure that has no closer match among the standard exceptions
 * (those become {@link java.net.SocketTimeoutException},
 * {@link java.net.ConnectException}, {@link java.net.BindException},
 * {@link java.net.NoRouteToHostException}, {@link java.net.UnknownHostException},
 * {@link java.net.SocketException} or {@link java.io.EOFException}): the
 * library's own codes, such as {@link Sockrt#E_POOL_EXHAUSTED},
 * {@link Sockrt#E_POOL_CLOSED} or {@link Sockrt#E_WRONG_KIND}. It is a
 * {@link SocketException}, so code written for java.net catches it. Carries
 * the library's status code, its constant name and the OS errno behind it.
 */
public class SockrtException extends SocketException {
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
