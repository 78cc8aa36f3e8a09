package io.github.reactivepgqueue.examples.bench;

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
 * Times one heartbeat statement over {@code n} running jobs: the library's {@code JobHeartbeat}
 * and, for comparison, the same update without its id-ordered row locks. Each runs
 * {@value #RUNS} times on one connection, because PostgreSQL plans the first five runs of a cached
 * prepared statement for their parameters and may then switch to one generic plan.
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
        FloorSql sql = new FloorSql(schema);
        String withoutLocks = "UPDATE " + jobs + " j SET heartbeat_at = now()"
                + " FROM unnest($1::uuid[], $2::uuid[]) AS t(id, lease)"
                + " WHERE j.id = t.id AND j.lease = t.lease AND j.status = 'running' RETURNING j.id";
        return Fields.of(
                "running_jobs", n,
                "library_ms", time(db.raw(), sql.library("JobHeartbeat"), running.get(0), running.get(1)),
                "without_id_order_locks_ms", time(db.raw(), withoutLocks, running.get(0), running.get(1)));
    }

    /** Runs {@code statement} {@value #RUNS} times on one connection; the milliseconds of each run. */
    private static List<Double> time(ConnectionFactory connections, String statement, UUID[] ids, UUID[] leases) {
        List<Double> millis = new ArrayList<>();
        Mono.usingWhen(connections.create(),
                        conn -> Flux.range(0, RUNS)
                                .concatMap(run -> Mono.defer(() -> {
                                    long start = System.nanoTime();
                                    return Flux.from(conn.createStatement(statement).bind("$1", ids).bind("$2", leases)
                                                    .execute())
                                            .concatMap(r -> r.map((row, meta) -> 1))
                                            .count()
                                            .doOnNext(rows -> millis.add(Fields.round((System.nanoTime() - start) / 1e6, 1)));
                                }))
                                .then(),
                        Connection::close)
                .block(Duration.ofMinutes(10));
        return millis;
    }
}
