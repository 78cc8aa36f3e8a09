package io.github.reactivepgqueue.examples.webflux;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.JobInfo;
import io.github.reactivepgqueue.JobLocation;
import io.github.reactivepgqueue.JobStatus;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class DeadLetterPageTest {
    private static final UUID LOW = UUID.fromString("00000000-0000-7000-8000-000000000001");
    private static final UUID MIDDLE = UUID.fromString("00000000-0000-7000-8000-000000000002");
    private static final UUID HIGH = UUID.fromString("00000000-0000-7000-8000-000000000003");
    /** Higher than the others in the database (unsigned), lower by {@link UUID#compareTo} (signed). */
    private static final UUID TOP = UUID.fromString("ffffffff-0000-7000-8000-000000000000");

    @Test
    void keepsTheDeadLetterTableInDatabaseOrder() {
        List<JobInfo> page = DeadLetterPage.page(List.of(
                List.of(job(TOP, JobStatus.FAILED, JobLocation.DEAD)),
                List.of(job(LOW, JobStatus.CANCELLED, JobLocation.DEAD), job(MIDDLE, JobStatus.CANCELLED, JobLocation.LIVE)),
                List.of(job(HIGH, JobStatus.UNPROCESSABLE, JobLocation.DEAD))), 10);

        assertThat(page).extracting(JobInfo::id).containsExactly(LOW, HIGH, TOP);
    }

    @Test
    void endsWhereAFullAnswerEndsSoTheNextPageMissesNothing() {
        // the failed jobs after MIDDLE were not asked for: a page reaching HIGH could skip them
        List<JobInfo> page = DeadLetterPage.page(List.of(
                List.of(job(LOW, JobStatus.FAILED, JobLocation.DEAD), job(MIDDLE, JobStatus.FAILED, JobLocation.LIVE)),
                List.of(job(HIGH, JobStatus.CANCELLED, JobLocation.DEAD))), 2);

        assertThat(page).extracting(JobInfo::id).containsExactly(LOW);
    }

    @Test
    void takesAtMostTheLimit() {
        List<JobInfo> page = DeadLetterPage.page(List.of(
                List.of(job(LOW, JobStatus.FAILED, JobLocation.DEAD)),
                List.of(job(MIDDLE, JobStatus.CANCELLED, JobLocation.DEAD)),
                List.of(job(HIGH, JobStatus.CRITICAL, JobLocation.DEAD))), 2);

        assertThat(page).extracting(JobInfo::id).containsExactly(LOW, MIDDLE);
    }

    private static JobInfo job(UUID id, JobStatus status, JobLocation location) {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        return new JobInfo(id, "emails", status, location, 0, 1, 5, 0, Optional.empty(), Optional.empty(),
                now, now, now, Optional.of(now), Optional.empty(), Optional.empty());
    }
}
