package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.proof.Invariants;
import io.github.reactivepgqueue.proof.MemoryLedger;
import io.github.reactivepgqueue.proof.RunKey;
import io.github.reactivepgqueue.testing.OwnedPostgres;
import io.github.reactivepgqueue.testing.Rows;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.R2dbcException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A started node rides out its database going away, without being restarted: every queue
 * connection (pool and listener) killed again and again while thousands of jobs run, the server
 * stopped for ten seconds mid-processing, and the server down when the node starts. In each case
 * every job ends completed, no claim of a job runs twice, nothing is left running, calls made
 * while the database is down fail fast instead of hanging, and new jobs are picked up at once
 * afterwards. Jobs the node held through an outage are not rescued from it once the database is
 * back, so their handlers do not run again.
 *
 * <p>Each handler run is recorded in a ledger ({@link MemoryLedger}) under its run key (job id,
 * attempt, reprocess count).
 * A claim whose reply was lost with its connection leaves the row running until the reaper rescues
 * it, and the rescue restores the attempt but raises the reprocess count: so a key seen twice means
 * one claim ran twice, and the jobs run with a reprocess count above zero must be exactly the
 * rescued ones. A killed connection cannot cause a deadlock, so the database must count none among
 * the node's statements either. Each test ends with the invariant check of reliability.md §4
 * ({@link Invariants}).
 */
class DatabaseFaultsIT {
    private static final String SCHEMA = "faults";
    private static final String QUEUE = "faulty";
    private static final String POOL_APP = "faults-pool";
    private static final String LISTENER_APP = "faults-listener";
    private static final String CHECK_APP = "ledger-check";
    private static final int CONCURRENCY = 100;
    private static final Duration ACQUIRE_TIMEOUT = Duration.ofSeconds(1);
    /** A call that cannot have a connection must fail within the acquire timeout plus this. */
    /** Long enough that only a notification can explain a pickup within seconds. */
    private static final Duration NOTIFY_ONLY_POLL = Duration.ofSeconds(30);

    private static OwnedPostgres postgres;
    private static ConnectionFactory checks;

    private final List<PgQueue> queues = new ArrayList<>();
    private final List<ConnectionPool> pools = new ArrayList<>();

    @BeforeAll
    static void startServer() {
        postgres = OwnedPostgres.start();
        // unpooled: a check never gets a connection that died with a restart
        checks = postgres.coordinates().connectionFactory(CHECK_APP);
        PgQueue.builder(checks).schema(SCHEMA).build().migrate().block(TIMEOUT);
    }

    @AfterAll
    static void stopServer() {
        if (postgres != null) {
            postgres.close();
        }
    }

    @BeforeEach
    void empty() {
        if (!postgres.isRunning()) {
            postgres.startAgain(); // a failed test may have left it stopped
        }
        for (String table : List.of("jobs", "jobs_archive", "jobs_dead", "paused_queues")) {
            execute("DELETE FROM " + SCHEMA + "." + table);
        }
    }

    @AfterEach
    void closeNodes() {
        if (!postgres.isRunning()) {
            postgres.startAgain(); // so that closing can write what is left
        }
        try {
            queues.forEach(q -> q.close().block(TIMEOUT));
        } finally {
            queues.clear();
            pools.forEach(p -> p.disposeLater().block(TIMEOUT));
            pools.clear();
        }
        // a backend reports its statistics (deadlocks among them) when it exits at the latest
        await("the node's sessions gone").atMost(TIMEOUT).until(() -> count("SELECT count(*) FROM pg_stat_activity"
                + " WHERE application_name IN ('" + POOL_APP + "', '" + LISTENER_APP + "')") == 0);
    }

