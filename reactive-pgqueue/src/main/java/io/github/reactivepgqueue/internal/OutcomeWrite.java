package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.Backoff;
import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueueBuilder;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Sinks;

/**
 * One job's outcome as the {@link Completer} writes it: the statement kind and its values. The
 * lease of the claim travels with it, so a write about an attempt that lost its lease changes
 * nothing.
 */
record OutcomeWrite(ClaimedRow job, Kind kind, long backoffMicros, Instant at, Long afterMicros, String status,
                    String error, Sinks.One<Void> done) {

    enum Kind {
        COMPLETE(SqlName.JobCompleteMany),
        RETRY(SqlName.JobRetryMany),
        RESCHEDULE(SqlName.JobRescheduleMany),
        FINISH(SqlName.JobFinishMany),
        RELEASE(SqlName.JobReleaseMany);

        final SqlName statement;

        Kind(SqlName statement) {
            this.statement = statement;
        }
    }

    static OutcomeWrite of(ClaimedRow job, Outcome outcome, Backoff backoff) {
        if (outcome instanceof Outcome.Success) {
            return new OutcomeWrite(job, Kind.COMPLETE, 0, null, null, null, null, Sinks.one());
        }
        if (outcome instanceof Outcome.Retry r) {
            return new OutcomeWrite(job, Kind.RETRY, backoffMicros(backoff, job), at(r.at()),
                    r.after() == null ? null : micros(r.after()), null, ErrorText.truncate(r.reason()), Sinks.one());
        }
        if (outcome instanceof Outcome.Reschedule r) {
            return new OutcomeWrite(job, Kind.RESCHEDULE, 0, at(r.at()), r.after() == null ? null : micros(r.after()),
                    null, null, Sinks.one());
        }
        Outcome.Finish f = (Outcome.Finish) outcome;
        return new OutcomeWrite(job, Kind.FINISH, 0, null, null, f.status().databaseValue(),
                ErrorText.truncate(f.reason()), Sinks.one());
    }

    /** A failed attempt: retried after the backoff, with the error recorded. */
    static OutcomeWrite failure(ClaimedRow job, Throwable error, Backoff backoff) {
        return new OutcomeWrite(job, Kind.RETRY, backoffMicros(backoff, job), null, null, null,
                ErrorText.of(error), Sinks.one());
    }

    /** The job goes back to pending unrun, its attempt restored. */
    static OutcomeWrite release(ClaimedRow job) {
        return new OutcomeWrite(job, Kind.RELEASE, 0, null, null, null, null, Sinks.one());
    }

    /**
     * The backoff after this attempt. A backoff that fails (a custom function returning null or a
     * negative duration, or throwing) must not leave the outcome unwritten and the job running
     * until the reaper comes: the job waits the default backoff instead, and the error is logged.
     */
    static long backoffMicros(Backoff backoff, ClaimedRow job) {
        try {
            return micros(backoff.delay(job.attempt()));
        } catch (RuntimeException e) {
            LOG.warn("The backoff of queue {} failed for attempt {} of {}; using the default backoff of {}: {}",
                    job.queue(), job.attempt(), job.id(), DEFAULT_BACKOFF, ErrorText.summary(e));
            return micros(DEFAULT_BACKOFF);
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(OutcomeWrite.class);
    private static final Duration DEFAULT_BACKOFF = PgQueueBuilder.DEFAULT_BACKOFF_DELAY;

    /** Waits are capped at about a century, well inside PostgreSQL's interval and timestamp ranges. */
    static final long MAX_MICROS = 100L * 365 * 24 * 3600 * 1_000_000L;

    /**
     * A requested time within what PostgreSQL's timestamptz holds. Out of range, it failed the
     * statement and with it every outcome of the batch, at every retry of the write; and
     * {@code Instant.MAX} became 'infinity', a job that never runs. Any time in the past means
     * "now", so the epoch stands for all of them.
     */
    static Instant at(Instant at) {
        if (at == null) {
            return null;
        }
        if (at.isAfter(JobEncoder.MAX_RUN_AT)) {
            return JobEncoder.MAX_RUN_AT;
        }
        return at.isBefore(Instant.EPOCH) ? Instant.EPOCH : at;
    }

    static long micros(Duration d) {
        if (d.getSeconds() >= MAX_MICROS / 1_000_000L) {
            return MAX_MICROS;
        }
        return Math.min(MAX_MICROS, d.getSeconds() * 1_000_000L + d.getNano() / 1_000L);
    }
}
