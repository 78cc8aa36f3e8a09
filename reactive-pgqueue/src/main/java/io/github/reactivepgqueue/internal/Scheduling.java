package io.github.reactivepgqueue.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.DeclaredSchedules;
import io.github.reactivepgqueue.DuplicateScheduleException;
import io.github.reactivepgqueue.EnqueueResult;
import io.github.reactivepgqueue.MissedSlots;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.NoSuchScheduleException;
import io.github.reactivepgqueue.Schedule;
import io.github.reactivepgqueue.ScheduleInfo;
import io.github.reactivepgqueue.SchedulePayload;
import io.github.reactivepgqueue.internal.store.PgJobStore;
import io.github.reactivepgqueue.internal.store.ScheduleStore;
import io.github.reactivepgqueue.internal.store.ScheduleStore.NewSlots;
import io.github.reactivepgqueue.internal.store.ScheduleStore.ScheduleRow;
import io.github.reactivepgqueue.internal.store.ScheduleStore.ScheduleWrite;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Schedules as the API sees them: adds, changes and reads them through the {@link ScheduleStore},
 * tells every node of each change (a {@link Signal#SCHEDULES} signal), and makes a slot's job. The
 * payload factories declared on this node live here; only schedules whose payload is stored, or
 * whose factory this node has, are enqueued by it.
 */
public final class Scheduling {
    /** Slots never come, for a timing with no more (a cron expression for 30 February). */
    static final Instant NEVER = Instant.parse("9999-12-31T00:00:00Z");
    private static final int PAGE = 1_000;

    private final ScheduleStore store;
    private final JobEncoder encoder;
    private final ObjectMapper mapper;
    private final Signals signals;
    private final QueueMetrics metrics;
    private final @Nullable String notifyChannel;
    private final Map<String, SchedulePayload> factories = new ConcurrentHashMap<>();

    Scheduling(ScheduleStore store, JobEncoder encoder, ObjectMapper mapper, Signals signals, QueueMetrics metrics,
               @Nullable String notifyChannel, Collection<Schedule> declared) {
        this.store = store;
        this.encoder = encoder;
        this.mapper = mapper;
        this.signals = signals;
        this.metrics = metrics;
        this.notifyChannel = notifyChannel;
        declared.forEach(this::registerFactory);
    }

    ScheduleStore store() {
        return store;
    }

    @Nullable String notifyChannel() {
        return notifyChannel;
    }

    /** The schedules whose payload factory this node has. */
    Set<String> factoryNames() {
        return factories.keySet();
    }

    private void registerFactory(Schedule schedule) {
        schedule.payloadFactory().ifPresent(f -> factories.put(schedule.name(), f));
    }

    /** Upserts the schedules declared on the builder, by {@code policy}. */
    Mono<Void> declare(Collection<Schedule> declared, DeclaredSchedules policy) {
        if (declared.isEmpty()) {
            return Mono.empty();
        }
        return Flux.fromIterable(declared)
                .concatMap(s -> policy == DeclaredSchedules.CODE_WINS
                        ? store.upsert(write(s), now -> newSlots(s, now))
                        : store.insert(write(s), now -> newSlots(s, now)))
                .then(changed());
    }

    public Mono<ScheduleInfo> add(Schedule schedule) {
        return Mono.defer(() -> store.insert(write(schedule), now -> newSlots(schedule, now)))
                .flatMap(row -> present(row, () -> new DuplicateScheduleException(schedule.name())))
                .doOnNext(row -> registerFactory(schedule))
                .flatMap(this::changed);
    }

    public Mono<ScheduleInfo> put(Schedule schedule) {
        return Mono.defer(() -> store.upsert(write(schedule), now -> newSlots(schedule, now)))
                .doOnNext(row -> registerFactory(schedule))
                .flatMap(this::changed);
    }

    public Mono<ScheduleInfo> update(Schedule schedule) {
        return Mono.defer(() -> store.update(write(schedule), now -> newSlots(schedule, now)))
                .flatMap(row -> present(row, () -> new NoSuchScheduleException(schedule.name())))
                .doOnNext(row -> registerFactory(schedule))
                .flatMap(this::changed);
    }

    /** Pauses ({@code paused}) or resumes a schedule; a resumed one goes on with its first slot after now. */
    public Mono<ScheduleInfo> setPaused(String name, boolean paused) {
        return store.setPaused(name, paused, (row, now) -> nextAfter(timing(row, row.startsAt()), now))
                .flatMap(row -> present(row, () -> new NoSuchScheduleException(name)))
                .flatMap(this::changed);
    }

    public Mono<Boolean> remove(String name) {
        return store.delete(name).flatMap(existed -> existed ? changed().thenReturn(true) : Mono.just(false));
    }

    public Mono<ScheduleInfo> find(String name) {
        return store.find(name).flatMap(Mono::justOrEmpty).map(this::info);
    }

    public Flux<ScheduleInfo> list() {
        return store.list(null, PAGE)
                .expand(page -> page.size() < PAGE ? Mono.empty()
                        : store.list(page.get(page.size() - 1).name(), PAGE))
                .flatMapIterable(page -> page)
                .map(this::info);
    }

    /** Enqueues a job of the schedule now, outside its slots; its slot is now (the database's time). */
    public Mono<EnqueueResult> trigger(String name) {
        return store.trigger(name, row -> job(row, row.now()), notifyChannel)
                .flatMap(t -> present(t, () -> new NoSuchScheduleException(name)))
                .doOnNext(t -> {
                    if (t.row().inserted()) {
                        metrics.enqueued(t.job().queue());
                    }
                })
                .map(t -> t.row().inserted() ? new EnqueueResult.Enqueued(t.job().id())
                        : new EnqueueResult.Duplicate(Objects.requireNonNull(t.row().holderId(), "holder"),
                                Objects.requireNonNull(t.job().uniqueKey(), "key")));
    }

    /** The value, or {@code error} when there is none (the schedule exists already, or does not). */
    private static <T> Mono<T> present(Optional<T> value, Supplier<RuntimeException> error) {
        return value.map(Mono::just).orElseGet(() -> Mono.error(error.get()));
    }

    private Mono<ScheduleInfo> changed(ScheduleRow row) {
        return changed().thenReturn(info(row));
    }

    /** Every node looks up its next slot again; a lost signal waits for the next check. */
    private Mono<Void> changed() {
        return signals.send(EnumSet.of(Signal.SCHEDULES)).onErrorResume(e -> Mono.empty());
    }

    // ---- slots and jobs

    /** The job of {@code slot} of a locked schedule. */
    EncodedJob job(ScheduleRow row, Instant slot) {
        Object payload;
        if (row.payloadFromCode()) {
            SchedulePayload factory = factories.get(row.name());
            if (factory == null) {
                throw new IllegalStateException("The payload factory of schedule '" + row.name()
                        + "' is not declared on this node");
            }
            payload = factory.payload(row.name(), slot);
        } else {
            payload = readTree(row.payloadJson());
        }
        NewJob job = NewJob.of(row.queue(), payload).runAt(slot).priority(row.priority())
                .uniqueKey(row.uniqueKey().replace("{name}", row.name()).replace("{slot}", slot.toString()));
        return encoder.encode(row.maxAttempts() != null ? job.maxAttempts(row.maxAttempts()) : job);
    }

    private JsonNode readTree(String json) {
        try {
            return mapper.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("Stored payload is not JSON", e);
        }
    }

    /** The slots of a stored schedule; an interval's are counted from its start, else from its next slot. */
    static Slots timing(ScheduleRow row, @Nullable Instant startAt) {
        if (row.cron() != null) {
            return Slots.cron(row.cron(), ZoneId.of(Objects.requireNonNullElse(row.timeZone(), "UTC")), startAt);
        }
        long every = Objects.requireNonNull(row.everyMicros(), "every_micros");
        return Slots.every(every, startAt != null ? startAt : row.nextSlot(), startAt);
    }

    /** What a due schedule gets now (slots up to {@code lead} ahead included), by its policy. */
    static SlotPlan plan(ScheduleRow row, Duration lead) {
        return SlotPlan.of(timing(row, row.startsAt()), row.nextSlot(), row.now(), lead, missed(row),
                Duration.ofNanos(Math.multiplyExact(row.onTimeMicros(), 1_000L)));
    }

    private static Instant nextAfter(Slots slots, Instant now) {
        return Objects.requireNonNullElse(slots.after(now), NEVER);
    }

    /** The first slot of a new schedule, and its next slot if its timing changed, from the database's time. */
    static NewSlots newSlots(Schedule s, Instant now) {
        Instant start = s.startAt().orElse(null);
        Slots slots;
        Instant first;
        if (s.cron().isPresent()) {
            slots = Slots.cron(s.cron().get(), s.zone(), start);
            first = start != null ? slots.atOrAfter(start) : slots.after(now);
            if (first == null) {
                throw new IllegalArgumentException("Schedule '" + s.name() + "': cron '" + s.cron().get()
                        + "' names no time after " + (start != null ? start : now));
            }
        } else {
            long every = PgJobStore.micros(s.every().orElseThrow());
            first = start != null ? start : now.plusNanos(every * 1_000L);
            slots = Slots.every(every, first, start);
        }
        Instant afterChange = start != null || s.cron().isPresent() ? nextAfter(slots, now) : first;
        return new NewSlots(first, afterChange);
    }

    private ScheduleWrite write(Schedule s) {
        String payloadJson = s.payloadFactory().isPresent() ? "{}"
                : encoder.encode(NewJob.of(s.queue(), s.payload())).payloadJson();
        MissedSlots missed = s.missed();
        return new ScheduleWrite(s.name(), s.queue(), s.cron().orElse(null),
                s.cron().isPresent() ? s.zone().getId() : null,
                s.every().map(PgJobStore::micros).orElse(null), s.startAt().orElse(null), payloadJson,
                s.payloadFactory().isPresent(), s.priority(), s.maxAttempts().orElse(null), s.uniqueKey(),
                missed instanceof MissedSlots.Skip ? "skip" : missed instanceof MissedSlots.RunOnce ? "run_once"
                        : "catch_up",
                missed instanceof MissedSlots.CatchUp c ? c.n() : 0, PgJobStore.micros(s.onTimeWithin()));
    }

    private static MissedSlots missed(ScheduleRow row) {
        return switch (row.missed()) {
            case "skip" -> MissedSlots.skip();
            case "catch_up" -> MissedSlots.catchUp(row.catchUp());
            default -> MissedSlots.runOnce();
        };
    }

    private ScheduleInfo info(ScheduleRow r) {
        return new ScheduleInfo(r.name(), r.queue(), r.cron(),
                r.timeZone() != null ? ZoneId.of(r.timeZone()) : ZoneOffset.UTC,
                r.everyMicros() != null ? Duration.ofNanos(Math.multiplyExact(r.everyMicros(), 1_000L)) : null,
                r.startsAt(), r.payloadFromCode(), r.payloadJson(), r.priority(), r.maxAttempts(), r.uniqueKey(),
                missed(r), Duration.ofNanos(Math.multiplyExact(r.onTimeMicros(), 1_000L)), r.paused(), r.nextSlot(),
                r.lastSlot(), r.lastJob(), r.lastEnqueuedAt(), r.missedSlots(), r.createdAt(), r.updatedAt());
    }
}
