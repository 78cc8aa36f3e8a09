package io.github.reactivepgqueue.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.Backoff;
import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.UnreadablePayloadException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** What a node logs of its jobs' failures, and how a burst of them is cut. */
class FailureLogTest {
    private static final Backoff BACKOFF = Backoff.linear(Duration.ofSeconds(1));
    private final List<String> lines = new ArrayList<>();
    private final AtomicLong now = new AtomicLong();
    private final FailureLog log = new FailureLog(lines::add, now::get);

    private static ClaimedRow job(int attempt, int maxAttempts) {
        return new ClaimedRow(UUID.randomUUID(), "emails", null, null, attempt, maxAttempts, 0, 0, null, null,
                Instant.EPOCH, Instant.EPOCH, UUID.randomUUID(), new ObjectMapper(), null, 0, 0);
    }

    @Test
    void aFailedAttemptIsOneLineWithQueueIdAttemptAndTheErrorsClassButNotItsMessage() {
        ClaimedRow job = job(2, 5);
        log.written(job, Transition.failure(job, new IllegalStateException("smtp down"), BACKOFF), JobStatus.PENDING);

        assertThat(lines).singleElement().asString()
                .contains("Job " + job.id(), "queue emails", "attempt 2 of 5",
                        "failed (java.lang.IllegalStateException); retried later", "last_error")
                .doesNotContain("smtp down") // a message may quote the payload
                .doesNotContain("\n").doesNotContain("at io.github");
    }

    @Test
    void aTimeoutTheLastAttemptAndADeadEndAreSaidAsSuch() {
        ClaimedRow last = job(5, 5);
        log.written(last, Transition.failure(last, new TimeoutException("too slow"), BACKOFF), JobStatus.FAILED);
        ClaimedRow unreadable = job(1, 5);
        log.written(unreadable, Transition.failure(unreadable,
                new UnreadablePayloadException("Payload of job x does not fit Order", null), BACKOFF),
                JobStatus.UNPROCESSABLE);
        ClaimedRow critical = job(1, 5);
        log.written(critical, Transition.of(critical, Outcome.critical().withReason("card stolen"), BACKOFF), JobStatus.CRITICAL);

        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).contains("attempt 5 of 5 timed out and was the last; ended failed");
        assertThat(lines.get(1)).contains("ended unprocessable after attempt 1 of 5").doesNotContain("does not fit");
        assertThat(lines.get(2)).contains("ended critical after attempt 1 of 5").doesNotContain("card stolen");
    }

    @Test
    void successesCancelsAndReleasesAreNotFailures() {
        ClaimedRow job = job(1, 5);
        log.written(job, Transition.COMPLETE, JobStatus.COMPLETED);
        log.written(job, Transition.of(job, Outcome.cancel().withReason("not needed"), BACKOFF), JobStatus.CANCELLED);
        log.written(job, Transition.RELEASE, JobStatus.PENDING);
        assertThat(lines).isEmpty();
    }

    @Test
    void aBurstIsCutToTheLimitPerSecondAndTheNextLineSaysHowManyWereLeftOut() {
        ClaimedRow job = job(1, 5);
        Transition failed = Transition.failure(job, new IllegalStateException("boom"), BACKOFF);
        for (int i = 0; i < FailureLog.MAX_PER_SECOND + 30; i++) {
            log.written(job, failed, JobStatus.PENDING);
        }
        assertThat(lines).hasSize(FailureLog.MAX_PER_SECOND);

        now.addAndGet(Duration.ofSeconds(1).toNanos());
        log.written(job, failed, JobStatus.PENDING);
        assertThat(lines).hasSize(FailureLog.MAX_PER_SECOND + 1);
        assertThat(lines.get(lines.size() - 1)).contains("30 more failures were not logged");
    }
}
