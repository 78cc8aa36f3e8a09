package io.github.reactivepgqueue.permit;

import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueueException;
import java.time.Duration;
import java.util.Objects;

/**
 * A {@link PermitStrategy}'s refusal, with what becomes of the job instead. Signal it as the error
 * of {@link PermitStrategy#acquire}.
 *
 * @since 0.1.0
 */
public final class PermitDenied extends PgQueueException {
    private static final long serialVersionUID = 1L;

    private final transient Outcome outcome;

    private PermitDenied(String message, Outcome outcome) {
        super(message, null);
        this.outcome = outcome;
    }

    /** The job is cancelled. */
    public static PermitDenied cancel(String reason) {
        return new PermitDenied("Permit denied, cancel: " + reason, Outcome.cancel().withReason(reason));
    }

    /** The job runs again after {@code delay} without using an attempt (its reprocess count goes up). */
    public static PermitDenied tryAfter(Duration delay) {
        return new PermitDenied("Permit denied, try after " + delay, Outcome.rescheduleAfter(delay));
    }

    /** The attempt is used and the job is retried after the queue's backoff. */
    public static PermitDenied retry(String reason) {
        return new PermitDenied("Permit denied, retry: " + reason, Outcome.retry(Objects.requireNonNull(reason, "reason")));
    }

    /** The job is marked completed without running. */
    public static PermitDenied markCompleted() {
        return new PermitDenied("Permit denied, mark completed", Outcome.success());
    }

    /** What becomes of the job. */
    public Outcome outcome() {
        return outcome;
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
        return this; // a decision, not a failure: no stack trace needed
    }
}
