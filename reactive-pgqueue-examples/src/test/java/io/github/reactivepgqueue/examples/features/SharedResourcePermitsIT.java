package io.github.reactivepgqueue.examples.features;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.JobInfo;
import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The permit-strategy example runs start to end against a real PostgreSQL. */
@ExtendWith(PostgresExtension.class)
class SharedResourcePermitsIT {
    private final TestSchema db;

    SharedResourcePermitsIT(TestSchema db) {
        this.db = db;
    }

    @Test
    void neverMoreCallsAtOnceThanSeatsAndRefusedJobsRunLaterWithoutUsingAnAttempt() {
        SharedResourcePermits.Summary summary = SharedResourcePermits.runOn(db.connectionFactory(), db.name())
                .block(Duration.ofSeconds(60));

        // every call was made, each in its first attempt: a refused seat does not use one
        assertThat(summary.jobs()).hasSize(SharedResourcePermits.JOBS)
                .allSatisfy(job -> assertThat(job.status()).isEqualTo(JobStatus.COMPLETED))
                .extracting(JobInfo::attempt).containsOnly(1);
        // the seats held: never more calls at once than seats, though the queue could run more jobs
        assertThat(summary.mostAtOnce()).isBetween(1, SharedResourcePermits.SEATS);
        // the first claim hands the queue more jobs than there are seats, so some were refused and ran later
        assertThat(summary.refused()).isPositive();
        assertThat(summary.jobs()).extracting(JobInfo::reprocessCount).anyMatch(count -> count > 0);
        assertThat(summary.jobs().stream().mapToInt(JobInfo::reprocessCount).sum()).isEqualTo(summary.refused());
    }
}
