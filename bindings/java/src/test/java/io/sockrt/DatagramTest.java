package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** UDP through io.sockrt on loopback. */
@Timeout(30)
class DatagramTest {
    @Test
    void sendAndReceiveWithAddresses() throws Exception {
        try (SockrtDatagramSocket a = new SockrtDatagramSocket("127.0.0.1", 0);
             SockrtDatagramSocket b = new SockrtDatagramSocket("127.0.0.1", 0)) {
            a.setSoTimeout(5_000);
            b.setSoTimeout(5_000);
            byte[] msg = "hello datagram".getBytes();
            assertEquals(5, a.send(msg, 6, 5, "127.0.0.1", b.getLocalPort()));

            byte[] buf = new byte[32];
            Datagram d = b.receive(buf, 2, 30);
            assertEquals(5, d.length());
            assertEquals("datag", new String(buf, 2, 5));
            assertEquals("127.0.0.1", d.host());
            assertEquals(a.getLocalPort(), d.port());
            assertEquals(new InetSocketAddress("127.0.0.1", a.getLocalPort()), d.sender());

            // reply through direct buffers
            ByteBuffer out = ByteBuffer.allocateDirect(16).put("pong".getBytes()).flip();
            b.send(out, d.host(), d.port());
            ByteBuffer in = ByteBuffer.allocateDirect(16);
            Datagram r = a.receive(in);
            assertEquals(4, r.length());
            assertEquals(4, in.position());
            byte[] got = new byte[4];
            in.flip().get(got);
            assertEquals("pong", new String(got));
            assertEquals(b.getLocalPort(), r.port());
        }
    }

    @Test
    void datagramPacketsAndTruncation() throws Exception {
        try (SockrtDatagramSocket a = new SockrtDatagramSocket("127.0.0.1", 0);
             SockrtDatagramSocket b = new SockrtDatagramSocket("127.0.0.1", 0)) {
            b.setSoTimeout(5_000);
            byte[] payload = new byte[100];
            Arrays.fill(payload, (byte) 7);
            a.send(new DatagramPacket(payload, 100, InetAddress.getByName("127.0.0.1"), b.getLocalPort()));
            DatagramPacket packet = new DatagramPacket(new byte[10], 10);
            b.receive(packet);
            assertEquals(10, packet.getLength()); // truncated, as recvfrom(2)
            assertArrayEquals(Arrays.copyOf(payload, 10), packet.getData());
            assertEquals(a.getLocalPort(), packet.getPort());
        }
    }

    @Test
    void receiveTimesOutAndCloseEndsIt() throws Exception {
        SockrtDatagramSocket s = new SockrtDatagramSocket("127.0.0.1", 0);
        s.setSoTimeout(100);
        assertEquals(100, s.getSoTimeout());
        assertThrows(SocketTimeoutException.class, () -> s.receive(new byte[8], 0, 8));
        s.close();
        assertThrows(SocketException.class, () -> s.receive(new byte[8], 0, 8));
        assertThrows(SocketException.class, () -> s.send(new byte[1], 0, 1, "127.0.0.1", 9));
        assertEquals(-1, s.getLocalPort());
    }

    @Test
    void badArguments() throws Exception {
        try (SockrtDatagramSocket s = new SockrtDatagramSocket("127.0.0.1", 0)) {
            assertThrows(IndexOutOfBoundsException.class, () -> s.send(new byte[4], 2, 3, "127.0.0.1", 9));
            assertThrows(IllegalArgumentException.class, () -> s.send(new byte[4], 0, 4, "127.0.0.1", -1));
            assertThrows(NullPointerException.class, () -> s.send(new byte[4], 0, 4, null, 9));
            assertThrows(NullPointerException.class, () -> s.receive((ByteBuffer) null));
        }
    }
}
