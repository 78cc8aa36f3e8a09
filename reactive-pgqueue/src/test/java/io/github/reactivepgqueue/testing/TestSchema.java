package io.github.reactivepgqueue.testing;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.PgQueueBuilder;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Result;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A schema of its own for one test class, with a connection pool and blocking helpers for
 * arranging and asserting (used on the test thread only, never on a reactive one).
 */
public final class TestSchema implements AutoCloseable {
    private final DatabaseCoordinates coordinates;
    private final String name;
    private final ConnectionPool pool;

    TestSchema(DatabaseCoordinates coordinates, String name) {
        this.coordinates = coordinates;
        this.name = name;
        this.pool = new ConnectionPool(ConnectionPoolConfiguration.builder(coordinates.connectionFactory("pgqueue-test"))
                .initialSize(0).maxSize(10).maxAcquireTime(Duration.ofSeconds(30)).acquireRetry(10).build());
    }

    /** The schema name (unquoted; it needs no quoting). */
    public String name() {
        return name;
    }

    /** Where the server is. */
    public DatabaseCoordinates coordinates() {
        return coordinates;
    }

    /** A pool for this test class; closed after the class. */
    public ConnectionFactory connectionFactory() {
        return pool;
    }

    /**
     * A builder for a queue on this schema, with the janitor off so that finished jobs stay in the
     * live table where tests look for them (tests of the janitor switch it on).
     */
    public PgQueueBuilder queueBuilder() {
        return PgQueue.builder(pool).schema(name).janitor(false);
    }

    /** The database's time now ({@code now()}). */
    public java.time.Instant now() {
        return ((java.time.OffsetDateTime) query("SELECT now() AS now").get(0).get("now")).toInstant();
    }

    /** A queue on this schema, migrated. */
    public PgQueue migratedQueue() {
        PgQueue queue = queueBuilder().build();
        queue.migrate().block(TIMEOUT);
        return queue;
    }

    /**
     * Runs {@code sql} with {@code $1, $2 ...} bound to {@code params}; {@code {schema}} in the text
     * stands for this schema. Returns every row as a column-to-value map.
     */
    public List<Map<String, Object>> query(String sql, Object... params) {
        return Rows.query(pool, expand(sql), params);
    }

    /** Runs a statement and returns the number of rows it changed. */
    public long execute(String sql, Object... params) {
        return Flux.usingWhen(pool.create(),
                        conn -> Flux.from(Rows.bind(conn.createStatement(expand(sql)), params).execute())
                                .flatMap(Result::getRowsUpdated),
                        conn -> conn.close())
                .reduce(0L, Long::sum).block(TIMEOUT);
    }

    /** The single number that {@code sql} selects. */
    public long count(String sql, Object... params) {
        List<Map<String, Object>> rows = query(sql, params);
        if (rows.size() != 1 || rows.get(0).size() != 1) {
            throw new IllegalStateException("Expected one row with one column from: " + sql);
        }
        return ((Number) rows.get(0).values().iterator().next()).longValue();
    }

    /** Empties the live, archive and dead-letter tables and resumes every paused queue. */
    public void deleteAllJobs() {
        execute("DELETE FROM {schema}.jobs");
        execute("DELETE FROM {schema}.jobs_archive");
        execute("DELETE FROM {schema}.jobs_dead");
        execute("DELETE FROM {schema}.paused_queues");
    }

    /** Rows in one of this schema's tables. */
    public long rows(String table) {
        return count("SELECT count(*) FROM {schema}." + table);
    }

    /**
     * Every column of job {@code id}'s row in {@code table} ({@code jobs}, {@code jobs_archive} or
     * {@code jobs_dead}); the test fails unless there is exactly one.
     */
    public Map<String, Object> row(String table, UUID id) {
        return row(table, id, "*");
    }

    /**
     * Job {@code id}'s row in {@code table} with the select list {@code columns} (which may compute
     * columns, such as {@code run_at <= now() AS due}); the test fails unless there is exactly one.
     */
    public Map<String, Object> row(String table, UUID id, String columns) {
        List<Map<String, Object>> rows = query("SELECT " + columns + " FROM {schema}." + table + " WHERE id = $1",
                id);
        assertThat(rows).as("%s in %s", id, table).hasSize(1);
        return rows.get(0);
    }

    /** The status of job {@code id} in the live table, or null when the live table has no such job. */
    public String status(UUID id) {
        List<Map<String, Object>> rows = query("SELECT status FROM {schema}.jobs WHERE id = $1", id);
        return rows.isEmpty() ? null : (String) rows.get(0).get("status");
    }

    /**
     * Sets {@code column} (a time such as {@code heartbeat_at}, {@code run_at}, {@code completed_at},
     * {@code archived_at}, {@code dead_at}) of the jobs {@code ids} in {@code table} to {@code age}
     * before the database's now(); the test fails unless every one of them has a row there.
     */
    public void backdate(String table, String column, Duration age, List<UUID> ids) {
        long changed = execute("UPDATE {schema}." + table + " SET " + column
                + " = now() - $1 * interval '1 microsecond' WHERE id = ANY($2)", age.toNanos() / 1_000,
                ids.toArray(UUID[]::new));
        assertThat(changed).as("%s of %s in %s moved back", column, ids, table).isEqualTo(ids.size());
    }

    /** {@link #backdate(String, String, Duration, List)} for one job. */
    public void backdate(String table, String column, Duration age, UUID id) {
        backdate(table, column, age, List.of(id));
    }

    private String expand(String sql) {
        return sql.replace("{schema}", '"' + name + '"');
    }

    /** Drops the schema and closes the pool. */
    @Override
    public void close() {
        try {
            execute("DROP SCHEMA IF EXISTS {schema} CASCADE");
        } finally {
            pool.disposeLater().then(Mono.empty()).block(TIMEOUT);
        }
    }
}
