package io.github.reactivepgqueue.examples;

import io.github.reactivepgqueue.JobCount;
import io.github.reactivepgqueue.JobLocation;
import io.github.reactivepgqueue.MigrationResult;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.ScheduleInfo;
import io.github.reactivepgqueue.examples.support.ExampleDatabase;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import reactor.core.Exceptions;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The demo: a small online shop's job queue at work. It enqueues a few thousand jobs into five
 * queues while workers run them, redraws a progress table every second, and ends with a summary:
 * <ul>
 *   <li>emails: fast;</li>
 *   <li>webhooks: flaky endpoints, so deliveries fail at random and are retried after a short
 *       backoff; one endpoint is down for good, so its deliveries use up their attempts and land
 *       in the dead-letter table;</li>
 *   <li>thumbnails: slow;</li>
 *   <li>invoices: the few without a billing country are unprocessable and go straight to the
 *       dead-letter table;</li>
 *   <li>reports: scheduled a few seconds into the future;</li>
 *   <li>stock-sync: a recurring job, declared on the builder as a schedule: one job every second,
 *       which nobody enqueues by hand; paused once the other jobs have finished.</li>
 * </ul>
 * Before the workers start it shows a unique key turning a second enqueue into a duplicate, and
 * an enqueue inside a transaction that is rolled back and leaves nothing. See {@link ShopJobs} and
 * {@link ShopHandlers}.
 *
 * <p>Run it from the repository root with
 * <pre>
 * mvn -pl reactive-pgqueue-examples -am compile exec:java
 * mvn -pl reactive-pgqueue-examples -am compile exec:java -Dexec.args="postgresql://user:password@host:5432/db"
 * </pre>
 * The database is the one named by the first argument or by the environment variable
 * {@code PGQUEUE_DATABASE_URL} ({@code postgresql://}, {@code postgres://},
 * {@code jdbc:postgresql://} or {@code r2dbc:postgresql://}); without either, an embedded
 * PostgreSQL is started and stopped again. The demo works in the schema {@value #SCHEMA}, which
 * it drops and creates afresh at the start, and leaves there for you to look at; it touches
 * nothing else.
 *
 * <p>Everything is composed as Reactor pipelines; the {@code main} method is the only place that
 * blocks.
 */
public final class Demo {
    /** The schema the demo creates and fills. */
    public static final String SCHEMA = "pgqueue_demo";
    /** Jobs the producer enqueues (besides the two of the unique-key demonstration). */
    static final int JOBS = 3000;

    private static final String APPLICATION_NAME = "pgqueue-demo";
    private static final int POOL_SIZE = 10;
    private static final Duration MAX_ACQUIRE_TIME = Duration.ofSeconds(10);
    private static final int JOBS_PER_BATCH = 250;
    private static final Duration BATCH_PAUSE = Duration.ofMillis(200);
    private static final Duration TICK = Duration.ofSeconds(1);
    /**
     * Every group counted exactly: the demo's tables are small, and its progress must add up to the
     * jobs it stored ({@code counts()} estimates groups over 1,000 jobs from the statistics).
     */
    private static final long EXACT = Long.MAX_VALUE;
    private static final Duration DRAIN_LIMIT = Duration.ofSeconds(40);
    private static final Duration RUN_TIMEOUT = Duration.ofSeconds(55);
    private static final Duration DISPOSE_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration LAST_SYNC_LIMIT = Duration.ofSeconds(10);

    private final ConnectionFactory connections;
    private final DemoTally tally = new DemoTally(ShopJobs.QUEUES);
    private final Screen screen;
    private final PgQueue queue;

    private Demo(ConnectionFactory connections, String schema, Screen screen) {
        this.connections = connections;
        this.screen = screen;
        this.queue = new ShopHandlers(tally).registerOn(PgQueue.builder(connections).schema(schema))
                .pollInterval(Duration.ofMillis(200))      // due retries and scheduled jobs start promptly
                .janitorInterval(Duration.ofMillis(500))   // finished jobs move to the archive or the DLQ
                .stopGracePeriod(Duration.ofSeconds(5))
                .schedule(ShopJobs.stockSync())            // start() adds it; one job per slot, on any number of nodes
                .build();
    }

    /**
     * Runs the demo and exits with status 0, or prints the failure and exits with status 1.
     *
     * @param args optionally the database URL; see the class description
     */
    public static void main(String[] args) {
        long start = System.nanoTime();
        try (ExampleDatabase database = ExampleDatabase.open(args)) {
            System.out.println("database: " + database.description());
            ConnectionPool pool = createPool(database);
            try {
                runOn(pool, SCHEMA).block(RUN_TIMEOUT);
            } finally {
                pool.disposeLater().block(DISPOSE_TIMEOUT);
                System.out.println("connection pool closed");
            }
        } catch (Exception | Error e) {
            Throwable failure = Exceptions.unwrap(e);
            System.err.println("demo failed: " + failure);
            failure.printStackTrace();
            System.exit(1);
        }
        System.out.printf("demo finished in %.1f s%n", (System.nanoTime() - start) / 1e9);
    }

    private static ConnectionPool createPool(ExampleDatabase database) {
        return new ConnectionPool(ConnectionPoolConfiguration.builder(database.connectionFactory(APPLICATION_NAME))
                .name(APPLICATION_NAME)
                .initialSize(1)
                .maxSize(POOL_SIZE)
                .acquireRetry(POOL_SIZE)
                .maxAcquireTime(MAX_ACQUIRE_TIME)
                .maxCreateConnectionTime(MAX_ACQUIRE_TIME)
                .build());
    }

    /**
     * The whole demo on {@code connections} in {@code schema}, as one pipeline: used by
     * {@code main} and by the demo's test. The queue is closed whether it succeeds, fails or is
     * cancelled; the connections are the caller's to close.
     */
    static Mono<DemoSummary> runOn(ConnectionFactory connections, String schema) {
        return Mono.defer(() -> new Demo(connections, schema, Screen.standardOutput()).run());
    }

    private Mono<DemoSummary> run() {
        return dropEarlierRun()
                .then(Mono.usingWhen(Mono.just(queue), q -> work(), q -> close(), (q, error) -> close(), q -> close()))
                .flatMap(this::summary)
                .flatMap(summary -> screen.lines(summary.lines(queue.schema())).thenReturn(summary));
    }

    /** Drops the schema with whatever an earlier run left; the queue's builder has validated its name. */
    private Mono<Void> dropEarlierRun() {
        String drop = "DROP SCHEMA IF EXISTS \"" + queue.schema() + "\" CASCADE";
        return Mono.usingWhen(connections.create(),
                conn -> Flux.from(conn.createStatement(drop).execute()).flatMap(result -> result.getRowsUpdated()).then(),
                Connection::close);
    }

    /** How the work ended: the last progress, and the schedule as it was once paused. */
    private record Drained(Progress progress, ScheduleInfo stockSync) {
    }

    /**
     * Migrates, shows the producer features, starts the workers, runs until every job has
     * finished, and pauses the schedule.
     */
    private Mono<Drained> work() {
        return queue.migrate()
                .flatMap(this::sayMigrated)
                .then(new ProducerTour(queue, connections, tally, screen).run())
                .then(queue.start())
                .then(screen.say("queue started: handlers for %s and %s; enqueueing %,d jobs in batches of %d",
                        String.join(", ", ShopJobs.QUEUES), ShopJobs.STOCK_SYNC, JOBS, JOBS_PER_BATCH))
                .then(queue.schedules().find(ShopJobs.STOCK_SYNC))
                .flatMap(this::sayScheduled)
                .then(screen.say("progress every second from queue.admin().counts(Long.MAX_VALUE) (retried: failed attempts run"
                        + " again after a backoff; dead: ended without success, bound for the dead-letter table)"))
                .then(Mono.defer(() -> {
                    long start = System.nanoTime();
                    return Mono.zip(produce().thenReturn(true), watch(start), (produced, last) -> last);
                }))
                .zipWhen(last -> pauseStockSync(), Drained::new);
    }

    private Mono<Void> sayScheduled(ScheduleInfo schedule) {
        return screen.say("schedule %s: declared on the builder, added by start(): a job on queue %s every %d s,"
                        + " one per slot however many nodes run; the first slot at %s", schedule.name(),
                schedule.queue(), ShopJobs.STOCK_SYNC_EVERY.toSeconds(), schedule.nextSlot());
    }

    /**
     * Pauses the schedule, so that it enqueues nothing more, and waits for its last job: a pause
     * waits for a node that is enqueueing a slot, so the last job it names is the last there is.
     */
    private Mono<ScheduleInfo> pauseStockSync() {
        return queue.schedules().pause(ShopJobs.STOCK_SYNC)
                .flatMap(paused -> Mono.justOrEmpty(paused.lastJob())
                        .flatMap(queue::awaitCompletion)
                        .timeout(LAST_SYNC_LIMIT)
                        .then(screen.say("schedule %s paused (queue.schedules().pause): no more slots; its last job,"
                                + " for the slot %s, has finished", paused.name(), paused.lastSlot()))
                        .thenReturn(paused));
    }

    private Mono<Void> sayMigrated(MigrationResult result) {
        return screen.say("schema %s: migrated from version %d to %d", queue.schema(), result.fromVersion(),
                result.toVersion());
    }

    /** Enqueues the jobs in batches, a short pause before each, as traffic would bring them. */
    private Mono<Void> produce() {
        return Flux.fromIterable(batches(new ShopJobs().next(JOBS)))
                .delayElements(BATCH_PAUSE)
                .concatMap(batch -> queue.enqueueAll(batch).doOnNext(results -> tally.enqueued(batch, results)))
                .then(Mono.fromRunnable(tally::producerDone));
    }

    private static List<List<NewJob>> batches(List<NewJob> jobs) {
        List<List<NewJob>> batches = new ArrayList<>();
        for (int from = 0; from < jobs.size(); from += JOBS_PER_BATCH) {
            batches.add(jobs.subList(from, Math.min(jobs.size(), from + JOBS_PER_BATCH)));
        }
        return batches;
    }

    /** Every second, the counts as a table, until every stored job has finished and left the live table. */
    private Mono<Progress> watch(long startNanos) {
        return Flux.interval(TICK, TICK)
                .onBackpressureDrop()
                .concatMap(tick -> queue.admin().counts(EXACT)
                        .map(counts -> Progress.of(since(startNanos), ShopJobs.QUEUES, counts, tally)))
                .scan((previous, next) -> next.since(previous))
                .concatMap(progress -> screen.table(ProgressTable.lines(progress)).thenReturn(progress))
                .takeUntil(Progress::drained)
                .last()
                .timeout(DRAIN_LIMIT, Mono.error(() -> new IllegalStateException(
                        "The jobs did not all finish within " + DRAIN_LIMIT.toSeconds() + " s")));
    }

    private static Duration since(long startNanos) {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    private Mono<Void> close() {
        return queue.close()
                .then(screen.say("queue closed: claiming stopped, no handler running, every outcome written"));
    }

    /** The final counts, one sample of each kind of dead letter, and the schedule. */
    private Mono<DemoSummary> summary(Drained drained) {
        Progress last = drained.progress();
        return queue.admin().counts(EXACT).flatMap(counts -> Flux.fromIterable(counts)
                .filter(count -> count.location() == JobLocation.DEAD)
                .concatMap(this::deadLetters)
                .collectList()
                .map(dead -> new DemoSummary(Progress.of(last.elapsed(), ShopJobs.QUEUES, counts, tally),
                        last.peakJobsPerSecond(), dead, drained.stockSync())));
    }

    private Mono<DemoSummary.DeadLetters> deadLetters(JobCount count) {
        return queue.admin().list(count.queue(), count.status(), null, 1)
                .next()
                .map(sample -> new DemoSummary.DeadLetters(count.queue(), count.status(), count.jobs(), sample));
    }
}