    @Test
    void everyQueueConnectionKilledWhileJobsRun() {
        int jobs = 5_000;
        int rounds = 5;
        int progressBetweenKills = 400;
        long deadlocksBefore = deadlocks();
        MemoryLedger ledger = new MemoryLedger();
        PgQueue queue = node(Duration.ofSeconds(1), ledger);
        List<UUID> ids = enqueue(queue, jobs);
        queue.start().block(TIMEOUT);

        List<Long> poolKills = new ArrayList<>();
        List<Long> listenerKills = new ArrayList<>();
        int runsAtLastKill = 0;
        for (int round = 0; round < rounds; round++) {
            // the node must have made progress since the last kill, i.e. recovered from it
            int target = ledger.runs() + progressBetweenKills;
            awaitOrDiagnose(queue, "runs before kill " + (round + 1), TIMEOUT, Duration.ofMillis(5),
                    () -> ledger.runs() >= target);
            runsAtLastKill = ledger.runs();
            Map<String, Long> killed = killQueueConnections();
            poolKills.add(killed.getOrDefault(POOL_APP, 0L));
            listenerKills.add(killed.getOrDefault(LISTENER_APP, 0L));
        }
        System.out.printf("[db-faults] killed pool connections %s and listener connections %s; %d runs at the last kill%n",
                poolKills, listenerKills, runsAtLastKill);
        assertThat(runsAtLastKill).as("jobs were still waiting at the last kill").isLessThan(jobs - CONCURRENCY);
        assertThat(poolKills).as("pool backends killed per round").allMatch(n -> n >= 1);
        assertThat(listenerKills.stream().mapToLong(Long::longValue).sum()).as("listener backends killed").isPositive();

        awaitFinished(queue, jobs, Duration.ofSeconds(60));
        await("jobs in flight").atMost(TIMEOUT).until(() -> queue.jobsInFlight() == 0);
        Summary summary = verifyAllCompletedOnce(ledger, jobs);
        System.out.printf("[db-faults] connection kills: %s; stale writes %d%n", summary, queue.staleWrites());

        // the node still picks up new work promptly
        UUID id = queue.enqueue(NewJob.of(QUEUE, "after the storm")).block(TIMEOUT).id();
        ids.add(id);
        JobInfo after = queue.awaitCompletion(id).block(Duration.ofSeconds(5));
        assertThat(after.status()).isEqualTo(JobStatus.COMPLETED);
        assertThat(ledger.runsOf(id)).containsExactly(new RunKey(id, 1, 0));

        closeNodes();
        assertThat(deadlocks() - deadlocksBefore).as("deadlocks among the node's statements").isZero();
        // a claim whose lease was lost with its connection may have run its handler before the rescue
        invariants(ids, ledger).rerunsAllowed().check();
    }

