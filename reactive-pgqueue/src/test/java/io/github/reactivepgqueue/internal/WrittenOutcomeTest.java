package io.github.reactivepgqueue.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.Outcome;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** The metric names of what outcome writes did and of how handlers ended. */
class WrittenOutcomeTest {
    @Test
    void aPendingJobWasRetriedRescheduledOrReleasedDependingOnTheWrite() {
        assertThat(WrittenOutcome.of(OutcomeWrite.Kind.RETRY, "pending")).isEqualTo(WrittenOutcome.RETRIED);
        assertThat(WrittenOutcome.of(OutcomeWrite.Kind.RESCHEDULE, "pending")).isEqualTo(WrittenOutcome.RESCHEDULED);
        assertThat(WrittenOutcome.of(OutcomeWrite.Kind.RELEASE, "pending")).isEqualTo(WrittenOutcome.RELEASED);
    }

    @Test
    void aFinishedJobIsNamedByItsStatus() {
        assertThat(WrittenOutcome.of(OutcomeWrite.Kind.COMPLETE, "completed")).isEqualTo(WrittenOutcome.COMPLETED);
        assertThat(WrittenOutcome.of(OutcomeWrite.Kind.RETRY, "failed")).isEqualTo(WrittenOutcome.FAILED);
        assertThat(WrittenOutcome.of(OutcomeWrite.Kind.RESCHEDULE, "bad_job")).isEqualTo(WrittenOutcome.BAD_JOB);
        assertThat(WrittenOutcome.of(OutcomeWrite.Kind.FINISH, "cancelled")).isEqualTo(WrittenOutcome.CANCELLED);
        assertThat(WrittenOutcome.of(OutcomeWrite.Kind.FINISH, "critical")).isEqualTo(WrittenOutcome.CRITICAL);
        assertThat(WrittenOutcome.of(OutcomeWrite.Kind.FINISH, "unprocessable")).isEqualTo(WrittenOutcome.UNPROCESSABLE);
    }

    @Test
    void aStatusNoWriteLeavesIsNoOutcomeAndNoError() {
        assertThat(WrittenOutcome.of(OutcomeWrite.Kind.COMPLETE, "running")).isNull();
        assertThat(WrittenOutcome.of(OutcomeWrite.Kind.COMPLETE, "no such status")).isNull();
    }

    @Test
    void handlerResultsNameTheOutcomeOrTheFailure() {
        assertThat(HandlerResult.of(Outcome.success()).tag()).isEqualTo("success");
        assertThat(HandlerResult.of(Outcome.retryAfter(Duration.ofSeconds(1))).tag()).isEqualTo("retry");
        assertThat(HandlerResult.of(Outcome.rescheduleAfter(Duration.ofSeconds(1))).tag()).isEqualTo("reschedule");
        assertThat(HandlerResult.of(Outcome.cancel()).tag()).isEqualTo("cancel");
        assertThat(HandlerResult.of(Outcome.critical()).tag()).isEqualTo("critical");
        assertThat(HandlerResult.of(Outcome.unprocessable()).tag()).isEqualTo("unprocessable");
        assertThat(HandlerResult.of(new TimeoutException()).tag()).isEqualTo("timeout");
        assertThat(HandlerResult.of(new IllegalStateException()).tag()).isEqualTo("error");
    }
}
