package io.github.reactivepgqueue.examples;

import io.github.reactivepgqueue.EnqueueResult;
import io.github.reactivepgqueue.MigrationResult;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.PgQueue;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import reactor.core.Exceptions;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A tour of the producer side of reactive-pgqueue: it migrates a schema, enqueues a few thousand
 * jobs in several queues, shows unique-key duplicate detection and an enqueue inside a
 * transaction that is rolled back, and prints what the {@code jobs} table then holds. No worker
 * runs, so every job stays pending.
 *
 * <p>Run it from the repository root with
 * <pre>
 * mvn -q -pl reactive-pgqueue-examples -am compile exec:java
 * mvn -q -pl reactive-pgqueue-examples -am compile exec:java -Dexec.args="postgresql://user:password@host:5432/db"
 * </pre>
 * The database is the one named by the first argument or by the environment variable
 * {@code PGQUEUE_DATABASE_URL} ({@code postgresql://}, {@code postgres://},
 * {@code jdbc:postgresql://} or {@code r2dbc:postgresql://}); without either, an embedded
 * PostgreSQL is started and stopped again. The demo works in the schema {@value #SCHEMA} and first
 * deletes the jobs an earlier run left there; it touches nothing else.
 *
 * <p>All work is one Reactor pipeline; the {@code main} method is the only place that blocks.
 */
public final class Demo {
    /** The schema the demo creates and fills. */
    public static final String SCHEMA = "pgqueue_demo";

    private static final String APPLICATION_NAME = "pgqueue-demo";
    private static final int POOL_SIZE = 4;
    private static final Duration MAX_ACQUIRE_TIME = Duration.ofSeconds(10);
    private static final int BULK_JOBS = 4000;
    private static final int JOBS_PER_CALL = 1000;
    private static final Duration RUN_TIMEOUT = Duration.ofSeconds(45);
    private static final Duration DISPOSE_TIMEOUT = Duration.ofSeconds(10);

    private final PgQueue queue;
    private final ConnectionFactory connections;
    private final JobTable jobTable;

    private Demo(ConnectionFactory connections) {
        this.connections = connections;
        this.queue = PgQueue.builder(connections).schema(SCHEMA).build();
        this.jobTable = new JobTable(connections, queue.schema());
    }

    /**
     * Runs the demo and exits with status 0, or prints the failure and exits with status 1.
     *
     * @param args optionally the database URL; see the class description
     */
    public static void main(String[] args) {
        try (DemoDatabase database = DemoDatabase.open(args)) {
            say("database: %s", database.description());
            ConnectionPool pool = createPool(database);
            try {
                runOn(pool).block(RUN_TIMEOUT);
            } finally {
                pool.disposeLater().block(DISPOSE_TIMEOUT);
            }
        } catch (Exception | Error e) {
            Throwable failure = Exceptions.unwrap(e);
            System.err.println("demo failed: " + failure);
            failure.printStackTrace();
            System.exit(1);
        }
        say("demo finished");
    }

    private static ConnectionPool createPool(DemoDatabase database) {
        return new ConnectionPool(ConnectionPoolConfiguration.builder(database.connectionFactory(APPLICATION_NAME))
                .name(APPLICATION_NAME)
                .initialSize(1)
                .maxSize(POOL_SIZE)
                .acquireRetry(POOL_SIZE)
                .maxAcquireTime(MAX_ACQUIRE_TIME)
                .maxCreateConnectionTime(MAX_ACQUIRE_TIME)
                .build());
    }

    /** The whole demo on {@code connections}, as one pipeline (used by {@code main} and the demo's test). */
    static Mono<Void> runOn(ConnectionFactory connections) {
        return new Demo(connections).run();
    }

    /** The whole demo, step by step. */
    private Mono<Void> run() {
        return queue.migrate()
                .doOnNext(Demo::printMigration)
                .then(deleteEarlierRun())
                .then(enqueueInBulk())
                .then(showDuplicateDetection())
                .then(showRolledBackEnqueue())
                .then(printSummary());
    }

    private static void printMigration(MigrationResult result) {
        say("migrate(): %s", result);
        if (result.changed()) {
            say("  schema %s migrated from version %d to %d", SCHEMA, result.fromVersion(), result.toVersion());
        } else {
            say("  schema %s already at version %d", SCHEMA, result.toVersion());
        }
    }

    private Mono<Void> deleteEarlierRun() {
        return jobTable.deleteAll()
                .filter(deleted -> deleted > 0)
                .doOnNext(deleted -> say("deleted %d jobs an earlier run left in %s", deleted, SCHEMA))
                .then();
    }

    // --- bulk enqueue -------------------------------------------------------------------------

    private Mono<EnqueueTally> enqueueInBulk() {
        return Mono.defer(() -> {
            List<List<NewJob>> calls = chunks(new SampleJobs().next(BULK_JOBS), JOBS_PER_CALL);
            say("enqueueing %d jobs in %d enqueueAll calls of %d", BULK_JOBS, calls.size(), JOBS_PER_CALL);
            long start = System.nanoTime();
            return Flux.fromIterable(calls)
                    .concatMap(queue::enqueueAll)
                    .scan(EnqueueTally.NONE, EnqueueTally::plus)
                    .skip(1)
                    .doOnNext(tally -> printProgress(tally, start))
                    .last(EnqueueTally.NONE);
        }).doOnNext(Demo::printBulkTotals);
    }

    private static void printProgress(EnqueueTally tally, long startNanos) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        say("  enqueued %4d/%d (%d new, %d duplicates) in %.2f s: %.0f jobs/s",
                tally.requested(), BULK_JOBS, tally.stored(), tally.duplicates(), seconds, tally.requested() / seconds);
    }

    private static void printBulkTotals(EnqueueTally tally) {
        say("bulk enqueue done: %d stored, %d duplicates (their unique key is held by a live job, maybe one"
                + " earlier in the same call)", tally.stored(), tally.duplicates());
    }

    private static <T> List<List<T>> chunks(List<T> items, int size) {
        List<List<T>> chunks = new ArrayList<>();
        for (int from = 0; from < items.size(); from += size) {
            chunks.add(items.subList(from, Math.min(items.size(), from + size)));
        }
        return chunks;
    }

    // --- unique keys --------------------------------------------------------------------------

    private Mono<Void> showDuplicateDetection() {
        NewJob invoice = SampleJobs.invoicePdf();
        return queue.enqueue(invoice)
                .zipWhen(first -> queue.enqueue(invoice))
                .flatMap(results -> checkDuplicate(invoice, results.getT1(), results.getT2()));
    }

    private static Mono<Void> checkDuplicate(NewJob job, EnqueueResult first, EnqueueResult second) {
        String key = job.uniqueKey().orElseThrow();
        say("unique key %s", key);
        say("  1st enqueue: %s", first);
        if (first instanceof EnqueueResult.Enqueued
                && second instanceof EnqueueResult.Duplicate duplicate && duplicate.id().equals(first.id())) {
            say("  2nd enqueue: %s", second);
            say("  -> the 2nd is a Duplicate held by job %s, the 1st one; nothing was stored", duplicate.id());
            return Mono.empty();
        }
        return Mono.error(new IllegalStateException("Expected the 2nd enqueue of " + key
                + " to be a duplicate of the 1st, but got " + first + " then " + second));
    }

    // --- transactional enqueue ----------------------------------------------------------------

    private Mono<Void> showRolledBackEnqueue() {
        NewJob welcome = SampleJobs.welcomeEmailOfFailedSignUp();
        String key = welcome.uniqueKey().orElseThrow();
        return Mono.fromRunnable(() -> say("sign-up transaction: enqueue the welcome email on the caller's own connection"))
                .then(inTransactionRolledBack(conn -> queue.enqueue(conn, welcome)
                        .flatMap(result -> jobTable.countByIdOrKey(conn, result.id(), key)
                                .doOnNext(seen -> say("  enqueued %s; inside the transaction %d job(s) with that id or"
                                        + " key %s", result.id(), seen, key))
                                .thenReturn(result))))
                .doOnNext(result -> say("  the sign-up failed: transaction rolled back"))
                .flatMap(result -> jobTable.countByIdOrKey(result.id(), key))
                .flatMap(left -> checkNothingLeft(left, key));
    }

    /** Runs {@code work} in a transaction on a pooled connection and rolls it back whatever happens. */
    private <T> Mono<T> inTransactionRolledBack(Function<Connection, Mono<T>> work) {
        return Mono.usingWhen(connections.create(),
                conn -> Mono.usingWhen(Mono.from(conn.beginTransaction()).thenReturn(conn), work,
                        Connection::rollbackTransaction),
                Connection::close);
    }

    private static Mono<Void> checkNothingLeft(long left, String key) {
        if (left == 0) {
            say("  after the rollback: 0 jobs with that id or key: nothing left behind, %s is free", key);
            return Mono.empty();
        }
        return Mono.error(new IllegalStateException(left + " job(s) survived the rollback"));
    }

    // --- summary ------------------------------------------------------------------------------

    private Mono<Void> printSummary() {
        return jobTable.pendingByQueue()
                .collectList()
                .doOnNext(Demo::printQueueStats)
                .then(jobTable.sampleRow())
                .doOnNext(Demo::printSampleRow)
                .then();
    }

    private static void printQueueStats(List<JobTable.QueueStats> queues) {
        say("summary of %s.jobs:", SCHEMA);
        say("  %-12s %8s %10s %9s %9s", "queue", "pending", "scheduled", "min prio", "max prio");
        for (JobTable.QueueStats stats : queues) {
            say("  %-12s %8d %10d %9d %9d", stats.queue(), stats.pending(), stats.scheduled(),
                    stats.minPriority(), stats.maxPriority());
        }
        say("  %-12s %8d %10d", "total", queues.stream().mapToLong(JobTable.QueueStats::pending).sum(),
                queues.stream().mapToLong(JobTable.QueueStats::scheduled).sum());
    }

    private static void printSampleRow(Map<String, Object> row) {
        say("a sample row:");
        row.forEach((column, value) -> say("  %-12s = %s", column, value));
    }

    private static void say(String format, Object... args) {
        System.out.println(String.format(Locale.ROOT, format, args));
    }
}
