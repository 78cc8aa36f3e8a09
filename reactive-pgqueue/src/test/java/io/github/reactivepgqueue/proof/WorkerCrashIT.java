package io.github.reactivepgqueue.proof;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.EnqueueResult;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;

/**
 * Worker nodes in processes of their own, killed with {@code kill -9} or stopped with SIGTERM
 * (reliability.md T1, T15, T16): a killed node's jobs are rescued and completed elsewhere within
 * three lease periods; a terminated node completes what finishes within its grace period, gives
 * the rest back with the attempt restored and exits in time; nodes joining, leaving and dying
 * under load lose nothing and run no claim twice. The invariants I1-I6 are checked after each.
 *
 * <p>The handlers record every claim in a ledger table of the test schema, so the test reads what
 * the other processes ran. A lease period here is the stall threshold: 2.5 heartbeat intervals.
 */
@ExtendWith(PostgresExtension.class)
class WorkerCrashIT {
    private static final String QUEUE = "crash";
    /**
     * Short, so that a test waits little for rescues, but not shorter: a worker JVM that has just
     * started on a busy machine must still beat within the lease, or its own reaper rescues its jobs.
     */
    private static final Duration HEARTBEAT = Duration.ofSeconds(1);
    private static final Duration LEASE = HEARTBEAT.multipliedBy(5).dividedBy(2);
    /** A JVM needs some time beyond the grace period to start its shutdown and exit. */
    private static final Duration EXIT_MARGIN = Duration.ofSeconds(4);

    private final TestSchema db;
    private final PgQueue producer;
    private final LedgerTable ledger;
    private final List<AutoCloseable> cleanups = new ArrayList<>();

    WorkerCrashIT(TestSchema db) {
        this.db = db;
        this.producer = db.migratedQueue();
        this.ledger = new LedgerTable(db.connectionFactory(), db.name()).create();
    }

    @BeforeEach
    void empty() {
        db.deleteAllJobs();
        ledger.clear();
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (int i = cleanups.size() - 1; i >= 0; i--) {
            cleanups.get(i).close();
        }
    }

    @Test
    void aKilledWorkersJobsAreRescuedAndCompletedElsewhereWithinThreeLeasePeriods() {
        List<UUID> ids = enqueue(100, 60_000);
        WorkerProcess worker = worker("proof-kill-a", 100, Duration.ofSeconds(5));
        await("100 jobs running in the worker").atMost(TIMEOUT).pollInterval(Duration.ofMillis(50))
                .until(() -> ledger.count(LedgerEntry.Event.START) == 100);
        assertThat(count("status = 'running'")).isEqualTo(100);

        worker.kill();
        long killedAt = System.nanoTime();
        assertThat(count("status = 'running'")).as("a killed JVM writes nothing").isEqualTo(100);
        PgQueue rescuer = node("proof-rescuer", 100, Duration.ZERO);
        await("every job rescued and completed").atMost(LEASE.multipliedBy(3)).pollInterval(Duration.ofMillis(20))
                .until(() -> completed() == 100);
        System.out.printf("[proof] 100 jobs of a killed worker completed elsewhere %d ms after the kill%n",
                (System.nanoTime() - killedAt) / 1_000_000);
        rescuer.close().block(TIMEOUT);

        // the killed claims started and never succeeded; the rescue gave the attempt back and
        // counted a reprocess, and the second claim succeeded
        Map<String, List<LedgerEntry>> byNode = ledger.entries().stream()
                .collect(Collectors.groupingBy(LedgerEntry::node));
        assertThat(byNode.get("proof-kill-a")).hasSize(100).allMatch(e -> e.event() == LedgerEntry.Event.START
                && e.key().attempt() == 1 && e.key().reprocessCount() == 0);
        assertThat(byNode.get("proof-rescuer")).hasSize(200)
                .allMatch(e -> e.key().attempt() == 1 && e.key().reprocessCount() == 1);
        check(ids).allCompleted().applications(worker.node()).closed().check();
    }

