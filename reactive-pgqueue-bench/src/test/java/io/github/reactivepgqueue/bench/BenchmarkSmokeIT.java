package io.github.reactivepgqueue.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.testing.DatabaseCoordinates;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every benchmark workload (named, so {@code scale} runs too) runs with {@code --smoke} (tiny sizes) against the test database and
 * prints one parseable JSON line with the fields the documentation promises, so the runner cannot
 * rot. No timing is asserted: benchmarks are not tests.
 */
@ExtendWith(PostgresExtension.class)
class BenchmarkSmokeIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TestSchema db;

    BenchmarkSmokeIT(TestSchema db) {
        this.db = db;
    }

    @Test
    @Timeout(120)
    void everyWorkloadPrintsOneJsonLineWithItsResults() throws Exception {
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        String prefix = db.name() + "_";
        int status;
        try (PrintStream out = new PrintStream(stdout, true, StandardCharsets.UTF_8)) {
            status = Benchmark.run(new String[] {url(db.coordinates()), "--smoke", "--schema-prefix", prefix,
                    "--workloads", String.join(",", BenchOptions.ALL_WORKLOADS)}, out);
        }

        List<JsonNode> lines = new ArrayList<>();
        for (String line : stdout.toString(StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
                lines.add(JSON.readTree(line));
            }
        }
        assertThat(lines).extracting(l -> l.path("workload").asText())
                .containsExactly("floor", "drain", "backlog", "latency", "schedule", "steady", "inflight", "scale");
        for (JsonNode line : lines) {
            assertThat(line.has("error")).as("error of %s: %s", line.path("workload").asText(), line.path("error"))
                    .isFalse();
            assertThat(line.path("run").asInt()).isEqualTo(1);
            assertThat(line.path("smoke").asBoolean()).isTrue();
            assertThat(line.path("config").isObject()).isTrue();
            assertThat(line.path("environment").path("postgres").asText()).isNotBlank();
        }
        assertThat(status).isZero();

        JsonNode floor = results(lines, "floor");
        assertThat(floor.path("floor_drain_jobs_per_s").asLong()).isPositive();
        assertThat(floor.path("floor_enqueue_jobs_per_s").asLong()).isPositive();
        assertThat(floor.path("drain").path("library_sql_tx").path("jobs_per_s").asLong()).isPositive();

        JsonNode drain = results(lines, "drain");
        assertThat(drain.path("jobs").asInt()).isEqualTo(300);
        assertThat(drain.path("drain_jobs_per_s").asLong()).isPositive();
        assertThat(drain.path("enqueue_jobs_per_s").asLong()).isPositive();
        assertThat(drain.path("statements_while_draining").path("claim").asLong()).isPositive();
        assertThat(drain.path("ratio_to_floor").path("drain").isNumber()).isTrue();
        assertThat(drain.path("ratio_to_floor").path("drain_vs_library_sql_floor").isNumber()).isTrue();
        assertThat(drain.path("client_cpu_ms_per_1000_jobs").isNumber()).isTrue();
        assertThat(floor.path("drain").path("minimal").path("client_cpu_ms_per_1000_jobs").isNumber()).isTrue();

        JsonNode backlog = results(lines, "backlog");
        assertThat(backlog.path("drains")).hasSize(2);
        assertThat(backlog.path("biggest_to_smallest_rate").isNumber()).isTrue();

        JsonNode latency = results(lines, "latency").path("enqueue_done_to_handler_start");
        assertThat(latency.path("count").asInt()).isEqualTo(20);
        for (String field : List.of("p50_ms", "p95_ms", "p99_ms", "max_ms")) {
            assertThat(latency.path(field).isNumber()).as(field).isTrue();
        }

        JsonNode schedule = results(lines, "schedule").path("run_time_to_handler_start");
        assertThat(schedule.path("count").asInt()).isEqualTo(20);
        // a job never starts before its run time (both read from this host's clock)
        assertThat(schedule.path("min_ms").asDouble()).isGreaterThanOrEqualTo(0);
        JsonNode slots = results(lines, "schedule").path("slot_to_handler_start");
        assertThat(slots.path("count").asInt()).isEqualTo(20);
        // nor a slot's job before its slot
        assertThat(slots.path("min_ms").asDouble()).isGreaterThanOrEqualTo(0);
        assertThat(slots.path("p99_ms").isNumber()).isTrue();

        JsonNode steady = results(lines, "steady");
        assertThat(steady.path("achieved_jobs_per_s").asLong()).isPositive();
        assertThat(steady.path("backlog_at_end").isNumber()).isTrue();
        assertThat(steady.path("enqueue_done_to_handler_start").path("p99_ms").isNumber()).isTrue();

        JsonNode inflight = results(lines, "inflight").path("levels");
        assertThat(inflight).hasSize(2);
        for (JsonNode level : inflight) {
            assertThat(level.path("heartbeat_statements_per_interval").asDouble()).isPositive();
            assertThat(level.path("heap_bytes_per_job").isNumber()).isTrue();
            assertThat(level.path("process_cpu_percent_of_one_core").isNumber()).isTrue();
        }

        // smoke sizes: 10 queues of 200 jobs, 20 of each due; an idle queue; 500 jobs to purge
        JsonNode scale = results(lines, "scale");
        assertThat(scale.path("seeded").path("jobs").asLong()).isEqualTo(2_000 + 180 + 500);
        assertThat(scale.path("seeded").path("jobs_due").asLong()).isEqualTo(200);
        assertThat(scale.path("seeded").path("archived_jobs").asLong()).isEqualTo(1_000);
        assertThat(lines.get(lines.size() - 1).path("config").path("vacuumed_and_analyzed").asBoolean()).isTrue();
        for (String timed : List.of("idle_claim_ms", "ten_queue_claim_ms", "full_claim_ms", "queue_depth_ms",
                "counts_ms")) {
            for (String field : List.of("p50", "p95", "max")) {
                assertThat(scale.path(timed).path(field).isNumber()).as(timed + "." + field).isTrue();
            }
        }
        assertThat(scale.path("idle_claim_rows").asInt()).isZero();
        assertThat(scale.path("ten_queue_claim_rows").asInt()).isEqualTo(20);
        assertThat(scale.path("full_claim_rows").asInt()).isEqualTo(20);
        assertThat(scale.path("queue_depth_rows").asInt()).isEqualTo(12);
        assertThat(scale.path("counts_rows").asInt()).isPositive();
        JsonNode inServer = scale.path("claim_statement_in_server_ms");
        assertThat(inServer.path("idle").path("rows").asInt()).isZero();
        assertThat(inServer.path("full").path("rows").asInt()).isEqualTo(20);
        assertThat(inServer.path("ten_queue").path("p50").isNumber()).isTrue();
        JsonNode locks = scale.path("claim_locks");
        assertThat(locks.path("rows_claimed").asInt()).isEqualTo(10);
        // counted in the claim's own transaction: the claim locks only the rows it claims
        assertThat(locks.path("rows_locked").asLong()).isEqualTo(10);
        assertThat(locks.path("rows_locked_not_claimed").asLong()).isZero();
        assertThat(locks.path("rows_locked_per_claimed").isNumber()).isTrue();
        JsonNode pages = scale.path("list_pages");
        for (String page : List.of("first_page_ms", "deep_page_ms", "first_page_queue_ms", "deep_page_queue_ms",
                "first_page_queue_pending_ms", "deep_page_queue_pending_ms")) {
            assertThat(pages.path(page).path("p50").isNumber()).as(page).isTrue();
            assertThat(pages.path(page).path("rows").asInt()).as(page).isPositive();
        }
        assertThat(scale.path("purge").path("deleted").asLong()).isEqualTo(500);
        assertThat(scale.path("purge").path("rows_left").asLong()).isZero();
        assertThat(scale.path("purge").path("ms").isNumber()).isTrue();

        // every workload dropped the schemas it made
        assertThat(db.count("SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1", prefix.replace("_", "\\_") + "%"))
                .isZero();
    }

    private static JsonNode results(List<JsonNode> lines, String workload) {
        return lines.stream().filter(l -> l.path("workload").asText().equals(workload)).findFirst().orElseThrow()
                .path("results");
    }

    /** The test server as a URL for the benchmark's command line. */
    private static String url(DatabaseCoordinates c) {
        String password = c.password() == null || c.password().isEmpty() ? "" : ":" + encode(c.password());
        return "postgresql://" + encode(c.user()) + password + "@" + c.host() + ":" + c.port() + "/" + encode(c.database());
    }

    private static String encode(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
