package io.github.reactivepgqueue;

import io.github.reactivepgqueue.internal.Config;
import io.github.reactivepgqueue.internal.Node;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Operating a queue's jobs: find, list and count them, cancel, requeue dead ones, delete and
 * purge, pause and resume queues on every node, and run the reaper and the janitor on demand.
 * Get it from {@link PgQueue#admin()}; it works whether or not the queue was started. Every
 * method is one statement (the maintenance passes and {@link #purge} one per batch) and returns a
 * cold publisher.
 *
 * <p>Argument checks throw at once: a null argument {@link NullPointerException}, a queue name
 * that is blank or could not be stored (see {@link PgQueueBuilder#handler}) {@link
 * IllegalArgumentException}. A {@code limit} or {@code exactUpTo} out of range, and failures of the
 * work itself, are signalled through {@code onError}.
 *
 * <p>{@link #list} and {@link #counts} read a bounded number of index entries whatever the size
 * of the tables (see each); counts above a bound are estimates, marked as such.
 *
 * @since 0.1.0
 */
public final class QueueAdmin {
    /** Largest page {@link #list} returns. */
    public static final int MAX_PAGE = 10_000;

    /**
     * How many jobs {@link #counts()} counts exactly in each group (queue, status and table); a
     * group with more is estimated.
     */
    public static final long EXACT_COUNT_BOUND = 1_000;

    private final Node node;

    QueueAdmin(Node node) {
        this.node = node;
    }

    /**
     * The job with this id, with its payload, wherever it is; empty if no table holds it. A payload
     * the {@code ObjectMapper} cannot read as a tree (written by another producer) does not fail the
     * call: {@link JobInfo#payload()} is then empty and {@link JobInfo#payloadJson()} has its text.
     */
    public Mono<JobInfo> find(UUID id) {
        Objects.requireNonNull(id, "id");
        return node.admin().find(id);
    }

    /**
     * One page of jobs, without payloads, in id order (which is enqueue order): those of
     * {@code queue} (null: every queue) with {@code status} (null: every status), after the job
     * with id {@code after} (null: from the first), at most {@code limit}. Pass the last id of a
     * page as {@code after} to get the next.
     *
     * <p>Cost: a page reads, in each table, at most {@code limit} entries of an index that gives
     * the matching jobs in id order, then the jobs of the page by id, so it does not grow with the
     * tables, however few jobs match (about a millisecond for a page of 100 beside a million live
     * and a million archived jobs). The live table's running jobs (as many as the nodes' permits)
     * and the finished jobs the janitor has not moved yet (about a second's worth while it runs)
     * have no such index: a page by queue reads all of them, a page by a final status all the
     * finished ones, and a page of the pending jobs of every queue steps over them. With the
     * janitor off the finished jobs stay in the live table and those pages grow with them.
     */
    public Flux<JobInfo> list(@Nullable String queue, @Nullable JobStatus status, @Nullable UUID after, int limit) {
        return node.admin().list(queue == null ? null : Config.requireQueueName(queue), status, after, limit);
    }

    /**
     * How many jobs each queue has, per status and table, each group counted exactly up to
     * {@link #EXACT_COUNT_BOUND} jobs and estimated above: {@code counts(EXACT_COUNT_BOUND)}.
     */
    public Mono<List<JobCount>> counts() {
        return counts(EXACT_COUNT_BOUND);
    }

    /**
     * How many jobs each queue has, per status and table: one {@link JobCount} for each (queue,
     * status, table) that has jobs, ordered by queue, status and table.
     *
     * <p><b>Exact or estimated.</b> A group of at most {@code exactUpTo} jobs is counted exactly
     * ({@link JobCount#exact()} true). A larger one is estimated from PostgreSQL's statistics of
     * its table: the queue's share of the table's rows (the table's most common queues and their
     * frequencies, and its rows per page at the last ANALYZE times its pages now), less the groups
     * of that queue counted exactly, shared among its larger groups by how common each status is in
     * the table. An estimate is never below the {@code exactUpTo} + 1 jobs counted before the count
     * stopped, and is as fresh as the table's last (auto)ANALYZE. Running jobs and finished jobs
     * the janitor has not moved yet (both few by design) are each read in one pass of at most ten
     * times {@code exactUpTo} rows; when there are more, their groups are estimated too.
     *
     * <p><b>Cost.</b> One index probe finds each group and at most {@code exactUpTo} + 1 index
     * entries count it, so the call costs about (number of groups) &times; min(group size,
     * {@code exactUpTo}) index entries whatever the size of the tables (16&ndash;20 ms for the
     * default bound beside a million live and a million archived jobs, in 100 groups; see
     * {@code docs/operations.md}). {@code exactUpTo} of
     * {@link Long#MAX_VALUE} counts every group exactly, reading all their index entries: its
     * time grows with the tables.
     *
     * @param exactUpTo the largest group counted exactly, at least 0 (0: every group is estimated)
     */
    public Mono<List<JobCount>> counts(long exactUpTo) {
        return node.admin().counts(exactUpTo);
    }

    /**
     * Cancels the job with this id if it is pending or running; see {@link PgQueue#cancel(UUID)}
     * (a running job keeps its unique key until its handler has stopped).
     *
     * @return how many jobs were cancelled (0 or 1)
     */
    public Mono<Integer> cancel(UUID id) {
        Objects.requireNonNull(id, "id");
        return node.admin().cancel(id);
    }

    /** Cancels the live job holding {@code uniqueKey}; see {@link PgQueue#cancelByUniqueKey(String)}. */
    public Mono<Integer> cancelByUniqueKey(String uniqueKey) {
        Objects.requireNonNull(uniqueKey, "uniqueKey");
        return node.admin().cancelByUniqueKey(uniqueKey);
    }

    /** Cancels every live job with {@code fingerprint}; see {@link PgQueue#cancelByFingerprint(String)}. */
    public Mono<Integer> cancelByFingerprint(String fingerprint) {
        Objects.requireNonNull(fingerprint, "fingerprint");
        return node.admin().cancelByFingerprint(fingerprint);
    }

    /**
     * Moves the dead-lettered job with this id back to the live table as a fresh attempt series:
     * pending now, attempt 0, reprocess count 0 (its last error is kept).
     *
     * @return whether it was requeued: false if the dead-letter table does not hold it, or if a live
     *     job holds its unique key (then it stays dead-lettered)
     */
    public Mono<Boolean> requeue(UUID id) {
        Objects.requireNonNull(id, "id");
        return node.admin().requeue(id);
    }

    /**
     * Requeues up to {@code limit} dead-lettered jobs of {@code queue}, oldest first, as
     * {@link #requeue(UUID)}; emits how many. Jobs whose unique key a live job holds are skipped
     * (they stay dead-lettered) and do not count against the limit.
     */
    public Mono<Integer> requeueDead(String queue, int limit) {
        Objects.requireNonNull(queue, "queue");
        return node.admin().requeueDead(Config.requireQueueName(queue), limit);
    }

    /**
     * Deletes the job with this id from whichever table holds it. A running job is deleted too:
     * the node running it stops its handler and writes nothing.
     *
     * @return whether a job was deleted
     */
    public Mono<Boolean> delete(UUID id) {
        Objects.requireNonNull(id, "id");
        return node.admin().delete(id);
    }

    /**
     * Deletes the pending jobs of {@code queue} and its finished jobs still in the live table;
     * running jobs finish, and jobs cancelled while they ran stay until their node has let go of
     * them (they hold their unique keys until then). The archive and the dead-letter table are left
     * alone. Deletes in batches of {@link PgQueueBuilder#maintenanceBatchSize(int)} jobs, one
     * statement each, in id order, so no statement holds many row locks or runs long; jobs
     * enqueued meanwhile with a higher id may be deleted too.
     *
     * @return how many jobs were deleted
     */
    public Mono<Long> purge(String queue) {
        Objects.requireNonNull(queue, "queue");
        return node.admin().purge(Config.requireQueueName(queue));
    }

    /** Pauses {@code queue} on every node: none claims its jobs until it is resumed; running jobs finish. */
    public Mono<Void> pause(String queue) {
        Objects.requireNonNull(queue, "queue");
        return node.admin().pause(Config.requireQueueName(queue));
    }

    /** Resumes {@code queue}: nodes serving it claim its jobs again at once. */
    public Mono<Void> resume(String queue) {
        Objects.requireNonNull(queue, "queue");
        return node.admin().resume(Config.requireQueueName(queue));
    }

    /** The queues paused right now, by name. */
    public Mono<List<String>> pausedQueues() {
        return node.admin().pausedQueues();
    }

    /**
     * Runs the reaper once, now: every running job whose heartbeat is stale goes back to pending
     * (attempt restored, reprocess count raised), or to failed on its last attempt, or to bad_job at
     * the reprocess limit. It also lets go of every job cancelled while it ran whose node did not
     * let go of it within the stall timeout, which frees its unique key.
     *
     * @return how many jobs were rescued (jobs let go of are not counted)
     */
    public Mono<Integer> rescueStalledJobs() {
        return node.admin().rescueStalledJobs();
    }

    /**
     * Runs the janitor's move once, now, whether or not the janitor is switched on: completed jobs
     * go to the archive, dead ones to the dead-letter table (a job cancelled while it ran only once
     * its node has let go of it).
     *
     * @return how many jobs were moved
     */
    public Mono<Long> moveFinishedJobs() {
        return node.admin().moveFinishedJobs();
    }

    /**
     * Deletes archived and dead-lettered jobs older than their retention, now.
     *
     * @return how many jobs were deleted
     */
    public Mono<Long> deleteExpiredJobs() {
        return node.admin().deleteExpiredJobs();
    }
}
