package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.JobCount;
import io.github.reactivepgqueue.JobInfo;
import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.QueueAdmin;
import io.github.reactivepgqueue.internal.store.JobStore;
import io.github.reactivepgqueue.internal.store.PgJobStore;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** What {@code QueueAdmin} does: each operation one statement (maintenance passes one per batch), plus the signals it owes. */
public final class Admin {
    private final JobStore store;
    private final Signals signals;
    private final Reaper reaper;
    private final Janitor janitor;
    /** Rows one purge statement deletes at most: the maintenance batch size. */
    private final int batchSize;

    Admin(JobStore store, Signals signals, Reaper reaper, Janitor janitor, int batchSize) {
        this.store = store;
        this.signals = signals;
        this.reaper = reaper;
        this.janitor = janitor;
        this.batchSize = batchSize;
    }

    /** The job with this id, with its payload, wherever it is; empty if no table holds it. */
    public Mono<JobInfo> find(UUID id) {
        return store.findMany(List.of(id), true).flatMapIterable(jobs -> jobs).next();
    }

    /**
     * One page of jobs, without payloads, in id order (which is enqueue order): those of
     * {@code queue} (null: every queue) with {@code status} (null: every status), after the job
     * with id {@code after} (null: from the first), at most {@code limit}. Pass the last id of a
     * page as {@code after} to get the next.
     */
    public Flux<JobInfo> list(@Nullable String queue, @Nullable JobStatus status, @Nullable UUID after, int limit) {
        if (limit < 1 || limit > QueueAdmin.MAX_PAGE) {
            return Flux.error(new IllegalArgumentException("limit must be between 1 and " + QueueAdmin.MAX_PAGE + " but was " + limit));
        }
        return store.list(queue, status, after, limit).flatMapIterable(jobs -> jobs);
    }

    /**
     * How many jobs each queue has, per status and table: exact up to {@code exactUpTo} jobs per
     * group, estimated above (see {@link QueueAdmin#counts(long)}).
     */
    public Mono<List<JobCount>> counts(long exactUpTo) {
        if (exactUpTo < 0) {
            return Mono.error(new IllegalArgumentException("exactUpTo must be at least 0 but was " + exactUpTo));
        }
        return store.counts(exactUpTo);
    }

    /**
     * Cancels the job with this id if it is pending or running; see {@link io.github.reactivepgqueue.PgQueue#cancel(UUID)}.
     *
     * @return how many jobs were cancelled (0 or 1)
     */
    public Mono<Integer> cancel(UUID id) {
        return cancel(id, null, null);
    }

    /** Cancels the live job holding {@code uniqueKey}; see {@link io.github.reactivepgqueue.PgQueue#cancelByUniqueKey(String)}. */
    public Mono<Integer> cancelByUniqueKey(String uniqueKey) {
        return cancel(null, uniqueKey, null);
    }

    /** Cancels every live job with {@code fingerprint}; see {@link io.github.reactivepgqueue.PgQueue#cancelByFingerprint(String)}. */
    public Mono<Integer> cancelByFingerprint(String fingerprint) {
        return cancel(null, null, fingerprint);
    }

    private Mono<Integer> cancel(@Nullable UUID id, @Nullable String uniqueKey, @Nullable String fingerprint) {
        return Mono.defer(() -> store.cancel(id, uniqueKey, fingerprint))
                // a cancel of several running jobs may meet their outcome writes in the other lock order
                .retryWhen(PgJobStore.retryDeadlocks())
                .flatMap(previous -> {
                    Set<Signal> signal = EnumSet.noneOf(Signal.class);
                    if (!previous.isEmpty()) {
                        signal.add(Signal.FINISHED);
                    }
                    if (previous.contains(JobStatus.RUNNING)) {
                        signal.add(Signal.CANCELLED);
                    }
                    return signals.send(signal).thenReturn(previous.size());
                });
    }

