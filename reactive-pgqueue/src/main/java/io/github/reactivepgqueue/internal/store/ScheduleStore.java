package io.github.reactivepgqueue.internal.store;

import io.github.reactivepgqueue.internal.EncodedJob;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * The storage seam of schedules (recurring jobs): one typed method per use, each one transaction
 * of its own, shielded from cancellation (see {@link Db#transaction}). Slots are computed by the
 * caller, from the database's time that the store hands it ({@code now}), so nodes whose clocks
 * are skewed agree.
 */
public interface ScheduleStore {

    /** A schedule as stored, and the database's time when it was read. */
    record ScheduleRow(String name, String queue, @Nullable String cron, @Nullable String timeZone,
                       @Nullable Long everyMicros, @Nullable Instant startsAt, String payloadJson,
                       boolean payloadFromCode, int priority, @Nullable Integer maxAttempts, String uniqueKey,
                       String missed, int catchUp, long onTimeMicros, boolean paused, Instant nextSlot,
                       @Nullable Instant lastSlot, @Nullable UUID lastJob, @Nullable Instant lastEnqueuedAt,
                       long missedSlots, Instant createdAt, Instant updatedAt, Instant now) {
    }

    /** A schedule's definition as written; {@code missed} is {@code skip}, {@code run_once} or {@code catch_up}. */
    record ScheduleWrite(String name, String queue, @Nullable String cron, @Nullable String timeZone,
                         @Nullable Long everyMicros, @Nullable Instant startsAt, String payloadJson,
                         boolean payloadFromCode, int priority, @Nullable Integer maxAttempts, String uniqueKey,
                         String missed, int catchUp, long onTimeMicros) {
    }

    /**
     * The slots of a definition being written, from the database's time: {@code first} for a new
     * schedule (a start in the past makes the slots since then missed ones), {@code afterChange}
     * for one whose timing changed (the next slot after now: a change never fires past slots).
     */
    record NewSlots(Instant first, Instant afterChange) {
    }

    /**
     * What a due schedule gets: {@code jobs} (its slots' jobs, oldest first), its next slot, and
     * how many slots it missed.
     */
    record Firing(List<EncodedJob> jobs, Instant nextSlot, long missed) {
    }

    /**
     * What {@link #fireDue} did for one schedule: jobs enqueued, jobs skipped because a live job
     * held their unique key, slots missed.
     */
    record Fired(String name, String queue, int enqueued, int held, long missed) {
    }

    /** A job enqueued for a schedule outside its slots, and what its insert found. */
    record Triggered(EncodedJob job, JobStore.InsertedRow row) {
    }

    /**
     * {@link SqlName#ScheduleNextIn}: how long until the earliest next slot of the schedules this
     * node enqueues (negative when due); empty when there is none. One statement.
     *
     * @param codePayloads the schedules whose payload factory this node has
     */
    Mono<Duration> nextSlotIn(Collection<String> codePayloads);

    /**
     * {@link SqlName#ScheduleLockDue}, {@link SqlName#JobInsertMany}, {@link SqlName#ScheduleAdvance}
     * in one transaction: locks at most {@code limit} schedules due within {@code lead} that no
     * other node holds, asks
     * {@code plan} what each gets, inserts all their jobs and moves each to its next slot. A
     * schedule for which {@code plan} throws is left as it was (and its error passed on) only if
     * it is the only one; otherwise the caller's plan must not throw.
     *
     * @param signalChannel where the insert notifies nodes of due jobs; null: nobody
     * @return one entry per schedule locked (fewer than {@code limit}: no more are due)
     */
    Mono<List<Fired>> fireDue(Collection<String> codePayloads, Duration lead, int limit,
                              Function<ScheduleRow, Firing> plan, @Nullable String signalChannel);

    /** {@link SqlName#ScheduleInsert}: adds a schedule; empty if one of that name exists. */
    Mono<Optional<ScheduleRow>> insert(ScheduleWrite schedule, Function<Instant, NewSlots> slots);

    /** {@link SqlName#ScheduleUpsert}: adds a schedule or replaces the definition of the one of that name. */
    Mono<ScheduleRow> upsert(ScheduleWrite schedule, Function<Instant, NewSlots> slots);

    /** {@link SqlName#ScheduleUpdate}: replaces a schedule's definition; empty if it does not exist. */
    Mono<Optional<ScheduleRow>> update(ScheduleWrite schedule, Function<Instant, NewSlots> slots);

    /**
     * {@link SqlName#ScheduleLock} then {@link SqlName#SchedulePause}: pauses schedule {@code name},
     * or resumes it from the slot {@code resumeAt} computes from the locked row (its {@code now} is
     * the database's); a schedule already in that state stays as it is. Empty: no such schedule.
     */
    Mono<Optional<ScheduleRow>> setPaused(String name, boolean paused, BiFunction<ScheduleRow, Instant, Instant> resumeAt);

    /**
     * {@link SqlName#ScheduleLock}, {@link SqlName#JobInsertMany}, {@link SqlName#ScheduleTriggered}:
     * enqueues the job {@code job} makes from the locked schedule, now. Empty: no such schedule.
     */
    Mono<Optional<Triggered>> trigger(String name, Function<ScheduleRow, EncodedJob> job,
                                      @Nullable String signalChannel);

    /** {@link SqlName#ScheduleDelete}: whether schedule {@code name} existed. */
    Mono<Boolean> delete(String name);

    /** {@link SqlName#ScheduleFind}. */
    Mono<Optional<ScheduleRow>> find(String name);

    /** {@link SqlName#ScheduleList}: at most {@code limit} schedules in name order after {@code after} (null: the first). */
    Mono<List<ScheduleRow>> list(@Nullable String after, int limit);
}
