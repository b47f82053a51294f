package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A missing JNI library is a clear error naming where it looked and what to build. */
class LoaderTest {
    @Test
    void missingLibraryNamesThePathAndTheBuildTarget() {
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
    void concurrentFirstUseLoadsOnce() throws Exception {
        Thread[] threads = new Thread[8];
        String[] versions = new String[threads.length];
        for (int i = 0; i < threads.length; i++) {
            int id = i;
            threads[i] = new Thread(() -> versions[id] = Sockrt.version());
            threads[i].start();
        }
        for (Thread t : threads) {
            t.join(10_000);
        }
        for (String v : versions) {
            assertTrue(v != null && v.equals(Sockrt.version()));
        }
    }
}
