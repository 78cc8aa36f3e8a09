package io.github.reactivepgqueue.internal.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.postgresql.codec.Json;
import io.r2dbc.spi.Connection;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What the claim statement reads and locks, counted rather than timed: an idle queue's claim reads
 * a few index pages however many of its jobs wait in the future, and a claim locks only the rows
 * it claims (docs/performance.md, "The claim at scale").
 */
@ExtendWith(PostgresExtension.class)
class ClaimShapeIT {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    static final int FUTURE = 30_000;

    private final TestSchema db;
    private final String claim;

    ClaimShapeIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
        this.claim = Sql.load(SchemaName.of(db.name())).get(SqlName.JobClaim);
    }

    @BeforeEach
    void empty() {
        db.deleteAllJobs();
    }

    /**
     * With 30,000 future jobs in three priorities and 5 due ones, the claim asks for 1,000 and gets
     * the 5. Scanned as one range of the claim index, it read every future entry of the queue
     * (about 170 pages of the index here); found priority by priority, each range ends at the
     * first future job.
     */
    @Test
    void aClaimThatFindsFewDueJobsReadsFewPagesWhateverWaitsInTheFuture() throws Exception {
        insert("idle", FUTURE, "now() + (1 + i % 1000) * interval '1 minute'");
        insert("few", FUTURE, "now() + (1 + i % 1000) * interval '1 minute'");
        insert("few", 5, "now() - interval '1 second'");
        db.execute("VACUUM ANALYZE {schema}.jobs");

        JsonNode plan = explainAnalyze(new String[] {"idle", "few"}, new Integer[] {1000, 1000});

        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'running'")).isEqualTo(5);
        // one range per queue read ~430 pages
        assertThat(pagesToFindTheRows(plan)).as("pages read to find the rows: %s", plan).isPositive()
                .isLessThan(150);
        assertThat(scansOfJobs(plan)).as("scans of jobs in %s", plan).isNotEmpty()
                .noneMatch(scan -> scan.path("Node Type").asText().equals("Seq Scan"));
    }

    /**
     * The look-up of the next due time (after a claim that came back short) finds it with a probe
     * of the claim index per queue and priority, however many jobs wait in the future.
     */
    @Test
    void theNextDueTimeIsFoundInAFewPagesWhateverWaitsInTheFuture() throws Exception {
        insert("idle", FUTURE, "now() + (1 + i % 1000) * interval '1 minute'");
        insert("few", FUTURE, "now() + (1 + i % 1000) * interval '1 minute'");
        insert("few", 5, "now() - interval '1 second'");
        db.execute("VACUUM ANALYZE {schema}.jobs");
        String nextDue = Sql.load(SchemaName.of(db.name())).get(SqlName.JobNextDue);

        List<Map<String, Object>> answer = db.query(nextDue, (Object) new String[] {"idle", "few"});
        List<Map<String, Object>> rows = db.query("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + nextDue,
                (Object) new String[] {"idle", "few"});
        JsonNode plan = new ObjectMapper().readTree(((Json) rows.get(0).values().iterator().next()).asString())
                .get(0).get("Plan");

        long dueInMicros = ((Number) answer.get(0).values().iterator().next()).longValue();
        assertThat(dueInMicros).as("a minute ahead, by the database clock").isBetween(50_000_000L, 61_000_000L);
        assertThat(plan.path("Shared Hit Blocks").asLong() + plan.path("Shared Read Blocks").asLong())
                .as("pages read: %s", plan).isPositive().isLessThan(100);
        assertThat(scansOfJobs(plan)).as("scans of jobs in %s", plan).isNotEmpty()
                .noneMatch(scan -> scan.path("Node Type").asText().equals("Seq Scan"));
    }

    /**
     * A queue with due jobs in three priorities gives 60 of its 150; three queues share a global
     * limit of 10. Another session then finds every other due job free: the claim locked only what
     * it claimed (an earlier statement locked each queue's whole limit before applying the global
     * one).
     */
    @Test
    void theClaimLocksOnlyTheRowsItClaims() {
        for (int priority = 0; priority < 3; priority++) {
            insert(db, "deep", 50, "now() - interval '1 second'", priority);
        }
        insert("a", 100, "now() - interval '1 second'");
        insert("b", 100, "now() - interval '1 second'");
        insert("c", 100, "now() - interval '1 second'");
        db.execute("ANALYZE {schema}.jobs");

        assertThat(claimedAndLocked(Map.of("deep", 60), 60)).containsExactly(60L, 60L);
        Map<String, Integer> limits = new LinkedHashMap<>();
        limits.put("a", 100);
        limits.put("b", 100);
        limits.put("c", 50);
        assertThat(claimedAndLocked(limits, 10)).containsExactly(10L, 10L);
    }

    /** Claims in a transaction left open, counts the rows another session cannot lock, rolls back. */
    private List<Long> claimedAndLocked(Map<String, Integer> limits, int total) {
        Map<String, Integer> shares = ClaimShares.split(limits, total);
        String[] queues = shares.keySet().toArray(String[]::new);
        Integer[] counts = shares.values().toArray(Integer[]::new);
        long due = db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'pending'");
        Mono<Connection> second = connection();
        return Flux.usingWhen(connection(), conn -> Mono.from(conn.beginTransaction())
                        .thenMany(Flux.from(conn.createStatement(claim).bind("$1", queues).bind("$2", counts).execute())
                                .flatMap(result -> result.map((row, meta) -> 1L)))
                        .count()
                        .flatMapMany(claimed -> Flux.usingWhen(second,
                                other -> Flux.from(other.createStatement("SELECT count(*) FROM (SELECT id FROM "
                                                + db.name() + ".jobs WHERE status = 'pending' FOR UPDATE SKIP LOCKED) free")
                                        .execute()).flatMap(result -> result.map((row, meta) -> row.get(0, Long.class))),
                                Connection::close)
                                .map(free -> List.of(claimed, due - free)))
                        .concatWith(Mono.from(conn.rollbackTransaction()).then(Mono.empty())),
                Connection::close)
                .blockFirst(TIMEOUT);
    }

    /** Made before the pipeline runs: making a connection factory reads files. */
    private Mono<Connection> connection() {
        io.r2dbc.spi.ConnectionFactory factory = db.coordinates().connectionFactory("pgqueue-claim-shape-it");
        return Mono.from(factory.create());
    }

    private JsonNode explainAnalyze(String[] queues, Integer[] limits) throws Exception {
        List<Map<String, Object>> rows = db.query("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + claim, queues, limits);
        JsonNode explained = new ObjectMapper().readTree(((Json) rows.get(0).values().iterator().next()).asString());
        return explained.get(0).get("Plan");
    }

    /** Pages read by the part of the plan that finds the rows (the update's InitPlan). */
    static long pagesToFindTheRows(JsonNode plan) {
        long pages = 0;
        for (JsonNode child : plan.path("Plans")) {
            if (child.path("Parent Relationship").asText().equals("InitPlan")) {
                pages += child.path("Shared Hit Blocks").asLong() + child.path("Shared Read Blocks").asLong();
            }
        }
        return pages;
    }

    private void insert(String queue, int count, String runAt) {
        insert(db, queue, count, runAt, -1);
    }

    /** {@code count} pending jobs; priority 0, 1, 2 in turn when {@code priority} is negative. */
    static void insert(TestSchema db, String queue, int count, String runAt, int priority) {
        db.execute("INSERT INTO {schema}.jobs (id, queue, payload, priority, max_attempts, run_at) "
                + "SELECT gen_random_uuid(), $1, '{}', " + (priority < 0 ? "i % 3" : Integer.toString(priority))
                + ", 3, " + runAt + " FROM generate_series(1, $2) i", queue, count);
    }

    static List<JsonNode> scansOfJobs(JsonNode plan) {
        List<JsonNode> scans = new java.util.ArrayList<>();
        collect(plan, scans);
        return scans;
    }

    private static void collect(JsonNode node, List<JsonNode> into) {
        if (node.isObject() && node.path("Relation Name").asText().equals("jobs")
                && node.path("Node Type").asText().endsWith("Scan")) {
            into.add(node);
        }
        node.elements().forEachRemaining(child -> collect(child, into));
    }
}
