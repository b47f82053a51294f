package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs examples/java/EchoDemo as separate JVMs (server, client, pool client)
 * and checks the command-line contract other demos depend on.
 */
@Timeout(90)
class EchoDemoTest {
    private static final Pattern LISTENING = Pattern.compile("LISTENING (\\S+) (\\d+)");
    private static final Pattern RESULT =
            Pattern.compile("RESULT messages=(\\d+) bytes=(\\d+) mean_rtt_us=(\\d+\\.\\d+)");

    @TempDir
    static Path classes;
    private static Process server;
    private static int port;

    @BeforeAll
    static void compileAndStartServer() throws Exception {
        Path source = ConstantsTest.header().toAbsolutePath().getParent().getParent()
                .resolve("examples/java/EchoDemo.java");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "a JDK is needed to compile the example");
        int rc = javac.run(null, null, null, "-d", classes.toString(), "-cp", ourClasses(), source.toString());
        assertEquals(0, rc, "EchoDemo.java does not compile");

        server = java("server", "127.0.0.1", "0", "60").start();
        BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine(); // the server prints it before anything else
        assertNotNull(line, "the server printed nothing");
        Matcher m = LISTENING.matcher(line);
        assertTrue(m.matches(), "first line: " + line);
        assertEquals("127.0.0.1", m.group(1));
        port = Integer.parseInt(m.group(2));
        assertTrue(port > 0);
    }

    @AfterAll
    static void stopServer() throws Exception {
        if (server != null) {
            server.destroy();
            server.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static String ourClasses() throws Exception {
        return Path.of(SockrtSocket.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    private static ProcessBuilder java(String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String jni = System.getProperty("sockrt.jni.path", "");
        if (!jni.isEmpty()) {
            command.add("-Dsockrt.jni.path=" + jni);
        }
        command.add("-cp");
        command.add(ourClasses() + File.pathSeparator + classes);
        command.add("EchoDemo");
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
    }

    /** Runs a client to completion; returns its stdout lines. */
    private static List<String> runClient(String mode, int count) throws Exception {
        Process client = java(mode, "127.0.0.1", Integer.toString(port), Integer.toString(count)).start();
        List<String> lines;
        try (BufferedReader out = new BufferedReader(
                new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8))) {
            lines = out.lines().toList();
        }
        assertTrue(client.waitFor(60, TimeUnit.SECONDS), mode + " client did not finish");
        assertEquals(0, client.exitValue(), mode + " client failed: " + lines);
        return lines;
    }

    /** The sum of the demo's message sizes: 1 + (i * 2654435761) mod 4096. */
    private static long expectedBytes(int count) {
        long total = 0;
        for (int i = 0; i < count; i++) {
            total += 1 + (i * 2654435761L) % 4096;
        }
        return total;
    }

    private static void checkResult(String line, int count) {
        Matcher m = RESULT.matcher(line);
        assertTrue(m.matches(), "last line: " + line);
        assertEquals(count, Integer.parseInt(m.group(1)));
        assertEquals(expectedBytes(count), Long.parseLong(m.group(2)));
        assertTrue(Double.parseDouble(m.group(3)) > 0);
    }

    @Test
    void clientVerifiesEveryEcho() throws Exception {
        List<String> lines = runClient("client", 150);
        checkResult(lines.get(lines.size() - 1), 150);
    }

    @Test
    void poolClientPrintsStatsThenResult() throws Exception {
        List<String> lines = runClient("pool", 200);
        assertTrue(lines.size() >= 2, lines.toString());
        String stats = lines.get(lines.size() - 2);
        assertTrue(stats.startsWith("STATS created="), stats);
        Matcher m = Pattern.compile("created=(\\d+) reused=(\\d+)").matcher(stats);
        assertTrue(m.find(), stats);
        assertEquals(200, Integer.parseInt(m.group(1)) + Integer.parseInt(m.group(2)), stats);
        checkResult(lines.get(lines.size() - 1), 200);
    }

    @Test
    void badUsageExitsWithAnError() throws Exception {
        Process p = java("bogus").start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue());
    }

}
