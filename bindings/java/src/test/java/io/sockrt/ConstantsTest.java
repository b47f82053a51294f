package io.sockrt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The Java constants must equal the #defines of include/sockrt.h, both ways. */
class ConstantsTest {
    private static final Pattern DEFINE = Pattern.compile("^#define\\s+SOCKRT_(\\w+)\\s+(-?\\d+)\\s*$");

    static Path header() {
        String configured = System.getProperty("sockrt.header", "");
        Path path = configured.isEmpty() ? Path.of("../../include/sockrt.h") : Path.of(configured);
        assertTrue(Files.isReadable(path), "header not found at " + path.toAbsolutePath());
        return path;
    }

    private static Map<String, Integer> headerConstants() throws IOException {
        Map<String, Integer> constants = new TreeMap<>();
        for (String line : Files.readAllLines(header())) {
            Matcher m = DEFINE.matcher(line);
            if (m.matches()) {
                constants.put(m.group(1), Integer.parseInt(m.group(2)));
            }
        }
        return constants;
    }

    private static Map<String, Integer> javaConstants() throws IllegalAccessException {
        Map<String, Integer> constants = new TreeMap<>();
        for (Field field : Sockrt.class.getDeclaredFields()) {
            int mods = field.getModifiers();
            if (Modifier.isPublic(mods) && Modifier.isStatic(mods) && field.getType() == int.class) {
                constants.put(field.getName(), field.getInt(null));
            }
        }
        return constants;
    }

    @Test
    void javaConstantsEqualTheHeader() throws Exception {
        Map<String, Integer> header = headerConstants();
        assertTrue(header.size() > 40, "too few #defines parsed: " + header.keySet());
        assertEquals(header, javaConstants());
    }

    @Test
    void errorNamesComeFromTheLibrary() throws Exception {
        for (Map.Entry<String, Integer> e : headerConstants().entrySet()) {
            if (e.getKey().startsWith("E_")) {
                assertEquals("SOCKRT_" + e.getKey(), Sockrt.errorName(e.getValue()));
                assertFalse(Sockrt.strerror(e.getValue()).isEmpty());
            }
        }
    }

    @Test
    void versionLooksLikeSemver() {
        String version = Sockrt.version();
        assertNotNull(version);
        assertTrue(version.matches("\\d+\\.\\d+\\.\\d+"), version);
    }
}
