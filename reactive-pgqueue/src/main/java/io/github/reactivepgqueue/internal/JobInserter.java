package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.EnqueueResult;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.PgQueueException;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Writes new jobs: one {@code INSERT ... SELECT FROM unnest(...)} statement per batch, whatever the
 * number of jobs in it, with unique-key duplicates resolved in the same statement. A batch without
 * unique keys takes a plainer statement that only inserts (it cannot meet a duplicate).
 */
public final class JobInserter {
    /** How often rows whose key holder was not yet visible are retried before giving up. */
    private static final int MAX_HOLDER_RETRIES = 5;

    private final Db db;
    private final Sql sql;
    private final JobEncoder encoder;
    private final int batchSize;
    private final String signalChannel;
    private final QueueMetrics metrics;

    /** {@code signalChannel}: where enqueues notify the nodes; null to send no notifications. */
    public JobInserter(Db db, Sql sql, JobEncoder encoder, int batchSize, String signalChannel,
                       QueueMetrics metrics) {
        this.db = db;
        this.sql = sql;
        this.encoder = encoder;
        this.batchSize = batchSize;
        this.signalChannel = signalChannel;
        this.metrics = metrics;
    }

    /**
     * Enqueues {@code jobs} on a connection of its own, in one transaction (one statement per batch),
     * so the call stores all jobs or none.
     */
    public Mono<List<EnqueueResult>> enqueueAll(Collection<NewJob> jobs) {
        return encodeAll(jobs).flatMap(encoded -> encoded.isEmpty() ? Mono.just(List.<EnqueueResult>of())
                : db.transaction(conn -> insertBatches(conn, encoded)).single()
                        .doOnNext(results -> MetricHooks.enqueued(metrics, encoded, results)));
    }

    /** Enqueues {@code jobs} on the caller's connection, inside whatever transaction it has open. */
    public Mono<List<EnqueueResult>> enqueueAll(Connection connection, Collection<NewJob> jobs) {
        return encodeAll(jobs).flatMap(encoded -> encoded.isEmpty() ? Mono.just(List.<EnqueueResult>of())
                : insertBatches(connection, encoded)
                        .doOnNext(results -> MetricHooks.enqueued(metrics, encoded, results)));
    }

    private Mono<List<EncodedJob>> encodeAll(Collection<NewJob> jobs) {
        return Mono.fromCallable(() -> {
            if (jobs == null) {
                throw new NullPointerException("jobs");
            }
            List<EncodedJob> encoded = new ArrayList<>(jobs.size());
            for (NewJob job : jobs) {
                encoded.add(encoder.encode(job));
            }
            return encoded;
        });
    }

    private Mono<List<EnqueueResult>> insertBatches(Connection conn, List<EncodedJob> jobs) {
        List<List<EncodedJob>> batches = new ArrayList<>();
        for (int from = 0; from < jobs.size(); from += batchSize) {
            batches.add(jobs.subList(from, Math.min(jobs.size(), from + batchSize)));
        }
        return Flux.fromIterable(batches)
                .concatMap(batch -> insertBatch(conn, batch, 0))
                .collectList()
                .map(lists -> {
                    List<EnqueueResult> all = new ArrayList<>(jobs.size());
                    lists.forEach(all::addAll);
                    return all;
                });
    }

    private Mono<List<EnqueueResult>> insertBatch(Connection conn, List<EncodedJob> batch, int retry) {
        if (batch.stream().allMatch(job -> job.uniqueKey() == null)) {
            return insertWithoutKeys(conn, batch);
        }
        return R2dbc.query(bind(conn.createStatement(sql.get(SqlName.JobInsertMany)), batch),
                        row -> new InsertedRow(
                                ((Number) row.get("ord")).intValue() - 1,
                                Boolean.TRUE.equals(row.get("inserted", Boolean.class)),
                                row.get("holder_id", UUID.class)))
                .collectList()
                .flatMap(rows -> resolve(conn, batch, rows, retry));
    }

