package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.internal.store.SchemaName;
import io.github.reactivepgqueue.internal.store.Sql;
import io.github.reactivepgqueue.internal.store.SqlName;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.postgresql.codec.Json;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Load and range: 100,000 jobs drain completely through a started node with the janitor on, the
 * claim statement runs on the partial claim index at that size, and counters at the top of the
 * {@code integer} range are stored and used right.
 */
@ExtendWith(PostgresExtension.class)
class LoadIT {
    /** Generous: the machines running the tests are shared; the drain takes about 10 s when quiet. */
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(180);
    private static final int JOBS = 100_000;
    private static final String QUEUE = "load";

    private final TestSchema db;

    LoadIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
    }

    @BeforeEach
    void empty() {
        db.deleteAllJobs();
    }

    @Test
    void theClaimRunsOnThePartialClaimIndexWithAHundredThousandRows() throws Exception {
        insertPending(JOBS);
        // finished rows that wait for the janitor are not in the partial index
        db.execute("UPDATE {schema}.jobs SET status = 'completed', completed_at = now() "
                + "WHERE id IN (SELECT id FROM {schema}.jobs LIMIT 50000)");
        db.execute("ANALYZE {schema}.jobs");

        String claim = Sql.load(SchemaName.of(db.name())).get(SqlName.JobClaim);
        List<Map<String, Object>> rows = db.query("EXPLAIN (FORMAT JSON) " + claim,
                new String[] {QUEUE}, new Integer[] {1000});
        JsonNode plan = new ObjectMapper().readTree(((Json) rows.get(0).values().iterator().next()).asString());

        List<JsonNode> scansOfJobs = new ArrayList<>();
        collectScans(plan, scansOfJobs);
        assertThat(scansOfJobs).as("scans of jobs in %s", plan).isNotEmpty()
                .noneMatch(scan -> scan.path("Node Type").asText().equals("Seq Scan"));
        assertThat(scansOfJobs).as("the pending rows are found on the claim index: %s", plan)
                .anyMatch(scan -> scan.path("Index Name").asText().equals("jobs_claim_idx"));
        assertThat(db.rows("jobs")).as("EXPLAIN claimed nothing").isEqualTo(JOBS);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'running'")).isZero();
    }

    /** Every plan node that reads the jobs table. */
    private static void collectScans(JsonNode node, List<JsonNode> into) {
        if (node.isObject() && node.path("Relation Name").asText().equals("jobs")) {
            into.add(node);
        }
        node.elements().forEachRemaining(child -> collectScans(child, into));
    }

    @Test
    void aHundredThousandJobsDrainCompletelyAndTheJanitorKeepsTheLiveTableSmall() {
        insertPending(JOBS);
        Set<UUID> seen = ConcurrentHashMap.newKeySet();
        AtomicInteger calls = new AtomicInteger();
        PgQueue node = db.queueBuilder().pollInterval(Duration.ofMillis(100))
                .janitor(true).janitorInterval(Duration.ofMillis(100))
                .globalConcurrency(2000).handlerScheduler(Schedulers.immediate())
                .handler(ReactiveHandler.of(QUEUE, job -> {
                    calls.incrementAndGet();
                    seen.add(job.id());
                    return Mono.just(Outcome.success());
                }), QueueOptions.defaults().concurrency(2000))
                .build();
        long started = System.nanoTime();
        AtomicLong mostFinishedInLiveTable = new AtomicLong();
        try {
            node.start().block(TIMEOUT);
            await().atMost(DRAIN_TIMEOUT).pollInterval(Duration.ofMillis(250)).until(() -> {
                Map<String, Object> counts = db.query("SELECT count(*) FILTER (WHERE status = 'completed') AS finished, "
                        + "count(*) AS live FROM {schema}.jobs").get(0);
                mostFinishedInLiveTable.accumulateAndGet((Long) counts.get("finished"), Math::max);
                return (Long) counts.get("live") == 0;
            });
            await().atMost(TIMEOUT).until(() -> db.rows("jobs_archive") == JOBS);
        } finally {
            node.close().block(TIMEOUT);
        }

        assertThat(calls).as("each job ran once").hasValue(JOBS);
        assertThat(seen).hasSize(JOBS);
        assertThat(db.count("SELECT count(DISTINCT id) FROM {schema}.jobs_archive WHERE status = 'completed' "
                + "AND attempt = 1")).isEqualTo(JOBS);
        assertThat(db.rows("jobs_dead")).isZero();
        assertThat(db.rows("jobs")).isZero();
        assertThat(node.staleWrites()).isZero();
        assertThat(mostFinishedInLiveTable.get()).as("finished rows never pile up in the live table")
                .isLessThan(JOBS / 10);
        System.out.println("[LoadIT] drained and archived " + JOBS + " jobs in "
                + Duration.ofNanos(System.nanoTime() - started).toMillis() + " ms; most completed rows seen in the "
                + "live table meanwhile: " + mostFinishedInLiveTable.get());
    }

    // ---------------------------------------------------------------------------------------------
    // the integer range (ids are UUIDv7 and need no range test; attempt, max_attempts,
    // reprocess_count and priority are PostgreSQL integer, Java int in the API)

    @Test
    void extremePrioritiesAndMaxAttemptsAreStoredExactlyAndOrderTheClaim() {
        List<String> order = new CopyOnWriteArrayList<>();
        PgQueue node = db.queueBuilder().pollInterval(Duration.ofMillis(50)).globalConcurrency(1)
                .handler(ReactiveHandler.of(QUEUE, job -> {
                    order.add(job.payload().asText() + ":" + job.priority() + ":" + job.maxAttempts());
                    return Mono.just(Outcome.success());
                }), QueueOptions.defaults().concurrency(1))
                .build();
        node.enqueueAll(List.of(
                NewJob.of(QUEUE, "max").priority(Integer.MAX_VALUE).maxAttempts(Integer.MAX_VALUE),
                NewJob.of(QUEUE, "zero"),
                NewJob.of(QUEUE, "min").priority(Integer.MIN_VALUE).maxAttempts(Integer.MAX_VALUE))).block(TIMEOUT);
        assertThat(db.query("SELECT priority, max_attempts FROM {schema}.jobs ORDER BY priority"))
                .extracting(r -> r.get("priority") + "/" + r.get("max_attempts"))
                .containsExactly(Integer.MIN_VALUE + "/" + Integer.MAX_VALUE, "0/5",
                        Integer.MAX_VALUE + "/" + Integer.MAX_VALUE);
        try {
            node.start().block(TIMEOUT);
            await().atMost(TIMEOUT).until(() -> order.size() == 3);
        } finally {
            node.close().block(TIMEOUT);
        }
        assertThat(order).containsExactly("min:" + Integer.MIN_VALUE + ":" + Integer.MAX_VALUE, "zero:0:5",
                "max:" + Integer.MAX_VALUE + ":" + Integer.MAX_VALUE);
    }

    @Test
    void theLastAttemptAtTheTopOfTheIntegerRangeRunsAndFailsTheJob() {
        AtomicInteger seenAttempt = new AtomicInteger();
        PgQueue node = db.queueBuilder().pollInterval(Duration.ofMillis(50))
                .handler(ReactiveHandler.of(QUEUE, job -> {
                    seenAttempt.set(job.attempt());
                    return Mono.just(Outcome.retry("still failing"));
                }), QueueOptions.defaults().backoff(Backoff.linear(Duration.ZERO)))
                .build();
        UUID id = node.enqueue(NewJob.of(QUEUE, 1).maxAttempts(Integer.MAX_VALUE)).block(TIMEOUT).id();
        db.execute("UPDATE {schema}.jobs SET attempt = $1, reprocess_count = $1 WHERE id = $2",
                Integer.MAX_VALUE - 1, id);
        try {
            node.start().block(TIMEOUT);
            await().atMost(TIMEOUT).until(() -> db.count("SELECT count(*) FROM {schema}.jobs WHERE id = $1 "
                    + "AND status = 'failed'", id) == 1);
        } finally {
            node.close().block(TIMEOUT);
        }
        assertThat(seenAttempt).hasValue(Integer.MAX_VALUE);
        Map<String, Object> row = db.query("SELECT attempt, reprocess_count, last_error FROM {schema}.jobs "
                + "WHERE id = $1", id).get(0);
        assertThat(row).containsEntry("attempt", Integer.MAX_VALUE)
                .containsEntry("reprocess_count", Integer.MAX_VALUE - 1)
                .containsEntry("last_error", "still failing");
    }

    /** {@code n} due pending jobs of {@link #QUEUE}, inserted in one statement. */
    private void insertPending(int n) {
        db.execute("INSERT INTO {schema}.jobs (id, queue, payload, max_attempts, run_at) "
                + "SELECT gen_random_uuid(), $1, jsonb_build_object('n', i), 5, now() - interval '1 second' "
                + "FROM generate_series(1, $2) AS i", QUEUE, n);
    }
}