    @Test
    void sigtermCompletesWhatFinishesWithinTheGracePeriodAndGivesTheRestBack() {
        Duration grace = Duration.ofSeconds(3);
        List<UUID> quick = enqueue(20, 1_000);
        List<UUID> slow = enqueue(30, 60_000);
        WorkerProcess worker = worker("proof-term-b", 100, grace);
        await("50 jobs running in the worker").atMost(TIMEOUT).pollInterval(Duration.ofMillis(50))
                .until(() -> ledger.count(LedgerEntry.Event.START) == 50);

        long termAt = System.nanoTime();
        worker.terminate();
        assertThat(worker.waitFor(grace.plus(EXIT_MARGIN).plusSeconds(10))).as("exited").isTrue();
        Duration took = Duration.ofNanos(System.nanoTime() - termAt);
        System.out.printf("[proof] worker exited %d ms after SIGTERM (grace %d ms)%n", took.toMillis(), grace.toMillis());
        assertThat(took).as("time from SIGTERM to exit").isLessThan(grace.plus(EXIT_MARGIN));
        assertThat(worker.output()).contains("proof-term-b closed in");

        assertThat(count("status = 'running'")).as("jobs left running").isZero();
        assertThat(count("status = 'completed' AND attempt = 1 AND id = ANY ($1)", (Object) quick.toArray(UUID[]::new)))
                .as("jobs that finished within the grace period, completed").isEqualTo(20);
        assertThat(count("status = 'pending' AND attempt = 0 AND reprocess_count = 0 AND lease IS NULL"
                + " AND id = ANY ($1)", (Object) slow.toArray(UUID[]::new)))
                .as("jobs still running after the grace period, given back with the attempt restored").isEqualTo(30);
        assertThat(ledger.count(LedgerEntry.Event.SUCCESS)).isEqualTo(20);

        // another node runs the given-back jobs: the same attempt number, under a new lease
        PgQueue drainer = node("proof-drainer", 100, Duration.ZERO);
        await().atMost(TIMEOUT).until(() -> completed() == 50);
        drainer.close().block(TIMEOUT);
        List<UUID> all = new ArrayList<>(quick);
        all.addAll(slow);
        check(all).allCompleted().applications(worker.node()).closed().check();
    }

    /**
     * T16. Heavy (two more JVMs, 10,000 jobs; about a minute on a busy two-core machine), so it runs
     * only with {@code -Dpgqueue.test.heavy=true} or the Maven profile {@code heavy-tests}.
     */
    @Test
    @EnabledIfSystemProperty(named = "pgqueue.test.heavy", matches = "true",
            disabledReason = "heavy: enable with -Dpgqueue.test.heavy=true or -Pheavy-tests")
    void nodesJoiningLeavingAndDyingUnderLoadLoseNothing() {
        // enough that jobs still wait when the second node dies: with 5,000, about 4,100-4,250 were
        // done by then, and one run in a few passed the 4,500 this test needs
        int jobs = 10_000;
        int concurrency = 20;
        // three JVMs share two cores here, and a node whose heartbeat is late has its jobs rescued
        // while it lives (at-least-once, but not what this test is about)
        Duration heartbeat = HEARTBEAT.multipliedBy(2);
        long start = System.nanoTime();
        List<UUID> ids = enqueue(jobs, 5);
        node("proof-steady", concurrency, Duration.ofMillis(5), heartbeat);
        // two nodes join while it works
        WorkerProcess leaving = WorkerProcess.launch(db.coordinates(), "proof-join-leave",
                options(concurrency, Duration.ofSeconds(2), heartbeat));
        WorkerProcess dying = WorkerProcess.launch(db.coordinates(), "proof-join-die",
                options(concurrency, Duration.ofSeconds(2), heartbeat));
        cleanups.add(leaving);
        cleanups.add(dying);
        leaving.awaitReady();
        dying.awaitReady();
        long joined = completed();
        long joinedAt = System.nanoTime();

        await().atMost(TIMEOUT).until(() -> successesOf(leaving.node()) >= 200);
        leaving.terminate();
        assertThat(leaving.waitFor(Duration.ofSeconds(2).plus(EXIT_MARGIN))).as("left within its grace").isTrue();
        long doneWhenLeft = completed();
        await().atMost(TIMEOUT).until(() -> successesOf(dying.node()) >= 200);
        dying.kill();
        long doneWhenKilled = completed();
        long killedAt = System.nanoTime();
        assertThat(doneWhenKilled).as("jobs were still waiting when the second node died").isLessThan(jobs - 500);

        await("all jobs done").atMost(TIMEOUT).pollInterval(Duration.ofMillis(100)).until(() -> completed() == jobs);
        System.out.printf("[proof] completed jobs: %d when two nodes had joined (%d ms), %d when one left, %d when"
                        + " one was killed (%d ms), %d at the end (%d ms)%n", joined, millisSince(start, joinedAt),
                doneWhenLeft, doneWhenKilled, millisSince(start, killedAt), jobs, millisSince(start, System.nanoTime()));
        Invariants.Summary summary = check(ids).allCompleted().rerunsAllowed()
                .applications(leaving.node(), dying.node()).closed().check();
        System.out.println("[proof] join, leave, kill under load: " + summary);
        // A job runs under a second claim only after the reaper rescued it (the killed node's jobs,
        // or those of a node whose heartbeat was late on a starved machine), which the row shows.
        List<UUID> rerun = ledger.entries().stream().filter(e -> e.event() == LedgerEntry.Event.START)
                .collect(Collectors.groupingBy(e -> e.key().id(), Collectors.counting()))
                .entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
        assertThat(db.count("SELECT count(*) FROM (SELECT id, reprocess_count FROM {schema}.jobs UNION ALL"
                + " SELECT id, reprocess_count FROM {schema}.jobs_archive) j WHERE id = ANY ($1) AND reprocess_count = 0",
                (Object) rerun.toArray(UUID[]::new))).as("jobs run under two claims that were never rescued").isZero();
        assertThat(ledger.entries().stream().map(LedgerEntry::node).distinct())
                .containsExactlyInAnyOrder("proof-steady", leaving.node(), dying.node());
    }

