package io.github.reactivepgqueue.bench;

import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.PgQueueBuilder;
import io.github.reactivepgqueue.ReactiveHandler;
import io.r2dbc.pool.ConnectionPool;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * {@code latency}: an idle, started worker; single enqueues 20 ms apart; for each job the time from
 * its enqueue {@code Mono} completing (the insert committed) to its handler starting. A warm-up
 * series runs first (the listener connects, the JIT compiles) and is not reported.
 */
final class LatencyWorkload implements Workload {
    private static final Duration SPACING = Duration.ofMillis(20);
    static final int CONCURRENCY = PgQueueBuilder.DEFAULT_GLOBAL_CONCURRENCY;

    @Override
    public String name() {
        return "latency";
    }

    @Override
    public Report run(BenchContext context, int run) {
        int jobs = context.smoke() ? 20 : 300;
        int warmUp = context.smoke() ? 5 : 100;
        BenchDatabase db = context.database();
        String schema = context.schema("latency");
        db.dropSchema(schema);

        Latencies afterCommit = new Latencies(jobs);
        Latencies fromCall = new Latencies(jobs);
        Latencies enqueueCall = new Latencies(jobs);
        AtomicInteger warmUpHandled = new AtomicInteger();
        ReactiveHandler handler = ReactiveHandler.of(BenchQueues.QUEUE, job -> {
            int n = BenchQueues.number(job);
            if (n >= 0) {
                afterCommit.to(n);
                fromCall.to(n);
            } else {
                warmUpHandled.incrementAndGet();
            }
            return Mono.just(Outcome.success());
        });
        onIdleNode(db, schema, handler, warmUp, warmUpHandled, queue -> {
            enqueueSpaced(queue, jobs, i -> i, afterCommit, fromCall, enqueueCall);
            Waits.until(() -> afterCommit.complete() >= jobs, Duration.ofSeconds(30), "every job's handler");
        });
        Map<String, Object> latency = afterCommit.summary();
        Log.say("latency: p50 %s ms, p99 %s ms", latency.get("p50_ms"), latency.get("p99_ms"));
        Map<String, Object> results = Fields.of(
                "enqueue_done_to_handler_start", latency,
                "enqueue_call_to_handler_start", fromCall.summary(),
                "enqueue_round_trip", enqueueCall.summary());
        Map<String, Object> config = BenchQueues.config(CONCURRENCY, LibraryDrain.CLAIM_BATCH);
        config.put("jobs", jobs);
        config.put("spacing_ms", SPACING.toMillis());
        config.put("warm_up_jobs", warmUp);
        config.put("enqueue", "queue.enqueue(job), one at a time");
        return new Report(config, results);
    }

    /**
     * Runs {@code measured} on an idle, started node of a fresh {@code schema} (concurrency 500,
     * handlers on {@code Schedulers.immediate()}) whose handler is {@code handler}, once
     * {@code warmUp} jobs numbered below 0, enqueued 20 ms apart, have run (the handler counts
     * them in {@code warmUpHandled}); then waits until no job is live, stops the node and drops
     * the schema.
     */
    static void onIdleNode(BenchDatabase db, String schema, ReactiveHandler handler, int warmUp,
                           AtomicInteger warmUpHandled, Consumer<PgQueue> measured) {
        ConnectionPool pool = BenchDatabase.pool(db.raw(), BenchQueues.POOL_SIZE);
        PgQueue queue = BenchQueues.builder(pool, schema, handler, CONCURRENCY, LibraryDrain.CLAIM_BATCH).build();
        try {
            BenchQueues.migrate(queue);
            queue.start().block(Duration.ofMinutes(1));
            enqueueSpaced(queue, warmUp, i -> -1 - i, null, null, null);
            Waits.until(() -> warmUpHandled.get() >= warmUp, Duration.ofSeconds(30), "the warm-up jobs");
            measured.accept(queue);
            Waits.untilNoLiveJobs(db, schema, Duration.ofSeconds(30));
        } finally {
            BenchQueues.close(queue);
            pool.disposeLater().block(Duration.ofSeconds(30));
            db.dropSchema(schema);
        }
    }

    /**
     * Enqueues {@code count} jobs one by one, one every 20 ms, numbered by {@code number}; records
     * the call and the completion of each in the given latencies (when not null).
     */
    private static void enqueueSpaced(PgQueue queue, int count, java.util.function.IntUnaryOperator number,
                                      @Nullable Latencies afterCommit, @Nullable Latencies fromCall,
                                      @Nullable Latencies enqueueCall) {
        enqueueSpaced(queue, count, number, BenchQueues::job, afterCommit, fromCall, enqueueCall);
    }

    /** {@link #enqueueSpaced}, each job made by {@code job} from its number. */
    static void enqueueSpaced(PgQueue queue, int count, java.util.function.IntUnaryOperator number,
                              java.util.function.IntFunction<io.github.reactivepgqueue.NewJob> job,
                              @Nullable Latencies afterCommit, @Nullable Latencies fromCall,
                              @Nullable Latencies enqueueCall) {
        Flux.interval(SPACING, SPACING)
                .take(count)
                .onBackpressureBuffer()
                .concatMap(tick -> {
                    int i = (int) (long) tick;
                    int n = number.applyAsInt(i);
                    return Mono.defer(() -> {
                        if (fromCall != null) {
                            fromCall.from(n);
                            enqueueCall.from(n);
                        }
                        return queue.enqueue(job.apply(n));
                    }).doOnSuccess(result -> {
                        if (afterCommit != null) {
                            afterCommit.from(n);
                            enqueueCall.to(n);
                        }
                    });
                })
                .then()
                .block(Duration.ofMinutes(5));
    }
}
