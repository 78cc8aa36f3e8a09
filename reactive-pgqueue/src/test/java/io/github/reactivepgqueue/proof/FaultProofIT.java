package io.github.reactivepgqueue.proof;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.Backoff;
import io.github.reactivepgqueue.EnqueueResult;
import io.github.reactivepgqueue.Job;
import io.github.reactivepgqueue.MigrationResult;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.PgQueueBuilder;
import io.github.reactivepgqueue.QueueOptions;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.spi.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * Faults from outside the node that the other tests do not cover (reliability.md T6, T7, T8-T10,
 * T23), each ending with the invariant check: rows locked by a user transaction, a snapshot held
 * open elsewhere during a drain, handlers that misbehave in every way until their attempts are
 * spent, handlers that block their thread, and schema changes while workers run.
 *
 * <p>Covered elsewhere and not repeated here: each handler failure's effect on one row and the
 * handler timeout (OutcomeIT), blocking handlers not holding up other queues (ConcurrencyIT), a
 * statement meeting a locked row failing after the lock timeout (TimeoutsIT), the reaper skipping
 * locked rows (HeartbeatReaperIT), lost connections and server restarts (DatabaseFaultsIT,
 * ListenerFaultsIT), cancelled subscriptions (CancellationStormIT).
 */
@ExtendWith(PostgresExtension.class)
class FaultProofIT {
    private static final Duration HEARTBEAT = Duration.ofMillis(500);
    private static final int MISSED_HEARTBEATS = 4;
    /**
     * The stall threshold: 4 heartbeat intervals, so that it outlasts a beat that waits the whole
     * acquire timeout of 1 s, as the builder requires.
     */
    private static final Duration LEASE = HEARTBEAT.multipliedBy(MISSED_HEARTBEATS);
    private static final Duration ACQUIRE_TIMEOUT = Duration.ofSeconds(1);

    private final TestSchema db;
    private final PgQueue producer;
    private final MemoryLedger ledger = new MemoryLedger();
    private final List<UUID> enqueued = new ArrayList<>();
    private final List<AutoCloseable> cleanups = new ArrayList<>();

    FaultProofIT(TestSchema db) {
        this.db = db;
        this.producer = db.migratedQueue();
    }

    @BeforeEach
    void empty() {
        db.deleteAllJobs();
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (int i = cleanups.size() - 1; i >= 0; i--) {
            cleanups.get(i).close();
        }
    }

