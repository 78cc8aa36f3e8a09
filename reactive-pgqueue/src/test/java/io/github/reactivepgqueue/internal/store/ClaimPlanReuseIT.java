package io.github.reactivepgqueue.internal.store;

import static io.github.reactivepgqueue.internal.store.ClaimShapeIT.FUTURE;
import static io.github.reactivepgqueue.internal.store.ClaimShapeIT.insert;
import static io.github.reactivepgqueue.internal.store.ClaimShapeIT.pagesToFindTheRows;
import static io.github.reactivepgqueue.internal.store.ClaimShapeIT.scansOfJobs;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.postgresql.codec.Json;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Result;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The claim reuses one generic plan per connection ({@link Db#reusingPlans()}), kept until
 * something invalidates it (an ANALYZE, a new root page of one of its indexes). Planned on a fresh
 * schema's small table (never analyzed: a class of its own, so no other test has analyzed it),
 * that plan walks the indexes, and still finds the rows in a few index pages once the table has
 * grown. Planned without sequential scans switched off, its outer update scanned the whole table.
 */
@ExtendWith(PostgresExtension.class)
class ClaimPlanReuseIT {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final TestSchema db;
    private final String claim;

    ClaimPlanReuseIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
        this.claim = Sql.load(SchemaName.of(db.name())).get(SqlName.JobClaim);
    }

    @Test
    void thePlanMadeOnASmallTableWalksTheIndexesAndStillDoesOnceTheTableHasGrown() throws Exception {
        Connection conn = Mono.from(db.coordinates().connectionFactory("pgqueue-claim-plan-reuse-it").create())
                .block(TIMEOUT);
        try {
            // in a DO block, so that the driver does not take the claim's $1 and $2 for its own
            run(conn, "DO $do$ BEGIN EXECUTE $claim$ PREPARE reused_claim (text[], integer[]) AS " + claim
                    + " $claim$; END $do$");
            insert(db, "few", 1_000, "now() + (1 + i % 1000) * interval '1 minute'", -1);
            JsonNode small = explainReusedPlan(conn, "FORMAT JSON");
            assertThat(scansOfJobs(small)).as("scans of jobs in the plan made on a small table: %s", small)
                    .isNotEmpty().noneMatch(ClaimPlanReuseIT::sequential);

            insert(db, "idle", FUTURE, "now() + (1 + i % 1000) * interval '1 minute'", -1);
            insert(db, "few", FUTURE, "now() + (1 + i % 1000) * interval '1 minute'", -1);
            insert(db, "few", 5, "now() - interval '1 second'", -1);
            JsonNode grown = explainReusedPlan(conn, "ANALYZE, BUFFERS, FORMAT JSON");

            assertThat(grown.path("Actual Rows").asLong()).as("rows claimed in %s", grown).isEqualTo(5);
            assertThat(scansOfJobs(grown)).as("scans of jobs in %s", grown).isNotEmpty()
                    .noneMatch(ClaimPlanReuseIT::sequential);
            assertThat(pagesToFindTheRows(grown)).as("pages read to find the rows: %s", grown).isPositive()
                    .isLessThan(150);
        } finally {
            Mono.from(conn.close()).block(TIMEOUT);
        }
    }

    private static boolean sequential(JsonNode scan) {
        return scan.path("Node Type").asText().equals("Seq Scan");
    }

    /** EXPLAIN of the prepared claim in a transaction opened as the library opens a claim's; rolled back. */
    private static JsonNode explainReusedPlan(Connection conn, String options) throws Exception {
        run(conn, Db.beginWithTimeouts(Duration.ZERO, Duration.ZERO) + Db.REUSED_PLANS);
        try {
            Object json = Flux.from(conn.createStatement("EXPLAIN (" + options + ") EXECUTE reused_claim("
                            + "ARRAY['idle', 'few'], ARRAY[1000, 1000])").execute())
                    .flatMap(result -> result.map((row, meta) -> row.get(0)))
                    .blockLast(TIMEOUT);
            String text = json instanceof Json j ? j.asString() : String.valueOf(json);
            return new ObjectMapper().readTree(text).get(0).get("Plan");
        } finally {
            run(conn, "ROLLBACK");
        }
    }

    private static void run(Connection conn, String sql) {
        Flux.from(conn.createStatement(sql).execute()).flatMap(Result::getRowsUpdated).blockLast(TIMEOUT);
    }
}
