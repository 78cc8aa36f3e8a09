package io.github.reactivepgqueue;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What became of a job: the value a {@link ReactiveHandler} returns.
 *
 * <table>
 *   <caption>Outcomes and what they do to the job</caption>
 *   <tr><th>outcome</th><th>status afterwards</th><th>attempt</th></tr>
 *   <tr><td>{@link #success()}</td><td>completed</td><td>used</td></tr>
 *   <tr><td>{@link #retry()}, {@link #retryAt(Instant)}, {@link #retryAfter(Duration)}</td>
 *       <td>pending after the backoff (never sooner), or failed when no attempt is left</td><td>used</td></tr>
 *   <tr><td>{@link #rescheduleAt(Instant)}, {@link #rescheduleAfter(Duration)}</td>
 *       <td>pending at that time; the reprocess count goes up</td><td>given back</td></tr>
 *   <tr><td>{@link #cancel()}</td><td>cancelled</td><td>used</td></tr>
 *   <tr><td>{@link #critical()}</td><td>critical</td><td>used</td></tr>
 *   <tr><td>{@link #unprocessable()}</td><td>unprocessable</td><td>used</td></tr>
 * </table>
 *
 * @since 0.1.0
 */
public sealed interface Outcome {

    /** The job is done. */
    static Outcome success() {
        return Success.INSTANCE;
    }

    /** Try again after the queue's backoff; the attempt is used. */
    static Outcome retry() {
        return new Retry(null, null, null);
    }

    /** Try again after the queue's backoff, recording {@code reason} as the job's last error. */
    static Outcome retry(String reason) {
        return new Retry(null, null, Objects.requireNonNull(reason, "reason"));
    }

    /** Try again at {@code at}, or later if the queue's backoff says so; the attempt is used. */
    static Outcome retryAt(Instant at) {
        return new Retry(Objects.requireNonNull(at, "at"), null, null);
    }

    /** Try again after {@code delay}, or later if the queue's backoff says so; the attempt is used. */
    static Outcome retryAfter(Duration delay) {
        return new Retry(null, requireNotNegative(delay), null);
    }

    /** Run again at {@code at} without using an attempt; raises the reprocess count. */
    static Outcome rescheduleAt(Instant at) {
        return new Reschedule(Objects.requireNonNull(at, "at"), null);
    }

    /** Run again after {@code delay} without using an attempt; raises the reprocess count. */
    static Outcome rescheduleAfter(Duration delay) {
        return new Reschedule(null, requireNotNegative(delay));
    }

    /** Stop: the job is cancelled and goes to the dead-letter table. */
    static Outcome cancel() {
        return new Finish(JobStatus.CANCELLED, null);
    }

    /** Stop with a critical error: the job goes to the dead-letter table. */
    static Outcome critical() {
        return new Finish(JobStatus.CRITICAL, null);
    }

    /** Stop: the job can never be processed; it goes to the dead-letter table. */
    static Outcome unprocessable() {
        return new Finish(JobStatus.UNPROCESSABLE, null);
    }

    /** The same outcome with {@code reason} recorded as the job's last error (where it records one). */
    default Outcome withReason(String reason) {
        Objects.requireNonNull(reason, "reason");
        if (this instanceof Retry r) {
            return new Retry(r.at(), r.after(), reason);
        }
        if (this instanceof Finish f) {
            return new Finish(f.status(), reason);
        }
        return this;
    }

    private static Duration requireNotNegative(Duration delay) {
        Objects.requireNonNull(delay, "delay");
        if (delay.isNegative()) {
            throw new IllegalArgumentException("delay must not be negative but was " + delay);
        }
        return delay;
    }

    /** The job succeeded. */
    record Success() implements Outcome {
        static final Success INSTANCE = new Success();
    }

    /**
     * Another attempt, no sooner than the backoff allows.
     *
     * @param at     the requested time, or {@code null}
     * @param after  the requested delay, or {@code null}
     * @param reason the error to record, or {@code null}
     */
    record Retry(@Nullable Instant at, @Nullable Duration after, @Nullable String reason) implements Outcome {
    }

    /**
     * Run again without using an attempt.
     *
     * @param at    the time, or {@code null} when {@code after} is set
     * @param after the delay, or {@code null} when {@code at} is set
     */
    record Reschedule(@Nullable Instant at, @Nullable Duration after) implements Outcome {
    }

    /**
     * A final, unsuccessful status.
     *
     * @param status {@link JobStatus#CANCELLED}, {@link JobStatus#CRITICAL} or {@link JobStatus#UNPROCESSABLE}
     * @param reason the error to record, or {@code null}
     */
    record Finish(JobStatus status, @Nullable String reason) implements Outcome {
        public Finish {
            if (status != JobStatus.CANCELLED && status != JobStatus.CRITICAL && status != JobStatus.UNPROCESSABLE) {
                throw new IllegalArgumentException("Not a final unsuccessful status: " + status);
            }
        }
    }
}
