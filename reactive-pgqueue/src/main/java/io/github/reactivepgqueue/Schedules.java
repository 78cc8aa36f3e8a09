package io.github.reactivepgqueue;

import io.github.reactivepgqueue.internal.Node;
import java.util.Objects;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Managing recurring jobs at runtime: add, replace, update, pause, resume, remove, list and
 * trigger schedules. Get it from {@link PgQueue#schedules()}; it works whether or not the queue
 * was started. Every change is in the database at once and reaches every node through a signal
 * (or, if the signal is lost, their next check, at most {@link PgQueueBuilder#scheduleCheckInterval}
 * later). Every method returns a cold publisher.
 *
 * <p>A schedule's slots are enqueued by every started node that runs schedules
 * ({@link PgQueueBuilder#runSchedules}), each slot exactly once; see docs/recurring-jobs.md.
 *
 * @since 0.1.0
 */
public final class Schedules {
    private final Node node;

    Schedules(Node node) {
        this.node = node;
    }

    /**
     * Adds a schedule. Its first slot is the first its timing names after now, or at or after its
     * {@link Schedule#startAt start}: a start in the past makes the slots since then missed ones.
     * Fails with {@link DuplicateScheduleException} if the name is taken. A payload factory
     * ({@link Schedule#payload(SchedulePayload)}) is registered on this node only.
     */
    public Mono<ScheduleInfo> add(Schedule schedule) {
        Objects.requireNonNull(schedule, "schedule");
        return node.scheduling().add(schedule);
    }

    /**
     * Adds a schedule, or replaces the definition of the one of that name: its state stays (paused
     * or not, last slot, counts), and so does its next slot unless the timing (cron expression,
     * zone, interval or start) changed; then it is the first slot after now.
     */
    public Mono<ScheduleInfo> put(Schedule schedule) {
        Objects.requireNonNull(schedule, "schedule");
        return node.scheduling().put(schedule);
    }

    /** Replaces a schedule's definition as {@link #put} does; {@link NoSuchScheduleException} if it does not exist. */
    public Mono<ScheduleInfo> update(Schedule schedule) {
        Objects.requireNonNull(schedule, "schedule");
        return node.scheduling().update(schedule);
    }

    /** Pauses a schedule: its slots pass without jobs until it is resumed. Pausing a paused one changes nothing. */
    public Mono<ScheduleInfo> pause(String name) {
        Objects.requireNonNull(name, "name");
        return node.scheduling().setPaused(name, true);
    }

    /**
     * Resumes a paused schedule from its first slot after now: slots that passed while it was
     * paused are not run (nor counted missed). Resuming one that runs changes nothing.
     */
    public Mono<ScheduleInfo> resume(String name) {
        Objects.requireNonNull(name, "name");
        return node.scheduling().setPaused(name, false);
    }

    /** Removes a schedule; emits whether it existed. Jobs it enqueued already stay. */
    public Mono<Boolean> remove(String name) {
        Objects.requireNonNull(name, "name");
        return node.scheduling().remove(name);
    }

    /** The schedule of that name, with its next fire time and counts; empty if there is none. */
    public Mono<ScheduleInfo> find(String name) {
        Objects.requireNonNull(name, "name");
        return node.scheduling().find(name);
    }

    /** Every schedule, in name order (read in pages of 1,000). */
    public Flux<ScheduleInfo> list() {
        return node.scheduling().list();
    }

    /**
     * Enqueues a job of the schedule now, outside its slots (its next slot stays): its slot, in
     * the payload factory and the unique key, is now by the database clock. Emits
     * {@link EnqueueResult.Duplicate} if a live job holds the unique key (a pattern without
     * {@code {slot}}), {@link NoSuchScheduleException} if there is no such schedule. Works on a
     * paused schedule too.
     */
    public Mono<EnqueueResult> trigger(String name) {
        Objects.requireNonNull(name, "name");
        return node.scheduling().trigger(name);
    }
}
