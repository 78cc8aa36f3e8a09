package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.JobStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * The reference model of one queue: what every job's status, attempt, reprocess count, lease and
 * table must be after each step, written from the rules in docs/architecture.md rather than from
 * the SQL. Its clock counts minutes and moves only in {@link #TICK} steps; the stall timeout lies
 * between two multiples of a tick, so no comparison ever sits on a boundary.
 */
final class QueueModel {
    /** One step of the model's clock, in minutes. */
    static final long TICK = 20;
    /** The reaper's stall timeout, in minutes: rescued after three ticks without a beat, never after two. */
    static final long STALL = 50;
    /** Reschedules and rescues that make a job poison (low, so that short histories reach it). */
    static final int REPROCESS_LIMIT = 2;

    private final List<ModelJob> jobs = new ArrayList<>();
    private final Map<UUID, ModelJob> byId = new HashMap<>();
    /** Leases that had an outcome accepted: at most one each (I3). */
    private final Set<UUID> settledLeases = new HashSet<>();
    private long now;

    long now() {
        return now;
    }

    void advance() {
        now += TICK;
    }

    List<ModelJob> jobs() {
        return jobs;
    }

    ModelJob job(UUID id) {
        return byId.get(id);
    }

    /** The job holding {@code key}, if any (see {@link ModelJob#holdsKey()}). */
    ModelJob holderOf(String key) {
        if (key == null) {
            return null;
        }
        return jobs.stream().filter(j -> j.holdsKey() && key.equals(j.uniqueKey)).findFirst().orElse(null);
    }

    ModelJob enqueued(UUID id, String key, int maxAttempts, long delayMinutes) {
        ModelJob job = new ModelJob(jobs.size() + 1, id, key, maxAttempts, now + delayMinutes);
        jobs.add(job);
        byId.put(id, job);
        return job;
    }

    /** Pending jobs that are due: what a claim may take. */
    List<ModelJob> due() {
        return jobs.stream().filter(j -> j.location == ModelJob.Location.LIVE && j.status == JobStatus.PENDING
                && j.dueAt <= now).toList();
    }

    void claimed(ModelJob job, UUID lease) {
        job.status = JobStatus.RUNNING;
        job.attempt++;
        job.lease = lease;
        job.beatAt = now;
    }

    /** Whether a write fenced by {@code lease} may change {@code job}. */
    boolean current(ModelJob job, UUID lease) {
        return job.location == ModelJob.Location.LIVE && job.status == JobStatus.RUNNING && lease.equals(job.lease);
    }

    void beaten(ModelJob job) {
        job.beatAt = now;
    }

    /** Records an accepted outcome in the ledger; false if this lease had one already. */
    boolean settle(ModelJob job, UUID lease, boolean success) {
        if (success) {
            job.successes++;
        }
        return settledLeases.add(lease);
    }

    boolean stalled(ModelJob job) {
        return job.location == ModelJob.Location.LIVE && job.status == JobStatus.RUNNING && now - job.beatAt > STALL;
    }

    /** The reaper's rescue of a stalled job. */
    void rescue(ModelJob job) {
        job.reprocessCount++;
        job.lease = null;
        if (job.reprocessCount >= REPROCESS_LIMIT) {
            job.status = JobStatus.BAD_JOB;
        } else if (job.attempt >= job.maxAttempts) {
            job.status = JobStatus.FAILED;
        } else {
            job.status = JobStatus.PENDING;
            job.attempt = Math.max(job.attempt - 1, 0);
            job.dueAt = now;
        }
    }

    void finish(ModelJob job, JobStatus status) {
        job.status = status;
        job.lease = null;
    }

    /** Success from a node whose janitor is on: completed and in the archive at once. */
    void completeToArchive(ModelJob job) {
        finish(job, JobStatus.COMPLETED);
        job.location = ModelJob.Location.ARCHIVE;
    }

    /** A failed attempt: pending after {@code waitMinutes}, or failed when the attempts are spent. */
    void retry(ModelJob job, long waitMinutes) {
        job.lease = null;
        if (job.attempt >= job.maxAttempts) {
            job.status = JobStatus.FAILED;
        } else {
            job.status = JobStatus.PENDING;
            job.dueAt = now + waitMinutes;
        }
    }

    /** Run again later without using the attempt; poison at the reprocess limit. */
    void reschedule(ModelJob job, long waitMinutes) {
        job.lease = null;
        job.attempt = Math.max(job.attempt - 1, 0);
        job.reprocessCount++;
        if (job.reprocessCount >= REPROCESS_LIMIT) {
            job.status = JobStatus.BAD_JOB;
        } else {
            job.status = JobStatus.PENDING;
            job.dueAt = now + waitMinutes;
        }
    }

    /** Given back unrun: pending, attempt restored, due as before. */
    void release(ModelJob job) {
        job.lease = null;
        job.attempt = Math.max(job.attempt - 1, 0);
        job.status = JobStatus.PENDING;
    }

    /**
     * An administrator's cancel: true if the job was live. A running job keeps its lease (and so its
     * unique key) until the node that runs it lets go, or the reaper does after the stall timeout.
     */
    boolean cancel(ModelJob job) {
        if (!job.live()) {
            return false;
        }
        if (job.status == JobStatus.RUNNING) {
            job.status = JobStatus.CANCELLED;
        } else {
            finish(job, JobStatus.CANCELLED);
        }
        return true;
    }

    /** Whether {@code job} was cancelled while it ran under {@code lease}, which is not let go of yet. */
    boolean cancelledUnder(ModelJob job, UUID lease) {
        return job.cancelledUnderLease() && lease.equals(job.lease);
    }

    /** The node that held {@code lease} is done with the cancelled job: its lease, and unique key, are let go of. */
    void letGo(ModelJob job) {
        job.lease = null;
    }

    /** Cancelled while it ran, and no node let go of it within the stall timeout: the reaper does. */
    boolean leaseStalled(ModelJob job) {
        return job.cancelledUnderLease() && now - job.beatAt > STALL;
    }

    /** The janitor: finished jobs leave the live table. */
    int moveFinished() {
        int moved = 0;
        for (ModelJob job : jobs) {
            if (job.finishedInLiveTable()) {
                job.location = job.status == JobStatus.COMPLETED ? ModelJob.Location.ARCHIVE : ModelJob.Location.DEAD;
                moved++;
            }
        }
        return moved;
    }

    /** Retention zero: every archived and dead job is deleted. */
    int deleteExpired() {
        int deleted = 0;
        for (ModelJob job : jobs) {
            if (job.location == ModelJob.Location.ARCHIVE || job.location == ModelJob.Location.DEAD) {
                job.location = ModelJob.Location.DELETED;
                deleted++;
            }
        }
        return deleted;
    }

    /** Requeue from the dead-letter table: a fresh attempt series, unless a live job holds the key. */
    boolean requeue(ModelJob job) {
        if (job.location != ModelJob.Location.DEAD || holderOf(job.uniqueKey) != null) {
            return false;
        }
        job.location = ModelJob.Location.LIVE;
        job.status = JobStatus.PENDING;
        job.attempt = 0;
        job.reprocessCount = 0;
        job.dueAt = now;
        return true;
    }
}
