package io.sockrt;

/**
 * The constants of {@code sockrt.h} (without their {@code SOCKRT_} prefix) and
 * library-wide queries. A test compares every constant with the header.
 */
public final class Sockrt {
    private Sockrt() {}

    /** Status codes: OK, or a negative failure (see sockrt.h for each). */
    public static final int OK = 0;
    public static final int E_INVALID_ARGUMENT = -1;
    public static final int E_BAD_HANDLE = -2;
    public static final int E_WRONG_KIND = -3;
    public static final int E_INVALID_STATE = -4;
    public static final int E_NOT_CONNECTED = -5;
    public static final int E_TIMEOUT = -6;
    public static final int E_CLOSED = -7;
    public static final int E_EOF = -8;
    public static final int E_CONNECTION_REFUSED = -9;
    public static final int E_CONNECTION_RESET = -10;
    public static final int E_ADDRESS_IN_USE = -11;
    public static final int E_ADDRESS_NOT_AVAILABLE = -12;
    public static final int E_RESOLVE = -13;
    public static final int E_UNREACHABLE = -14;
    public static final int E_POOL_EXHAUSTED = -15;
    public static final int E_POOL_CLOSED = -16;
    public static final int E_LIMIT = -17;
    public static final int E_PANIC = -18;
    public static final int E_IO = -19;
    public static final int E_INTERRUPTED = -20;
    public static final int E_WOULD_BLOCK = -21;
    public static final int E_IN_PROGRESS = -22;
    /** The TLS handshake failed (thrown as {@link javax.net.ssl.SSLHandshakeException}). */
    public static final int E_TLS_HANDSHAKE = -23;
    /** The peer's certificate failed verification (an {@link javax.net.ssl.SSLHandshakeException}). */
    public static final int E_TLS_CERTIFICATE = -24;
    /** The peer ended TCP without close_notify (an {@link javax.net.ssl.SSLException}). */
    public static final int E_TLS_TRUNCATED = -25;
    /** A bad TLS record or fatal alert after the handshake (an {@link javax.net.ssl.SSLException}). */
    public static final int E_TLS_PROTOCOL = -26;
    /** TLS 1.2, for {@link SockrtTlsConfig#versions}. */
    public static final int TLS_1_2 = 0x0303;
    /** TLS 1.3, for {@link SockrtTlsConfig#versions}. */
    public static final int TLS_1_3 = 0x0304;

    /** Address families. */
    public static final int INET = 4;
    public static final int INET6 = 6;
    /** Unix domain sockets (see the header's SOCKRT_UNIX). */
    public static final int UNIX = 1;

    /** Socket types. */
    public static final int STREAM = 1;
    public static final int DGRAM = 2;

    /** Shutdown directions. */
    public static final int SHUT_READ = 1;
    public static final int SHUT_WRITE = 2;
    public static final int SHUT_BOTH = 3;

    /** Options (milliseconds, flags 0/1, or bytes). */
    public static final int OPT_READ_TIMEOUT_MS = 1;
    public static final int OPT_WRITE_TIMEOUT_MS = 2;
    public static final int OPT_NODELAY = 3;
    public static final int OPT_KEEPALIVE = 4;
    public static final int OPT_REUSEADDR = 5;
    public static final int OPT_RECV_BUFFER = 6;
    public static final int OPT_SEND_BUFFER = 7;
    public static final int OPT_BROADCAST = 8;
    public static final int OPT_BUSY_POLL_US = 9;
    public static final int OPT_LINGER = 10;
    public static final int OPT_REUSEPORT = 11;
    public static final int OPT_ERROR = 12;
    public static final int OPT_NREAD = 13;
    public static final int OPT_BACKLOG = 14;
    public static final int OPT_UNLINK_STALE = 15;

    /** Flags of the *_flags data calls. */
    public static final int MSG_PEEK = 1;
    public static final int MSG_DONTWAIT = 2;
    public static final int MSG_WAITALL = 4;

    /** Readiness events. */
    public static final int POLL_IN = 1;
    public static final int POLL_OUT = 2;
    public static final int POLL_ERR = 4;
    public static final int POLL_HUP = 8;
    public static final int POLL_CLOSED = 16;
    public static final int POLL_EDGE = 32;
    public static final int POLLER_MAX_EVENTS = 65536;

    /** sockrt_pool_acquire_ex's flag for a connection that never served a lease ({@link SockrtPool#acquireFresh()}). */
    public static final int ACQUIRE_FRESH = 1;

    /** Bytes that always hold an address string and its NUL. */
    public static final int ADDR_MAX = 64;

    /** Bytes that always hold a Unix socket address string and its NUL. */
    public static final int UNIX_PATH_MAX = 109;

    /** The most descriptors one sockrt_send_fds call passes. */
    public static final int FDS_MAX = 253;

    /** The library version, "MAJOR.MINOR.PATCH". */
    public static String version() {
        NativeLibrary.load();
        return SockrtNative.version();
    }

    /**
     * How many library handles of every kind are open now, in this process;
     * it returns to its starting value once everything opened is closed.
     */
    public static long openHandles() {
        NativeLibrary.load();
        return SockrtNative.openHandles();
    }

    /** The constant name of a status code, e.g. "SOCKRT_E_TIMEOUT". */
    public static String errorName(int code) {
        NativeLibrary.load();
        return SockrtNative.errorName(code);
    }

    /** The English description of a status code. */
    public static String strerror(int code) {
        NativeLibrary.load();
        return SockrtNative.strerror(code);
    }
}
