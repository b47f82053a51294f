package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Finding the JNI library: explicit paths, the jar's copy, the fallbacks, and clear errors. */
@Timeout(120)
class LoaderTest {
    @TempDir
    Path tmp;

    @Test
    void missingLibraryNamesThePathAndWhatToDo() {
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLibrary.loadFrom("/nonexistent/dir/libsockrt_jni.so", null));
        assertTrue(e.getMessage().contains("/nonexistent/dir/libsockrt_jni.so"), e.getMessage());
        assertTrue(e.getMessage().contains("make java"), e.getMessage());
    }

    @Test
    void environmentPathIsReportedToo() {
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLibrary.loadFrom(null, "/nonexistent/env/libsockrt_jni.so"));
        assertTrue(e.getMessage().contains("SOCKRT_JNI_LIB=/nonexistent/env/libsockrt_jni.so"), e.getMessage());
    }

    @Test
    void theJarCarriesTheLibraryForThisPlatform() throws Exception {
        assertEquals("linux-x86_64", NativeLibrary.platform());
        try (InputStream in = NativeLibrary.class.getResourceAsStream(NativeLibrary.RESOURCE)) {
            assertTrue(in != null, "no " + NativeLibrary.RESOURCE + " on the class path");
            byte[] lib = in.readAllBytes();
            assertTrue(lib.length > 100_000, "library too small: " + lib.length);
            assertEquals(0x7f, lib[0]);
            assertEquals('E', lib[1]); // an ELF file
            // no absolute path into the build tree (the repository root) in the shipped file
            String root = Path.of("").toAbsolutePath().getParent().getParent().toString();
            String text = new String(lib, StandardCharsets.ISO_8859_1);
            assertFalse(text.contains(root + "/"), "the library names " + root);
        }
    }

    /** Runs LoaderProbe in a new JVM with exactly these extra arguments; returns its output. */
    private String probe(List<String> jvmArgs, int expectExit) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xcheck:jni");
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(LoaderProbe.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove(NativeLibrary.ENV);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe hung: " + out);
        assertEquals(expectExit, p.exitValue(), out);
        return out;
    }

    private static long sockrtDirsIn(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> f.getFileName().toString().startsWith("sockrt-native-")).count();
        }
    }

    @Test
    void aFreshJvmLoadsTheJarsCopyWithNoPropertyAndLeavesNothingBehind() throws Exception {
        Path base = Files.createDirectories(tmp.resolve("extract"));
        String out = probe(List.of("-Djava.io.tmpdir=" + base), 0);
        assertTrue(out.contains("LOADED jar "), out);
        // -Xcheck:jni has nothing to say about the glue
        assertFalse(out.contains("WARNING"), out);
        assertEquals(0, sockrtDirsIn(base), "extraction directory left behind");
    }

    @Test
    void extractionFallsBackWhenTheFirstDirectoryIsUnusable() throws Exception {
        // the override is a regular file: no directory can be made there, so the
        // loader goes on to java.io.tmpdir (the same path as a noexec /tmp takes)
        Path notADir = Files.writeString(tmp.resolve("plain-file"), "x");
        Path base = Files.createDirectories(tmp.resolve("second"));
        String out = probe(List.of("-D" + NativeLibrary.TMPDIR_PROPERTY + "=" + notADir,
                "-Djava.io.tmpdir=" + base), 0);
        assertTrue(out.contains("LOADED jar "), out);
        // and when both fail, the home directory's cache is the last resort
        Path home = Files.createDirectories(tmp.resolve("home"));
        out = probe(List.of("-D" + NativeLibrary.TMPDIR_PROPERTY + "=" + notADir,
                "-Djava.io.tmpdir=" + notADir.resolve("sub"), "-Duser.home=" + home), 0);
        assertTrue(out.contains("LOADED jar "), out);
        assertEquals(0, sockrtDirsIn(home.resolve(".cache").resolve("sockrt")));
    }

    @Test
    void explicitPathAndLibraryPathComeFirst() throws Exception {
        // a copy of the library in a directory of its own
        Path dir = Files.createDirectories(tmp.resolve("libdir"));
        Path lib = dir.resolve(System.mapLibraryName(NativeLibrary.NAME));
        try (InputStream in = NativeLibrary.class.getResourceAsStream(NativeLibrary.RESOURCE)) {
            Files.copy(in, lib);
        }
        assertTrue(probe(List.of("-D" + NativeLibrary.PROPERTY + "=" + lib), 0).contains("LOADED property "));
        assertTrue(probe(List.of("-Djava.library.path=" + dir), 0).contains("LOADED java.library.path "));
        // an explicit path that is wrong is an error, not a silent fallback
        String out = probe(List.of("-D" + NativeLibrary.PROPERTY + "=" + dir.resolve("missing.so")), 1);
        assertTrue(out.contains("UnsatisfiedLinkError") && out.contains("missing.so"), out);
        assertTrue(new File(lib.toString()).exists());
    }
}
