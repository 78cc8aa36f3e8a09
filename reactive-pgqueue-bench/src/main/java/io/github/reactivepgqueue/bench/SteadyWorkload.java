package io.github.reactivepgqueue.bench;

import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.ReactiveHandler;
import io.r2dbc.pool.ConnectionPool;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * {@code steady}: a started worker while producers offer 2,000 jobs/s for 20 s, as
 * {@code enqueueAll} calls of 20 jobs every 10 ms. Reports the rate achieved (handlers started
 * within the offering window), the pickup latency of every job (enqueue call completed to handler
 * start) and the backlog the database holds when the offering ends. Two seconds of the same load
 * run first as a warm-up and are not reported.
 */
final class SteadyWorkload implements Workload {
    private static final Duration TICK = Duration.ofMillis(10);
    private static final int CONCURRENCY = 500;
    private static final int CALLS_IN_FLIGHT = 8;

    @Override
    public String name() {
        return "steady";
    }

    @Override
    public Report run(BenchContext context, int run) {
        boolean smoke = context.smoke();
        int batch = smoke ? 5 : 20;
        int seconds = smoke ? 1 : 20;
        int warmUpSeconds = smoke ? 0 : 2;
        int ticksPerSecond = (int) (1000 / TICK.toMillis());
        int batches = seconds * ticksPerSecond;
        int jobs = batches * batch;
        int warmUpJobs = warmUpSeconds * ticksPerSecond * batch;
        BenchDatabase db = context.database();
        String schema = context.schema("steady");
        db.dropSchema(schema);

        Latencies latencies = new Latencies(jobs);
        AtomicInteger handled = new AtomicInteger();
        AtomicInteger warmUpHandled = new AtomicInteger();
        ReactiveHandler handler = ReactiveHandler.of(BenchQueues.QUEUE, job -> {
            int n = BenchQueues.number(job);
            if (n >= 0) {
                latencies.to(n);
                handled.incrementAndGet();
            } else {
                warmUpHandled.incrementAndGet();
            }
            return Mono.just(Outcome.success());
        });
        ConnectionPool pool = BenchDatabase.pool(db.raw(), BenchQueues.POOL_SIZE);
        PgQueue queue = BenchQueues.builder(pool, schema, handler, CONCURRENCY, LibraryDrain.CLAIM_BATCH).build();
        Map<String, Object> results;
        try {
            BenchQueues.migrate(queue);
            queue.start().block(Duration.ofMinutes(1));
            if (warmUpJobs > 0) {
                offer(queue, warmUpSeconds * ticksPerSecond, batch, n -> -1 - n, null);
                Waits.until(() -> warmUpHandled.get() >= warmUpJobs, Duration.ofSeconds(60), "the warm-up jobs");
            }

            long start = System.nanoTime();
            offer(queue, batches, batch, n -> n, latencies);
            long offered = System.nanoTime() - start;
            int handledInWindow = handled.get();
            long backlog = db.count(Waits.liveJobsSql(schema));
            Waits.until(() -> handled.get() >= jobs, Duration.ofSeconds(120), "every job's handler");
            long caughtUp = System.nanoTime() - start - offered;
            Waits.untilNoLiveJobs(db, schema, Duration.ofSeconds(60));

            Map<String, Object> latency = latencies.summary();
            Log.say("steady: %,d jobs/s achieved of %,d offered; p50 %s ms, p99 %s ms, backlog %d",
                    Fields.rate(handledInWindow, offered), jobs / seconds, latency.get("p50_ms"), latency.get("p99_ms"),
                    backlog);
            results = Fields.of(
                    "offered_jobs", jobs,
                    "offering_seconds", Fields.seconds(offered),
                    "enqueued_jobs_per_s", Fields.rate(jobs, offered),
                    "achieved_jobs_per_s", Fields.rate(handledInWindow, offered),
                    "backlog_at_end", backlog,
                    "caught_up_after_end_s", Fields.seconds(caughtUp),
                    "enqueue_done_to_handler_start", latency);
        } finally {
            BenchQueues.close(queue);
            pool.disposeLater().block(Duration.ofSeconds(30));
            db.dropSchema(schema);
        }
        Map<String, Object> config = BenchQueues.config(CONCURRENCY, LibraryDrain.CLAIM_BATCH);
        config.put("offered_jobs_per_s", batch * ticksPerSecond);
        config.put("seconds", seconds);
        config.put("batch", batch);
        config.put("every_ms", TICK.toMillis());
        config.put("enqueue_calls_in_flight", CALLS_IN_FLIGHT);
        config.put("warm_up_seconds", warmUpSeconds);
        return new Report(config, results);
    }

    /**
     * Offers {@code batches} calls of {@code batch} jobs, one call every 10 ms (several may be in
     * flight), numbered by {@code number}; records each job's enqueue completion when
     * {@code latencies} is given. Returns when every call has completed.
     */
    private static void offer(PgQueue queue, int batches, int batch, java.util.function.IntUnaryOperator number,
                              @Nullable Latencies latencies) {
        Flux.interval(TICK, TICK)
                .take(batches)
                .onBackpressureBuffer()
                .flatMap(tick -> {
                    int first = (int) (long) tick * batch;
                    java.util.List<io.github.reactivepgqueue.NewJob> jobs = new java.util.ArrayList<>(batch);
                    for (int i = first; i < first + batch; i++) {
                        jobs.add(BenchQueues.job(number.applyAsInt(i)));
                    }
                    return queue.enqueueAll(jobs).doOnSuccess(r -> {
                        if (latencies != null) {
                            for (int i = first; i < first + batch; i++) {
                                latencies.from(i);
                            }
                        }
                    });
                }, CALLS_IN_FLIGHT)
                .then()
                .block(Duration.ofMinutes(5));
    }
}
