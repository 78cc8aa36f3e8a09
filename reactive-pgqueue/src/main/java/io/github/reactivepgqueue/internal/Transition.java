package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.Backoff;
import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueueBuilder;
import io.github.reactivepgqueue.UnreadablePayloadException;
import io.github.reactivepgqueue.internal.store.PgJobStore;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a write does to a claimed job: the one spelling of a job's fate from the handler's outcome
 * to the statement that writes it. Each kind is written by its own fenced statement; the status
 * the job ends with comes back from the store as a {@link JobStatus}.
 */
public sealed interface Transition {
    /** Success: completed (or archived at once when the janitor is on). */
    record Complete() implements Transition {
        @Override
        public String handlerTag() {
            return "success";
        }
    }

    /**
     * A failed attempt: pending again no sooner than the backoff, and no sooner than {@code at} or
     * {@code afterMicros} when the handler asked for them; failed when the attempts are spent.
     *
     * @param error the error to record; null keeps the last one
     * @param cause why the attempt failed, as the handler metrics tell it
     */
    record Retry(long backoffMicros, @Nullable Instant at, @Nullable Long afterMicros, @Nullable String error,
                 Cause cause) implements Transition {
        @Override
        public String handlerTag() {
            return cause.tag;
        }
    }

    /** Why an attempt is retried. */
    enum Cause {
        /** The handler returned a retry outcome. */
        OUTCOME("retry"),
        /** An error, a thrown exception, {@code null} or an empty result. */
        ERROR("error"),
        /** The handler ran past the queue's timeout and was cancelled. */
        TIMEOUT("timeout");

        private final String tag;

        Cause(String tag) {
            this.tag = tag;
        }
    }

    /** Run again at {@code at} or after {@code afterMicros} without using the attempt; bad_job at the reprocess limit. */
    record Reschedule(@Nullable Instant at, @Nullable Long afterMicros) implements Transition {
        @Override
        public String handlerTag() {
            return "reschedule";
        }
    }

    /** A final unsuccessful status: cancelled, critical or unprocessable, with an error to record or null. */
    record Finish(JobStatus status, @Nullable String error) implements Transition {
        @Override
        public String handlerTag() {
            return switch (status) {
                case CANCELLED -> "cancel";
                case CRITICAL -> "critical";
                case UNPROCESSABLE -> "unprocessable";
                default -> "error"; // no other status can be an outcome
            };
        }
    }

    /** The job goes back to pending unrun, its attempt restored: its handler was aborted, or never ran. */
    record Release() implements Transition {
        @Override
        public String handlerTag() {
            return "aborted";
        }
    }

    /**
     * Not an outcome: the job was cancelled while it ran, and its handler's subscription is disposed
     * (or its {@code jobs()} consumer is done with it), so the node lets go of the lease the cancel
     * left in place, which frees the job's unique key. Fenced by the lease and
     * {@code status = 'cancelled'}; a job that is not cancelled under the lease is left alone, and
     * that is not a stale write.
     */
    record LetGo() implements Transition {
        @Override
        public String handlerTag() {
            return "aborted"; // the handler was cancelled before it ended, as the handler metrics record it
        }
    }

    /**
     * How the handler call behind this transition ended, as the handler metrics tag it: success,
     * retry, reschedule, cancel, critical, unprocessable, error, timeout or aborted.
     */
    String handlerTag();

    Complete COMPLETE = new Complete();
    Release RELEASE = new Release();
    LetGo LET_GO = new LetGo();

    /** The transition a handler's {@code outcome} asks for. */
    static Transition of(ClaimedRow job, Outcome outcome, Backoff backoff) {
        if (outcome instanceof Outcome.Success) {
            return COMPLETE;
        }
        if (outcome instanceof Outcome.Retry r) {
            return new Retry(Times.backoffMicros(backoff, job), Times.at(r.at()),
                    r.after() == null ? null : PgJobStore.micros(r.after()), ErrorText.truncate(r.reason()),
                    Cause.OUTCOME);
        }
        if (outcome instanceof Outcome.Reschedule r) {
            return new Reschedule(Times.at(r.at()), r.after() == null ? null : PgJobStore.micros(r.after()));
        }
        Outcome.Finish f = (Outcome.Finish) outcome;
        return new Finish(f.status(), ErrorText.truncate(f.reason()));
    }

    /**
     * A failed attempt: retried after the backoff, with the error recorded; but a payload that
     * cannot be read ends the job unprocessable at once, since every attempt would read it again.
     */
    static Transition failure(ClaimedRow job, Throwable error, Backoff backoff) {
        if (unreadablePayload(error)) {
            return new Finish(JobStatus.UNPROCESSABLE, ErrorText.of(error));
        }
        return new Retry(Times.backoffMicros(backoff, job), null, null, ErrorText.of(error),
                error instanceof TimeoutException ? Cause.TIMEOUT : Cause.ERROR);
    }

    /** Whether {@code error} or one of its causes says the job's payload cannot be read. */
    private static boolean unreadablePayload(Throwable error) {
        for (Throwable e = error; e != null; e = e.getCause()) {
            if (e instanceof UnreadablePayloadException) {
                return true;
            }
            if (e.getCause() == e) {
                return false;
            }
        }
        return false;
    }

    /** The time helpers of building a transition. */
    final class Times {
        private static final Logger LOG = LoggerFactory.getLogger(Transition.class);
        private static final Duration DEFAULT_BACKOFF = PgQueueBuilder.DEFAULT_BACKOFF_DELAY;

        private Times() {
        }

        /**
         * The backoff after this attempt. A backoff that fails (a custom function returning null or a
         * negative duration, or throwing) must not leave the outcome unwritten and the job running
         * until the reaper comes: the job waits the default backoff instead, and the error is logged.
         */
        static long backoffMicros(Backoff backoff, ClaimedRow job) {
            try {
                return PgJobStore.micros(backoff.delay(job.attempt()));
            } catch (RuntimeException e) {
                LOG.warn("The backoff of queue {} failed for attempt {} of {}; using the default backoff of {}: {}",
                        job.queue(), job.attempt(), job.id(), DEFAULT_BACKOFF, ErrorText.summary(e));
                return PgJobStore.micros(DEFAULT_BACKOFF);
            }
        }

        /**
         * A requested time within what PostgreSQL's timestamptz holds. Out of range, it failed the
         * statement and with it every outcome of the batch, at every retry of the write; and
         * {@code Instant.MAX} became 'infinity', a job that never runs. Any time in the past means
         * "now", so the epoch stands for all of them.
         */
        static @Nullable Instant at(@Nullable Instant at) {
            if (at == null) {
                return null;
            }
            if (at.isAfter(JobEncoder.MAX_RUN_AT)) {
                return JobEncoder.MAX_RUN_AT;
            }
            return at.isBefore(Instant.EPOCH) ? Instant.EPOCH : at;
        }
    }
}
