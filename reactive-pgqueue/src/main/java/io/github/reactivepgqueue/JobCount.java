package io.github.reactivepgqueue;

/**
 * How many jobs of a queue have a status in one table, counted or estimated.
 *
 * <p>{@link QueueAdmin#counts(long)} counts each group exactly up to a bound and no further: a
 * group that has more jobs than the bound gets an estimate from PostgreSQL's statistics, marked
 * by {@code exact} being false. An estimate is never below the number of jobs counted before the
 * count stopped (more than the bound), but it may be off by however much the table changed since
 * PostgreSQL last analyzed it.
 *
 * @param queue    the queue
 * @param status   the status
 * @param location the table
 * @param jobs     how many: exactly, or an estimate when {@code exact} is false
 * @param exact    true when {@code jobs} was counted, false when it is an estimate (the group had
 *                 more jobs than the bound of exact counts)
 * @since 0.1.0
 */
public record JobCount(String queue, JobStatus status, JobLocation location, long jobs, boolean exact) {

    /**
     * An exact count.
     *
     * @param queue    the queue
     * @param status   the status
     * @param location the table
     * @param jobs     how many
     */
    public JobCount(String queue, JobStatus status, JobLocation location, long jobs) {
        this(queue, status, location, jobs, true);
    }
}
