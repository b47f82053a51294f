package io.sockrt;

import java.io.IOException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.util.Set;

/** {@link StandardSocketOptions} on the io.sockrt classes, mapped to the library's options. */
final class StandardOptions {
    private StandardOptions() {}

    static final Set<SocketOption<?>> STREAM = Set.of(StandardSocketOptions.SO_KEEPALIVE,
            StandardSocketOptions.SO_SNDBUF, StandardSocketOptions.SO_RCVBUF, StandardSocketOptions.SO_REUSEADDR,
            StandardSocketOptions.SO_LINGER, StandardSocketOptions.TCP_NODELAY);
    static final Set<SocketOption<?>> LISTENER = Set.of(StandardSocketOptions.SO_RCVBUF,
            StandardSocketOptions.SO_REUSEADDR);
    static final Set<SocketOption<?>> DATAGRAM = Set.of(StandardSocketOptions.SO_SNDBUF,
            StandardSocketOptions.SO_RCVBUF, StandardSocketOptions.SO_REUSEADDR, StandardSocketOptions.SO_BROADCAST);

    private static int optionOf(SocketOption<?> name) {
        if (name == StandardSocketOptions.SO_KEEPALIVE) {
            return Sockrt.OPT_KEEPALIVE;
        } else if (name == StandardSocketOptions.SO_SNDBUF) {
            return Sockrt.OPT_SEND_BUFFER;
        } else if (name == StandardSocketOptions.SO_RCVBUF) {
            return Sockrt.OPT_RECV_BUFFER;
        } else if (name == StandardSocketOptions.SO_REUSEADDR) {
            return Sockrt.OPT_REUSEADDR;
        } else if (name == StandardSocketOptions.SO_LINGER) {
            return Sockrt.OPT_LINGER;
        } else if (name == StandardSocketOptions.TCP_NODELAY) {
            return Sockrt.OPT_NODELAY;
        } else if (name == StandardSocketOptions.SO_BROADCAST) {
            return Sockrt.OPT_BROADCAST;
        }
        throw new UnsupportedOperationException("'" + name + "' not supported");
    }

    static <T> void set(SockrtResource r, Set<SocketOption<?>> supported, SocketOption<T> name, T value)
            throws IOException {
        java.util.Objects.requireNonNull(name, "name");
        if (!supported.contains(name)) {
            throw new UnsupportedOperationException("'" + name + "' not supported");
        }
        if (!name.type().isInstance(value)) {
            throw new IllegalArgumentException("Bad value for " + name);
        }
        int option = optionOf(name);
        long v;
        if (value instanceof Boolean b) {
            v = b ? 1 : 0;
        } else {
            int n = (Integer) value;
            if (option == Sockrt.OPT_LINGER) {
                v = n < 0 ? -1 : Math.min(n, 65_535);
            } else if (n <= 0) {
                throw new IllegalArgumentException("Bad value for " + name);
            } else {
                v = n;
            }
        }
        r.setOptionValue(option, v);
    }

    @SuppressWarnings("unchecked")
    static <T> T get(SockrtResource r, Set<SocketOption<?>> supported, SocketOption<T> name) throws IOException {
        java.util.Objects.requireNonNull(name, "name");
        if (!supported.contains(name)) {
            throw new UnsupportedOperationException("'" + name + "' not supported");
        }
        long v = r.optionValue(optionOf(name));
        Object result = name.type() == Boolean.class ? (Object) (v != 0) : (Object) (int) v;
        return (T) result;
    }
}
