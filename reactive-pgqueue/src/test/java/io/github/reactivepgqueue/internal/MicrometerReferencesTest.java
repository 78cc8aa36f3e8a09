package io.github.reactivepgqueue.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.PgQueue;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Micrometer is optional, so only the classes that are loaded when a meter registry is configured
 * may refer to it: those of {@code internal/micrometer}. A reference anywhere else, say a Micrometer
 * type in a field of the worker, would break applications without Micrometer at class-load time,
 * and one in a public signature (as {@code PgQueueBuilder.meterRegistry} once had) breaks
 * reflection over that class ({@code WithoutMicrometerIT}); this test finds it in the compiled
 * classes.
 */
class MicrometerReferencesTest {
    @Test
    void onlyTheMicrometerPackageRefersToMicrometer() throws Exception {
        Path classes = Path.of(PgQueue.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertThat(classes).isDirectory();
        List<String> referring;
        try (Stream<Path> files = Files.walk(classes)) {
            referring = files.filter(f -> f.toString().endsWith(".class"))
                    .filter(MicrometerReferencesTest::mentionsMicrometer)
                    .map(f -> classes.relativize(f).toString().replace('\\', '/'))
                    .filter(name -> !name.startsWith("io/github/reactivepgqueue/internal/micrometer/"))
                    .toList();
        }
        assertThat(referring).isEmpty();
    }

    @Test
    void theMicrometerPackageIsThere() throws Exception {
        Path classes = Path.of(PgQueue.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertThat(mentionsMicrometer(classes.resolve(
                "io/github/reactivepgqueue/internal/micrometer/MicrometerQueueMetrics.class"))).isTrue();
    }

    /** Whether the class file's constant pool names anything in io.micrometer (as UTF-8 text). */
    private static boolean mentionsMicrometer(Path classFile) {
        try {
            return new String(Files.readAllBytes(classFile), StandardCharsets.ISO_8859_1).contains("io/micrometer/");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
