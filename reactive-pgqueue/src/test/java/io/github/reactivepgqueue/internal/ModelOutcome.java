package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.Backoff;
import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.Outcome;
import java.time.Duration;

/**
 * The outcomes a worker may write in the model test: how the library writes each one
 * ({@link Transition}, as the job runner builds it) and what the model expects it to do.
 * Waits are whole minutes that fall between ticks of the model's clock.
 */
enum ModelOutcome {
    SUCCESS,
    /** Success written by a node whose janitor is on: the row moves to the archive in the same statement. */
    SUCCESS_ARCHIVED,
    /** Outcome.retry() with no backoff: due at once. */
    RETRY_NOW,
    /** Outcome.retry() under a 10-minute backoff. */
    RETRY_BACKOFF,
    /** Outcome.retryAfter(30 min) with no backoff: the request wins. */
    RETRY_AFTER,
    /** The handler failed (an error, a timeout): a retry under a 10-minute backoff. */
    HANDLER_ERROR,
    /** Outcome.rescheduleAfter(10 min): the attempt is given back, the reprocess count rises. */
    RESCHEDULE,
    CANCEL,
    CRITICAL,
    UNPROCESSABLE,
    /** Given back unrun (stop past the grace period, a cancelled jobs() subscription). */
    RELEASE;

    private static final Backoff NONE = Backoff.linear(Duration.ZERO);
    private static final long BACKOFF_MINUTES = 10;
    private static final Backoff TEN_MINUTES = Backoff.linear(Duration.ofMinutes(BACKOFF_MINUTES));
    private static final long RETRY_AFTER_MINUTES = 30;
    private static final long RESCHEDULE_MINUTES = 10;

    Transition transition(ClaimedRow job) {
        return switch (this) {
            case SUCCESS, SUCCESS_ARCHIVED -> Transition.of(job, Outcome.success(), NONE);
            case RETRY_NOW -> Transition.of(job, Outcome.retry("model: retry"), NONE);
            case RETRY_BACKOFF -> Transition.of(job, Outcome.retry("model: retry"), TEN_MINUTES);
            case RETRY_AFTER -> Transition.of(job, Outcome.retryAfter(Duration.ofMinutes(RETRY_AFTER_MINUTES)), NONE);
            case HANDLER_ERROR -> Transition.failure(job, new IllegalStateException("model: handler failed"),
                    TEN_MINUTES);
            case RESCHEDULE -> Transition.of(job, Outcome.rescheduleAfter(Duration.ofMinutes(RESCHEDULE_MINUTES)),
                    NONE);
            case CANCEL -> Transition.of(job, Outcome.cancel(), NONE);
            case CRITICAL -> Transition.of(job, Outcome.critical(), NONE);
            case UNPROCESSABLE -> Transition.of(job, Outcome.unprocessable(), NONE);
            case RELEASE -> Transition.RELEASE;
        };
    }

    /** The model's side of an accepted write. */
    void apply(QueueModel model, ModelJob job) {
        switch (this) {
            case SUCCESS -> model.finish(job, JobStatus.COMPLETED);
            case SUCCESS_ARCHIVED -> model.completeToArchive(job);
            case RETRY_NOW -> model.retry(job, 0);
            case RETRY_BACKOFF, HANDLER_ERROR -> model.retry(job, BACKOFF_MINUTES);
            case RETRY_AFTER -> model.retry(job, RETRY_AFTER_MINUTES);
            case RESCHEDULE -> model.reschedule(job, RESCHEDULE_MINUTES);
            case CANCEL -> model.finish(job, JobStatus.CANCELLED);
            case CRITICAL -> model.finish(job, JobStatus.CRITICAL);
            case UNPROCESSABLE -> model.finish(job, JobStatus.UNPROCESSABLE);
            case RELEASE -> model.release(job);
        }
    }
}
