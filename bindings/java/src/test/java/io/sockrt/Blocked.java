package io.sockrt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Waits until a thread is really blocked in a system call: its top Java frame
 * is a native method and the kernel reports its thread as sleeping ('S' in
 * /proc/self/task/TID/stat). Threads are found by name (give them a unique
 * one of at most 15 characters, which is what the kernel keeps).
 */
final class Blocked {
    private Blocked() {}

    static void await(Thread t) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!t.isAlive()) {
                throw new AssertionError(t.getName() + " ended instead of blocking");
            }
            StackTraceElement[] stack = t.getStackTrace();
            if (stack.length > 0 && stack[0].isNativeMethod() && kernelState(t.getName()) == 'S') {
                return;
            }
            Thread.sleep(1);
        }
        throw new AssertionError(t.getName() + " did not block within 10 s");
    }

    /** The state letter of the thread with this name, or '?' if not found. */
    static char kernelState(String name) throws IOException {
        String comm = name.length() > 15 ? name.substring(0, 15) : name;
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    if (Files.readString(task.resolve("comm")).strip().equals(comm)) {
                        String stat = Files.readString(task.resolve("stat"));
                        // "tid (comm) S ...": the state follows the last ')'.
                        return stat.charAt(stat.lastIndexOf(')') + 2);
                    }
                } catch (IOException ended) {
                    // the task ended while we looked
                }
            }
        }
        return '?';
    }

    /** Starts a daemon thread with a unique short name. */
    static Thread start(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        t.start();
        return t;
    }
}
