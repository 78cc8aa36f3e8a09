package io.github.reactivepgqueue.internal.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.postgresql.codec.Json;
import io.r2dbc.spi.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The admin pages, the admin counts and the depth sample read bounded index ranges, not tables:
 * each statement is run under {@code EXPLAIN (ANALYZE, FORMAT JSON)}, in a transaction opened as
 * the library opens them (see {@link Db#walkingIndexes()}), on tables of about 100,000 rows each
 * that vacuum has not visited, with one queue grown after the last ANALYZE (so the statistics
 * know nothing of it). No plan may scan a job table sequentially or by bitmap, and the rows the
 * scans of the job tables read (returned plus filtered out, over all their loops) are counted
 * against what the statement's page or bounds allow.
 */
@ExtendWith(PostgresExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BoundedReadsIT {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final Set<String> JOB_TABLES = Set.of("jobs", "jobs_archive", "jobs_dead");
    private static final int QUEUES = 10;
    /** Live rows that are neither pending nor in the claim index: running, and finished ones the janitor has not moved. */
    private static final int RUNNING = 300;
    private static final int FINISHED_LIVE = 600;
    /** A queue that grew after the last ANALYZE: the statistics do not know it. */
    private static final String GROWN = "grown";
    private static final int GROWN_DUE = 20_000;

    private final TestSchema db;
    private final Sql sql;
    private final ObjectMapper json = new ObjectMapper();
    private UUID middle;

    BoundedReadsIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
        this.sql = Sql.load(SchemaName.of(db.name()));
    }

    @BeforeAll
    void seed() {
        db.deleteAllJobs();
        // ids in time order, as UUIDv7 ids are: the archive's and the dead-letter table's oldest
        String id = "(lpad(to_hex(%s), 12, '0') || '7000' || '8000' || substr(md5((%s)::text), 1, 12))::uuid";
        // live: 100,000 pending jobs in 10 queues and 2 priorities, a tenth of them due; running and finished ones
        db.execute("INSERT INTO {schema}.jobs (id, queue, priority, status, payload, max_attempts, run_at, attempt, "
                + "lease, heartbeat_at, completed_at) "
                + "SELECT " + id.formatted("2000000 + i", "2000000 + i") + ", 'q' || (i % " + QUEUES + "), i % 2, "
                + "CASE WHEN i <= 100000 THEN 'pending' WHEN i <= 100000 + " + RUNNING + " THEN 'running' "
                + "     WHEN i % 2 = 0 THEN 'completed' ELSE 'failed' END, '{}', 5, "
                + "CASE WHEN i % 10 = 0 THEN now() - interval '1 hour' ELSE now() + interval '1 day' END, "
                + "CASE WHEN i > 100000 THEN 1 ELSE 0 END, "
                + "CASE WHEN i > 100000 AND i <= 100000 + " + RUNNING + " THEN gen_random_uuid() END, "
                + "CASE WHEN i > 100000 AND i <= 100000 + " + RUNNING + " THEN now() END, "
                + "CASE WHEN i > 100000 + " + RUNNING + " THEN now() END "
                + "FROM generate_series(1, 100000 + " + (RUNNING + FINISHED_LIVE) + ") i");
        db.execute("INSERT INTO {schema}.jobs_archive (id, queue, status, priority, payload, attempt, max_attempts, "
                + "reprocess_count, created_at, run_at, updated_at, completed_at) "
                + "SELECT " + id.formatted("i", "i") + ", 'q' || (i % " + QUEUES + "), 'completed', 0, '{}', 1, 5, 0, "
                + "now(), now(), now(), now() FROM generate_series(1, 100000) i");
        db.execute("INSERT INTO {schema}.jobs_dead (id, queue, status, priority, payload, attempt, max_attempts, "
                + "reprocess_count, created_at, run_at, updated_at, completed_at, last_error) "
                + "SELECT " + id.formatted("1000000 + i", "1000000 + i") + ", 'q' || (i % " + QUEUES + "), "
                + "(ARRAY['failed', 'cancelled', 'critical', 'unprocessable', 'bad_job'])[1 + (i / " + QUEUES + ") % 5], "
                + "0, '{}', 5, 5, 0, now(), now(), now(), now(), 'boom' FROM generate_series(1, 10000) i");
        db.execute("ANALYZE {schema}.jobs, {schema}.jobs_archive, {schema}.jobs_dead");
        // after the ANALYZE: a queue with a large due backlog, in every table
        db.execute("INSERT INTO {schema}.jobs (id, queue, payload, max_attempts, run_at) "
                + "SELECT " + id.formatted("3000000 + i", "3000000 + i") + ", '" + GROWN + "', '{}', 5, "
                + "now() - interval '1 minute' FROM generate_series(1, " + GROWN_DUE + ") i");
        db.execute("INSERT INTO {schema}.jobs_archive (id, queue, status, priority, payload, attempt, max_attempts, "
                + "reprocess_count, created_at, run_at, updated_at, completed_at) "
                + "SELECT " + id.formatted("4000000 + i", "4000000 + i") + ", '" + GROWN + "', 'completed', 0, '{}', "
                + "1, 5, 0, now(), now(), now(), now() FROM generate_series(1, 20000) i");
        db.execute("INSERT INTO {schema}.jobs_dead (id, queue, status, priority, payload, attempt, max_attempts, "
                + "reprocess_count, created_at, run_at, updated_at, completed_at, last_error) "
                + "SELECT " + id.formatted("5000000 + i", "5000000 + i") + ", '" + GROWN + "', "
                + "CASE WHEN i % 2 = 0 THEN 'failed' ELSE 'cancelled' END, 0, '{}', 5, 5, "
                + "0, now(), now(), now(), now(), 'boom' FROM generate_series(1, 20000) i");
        middle = (UUID) db.query("SELECT id FROM {schema}.jobs_archive ORDER BY id OFFSET 50000 LIMIT 1").get(0).get("id");
    }

    // ---- pages

    @Test
    void aPageReadsAboutAPageOfEachTableWhateverItsFilter() {
        int page = 100;
        // a page may also read the live table's running and unmoved finished jobs, which are few by design
        long few = RUNNING + FINISHED_LIVE;
        for (UUID after : new UUID[] {null, middle}) {
            assertBounded(explain(SqlName.AdminList, after, page), 3L * page);
            // a page of one queue reads that queue's pending jobs (the claim index does not give
            // them in id order; an index that does cost every enqueue too much, see sql/V6), and
            // about a page of everything else, whatever the size of the tables
            for (String queue : List.of("q3", GROWN, "no-such-queue")) {
                assertBounded(explain(SqlName.AdminListQueue, queue, after, page), 5L * page + few + pending(queue));
            }
            for (String status : List.of("pending", "running", "completed", "failed", "bad_job")) {
                assertBounded(explain(SqlName.AdminListStatus, status, after, page), 5L * page + few);
                for (String queue : List.of("q3", GROWN, "no-such-queue")) {
                    long ofQueue = status.equals("pending") ? pending(queue) : 0;
                    assertBounded(explain(SqlName.AdminListQueueStatus, queue, status, after, page),
                            5L * page + few + ofQueue);
                }
            }
        }
    }

    private long pending(String queue) {
        return db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'pending' AND queue = $1", queue);
    }

    // ---- counts

    @Test
    void aCountReadsAtMostItsBoundOfEachGroup() {
        long bound = 100;
        long pass = CountRows.passBound(bound);
        // groups: pending per queue, archived per queue, dead per queue and status; each found by one probe
        long groups = (QUEUES + 1) + (QUEUES + 1) + (QUEUES * 5 + 2);
        List<JsonNode> scans = scans(explain(SqlName.AdminCount, bound, pass));
        assertIndexScansOnly(scans);
        // the passes over running jobs and finished ones in the live table read at most pass + 1 rows each
        assertThat(read(scans)).as("rows read by %s", scans).isLessThanOrEqualTo(groups * (bound + 1 + 1) + 2 * (pass + 1));
        assertThat(scans).allSatisfy(scan -> assertThat(readPerLoop(scan)).as("per loop: %s", scan)
                .isLessThanOrEqualTo(Math.max(bound, pass) + 1));
    }

    // ---- depth

    @Test
    void theDepthSampleReadsAtMostItsBoundsOfEachQueueAndPriority() {
        long due = 1_000;
        long scheduled = 100;
        long pairs = QUEUES * 2 + 1;
        List<JsonNode> scans = scans(explain(SqlName.MetricsQueueDepth, due, scheduled));
        assertIndexScansOnly(scans);
        // per pair: a probe to find it, the counts, and a probe for the oldest due job
        assertThat(read(scans)).as("rows read by %s", scans)
                .isLessThanOrEqualTo(pairs * (1 + due + 1 + scheduled + 1 + 1) + 1);
        assertThat(scans).allSatisfy(scan -> assertThat(readPerLoop(scan)).as("per loop: %s", scan)
                .isLessThanOrEqualTo(due + 1));
    }

    // ---- plans

    /** The plan's scans of the job tables: all of them by index, and together reading at most {@code most} rows. */
    private void assertBounded(JsonNode plan, long most) {
        List<JsonNode> scans = scans(plan);
        assertIndexScansOnly(scans);
        assertThat(read(scans)).as("rows read by the scans of %s", plan).isLessThanOrEqualTo(most);
    }

    private static void assertIndexScansOnly(List<JsonNode> scans) {
        assertThat(scans).isNotEmpty().allSatisfy(scan -> assertThat(scan.path("Node Type").asText())
                .as("scan of %s", scan.path("Relation Name").asText()).isIn("Index Scan", "Index Only Scan"));
    }

    /** Rows a scan read over all its loops: those it returned and those its filters removed. */
    private static long read(List<JsonNode> scans) {
        return scans.stream().mapToLong(scan -> readPerLoop(scan) * scan.path("Actual Loops").asLong()).sum();
    }

    private static long readPerLoop(JsonNode scan) {
        return scan.path("Actual Rows").asLong() + scan.path("Rows Removed by Filter").asLong()
                + scan.path("Rows Removed by Index Recheck").asLong();
    }

    /** Every plan node that reads a job table. */
    private static List<JsonNode> scans(JsonNode plan) {
        List<JsonNode> scans = new ArrayList<>();
        collect(plan, scans);
        return scans;
    }

    private static void collect(JsonNode node, List<JsonNode> into) {
        if (node.isObject() && JOB_TABLES.contains(node.path("Relation Name").asText())) {
            into.add(node);
        }
        node.elements().forEachRemaining(child -> collect(child, into));
    }

    /**
     * {@code EXPLAIN (ANALYZE, FORMAT JSON)} of the statement with these parameters (a null one
     * bound as a null uuid), in a transaction opened as {@link Db#walkingIndexes()} opens them and
     * rolled back.
     */
    private JsonNode explain(SqlName name, Object... params) {
        String begin = Db.beginWithTimeouts(TIMEOUT, Duration.ZERO) + Db.INDEX_WALKS;
        String text = Flux.usingWhen(db.connectionFactory().create(),
                        conn -> Flux.from(conn.createStatement(begin).execute()).flatMap(r -> r.getRowsUpdated())
                                .thenMany(Flux.from(bind(conn.createStatement("EXPLAIN (ANALYZE, FORMAT JSON) "
                                        + sql.get(name)), params).execute()))
                                .flatMap(result -> result.map((row, meta) -> ((Json) row.get(0)).asString()))
                                .concatWith(Mono.from(conn.rollbackTransaction()).then(Mono.empty())),
                        conn -> conn.close())
                .single().block(TIMEOUT);
        try {
            return json.readTree(text);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Statement bind(Statement statement, Object... params) {
        for (int i = 0; i < params.length; i++) {
            if (params[i] == null) {
                statement.bindNull("$" + (i + 1), UUID.class);
            } else {
                statement.bind("$" + (i + 1), params[i]);
            }
        }
        return statement;
    }
}
