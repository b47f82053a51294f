package io.sockrt;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.Objects;

/** Checks of Java arguments, done before any native call, and small conversions. */
final class Args {
    private Args() {}

    static String host(String host) {
        Objects.requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw new IllegalArgumentException("host is empty");
        }
        if (host.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("host contains a NUL character");
        }
        return host;
    }

    static int port(int port) {
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
        return port;
    }

    /**
     * A java.net-style timeout (0 = wait forever, negative is an error) as
     * the library's value (negative = wait forever).
     */
    static int timeout(int timeoutMs) {
        if (timeoutMs < 0) {
            throw new IllegalArgumentException("timeout can't be negative: " + timeoutMs);
        }
        return timeoutMs == 0 ? -1 : timeoutMs;
    }

    /** The library's timeout value back in java.net style. */
    static int javaTimeout(long nativeMs) {
        return nativeMs < 0 ? 0 : (int) Math.min(nativeMs, Integer.MAX_VALUE);
    }

    static void range(byte[] b, int off, int len) {
        Objects.requireNonNull(b, "buffer");
        Objects.checkFromIndexSize(off, len, b.length);
    }

    /** The host text of a socket address (no lookup for a resolved one). */
    static String hostOf(SocketAddress address) {
        Objects.requireNonNull(address, "address");
        if (!(address instanceof InetSocketAddress)) {
            throw new IllegalArgumentException("unsupported address type: " + address.getClass().getName());
        }
        InetSocketAddress inet = (InetSocketAddress) address;
        InetAddress resolved = inet.getAddress();
        return host(resolved != null ? resolved.getHostAddress() : inet.getHostString());
    }

    static int portOf(SocketAddress address) {
        return ((InetSocketAddress) address).getPort();
    }

    /** Parses an address literal from the library (never a name, so no lookup). */
    static InetAddress literal(String host) {
        try {
            return InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("the library returned a bad address: " + host, e);
        }
    }
}
