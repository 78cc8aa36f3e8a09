package io.github.reactivepgqueue.bench;

import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.PgQueueBuilder;
import io.github.reactivepgqueue.ReactiveHandler;
import io.r2dbc.pool.ConnectionPool;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import reactor.core.publisher.Mono;

/**
 * {@code schedule}: jobs enqueued to run later start on time. An idle, started worker (as for
 * {@code latency}, with the default poll interval of 1 s); single enqueues 20 ms apart, each
 * with a delay of 200 ms; for each job the time from its run time (set by the database) to its
 * handler starting. Both are read from the one clock of this host: the run time from the job, the
 * start from {@code Instant.now()} in the handler. A warm-up series of jobs due at once runs first
 * and is not reported.
 */
final class ScheduleWorkload implements Workload {
    private static final Duration DELAY = Duration.ofMillis(200);
    private static final int CONCURRENCY = PgQueueBuilder.DEFAULT_GLOBAL_CONCURRENCY;

    @Override
    public String name() {
        return "schedule";
    }

    @Override
    public Report run(BenchContext context, int run) {
        int jobs = context.smoke() ? 20 : 300;
        int warmUp = context.smoke() ? 5 : 100;
        BenchDatabase db = context.database();
        String schema = context.schema("schedule");
        db.dropSchema(schema);

        // microseconds from the run time to the handler's start, per job; Long.MIN_VALUE: not yet
        AtomicLongArray late = new AtomicLongArray(jobs);
        for (int i = 0; i < jobs; i++) {
            late.set(i, Long.MIN_VALUE);
        }
        AtomicInteger started = new AtomicInteger();
        AtomicInteger warmUpHandled = new AtomicInteger();
        ReactiveHandler handler = ReactiveHandler.of(BenchQueues.QUEUE, job -> {
            Instant now = Instant.now();
            int n = BenchQueues.number(job);
            if (n >= 0) {
                Duration d = Duration.between(job.runAt(), now);
                if (late.compareAndSet(n, Long.MIN_VALUE, d.toNanos() / 1000)) {
                    started.incrementAndGet();
                }
            } else {
                warmUpHandled.incrementAndGet();
            }
            return Mono.just(Outcome.success());
        });
        ConnectionPool pool = BenchDatabase.pool(db.raw(), BenchQueues.POOL_SIZE);
        PgQueue queue = BenchQueues.builder(pool, schema, handler, CONCURRENCY, LibraryDrain.CLAIM_BATCH).build();
        try {
            BenchQueues.migrate(queue);
            queue.start().block(Duration.ofMinutes(1));
            LatencyWorkload.enqueueSpaced(queue, warmUp, i -> -1 - i, BenchQueues::job, null, null, null);
            Waits.until(() -> warmUpHandled.get() >= warmUp, Duration.ofSeconds(30), "the warm-up jobs");

            LatencyWorkload.enqueueSpaced(queue, jobs, i -> i, n -> BenchQueues.job(n).delay(DELAY), null, null, null);
            Waits.until(() -> started.get() >= jobs, Duration.ofSeconds(30), "every job's handler");
            Waits.untilNoLiveJobs(db, schema, Duration.ofSeconds(30));
        } finally {
            BenchQueues.close(queue);
            pool.disposeLater().block(Duration.ofSeconds(30));
            db.dropSchema(schema);
        }
        double[] millis = new double[jobs];
        for (int i = 0; i < jobs; i++) {
            millis[i] = late.get(i) / 1000.0;
        }
        Arrays.sort(millis);
        Map<String, Object> lateness = Latencies.summary(millis);
        Log.say("schedule: run time to handler start p50 %s ms, p99 %s ms", lateness.get("p50_ms"),
                lateness.get("p99_ms"));
        Map<String, Object> config = BenchQueues.config(CONCURRENCY, LibraryDrain.CLAIM_BATCH);
        config.put("jobs", jobs);
        config.put("spacing_ms", 20);
        config.put("delay_ms", DELAY.toMillis());
        config.put("warm_up_jobs", warmUp);
        config.put("enqueue", "queue.enqueue(job.delay(200 ms)), one at a time");
        config.put("poll_interval_ms", PgQueueBuilder.DEFAULT_POLL_INTERVAL.toMillis());
        return new Report(config, Fields.of("run_time_to_handler_start", lateness));
    }
}
