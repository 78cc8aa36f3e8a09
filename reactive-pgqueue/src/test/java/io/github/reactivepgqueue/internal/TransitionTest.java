package io.github.reactivepgqueue.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.Backoff;
import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.Outcome;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** What a handler's outcome or failure does to its job, and how the handler metrics name it. */
class TransitionTest {
    private static final Backoff NONE = Backoff.linear(Duration.ZERO);
    private static final ClaimedRow JOB = new ClaimedRow(UUID.randomUUID(), "q", null, null, 1, 5, 0, 0, null, null,
            Instant.EPOCH, Instant.EPOCH, UUID.randomUUID(), null, null, 0, 0);

    @Test
    void outcomesBecomeTheirTransition() {
        assertThat(Transition.of(JOB, Outcome.success(), NONE)).isInstanceOf(Transition.Complete.class);
        assertThat(Transition.of(JOB, Outcome.retry("r"), NONE)).isInstanceOf(Transition.Retry.class);
        assertThat(Transition.of(JOB, Outcome.rescheduleAfter(Duration.ofSeconds(1)), NONE))
                .isEqualTo(new Transition.Reschedule(null, 1_000_000L));
        assertThat(Transition.of(JOB, Outcome.cancel(), NONE))
                .isEqualTo(new Transition.Finish(JobStatus.CANCELLED, null));
        assertThat(Transition.failure(JOB, new IllegalStateException("x"), NONE))
                .isInstanceOfSatisfying(Transition.Retry.class, r -> assertThat(r.error()).contains("x"));
    }

    @Test
    void handlerResultsNameTheOutcomeOrTheFailure() {
        assertThat(Transition.of(JOB, Outcome.success(), NONE).handlerTag()).isEqualTo("success");
        assertThat(Transition.of(JOB, Outcome.retryAfter(Duration.ofSeconds(1)), NONE).handlerTag()).isEqualTo("retry");
        assertThat(Transition.of(JOB, Outcome.rescheduleAfter(Duration.ofSeconds(1)), NONE).handlerTag())
                .isEqualTo("reschedule");
        assertThat(Transition.of(JOB, Outcome.cancel(), NONE).handlerTag()).isEqualTo("cancel");
        assertThat(Transition.of(JOB, Outcome.critical(), NONE).handlerTag()).isEqualTo("critical");
        assertThat(Transition.of(JOB, Outcome.unprocessable(), NONE).handlerTag()).isEqualTo("unprocessable");
        assertThat(Transition.failure(JOB, new TimeoutException(), NONE).handlerTag()).isEqualTo("timeout");
        assertThat(Transition.failure(JOB, new IllegalStateException(), NONE).handlerTag()).isEqualTo("error");
        assertThat(Transition.RELEASE.handlerTag()).isEqualTo("aborted");
    }
}
