package io.github.reactivepgqueue;

import java.util.Arrays;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The status of a job, mirrored by the {@code CHECK} constraint on the {@code status} column of
 * the jobs table.
 *
 * <p>{@link #PENDING} and {@link #RUNNING} are live; every other status is final. Completed jobs
 * are moved to the archive table, the other final statuses to the dead-letter table.
 *
 * @since 0.1.0
 */
public enum JobStatus {
    /** Waiting to be claimed, now or at its run-at time. */
    PENDING("pending"),
    /** Claimed by a worker that is running its handler. */
    RUNNING("running"),
    /** The handler succeeded. */
    COMPLETED("completed"),
    /** Every attempt failed. */
    FAILED("failed"),
    /** Cancelled by the handler, a permit denial, or an operator. */
    CANCELLED("cancelled"),
    /** The handler reported a critical error. */
    CRITICAL("critical"),
    /** The handler reported that the job can never be processed. */
    UNPROCESSABLE("unprocessable"),
    /** Rescheduled or rescued more often than the poison-job limit allows. */
    BAD_JOB("bad_job");

    private static final Map<String, JobStatus> BY_DATABASE_VALUE = Arrays.stream(values())
            .collect(Collectors.toUnmodifiableMap(JobStatus::databaseValue, Function.identity()));

    private final String databaseValue;

    JobStatus(String databaseValue) {
        this.databaseValue = databaseValue;
    }

    /** The value stored in the {@code status} column. */
    public String databaseValue() {
        return databaseValue;
    }

    /** Whether the job is pending or running. */
    public boolean isLive() {
        return this == PENDING || this == RUNNING;
    }

    /** Whether the job ended in a status that moves it to the dead-letter table. */
    public boolean isDead() {
        return !isLive() && this != COMPLETED;
    }

    /**
     * The status stored as {@code value}.
     *
     * @throws IllegalArgumentException if no status has that database value
     */
    public static JobStatus fromDatabase(String value) {
        JobStatus status = BY_DATABASE_VALUE.get(value);
        if (status == null) {
            throw new IllegalArgumentException("Unknown job status in the database: '" + value + "'");
        }
        return status;
    }
}
