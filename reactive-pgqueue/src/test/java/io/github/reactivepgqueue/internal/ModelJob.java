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
    /** The lease of the current claim; null unless running. */
    UUID lease;
    /** When a pending job is due. */
    long dueAt;
    /** The last heartbeat (or the claim) of a running job. */
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

    boolean finishedInLiveTable() {
        return location == Location.LIVE && !live();
    }

    @Override
    public String toString() {
        return "j" + number;
    }
}