    /**
     * Moves the dead-lettered job with this id back to the live table as a fresh attempt series:
     * pending now, attempt 0, reprocess count 0 (its last error is kept).
     *
     * @return whether it was requeued: false if the dead-letter table does not hold it, or if a live
     *     job holds its unique key (then it stays dead-lettered)
     */
    public Mono<Boolean> requeue(UUID id) {
        return requeueDead(id, null, 1).map(n -> n > 0);
    }

    /**
     * Requeues up to {@code limit} dead-lettered jobs of {@code queue}, as {@link #requeue(UUID)};
     * emits how many. Those whose key a live job holds are skipped, not counted.
     */
    public Mono<Integer> requeueDead(String queue, int limit) {
        if (limit < 1) {
            return Mono.error(new IllegalArgumentException("limit must be at least 1 but was " + limit));
        }
        return requeueDead(null, queue, limit);
    }

    private Mono<Integer> requeueDead(@Nullable UUID id, @Nullable String queue, int limit) {
        return store.requeueDead(id, queue, limit)
                .flatMap(requeued -> {
                    Set<String> queues = new LinkedHashSet<>();
                    requeued.forEach(job -> queues.add(job.queue()));
                    return signals.send(EnumSet.noneOf(Signal.class), queues).thenReturn(requeued.size());
                });
    }

    /**
     * Deletes the job with this id from whichever table holds it. A running job is deleted too:
     * the node running it stops its handler and writes nothing.
     *
     * @return whether a job was deleted
     */
    public Mono<Boolean> delete(UUID id) {
        return store.delete(id)
                .flatMap(previous -> (previous.equals(Optional.of(JobStatus.RUNNING))
                        ? signals.send(EnumSet.of(Signal.CANCELLED)) : Mono.<Void>empty())
                        .thenReturn(previous.isPresent()));
    }

    /**
     * Deletes the pending jobs of {@code queue} and its finished jobs still in the live table;
     * running jobs finish. The archive and the dead-letter table are left alone. In batches, each
     * going on after the last id the one before deleted, until one deletes nothing.
     *
     * @return how many jobs were deleted
     */
    public Mono<Long> purge(String queue) {
        return store.purge(queue, null, batchSize)
                .expand(batch -> batch.deleted() == 0 ? Mono.empty() : store.purge(queue, batch.last(), batchSize))
                .map(JobStore.PurgedBatch::deleted)
                .reduce(0L, Long::sum);
    }

    /** Pauses {@code queue} on every node: none claims its jobs until it is resumed; running jobs finish. */
    public Mono<Void> pause(String queue) {
        return store.pause(queue);
    }

    /** Resumes {@code queue}: nodes serving it claim its jobs again at once. */
    public Mono<Void> resume(String queue) {
        return store.resume(queue)
                .then(signals.send(EnumSet.noneOf(Signal.class), List.of(queue)));
    }

    /** The queues paused right now, by name. */
    public Mono<List<String>> pausedQueues() {
        return store.paused();
    }

    /**
     * Runs the reaper once, now: every running job whose heartbeat is stale goes back to pending
     * (attempt restored, reprocess count raised), or to failed on its last attempt, or to bad_job at
     * the reprocess limit.
     *
     * @return how many jobs were rescued
     */
    public Mono<Integer> rescueStalledJobs() {
        return reaper.runOnce().map(ReaperResult::total);
    }

    /**
     * Runs the janitor's move once, now, whether or not the janitor is switched on: completed jobs
     * go to the archive, dead ones to the dead-letter table.
     *
     * @return how many jobs were moved
     */
    public Mono<Long> moveFinishedJobs() {
        return janitor.moveFinished();
    }

    /**
     * Deletes archived and dead-lettered jobs older than their retention, now.
     *
     * @return how many jobs were deleted
     */
    public Mono<Long> deleteExpiredJobs() {
        return janitor.deleteExpired();
    }
}
