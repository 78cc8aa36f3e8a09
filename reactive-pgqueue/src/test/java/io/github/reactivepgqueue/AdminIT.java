package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.POLL;
import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static io.github.reactivepgqueue.testing.Fixtures.waiting;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.StatementCounter;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Result;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

/**
 * The admin API ({@link PgQueue#admin()}) on a real database: find and list jobs in the live,
 * archive and dead-letter tables (list without payloads, paged by id), count them per queue,
 * status and table, requeue dead-lettered jobs (by id and per queue, never over a live job's
 * unique key), delete jobs wherever they are (a running one stops its handler on the node that
 * runs it, and nothing is written back), purge a queue, and pause and resume a queue across nodes.
 *
 * <p>Admin calls go through node A, which is never started; nodes that run jobs are started on
 * their own. Finished rows are arranged with SQL and moved with {@link QueueAdmin#moveFinishedJobs()}.
 */
@ExtendWith(PostgresExtension.class)
class AdminIT {
    private final TestSchema db;
    private final List<PgQueue> started = new ArrayList<>();
    private final List<Disposable> subscriptions = new ArrayList<>();
    private PgQueue nodeA;
    private QueueAdmin admin;

    AdminIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
    }

    @BeforeEach
    void empty() {
        db.deleteAllJobs();
        nodeA = db.queueBuilder().pollInterval(POLL).build();
        admin = nodeA.admin();
    }

    @AfterEach
    void cleanUp() {
        subscriptions.forEach(Disposable::dispose);
        try {
            started.forEach(q -> q.close().block(TIMEOUT));
        } finally {
            nodeA.close().block(TIMEOUT);
        }
    }

    /** A started node with these handlers (janitor off, 50 ms poll). */
    private PgQueue startedNode(PgQueueBuilder builder) {
        PgQueue node = builder.pollInterval(POLL).stopGracePeriod(Duration.ofSeconds(2)).build();
        started.add(node);
        node.start().block(TIMEOUT);
        return node;
    }

    private UUID enqueue(String queue, int n) {
        return nodeA.enqueue(NewJob.of(queue, Map.of("n", n))).block(TIMEOUT).id();
    }

    private List<UUID> enqueueMany(String queue, int n) {
        return nodeA.enqueueAll(IntStream.range(0, n).mapToObj(i -> NewJob.of(queue, Map.of("n", i))).toList())
                .block(TIMEOUT).stream().map(EnqueueResult::id).toList();
    }

    /** Finishes live jobs with {@code status} as if a handler had run them once. */
    private void finish(String status, UUID... ids) {
        long changed = db.execute("UPDATE {schema}.jobs SET status = $1, attempt = 1, completed_at = now(), "
                + "last_error = CASE WHEN $1 = 'completed' THEN NULL ELSE 'boom' END WHERE id = ANY ($2)", status, ids);
        assertThat(changed).isEqualTo(ids.length);
    }

    /** Makes live jobs running under a lease no started node holds. */
    private void markRunning(UUID... ids) {
        long changed = db.execute("UPDATE {schema}.jobs SET status = 'running', attempt = 1, lease = gen_random_uuid(), "
                + "heartbeat_at = now() WHERE id = ANY ($1)", (Object) ids);
        assertThat(changed).isEqualTo(ids.length);
    }

    private long moveFinished() {
        return admin.moveFinishedJobs().block(TIMEOUT);
    }

    private Optional<JobInfo> find(UUID id) {
        return admin.find(id).blockOptional(TIMEOUT);
    }

    private List<JobInfo> list(String queue, JobStatus status, UUID after, int limit) {
        return admin.list(queue, status, after, limit).collectList().block(TIMEOUT);
    }

    private static List<UUID> ids(List<JobInfo> jobs) {
        return jobs.stream().map(JobInfo::id).toList();
    }

    private List<UUID> idsIn(String table, String queue) {
        return db.query("SELECT id FROM {schema}." + table + " WHERE queue = $1 ORDER BY id", queue).stream()
                .map(row -> (UUID) row.get("id")).toList();
    }

    // ---------------------------------------------------------------------------------------------
    // find

    @Test
    void findLocatesAJobInEachTableWithItsPayload() {
        UUID live = enqueue("find", 1);
        UUID archived = enqueue("find", 2);
        UUID dead = enqueue("find", 3);
        finish("completed", archived);
        finish("failed", dead);
        assertThat(moveFinished()).isEqualTo(2);

        JobInfo liveInfo = find(live).orElseThrow();
        assertThat(liveInfo.location()).isEqualTo(JobLocation.LIVE);
        assertThat(liveInfo.status()).isEqualTo(JobStatus.PENDING);
        assertThat(liveInfo.queue()).isEqualTo("find");
        assertThat(liveInfo.payload()).hasValueSatisfying(p -> assertThat(p.get("n").asInt()).isEqualTo(1));

        JobInfo archivedInfo = find(archived).orElseThrow();
        assertThat(archivedInfo.location()).isEqualTo(JobLocation.ARCHIVE);
        assertThat(archivedInfo.status()).isEqualTo(JobStatus.COMPLETED);
        assertThat(archivedInfo.completedAt()).isPresent();
        assertThat(archivedInfo.payload()).hasValueSatisfying(p -> assertThat(p.get("n").asInt()).isEqualTo(2));

        JobInfo deadInfo = find(dead).orElseThrow();
        assertThat(deadInfo.location()).isEqualTo(JobLocation.DEAD);
        assertThat(deadInfo.status()).isEqualTo(JobStatus.FAILED);
        assertThat(deadInfo.lastError()).contains("boom");
        assertThat(deadInfo.payload()).hasValueSatisfying(p -> assertThat(p.get("n").asInt()).isEqualTo(3));

        assertThat(find(UUID.randomUUID())).isEmpty();
    }

    // ---------------------------------------------------------------------------------------------
    // list

    @Test
    void findReturnsThePayloadAsJsonTextWhenJacksonCannotReadIt() {
        // stored by another producer: nested deeper than Jackson reads (the library's encoder refuses it)
        UUID unreadable = UUID.randomUUID();
        db.execute("INSERT INTO {schema}.jobs (id, queue, payload, max_attempts) "
                + "VALUES ($1, 'find-raw', (repeat('[', 2000) || repeat(']', 2000))::jsonb, 1)", unreadable);
        UUID readable = enqueue("find-raw", 7);

        JobInfo raw = find(unreadable).orElseThrow();
        assertThat(raw.payload()).isEmpty();
        assertThat(raw.payloadJson()).contains("[".repeat(2000) + "]".repeat(2000));

        JobInfo normal = find(readable).orElseThrow();
        assertThat(normal.payload()).hasValueSatisfying(p -> assertThat(p.get("n").asInt()).isEqualTo(7));
        assertThat(normal.payloadJson()).contains("{\"n\": 7}");
        // lists carry neither
        assertThat(admin.list("find-raw", null, null, 10).collectList().block(TIMEOUT))
                .hasSize(2).allSatisfy(info -> {
                    assertThat(info.payload()).isEmpty();
                    assertThat(info.payloadJson()).isEmpty();
                });
    }

    @Test
    void listFiltersByQueueAndStatusAcrossAllTablesWithoutPayloads() {
        UUID pendingA = enqueue("list-a", 1);
        UUID runningA = enqueue("list-a", 2);
        UUID completedA = enqueue("list-a", 3);
        UUID archivedA = enqueue("list-a", 4);
        UUID failedA = enqueue("list-a", 5);
        UUID cancelledA = enqueue("list-a", 6);
        UUID pendingB = enqueue("list-b", 7);
        UUID failedB = enqueue("list-b", 8);
        finish("completed", archivedA);
        finish("failed", failedA, failedB);
        finish("cancelled", cancelledA);
        assertThat(moveFinished()).isEqualTo(4);
        finish("completed", completedA);
        markRunning(runningA);

        List<JobInfo> queueA = list("list-a", null, null, 100);
        assertThat(ids(queueA)).containsExactly(pendingA, runningA, completedA, archivedA, failedA, cancelledA);
        assertThat(queueA).extracting(JobInfo::location).containsExactly(JobLocation.LIVE, JobLocation.LIVE,
                JobLocation.LIVE, JobLocation.ARCHIVE, JobLocation.DEAD, JobLocation.DEAD);
        assertThat(queueA).extracting(JobInfo::status).containsExactly(JobStatus.PENDING, JobStatus.RUNNING,
                JobStatus.COMPLETED, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED);

        assertThat(ids(list("list-b", null, null, 100))).containsExactly(pendingB, failedB);
        assertThat(ids(list(null, JobStatus.FAILED, null, 100))).containsExactly(failedA, failedB);
        assertThat(ids(list("list-a", JobStatus.FAILED, null, 100))).containsExactly(failedA);
        assertThat(ids(list(null, JobStatus.COMPLETED, null, 100))).containsExactly(completedA, archivedA);
        assertThat(ids(list(null, JobStatus.PENDING, null, 100))).containsExactly(pendingA, pendingB);
        assertThat(list("list-c", null, null, 100)).isEmpty();

        List<JobInfo> everything = list(null, null, null, 100);
        assertThat(ids(everything)).containsExactly(pendingA, runningA, completedA, archivedA, failedA, cancelledA,
                pendingB, failedB);
        assertThat(everything).allSatisfy(job -> assertThat(job.payload()).isEmpty());
    }

    @Test
    void listPagesByIdWithoutDuplicates() {
        List<UUID> expected = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            expected.add(enqueue("page", i));
            if (i % 5 == 0) {
                enqueue("page-other", i); // interleaved jobs of another queue must not show up
            }
        }
        // some of them in the archive and the dead-letter table, so the pages span all three tables
        finish("completed", expected.get(3), expected.get(12));
        finish("failed", expected.get(4), expected.get(20));
        assertThat(moveFinished()).isEqualTo(4);
        finish("completed", expected.get(9));

        List<Integer> sizes = new ArrayList<>();
        List<UUID> walked = new ArrayList<>();
        UUID after = null;
        while (true) {
            List<JobInfo> page = list("page", null, after, 10);
            if (page.isEmpty()) {
                break;
            }
            assertThat(page).allSatisfy(job -> assertThat(job.payload()).isEmpty());
            sizes.add(page.size());
            walked.addAll(ids(page));
            after = page.get(page.size() - 1).id();
            assertThat(sizes).hasSizeLessThanOrEqualTo(3);
        }

        assertThat(sizes).containsExactly(10, 10, 5);
        assertThat(new HashSet<>(walked)).hasSize(25);
        assertThat(walked).containsExactlyElementsOf(expected);
    }

    @Test
    void listPagesByStatusAndByQueueAndStatusAcrossTheTables() {
        List<UUID> a = enqueueMany("by-status-a", 12);
        List<UUID> b = enqueueMany("by-status-b", 6); // enqueued after a: higher ids
        finish("completed", a.get(0), a.get(2), a.get(4), a.get(6), b.get(0));
        finish("failed", a.get(1), a.get(3), b.get(1));
        assertThat(moveFinished()).isEqualTo(8);
        finish("completed", a.get(8), b.get(2)); // finished, still in the live table
        finish("failed", a.get(9));
        markRunning(a.get(10));

        List<JobInfo> completed = walk(null, JobStatus.COMPLETED, 2);
        assertThat(ids(completed)).containsExactly(a.get(0), a.get(2), a.get(4), a.get(6), a.get(8), b.get(0), b.get(2));
        assertThat(completed).extracting(JobInfo::location).containsExactly(JobLocation.ARCHIVE, JobLocation.ARCHIVE,
                JobLocation.ARCHIVE, JobLocation.ARCHIVE, JobLocation.LIVE, JobLocation.ARCHIVE, JobLocation.LIVE);
        assertThat(ids(walk("by-status-a", JobStatus.FAILED, 1))).containsExactly(a.get(1), a.get(3), a.get(9));
        assertThat(ids(walk("by-status-b", JobStatus.COMPLETED, 1))).containsExactly(b.get(0), b.get(2));
        assertThat(ids(walk(null, JobStatus.FAILED, 2))).containsExactly(a.get(1), a.get(3), a.get(9), b.get(1));
        assertThat(ids(walk("by-status-a", JobStatus.PENDING, 2))).containsExactly(a.get(5), a.get(7), a.get(11));
        assertThat(ids(walk(null, JobStatus.PENDING, 4))).containsExactly(a.get(5), a.get(7), a.get(11), b.get(3),
                b.get(4), b.get(5));
        assertThat(ids(walk(null, JobStatus.RUNNING, 1))).containsExactly(a.get(10));
        assertThat(ids(walk("by-status-b", JobStatus.RUNNING, 1))).isEmpty();
        assertThat(ids(walk("by-status-a", null, 5))).containsExactlyElementsOf(a);
        assertThat(ids(walk(null, null, 5))).containsExactlyElementsOf(
                java.util.stream.Stream.concat(a.stream(), b.stream()).toList());
    }

    /** Every job {@link QueueAdmin#list} gives for these filters, page by page, each page after the last id of the one before. */
    private List<JobInfo> walk(String queue, JobStatus status, int pageSize) {
        List<JobInfo> all = new ArrayList<>();
        UUID after = null;
        while (true) {
            List<JobInfo> page = list(queue, status, after, pageSize);
            assertThat(page).hasSizeLessThanOrEqualTo(pageSize);
            if (page.isEmpty()) {
                return all;
            }
            all.addAll(page);
            after = page.get(page.size() - 1).id();
        }
    }

    @Test
    void listRejectsAPageSizeOutOfRange() {
        enqueue("limits", 1);
        StepVerifier.create(admin.list(null, null, null, 0)).expectError(IllegalArgumentException.class).verify(TIMEOUT);
        StepVerifier.create(admin.list(null, null, null, -1)).expectError(IllegalArgumentException.class).verify(TIMEOUT);
        StepVerifier.create(admin.list(null, null, null, QueueAdmin.MAX_PAGE + 1))
                .expectError(IllegalArgumentException.class).verify(TIMEOUT);
        assertThat(list(null, null, null, QueueAdmin.MAX_PAGE)).hasSize(1);
        assertThat(list(null, null, null, 1)).hasSize(1);
    }

    // ---------------------------------------------------------------------------------------------
    // counts

    @Test
    void countsPerQueueStatusAndLocation() {
        List<UUID> a = enqueueMany("count-a", 10);
        List<UUID> b = enqueueMany("count-b", 3);
        finish("completed", a.get(0), a.get(1));
        finish("failed", a.get(2));
        finish("cancelled", b.get(0));
        finish("critical", b.get(1));
        assertThat(moveFinished()).isEqualTo(5);
        finish("completed", a.get(3), a.get(4), a.get(5));
        markRunning(a.get(6), a.get(7));
        // left pending: a.get(8), a.get(9), b.get(2)

        assertThat(admin.counts().block(TIMEOUT)).containsExactlyInAnyOrder(
                new JobCount("count-a", JobStatus.PENDING, JobLocation.LIVE, 2),
                new JobCount("count-a", JobStatus.RUNNING, JobLocation.LIVE, 2),
                new JobCount("count-a", JobStatus.COMPLETED, JobLocation.LIVE, 3),
                new JobCount("count-a", JobStatus.COMPLETED, JobLocation.ARCHIVE, 2),
                new JobCount("count-a", JobStatus.FAILED, JobLocation.DEAD, 1),
                new JobCount("count-b", JobStatus.PENDING, JobLocation.LIVE, 1),
                new JobCount("count-b", JobStatus.CANCELLED, JobLocation.DEAD, 1),
                new JobCount("count-b", JobStatus.CRITICAL, JobLocation.DEAD, 1));
    }

    @Test
    void countsOfEmptyTablesAreEmpty() {
        assertThat(admin.counts().block(TIMEOUT)).isEmpty();
    }

    /** Inserts {@code n} jobs of {@code queue} with {@code status} straight into {@code table}. */
    private void bulk(String table, String queue, String status, int n) {
        String finished = table.equals("jobs") ? "" : ", attempt, reprocess_count, created_at, updated_at";
        String finishedValues = table.equals("jobs") ? "" : ", 1, 0, now(), now()";
        db.execute("INSERT INTO {schema}." + table + " (id, queue, status, priority, payload, max_attempts, run_at"
                + finished + ") SELECT gen_random_uuid(), $1, $2, 0, '{}', 5, now() + interval '1 day'" + finishedValues
                + " FROM generate_series(1, $3)", queue, status, n);
    }

    @Test
    void groupsAboveTheBoundAreEstimatedFromTheTablesStatisticsAndTheOthersCountedExactly() {
        bulk("jobs", "est-big", "pending", 3_000);
        bulk("jobs", "est-small", "pending", 40);
        bulk("jobs_archive", "est-big", "completed", 2_500);
        bulk("jobs_dead", "est-big", "failed", 300);
        bulk("jobs_dead", "est-small", "critical", 5);
        db.execute("ANALYZE {schema}.jobs, {schema}.jobs_archive, {schema}.jobs_dead");

        assertThat(admin.counts(1_000).block(TIMEOUT)).satisfiesExactly(
                big -> {
                    assertThat(big).extracting(JobCount::queue, JobCount::status, JobCount::location, JobCount::exact)
                            .containsExactly("est-big", JobStatus.COMPLETED, JobLocation.ARCHIVE, false);
                    // the statistics of so small a table are taken from every row: about exact
                    assertThat(big.jobs()).isBetween(2_250L, 2_750L);
                },
                dead -> assertThat(dead).isEqualTo(new JobCount("est-big", JobStatus.FAILED, JobLocation.DEAD, 300, true)),
                big -> {
                    assertThat(big).extracting(JobCount::queue, JobCount::status, JobCount::location, JobCount::exact)
                            .containsExactly("est-big", JobStatus.PENDING, JobLocation.LIVE, false);
                    assertThat(big.jobs()).isBetween(2_700L, 3_300L);
                },
                small -> assertThat(small).isEqualTo(new JobCount("est-small", JobStatus.CRITICAL, JobLocation.DEAD, 5, true)),
                small -> assertThat(small).isEqualTo(new JobCount("est-small", JobStatus.PENDING, JobLocation.LIVE, 40, true)));

        // no bound: every group counted
        assertThat(admin.counts(Long.MAX_VALUE).block(TIMEOUT)).containsExactly(
                new JobCount("est-big", JobStatus.COMPLETED, JobLocation.ARCHIVE, 2_500),
                new JobCount("est-big", JobStatus.FAILED, JobLocation.DEAD, 300),
                new JobCount("est-big", JobStatus.PENDING, JobLocation.LIVE, 3_000),
                new JobCount("est-small", JobStatus.CRITICAL, JobLocation.DEAD, 5),
                new JobCount("est-small", JobStatus.PENDING, JobLocation.LIVE, 40));
        // bound 0: every group estimated, never below the one job it counted
        assertThat(admin.counts(0).block(TIMEOUT)).hasSize(5).allSatisfy(count -> {
            assertThat(count.exact()).isFalse();
            assertThat(count.jobs()).isPositive();
        });
        StepVerifier.create(admin.counts(-1)).expectError(IllegalArgumentException.class).verify(TIMEOUT);
    }

    @Test
    void runningJobsAreCountedExactlyUpToTenTimesTheBoundAndEstimatedAbove() {
        List<UUID> jobs = enqueueMany("running-many", 12);
        markRunning(jobs.toArray(UUID[]::new));

        assertThat(admin.counts(2).block(TIMEOUT))
                .containsExactly(new JobCount("running-many", JobStatus.RUNNING, JobLocation.LIVE, 12, true));
        // one pass over the running jobs reads 10 + 1 of them: the count is cut, an estimate of at least 11
        assertThat(admin.counts(1).block(TIMEOUT)).singleElement().satisfies(count -> {
            assertThat(count.exact()).isFalse();
            assertThat(count.jobs()).isGreaterThanOrEqualTo(11);
        });
    }

    // ---------------------------------------------------------------------------------------------
    // requeue

    @Test
    void requeueMovesADeadJobBackAsAFreshPendingJobThatThenRuns() {
        UUID id = nodeA.enqueue(NewJob.of("requeue", Map.of("n", 42)).fingerprint("fp").priority(3).maxAttempts(3))
                .block(TIMEOUT).id();
        // it failed for good after using every attempt and being rescheduled twice, long ago
        db.execute("UPDATE {schema}.jobs SET status = 'failed', attempt = 3, reprocess_count = 2, last_error = 'boom' "
                + "WHERE id = $1", id);
        db.backdate("jobs", "run_at", Duration.ofDays(1), id);
        db.backdate("jobs", "completed_at", Duration.ofDays(1), id);
        assertThat(moveFinished()).isEqualTo(1);
        JobInfo dead = find(id).orElseThrow();
        assertThat(dead.location()).isEqualTo(JobLocation.DEAD);

        assertThat(admin.requeue(id).block(TIMEOUT)).isTrue();

        assertThat(db.rows("jobs_dead")).isZero();
        JobInfo requeued = find(id).orElseThrow();
        assertThat(requeued.location()).isEqualTo(JobLocation.LIVE);
        assertThat(requeued.status()).isEqualTo(JobStatus.PENDING);
        assertThat(requeued.attempt()).isZero();
        assertThat(requeued.reprocessCount()).isZero();
        assertThat(requeued.maxAttempts()).isEqualTo(3);
        assertThat(requeued.priority()).isEqualTo(3);
        assertThat(requeued.fingerprint()).contains("fp");
        assertThat(requeued.lastError()).contains("boom");
        assertThat(requeued.completedAt()).isEmpty();
        assertThat(requeued.createdAt()).isEqualTo(dead.createdAt());
        assertThat(requeued.payload()).hasValueSatisfying(p -> assertThat(p.get("n").asInt()).isEqualTo(42));
        // due now by the database clock (it was a day in the past)
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE id = $1 AND lease IS NULL "
                + "AND run_at BETWEEN now() - interval '1 minute' AND now()", id)).isEqualTo(1);

        AtomicReference<Job> ran = new AtomicReference<>();
        startedNode(db.queueBuilder().handler(ReactiveHandler.of("requeue", job -> {
            ran.set(job);
            return Mono.just(Outcome.success());
        })));
        waiting().until(() -> "completed".equals(db.status(id)));
        assertThat(ran.get().id()).isEqualTo(id);
        assertThat(ran.get().attempt()).isEqualTo(1);
        assertThat(ran.get().reprocessCount()).isZero();
        assertThat(ran.get().payload().get("n").asInt()).isEqualTo(42);
    }

    @Test
    void requeueOfAJobNotInTheDeadLetterTableReturnsFalse() {
        UUID pending = enqueue("requeue-none", 1);
        UUID archived = enqueue("requeue-none", 2);
        finish("completed", archived);
        assertThat(moveFinished()).isEqualTo(1);

        assertThat(admin.requeue(UUID.randomUUID()).block(TIMEOUT)).isFalse();
        assertThat(admin.requeue(pending).block(TIMEOUT)).isFalse();
        assertThat(admin.requeue(archived).block(TIMEOUT)).isFalse();

        assertThat(find(archived).orElseThrow().location()).isEqualTo(JobLocation.ARCHIVE);
        assertThat(idsIn("jobs", "requeue-none")).containsExactly(pending);
    }

    @Test
    void aDeadJobWhoseUniqueKeyIsHeldByALiveJobStaysDead() {
        UUID dead = nodeA.enqueue(NewJob.of("requeue-key", Map.of("n", 1)).uniqueKey("key-1")).block(TIMEOUT).id();
        finish("failed", dead);
        assertThat(moveFinished()).isEqualTo(1);
        EnqueueResult holder = nodeA.enqueue(NewJob.of("requeue-key", Map.of("n", 2)).uniqueKey("key-1")).block(TIMEOUT);
        assertThat(holder.isDuplicate()).isFalse();

        assertThat(admin.requeue(dead).block(TIMEOUT)).isFalse();
        assertThat(admin.requeueDead("requeue-key", 10).block(TIMEOUT)).isZero();

        assertThat(idsIn("jobs_dead", "requeue-key")).containsExactly(dead);
        assertThat(idsIn("jobs", "requeue-key")).containsExactly(holder.id());

        // once the holder has finished the key is free, and the same requeue succeeds
        finish("completed", holder.id());
        assertThat(admin.requeue(dead).block(TIMEOUT)).isTrue();
        assertThat(idsIn("jobs_dead", "requeue-key")).isEmpty();
        assertThat(db.status(dead)).isEqualTo("pending");
    }

    @Test
    void requeueDeadSkipsDeadJobsWhoseKeysAreHeldAndRevivesTheOthers() {
        // the two oldest dead jobs have keys that live jobs hold; three younger ones do not
        List<UUID> held = new ArrayList<>();
        for (String key : List.of("held-1", "held-2")) {
            held.add(nodeA.enqueue(NewJob.of("requeue-skip", key).uniqueKey(key)).block(TIMEOUT).id());
        }
        List<UUID> free = new ArrayList<>(enqueueMany("requeue-skip", 2));
        free.add(nodeA.enqueue(NewJob.of("requeue-skip", "free-key").uniqueKey("free-key")).block(TIMEOUT).id());
        finish("failed", held.toArray(UUID[]::new));
        finish("failed", free.toArray(UUID[]::new));
        assertThat(moveFinished()).isEqualTo(5);
        List<UUID> holders = new ArrayList<>();
        for (String key : List.of("held-1", "held-2")) {
            holders.add(nodeA.enqueue(NewJob.of("requeue-skip", "new " + key).uniqueKey(key)).block(TIMEOUT).id());
        }

        assertThat(admin.requeueDead("requeue-skip", 2).block(TIMEOUT)).isEqualTo(2);
        assertThat(admin.requeueDead("requeue-skip", 10).block(TIMEOUT)).isEqualTo(1);
        assertThat(admin.requeueDead("requeue-skip", 10).block(TIMEOUT)).isZero();

        assertThat(idsIn("jobs_dead", "requeue-skip")).containsExactlyElementsOf(held);
        List<UUID> live = new ArrayList<>(holders);
        live.addAll(free);
        assertThat(idsIn("jobs", "requeue-skip")).containsExactlyInAnyOrderElementsOf(live);
        // one job by id keeps its answer: false while its key is held
        assertThat(admin.requeue(held.get(0)).block(TIMEOUT)).isFalse();
    }

    @Test
    void requeueDeadRequeuesUpToTheLimitOfThatQueueOnly() {
        List<UUID> a = enqueueMany("requeue-a", 5);
        List<UUID> b = enqueueMany("requeue-b", 2);
        finish("failed", a.toArray(UUID[]::new));
        finish("cancelled", b.toArray(UUID[]::new));
        assertThat(moveFinished()).isEqualTo(7);

        assertThat(admin.requeueDead("requeue-a", 3).block(TIMEOUT)).isEqualTo(3);
        assertThat(idsIn("jobs", "requeue-a")).containsExactlyElementsOf(a.subList(0, 3));
        assertThat(idsIn("jobs_dead", "requeue-a")).containsExactlyElementsOf(a.subList(3, 5));
        assertThat(idsIn("jobs_dead", "requeue-b")).containsExactlyElementsOf(b);
        assertThat(idsIn("jobs", "requeue-b")).isEmpty();

        assertThat(admin.requeueDead("requeue-a", 10).block(TIMEOUT)).isEqualTo(2);
        assertThat(admin.requeueDead("requeue-a", 10).block(TIMEOUT)).isZero();
        assertThat(idsIn("jobs", "requeue-a")).containsExactlyElementsOf(a);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'pending' AND attempt = 0"))
                .isEqualTo(5);
        assertThat(idsIn("jobs_dead", "requeue-b")).containsExactlyElementsOf(b);

        StepVerifier.create(admin.requeueDead("requeue-b", 0)).expectError(IllegalArgumentException.class)
                .verify(TIMEOUT);
        assertThat(idsIn("jobs_dead", "requeue-b")).containsExactlyElementsOf(b);
    }

    // ---------------------------------------------------------------------------------------------
    // delete

    @Test
    void deleteRemovesAJobFromWhicheverTableHoldsIt() {
        UUID live = enqueue("delete", 1);
        UUID archived = enqueue("delete", 2);
        UUID dead = enqueue("delete", 3);
        UUID kept = enqueue("delete", 4);
        finish("completed", archived);
        finish("unprocessable", dead);
        assertThat(moveFinished()).isEqualTo(2);

        assertThat(admin.delete(live).block(TIMEOUT)).isTrue();
        assertThat(admin.delete(archived).block(TIMEOUT)).isTrue();
        assertThat(admin.delete(dead).block(TIMEOUT)).isTrue();

        assertThat(find(live)).isEmpty();
        assertThat(find(archived)).isEmpty();
        assertThat(find(dead)).isEmpty();
        assertThat(db.rows("jobs_archive")).isZero();
        assertThat(db.rows("jobs_dead")).isZero();
        assertThat(idsIn("jobs", "delete")).containsExactly(kept);

        assertThat(admin.delete(live).block(TIMEOUT)).isFalse();
        assertThat(admin.delete(UUID.randomUUID()).block(TIMEOUT)).isFalse();
    }

    /**
     * A job the janitor moves while the delete runs: the delete waits for the move and then
     * deletes the job where it went, instead of reporting it missing and leaving it there.
     */
    @Test
    void deleteFindsAJobTheJanitorIsMovingAtThatMoment() {
        UUID id = enqueue("delete", 1);
        finish("completed", id);
        String s = "\"" + db.name() + "\"";
        String columns = "id, queue, status, priority, payload, unique_key, fingerprint, attempt, max_attempts, "
                + "reprocess_count, created_at, run_at, updated_at, completed_at, last_error";
        Connection mover = Mono.from(db.connectionFactory().create()).block(TIMEOUT);
        try {
            Mono.from(mover.beginTransaction()).block(TIMEOUT);
            Flux.from(mover.createStatement("WITH moved AS (DELETE FROM " + s + ".jobs WHERE id = $1 RETURNING "
                    + columns + ") INSERT INTO " + s + ".jobs_archive (" + columns + ") SELECT " + columns
                    + " FROM moved").bind("$1", id).execute()).flatMap(Result::getRowsUpdated).blockLast(TIMEOUT);

            CompletableFuture<Boolean> deleted = admin.delete(id).toFuture();
            await().atMost(TIMEOUT).until(() -> db.count("SELECT count(*) FROM pg_stat_activity "
                    + "WHERE wait_event_type = 'Lock' AND query LIKE $1", "%" + db.name() + "%jobs_archive%") == 1);
            Mono.from(mover.commitTransaction()).block(TIMEOUT);

            assertThat(deleted).succeedsWithin(TIMEOUT).isEqualTo(true);
            assertThat(find(id)).isEmpty();
            assertThat(db.rows("jobs_archive")).isZero();
        } finally {
            Mono.from(mover.close()).block(TIMEOUT);
        }
    }

    @Test
    void deletingARunningJobStopsItsHandlerAndNothingIsWrittenBack() {
        AtomicReference<UUID> running = new AtomicReference<>();
        AtomicBoolean cancelled = new AtomicBoolean();
        PgQueue nodeB = startedNode(db.queueBuilder().heartbeatInterval(Duration.ofMillis(300))
                .rescueAfterMissedHeartbeats(100) // the delete stops it, never a rescue
                .handler(ReactiveHandler.of("delete-running", job -> {
                    running.set(job.id());
                    return Mono.<Outcome>never().doOnCancel(() -> cancelled.set(true));
                })));
        UUID id = enqueue("delete-running", 1);
        waiting().until(() -> id.equals(running.get()) && "running".equals(db.status(id)));

        assertThat(admin.delete(id).block(TIMEOUT)).isTrue();

        await().atMost(Duration.ofSeconds(5)).pollInterval(POLL).untilTrue(cancelled);
        waiting().until(() -> nodeB.jobsInFlight() == 0);
        assertThat(find(id)).isEmpty();
        assertThat(db.rows("jobs")).isZero();
        assertThat(nodeB.staleWrites()).isZero();
    }

    // ---------------------------------------------------------------------------------------------
    // purge

    @Test
    void purgeDeletesPendingAndFinishedLiveJobsOfOneQueueOnly() {
        List<UUID> a = enqueueMany("purge-a", 7);
        UUID otherQueue = enqueue("purge-b", 1);
        finish("completed", a.get(0));
        finish("failed", a.get(1));
        assertThat(moveFinished()).isEqualTo(2);
        finish("completed", a.get(2));
        finish("critical", a.get(3));
        markRunning(a.get(4));
        // left pending: a.get(5), a.get(6)

        assertThat(admin.purge("purge-a").block(TIMEOUT)).isEqualTo(4);

        assertThat(idsIn("jobs", "purge-a")).containsExactly(a.get(4));
        assertThat(db.status(a.get(4))).isEqualTo("running");
        assertThat(idsIn("jobs", "purge-b")).containsExactly(otherQueue);
        assertThat(idsIn("jobs_archive", "purge-a")).containsExactly(a.get(0));
        assertThat(idsIn("jobs_dead", "purge-a")).containsExactly(a.get(1));

        assertThat(admin.purge("purge-a").block(TIMEOUT)).isZero();
    }

    /**
     * A purge deletes in batches of the maintenance batch size, one statement each, each going on
     * after the last id the one before deleted, until one deletes nothing: no statement holds many
     * row locks (before, one statement deleted the whole queue: 622 ms for 100,500 rows).
     */
    @Test
    void purgeDeletesInBoundedBatches() {
        List<UUID> jobs = enqueueMany("purge-batches", 7);
        UUID running = jobs.get(3);
        markRunning(running);
        StatementCounter counter = new StatementCounter(db.connectionFactory());
        PgQueue batched = PgQueue.builder(counter).schema(db.name()).maintenanceBatchSize(2).build();
        try {
            assertThat(batched.admin().purge("purge-batches").block(TIMEOUT)).isEqualTo(6);
            assertThat(counter.count("WITH gone AS")).as("statements: three batches of 2, then one of none")
                    .isEqualTo(4);
            assertThat(idsIn("jobs", "purge-batches")).containsExactly(running);
        } finally {
            batched.close().block(TIMEOUT);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // pause and resume

    @Test
    void aQueuePausedOnOneNodeIsNotClaimedByAnotherUntilResumed() {
        startedNode(db.queueBuilder()
                .handler(ReactiveHandler.of("paused", job -> Mono.just(Outcome.success())))
                .handler(ReactiveHandler.of("unpaused", job -> Mono.just(Outcome.success()))));
        admin.pause("paused").block(TIMEOUT);
        admin.pause("paused").block(TIMEOUT); // pausing twice is fine
        assertThat(admin.pausedQueues().block(TIMEOUT)).containsExactly("paused");

        UUID held = enqueue("paused", 1);
        // Node B claims both of its queues in one statement, so a job of the other queue enqueued
        // later and completed proves B claimed after the paused job was there. Twice, for good measure.
        for (int i = 0; i < 2; i++) {
            UUID probe = enqueue("unpaused", i);
            waiting().until(() -> "completed".equals(db.status(probe)));
        }
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE id = $1 AND status = 'pending' AND attempt = 0",
                held)).isEqualTo(1);

        // a jobs() stream claims nothing of a paused queue either (the probe queue has no handler on B)
        List<ClaimedJob> streamed = new CopyOnWriteArrayList<>();
        Disposable stream = nodeA.jobs("paused", "stream-probe").subscribe(streamed::add);
        subscriptions.add(stream);
        UUID streamProbe = enqueue("stream-probe", 1);
        waiting().until(() -> !streamed.isEmpty());
        assertThat(streamed).extracting(c -> c.job().id()).containsExactly(streamProbe);
        streamed.get(0).complete(Outcome.success()).block(TIMEOUT);
        stream.dispose();
        assertThat(db.status(held)).isEqualTo("pending");

        admin.resume("paused").block(TIMEOUT);
        assertThat(admin.pausedQueues().block(TIMEOUT)).isEmpty();
        waiting().until(() -> "completed".equals(db.status(held)));
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE id = $1 AND attempt = 1", held)).isEqualTo(1);
    }

    @Test
    void pausingLetsRunningJobsFinish() {
        Sinks.Empty<Void> gate = Sinks.empty();
        AtomicReference<UUID> running = new AtomicReference<>();
        startedNode(db.queueBuilder().handler(ReactiveHandler.of("pause-running", job -> {
            running.set(job.id());
            return gate.asMono().thenReturn(Outcome.success());
        })));
        UUID id = enqueue("pause-running", 1);
        waiting().until(() -> id.equals(running.get()) && "running".equals(db.status(id)));

        admin.pause("pause-running").block(TIMEOUT);
        gate.tryEmitEmpty();

        waiting().until(() -> "completed".equals(db.status(id)));
        assertThat(admin.pausedQueues().block(TIMEOUT)).containsExactly("pause-running");
    }
}
