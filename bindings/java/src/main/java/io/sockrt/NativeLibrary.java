package io.sockrt;

import java.io.File;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads {@code libsockrt_jni.so} once per JVM.
 *
 * <p>Where it looks, in order: the file named by the system property
 * {@code sockrt.jni.path}, the file named by the environment variable
 * {@code SOCKRT_JNI_LIB}, then {@code System.loadLibrary("sockrt_jni")} through
 * {@code java.library.path}. Loading is guarded by one lock and a state flag, so
 * concurrent first use loads the library exactly once; a failed attempt leaves
 * the state unloaded and throws an {@link UnsatisfiedLinkError} saying where it
 * looked and what to build.
 */
final class NativeLibrary {
    static final String PROPERTY = "sockrt.jni.path";
    static final String ENV = "SOCKRT_JNI_LIB";
    static final String NAME = "sockrt_jni";

    private static final Object LOCK = new Object();
    private static volatile boolean loaded;

    private NativeLibrary() {}

    /** Makes sure the library is loaded; cheap after the first call. */
    static void load() {
        if (loaded) {
            return;
        }
        synchronized (LOCK) {
            if (!loaded) {
                loadFrom(emptyToNull(System.getProperty(PROPERTY)), emptyToNull(System.getenv(ENV)));
                loaded = true;
            }
        }
    }

    /**
     * Loads from an explicit path if one is given (property first, then the
     * environment), else through java.library.path. Package-private so that
     * the failure message can be tested without disturbing the loaded state.
     */
    static void loadFrom(String propertyPath, String envPath) {
        String explicit = propertyPath != null ? propertyPath : envPath;
        try {
            if (explicit != null) {
                System.load(new File(explicit).getAbsolutePath());
            } else {
                System.loadLibrary(NAME);
            }
        } catch (UnsatisfiedLinkError e) {
            UnsatisfiedLinkError error = new UnsatisfiedLinkError(
                    describeFailure(propertyPath, envPath, e.getMessage()));
            error.initCause(e);
            throw error;
        }
        // Prove it is the right library: this symbol exists only in our glue.
        SockrtNative.version();
    }

    private static String describeFailure(String propertyPath, String envPath, String cause) {
        List<String> tried = new ArrayList<>();
        if (propertyPath != null) {
            tried.add("-D" + PROPERTY + "=" + propertyPath);
        } else if (envPath != null) {
            tried.add(ENV + "=" + envPath);
        } else {
            tried.add("-D" + PROPERTY + " (not set)");
            tried.add(ENV + " (not set)");
            tried.add(System.mapLibraryName(NAME) + " in java.library.path="
                    + System.getProperty("java.library.path"));
        }
        return "cannot load the sockrt JNI library; looked at: " + String.join("; ", tried)
                + " (" + cause + "). Build it with `make java` (it is written to build/java/"
                + System.mapLibraryName(NAME) + ") and pass its path with -D" + PROPERTY
                + "=... or " + ENV + "=..., or put its directory on java.library.path.";
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
