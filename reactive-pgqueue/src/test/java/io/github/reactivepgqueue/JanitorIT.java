package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.POLL;
import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.StatementCounter;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;
import reactor.util.function.Tuple2;
import reactor.util.function.Tuple4;

/**
 * The janitor: finished jobs leave the live table (completed ones for the archive, dead ones for
 * the dead-letter table) with every column kept, in bounded batches repeated until nothing is
 * left; archived and dead-lettered jobs are deleted after their own retention; a started node
 * with the janitor on empties the live table of finished jobs by itself, and with it off leaves
 * them there; janitors and reapers on several nodes can run at once without losing, duplicating
 * or deadlocking on a row; and a unique key is free again once its holder has been moved.
 */
@ExtendWith(PostgresExtension.class)
class JanitorIT {
    /** Every column a move must keep; payload as text so that rows compare by value. */
    private static final String KEPT_COLUMNS = "id, queue, status, priority, payload::text AS payload, unique_key, "
            + "fingerprint, attempt, max_attempts, reprocess_count, created_at, run_at, updated_at, completed_at, "
            + "last_error";

    private static final List<String> DEAD_STATUSES = List.of("failed", "cancelled", "critical", "unprocessable",
            "bad_job");

    private final TestSchema db;
    private final List<PgQueue> started = new ArrayList<>();

    JanitorIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
    }

    @BeforeEach
    void empty() {
        db.deleteAllJobs();
    }

    @AfterEach
    void closeQueues() {
        started.forEach(q -> q.close().block(TIMEOUT));
    }

    // ---------------------------------------------------------------------------------------------
    // moving

    @Test
    void completedJobsGoToTheArchiveAndDeadOnesToTheDeadLetterTableWithEveryColumnKept() {
        UUID completed = insertJob("completed", 1);
        Map<String, UUID> dead = new LinkedHashMap<>();
        for (int i = 0; i < DEAD_STATUSES.size(); i++) {
            dead.put(DEAD_STATUSES.get(i), insertJob(DEAD_STATUSES.get(i), i + 2));
        }
        UUID pending = insertJob("pending", 10);
        UUID running = insertJob("running", 11);
        Map<UUID, Map<String, Object>> before = new HashMap<>();
        for (UUID id : db.query("SELECT id FROM {schema}.jobs").stream().map(r -> (UUID) r.get("id")).toList()) {
            before.put(id, keptColumns("jobs", id));
        }
        OffsetDateTime startedMove = (OffsetDateTime) db.query("SELECT clock_timestamp() AS t").get(0).get("t");

        Long moved = db.queueBuilder().build().admin().moveFinishedJobs().block(TIMEOUT);

        assertThat(moved).isEqualTo(1 + DEAD_STATUSES.size());
        assertThat(keptColumns("jobs_archive", completed)).isEqualTo(before.get(completed));
        assertThat(movedAt("jobs_archive", "archived_at", completed)).isAfterOrEqualTo(startedMove);
        assertThat(db.rows("jobs_archive")).isEqualTo(1);
        dead.forEach((status, id) -> {
            assertThat(keptColumns("jobs_dead", id)).as(status).isEqualTo(before.get(id));
            assertThat(movedAt("jobs_dead", "dead_at", id)).as(status).isAfterOrEqualTo(startedMove);
        });
        assertThat(db.rows("jobs_dead")).isEqualTo(DEAD_STATUSES.size());
        // live jobs stay where they are, untouched
        assertThat(db.rows("jobs")).isEqualTo(2);
        assertThat(keptColumns("jobs", pending)).isEqualTo(before.get(pending));
        assertThat(keptColumns("jobs", running)).isEqualTo(before.get(running));
        assertThat(db.queueBuilder().build().admin().moveFinishedJobs().block(TIMEOUT))
                .as("nothing left to move").isZero();
    }

    @Test
    void withTheJanitorOnACompletedJobGoesStraightToTheArchiveAsItCompletes() {
        // the janitor's own loop would not run within this test: only the completion can move the rows
        PgQueue queue = PgQueue.builder(db.connectionFactory()).schema(db.name())
                .janitorInterval(Duration.ofHours(1)).pollInterval(POLL)
                .handler(ReactiveHandler.of("archived", job -> Mono.just(Outcome.success())))
                .build();
        started.add(queue);
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            ids.add(queue.enqueue(NewJob.of("archived", Map.of("n", i)).uniqueKey("k" + i).priority(i % 3))
                    .block(TIMEOUT).id());
        }
        queue.start().block(TIMEOUT);
        await().atMost(TIMEOUT).pollInterval(POLL).until(() -> db.rows("jobs_archive") == ids.size());

        assertThat(db.rows("jobs")).as("no completed row left in the live table").isZero();
        for (UUID id : ids) {
            JobInfo info = queue.admin().find(id).block(TIMEOUT);
            assertThat(info.location()).isEqualTo(JobLocation.ARCHIVE);
            assertThat(info.status()).isEqualTo(JobStatus.COMPLETED);
            assertThat(info.attempt()).isEqualTo(1);
            assertThat(info.completedAt()).isPresent();
            assertThat(queue.awaitCompletion(id).block(TIMEOUT).status()).isEqualTo(JobStatus.COMPLETED);
        }
        Map<String, Object> first = db.query("SELECT payload::text AS payload, unique_key, priority, "
                + "archived_at >= completed_at AS in_order FROM {schema}.jobs_archive WHERE id = $1", ids.get(1)).get(0);
        assertThat(first).containsEntry("payload", "{\"n\": 1}").containsEntry("unique_key", "k1")
                .containsEntry("priority", 1).containsEntry("in_order", true);
        // the unique keys are free again
        assertThat(queue.enqueue(NewJob.of("archived", 1).uniqueKey("k1")).block(TIMEOUT))
                .isInstanceOf(EnqueueResult.Enqueued.class);
        assertThat(queue.staleWrites()).isZero();
    }

    @Test
    void oneCallMovesEverythingInBoundedBatches() {
        db.execute("INSERT INTO {schema}.jobs (id, queue, status, payload, max_attempts, attempt, completed_at) "
                + "SELECT gen_random_uuid(), 'batch', CASE WHEN i % 4 = 0 THEN 'failed' ELSE 'completed' END, "
                + "jsonb_build_object('n', i), 1, 1, now() - i * interval '1 second' "
                + "FROM generate_series(1, 1050) AS i");
        StatementCounter counter = new StatementCounter(db.connectionFactory());
        PgQueue queue = PgQueue.builder(counter).schema(db.name()).maintenanceBatchSize(100).build();

        Long moved = queue.admin().moveFinishedJobs().block(TIMEOUT);

        assertThat(moved).isEqualTo(1050);
        assertThat(db.rows("jobs")).isZero();
        assertThat(db.rows("jobs_archive")).isEqualTo(1050 - 262);
        assertThat(db.rows("jobs_dead")).isEqualTo(262);
        // ten full batches repeat the statement; the eleventh comes back short and ends the call
        assertThat(counter.work()).hasSize(11).allMatch(sql -> sql.contains("FROM moved"));
        // each statement is a transaction of its own, so its rows share one archived_at / dead_at
        List<Long> batchSizes = db.query("SELECT count(*) AS n FROM (SELECT archived_at AS at FROM {schema}.jobs_archive "
                        + "UNION ALL SELECT dead_at FROM {schema}.jobs_dead) m GROUP BY at ORDER BY at")
                .stream().map(r -> ((Number) r.get("n")).longValue()).toList();
        assertThat(batchSizes).containsExactly(100L, 100L, 100L, 100L, 100L, 100L, 100L, 100L, 100L, 100L, 50L);
    }

    // ---------------------------------------------------------------------------------------------
    // retention

    @Test
    void archivedAndDeadJobsAreDeletedAfterTheirOwnRetention() {
        PgQueue queue = db.queueBuilder().archiveRetention(Duration.ofDays(1)).deadLetterRetention(Duration.ofDays(3))
                .maintenanceBatchSize(3).build();
        List<UUID> archivedOld = insertJobs("completed", 7);
        List<UUID> archivedYoung = insertJobs("completed", 2);
        List<UUID> deadOld = insertJobs("cancelled", 5);
        List<UUID> deadYoung = insertJobs("failed", 2);
        assertThat(queue.admin().moveFinishedJobs().block(TIMEOUT)).isEqualTo(16);
        // finished long ago but not moved yet: retention counts from the move, so it stays
        UUID stillLive = insertJob("completed", 0);
        db.backdate("jobs", "completed_at", Duration.ofDays(30), stillLive);
        db.backdate("jobs_archive", "archived_at", Duration.ofDays(2), archivedOld);
        db.backdate("jobs_archive", "archived_at", Duration.ofHours(12), archivedYoung);
        db.backdate("jobs_dead", "dead_at", Duration.ofDays(4), deadOld);
        // older than the archive retention but younger than the dead-letter retention
        db.backdate("jobs_dead", "dead_at", Duration.ofDays(2), deadYoung);

        Long deleted = queue.admin().deleteExpiredJobs().block(TIMEOUT);

        assertThat(deleted).isEqualTo(7 + 5);
        assertThat(ids("jobs_archive")).containsExactlyInAnyOrderElementsOf(archivedYoung);
        assertThat(ids("jobs_dead")).containsExactlyInAnyOrderElementsOf(deadYoung);
        assertThat(ids("jobs")).containsExactly(stillLive);
        assertThat(queue.admin().deleteExpiredJobs().block(TIMEOUT)).as("nothing left to delete").isZero();
    }

    // ---------------------------------------------------------------------------------------------
    // the janitor of a started node

    @Test
    void aStartedNodeWithTheJanitorOnMovesFinishedJobsByItself() {
        Map<String, Outcome> outcomes = Map.of("success", Outcome.success(), "cancel", Outcome.cancel(),
                "unprocessable", Outcome.unprocessable());
        PgQueue queue = start(db.queueBuilder().janitor(true).janitorInterval(Duration.ofMillis(100))
                .handler(ReactiveHandler.of("work", job -> {
                    String kind = job.payload().get("kind").asText();
                    return kind.equals("fail") ? Mono.error(new IllegalStateException("boom"))
                            : Mono.just(outcomes.get(kind));
                })));
        Map<String, List<UUID>> byKind = enqueueKinds(queue);

        await().atMost(TIMEOUT).pollInterval(POLL).until(() -> db.rows("jobs") == 0
                && db.rows("jobs_archive") + db.rows("jobs_dead") == 20);

        assertThat(ids("jobs_archive")).containsExactlyInAnyOrderElementsOf(byKind.get("success"));
        assertThat(statuses("jobs_archive")).containsOnlyKeys("completed");
        Map<UUID, String> dead = statuses("jobs_dead").entrySet().stream()
                .flatMap(e -> e.getValue().stream().map(id -> Map.entry(id, e.getKey())))
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
        assertThat(dead).hasSize(15);
        byKind.get("cancel").forEach(id -> assertThat(dead).containsEntry(id, "cancelled"));
        byKind.get("unprocessable").forEach(id -> assertThat(dead).containsEntry(id, "unprocessable"));
        byKind.get("fail").forEach(id -> assertThat(dead).containsEntry(id, "failed"));
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs_dead WHERE status = 'failed' "
                + "AND last_error LIKE '%boom%'")).isEqualTo(5);
    }

    @Test
    void aStartedNodeWithTheJanitorOffLeavesFinishedJobsInTheLiveTable() {
        PgQueue queue = start(db.queueBuilder().janitorInterval(Duration.ofMillis(100))
                .handler(ReactiveHandler.of("work", job -> {
                    String kind = job.payload().get("kind").asText();
                    return kind.equals("success") ? Mono.just(Outcome.success()) : Mono.just(Outcome.cancel());
                })));
        List<UUID> ids = enqueueKinds(queue).values().stream().flatMap(List::stream).toList();

        await().atMost(TIMEOUT).pollInterval(POLL).until(() -> db.count("SELECT count(*) FROM {schema}.jobs "
                + "WHERE status IN ('completed', 'cancelled')") == 20);
        // many janitor intervals pass: a janitor that ran would have emptied the live table
        await().during(Duration.ofMillis(800)).atMost(Duration.ofSeconds(5)).pollInterval(POLL)
                .until(() -> db.rows("jobs") == 20 && db.rows("jobs_archive") == 0 && db.rows("jobs_dead") == 0);

        assertThat(queue.admin().moveFinishedJobs().block(TIMEOUT)).isEqualTo(20);
        assertThat(db.rows("jobs")).isZero();
        List<UUID> moved = new ArrayList<>(ids("jobs_archive"));
        moved.addAll(ids("jobs_dead"));
        assertThat(moved).containsExactlyInAnyOrderElementsOf(ids);
    }

    // ---------------------------------------------------------------------------------------------
    // several nodes at once

    @Test
    void twoJanitorsMovingAtOnceMoveEveryRowExactlyOnce() {
        db.execute("INSERT INTO {schema}.jobs (id, queue, status, payload, max_attempts, attempt, completed_at) "
                + "SELECT gen_random_uuid(), 'race', "
                + "CASE i % 3 WHEN 0 THEN 'completed' WHEN 1 THEN 'failed' ELSE 'cancelled' END, "
                + "jsonb_build_object('n', i), 1, 1, now() - (i % 100) * interval '1 second' "
                + "FROM generate_series(1, 20000) AS i");
        PgQueue a = db.queueBuilder().maintenanceBatchSize(500).build();
        PgQueue b = db.queueBuilder().maintenanceBatchSize(500).build();

        Tuple2<Long, Long> moved = Mono.zip(a.admin().moveFinishedJobs(), b.admin().moveFinishedJobs())
                .block(TIMEOUT);

        assertThat(moved.getT1() + moved.getT2()).isEqualTo(20_000);
        assertThat(db.rows("jobs")).isZero();
        assertEveryRowInExactlyOneTable(20_000);
        long completed = db.count("SELECT count(*) FROM generate_series(1, 20000) AS i WHERE i % 3 = 0");
        assertThat(db.rows("jobs_archive")).isEqualTo(completed);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs_archive WHERE (payload->>'n')::int % 3 <> 0"))
                .as("archived jobs that were not completed").isZero();
        assertThat(db.rows("jobs_dead")).isEqualTo(20_000 - completed);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs_dead WHERE status <> "
                + "CASE (payload->>'n')::int % 3 WHEN 1 THEN 'failed' ELSE 'cancelled' END"))
                .as("dead-lettered jobs with a changed status").isZero();
    }

    @Test
    void twoReapersAndTwoJanitorsRunningAtOnceKeepEveryRowInExactlyOneTable() {
        // Stale running jobs (heartbeat an hour old): 1000 that go back to pending, 1000 on their
        // last attempt that fail, 1000 at the reprocess limit that become bad_job; and 6000 finished.
        db.execute("INSERT INTO {schema}.jobs (id, queue, status, payload, attempt, max_attempts, reprocess_count, "
                + "lease, heartbeat_at) "
                + "SELECT gen_random_uuid(), 'mixed', 'running', jsonb_build_object('kind', k.kind, 'n', i), "
                + "k.attempt, k.max_attempts, k.reprocess_count, gen_random_uuid(), now() - interval '1 hour' "
                + "FROM generate_series(1, 1000) AS i, (VALUES ('stale-retry', 1, 5, 0), ('stale-last', 3, 3, 0), "
                + "('stale-poison', 1, 5, 99)) AS k(kind, attempt, max_attempts, reprocess_count)");
        db.execute("INSERT INTO {schema}.jobs (id, queue, status, payload, attempt, max_attempts, completed_at) "
                + "SELECT gen_random_uuid(), 'mixed', CASE i % 3 WHEN 0 THEN 'completed' WHEN 1 THEN 'failed' "
                + "ELSE 'cancelled' END, jsonb_build_object('kind', 'finished', 'n', i), 1, 1, now() "
                + "FROM generate_series(1, 6000) AS i");
        PgQueue a = db.queueBuilder().maintenanceBatchSize(500).reprocessLimit(100).build();
        PgQueue b = db.queueBuilder().maintenanceBatchSize(500).reprocessLimit(100).build();

        Tuple4<Integer, Integer, Long, Long> result = Mono.zip(a.admin().rescueStalledJobs(),
                b.admin().rescueStalledJobs(), a.admin().moveFinishedJobs(), b.admin().moveFinishedJobs())
                .block(TIMEOUT);

        assertThat(result.getT1() + result.getT2()).as("rescued").isEqualTo(3000);
        assertEveryRowInExactlyOneTable(9000);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE payload->>'kind' = 'finished'"))
                .as("finished jobs left behind by both janitors").isZero();
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'running'")).isZero();

        // The jobs the reapers failed may have been made so after the janitors looked: one more move.
        a.admin().moveFinishedJobs().block(TIMEOUT);
        assertEveryRowInExactlyOneTable(9000);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'pending' "
                + "AND payload->>'kind' = 'stale-retry'")).isEqualTo(1000);
        assertThat(db.rows("jobs")).isEqualTo(1000);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs_dead WHERE status = 'failed' "
                + "AND payload->>'kind' = 'stale-last'")).isEqualTo(1000);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs_dead WHERE status = 'bad_job' "
                + "AND payload->>'kind' = 'stale-poison'")).isEqualTo(1000);
        assertThat(db.rows("jobs_archive")).isEqualTo(2000);
        assertThat(db.rows("jobs_dead")).isEqualTo(2000 + 4000);
    }

    // ---------------------------------------------------------------------------------------------
    // unique keys

    @Test
    void aUniqueKeyIsFreeAgainOnceItsHolderHasFinishedAndBeenMoved() {
        PgQueue queue = db.queueBuilder().build();
        NewJob job = NewJob.of("unique", Map.of()).uniqueKey("k");
        EnqueueResult first = queue.enqueue(job).block(TIMEOUT);
        assertThat(first).isInstanceOf(EnqueueResult.Enqueued.class);
        assertThat(queue.enqueue(job).block(TIMEOUT)).isEqualTo(new EnqueueResult.Duplicate(first.id(), "k"));
        db.execute("UPDATE {schema}.jobs SET status = 'completed', attempt = 1, completed_at = now() WHERE id = $1",
                first.id());
        assertThat(queue.admin().moveFinishedJobs().block(TIMEOUT)).isEqualTo(1);

        EnqueueResult second = queue.enqueue(job).block(TIMEOUT);

        assertThat(second).isInstanceOf(EnqueueResult.Enqueued.class);
        assertThat(second.id()).isNotEqualTo(first.id());
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs_archive WHERE id = $1 AND unique_key = 'k'",
                first.id())).isEqualTo(1);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE id = $1 AND unique_key = 'k' "
                + "AND status = 'pending'", second.id())).isEqualTo(1);
    }

    @Test
    void aJobCancelledWhileItRunsStaysLiveHoldingItsKeyUntilItsLeaseIsLetGoOf() {
        PgQueue queue = db.queueBuilder().build();
        UUID id = queue.enqueue(NewJob.of("unique", Map.of()).uniqueKey("k")).block(TIMEOUT).id();
        // as a node leaves it while it runs the job
        db.execute("UPDATE {schema}.jobs SET status = 'running', attempt = 1, lease = gen_random_uuid(), "
                + "heartbeat_at = now() WHERE id = $1", id);
        assertThat(queue.cancel(id).block(TIMEOUT)).isEqualTo(1);

        // its handler may still run: the janitor leaves it, and its key stays held
        assertThat(queue.admin().moveFinishedJobs().block(TIMEOUT)).isZero();
        assertThat(db.status(id)).isEqualTo("cancelled");
        assertThat(queue.enqueue(NewJob.of("unique", Map.of()).uniqueKey("k")).block(TIMEOUT))
                .isEqualTo(new EnqueueResult.Duplicate(id, "k"));

        // the node let go of the lease: the job is dead and its key free
        db.execute("UPDATE {schema}.jobs SET lease = NULL, heartbeat_at = NULL WHERE id = $1", id);
        assertThat(queue.admin().moveFinishedJobs().block(TIMEOUT)).isEqualTo(1);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs_dead WHERE id = $1 AND status = 'cancelled'", id))
                .isEqualTo(1);
        assertThat(queue.enqueue(NewJob.of("unique", Map.of()).uniqueKey("k")).block(TIMEOUT).isDuplicate()).isFalse();
    }

    // ---------------------------------------------------------------------------------------------
    // helpers

    private PgQueue start(PgQueueBuilder builder) {
        PgQueue queue = builder.pollInterval(POLL).stopGracePeriod(Duration.ofSeconds(5)).build();
        started.add(queue);
        queue.start().block(TIMEOUT);
        return queue;
    }

    /** Five jobs of each kind, one attempt each; returns their ids by kind. */
    private static Map<String, List<UUID>> enqueueKinds(PgQueue queue) {
        List<NewJob> jobs = new ArrayList<>();
        List<String> kinds = List.of("success", "cancel", "unprocessable", "fail");
        for (int i = 0; i < 5; i++) {
            for (String kind : kinds) {
                jobs.add(NewJob.of("work", Map.of("kind", kind, "n", i)).maxAttempts(1));
            }
        }
        List<EnqueueResult> results = queue.enqueueAll(jobs).block(TIMEOUT);
        Map<String, List<UUID>> byKind = new HashMap<>();
        for (int i = 0; i < jobs.size(); i++) {
            String kind = kinds.get(i % kinds.size());
            byKind.computeIfAbsent(kind, k -> new ArrayList<>()).add(results.get(i).id());
        }
        return byKind;
    }

    /**
     * Inserts one job in {@code status} whose every column has a value of its own, so that a move
     * which dropped or mixed up a column would show.
     */
    private UUID insertJob(String status, int n) {
        UUID id = UUID.randomUUID();
        boolean finished = !status.equals("pending") && !status.equals("running");
        db.execute("INSERT INTO {schema}.jobs (id, queue, status, priority, payload, unique_key, fingerprint, attempt, "
                        + "max_attempts, reprocess_count, lease, created_at, run_at, updated_at, heartbeat_at, "
                        + "completed_at, last_error) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, "
                        + "CASE WHEN $3 = 'running' THEN gen_random_uuid() END, "
                        + "now() - interval '3 hours' - $4 * interval '1 minute', "
                        + "now() - interval '2 hours' - $4 * interval '1 second', "
                        + "now() - interval '1 hour' - $4 * interval '1 millisecond', "
                        + "CASE WHEN $3 = 'running' THEN now() END, "
                        + "CASE WHEN $11 THEN now() - interval '30 minutes' - $4 * interval '1 microsecond' END, $12)",
                id, "queue-" + status, status, n,
                "{\"n\": " + n + ", \"text\": \"é ü 字\", \"nested\": {\"list\": [1, 2.5, null, true]}}",
                "unique-" + status + "-" + id, "fingerprint-" + n, 2 + n, 20 + n, 3 + n, finished,
                "error of " + status + " " + n);
        return id;
    }

    /** Inserts {@code n} plain finished jobs in {@code status}. */
    private List<UUID> insertJobs(String status, int n) {
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.add(insertJob(status, i));
        }
        return ids;
    }

    private Map<String, Object> keptColumns(String table, UUID id) {
        return db.row(table, id, KEPT_COLUMNS);
    }

    private OffsetDateTime movedAt(String table, String column, UUID id) {
        Object at = db.row(table, id, column).get(column);
        assertThat(at).as("%s of %s", column, id).isNotNull();
        return (OffsetDateTime) at;
    }

    private List<UUID> ids(String table) {
        return db.query("SELECT id FROM {schema}." + table).stream().map(r -> (UUID) r.get("id")).toList();
    }

    /** The ids in {@code table} by status. */
    private Map<String, List<UUID>> statuses(String table) {
        return db.query("SELECT id, status FROM {schema}." + table).stream().collect(Collectors.groupingBy(
                r -> (String) r.get("status"), Collectors.mapping(r -> (UUID) r.get("id"), Collectors.toList())));
    }

    private void assertEveryRowInExactlyOneTable(long total) {
        String all = "SELECT id FROM {schema}.jobs UNION ALL SELECT id FROM {schema}.jobs_archive "
                + "UNION ALL SELECT id FROM {schema}.jobs_dead";
        assertThat(db.count("SELECT count(*) FROM (SELECT id FROM (" + all + ") a GROUP BY id HAVING count(*) > 1) d"))
                .as("ids in more than one table").isZero();
        assertThat(db.count("SELECT count(*) FROM (" + all + ") a")).as("rows in all tables").isEqualTo(total);
    }
}
