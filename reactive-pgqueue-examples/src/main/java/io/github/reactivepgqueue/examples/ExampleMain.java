package io.github.reactivepgqueue.examples;

import io.github.reactivepgqueue.examples.support.ExampleDatabase;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.function.Function;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;

/**
 * What every small example's {@code main} does around its feature: picks the server (the URL in
 * the first argument or in {@code PGQUEUE_DATABASE_URL}, else an embedded PostgreSQL), opens a
 * small connection pool, runs the example, closes the pool and exits with status 1 if it failed.
 */
public final class ExampleMain {
    private static final int POOL_SIZE = 4;
    private static final Duration MAX_ACQUIRE_TIME = Duration.ofSeconds(10);
    private static final Duration RUN_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration DISPOSE_TIMEOUT = Duration.ofSeconds(10);

    private ExampleMain() {
    }

    /**
     * Runs {@code example} on a pool of connections to the chosen server.
     *
     * @param name    the example's name, also the application name its connections report
     * @param args    the program's arguments: optionally the database URL
     * @param example the example, given the pool; its connections are closed afterwards
     */
    public static void run(String name, String[] args, Function<ConnectionFactory, Mono<?>> example) {
        try (ExampleDatabase database = ExampleDatabase.open(args)) {
            System.out.println("database: " + database.description());
            ConnectionPool pool = new ConnectionPool(ConnectionPoolConfiguration
                    .builder(database.connectionFactory(name))
                    .name(name).maxSize(POOL_SIZE).acquireRetry(POOL_SIZE)
                    .maxAcquireTime(MAX_ACQUIRE_TIME).build());
            try {
                example.apply(pool).block(RUN_TIMEOUT);
            } finally {
                pool.disposeLater().block(DISPOSE_TIMEOUT);
            }
        } catch (Exception | Error e) {
            Throwable failure = Exceptions.unwrap(e);
            System.err.println(name + " failed: " + failure);
            failure.printStackTrace();
            System.exit(1);
        }
    }
}
