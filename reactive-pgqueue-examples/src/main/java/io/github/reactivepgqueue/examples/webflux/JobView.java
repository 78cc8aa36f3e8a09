package io.github.reactivepgqueue.examples.webflux;

import io.github.reactivepgqueue.JobCount;
import io.github.reactivepgqueue.JobInfo;
import java.time.Instant;
import java.util.Locale;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * A job as the admin endpoints show it (statuses and tables in lower case, absent values null).
 *
 * @param id          the job's id
 * @param queue       its queue
 * @param status      its status, e.g. {@code unprocessable}
 * @param location    {@code live}, {@code archive} or {@code dead}
 * @param attempt     attempts used
 * @param maxAttempts attempts allowed
 * @param uniqueKey   its unique key, or null
 * @param createdAt   when it was enqueued
 * @param runAt       when it is (or was last) due
 * @param completedAt when it finished, or null
 * @param lastError   the last error recorded, or null
 */
public record JobView(UUID id, String queue, String status, String location, int attempt, int maxAttempts,
                      @Nullable String uniqueKey, Instant createdAt, Instant runAt, @Nullable Instant completedAt,
                      @Nullable String lastError) {

    /** The view of {@code job}. */
    static JobView of(JobInfo job) {
        return new JobView(job.id(), job.queue(), job.status().databaseValue(), lowerCase(job.location()),
                job.attempt(), job.maxAttempts(), job.uniqueKey().orElse(null), job.createdAt(), job.runAt(),
                job.completedAt().orElse(null), job.lastError().orElse(null));
    }

    private static String lowerCase(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }

    /**
     * How many jobs of a queue have a status in one table.
     *
     * @param queue    the queue
     * @param status   the status
     * @param location the table: {@code live}, {@code archive} or {@code dead}
     * @param jobs     how many
     */
    public record Count(String queue, String status, String location, long jobs) {

        /** The view of {@code count}. */
        static Count of(JobCount count) {
            return new Count(count.queue(), count.status().databaseValue(), lowerCase(count.location()), count.jobs());
        }
    }
}
