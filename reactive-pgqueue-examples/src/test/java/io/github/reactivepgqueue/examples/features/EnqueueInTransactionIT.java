package io.github.reactivepgqueue.examples.features;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The enqueue-in-a-transaction example runs start to end against a real PostgreSQL. */
@ExtendWith(PostgresExtension.class)
class EnqueueInTransactionIT {
    private final TestSchema db;

    EnqueueInTransactionIT(TestSchema db) {
        this.db = db;
    }

    @Test
    void theCommittedSignUpKeepsItsJobAndTheRolledBackOneLeavesNothing() {
        EnqueueInTransaction.Summary summary = EnqueueInTransaction.runOn(db.connectionFactory(), db.name())
                .block(Duration.ofSeconds(60));

        // the committed sign-up: its account and its job, the job pending and named by the summary
        List<Map<String, Object>> jobs = db.query("SELECT id, queue, status, payload->>'email' AS email FROM {schema}.jobs");
        assertThat(jobs).hasSize(1);
        assertThat(jobs.get(0)).containsEntry("id", summary.keptJob())
                .containsEntry("queue", EnqueueInTransaction.QUEUE)
                .containsEntry("status", "pending")
                .containsEntry("email", "ada@example.com");
        assertThat(summary.jobsInQueue()).isEqualTo(1);

        // the rolled-back sign-up: neither its account nor its job, in any table
        assertThat(db.query("SELECT email FROM {schema}.accounts")).extracting(row -> row.get("email"))
                .containsExactly("ada@example.com");
        for (String table : List.of("jobs", "jobs_archive", "jobs_dead")) {
            assertThat(db.count("SELECT count(*) FROM {schema}." + table + " WHERE payload->>'email' = 'bob@example.com'"))
                    .as(table).isZero();
        }
    }
}
