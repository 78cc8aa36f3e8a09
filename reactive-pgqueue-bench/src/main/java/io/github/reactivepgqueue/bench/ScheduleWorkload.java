package io.github.reactivepgqueue.bench;

import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueueBuilder;
import io.github.reactivepgqueue.ReactiveHandler;
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
        LatencyWorkload.onIdleNode(db, schema, handler, warmUp, warmUpHandled, queue -> {
            LatencyWorkload.enqueueSpaced(queue, jobs, i -> i, n -> BenchQueues.job(n).delay(DELAY), null, null, null);
            Waits.until(() -> started.get() >= jobs, Duration.ofSeconds(30), "every job's handler");
        });
        double[] millis = new double[jobs];
        for (int i = 0; i < jobs; i++) {
            millis[i] = late.get(i) / 1000.0;
        }
        Arrays.sort(millis);
        Map<String, Object> lateness = Latencies.summary(millis);
        Log.say("schedule: run time to handler start p50 %s ms, p99 %s ms", lateness.get("p50_ms"),
                lateness.get("p99_ms"));
        Map<String, Object> config = BenchQueues.config(LatencyWorkload.CONCURRENCY, LibraryDrain.CLAIM_BATCH);
        config.put("jobs", jobs);
        config.put("spacing_ms", 20);
        config.put("delay_ms", DELAY.toMillis());
        config.put("warm_up_jobs", warmUp);
        config.put("enqueue", "queue.enqueue(job.delay(200 ms)), one at a time");
        config.put("poll_interval_ms", PgQueueBuilder.DEFAULT_POLL_INTERVAL.toMillis());
        return new Report(config, Fields.of("run_time_to_handler_start", lateness));
    }
}
