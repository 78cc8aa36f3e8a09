package io.github.reactivepgqueue.internal.store;

import io.github.reactivepgqueue.DatabaseLoginException;
import io.github.reactivepgqueue.JobCount;
import io.github.reactivepgqueue.JobInfo;
import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.MigrationResult;
import io.github.reactivepgqueue.SchemaVersionException;
import io.github.reactivepgqueue.internal.ClaimedRow;
import io.github.reactivepgqueue.internal.EncodedJob;
import io.github.reactivepgqueue.internal.QueueMetrics;
import io.r2dbc.spi.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * The storage seam: one typed method per named SQL statement (see {@link SqlName}). Every method
 * returns a cold Mono; unless it says otherwise, each call is one transaction of its own, shielded
 * from cancellation (see {@link Db#transaction}), whose rows are collected. Nothing outside this
 * package builds a statement, binds a parameter or reads a row.
 */
public interface JobStore {

    /**
     * Whether a call that failed with {@code error} fails the same way however often it is retried:
     * a statement the server refused for what it says or who sends it (SQLSTATE class 42, such as
     * insufficient privilege 42501 or undefined table 42P01), a schema at the wrong version or never
     * migrated ({@link SchemaVersionException}), a refused login ({@link DatabaseLoginException}).
     * A lost connection, a timeout, a serialization failure or deadlock may pass, so they are not.
     */
    static boolean retryCannotHelp(Throwable error) {
        return error instanceof SchemaVersionException || error instanceof DatabaseLoginException
                || R2dbc.isAccessRuleOrSyntaxError(error);
    }

    // ---- enqueue

    /**
     * Runs {@code work} in one transaction whose inserts it makes through the given {@link Inserts};
     * committed when the Mono completes, rolled back when it fails.
     */
    <T> Mono<T> inserting(Function<Inserts, Mono<T>> work);

    /** The inserts on the caller's connection, inside whatever transaction it has open; no transaction of their own. */
    Inserts insertsOn(Connection connection);

    /** The insert statements on one connection. */
    interface Inserts {
        /**
         * {@link SqlName#JobInsertMany}: inserts {@code batch}; a job whose unique key is held is
         * skipped. Rows in input order.
         *
         * @param signalChannel where to notify nodes of due jobs; null to notify nobody
         */
        Mono<List<InsertedRow>> insertMany(List<EncodedJob> batch, @Nullable String signalChannel);

        /** {@link SqlName#JobInsertManyNoKeys}: inserts {@code batch}, in which no job has a unique key; emits how many rows. */
        Mono<Integer> insertManyNoKeys(List<EncodedJob> batch, @Nullable String signalChannel);
    }

    /**
     * One row of {@link Inserts#insertMany}: the job at {@code index} of the batch (from 0) was
     * inserted, or its unique key is held by {@code holderId}; holderId is null for a skipped row
     * whose holder committed after the statement's snapshot (retry it).
     */
    record InsertedRow(int index, boolean inserted, @Nullable UUID holderId) {
    }

    // ---- claim and outcomes (all fenced by lease)

    /**
     * {@link SqlName#JobClaim}: at most {@code limits.get(queue)} due jobs of each queue and at most
     * {@code total} in all, each with a fresh lease. When {@code total} is less than the limits
     * together, each queue may take its {@link ClaimShares share} of it.
     *
     * @param stampClaims whether the rows carry their claim time (for the pickup metric)
     */
    Mono<List<ClaimedRow>> claim(Map<String, Integer> limits, int total, boolean stampClaims);

    /**
     * {@link SqlName#JobNextDue}: how long until the earliest pending job of {@code queues} that is
     * not due yet becomes due, by the database clock; empty when there is none.
     */
    Mono<Duration> nextDue(Collection<String> queues);

    /** The id and lease of a claimed job: what fences every write about its attempt. */
    record JobLease(UUID id, UUID lease) {
    }

    /**
     * {@link SqlName#JobCompleteMany} or, with {@code archive}, {@link SqlName#JobCompleteArchiveMany}:
     * success. Notifies {@code finishedPayload} on {@code signalChannel} at commit when a job changed
     * (null channel: nobody).
     */
    Mono<WrittenStatuses> completeMany(List<JobLease> jobs, boolean archive, @Nullable String signalChannel,
                                       String finishedPayload);

    /**
     * A failed attempt: pending again after the backoff and any requested time or delay, failed when
     * its attempts are spent.
     *
     * @param at         no sooner than this (null: no such wish)
     * @param afterMicros no sooner than this many microseconds from now (null: no such wish)
     * @param error      the error to record (null: keep the last one)
     */
    record RetryRow(UUID id, UUID lease, long backoffMicros, @Nullable Instant at, @Nullable Long afterMicros,
                    @Nullable String error) {
    }

    /** {@link SqlName#JobRetryMany}. */
    Mono<WrittenStatuses> retryMany(List<RetryRow> jobs);

    /** Run again at {@code at} or after {@code afterMicros} (one of them set), without using the attempt. */
    record RescheduleRow(UUID id, UUID lease, @Nullable Instant at, @Nullable Long afterMicros) {
    }

    /** {@link SqlName#JobRescheduleMany}; a job whose reprocess count reaches {@code reprocessLimit} ends bad_job. */
    Mono<WrittenStatuses> rescheduleMany(List<RescheduleRow> jobs, int reprocessLimit);

    /** A final unsuccessful status (cancelled, critical or unprocessable), with an error to record or null. */
    record FinishRow(UUID id, UUID lease, JobStatus status, @Nullable String error) {
    }

    /** {@link SqlName#JobFinishMany}. */
    Mono<WrittenStatuses> finishMany(List<FinishRow> jobs);

    /** {@link SqlName#JobReleaseMany}: the jobs go back to pending unrun, their attempt restored. */
    Mono<WrittenStatuses> releaseMany(List<JobLease> jobs);

    /** The status each job of an outcome write got. */
    @FunctionalInterface
    interface WrittenStatuses {
        /** The job's new status; null when the write did not change it (its lease was no longer current). */
        @Nullable JobStatus of(UUID id);
    }

    /**
     * {@link SqlName#JobHeartbeat}: refreshes the heartbeat of every job still running under its
     * lease; emits the ids of those whose lease is gone.
     */
    Mono<Set<UUID>> heartbeat(List<JobLease> jobs);

    // ---- admin

    /**
     * {@link SqlName#JobCancel}: cancels the live jobs with this id, unique key or fingerprint (the
     * others null); emits the status each had.
     */
    Mono<List<JobStatus>> cancel(@Nullable UUID id, @Nullable String uniqueKey, @Nullable String fingerprint);

    /**
     * {@link SqlName#JobLetGoMany}: lets go of the leases of cancelled jobs whose handlers this node
     * has stopped, which frees their unique keys. A job that is not cancelled under the given lease
     * (rescued, deleted, claimed again) is not touched: its status is null.
     */
    Mono<WrittenStatuses> letGoMany(List<JobLease> jobs);

    /** {@link SqlName#JobFindMany}: the jobs with these ids wherever they are, with payloads only when asked. */
    Mono<List<JobInfo>> findMany(Collection<UUID> ids, boolean withPayload);

    /**
     * One page of jobs without payloads; null filters match everything. By the filters given:
     * {@link SqlName#AdminList}, {@link SqlName#AdminListQueue}, {@link SqlName#AdminListStatus} or
     * {@link SqlName#AdminListQueueStatus}.
     */
    Mono<List<JobInfo>> list(@Nullable String queue, @Nullable JobStatus status, @Nullable UUID after, int limit);

    /**
     * {@link SqlName#AdminCount}: how many jobs each queue has, per status and table; exact up to
     * {@code exactUpTo} jobs per group, estimated from the table's statistics above.
     */
    Mono<List<JobCount>> counts(long exactUpTo);

    /** A job moved back from the dead-letter table. */
    record RequeuedJob(UUID id, String queue) {
    }

    /** {@link SqlName#AdminRequeueDead}: the dead-lettered job {@code id}, or up to {@code limit} of {@code queue}. */
    Mono<List<RequeuedJob>> requeueDead(@Nullable UUID id, @Nullable String queue, int limit);

    /** {@link SqlName#AdminDelete}: deletes the job from whichever table holds it; emits the status it had, if any. */
    Mono<Optional<JobStatus>> delete(UUID id);

    /** One batch of a purge: how many jobs it deleted, and the last id it deleted (null if none). */
    record PurgedBatch(long deleted, @Nullable UUID last) {
    }

    /**
     * {@link SqlName#AdminPurge}: deletes up to {@code limit} of the queue's pending and finished
     * live jobs with an id above {@code after} (null: from the first), in id order.
     */
    Mono<PurgedBatch> purge(String queue, @Nullable UUID after, int limit);

    /** {@link SqlName#AdminPause}. */
    Mono<Void> pause(String queue);

    /** {@link SqlName#AdminResume}. */
    Mono<Void> resume(String queue);

    /** {@link SqlName#AdminPaused}: the paused queues by name. */
    Mono<List<String>> paused();

    // ---- reaper and janitor

    /** A stalled job the reaper rescued, with the status it got (pending, failed or bad_job). */
    record RescuedJob(UUID id, String queue, JobStatus status) {
    }

    /**
     * {@link SqlName#MaintenanceRescueStalled}: rescues up to {@code limit} running jobs whose
     * heartbeat is older than {@code stallTimeout}.
     */
    Mono<List<RescuedJob>> rescueStalled(Duration stallTimeout, int reprocessLimit, int limit);

    /**
     * {@link SqlName#MaintenanceLetGoStalled}: lets go of the leases of up to {@code limit} cancelled
     * jobs whose heartbeat is older than {@code stallTimeout} (no node let go of them), which frees
     * their unique keys; emits how many.
     */
    Mono<Long> letGoStalled(Duration stallTimeout, int limit);

    /** How many finished jobs one move sent to the archive and to the dead-letter table. */
    record MovedJobs(long archived, long dead) {
        public long total() {
            return archived + dead;
        }
    }

    /** {@link SqlName#MaintenanceMoveFinished}: moves up to {@code limit} finished jobs out of the live table. */
    Mono<MovedJobs> moveFinished(int limit);

    /** {@link SqlName#MaintenanceDeleteArchived}: deletes up to {@code limit} archived jobs older than {@code retention}. */
    Mono<Long> deleteArchived(Duration retention, int limit);

    /** {@link SqlName#MaintenanceDeleteDead}: deletes up to {@code limit} dead-lettered jobs older than {@code retention}. */
    Mono<Long> deleteDead(Duration retention, int limit);

    /** {@link SqlName#MaintenanceProbe}: completes when the database answers. */
    Mono<Void> probe();

    // ---- metrics and signals

    /**
     * Due jobs the depth sample counts exactly per queue and priority; above, it estimates. The due
     * count is the backlog, so it gets the larger bound.
     */
    long DEPTH_DUE_EXACT_UP_TO = 10_000;

    /** Scheduled jobs the depth sample counts exactly per queue and priority; above, it estimates. */
    long DEPTH_SCHEDULED_EXACT_UP_TO = 1_000;

    /**
     * {@link SqlName#MetricsQueueDepth}: the pending jobs of every queue that has some; due jobs
     * counted exactly up to {@code dueExactUpTo} and scheduled ones up to {@code scheduledExactUpTo}
     * per queue and priority, estimated from the live table's statistics above.
     */
    Mono<List<QueueMetrics.QueueDepth>> queueDepth(long dueExactUpTo, long scheduledExactUpTo);

    /** {@link #queueDepth(long, long)} with the depth sample's bounds. */
    default Mono<List<QueueMetrics.QueueDepth>> queueDepth() {
        return queueDepth(DEPTH_DUE_EXACT_UP_TO, DEPTH_SCHEDULED_EXACT_UP_TO);
    }

    /** {@link SqlName#SignalSend}: sends each payload on {@code channel}. */
    Mono<Void> sendSignals(String channel, List<String> payloads);

    /** {@code LISTEN} on {@code channel}, on the listener's own connection (not a pooled one). */
    Mono<Void> listen(Connection listenerConnection, String channel);

    /** {@link SqlName#SignalListening}: whether the listener's own connection still listens on {@code channel}. */
    Mono<Boolean> listening(Connection listenerConnection, String channel);

    // ---- schema

    /** The schema the statements address. */
    SchemaName schema();

    /** Creates the schema if needed and applies the migrations it lacks (the migrator's statements). */
    Mono<MigrationResult> migrate();

    /** The schema's current version, 0 when it has no tables. */
    Mono<Integer> schemaVersion();

    /** The newest schema version this library knows. */
    int latestSchemaVersion();

    /** Fails with {@code SchemaVersionException} unless the schema is at the newest version. */
    Mono<Integer> verifySchemaVersion();
}
