package io.sockrt;

import java.net.InetSocketAddress;

/**
 * What {@link SockrtDatagramSocket#receive} got: the datagram's length (the
 * bytes are in the caller's buffer; a longer datagram was truncated to it) and
 * the sender's address.
 */
public record Datagram(int length, String host, int port) {
    /** The sender as a socket address (the host is a literal: no lookup). */
    public InetSocketAddress sender() {
        return new InetSocketAddress(Args.literal(host), port);
    }
}
