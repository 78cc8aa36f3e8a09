package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.POLL;
import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static io.github.reactivepgqueue.testing.Fixtures.holding;
import static io.github.reactivepgqueue.testing.Fixtures.waiting;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.internal.NodeProbe;
import io.github.reactivepgqueue.testing.DatabaseCoordinates;
import io.github.reactivepgqueue.testing.LogCapture;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.StatementCounter;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Result;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.resources.LoopResources;
import reactor.util.function.Tuple2;

/**
 * The heartbeat, the reaper and poison detection: one heartbeat statement per beat however
 * many jobs run; a beating job is never rescued; stale running jobs are rescued (back to pending,
 * failed on their last attempt, bad_job at the reprocess limit) and fresh ones are not; the
 * reaper skips rows other transactions hold and re-checks the stall on the row it locks; two
 * reapers share the work without deadlock or double rescue; one reaper batch costs about the same
 * however many jobs stalled; a node whose job lost its lease cancels the handler and writes
 * nothing; handlers that hold every connection of a shared pool do not stop the heartbeat; and a
 * node whose beats do not get through stops its handlers before others may rescue the jobs.
 */
@ExtendWith(PostgresExtension.class)
class HeartbeatReaperIT {
    /** Text that only the JobHeartbeat statement contains (see job.sql). */
    private static final String HEARTBEAT_SQL = "SET heartbeat_at = now()";
    /** Server-side limit for statements on the tests' own pools: far above what a batch of 1000 rows needs. */
    private static final Duration STATEMENT_TIMEOUT = Duration.ofSeconds(5);
    /** For the starved and cut-off nodes: the stall threshold (750 ms) outlasts a beat plus the acquire timeout. */
    private static final Duration STARVED_BEAT = Duration.ofMillis(300);
    private static final Duration STARVED_ACQUIRE = Duration.ofMillis(400);

    private final TestSchema db;
    private final List<PgQueue> queues = new ArrayList<>();
    private final List<Sinks.Empty<Void>> releases = new ArrayList<>();
    private final List<ConnectionPool> pools = new ArrayList<>();
    private final LoopResources loop = LoopResources.create("heartbeat-reaper-it", 1, true);

    HeartbeatReaperIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
    }

    @BeforeEach
    void empty() {
        db.deleteAllJobs();
    }

    @AfterEach
    void cleanUp() {
        releases.forEach(Sinks.Empty::tryEmitEmpty);
        queues.forEach(q -> q.close().block(TIMEOUT));
        pools.forEach(p -> p.disposeLater().block(TIMEOUT));
        loop.disposeLater(Duration.ZERO, Duration.ofSeconds(5)).block(TIMEOUT);
        queues.clear();
        releases.clear();
        pools.clear();
    }

    /**
     * A pool of fresh connections, disposed after the test. Its sessions cancel any statement
     * running longer than {@link #STATEMENT_TIMEOUT}, so a runaway statement fails its test instead
     * of holding row locks into the next one. Its connections share one event-loop thread: the
     * races under test happen in the database, and one client thread keeps Netty's buffer
     * allocator from contending across threads (which BlockHound reports as a blocking call).
     */
    private ConnectionPool pool(int size) {
        DatabaseCoordinates c = db.coordinates();
        ConnectionPool pool = new ConnectionPool(ConnectionPoolConfiguration.builder(new PostgresqlConnectionFactory(
                        PostgresqlConnectionConfiguration.builder()
                                .host(c.host()).port(c.port()).database(c.database())
                                .username(c.user()).password(c.password())
                                .applicationName("heartbeat-reaper-it").statementTimeout(STATEMENT_TIMEOUT)
                                .loopResources(loop).build()))
                .initialSize(0).maxSize(size).build());
        pools.add(pool);
        return pool;
    }

    /** Builds a queue that is closed after the test. */
    private PgQueue queue(PgQueueBuilder builder) {
        PgQueue queue = builder.pollInterval(POLL).stopGracePeriod(Duration.ofSeconds(2)).build();
        queues.add(queue);
        return queue;
    }

    /** A queue, never started, whose reaper finds a job stalled after 10 s x 2.5 = 25 s without a beat. */
    private PgQueue stallingAfter25Seconds() {
        return queue(db.queueBuilder().heartbeatInterval(Duration.ofSeconds(10)).rescueAfterMissedHeartbeats(2.5));
    }

    /** A sink that handlers wait on; completed after the test at the latest. */
    private Sinks.Empty<Void> release() {
        Sinks.Empty<Void> release = Sinks.empty();
        releases.add(release);
        return release;
    }

    private long count(String where, Object... params) {
        return db.count("SELECT count(*) FROM {schema}.jobs WHERE " + where, params);
    }

    private Map<String, Object> row(UUID id) {
        return db.row("jobs", id, "status, attempt, max_attempts, reprocess_count, lease, heartbeat_at, completed_at, "
                + "last_error, run_at <= now() AS due");
    }

    /**
     * A row as a node leaves it while running the job: status running under a lease of its own,
     * with the heartbeat at {@code heartbeatAt} (an SQL expression such as {@code now() - interval '1 hour'}).
     * Its run_at lies in the future so that a rescue visibly makes it due at once.
     */
    private UUID insertRunning(int attempt, int maxAttempts, int reprocessCount, String heartbeatAt) {
        return (UUID) db.query("INSERT INTO {schema}.jobs (id, queue, payload, status, attempt, max_attempts, "
                        + "reprocess_count, lease, heartbeat_at, run_at) "
                        + "VALUES (gen_random_uuid(), 'q', '{}', 'running', $1, $2, $3, gen_random_uuid(), "
                        + heartbeatAt + ", now() + interval '1 day') RETURNING id",
                attempt, maxAttempts, reprocessCount).get(0).get("id");
    }

    // ---------------------------------------------------------------------------------------------
    // heartbeat

    @Test
    void oneHeartbeatStatementPerBeatHoweverManyJobsRun() {
        int beats = 10;
        // One statement per beat for one job and for a thousand, not a thousand per beat. The test
        // triggers the beats itself and counts statements per beat, so a busy machine cannot skew it.
        assertThat(heartbeatStatementsForBeats(1, beats)).isEqualTo(beats);
        assertThat(heartbeatStatementsForBeats(1_000, beats)).isEqualTo(beats);
    }

    /**
     * Heartbeats are HOT updates (schema version 4): no index names {@code heartbeat_at} and pages
     * keep a fifth free, so a beat writes the new row version on its page and no index entry.
     * Counted by PostgreSQL's statistics, which a backend flushes within seconds: the test awaits
     * the count. With an index on {@code heartbeat_at} (version 3) none of them was.
     */
    @Test
    void heartbeatsAreHotUpdates() {
        int jobs = 200;
        int beats = 5;
        Sinks.Empty<Void> release = release();
        AtomicInteger started = new AtomicInteger();
        PgQueue queue = queue(db.queueBuilder().listen(false)
                .heartbeatInterval(Duration.ofHours(1)) // only the test's beats
                .globalConcurrency(jobs)
                .handler(ReactiveHandler.of("hot", job -> {
                    started.incrementAndGet();
                    return release.asMono().thenReturn(Outcome.success());
                }), QueueOptions.defaults().concurrency(jobs)));
        queue.enqueueAll(IntStream.range(0, jobs).mapToObj(i -> NewJob.of("hot", Map.of("n", i))).toList())
                .block(TIMEOUT);
        queue.start().block(TIMEOUT);
        waiting().until(() -> started.get() == jobs && count("status = 'running'") == jobs);

        long before = hotUpdates();
        for (int beat = 0; beat < beats; beat++) {
            assertThat(NodeProbe.beatOnce(queue.node()).block(TIMEOUT)).isEqualTo(new NodeProbe.Beat(jobs, 0));
        }
        // most of the beats' row updates were HOT (86% in docs/performance.md's measurement)
        waiting().until(() -> hotUpdates() - before >= jobs * beats / 2);
        assertThat(db.count("SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND tablename = 'jobs' "
                + "AND indexdef LIKE '%heartbeat_at%'", db.name())).as("indexes naming heartbeat_at").isZero();
    }

    /** HOT updates of the jobs table so far, as PostgreSQL's statistics have them. */
    private long hotUpdates() {
        return db.count("SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = $1::regclass",
                "\"" + db.name() + "\".jobs");
    }

    /**
     * Runs {@code jobs} jobs that stay in flight, beats {@code beats} times and returns how many
     * heartbeat statements those beats created. The node's own loop never beats during the test
     * (its interval is an hour) and no signal wakes it (the listener is off).
     */
    private long heartbeatStatementsForBeats(int jobs, int beats) {
        db.execute("DELETE FROM {schema}.jobs");
        StatementCounter counter = new StatementCounter(db.connectionFactory());
        Sinks.Empty<Void> release = release();
        AtomicInteger started = new AtomicInteger();
        PgQueue queue = queue(PgQueue.builder(counter).schema(db.name()).janitor(false).listen(false)
                .heartbeatInterval(Duration.ofHours(1)) // the reaper's interval follows: it stays out too
                .globalConcurrency(jobs)
                .handler(ReactiveHandler.of("held", job -> {
                    started.incrementAndGet();
                    return release.asMono().thenReturn(Outcome.success());
                }), QueueOptions.defaults().concurrency(jobs)));
        try {
            queue.enqueueAll(IntStream.range(0, jobs).mapToObj(i -> NewJob.of("held", Map.of("n", i))).toList())
                    .block(TIMEOUT);
            queue.start().block(TIMEOUT);
            waiting().until(() -> started.get() == jobs && count("status = 'running'") == jobs);
            assertThat(queue.jobsInFlight()).isEqualTo(jobs);

            OffsetDateTime latest = (OffsetDateTime) db.query(
                    "SELECT max(heartbeat_at) AS m FROM {schema}.jobs WHERE status = 'running'").get(0).get("m");
            counter.reset();
            for (int beat = 0; beat < beats; beat++) {
                assertThat(NodeProbe.beatOnce(queue.node()).block(TIMEOUT)).as("beat %d", beat)
                        .isEqualTo(new NodeProbe.Beat(jobs, 0));
            }
            long counted = counter.count(HEARTBEAT_SQL);

            // heartbeat_at advanced for every running row
            assertThat(count("status = 'running' AND heartbeat_at > $1", latest)).isEqualTo(jobs);
            // Each beat is one statement for all rows: every running row carries the same heartbeat time.
            assertThat(db.count("SELECT count(DISTINCT heartbeat_at) FROM {schema}.jobs WHERE status = 'running'"))
                    .isEqualTo(1);
            assertThat(count("status = 'running'")).isEqualTo(jobs);
            assertThat(count("status <> 'running'")).isZero();
            return counted;
        } finally {
            release.tryEmitEmpty();
            queue.close().block(TIMEOUT);
        }
    }

    @Test
    void aRowLockedElsewhereNeitherStallsTheHeartbeatNorCostsItsJobTheLease() {
        Sinks.Empty<Void> release = release();
        PgQueue queue = queue(PgQueue.builder(pool(4)).schema(db.name()).janitor(false)
                .heartbeatInterval(Duration.ofMillis(200))
                .rescueAfterMissedHeartbeats(1000) // only the heartbeat is under test
                .lockTimeout(Duration.ofMillis(150)) // a beat that waited for the lock would fail
                .handler(ReactiveHandler.of("locked", job -> release.asMono().thenReturn(Outcome.success()))));
        UUID locked = queue.enqueue(NewJob.of("locked", 1)).block(TIMEOUT).id();
        UUID free = queue.enqueue(NewJob.of("locked", 2)).block(TIMEOUT).id();
        queue.start().block(TIMEOUT);
        waiting().until(() -> count("status = 'running'") == 2);

        Sinks.Empty<Void> unlock = Sinks.empty();
        AtomicInteger lockHeld = new AtomicInteger();
        Flux.usingWhen(db.connectionFactory().create(),
                        conn -> Flux.from(conn.beginTransaction())
                                .thenMany(Flux.from(conn.createStatement("SELECT id FROM \"" + db.name()
                                        + "\".jobs WHERE id = $1 FOR UPDATE").bind("$1", locked).execute()))
                                .flatMap(r -> r.map((row, meta) -> row.get(0)))
                                .doOnNext(x -> lockHeld.incrementAndGet())
                                .thenMany(unlock.asMono()),
                        Connection::close)
                .subscribe();
        try {
            waiting().until(() -> lockHeld.get() == 1);
            OffsetDateTime lockedBeat = (OffsetDateTime) row(locked).get("heartbeat_at");
            OffsetDateTime freeBeat = (OffsetDateTime) row(free).get("heartbeat_at");
            // the other job keeps beating while the row stays locked
            waiting().until(() -> ((OffsetDateTime) row(free).get("heartbeat_at")).isAfter(freeBeat));
            holding(Duration.ofMillis(600)).until(() -> queue.jobsInFlight() == 2
                    && "running".equals(row(locked).get("status")));
            assertThat(row(locked).get("heartbeat_at")).as("the locked row is skipped").isEqualTo(lockedBeat);
        } finally {
            unlock.tryEmitEmpty();
        }
        // once the lock is gone the skipped job beats again, and both finish normally
        OffsetDateTime before = (OffsetDateTime) row(locked).get("heartbeat_at");
        waiting().until(() -> ((OffsetDateTime) row(locked).get("heartbeat_at")).isAfter(before));
        release.tryEmitEmpty();
        waiting().until(() -> count("status = 'completed'") == 2);
        assertThat(queue.staleWrites()).isZero();
    }

    @Test
    void aJobWhoseHeartbeatBeatsIsNotRescued() {
        Sinks.Empty<Void> release = release();
        AtomicInteger started = new AtomicInteger();
        AtomicInteger cancelled = new AtomicInteger();
        // stalled after 5 min without a beat; the loops are not waited for: the test beats itself
        PgQueue queue = queue(db.queueBuilder().listen(false)
                .heartbeatInterval(Duration.ofMinutes(1))
                .rescueAfterMissedHeartbeats(5)
                .handler(ReactiveHandler.of("beating", job -> release.asMono()
                        .doOnSubscribe(s -> started.incrementAndGet())
                        .doOnCancel(cancelled::incrementAndGet)
                        .thenReturn(Outcome.success()))));
        UUID id = queue.enqueue(NewJob.of("beating", 1)).block(TIMEOUT).id();
        queue.start().block(TIMEOUT);
        waiting().until(() -> started.get() == 1 && count("status = 'running'") == 1);
        UUID lease = (UUID) row(id).get("lease");
        assertThat(lease).isNotNull();

        // Three times the heartbeat is back-dated past twice the stall threshold, and a beat refreshes it.
        for (int i = 0; i < 3; i++) {
            db.backdate("jobs", "heartbeat_at", Duration.ofMinutes(10), List.of(id));
            assertThat(NodeProbe.beatOnce(queue.node()).block(TIMEOUT)).isEqualTo(new NodeProbe.Beat(1, 0));
            assertThat(count("id = $1 AND heartbeat_at > now() - interval '1 minute'", id)).isEqualTo(1);
        }
        // The job stays under its lease throughout.
        assertThat(count("id = $1 AND status = 'running' AND lease = $2 AND attempt = 1 AND reprocess_count = 0",
                id, lease)).isEqualTo(1);
        assertThat(queue.admin().rescueStalledJobs().block(TIMEOUT)).isZero();
        assertThat(count("id = $1 AND status = 'running' AND lease = $2", id, lease)).isEqualTo(1);
        assertThat(cancelled).hasValue(0);

        // Its own outcome is still accepted.
        release.tryEmitEmpty();
        waiting().until(() -> count("id = $1 AND status = 'completed'", id) == 1);
        assertThat(started).hasValue(1);
        assertThat(queue.staleWrites()).isZero();
    }

    // ---------------------------------------------------------------------------------------------
    // reaper

    @Test
    void staleRunningJobsAreRescuedAndFreshOnesAreNot() {
        // Not started: nothing beats for these rows.
        PgQueue queue = stallingAfter25Seconds();
        UUID stale = insertRunning(2, 5, 0, "now() - interval '1 hour'");
        UUID lastAttempt = insertRunning(3, 3, 0, "now() - interval '1 hour'");
        UUID fresh = insertRunning(1, 5, 0, "now()");
        UUID belowThreshold = insertRunning(1, 5, 0, "now() - interval '20 seconds'");
        UUID aboveThreshold = insertRunning(1, 5, 0, "now() - interval '30 seconds'");
        UUID freshLease = (UUID) row(fresh).get("lease");
        UUID belowLease = (UUID) row(belowThreshold).get("lease");

        assertThat(queue.admin().rescueStalledJobs().block(TIMEOUT)).isEqualTo(3);

        Map<String, Object> rescued = row(stale);
        assertThat(rescued).containsEntry("status", "pending").containsEntry("attempt", 1)
                .containsEntry("reprocess_count", 1).containsEntry("due", true);
        assertThat(rescued.get("lease")).isNull();
        assertThat(rescued.get("heartbeat_at")).isNull();
        assertThat(rescued.get("completed_at")).isNull();
        assertThat((String) rescued.get("last_error")).contains("Stalled");

        Map<String, Object> failed = row(lastAttempt);
        assertThat(failed).containsEntry("status", "failed").containsEntry("attempt", 3);
        assertThat(failed.get("completed_at")).isNotNull();
        assertThat(failed.get("lease")).isNull();
        assertThat((String) failed.get("last_error")).contains("Stalled").contains("last attempt");

        Map<String, Object> thirtySeconds = row(aboveThreshold);
        assertThat(thirtySeconds).containsEntry("status", "pending").containsEntry("attempt", 0)
                .containsEntry("reprocess_count", 1).containsEntry("due", true);

        for (Map.Entry<UUID, UUID> untouched : Map.of(fresh, freshLease, belowThreshold, belowLease).entrySet()) {
            Map<String, Object> row = row(untouched.getKey());
            assertThat(row).containsEntry("status", "running").containsEntry("attempt", 1)
                    .containsEntry("reprocess_count", 0).containsEntry("lease", untouched.getValue())
                    .containsEntry("due", false);
            assertThat(row.get("last_error")).isNull();
        }
        // Nothing more is stalled.
        assertThat(queue.admin().rescueStalledJobs().block(TIMEOUT)).isZero();
    }

    @Test
    void theReaperLetsGoOfTheKeyOfACancelledJobWhoseNodeDidNot() {
        // Not started: no node lets go of these.
        PgQueue queue = stallingAfter25Seconds();
        // cancelled while they ran (as a cancel leaves them: lease and last beat kept), by nodes that
        // then died: one long ago, one just now
        UUID stale = insertRunning(1, 5, 0, "now() - interval '30 seconds'");
        UUID fresh = insertRunning(1, 5, 0, "now()");
        db.execute("UPDATE {schema}.jobs SET unique_key = 'key-' || id WHERE id = ANY($1)",
                (Object) new UUID[] {stale, fresh});
        for (UUID id : List.of(stale, fresh)) {
            assertThat(queue.cancel(id).block(TIMEOUT)).isEqualTo(1);
        }
        UUID freshLease = (UUID) row(fresh).get("lease");
        assertThat(queue.enqueue(NewJob.of("q", 1).uniqueKey("key-" + stale)).block(TIMEOUT))
                .isEqualTo(new EnqueueResult.Duplicate(stale, "key-" + stale));

        // no job is rescued, but the stalled lease is let go of
        assertThat(queue.admin().rescueStalledJobs().block(TIMEOUT)).isZero();

        Map<String, Object> letGo = row(stale);
        assertThat(letGo).containsEntry("status", "cancelled").containsEntry("attempt", 1)
                .containsEntry("reprocess_count", 0);
        assertThat(letGo.get("lease")).isNull();
        assertThat(letGo.get("heartbeat_at")).isNull();
        assertThat(letGo.get("last_error")).isNull();
        assertThat(row(fresh)).containsEntry("status", "cancelled").containsEntry("lease", freshLease);
        assertThat(queue.enqueue(NewJob.of("q", 2).uniqueKey("key-" + stale)).block(TIMEOUT).isDuplicate()).isFalse();
        assertThat(queue.enqueue(NewJob.of("q", 3).uniqueKey("key-" + fresh)).block(TIMEOUT))
                .isEqualTo(new EnqueueResult.Duplicate(fresh, "key-" + fresh));
    }

    @Test
    void aStalledJobAtTheReprocessLimitIsPoison() {
        PgQueue queue = queue(db.queueBuilder().reprocessLimit(3));
        UUID atLimit = insertRunning(1, 5, 2, "now() - interval '1 hour'");
        UUID belowLimit = insertRunning(1, 5, 1, "now() - interval '1 hour'");

        assertThat(queue.admin().rescueStalledJobs().block(TIMEOUT)).isEqualTo(2);

        Map<String, Object> poison = row(atLimit);
        assertThat(poison).containsEntry("status", "bad_job").containsEntry("reprocess_count", 3);
        assertThat(poison.get("completed_at")).isNotNull();
        assertThat(poison.get("lease")).isNull();
        assertThat((String) poison.get("last_error")).contains("reprocess limit of 3").contains("poison");

        assertThat(row(belowLimit)).containsEntry("status", "pending").containsEntry("reprocess_count", 2);
    }

    @Test
    void aJobRescheduledUpToTheReprocessLimitEndsBadJobAndNeverRunsAgain() {
        AtomicInteger runs = new AtomicInteger();
        PgQueue queue = queue(db.queueBuilder().reprocessLimit(3)
                .handler(ReactiveHandler.of("again", job -> {
                    runs.incrementAndGet();
                    return Mono.just(Outcome.rescheduleAfter(Duration.ZERO));
                })));
        UUID id = queue.enqueue(NewJob.of("again", 1)).block(TIMEOUT).id();
        queue.start().block(TIMEOUT);

        waiting().until(() -> count("id = $1 AND status = 'bad_job'", id) == 1);
        assertThat(runs).hasValue(3);
        Map<String, Object> row = row(id);
        assertThat(row).containsEntry("reprocess_count", 3);
        assertThat(row.get("completed_at")).isNotNull();
        assertThat((String) row.get("last_error")).contains("Reprocess limit of 3").contains("poison");
        // Polling goes on every 50 ms; the job is not claimed again.
        holding(Duration.ofMillis(750)).until(() -> runs.get() == 3 && count("id = $1 AND status = 'bad_job'", id) == 1);
        assertThat(queue.admin().find(id).block(TIMEOUT).status()).isEqualTo(JobStatus.BAD_JOB);
    }

    @Test
    void aStaleJobCompletedByAnotherTransactionMeanwhileStaysCompleted() {
        PgQueue queue = queue(db.queueBuilder());
        UUID id = insertRunning(1, 5, 0, "now() - interval '1 hour'");
        UUID lease = (UUID) row(id).get("lease");

        Connection other = Mono.from(db.connectionFactory().create()).block(TIMEOUT);
        try {
            Mono.from(other.beginTransaction()).block(TIMEOUT);
            // The job's own node completes it; its transaction holds the row lock until commit.
            long updated = execute(other, "UPDATE \"" + db.name() + "\".jobs SET status = 'completed', "
                    + "completed_at = now(), lease = NULL, heartbeat_at = NULL WHERE id = $1 AND lease = $2", id, lease);
            assertThat(updated).isEqualTo(1);

            // Skips the locked row instead of waiting for it (a wait would run into the timeout).
            assertThat(queue.admin().rescueStalledJobs().block(Duration.ofSeconds(10))).isZero();

            Mono.from(other.commitTransaction()).block(TIMEOUT);
        } finally {
            Mono.from(other.close()).block(TIMEOUT);
        }
        assertThat(row(id)).containsEntry("status", "completed").containsEntry("attempt", 1)
                .containsEntry("reprocess_count", 0);
        // Committed and no longer running: the reaper leaves it alone now too.
        assertThat(queue.admin().rescueStalledJobs().block(TIMEOUT)).isZero();
        assertThat(row(id)).containsEntry("status", "completed").containsEntry("reprocess_count", 0);
        assertThat(row(id).get("last_error")).isNull();
    }

    @Test
    void aStaleJobReclaimedMeanwhileIsNotRescued() {
        PgQueue queue = queue(db.queueBuilder());
        UUID id = insertRunning(1, 5, 0, "now() - interval '1 hour'");
        UUID newLease = UUID.randomUUID();

        Connection other = Mono.from(db.connectionFactory().create()).block(TIMEOUT);
        try {
            Mono.from(other.beginTransaction()).block(TIMEOUT);
            // Another node rescued and re-claimed the job: a new lease, a fresh heartbeat, the next attempt.
            execute(other, "UPDATE \"" + db.name() + "\".jobs SET lease = $2, heartbeat_at = now(), "
                    + "attempt = attempt + 1 WHERE id = $1", id, newLease);
            assertThat(queue.admin().rescueStalledJobs().block(Duration.ofSeconds(10))).isZero();
            Mono.from(other.commitTransaction()).block(TIMEOUT);
        } finally {
            Mono.from(other.close()).block(TIMEOUT);
        }
        assertThat(queue.admin().rescueStalledJobs().block(TIMEOUT)).isZero();
        assertThat(row(id)).containsEntry("status", "running").containsEntry("lease", newLease)
                .containsEntry("attempt", 2).containsEntry("reprocess_count", 0);
        assertThat(row(id).get("last_error")).isNull();
    }

    private static long execute(Connection connection, String sql, Object... params) {
        var statement = connection.createStatement(sql);
        for (int i = 0; i < params.length; i++) {
            statement.bind("$" + (i + 1), params[i]);
        }
        return Flux.from(statement.execute()).flatMap(Result::getRowsUpdated).reduce(0L, Long::sum).block(TIMEOUT);
    }

    @Test
    void twoReapersRacingRescueEveryStalledJobExactlyOnce() {
        int jobs = 20_000;
        // Two nodes, each with a pool of its own.
        PgQueue first = queue(PgQueue.builder(pool(2)).schema(db.name()).janitor(false).maintenanceBatchSize(1000));
        PgQueue second = queue(PgQueue.builder(pool(2)).schema(db.name()).janitor(false).maintenanceBatchSize(1000));
        db.execute("INSERT INTO {schema}.jobs (id, queue, payload, status, attempt, max_attempts, reprocess_count, "
                + "lease, heartbeat_at) "
                + "SELECT gen_random_uuid(), 'q', '{}', 'running', 2, 5, 0, gen_random_uuid(), "
                + "now() - interval '1 hour' - g * interval '1 millisecond' FROM generate_series(1, $1) g", jobs);
        // Statistics that match the table, so that this test is about the race only
        // (aReaperBatchStaysBoundedWhenManyJobsStallAfterAQuietPeriod covers statistics that lag behind).
        db.execute("ANALYZE {schema}.jobs");

        long rescued = 0;
        for (int round = 0; round < 50; round++) {
            Tuple2<Integer, Integer> both = Mono.zip(first.admin().rescueStalledJobs(),
                    second.admin().rescueStalledJobs()).block(TIMEOUT);
            rescued += both.getT1() + both.getT2();
            if (both.getT1() == 0 && both.getT2() == 0) {
                break;
            }
        }

        assertThat(rescued).isEqualTo(jobs);
        assertThat(count("status = 'pending' AND attempt = 1 AND reprocess_count = 1 AND lease IS NULL "
                + "AND heartbeat_at IS NULL AND run_at <= now()")).isEqualTo(jobs);
        assertThat(db.rows("jobs")).isEqualTo(jobs);
    }

    @Test
    void aReaperBatchStaysBoundedWhenManyJobsStallAfterAQuietPeriod() {
        // One connection, so every reaper statement shares its prepared-statement plan cache.
        PgQueue queue = queue(PgQueue.builder(pool(1)).schema(db.name()).janitor(false).maintenanceBatchSize(1000));
        // A quiet queue: a few running jobs, statistics that say so (as autovacuum leaves them), and
        // reaper passes that find nothing stalled.
        for (int i = 0; i < 3; i++) {
            // beating in the future: however slow the machine, they never stall during the test
            insertRunning(1, 5, 0, "now() + interval '1 hour'");
        }
        db.execute("ANALYZE {schema}.jobs");
        for (int pass = 0; pass < 10; pass++) {
            assertThat(queue.admin().rescueStalledJobs().block(TIMEOUT)).isZero();
        }

        // Then a node holding 50,000 jobs dies, before autovacuum has looked at the table again.
        int jobs = 50_000;
        db.execute("INSERT INTO {schema}.jobs (id, queue, payload, status, attempt, max_attempts, reprocess_count, "
                + "lease, heartbeat_at) "
                + "SELECT gen_random_uuid(), 'q', '{}', 'running', 2, 5, 0, gen_random_uuid(), "
                + "now() - interval '1 hour' - g * interval '1 millisecond' FROM generate_series(1, $1) g", jobs);

        // Each statement takes at most 1000 rows, which needs milliseconds; the pool's
        // STATEMENT_TIMEOUT cancels a statement whose cost grows with all 50,000 stalled rows.
        assertThat(queue.admin().rescueStalledJobs().block(TIMEOUT)).isEqualTo(jobs);
        assertThat(count("status = 'pending' AND attempt = 1 AND reprocess_count = 1")).isEqualTo(jobs);
        assertThat(count("status = 'running' AND reprocess_count = 0")).isEqualTo(3);
    }

    // ---------------------------------------------------------------------------------------------
    // lost lease

    @Test
    void aJobWhoseLeaseIsGoneHasItsHandlerCancelledAndNothingWritten() {
        Sinks.Empty<Void> release = release();
        Set<UUID> started = ConcurrentHashMap.newKeySet();
        Set<UUID> cancelled = ConcurrentHashMap.newKeySet();
        // no loop beats and no signal arrives: the test beats itself
        PgQueue queue = queue(db.queueBuilder().listen(false)
                .heartbeatInterval(Duration.ofHours(1))
                .reaperInterval(Duration.ofHours(1)) // this node's reaper must not touch the rows the test sets
                .handler(ReactiveHandler.of("lost", job -> release.asMono()
                        .doOnSubscribe(s -> started.add(job.id()))
                        .doOnCancel(() -> cancelled.add(job.id()))
                        .thenReturn(Outcome.success()))));
        UUID reclaimed = queue.enqueue(NewJob.of("lost", 1)).block(TIMEOUT).id();
        UUID rescued = queue.enqueue(NewJob.of("lost", 2)).block(TIMEOUT).id();
        queue.start().block(TIMEOUT);
        waiting().until(() -> started.size() == 2 && count("status = 'running'") == 2);

        // Another node rescued one job and claimed it (new lease) and rescued the other (pending,
        // in a paused queue so that this node does not claim it again).
        queue.admin().pause("lost").block(TIMEOUT);
        UUID otherLease = UUID.randomUUID();
        db.execute("UPDATE {schema}.jobs SET lease = $2 WHERE id = $1", reclaimed, otherLease);
        db.execute("UPDATE {schema}.jobs SET status = 'pending', lease = NULL, heartbeat_at = NULL WHERE id = $1",
                rescued);
        OffsetDateTime reclaimedBeat = (OffsetDateTime) row(reclaimed).get("heartbeat_at");

        assertThat(NodeProbe.beatOnce(queue.node()).block(TIMEOUT)).as("both leases found lost")
                .isEqualTo(new NodeProbe.Beat(2, 2));
        waiting().until(() -> cancelled.containsAll(Set.of(reclaimed, rescued)));
        waiting().until(() -> queue.jobsInFlight() == 0);
        // Rows stay as the other node left them over several beats; nothing was written by this one.
        for (int beat = 0; beat < 3; beat++) {
            assertThat(NodeProbe.beatOnce(queue.node()).block(TIMEOUT)).isEqualTo(new NodeProbe.Beat(0, 0));
            Map<String, Object> a = row(reclaimed);
            Map<String, Object> b = row(rescued);
            assertThat(a).containsEntry("status", "running").containsEntry("lease", otherLease)
                    .containsEntry("heartbeat_at", reclaimedBeat).containsEntry("attempt", 1);
            assertThat(b).containsEntry("status", "pending").containsEntry("lease", null).containsEntry("attempt", 1);
        }
        assertThat(count("completed_at IS NOT NULL OR last_error IS NOT NULL OR reprocess_count <> 0")).isZero();
        assertThat(queue.staleWrites()).isZero();
        assertThat(started).hasSize(2);

        // Releasing the cancelled handlers now changes nothing either.
        release.tryEmitEmpty();
        queue.close().block(TIMEOUT);
        assertThat(queue.staleWrites()).isZero();
        assertThat(row(reclaimed)).containsEntry("status", "running").containsEntry("lease", otherLease);
        assertThat(row(rescued)).containsEntry("status", "pending");
    }

    /**
     * The node's liveness work never waits behind the application's: handlers that hold every
     * connection of the pool they share with the queue leave the heartbeat beating (through the
     * node's own connections), so no other node rescues and reruns their jobs. Before, a node with
     * a pool of 4 and handlers querying through it missed its heartbeats, another node rescued
     * every job, and both ran them.
     */
    @Test
    void handlersHoldingEveryPooledConnectionDoNotStopTheHeartbeat() {
        int jobs = 8;
        ConnectionPool pool = pool(4);
        Sinks.Empty<Void> release = release();
        Map<UUID, AtomicInteger> runs = new ConcurrentHashMap<>();
        AtomicInteger cancelled = new AtomicInteger();
        // each handler queries through the application's pool and keeps its connection until released:
        // four hold every connection, the other four wait for one
        PgQueue node = queue(PgQueue.builder(pool).schema(db.name()).janitor(false)
                .heartbeatInterval(STARVED_BEAT).connectionAcquireTimeout(STARVED_ACQUIRE)
                .handler(ReactiveHandler.of("starving", job -> {
                    runs.computeIfAbsent(job.id(), id -> new AtomicInteger()).incrementAndGet();
                    return Mono.usingWhen(pool.create(),
                            conn -> Flux.from(conn.createStatement("SELECT 1").execute())
                                    .flatMap(Result::getRowsUpdated).then(release.asMono()),
                            Connection::close)
                            .doOnCancel(cancelled::incrementAndGet)
                            .thenReturn(Outcome.success());
                }), QueueOptions.defaults().concurrency(jobs)));
        PgQueue other = queue(db.queueBuilder().heartbeatInterval(STARVED_BEAT)
                .connectionAcquireTimeout(STARVED_ACQUIRE));
        List<UUID> ids = IntStream.range(0, jobs)
                .mapToObj(i -> other.enqueue(NewJob.of("starving", i)).block(TIMEOUT).id()).toList();
        node.start().block(TIMEOUT);
        waiting().until(() -> runs.size() == jobs && pool.getMetrics().orElseThrow().acquiredSize() == 4);

        // beats go on through the node's own connections: four beats of all eight jobs, more than
        // the stall threshold, and then another node finds nothing to rescue
        List<NodeProbe.Beat> beats = NodeProbe.beats(node.node()).take(4).collectList().block(TIMEOUT);
        assertThat(beats).containsOnly(new NodeProbe.Beat(jobs, 0));
        assertThat(NodeProbe.beatOnce(node.node()).block(TIMEOUT)).isEqualTo(new NodeProbe.Beat(jobs, 0));
        assertThat(other.admin().rescueStalledJobs().block(TIMEOUT)).isZero();
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'running' AND reprocess_count = 0"))
                .isEqualTo(jobs);

        release.tryEmitEmpty();
        waiting().until(() -> db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'completed'") == jobs);
        assertThat(cancelled).hasValue(0);
        assertThat(ids).allSatisfy(id -> assertThat(runs.get(id)).as("runs of %s", id).hasValue(1));
    }

    /**
     * A node whose beats do not get through stops those handlers itself, before other nodes may
     * rescue the jobs, and writes nothing for them.
     */
    @Test
    void aNodeWhoseBeatsDoNotGetThroughStopsItsHandlersBeforeOthersMayRescueTheJobs() {
        AtomicInteger cancelled = new AtomicInteger();
        PgQueue node = queue(db.queueBuilder().listen(false)
                .heartbeatInterval(STARVED_BEAT).connectionAcquireTimeout(STARVED_ACQUIRE)
                .lockTimeout(Duration.ofMillis(100)) // a beat that meets the lock below fails fast
                .reaperInterval(Duration.ofHours(1))
                .handler(ReactiveHandler.of("cut-off", job -> Mono.<Outcome>never().doOnCancel(cancelled::incrementAndGet))));
        UUID id = node.enqueue(NewJob.of("cut-off", 1)).block(TIMEOUT).id();
        node.start().block(TIMEOUT);
        waiting().until(() -> node.jobsInFlight() == 1);
        UUID lease = (UUID) db.row("jobs", id, "lease").get("lease");

        Connection locker = Mono.from(db.connectionFactory().create()).block(TIMEOUT);
        try (LogCapture log = LogCapture.start()) {
            // the table locked elsewhere: every beat fails on the lock; the database's view of the
            // heartbeat ages, and before it reaches the stall threshold the node gives the job up
            Mono.from(locker.beginTransaction()).block(TIMEOUT);
            Flux.from(locker.createStatement("LOCK TABLE \"" + db.name() + "\".jobs IN ACCESS EXCLUSIVE MODE")
                    .execute()).flatMap(Result::getRowsUpdated).blockLast(TIMEOUT);
            waiting().until(() -> cancelled.get() == 1);
            assertThat(node.jobsInFlight()).isZero();
            // the line follows the cancellation
            waiting().until(() -> log.text().contains("1 running jobs got no heartbeat through"));
        } finally {
            Mono.from(locker.rollbackTransaction()).block(TIMEOUT);
            Mono.from(locker.close()).block(TIMEOUT);
        }

        // nothing was written for it: still running under the same lease, for the reaper to rescue
        assertThat(db.row("jobs", id, "status, lease"))
                .containsEntry("status", "running").containsEntry("lease", lease);
        assertThat(NodeProbe.beatOnce(node.node()).block(TIMEOUT)).isEqualTo(new NodeProbe.Beat(0, 0));
        db.backdate("jobs", "heartbeat_at", Duration.ofHours(1), id);
        assertThat(node.admin().rescueStalledJobs().block(TIMEOUT)).isEqualTo(1);
    }
}