    @Test
    void postgresStoppedForTenSecondsAndStartedAgain() {
        int jobs = 3_000;
        Duration outage = Duration.ofSeconds(10);
        long deadlocksBefore = deadlocks();
        MemoryLedger ledger = new MemoryLedger();
        PgQueue queue = node(NOTIFY_ONLY_POLL, ledger);
        List<UUID> ids = enqueue(queue, jobs);
        queue.start().block(TIMEOUT);

        await("first runs").atMost(TIMEOUT).pollInterval(Duration.ofMillis(5)).until(() -> ledger.runs() >= 300);
        int runsAtStop = ledger.runs();
        long stoppedAt = System.nanoTime();
        postgres.stop();
        // at most CONCURRENCY jobs were claimed and not yet started, so some were still pending
        assertThat(runsAtStop).as("jobs were still waiting when the server stopped").isLessThan(jobs - CONCURRENCY);

        // while it is down, an enqueue fails fast instead of hanging
        assertFailsFast(() -> queue.enqueue(NewJob.of(QUEUE, "while down")).block(TIMEOUT),
                DatabaseUnavailableException.class, R2dbcException.class);

        // The outage itself is the fault under test: its length is wall time on purpose.
        Duration rest = outage.minusNanos(System.nanoTime() - stoppedAt);
        if (!rest.isNegative()) {
            await().pollDelay(rest).atMost(rest.plusSeconds(5)).until(() -> true);
        }
        postgres.startAgain();
        long restartedAt = System.nanoTime();
        System.out.printf("[db-faults] server down for %d ms; %d runs when it stopped%n",
                (restartedAt - stoppedAt) / 1_000_000, runsAtStop);

        awaitFinished(queue, jobs, Duration.ofSeconds(60));
        await("jobs in flight").atMost(TIMEOUT).until(() -> queue.jobsInFlight() == 0);
        Summary summary = verifyAllCompletedOnce(ledger, jobs);
        System.out.printf("[db-faults] ten-second outage: %s; stale writes %d%n", summary, queue.staleWrites());

        // The listener reconnects with a backoff of its own (at most 10 s); once it listens again,
        // the same node (never restarted) hears enqueues: with a 30 s poll interval only the
        // notification can explain a pickup within seconds.
        await("the listener listening again").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20))
                .until(() -> count("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + LISTENER_APP
                        + "' AND (query LIKE 'LISTEN %' OR query LIKE '%liveness%')") == 1);
        System.out.printf("[db-faults] listener back %d ms after the restart%n", (System.nanoTime() - restartedAt) / 1_000_000);
        List<Long> latencies = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            // to compare with the state printed if this pickup gets stuck: did its wake-up arrive?
            System.out.printf("[db-faults] before pickup %d: %s; listener sessions %d%n", i, queue.workerState(),
                    count("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + LISTENER_APP + "'"));
            UUID id = queue.enqueue(NewJob.of(QUEUE, "pickup " + i)).block(TIMEOUT).id();
            ids.add(id);
            long enqueued = System.nanoTime();
            awaitOrDiagnose(queue, "pickup " + i + " after the outage", Duration.ofSeconds(5), Duration.ofMillis(5),
                    () -> ledger.firstStart(id) != null);
            long latencyMillis = (ledger.firstStart(id) - enqueued) / 1_000_000;
            latencies.add(latencyMillis);
            assertThat(latencyMillis).as("ms from enqueue to handler start, pickup " + i).isLessThan(2_000);
        }
        System.out.printf("[db-faults] pickup after the outage (ms): %s%n", latencies);

        closeNodes();
        assertThat(deadlocks() - deadlocksBefore).as("deadlocks among the node's statements").isZero();
        // A claim whose reply was lost leaves its jobs running unrun, and only those may be rescued.
        // The jobs this live node held through the outage must not be: the reaper has to give the
        // heartbeat time to catch up once the database is back, else their handlers run again.
        assertThat(summary.ranMoreThanOnce()).as("jobs rescued from this live node after their handler had run")
                .isEmpty();
        invariants(ids, ledger).check();
    }

    @Test
    void startWithTheDatabaseDown() {
        postgres.stop();
        MemoryLedger ledger = new MemoryLedger();
        PgQueue queue = node(Duration.ofSeconds(1), ledger);
        CompletableFuture<Void> started = queue.start().toFuture();

        assertFailsFast(() -> queue.enqueue(NewJob.of(QUEUE, "while down")).block(TIMEOUT),
                DatabaseUnavailableException.class);
        assertFailsFast(() -> queue.admin().counts().block(TIMEOUT), DatabaseUnavailableException.class);
        // start keeps trying; it neither completes nor fails while the server is down
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> !started.isDone());

        postgres.startAgain();
        await("start() completing by itself").atMost(Duration.ofSeconds(15)).until(started::isDone);
        assertThat(started).isCompleted();

        UUID id = queue.enqueue(NewJob.of(QUEUE, "after start")).block(TIMEOUT).id();
        JobInfo done = queue.awaitCompletion(id).block(Duration.ofSeconds(10));
        assertThat(done.status()).isEqualTo(JobStatus.COMPLETED);
        assertThat(ledger.runsOf(id)).containsExactly(new RunKey(id, 1, 0));
        assertThat(count("SELECT count(*) FROM " + SCHEMA + ".jobs")).as("nothing stored while down").isEqualTo(1);
        closeNodes();
        invariants(List.of(id), ledger).check();
    }

    /** A node (not started yet) on a pool of its own; its listener connects under a name of its own. */
    private PgQueue node(Duration pollInterval, MemoryLedger ledger) {
        ConnectionPool pool = new ConnectionPool(ConnectionPoolConfiguration
                .builder(postgres.coordinates().connectionFactory(POOL_APP))
                .initialSize(0).maxSize(10).acquireRetry(1).maxAcquireTime(Duration.ofSeconds(5)).build());
        pools.add(pool);
        PgQueue queue = PgQueue.builder(pool).schema(SCHEMA).janitor(false)
                .listenerConnectionFactory(postgres.coordinates().connectionFactory(LISTENER_APP))
                .globalConcurrency(CONCURRENCY).defaultQueueConcurrency(CONCURRENCY)
                .pollInterval(pollInterval)
                // so a lost claim is rescued within about two seconds (the stall threshold must
                // outlast a beat that waits the whole acquire timeout)
                .heartbeatInterval(Duration.ofMillis(500)).rescueAfterMissedHeartbeats(4)
                .connectionAcquireTimeout(ACQUIRE_TIMEOUT)
                .stopGracePeriod(Duration.ofSeconds(2))
                .handler(ledger.handler(QUEUE, POOL_APP, job -> Mono
                        .delay(Duration.ofMillis(ThreadLocalRandom.current().nextInt(2, 6)))
                        .thenReturn(Outcome.success())))
                .build();
        queues.add(queue);
        return queue;
    }

    /**
     * Kills every backend of the node (pool and listener) at once, by application name, and returns
     * how many of each were killed. {@code OwnedPostgres.terminateBackends} waits for each backend to
     * exit before the next ({@code pg_terminate_backend(pid, timeout)} polls every 100 ms), so it
     * kills a node's connections one by one over half a second or more, while the node goes on
     * working on the others; signalling them all in one statement hits them together.
     */
    private static Map<String, Long> killQueueConnections() {
        // in the select list, the kill runs only for the rows the WHERE clause chose
        List<Map<String, Object>> killed = query("SELECT application_name, pg_terminate_backend(pid) AS killed"
                + " FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name IN ('"
                + POOL_APP + "', '" + LISTENER_APP + "')");
        return killed.stream().filter(r -> Boolean.TRUE.equals(r.get("killed")))
                .collect(Collectors.groupingBy(r -> (String) r.get("application_name"), Collectors.counting()));
    }

    /** Awaits {@code condition}; if it never holds, prints what the node and the database are doing. */
    private static void awaitOrDiagnose(PgQueue queue, String what, Duration atMost, Duration poll,
                                        Callable<Boolean> condition) {
        try {
            await(what).atMost(atMost).pollInterval(poll).until(condition);
        } catch (ConditionTimeoutException e) {
            System.out.printf("[db-faults] STUCK (%s): jobsInFlight %d, staleWrites %d; worker: %s%n", what,
                    queue.jobsInFlight(), queue.staleWrites(), queue.workerState());
            System.out.println("[db-faults] jobs by status: " + query("SELECT status, count(*) AS n FROM " + SCHEMA
                    + ".jobs GROUP BY status"));
            System.out.println("[db-faults] sessions: " + query("SELECT pid, application_name, state, wait_event, "
                    + "now() - xact_start AS in_xact, left(query, 60) AS query FROM pg_stat_activity "
                    + "WHERE application_name LIKE 'faults-%'"));
            Thread.getAllStackTraces().forEach((thread, stack) -> {
                if (Arrays.stream(stack).anyMatch(f -> f.getClassName().startsWith("io.github.reactivepgqueue.internal"))) {
                    System.out.println("[db-faults] thread " + thread.getName() + " " + thread.getState() + ": "
                            + Arrays.stream(stack).limit(20).map(String::valueOf).collect(Collectors.joining(" <- ")));
                }
            });
            throw e;
        }
    }

    private static List<UUID> enqueue(PgQueue queue, int n) {
        List<NewJob> jobs = IntStream.range(0, n).mapToObj(i -> NewJob.of(QUEUE, Map.of("n", i))).toList();
        List<EnqueueResult> results = queue.enqueueAll(jobs).block(TIMEOUT);
        assertThat(results).hasSize(n);
        return new ArrayList<>(results.stream().map(EnqueueResult::id).toList());
    }

    /** The invariants of reliability.md §4 over the schema, the ledger and the node's sessions (closed by now). */
    private static Invariants invariants(List<UUID> enqueued, MemoryLedger ledger) {
        return Invariants.of(checks, SCHEMA).enqueued(enqueued).ledger(ledger).allCompleted()
                .applications(POOL_APP, LISTENER_APP).closed();
    }

    /**
     * The call fails with one of {@code types}. Callers block for {@code TIMEOUT} (a minute), far
     * beyond the acquire timeout: a call that hung would fail with the block's timeout instead, so
     * the type says that it failed fast, without measuring wall-clock time on a busy machine.
     */
    @SafeVarargs
    private static void assertFailsFast(Runnable call, Class<? extends Throwable>... types) {
        Throwable error = catchThrowable(call::run);
        assertThat(error).as("error of a call while the database is down").isInstanceOfAny(types);
    }

    private static void awaitFinished(PgQueue queue, int jobs, Duration atMost) {
        awaitOrDiagnose(queue, "all jobs finished", atMost, Duration.ofMillis(200), () -> count("SELECT count(*) FROM "
                + SCHEMA + ".jobs WHERE status NOT IN ('pending', 'running')") >= jobs);
    }

    /**
     * Every job is completed on its first attempt and nothing is left running; no run key ran
     * twice; each job's last run had the reprocess count stored on it; the jobs that ran with a
     * reprocess count above zero are exactly the rescued ones.
     */
    private static Summary verifyAllCompletedOnce(MemoryLedger ledger, int jobs) {
        List<Map<String, Object>> rows = query("SELECT id, status, attempt, reprocess_count, lease FROM "
                + SCHEMA + ".jobs");
        Map<Object, Long> byStatus = rows.stream()
                .collect(Collectors.groupingBy(r -> r.get("status"), TreeMap::new, Collectors.counting()));
        assertThat(byStatus).as("jobs by status").isEqualTo(Map.of("completed", (long) jobs));
        assertThat(rows).as("completed on the first attempt, lease cleared")
                .allMatch(r -> Integer.valueOf(1).equals(r.get("attempt")) && r.get("lease") == null);

        Map<RunKey, Integer> twice = ledger.startsByKey().entrySet().stream().filter(e -> e.getValue() > 1)
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
        assertThat(twice).as("run keys (id, attempt, reprocess count) that ran more than once").isEmpty();

        Map<UUID, List<RunKey>> runsById = ledger.startsByKey().keySet().stream()
                .collect(Collectors.groupingBy(RunKey::id));
        Set<UUID> rescued = new HashSet<>();
        List<String> mismatches = new ArrayList<>();
        for (Map<String, Object> row : rows) {
            UUID id = (UUID) row.get("id");
            int reprocessCount = (Integer) row.get("reprocess_count");
            if (reprocessCount > 0) {
                rescued.add(id);
            }
            List<RunKey> runs = runsById.getOrDefault(id, List.of());
            int lastRun = runs.stream().mapToInt(RunKey::reprocessCount).max().orElse(-1);
            if (lastRun != reprocessCount || runs.stream().anyMatch(k -> k.attempt() != 1)) {
                mismatches.add(id + " stored reprocess count " + reprocessCount + ", runs " + runs);
            }
        }
        assertThat(mismatches).as("jobs whose runs do not match the stored row").isEmpty();
        Set<UUID> ranAfterRescue = runsById.entrySet().stream()
                .filter(e -> e.getValue().stream().anyMatch(k -> k.reprocessCount() > 0))
                .map(Map.Entry::getKey).collect(Collectors.toSet());
        assertThat(ranAfterRescue).as("jobs run with a reprocess count above zero are the rescued ones")
                .isEqualTo(rescued);
        assertThat(runsById.keySet()).as("jobs that ran").hasSize(jobs);

        Set<UUID> ranMoreThanOnce = runsById.entrySet().stream().filter(e -> e.getValue().size() > 1)
                .map(Map.Entry::getKey).collect(Collectors.toSet());
        return new Summary(jobs, ledger.runs(), rescued.size(), ranMoreThanOnce);
    }

    /** What a storm came to: how many jobs were rescued, and how many of those had run before. */
    private record Summary(int jobs, int runs, int rescued, Set<UUID> ranMoreThanOnce) {
        @Override
        public String toString() {
            return jobs + " jobs, " + runs + " handler runs, " + rescued + " rescued by the reaper, "
                    + ranMoreThanOnce.size() + " of them run twice (a run whose lease was lost)";
        }
    }

    private static List<Map<String, Object>> query(String sql) {
        return Rows.query(checks, sql);
    }

    /** Deadlocks PostgreSQL detected in this database so far (reported by backends by the time they exit). */
    private static long deadlocks() {
        return count("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()");
    }

    private static long count(String sql) {
        return ((Number) query(sql).get(0).values().iterator().next()).longValue();
    }

    private static void execute(String sql) {
        Flux.usingWhen(checks.create(),
                        conn -> Flux.from(conn.createStatement(sql).execute()).flatMap(r -> r.getRowsUpdated()),
                        conn -> conn.close())
                .blockLast(TIMEOUT);
    }
}