    /** A batch with no unique key: every job is inserted, so there is nothing to resolve. */
    private Mono<List<EnqueueResult>> insertWithoutKeys(Connection conn, List<EncodedJob> batch) {
        return R2dbc.query(bind(conn.createStatement(sql.get(SqlName.JobInsertManyNoKeys)), batch),
                        row -> ((Number) row.get("inserted")).intValue())
                .single()
                .map(inserted -> {
                    if (inserted != batch.size()) {
                        throw new IllegalStateException("Inserted " + inserted + " of " + batch.size() + " jobs");
                    }
                    List<EnqueueResult> results = new ArrayList<>(batch.size());
                    for (EncodedJob job : batch) {
                        results.add(new EnqueueResult.Enqueued(job.id()));
                    }
                    return results;
                });
    }

    private Mono<List<EnqueueResult>> resolve(Connection conn, List<EncodedJob> batch, List<InsertedRow> rows,
                                              int retry) {
        EnqueueResult[] results = new EnqueueResult[batch.size()];
        List<Integer> unresolved = new ArrayList<>();
        for (InsertedRow row : rows) {
            EncodedJob job = batch.get(row.index());
            if (row.inserted()) {
                results[row.index()] = new EnqueueResult.Enqueued(job.id());
            } else if (row.holderId() != null) {
                results[row.index()] = new EnqueueResult.Duplicate(row.holderId(), job.uniqueKey());
            } else {
                unresolved.add(row.index());
            }
        }
        if (unresolved.isEmpty()) {
            return Mono.just(List.of(results));
        }
        if (retry >= MAX_HOLDER_RETRIES) {
            return Mono.error(new EnqueueConflictException(unresolved.size()));
        }
        // The holder of these keys committed after the statement's snapshot (or finished in
        // between): run them again with a fresh snapshot.
        List<EncodedJob> again = unresolved.stream().map(batch::get).toList();
        return insertBatch(conn, again, retry + 1).map(retried -> {
            for (int i = 0; i < unresolved.size(); i++) {
                results[unresolved.get(i)] = retried.get(i);
            }
            return List.of(results);
        });
    }

    private Statement bind(Statement statement, List<EncodedJob> batch) {
        int n = batch.size();
        UUID[] ids = new UUID[n];
        String[] queues = new String[n];
        String[] payloads = new String[n];
        Integer[] priorities = new Integer[n];
        String[] uniqueKeys = new String[n];
        String[] fingerprints = new String[n];
        Integer[] maxAttempts = new Integer[n];
        Instant[] runAts = new Instant[n];
        Long[] delays = new Long[n];
        for (int i = 0; i < n; i++) {
            EncodedJob job = batch.get(i);
            ids[i] = job.id();
            queues[i] = job.queue();
            payloads[i] = job.payloadJson();
            priorities[i] = job.priority();
            uniqueKeys[i] = job.uniqueKey();
            fingerprints[i] = job.fingerprint();
            maxAttempts[i] = job.maxAttempts();
            runAts[i] = job.runAt();
            delays[i] = job.delayMicros();
        }
        statement.bind("$1", ids).bind("$2", queues).bind("$3", payloads).bind("$4", priorities)
                .bind("$5", uniqueKeys).bind("$6", fingerprints).bind("$7", maxAttempts).bind("$8", runAts)
                .bind("$9", delays);
        return signalChannel == null ? statement.bindNull("$10", String.class) : statement.bind("$10", signalChannel);
    }

    private record InsertedRow(int index, boolean inserted, UUID holderId) {
    }

    /** The holder of a unique key kept changing while the enqueue retried. */
    static final class EnqueueConflictException extends PgQueueException {
        private static final long serialVersionUID = 1L;

        EnqueueConflictException(int jobs) {
            super("Could not settle the unique keys of " + jobs + " jobs: their holders kept finishing or "
                    + "appearing concurrently; retry the enqueue");
        }
    }
}
