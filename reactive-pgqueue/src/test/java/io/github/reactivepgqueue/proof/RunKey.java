package io.github.reactivepgqueue.proof;

import io.github.reactivepgqueue.Job;
import java.util.UUID;

/**
 * One claim of a job as its handler saw it: the id, the attempt and the reprocess count. A claim
 * raises the attempt; a rescue or a release gives the attempt back, and a rescue raises the
 * reprocess count, so a key names one claim and must never run twice.
 */
public record RunKey(UUID id, int attempt, int reprocessCount) {

    /** The key of the claim {@code job} comes from. */
    public static RunKey of(Job job) {
        return new RunKey(job.id(), job.attempt(), job.reprocessCount());
    }
}
