package io.github.reactivepgqueue;

/**
 * How many jobs of a queue have a status in one table.
 *
 * @param queue    the queue
 * @param status   the status
 * @param location the table
 * @param jobs     how many
 * @since 0.1.0
 */
public record JobCount(String queue, JobStatus status, JobLocation location, long jobs) {
}
