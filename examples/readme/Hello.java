import io.sockrt.SockrtServerSocket;
import io.sockrt.SockrtSocket;

import java.net.ConnectException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

public class Hello {
    public static void main(String[] args) throws Exception {
        int port;
        try (SockrtServerSocket server = new SockrtServerSocket("127.0.0.1", 0, 16);
             SockrtSocket client = new SockrtSocket("127.0.0.1", server.getLocalPort(), 1000);
             SockrtSocket conn = server.accept()) {
            port = server.getLocalPort();
            client.sendAll("hello".getBytes(StandardCharsets.UTF_8), 0, 5);
            ByteBuffer buf = ByteBuffer.allocateDirect(5); // read in place, no copy
            conn.recvExact(buf);
            buf.flip();
            System.out.println("server got " + StandardCharsets.UTF_8.decode(buf));
        }
        try (SockrtSocket refused = new SockrtSocket("127.0.0.1", port, 1000)) {
            System.out.println("unexpected: connected to " + refused);
        } catch (ConnectException e) {
            System.out.println("ConnectException: " + e.getMessage());
        }
    }
}
