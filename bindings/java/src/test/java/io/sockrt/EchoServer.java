package io.sockrt;

import java.io.IOException;

/**
 * A thread-per-connection echo server on 127.0.0.1 for the tests. Its
 * threads are daemons and its accept loop ends when it is closed.
 */
final class EchoServer implements AutoCloseable {
    private final SockrtServerSocket listener;
    private final Thread acceptor;

    EchoServer() throws IOException {
        listener = new SockrtServerSocket("127.0.0.1", 0, 64);
        acceptor = new Thread(this::acceptLoop, "echo-acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            SockrtSocket conn;
            try {
                conn = listener.accept();
            } catch (IOException e) {
                return; // closed
            }
            Thread worker = new Thread(() -> echo(conn), "echo-worker");
            worker.setDaemon(true);
            worker.start();
        }
    }

    private static void echo(SockrtSocket conn) {
        byte[] buf = new byte[16 * 1024];
        try (conn) {
            conn.setSoTimeout(20_000);
            int n;
            while ((n = conn.read(buf, 0, buf.length)) > 0) {
                conn.sendAll(buf, 0, n);
            }
        } catch (IOException e) {
            // the peer went away or the test ended: nothing to report
        }
    }

    @Override
    public void close() {
        listener.close();
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
