package io.github.reactivepgqueue.examples.features;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The {@code queue.jobs()} pipeline example runs start to end against a real PostgreSQL. */
@ExtendWith(PostgresExtension.class)
class JobsPipelineIT {
    /** Every job wherever it is: the live table, the archive or the dead letters. */
    private static final String ALL = "(SELECT status, attempt, lease, payload FROM {schema}.jobs"
            + " UNION ALL SELECT status, attempt, NULL, payload FROM {schema}.jobs_archive"
            + " UNION ALL SELECT status, attempt, NULL, payload FROM {schema}.jobs_dead)";

    private final TestSchema db;

    JobsPipelineIT(TestSchema db) {
        this.db = db;
    }

    @Test
    void everyClaimedJobIsCompletedOnceAndTheBrokenOneIsUnprocessable() {
        long done = JobsPipeline.runOn(db.connectionFactory(), db.name()).block(Duration.ofSeconds(60));

        assertThat(done).isEqualTo(JobsPipeline.JOBS);
        assertThat(db.count("SELECT count(*) FROM " + ALL + " a")).isEqualTo(JobsPipeline.JOBS);
        // each job ran once, and none is left pending, running or leased
        assertThat(db.count("SELECT count(*) FROM " + ALL + " a WHERE attempt <> 1 OR lease IS NOT NULL")).isZero();
        assertThat(db.count("SELECT count(*) FROM " + ALL + " a WHERE status = 'completed'"))
                .isEqualTo(JobsPipeline.JOBS - 1);
        // the broken image: unprocessable after its one attempt, not retried
        assertThat(db.count("SELECT count(*) FROM " + ALL + " a WHERE status = 'unprocessable'"
                + " AND payload->>'name' = $1", JobsPipeline.BROKEN)).isEqualTo(1);
    }
}
