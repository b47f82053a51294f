package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
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

    /** Sends datagrams of these sizes from a java.net socket to a receiver's port. */
    private static void sendSizes(int port, int... sizes) throws Exception {
        try (DatagramSocket sender = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            for (int size : sizes) {
                byte[] payload = new byte[size];
                for (int i = 0; i < size; i++) {
                    payload[i] = (byte) (i + 1);
                }
                sender.send(new DatagramPacket(payload, size, InetAddress.getLoopbackAddress(), port));
            }
        }
    }

    /** What receive(DatagramPacket) left: the whole array, the length, then the same for the next datagram. */
    interface Receiver {
        void receive(DatagramPacket p) throws Exception;
    }

    private static String receiveIntoSlice(int port, Receiver receiver) throws Exception {
        sendSizes(port, 20, 3, 20);
        byte[] buf = new byte[24];
        Arrays.fill(buf, (byte) -1);
        DatagramPacket packet = new DatagramPacket(buf, 4, 8);
        StringBuilder seen = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            receiver.receive(packet);
            seen.append(Arrays.toString(buf)).append(" off=").append(packet.getOffset())
                    .append(" len=").append(packet.getLength()).append('\n');
        }
        return seen.toString();
    }

    @Test
    void datagramPacketOffsetAndLengthAreHonouredAsJavaNet() throws Exception {
        String expected;
        try (DatagramSocket net = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            net.setSoTimeout(5_000);
            expected = receiveIntoSlice(net.getLocalPort(), net::receive);
        }
        String got;
        try (SockrtDatagramSocket ours = new SockrtDatagramSocket("127.0.0.1", 0)) {
            ours.setSoTimeout(5_000);
            got = receiveIntoSlice(ours.getLocalPort(), ours::receive);
        }
        // 20 bytes into (buf, 4, 8): 8 stored at buf[4..12), length 8, the rest of buf untouched;
        // then 3 bytes (length 3); then 20 again, truncated to the packet's 8, not to 3
        assertTrue(expected.startsWith("[-1, -1, -1, -1, 1, 2, 3, 4, 5, 6, 7, 8, -1,"), expected);
        assertTrue(expected.contains("len=3"), expected);
        assertEquals(expected, got);
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
