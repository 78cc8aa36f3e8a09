package io.github.reactivepgqueue.examples.pipeline;

import io.github.reactivepgqueue.Backoff;
import io.github.reactivepgqueue.ClaimedJob;
import io.github.reactivepgqueue.JobCount;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.examples.ExampleMain;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A plain Reactor pipeline over {@link PgQueue#jobs(String...)}: claimed jobs are gathered into
 * micro-batches of at most {@value #MAX_BATCH} jobs or {@code 200 ms}, whichever comes first, each
 * batch is written to a {@link WarehouseSink} in one call, and then every job of the batch is
 * completed. When a batch write fails, every job of that batch is completed with
 * {@link Outcome#retry(String)}: it goes back to pending after the queue's backoff, with the error
 * recorded, and a later batch takes it again.
 *
 * <p>No handler and no {@code start()}: the stream claims only as many jobs as the pipeline asks
 * for, and jobs it claimed but did not complete go back to pending when the subscription ends.
 *
 * <p>Run it from the repository root with
 * <pre>
 * mvn -pl reactive-pgqueue-examples -am compile exec:java \
 *     -Dexec.mainClass=io.github.reactivepgqueue.examples.pipeline.BatchPipeline
 * </pre>
 * and optionally {@code -Dexec.args="postgresql://user:password@host:5432/db"}; without a URL
 * (argument or {@code PGQUEUE_DATABASE_URL}) it starts an embedded PostgreSQL. It works in the
 * schema {@value #SCHEMA} and first purges what an earlier run left in its queue.
 */
public final class BatchPipeline {
    /** The schema {@code main} uses. */
    public static final String SCHEMA = "pgqueue_pipeline";
    /** The queue of the readings. */
    public static final String QUEUE = "readings";
    /** Jobs enqueued per run. */
    public static final int JOBS = 1000;
    /** Most jobs per batch write. */
    public static final int MAX_BATCH = 100;
    /** Longest a batch waits to fill up. */
    public static final Duration MAX_WAIT = Duration.ofMillis(200);
    /** The sink's call that fails. */
    public static final int FAILING_WRITE = 3;

    private static final String APPLICATION_NAME = "pgqueue-pipeline";
    // Short, so that the example shows the retry within a second; real pipelines wait longer.
    private static final Backoff RETRY_BACKOFF = Backoff.linear(Duration.ofMillis(300));
    private static final Duration POLL_INTERVAL = Duration.ofMillis(200);

    private final PgQueue queue;
    private final WarehouseSink sink;

    private BatchPipeline(PgQueue queue, WarehouseSink sink) {
        this.queue = queue;
        this.sink = sink;
    }

    /**
     * Runs the example and exits with status 0, or prints the failure and exits with status 1.
     *
     * @param args optionally the database URL
     */
    public static void main(String[] args) {
        ExampleMain.run(APPLICATION_NAME, args, pool -> runOn(pool, SCHEMA, new WarehouseSink(FAILING_WRITE))
                .doOnNext(sink -> say("done: %d batch writes, %d failed", sink.writes().size(),
                        sink.writes().stream().filter(WarehouseSink.Write::failed).count())));
    }

    /**
     * The whole example on {@code connections} and {@code schema}: migrate, enqueue {@value #JOBS}
     * readings, run the pipeline until every one is written, close the queue.
     *
     * @return the sink, which holds every write it was asked for
     */
    public static Mono<WarehouseSink> runOn(ConnectionFactory connections, String schema, WarehouseSink sink) {
        return Mono.defer(() -> {
            PgQueue queue = PgQueue.builder(connections)
                    .schema(schema)
                    .defaultBackoff(RETRY_BACKOFF) // jobs() streams retry with the default backoff
                    .pollInterval(POLL_INTERVAL)
                    .build();
            return Mono.usingWhen(Mono.just(new BatchPipeline(queue, sink)), BatchPipeline::run,
                    pipeline -> pipeline.queue.close());
        }).thenReturn(sink);
    }

    private Mono<Void> run() {
        return queue.migrate()
                .then(queue.admin().purge(QUEUE))
                .then(queue.enqueueAll(readings()))
                .doOnNext(results -> say("enqueued %d readings in queue %s", results.size(), QUEUE))
                .then(pipeline())
                .then(printCounts());
    }

    /** The pipeline: micro-batches, one write per batch, then one outcome per job. Ends once every job succeeded. */
    private Mono<Void> pipeline() {
        return queue.jobs(QUEUE)
                // fair backpressure: the buffer asks the stream for no more jobs than downstream
                // demand needs, so the jobs claimed at any time are the batch being written plus
                // the one filling up
                .bufferTimeout(MAX_BATCH, MAX_WAIT, true)
                .concatMap(this::writeAndComplete, 1)
                .scan(0, Integer::sum)
                .takeUntil(written -> written >= JOBS)
                .then();
    }

    /** Writes one batch and completes its jobs; emits how many jobs succeeded. */
    private Mono<Integer> writeAndComplete(List<ClaimedJob> batch) {
        return Mono.defer(() -> sink.write(batch.stream().map(c -> c.job().payload(Reading.class)).toList()))
                .then(completeAll(batch, Outcome.success()))
                .doOnSuccess(v -> say("  wrote a batch of %3d", batch.size()))
                .thenReturn(batch.size())
                .onErrorResume(error -> {
                    say("  a batch of %3d failed (%s): its jobs are retried", batch.size(), error.getMessage());
                    return completeAll(batch, Outcome.retry("batch write failed: " + error.getMessage()))
                            .thenReturn(0);
                });
    }

    /** Completes every job of the batch; the queue writes the outcomes together. */
    private static Mono<Void> completeAll(List<ClaimedJob> batch, Outcome outcome) {
        return Flux.fromIterable(batch).flatMap(claimed -> claimed.complete(outcome)).then();
    }

    private Mono<Void> printCounts() {
        return queue.admin().counts(Long.MAX_VALUE)
                .doOnNext(counts -> counts.stream().filter(c -> c.queue().equals(QUEUE))
                        .forEach(BatchPipeline::printCount))
                .then();
    }

    private static void printCount(JobCount count) {
        say("  %s: %d %s in the %s table", count.queue(), count.jobs(), count.status().databaseValue(),
                count.location().name().toLowerCase(Locale.ROOT));
    }

    private static List<NewJob> readings() {
        return IntStream.range(0, JOBS)
                .mapToObj(i -> NewJob.of(QUEUE, new Reading("meter-" + (i % 40), i / 40, 0.25 * (i % 17))))
                .toList();
    }

    private static void say(String format, @Nullable Object... args) {
        System.out.println(String.format(Locale.ROOT, format, args));
    }
}
