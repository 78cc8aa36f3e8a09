package io.github.reactivepgqueue.bench;

import io.github.reactivepgqueue.examples.support.ExampleDatabase;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Result;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The server the benchmark measures on (chosen as the examples choose it: URL argument,
 * {@code PGQUEUE_DATABASE_URL}, else an embedded PostgreSQL), with blocking helpers for the
 * benchmark's main thread: schemas, counts, pools.
 */
public final class BenchDatabase implements AutoCloseable {
    private static final Duration TIMEOUT = Duration.ofMinutes(5);
    private static final String APPLICATION_NAME = "pgqueue-bench";

    private final ExampleDatabase server;
    private final ConnectionFactory raw;

    private BenchDatabase(ExampleDatabase server) {
        this.server = server;
        this.raw = server.connectionFactory(APPLICATION_NAME);
    }

    /** Opens the server named by {@code url} (null: the environment variable or an embedded server). */
    public static BenchDatabase open(@Nullable String url) throws IOException {
        return new BenchDatabase(ExampleDatabase.open(url == null ? new String[0] : new String[] {url}));
    }

    /** Which server, and where its URL came from; never the password. */
    public String description() {
        return server.description();
    }

    /** Unpooled connections (every {@code create()} opens a new one). */
    public ConnectionFactory raw() {
        return raw;
    }

    /**
     * A pool of {@code size} connections over {@code base}, all opened at its first use (as in a
     * warm application, a drain does not open connections while it is timed); dispose it after use.
     */
    public static ConnectionPool pool(ConnectionFactory base, int size) {
        return new ConnectionPool(ConnectionPoolConfiguration.builder(base)
                .name(APPLICATION_NAME)
                .initialSize(size)
                .maxSize(size)
                .acquireRetry(3)
                .maxAcquireTime(Duration.ofSeconds(30))
                .maxCreateConnectionTime(Duration.ofSeconds(10))
                .build());
    }

    /** The server's version, e.g. {@code 15.20 (Debian 15.20-0+deb12u1)}. */
    public String serverVersion() {
        return Mono.usingWhen(raw.create(),
                conn -> Mono.from(conn.createStatement("SHOW server_version").execute())
                        .flatMap(result -> Mono.from(result.map((row, meta) -> row.get(0, String.class)))),
                conn -> conn.close()).block(TIMEOUT);
    }

    /** Runs one statement (or several, without parameters) and waits for it. */
    public void execute(String sql) {
        Flux.usingWhen(raw.create(),
                        conn -> Flux.from(conn.createStatement(sql).execute()).concatMap(Result::getRowsUpdated),
                        conn -> conn.close())
                .then().block(TIMEOUT);
    }

    /** The number a one-row, one-column query selects. */
    public long count(String sql) {
        return countLater(sql).block(TIMEOUT);
    }

    /** The number a one-row, one-column query selects, when subscribed. */
    public Mono<Long> countLater(String sql) {
        return Mono.usingWhen(raw.create(),
                conn -> Mono.from(conn.createStatement(sql).execute())
                        .flatMap(result -> Mono.from(result.map((row, meta) -> ((Number) row.get(0)).longValue()))),
                conn -> conn.close());
    }

    /** The text a one-column query selects in its first row, or null when it selects no row or a null. */
    public @Nullable String text(String sql) {
        return Flux.usingWhen(raw.create(),
                        conn -> Flux.from(conn.createStatement(sql).execute())
                                .concatMap(result -> result.map((row, meta) -> Optional.ofNullable(row.get(0, String.class)))),
                        conn -> conn.close())
                .next()
                .defaultIfEmpty(Optional.empty())
                .blockOptional(TIMEOUT)
                .flatMap(Function.identity())
                .orElse(null);
    }

    /** Drops {@code schema} with everything in it, if it exists. */
    public void dropSchema(String schema) {
        execute("DROP SCHEMA IF EXISTS " + quote(schema) + " CASCADE");
    }

    /** A schema name double-quoted (names here are checked by {@link BenchOptions}). */
    static String quote(String schema) {
        return '"' + schema + '"';
    }

    /** Stops the embedded server, if one was started. */
    @Override
    public void close() throws IOException {
        server.close();
    }
}
