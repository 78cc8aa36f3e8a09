package io.github.reactivepgqueue;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.testing.DatabaseCoordinates;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Micrometer is an optional dependency: an application without it uses the library as usual, and
 * reflection over the builder ({@code getMethods()}) works, because no public signature names a
 * Micrometer type. This test proves it by running the library in a class loader built from the
 * test class path minus Micrometer's jars (its parent is the platform loader, so nothing leaks in
 * from the test's own loader).
 */
@ExtendWith(PostgresExtension.class)
class WithoutMicrometerIT {
    private final TestSchema db;

    WithoutMicrometerIT(TestSchema db) {
        this.db = db;
    }

    @Test
    @SuppressWarnings("unchecked")
    void theLibraryRunsJobsWithoutMicrometerOnTheClassPath() throws Exception {
        List<URL> path = classPath();
        assertThat(path).anyMatch(u -> u.getPath().contains("/io/micrometer/")); // there is something to hide
        URL[] withoutMicrometer = path.stream().filter(u -> !u.getPath().contains("/io/micrometer/"))
                .toArray(URL[]::new);
        // not closed: the scenario's event-loop threads outlive it (daemon threads of this test JVM)
        URLClassLoader loader = new URLClassLoader("without-micrometer", withoutMicrometer,
                ClassLoader.getPlatformClassLoader());
        DatabaseCoordinates c = db.coordinates();
        Function<List<String>, String> scenario = (Function<List<String>, String>) loader
                .loadClass(WithoutMicrometerScenario.class.getName()).getConstructor().newInstance();

        String seen = scenario.apply(List.of(c.host(), String.valueOf(c.port()), c.database(), c.user(),
                c.password() == null ? "" : c.password(), db.name()));

        assertThat(seen).isEqualTo("COMPLETED COMPLETED COMPLETED; in flight 0; stale 0; loaded by without-micrometer; "
                + "builder has meterRegistry, which refused a String");
    }

    /** The test JVM's class path, expanded from the manifest when the runner passes it as a single jar. */
    private static List<URL> classPath() throws IOException {
        List<URL> urls = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            File file = new File(entry);
            urls.add(file.toURI().toURL());
            if (file.isFile() && entry.endsWith(".jar")) {
                try (JarFile jar = new JarFile(file)) {
                    Manifest manifest = jar.getManifest();
                    String classPath = manifest == null ? null : manifest.getMainAttributes().getValue("Class-Path");
                    if (classPath != null) {
                        for (String ref : classPath.trim().split(" +")) {
                            urls.add(file.toURI().resolve(URI.create(ref)).toURL());
                        }
                    }
                }
            }
        }
        return urls;
    }
}
