package io.github.reactivepgqueue;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Optional;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * A schedule as stored, with its state: from {@link Schedules#list()}, {@link Schedules#find},
 * and the results of adding and changing one.
 *
 * @param name            the schedule's name
 * @param queue           the queue of its jobs
 * @param cron            its cron expression, or null for an interval schedule
 * @param zone            the zone its cron expression is read in (UTC for an interval schedule)
 * @param every           its interval, or null for a cron schedule
 * @param startAt         no slot before it, or null
 * @param payloadFromCode whether a factory on the nodes makes its payloads
 * @param payloadJson     the payload of its jobs as JSON (when not made in code)
 * @param priority        its jobs' priority
 * @param maxAttempts     its jobs' maximum attempts, or null for the queue's default
 * @param uniqueKey       its jobs' unique key pattern
 * @param missed          its missed-slot policy
 * @param onTimeWithin    how late a slot may be enqueued and still be on time
 * @param paused          whether it is paused (its slots pass without jobs)
 * @param nextSlot        the next slot that gets a job (the next fire time)
 * @param lastSlot        the latest slot that got a job, or null
 * @param lastJob         the job of the latest enqueue (a slot or a trigger), or null
 * @param lastEnqueuedAt  when that job was enqueued, or null
 * @param missedSlots     how many slots were missed and not run, over the schedule's life
 * @param createdAt       when it was added
 * @param updatedAt       when its definition or paused state last changed
 * @since 0.1.0
 */
public record ScheduleInfo(String name, String queue, @Nullable String cron, ZoneId zone, @Nullable Duration every,
                           @Nullable Instant startAt, boolean payloadFromCode, String payloadJson, int priority,
                           @Nullable Integer maxAttempts, String uniqueKey, MissedSlots missed, Duration onTimeWithin,
                           boolean paused, Instant nextSlot, @Nullable Instant lastSlot, @Nullable UUID lastJob,
                           @Nullable Instant lastEnqueuedAt, long missedSlots, Instant createdAt, Instant updatedAt) {

    /** The next fire time: when the next slot's job is enqueued (absent while paused). */
    public Optional<Instant> nextFireTime() {
        return paused ? Optional.empty() : Optional.of(nextSlot);
    }
}
