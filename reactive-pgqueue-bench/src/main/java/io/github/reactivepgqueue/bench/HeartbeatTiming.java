package io.github.reactivepgqueue.bench;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Times one heartbeat statement over {@code n} running jobs, {@value #RUNS} times on one
 * connection each: the library's {@code JobHeartbeat} in a transaction opened as the library opens
 * them (custom plans); the same without custom plans, as the library ran it before (PostgreSQL
 * plans the first five runs of a cached prepared statement for their parameters and may then
 * switch to one generic plan); and, for comparison, the update without its id-ordered row locks.
 */
final class HeartbeatTiming {
    static final int RUNS = 7;

    private HeartbeatTiming() {
    }

    /** Adds {@code n} running jobs to {@code schema}'s table and times heartbeats over them. */
    static Map<String, Object> measure(BenchDatabase db, String schema, int n) {
        String jobs = BenchDatabase.quote(schema) + ".jobs";
        db.execute("INSERT INTO " + jobs + " (id, queue, payload, max_attempts, status, attempt, lease, heartbeat_at)"
                + " SELECT gen_random_uuid(), '" + BenchQueues.QUEUE + "', '{\"n\": 0}', 5, 'running', 1,"
                + " gen_random_uuid(), now() FROM generate_series(1, " + n + ")");
        List<UUID[]> running = Flux.usingWhen(db.raw().create(),
                        conn -> Flux.from(conn.createStatement("SELECT array_agg(id) AS ids, array_agg(lease) AS leases FROM "
                                        + jobs + " WHERE status = 'running'").execute())
                                .flatMap(r -> r.map((row, meta) -> List.of(row.get("ids", UUID[].class),
                                        row.get("leases", UUID[].class)))),
                        Connection::close)
                .next().block(Duration.ofMinutes(1));
        String heartbeat = new FloorSql(schema).library("JobHeartbeat");
        String withoutLocks = "UPDATE " + jobs + " j SET heartbeat_at = now()"
                + " FROM unnest($1::uuid[], $2::uuid[]) AS t(id, lease)"
                + " WHERE j.id = t.id AND j.lease = t.lease AND j.status = 'running' RETURNING j.id";
        UUID[] ids = running.get(0);
        UUID[] leases = running.get(1);
        return Fields.of(
                "running_jobs", n,
                "library_ms", time(db.raw(), FloorLoops.Transactions.LIBRARY, heartbeat, ids, leases),
                "library_without_custom_plans_ms",
                time(db.raw(), FloorLoops.Transactions.LIBRARY_AUTO_PLANS, heartbeat, ids, leases),
                "without_id_order_locks_ms", time(db.raw(), FloorLoops.Transactions.NONE, withoutLocks, ids, leases));
    }

    /**
     * Runs {@code statement} {@value #RUNS} times on one connection, each in a transaction as
     * {@code transactions} says; the milliseconds of each run (its transaction included).
     */
    private static List<Double> time(ConnectionFactory connections, FloorLoops.Transactions transactions,
                                     String statement, UUID[] ids, UUID[] leases) {
        List<Double> millis = new ArrayList<>();
        Mono.usingWhen(connections.create(),
                        conn -> Flux.range(0, RUNS)
                                .concatMap(run -> Mono.defer(() -> {
                                    long start = System.nanoTime();
                                    return FloorLoops.inTransaction(conn, transactions.begin, () -> Flux.from(
                                                            conn.createStatement(statement).bind("$1", ids).bind("$2", leases)
                                                                    .execute())
                                                    .concatMap(r -> r.map((row, meta) -> 1))
                                                    .count())
                                            .doOnNext(rows -> millis.add(Fields.round((System.nanoTime() - start) / 1e6, 1)));
                                }))
                                .then(),
                        Connection::close)
                .block(Duration.ofMinutes(10));
        return millis;
    }
}
