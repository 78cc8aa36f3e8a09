package io.github.reactivepgqueue.bench;

import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.ReactiveHandler;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Mono;

/**
 * The library's throughput on one node: bulk-enqueue {@code n} no-op jobs into a fresh schema,
 * then start the worker and time until the database confirms that every job finished. Shared by
 * the {@code drain} and {@code backlog} workloads and their warm-ups.
 */
final class LibraryDrain {
    /** Jobs at once on the node. */
    static final int CONCURRENCY = 4000;
    /** Most jobs per claim statement. */
    static final int CLAIM_BATCH = 1000;

    private LibraryDrain() {
    }

    /** How the drain is set up, for the JSON line. */
    static Map<String, Object> config() {
        Map<String, Object> config = BenchQueues.config(CONCURRENCY, CLAIM_BATCH);
        config.put("enqueue_call_size", BenchQueues.ENQUEUE_CALL);
        config.put("enqueue_calls_in_flight", BenchQueues.ENQUEUE_CONCURRENCY);
        config.put("handler", "Mono.just(Outcome.success())");
        config.put("done_when", "every handler ran, then the database counts 0 pending or running jobs (asked every 20 ms)");
        return config;
    }

    /** Measures {@code n} jobs in {@code schema} (dropped before and after); the results for the JSON line. */
    static Map<String, Object> measure(BenchDatabase db, String schema, int n) {
        return measure(db, db.raw(), schema, n);
    }

    /** As {@link #measure(BenchDatabase, String, int)}, on connections from {@code connections}. */
    static Map<String, Object> measure(BenchDatabase db, ConnectionFactory connections, String schema, int n) {
        db.dropSchema(schema);
        CountingConnectionFactory counting = new CountingConnectionFactory(connections);
        ConnectionPool pool = BenchDatabase.pool(counting, BenchQueues.POOL_SIZE);
        AtomicInteger handled = new AtomicInteger();
        ReactiveHandler noOp = ReactiveHandler.of(BenchQueues.QUEUE, job -> {
            handled.incrementAndGet();
            return Mono.just(Outcome.success());
        });
        PgQueue queue = BenchQueues.builder(pool, schema, noOp, CONCURRENCY, CLAIM_BATCH).build();
        try {
            BenchQueues.migrate(queue);
            long enqueueNanos = BenchQueues.fill(queue, n);
            Duration limit = Duration.ofSeconds(Math.max(60, n / 1000));

            Map<String, Long> before = counting.snapshot();
            CpuMeter meter = CpuMeter.start();
            long start = System.nanoTime();
            queue.start().block(Duration.ofMinutes(1));
            Waits.until(() -> handled.get() >= n, limit, n + " handlers");
            long handlersDone = System.nanoTime() - start;
            Waits.untilNoLiveJobs(db, schema, limit);
            long drainNanos = System.nanoTime() - start;
            Map<String, Long> statements = counting.since(before);
            Map<String, Object> cpu = meter.per1000Jobs(n);

            long claims = statements.getOrDefault("claim", 0L);
            long completes = statements.getOrDefault("complete", 0L);
            Map<String, Object> results = Fields.of(
                    "jobs", n,
                    "enqueue_seconds", Fields.seconds(enqueueNanos),
                    "enqueue_jobs_per_s", Fields.rate(n, enqueueNanos),
                    "drain_seconds", Fields.seconds(drainNanos),
                    "drain_jobs_per_s", Fields.rate(n, drainNanos),
                    "last_handler_started_s", Fields.seconds(handlersDone),
                    "statements_while_draining", statements,
                    "jobs_per_claim", claims == 0 ? null : Fields.round((double) n / claims, 1),
                    "jobs_per_complete", completes == 0 ? null : Fields.round((double) n / completes, 1));
            results.putAll(cpu);
            return results;
        } finally {
            BenchQueues.close(queue);
            pool.disposeLater().block(Duration.ofSeconds(30));
            db.dropSchema(schema);
        }
    }
}
