package io.github.reactivepgqueue.examples;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Readable;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Reads the queue's {@code jobs} table back with plain R2DBC, to show what the enqueues stored.
 * The library does not offer these queries; the demo writes its own SQL against the schema.
 */
final class JobTable {
    private final ConnectionFactory connections;
    private final String jobs;

    /** @param schema the queue's schema; {@code PgQueueBuilder} has checked that it needs no escaping */
    JobTable(ConnectionFactory connections, String schema) {
        this.connections = connections;
        this.jobs = "\"" + schema + "\".jobs";
    }

    /** Pending jobs of one queue. */
    record QueueStats(String queue, long pending, long scheduled, int minPriority, int maxPriority) {
    }

    /** Removes every job, e.g. those left by an earlier run of the demo; emits how many. */
    Mono<Long> deleteAll() {
        return withConnection(conn -> Flux.from(conn.createStatement("DELETE FROM " + jobs).execute())
                .flatMap(Result::getRowsUpdated))
                .reduce(0L, Long::sum);
    }

    /** How many jobs have {@code id} or hold {@code uniqueKey}, seen on a connection of its own. */
    Mono<Long> countByIdOrKey(UUID id, String uniqueKey) {
        return withConnection(conn -> countByIdOrKey(conn, id, uniqueKey)).single();
    }

    /** The same, seen on {@code conn}, so inside whatever transaction it has open. */
    Mono<Long> countByIdOrKey(Connection conn, UUID id, String uniqueKey) {
        Statement count = conn.createStatement("SELECT count(*) AS n FROM " + jobs + " WHERE id = $1 OR unique_key = $2")
                .bind("$1", id)
                .bind("$2", uniqueKey);
        return rows(count, row -> longValue(row, "n")).single();
    }

    /** Per queue: pending jobs, how many of them are scheduled in the future, and their priority range. */
    Flux<QueueStats> pendingByQueue() {
        String sql = "SELECT queue, count(*) AS pending, count(*) FILTER (WHERE run_at > now()) AS scheduled,"
                + " min(priority) AS min_priority, max(priority) AS max_priority"
                + " FROM " + jobs + " WHERE status = 'pending' GROUP BY queue ORDER BY queue";
        return withConnection(conn -> rows(conn.createStatement(sql), row -> new QueueStats(
                row.get("queue", String.class),
                longValue(row, "pending"),
                longValue(row, "scheduled"),
                ((Number) row.get("min_priority")).intValue(),
                ((Number) row.get("max_priority")).intValue())));
    }

    /**
     * One pending job as stored, column by column: preferably one that uses a unique key, a
     * fingerprint and a delay at once.
     */
    Mono<Map<String, Object>> sampleRow() {
        String sql = "SELECT id, queue, status, priority, unique_key, fingerprint, attempt, max_attempts,"
                + " created_at, run_at, payload::text AS payload FROM " + jobs
                + " WHERE status = 'pending'"
                + " ORDER BY (unique_key IS NOT NULL AND fingerprint IS NOT NULL AND run_at > now()) DESC, id"
                + " LIMIT 1";
        return withConnection(conn -> Flux.from(conn.createStatement(sql).execute())
                .flatMap(result -> result.map((row, meta) -> {
                    Map<String, Object> columns = new LinkedHashMap<>();
                    meta.getColumnMetadatas().forEach(column -> columns.put(column.getName(), row.get(column.getName())));
                    return columns;
                })))
                .next();
    }

    private <T> Flux<T> withConnection(Function<Connection, Publisher<T>> work) {
        return Flux.usingWhen(connections.create(), work, Connection::close);
    }

    private static <T> Flux<T> rows(Statement statement, Function<Readable, T> mapper) {
        return Flux.from(statement.execute()).flatMap(result -> result.map(mapper));
    }

    private static long longValue(Readable row, String column) {
        return ((Number) row.get(column)).longValue();
    }
}
