package io.github.reactivepgqueue.bench;

import io.github.reactivepgqueue.Job;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.PgQueueBuilder;
import io.github.reactivepgqueue.QueueOptions;
import io.github.reactivepgqueue.ReactiveHandler;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;

/** The library set up as the workloads use it: one queue, payloads {@code {"n": i}}. */
final class BenchQueues {
    /** The one queue every workload uses. */
    static final String QUEUE = "bench";
    /**
     * Jobs per {@code enqueueAll} call when filling a backlog, and per insert statement (the
     * queue's {@code enqueueBatchSize}): one statement per call. Calls of 1,000 enqueued 83,000–89,000
     * jobs/s, calls of 5,000 87,000–98,000 (docs/performance.md).
     */
    static final int ENQUEUE_CALL = 5000;
    /** {@code enqueueAll} calls in flight when filling a backlog. */
    static final int ENQUEUE_CONCURRENCY = 2;
    /** Connections in each workload's pool. */
    static final int POOL_SIZE = 10;

    private BenchQueues() {
    }

    /** The payload of every benchmark job: {@code {"n": i}}. */
    public record Payload(int n) {
    }

    /** The job numbered {@code n}. */
    static NewJob job(int n) {
        return NewJob.of(QUEUE, new Payload(n));
    }

    /** Jobs numbered {@code from} (inclusive) to {@code to} (exclusive). */
    static List<NewJob> jobs(int from, int to) {
        List<NewJob> jobs = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) {
            jobs.add(job(i));
        }
        return jobs;
    }

    /** The number in a job's payload. */
    static int number(Job job) {
        return job.payload().get("n").asInt();
    }

    /**
     * A builder for a queue on {@code schema} with one handler and room for {@code concurrency}
     * jobs at once; handlers run on the thread that claimed them ({@code Schedulers.immediate()}),
     * as a non-blocking handler may.
     */
    static PgQueueBuilder builder(ConnectionFactory pool, String schema, ReactiveHandler handler, int concurrency,
                                  int claimBatchSize) {
        return PgQueue.builder(pool)
                .schema(schema)
                .handler(handler, QueueOptions.defaults().concurrency(concurrency))
                .globalConcurrency(concurrency)
                .claimBatchSize(claimBatchSize)
                .enqueueBatchSize(ENQUEUE_CALL)
                .handlerScheduler(Schedulers.immediate());
    }

    /** How a builder from {@link #builder} is set up, for the JSON line. */
    static Map<String, Object> config(int concurrency, int claimBatchSize) {
        return Fields.of("global_concurrency", concurrency, "queue_concurrency", concurrency,
                "claim_batch_size", claimBatchSize, "enqueue_batch_size", ENQUEUE_CALL,
                "claims_in_flight", PgQueueBuilder.DEFAULT_CLAIMS_IN_FLIGHT, "handler_scheduler", "immediate",
                "completion_batch_size", PgQueueBuilder.DEFAULT_COMPLETION_BATCH_SIZE,
                "completion_flush_ms", PgQueueBuilder.DEFAULT_COMPLETION_FLUSH_INTERVAL.toMillis(),
                "poll_interval_ms", PgQueueBuilder.DEFAULT_POLL_INTERVAL.toMillis(),
                "statement_timeout_ms", PgQueueBuilder.DEFAULT_STATEMENT_TIMEOUT.toMillis(),
                "lock_timeout_ms", PgQueueBuilder.DEFAULT_LOCK_TIMEOUT.toMillis(),
                "janitor", true, "listen", true, "pool_size", POOL_SIZE);
    }

    /**
     * Enqueues jobs {@code 0 .. n-1} with {@code enqueueAll} calls of {@link #ENQUEUE_CALL} jobs,
     * {@link #ENQUEUE_CONCURRENCY} calls in flight, and returns the nanoseconds it took.
     */
    static long fill(PgQueue queue, int n) {
        int calls = (n + ENQUEUE_CALL - 1) / ENQUEUE_CALL;
        long start = System.nanoTime();
        Flux.range(0, calls)
                .flatMap(c -> queue.enqueueAll(jobs(c * ENQUEUE_CALL, Math.min(n, (c + 1) * ENQUEUE_CALL))),
                        ENQUEUE_CONCURRENCY)
                .then()
                .block(Duration.ofMinutes(30));
        return System.nanoTime() - start;
    }

    /** Migrates the queue's schema, blocking. */
    static void migrate(PgQueue queue) {
        queue.migrate().block(Duration.ofMinutes(1));
    }

    /** Closes the queue, blocking. */
    static void close(PgQueue queue) {
        queue.close().block(Duration.ofMinutes(2));
    }
}
