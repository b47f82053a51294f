package io.sockrt;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;

/**
 * Run in a fresh JVM by LoaderTest: loads the library from 8 threads at
 * once, does one echo over the factory sockets, and prints how the library
 * was found ("jar", "java.library.path", ...).
 */
public final class LoaderProbe {
    private LoaderProbe() {}

    public static void main(String[] args) throws Exception {
        Thread[] threads = new Thread[8];
        String[] versions = new String[threads.length];
        for (int i = 0; i < threads.length; i++) {
            int id = i;
            threads[i] = new Thread(() -> versions[id] = Sockrt.version());
        }
        for (Thread t : threads) {
            t.start();
        }
        for (Thread t : threads) {
            t.join(30_000);
        }
        for (String v : versions) {
            if (v == null || !v.equals(versions[0])) {
                throw new AssertionError("concurrent first use gave " + java.util.Arrays.toString(versions));
            }
        }
        try (ServerSocket server = new SockrtServerSocketFactory().createServerSocket(0, 5,
                InetAddress.getLoopbackAddress());
             Socket c = new SockrtSocketFactory().createSocket(InetAddress.getLoopbackAddress(),
                     server.getLocalPort())) {
            CompletableFuture<Void> echo = CompletableFuture.runAsync(() -> {
                try (Socket p = server.accept()) {
                    p.getInputStream().transferTo(p.getOutputStream());
                } catch (java.io.IOException e) {
                    throw new RuntimeException(e);
                }
            });
            c.getOutputStream().write("probe".getBytes());
            c.shutdownOutput();
            String back = new String(c.getInputStream().readAllBytes());
            echo.get();
            if (!back.equals("probe")) {
                throw new AssertionError("echo gave " + back);
            }
        }
        System.out.println("LOADED " + NativeLibrary.source() + " " + versions[0]);
    }
}
