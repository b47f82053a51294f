import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Java NIO Unix socket peers for tests/c/test_unix.c (run as a single source
 * file: {@code java UnixPeer.java MODE PATH ...}).
 *
 * <pre>
 *   echo-server PATH   bind PATH, print "ready", echo one connection to EOF,
 *                      print "served N" (bytes echoed), exit
 *   client PATH TEXT   connect, send TEXT, shut down output, print the reply
 * </pre>
 *
 * The process ends itself after 45 s whatever happens, so it never outlives
 * the test that started it.
 */
public final class UnixPeer {
    public static void main(String[] args) throws IOException {
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(45_000);
            } catch (InterruptedException e) {
                return;
            }
            System.exit(3);
        });
        watchdog.setDaemon(true);
        watchdog.start();
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(Path.of(args[1]));
        switch (args[0]) {
            case "echo-server" -> echoServer(address);
            case "client" -> client(address, args[2]);
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    private static void echoServer(UnixDomainSocketAddress address) throws IOException {
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(address);
            System.out.println("ready");
            System.out.flush();
            long served = 0;
            try (SocketChannel conn = server.accept()) {
                ByteBuffer buf = ByteBuffer.allocate(65536);
                while (conn.read(buf) >= 0) {
                    buf.flip();
                    served += buf.remaining();
                    while (buf.hasRemaining()) {
                        conn.write(buf);
                    }
                    buf.clear();
                }
            }
            System.out.println("served " + served);
        } finally {
            java.nio.file.Files.deleteIfExists(address.getPath());
        }
    }

    private static void client(UnixDomainSocketAddress address, String text) throws IOException {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(address);
            c.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
            c.shutdownOutput();
            ByteBuffer buf = ByteBuffer.allocate(65536);
            while (c.read(buf) >= 0) {
                if (!buf.hasRemaining()) {
                    break;
                }
            }
            buf.flip();
            System.out.println(StandardCharsets.UTF_8.decode(buf));
        }
    }
}