    private static long millisSince(long start, long now) {
        return (now - start) / 1_000_000;
    }

    private WorkerProcess worker(String node, int concurrency, Duration grace) {
        WorkerProcess worker = WorkerProcess.start(db.coordinates(), node, options(concurrency, grace, HEARTBEAT));
        cleanups.add(worker);
        return worker;
    }

    private WorkerProcess.Options options(int concurrency, Duration grace, Duration heartbeat) {
        return new WorkerProcess.Options(db.name(), QUEUE, concurrency, heartbeat, grace, Duration.ofSeconds(1));
    }

    /** A started node in this JVM whose handler records in the ledger and waits {@code work}. */
    private PgQueue node(String name, int concurrency, Duration work) {
        return node(name, concurrency, work, HEARTBEAT);
    }

    private PgQueue node(String name, int concurrency, Duration work, Duration heartbeat) {
        PgQueue node = db.queueBuilder().janitor(true).janitorInterval(Duration.ofMillis(200))
                .globalConcurrency(concurrency).defaultQueueConcurrency(concurrency)
                .heartbeatInterval(heartbeat).connectionAcquireTimeout(heartbeat).stopGracePeriod(Duration.ofSeconds(5))
                .handler(ledger.handler(QUEUE, name, job -> Mono.delay(work).thenReturn(Outcome.success())))
                .build();
        cleanups.add(() -> node.close().block(TIMEOUT));
        node.start().block(TIMEOUT);
        return node;
    }

    private List<UUID> enqueue(int n, long sleepMillis) {
        List<NewJob> batch = IntStream.range(0, n).mapToObj(i -> NewJob.of(QUEUE, Map.of("sleepMs", sleepMillis)))
                .toList();
        return producer.enqueueAll(batch).block(TIMEOUT).stream().map(EnqueueResult::id).toList();
    }

    private long successesOf(String node) {
        return db.count("SELECT count(*) FROM {schema}.proof_ledger WHERE node = $1 AND event = 'SUCCESS'", node);
    }

    /** Completed jobs, in the live table or moved to the archive by a janitor. */
    private long completed() {
        return count("status = 'completed'") + db.rows("jobs_archive");
    }

    /** Jobs in the live table matching {@code condition}. */
    private long count(String condition, Object... params) {
        return db.count("SELECT count(*) FROM {schema}.jobs WHERE " + condition, params);
    }

    private Invariants check(List<UUID> ids) {
        return Invariants.of(db.connectionFactory(), db.name()).enqueued(ids).ledger(ledger)
                .stallLimit(LEASE.multipliedBy(3));
    }
}