    /**
     * T6. Pending rows locked by a user transaction are skipped by claims while the rest run. Running
     * rows locked by it make their outcome writes fail after the lock timeout and be retried, and the
     * heartbeat skips them instead of failing for every job the node holds: held for more than two
     * stall periods, the lock makes no job rescued while it lasts. Once the transaction ends every job
     * completes, and no deadlock occurred; only a locked row may run twice (see the end).
     */
    @Test
    void rowsLockedByAUserTransactionAreSkippedAndTheirWritesRetried() {
        Sinks.Empty<Void> gate = Sinks.empty();
        long deadlocksBefore = deadlocks();
        // pending rows locked before the node starts: skipped, the others run
        List<UUID> held = enqueue("locks", 10, Map.of());
        try (Locker locker = new Locker(held)) {
            startLockedRowsNode(gate);
            enqueue("locks", 100, Map.of());
            await().atMost(TIMEOUT).until(() -> completed() == 100);
            assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE id = ANY ($1) AND status = 'pending'"
                    + " AND attempt = 0", (Object) held.toArray(UUID[]::new))).as("locked pending jobs").isEqualTo(10);
        }
        await().atMost(TIMEOUT).until(() -> completed() == 110);

        // running rows locked: their outcome writes wait, fail after the lock timeout, are retried
        List<UUID> gated = enqueue("locks", 10, Map.of("gated", true));
        await().atMost(TIMEOUT).until(() -> runningAmong(gated) == 10);
        try (Locker locker = new Locker(gated)) {
            gate.tryEmitEmpty();
            enqueue("locks", 100, Map.of());
            // held for more than two stall periods, long enough for the reaper to rescue whatever stopped beating
            await().pollDelay(LEASE.multipliedBy(2).plus(HEARTBEAT)).atMost(LEASE.multipliedBy(3)).until(() -> true);
            assertThat(runningAmong(gated)).as("locked running jobs while locked").isEqualTo(10);
            assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE reprocess_count > 0"))
                    .as("jobs rescued while a user held row locks").isZero();
            assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'running' AND NOT id = ANY ($1)"
                            + " AND heartbeat_at < now() - $2 * interval '1 millisecond'",
                    gated.toArray(UUID[]::new), HEARTBEAT.multipliedBy(2).toMillis()))
                    .as("running jobs not locked whose heartbeat stopped").isZero();
        }
        await().atMost(TIMEOUT).until(() -> completed() == 220);
        assertThat(deadlocks() - deadlocksBefore).as("deadlocks").isZero();
        // A row locked for longer than the stall threshold could not be beaten meanwhile: once the lock
        // goes, the reaper may rescue it before the retried outcome write lands, and it runs again
        // (at-least-once). That may happen to the locked rows only.
        invariants().allCompleted().rerunsAllowed().check();
        assertThat(ledger.entries().stream().filter(e -> e.event() == LedgerEntry.Event.START)
                .collect(Collectors.groupingBy(e -> e.key().id(), Collectors.counting()))
                .entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey))
                .as("jobs run twice").isSubsetOf(gated);
    }

    /**
     * T6, "no other job's latency is hurt": a batch of outcomes that meets a locked row fails after
     * the lock timeout; its halves are then written on their own, down to the locked rows, and
     * several batches are written at once. So a user lock on a few running rows holds back only
     * those rows' outcomes: the node's other jobs complete, and it keeps claiming, while the lock is
     * held.
     */
    @Test
    void otherJobsCompleteWhileRunningRowsAreLocked() {
        Sinks.Empty<Void> gate = Sinks.empty();
        startLockedRowsNode(gate);
        List<UUID> gated = enqueue("locks", 10, Map.of("gated", true));
        await().atMost(TIMEOUT).until(() -> runningAmong(gated) == 10);
        try (Locker locker = new Locker(gated)) {
            gate.tryEmitEmpty();
            enqueue("locks", 100, Map.of());
            await("jobs not locked completing while the lock is held").atMost(Duration.ofSeconds(10))
                    .until(() -> completed() == 100);
        }
        await().atMost(TIMEOUT).until(() -> completed() == 110);
        invariants().allCompleted().check();
    }

    private void startLockedRowsNode(Sinks.Empty<Void> gate) {
        start("locks", b -> b.lockTimeout(Duration.ofMillis(200)).globalConcurrency(50).defaultQueueConcurrency(50),
                job -> job.payload().path("gated").asBoolean()
                        ? gate.asMono().thenReturn(Outcome.success())
                        : Mono.just(Outcome.success()));
    }

    private long runningAmong(List<UUID> ids) {
        return db.count("SELECT count(*) FROM {schema}.jobs WHERE id = ANY ($1) AND status = 'running'",
                (Object) ids.toArray(UUID[]::new));
    }

    /**
     * T7. A REPEATABLE READ transaction held open in another session pins the xmin horizon during a
     * drain with the janitor on: the drain still completes, and the dead row versions it leaves cannot
     * be vacuumed until the snapshot is released.
     */
    @Test
    void aLongHeldSnapshotElsewhereDoesNotStopADrain() {
        int jobs = 2_000;
        Connection snapshot = connect("proof-snapshot");
        run(snapshot, "BEGIN ISOLATION LEVEL REPEATABLE READ");
        run(snapshot, "SELECT count(*) FROM pg_class");
        try {
            assertThat(db.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'proof-snapshot'"
                    + " AND backend_xmin IS NOT NULL")).as("the snapshot holds back the xmin horizon").isEqualTo(1);
            enqueue("drain", jobs, Map.of());
            start("drain", b -> b.janitor(true).janitorInterval(Duration.ofMillis(100)), job -> Mono.just(Outcome.success()));
            await().atMost(TIMEOUT).until(() -> db.rows("jobs_archive") == jobs);
            long pinned = deadRowsAfterVacuum();
            System.out.printf("[proof] drain of %d jobs under a held snapshot: %d dead row versions in jobs that"
                    + " VACUUM cannot remove%n", jobs, pinned);
            assertThat(pinned).as("dead row versions kept by the snapshot").isGreaterThanOrEqualTo(jobs);
        } finally {
            run(snapshot, "ROLLBACK");
            Mono.from(snapshot.close()).block(TIMEOUT);
        }
        long after = deadRowsAfterVacuum();
        System.out.printf("[proof] after the snapshot ended: %d dead row versions%n", after);
        assertThat(after).as("dead row versions once the snapshot ended").isLessThan(jobs / 10);
        invariants().allCompleted().check();
    }

    /**
     * T8/T9. Handlers that never finish, throw, signal an error, return null or complete empty, on
     * every attempt: each attempt fails, the job is dead-lettered once its attempts are spent, with
     * the error kept, and the node goes on running other jobs. (OutcomeIT checks each kind's first
     * failed attempt row by row.)
     */
    @Test
    void misbehavingHandlersAreDeadLetteredAfterTheirAttemptsAndTheNodeGoesOn() {
        List<String> kinds = List.of("never", "throw", "error", "null", "empty", "success");
        PgQueue node = start("misbehave", b -> b.janitor(true).janitorInterval(Duration.ofMillis(100))
                .pollInterval(Duration.ofMillis(200)), job -> {
            switch (job.payload().path("kind").asText()) {
                case "never" -> {
                    return Mono.never();
                }
                case "throw" -> throw new IllegalStateException("thrown by the handler");
                case "error" -> {
                    return Mono.error(new IllegalStateException("signalled by the handler"));
                }
                case "null" -> {
                    return null;
                }
                case "empty" -> {
                    return Mono.empty();
                }
                default -> {
                    return Mono.just(Outcome.success());
                }
            }
        }, QueueOptions.defaults().timeout(Duration.ofMillis(300)).backoff(Backoff.linear(Duration.ZERO)));
        for (String kind : kinds) {
            IntStream.range(0, 5).forEach(i -> enqueued.add(producer.enqueue(NewJob.of("misbehave", Map.of("kind", kind))
                    .maxAttempts(2)).block(TIMEOUT).id()));
        }
        await().atMost(TIMEOUT).until(() -> db.rows("jobs_dead") == 25 && db.rows("jobs_archive") == 5);

        assertThat(db.query("SELECT payload->>'kind' AS kind, status, attempt, last_error FROM {schema}.jobs_dead"))
                .allSatisfy(row -> {
                    assertThat(row.get("status")).isEqualTo("failed");
                    assertThat(row.get("attempt")).isEqualTo(2);
                    assertThat((String) row.get("last_error")).as("error of %s", row.get("kind")).isNotBlank();
                });
        assertThat(ledger.runs()).as("handler runs: two per failing job, one per succeeding job").isEqualTo(25 * 2 + 5);
        UUID after = enqueue("misbehave", 1, Map.of("kind", "success")).get(0);
        assertThat(node.awaitCompletion(after).block(TIMEOUT).status().databaseValue()).isEqualTo("completed");
        invariants().check();
    }

    /**
     * T10. A handler that blocks its thread inside {@code handle} itself (not in a Mono): on the
     * default handler scheduler (bounded elastic) it holds only its own thread, and the heartbeat,
     * which runs elsewhere, keeps its job and the others alive for longer than the stall threshold.
     * On a non-blocking scheduler BlockHound (installed in the tests, as a user may install it)
     * turns the blocking call into an error: the attempt fails, the node goes on.
     */
    @Test
    void aHandlerThatBlocksItsThreadIsNotRescuedAndOnANonBlockingSchedulerFailsItsAttempt() {
        Duration block = LEASE.multipliedBy(2).plus(HEARTBEAT); // more than twice the stall threshold
        start("blocking", b -> b, job -> {
            sleep(block);
            return Mono.just(Outcome.success());
        });
        List<UUID> blocking = enqueue("blocking", 4, Map.of());
        await().atMost(TIMEOUT).until(() -> completed() == 4);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE reprocess_count = 0 AND id = ANY ($1)",
                (Object) blocking.toArray(UUID[]::new))).as("blocking jobs never rescued").isEqualTo(4);

        start("blocking-parallel", b -> b.handlerScheduler(Schedulers.parallel()), job -> {
            if (job.payload().path("block").asBoolean()) {
                sleep(Duration.ofMillis(10));
            }
            return Mono.just(Outcome.success());
        }, QueueOptions.defaults().backoff(Backoff.linear(Duration.ZERO)));
        UUID caught = producer.enqueue(NewJob.of("blocking-parallel", Map.of("block", true)).maxAttempts(1))
                .block(TIMEOUT).id();
        enqueued.add(caught);
        await().atMost(TIMEOUT).until(() -> db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'failed'") == 1);
        assertThat((String) db.row("jobs", caught, "last_error").get("last_error"))
                .contains("Blocking call");
        enqueue("blocking-parallel", 5, Map.of());
        await().atMost(TIMEOUT).until(() -> completed() == 9);
        invariants().check();
    }

    /**
     * T23. Running the migrations again on a live schema, and additive DDL (a new column, an index
     * built concurrently, then both dropped again) while nodes drain jobs: the DDL gets its locks
     * within its lock timeout, the nodes keep working, and nothing is lost or run twice.
     */
    @Test
    void schemaChangesWhileWorkersRunLeaveThemWorking() {
        int jobs = 3_000;
        enqueue("migrating", jobs, Map.of());
        start("migrating", b -> b.janitor(true).janitorInterval(Duration.ofMillis(100)).globalConcurrency(20)
                .defaultQueueConcurrency(20), job -> Mono.delay(Duration.ofMillis(2)).thenReturn(Outcome.success()));
        await().atMost(TIMEOUT).until(() -> ledger.runs() >= 300);

        MigrationResult again = producer.migrate().block(TIMEOUT);
        assertThat(again.changed()).as("migrations applied again").isFalse();
        long ddlStart = System.nanoTime();
        db.execute("SET lock_timeout = '2s'; ALTER TABLE {schema}.jobs ADD COLUMN proof_note text");
        db.execute("CREATE INDEX CONCURRENTLY proof_note_idx ON {schema}.jobs (proof_note)");
        db.execute("SET lock_timeout = '2s'; ALTER TABLE {schema}.jobs DROP COLUMN proof_note");
        long ddlMillis = (System.nanoTime() - ddlStart) / 1_000_000;
        int runsAfterDdl = ledger.runs();
        System.out.printf("[proof] DDL under load took %d ms; %d handler runs by then%n", ddlMillis, runsAfterDdl);
        assertThat(runsAfterDdl).as("jobs were still waiting after the DDL").isLessThan(jobs);

        await().atMost(TIMEOUT).until(() -> db.rows("jobs_archive") == jobs);
        invariants().allCompleted().check();
    }

    // ---- helpers

    private PgQueue start(String queue, UnaryOperator<PgQueueBuilder> configure,
                          Function<Job, Mono<Outcome>> body) {
        return start(queue, configure, body, QueueOptions.defaults());
    }

    private PgQueue start(String queue, UnaryOperator<PgQueueBuilder> configure,
                          Function<Job, Mono<Outcome>> body,
                          QueueOptions options) {
        PgQueue node = configure.apply(db.queueBuilder().heartbeatInterval(HEARTBEAT)
                        .rescueAfterMissedHeartbeats(MISSED_HEARTBEATS).connectionAcquireTimeout(ACQUIRE_TIMEOUT)
                        .stopGracePeriod(Duration.ofSeconds(5))
                        .handler(ledger.handler(queue, "node", body), options))
                .build();
        cleanups.add(() -> node.close().block(TIMEOUT));
        node.start().block(TIMEOUT);
        return node;
    }

    private List<UUID> enqueue(String queue, int n, Map<String, Object> payload) {
        List<UUID> ids = producer.enqueueAll(IntStream.range(0, n).mapToObj(i -> NewJob.of(queue, payload)).toList())
                .block(TIMEOUT).stream().map(EnqueueResult::id).toList();
        enqueued.addAll(ids);
        return ids;
    }

    private Invariants invariants() {
        return Invariants.of(db.connectionFactory(), db.name()).enqueued(enqueued).ledger(ledger)
                .applications("proof-locker", "proof-snapshot");
    }

    /** Completed jobs, in the live table or in the archive. */
    private long completed() {
        return db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'completed'") + db.rows("jobs_archive");
    }

    private long deadlocks() {
        return db.count("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()");
    }

    /** Vacuums the live table and returns the dead row versions VACUUM had to leave. */
    private long deadRowsAfterVacuum() {
        db.execute("VACUUM {schema}.jobs");
        return db.count("SELECT n_dead_tup FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'jobs'", db.name());
    }

    private Connection connect(String applicationName) {
        return Mono.from(db.coordinates().connectionFactory(applicationName).create()).block(TIMEOUT);
    }

    private static void run(Connection conn, String sql, Object... params) {
        var statement = conn.createStatement(sql);
        for (int i = 0; i < params.length; i++) {
            statement.bind("$" + (i + 1), params[i]);
        }
        Flux.from(statement.execute()).flatMap(r -> r.map((row, meta) -> 1)).blockLast(TIMEOUT);
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A user transaction in a session of its own holding row locks on jobs until closed (rolled back). */
    private final class Locker implements AutoCloseable {
        private final Connection conn = connect("proof-locker");

        Locker(List<UUID> ids) {
            run(conn, "BEGIN");
            run(conn, "SELECT id FROM " + '"' + db.name() + '"' + ".jobs WHERE id = ANY ($1) FOR UPDATE",
                    (Object) ids.toArray(UUID[]::new));
        }

        @Override
        public void close() {
            run(conn, "ROLLBACK");
            Mono.from(conn.close()).block(TIMEOUT);
        }
    }
}
