package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.JobStatus;
import java.util.UUID;

/**
 * What the reference model expects of one job. Times are minutes on the model's clock
 * ({@link QueueModel#now()}): the test moves the database's notion of time by rewriting
 * timestamps, never by waiting.
 */
final class ModelJob {
    /** Where a job is: the live table, the archive, the dead-letter table, or deleted by retention. */
    enum Location {
        LIVE, ARCHIVE, DEAD, DELETED
    }

    final int number;
    final UUID id;
    final String uniqueKey;
    final int maxAttempts;
    JobStatus status = JobStatus.PENDING;
    Location location = Location.LIVE;
    int attempt;
    int reprocessCount;
    /** The lease of the current claim; null unless running, or cancelled while running and not yet let go of. */
    UUID lease;
    /** When a pending job is due. */
    long dueAt;
    /** The last heartbeat (or the claim) of a running job, and of a job cancelled while running. */
    long beatAt;
    /** Accepted successful outcomes (the ledger for I3). */
    int successes;

    ModelJob(int number, UUID id, String uniqueKey, int maxAttempts, long dueAt) {
        this.number = number;
        this.id = id;
        this.uniqueKey = uniqueKey;
        this.maxAttempts = maxAttempts;
        this.dueAt = dueAt;
    }

    boolean live() {
        return location == Location.LIVE && (status == JobStatus.PENDING || status == JobStatus.RUNNING);
    }

    /**
     * Whether the job holds its unique key: live, or cancelled while it ran and its lease not yet
     * let go of (its handler may still run).
     */
    boolean holdsKey() {
        return live() || cancelledUnderLease();
    }

    /** Cancelled while it ran, its lease not yet let go of. */
    boolean cancelledUnderLease() {
        return location == Location.LIVE && status == JobStatus.CANCELLED && lease != null;
    }

    /** Finished, and no handler may still run it: the janitor may move it. */
    boolean finishedInLiveTable() {
        return location == Location.LIVE && !holdsKey();
    }

    @Override
    public String toString() {
        return "j" + number;
    }
}
