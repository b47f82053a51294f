package io.sockrt;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads the JNI library ({@code libsockrt_jni.so}, which has libsockrt linked
 * in) once per JVM.
 *
 * <p>Where it looks, in order:
 * <ol>
 * <li>the file named by the system property {@code sockrt.jni.path}, or else by
 *     the environment variable {@code SOCKRT_JNI_LIB} (an explicit choice: if it
 *     fails, nothing else is tried);</li>
 * <li>{@code sockrt_jni} on {@code java.library.path};</li>
 * <li>the copy inside the jar, {@code META-INF/native/linux-x86_64/libsockrt_jni.so},
 *     extracted to a new private directory (owner-only) and loaded from there;
 *     the file is deleted again once loaded. The directory is made under the
 *     property {@code sockrt.native.tmpdir} if set, else {@code java.io.tmpdir};
 *     if loading from there fails (a {@code noexec} /tmp, say), under
 *     {@code ~/.cache/sockrt}.</li>
 * </ol>
 * Loading is guarded by one lock and a state flag, so concurrent first use
 * loads the library exactly once; separate JVMs extract into separate
 * directories. A failed attempt leaves the state unloaded and throws an
 * {@link UnsatisfiedLinkError} saying everywhere it looked.
 */
final class NativeLibrary {
    static final String PROPERTY = "sockrt.jni.path";
    static final String TMPDIR_PROPERTY = "sockrt.native.tmpdir";
    static final String ENV = "SOCKRT_JNI_LIB";
    static final String NAME = "sockrt_jni";
    static final String RESOURCE = "/META-INF/native/" + platform() + "/" + System.mapLibraryName(NAME);

    private static final Object LOCK = new Object();
    private static volatile boolean loaded;
    /** How the library was found, for tests and diagnostics. */
    private static volatile String source;

    private NativeLibrary() {}

    /** Makes sure the library is loaded; cheap after the first call. */
    static void load() {
        if (loaded) {
            return;
        }
        synchronized (LOCK) {
            if (!loaded) {
                source = loadFrom(emptyToNull(System.getProperty(PROPERTY)), emptyToNull(System.getenv(ENV)));
                loaded = true;
            }
        }
    }

    /** Where the library came from: "property", "environment", "java.library.path" or "jar". */
    static String source() {
        load();
        return source;
    }

    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (arch.equals("amd64")) {
            arch = "x86_64";
        }
        return (os.startsWith("linux") ? "linux" : os.replace(' ', '_')) + "-" + arch;
    }

    /**
     * Loads from an explicit path if one is given (property first, then the
     * environment), else through java.library.path, else from the jar.
     * Package-private so that the failure message can be tested without
     * disturbing the loaded state. Returns how it was found.
     */
    static String loadFrom(String propertyPath, String envPath) {
        String explicit = propertyPath != null ? propertyPath : envPath;
        List<String> tried = new ArrayList<>();
        String how;
        if (explicit != null) {
            String what = propertyPath != null ? "-D" + PROPERTY + "=" + propertyPath : ENV + "=" + envPath;
            try {
                System.load(new File(explicit).getAbsolutePath());
            } catch (UnsatisfiedLinkError e) {
                throw failure(List.of(what + " (" + e.getMessage() + ")"), e);
            }
            how = propertyPath != null ? "property" : "environment";
        } else {
            how = loadImplicitly(tried);
        }
        // Prove it is the right library: this symbol exists only in our glue.
        SockrtNative.version();
        return how;
    }

    private static String loadImplicitly(List<String> tried) {
        tried.add("-D" + PROPERTY + " and " + ENV + " (not set)");
        UnsatisfiedLinkError last;
        try {
            System.loadLibrary(NAME);
            return "java.library.path";
        } catch (UnsatisfiedLinkError e) {
            tried.add(System.mapLibraryName(NAME) + " in java.library.path=" + System.getProperty("java.library.path"));
            last = e;
        }
        if (NativeLibrary.class.getResource(RESOURCE) == null) {
            tried.add(RESOURCE + " in the jar (absent: this jar has no library for " + platform() + ")");
            throw failure(tried, last);
        }
        for (Path base : extractionBases()) {
            try {
                loadExtracted(base);
                return "jar";
            } catch (IOException | UnsatisfiedLinkError e) {
                tried.add(RESOURCE + " extracted under " + base + " (" + e.getMessage() + ")");
                last = e instanceof UnsatisfiedLinkError u ? u : last;
            }
        }
        throw failure(tried, last);
    }

    /** Where a private directory for the extracted library may go, in order. */
    static List<Path> extractionBases() {
        List<Path> bases = new ArrayList<>();
        String override = emptyToNull(System.getProperty(TMPDIR_PROPERTY));
        if (override != null) {
            bases.add(Path.of(override));
        }
        String tmp = emptyToNull(System.getProperty("java.io.tmpdir"));
        if (tmp != null) {
            bases.add(Path.of(tmp));
        }
        String home = emptyToNull(System.getProperty("user.home"));
        if (home != null) {
            bases.add(Path.of(home, ".cache", "sockrt"));
        }
        return bases;
    }

    private static void loadExtracted(Path base) throws IOException {
        Files.createDirectories(base);
        // createTempDirectory makes it readable, writable and searchable by the owner only.
        Path dir = Files.createTempDirectory(base, "sockrt-native-");
        Path file = dir.resolve(System.mapLibraryName(NAME));
        try {
            try (InputStream in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    throw new IOException("resource vanished: " + RESOURCE);
                }
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            }
            System.load(file.toAbsolutePath().toString());
        } finally {
            // Once mapped, the library no longer needs its file (nor on failure).
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    private static UnsatisfiedLinkError failure(List<String> tried, Throwable cause) {
        UnsatisfiedLinkError error = new UnsatisfiedLinkError("cannot load the sockrt JNI library; looked at: "
                + String.join("; ", tried) + ". The io.sockrt jar carries it for linux-x86_64; elsewhere build it"
                + " with `make java` and pass its path with -D" + PROPERTY + "=... or " + ENV
                + "=..., or put its directory on java.library.path.");
        if (cause != null) {
            error.initCause(cause);
        }
        return error;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
