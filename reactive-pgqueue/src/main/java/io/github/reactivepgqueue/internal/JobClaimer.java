package io.github.reactivepgqueue.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Mono;

/** Claims due jobs with one {@link SqlName#JobClaim} statement. */
public final class JobClaimer {
    private final Db db;
    private final Sql sql;
    private final ObjectMapper mapper;
    private final QueueMetrics metrics;

    public JobClaimer(Db db, Sql sql, ObjectMapper mapper, QueueMetrics metrics) {
        this.db = db;
        this.sql = sql;
        this.mapper = mapper;
        this.metrics = metrics;
    }

    /**
     * Claims at most {@code limits.get(queue)} jobs of each queue and at most {@code total} in all.
     * Callers must not cancel it midway: the statement may commit anyway, leaving rows claimed
     * that nobody sees (see {@link #claimShielded}).
     */
    Mono<List<ClaimedRow>> claim(Map<String, Integer> limits, int total) {
        String[] queues = limits.keySet().toArray(String[]::new);
        Integer[] counts = limits.values().toArray(Integer[]::new);
        return db.transaction(conn -> R2dbc.query(conn.createStatement(sql.get(SqlName.JobClaim))
                                .bind("$1", queues).bind("$2", counts).bind("$3", total),
                        row -> ClaimedRow.from(row, mapper, metrics != QueueMetrics.NONE)))
                .collectList()
                .doOnNext(metrics::claimed);
    }

    /**
     * {@link #claim} started at once and run to its end even if the returned Mono is cancelled;
     * {@code settle} receives the rows in every case and returns those the caller still wants
     * (it gives back the others).
     */
    Mono<List<ClaimedRow>> claimShielded(Map<String, Integer> limits, int total,
                                         java.util.function.Function<List<ClaimedRow>, Mono<List<ClaimedRow>>> settle) {
        return Mono.defer(() -> Mono.fromFuture(claim(limits, total).flatMap(settle).toFuture(), true));
    }
}
