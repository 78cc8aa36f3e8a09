package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.JobStatus;

/** What an outcome write did to a job: the kind of write together with the status the job got. */
public enum WrittenOutcome {
    COMPLETED, RETRIED, RESCHEDULED, RELEASED, FAILED, CANCELLED, CRITICAL, UNPROCESSABLE, BAD_JOB;

    /**
     * A job written by {@code kind} that now has {@code status} (as the write statement returned it);
     * null for a status no write leaves (never thrown: metrics must not fail an outcome write).
     */
    static WrittenOutcome of(OutcomeWrite.Kind kind, String status) {
        JobStatus s;
        try {
            s = JobStatus.fromDatabase(status);
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (s == JobStatus.PENDING) {
            return switch (kind) {
                case RETRY -> RETRIED;
                case RESCHEDULE -> RESCHEDULED;
                default -> RELEASED;
            };
        }
        return switch (s) {
            case COMPLETED -> COMPLETED;
            case FAILED -> FAILED;
            case CANCELLED -> CANCELLED;
            case CRITICAL -> CRITICAL;
            case UNPROCESSABLE -> UNPROCESSABLE;
            case BAD_JOB -> BAD_JOB;
            default -> null;
        };
    }
}
