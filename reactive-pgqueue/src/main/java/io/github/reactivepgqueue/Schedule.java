package io.github.reactivepgqueue;

import io.github.reactivepgqueue.internal.Config;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A recurring job: a name (unique in the schema), a queue, the payload of its jobs, and when they
 * run: a cron expression read in a time zone, or a fixed interval. Every slot (a time the timing
 * names) gets exactly one job across all nodes; slots no node could enqueue in time follow the
 * schedule's {@link MissedSlots} policy. Immutable; every option method returns a copy.
 *
 * <pre>{@code
 * Schedule.cron("nightly-report", "reports", "30 2 * * *")
 *         .zone(ZoneId.of("Europe/Berlin"))
 *         .payload(Map.of("kind", "daily"))
 *         .missed(MissedSlots.catchUp(3));
 * Schedule.every("sync", "sync", Duration.ofMinutes(5));
 * }</pre>
 *
 * <p>A slot's job runs at the slot ({@link Job#runAt()} is the slot's time) and carries the unique
 * key {@code schedule:<name>:<slot>} unless {@link #uniqueKey(String)} says otherwise. See
 * docs/recurring-jobs.md for the cron syntax, time zones and daylight-saving rules.
 *
 * @since 0.1.0
 */
public final class Schedule {
    /** The unique key pattern of a schedule's jobs unless it sets its own. */
    public static final String DEFAULT_UNIQUE_KEY = "schedule:{name}:{slot}";
    /** How late a slot may be enqueued and still count as on time, unless a schedule sets it. */
    public static final Duration DEFAULT_ON_TIME_WITHIN = Duration.ofMinutes(1);
    /** The shortest interval of {@link #every}. */
    public static final Duration MIN_INTERVAL = Duration.ofMillis(1);
    /** The longest schedule name, in UTF-8 bytes. */
    public static final int MAX_NAME_BYTES = 255;

    private final String name;
    private final String queue;
    private final @Nullable String cron;
    private final ZoneId zone;
    private final @Nullable Duration every;
    private final @Nullable Instant startAt;
    private final Object payload;
    private final @Nullable SchedulePayload payloadFactory;
    private final int priority;
    private final @Nullable Integer maxAttempts;
    private final String uniqueKey;
    private final MissedSlots missed;
    private final Duration onTimeWithin;

    private Schedule(String name, String queue, @Nullable String cron, ZoneId zone, @Nullable Duration every,
                     @Nullable Instant startAt, Object payload, @Nullable SchedulePayload payloadFactory,
                     int priority, @Nullable Integer maxAttempts, String uniqueKey, MissedSlots missed,
                     Duration onTimeWithin) {
        this.name = name;
        this.queue = queue;
        this.cron = cron;
        this.zone = zone;
        this.every = every;
        this.startAt = startAt;
        this.payload = payload;
        this.payloadFactory = payloadFactory;
        this.priority = priority;
        this.maxAttempts = maxAttempts;
        this.uniqueKey = uniqueKey;
        this.missed = missed;
        this.onTimeWithin = onTimeWithin;
    }

    /**
     * A schedule whose slots are the times {@code expression} matches, read in UTC unless
     * {@link #zone} says otherwise. Five fields (minute hour day-of-month month day-of-week, as
     * Unix cron) or six (a seconds field first, as Spring), or a nickname: {@code @yearly},
     * {@code @annually}, {@code @monthly}, {@code @weekly}, {@code @daily}, {@code @midnight},
     * {@code @hourly}.
     *
     * @throws IllegalArgumentException if the name, the queue name or the expression is invalid
     */
    public static Schedule cron(String name, String queue, String expression) {
        Objects.requireNonNull(expression, "expression");
        String problem = Config.cronProblem(expression);
        if (problem != null) {
            throw new IllegalArgumentException("Schedule '" + name + "': " + problem);
        }
        return new Schedule(checkedName(name), checkedQueue(name, queue), expression.trim(), ZoneOffset.UTC, null,
                null, Map.of(), null, 0, null, DEFAULT_UNIQUE_KEY, MissedSlots.runOnce(), DEFAULT_ON_TIME_WITHIN);
    }

    /**
     * A schedule whose slots are {@code interval} apart: from its {@link #startAt start} if it
     * has one, else the first slot comes one interval after the schedule is added.
     *
     * @throws IllegalArgumentException if the name or queue name is invalid, or the interval is
     *                                  shorter than {@link #MIN_INTERVAL}
     */
    public static Schedule every(String name, String queue, Duration interval) {
        Objects.requireNonNull(interval, "interval");
        if (interval.compareTo(MIN_INTERVAL) < 0) {
            throw new IllegalArgumentException("Schedule '" + name + "': the interval must be at least "
                    + MIN_INTERVAL + ", not " + interval);
        }
        return new Schedule(checkedName(name), checkedQueue(name, queue), null, ZoneOffset.UTC, interval, null,
                Map.of(), null, 0, null, DEFAULT_UNIQUE_KEY, MissedSlots.runOnce(), DEFAULT_ON_TIME_WITHIN);
    }

    private static String checkedName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isBlank() || name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_NAME_BYTES
                || name.chars().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException("A schedule name must be 1 to " + MAX_NAME_BYTES
                    + " UTF-8 bytes, not blank, without control characters: '" + name + "'");
        }
        return name;
    }

    private static String checkedQueue(String name, String queue) {
        Objects.requireNonNull(queue, "queue");
        String problem = Config.queueNameProblem(queue);
        if (problem != null) {
            throw new IllegalArgumentException("Schedule '" + name + "': " + problem);
        }
        return queue;
    }

    /** The zone a cron expression is read in (UTC by default); an interval schedule ignores it. */
    public Schedule zone(ZoneId zone) {
        return new Schedule(name, queue, cron, Objects.requireNonNull(zone, "zone"), every, startAt, payload,
                payloadFactory, priority, maxAttempts, uniqueKey, missed, onTimeWithin);
    }

    /**
     * No slot before {@code startAt}; an interval schedule's slots are counted from it. A start in
     * the past makes the slots since then missed ones, handled by the {@link #missed} policy.
     */
    public Schedule startAt(Instant startAt) {
        return new Schedule(name, queue, cron, zone, every, Objects.requireNonNull(startAt, "startAt"), payload,
                payloadFactory, priority, maxAttempts, uniqueKey, missed, onTimeWithin);
    }

    /** The payload of every job (a {@code JsonNode} or a JSON-serializable object); {@code {}} by default. */
    public Schedule payload(Object payload) {
        return new Schedule(name, queue, cron, zone, every, startAt, Objects.requireNonNull(payload, "payload"),
                null, priority, maxAttempts, uniqueKey, missed, onTimeWithin);
    }

    /**
     * Each job's payload made in code for its slot. Only nodes that declare this schedule on their
     * builder enqueue its slots, so declare it on every node that should.
     */
    public Schedule payload(SchedulePayload factory) {
        return new Schedule(name, queue, cron, zone, every, startAt, Map.of(), Objects.requireNonNull(factory,
                "factory"), priority, maxAttempts, uniqueKey, missed, onTimeWithin);
    }

    /** The priority of every job (lower runs first); 0 by default. */
    public Schedule priority(int priority) {
        return new Schedule(name, queue, cron, zone, every, startAt, payload, payloadFactory, priority, maxAttempts,
                uniqueKey, missed, onTimeWithin);
    }

    /** The maximum attempts of every job; the queue's default unless set. */
    public Schedule maxAttempts(int maxAttempts) {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, not " + maxAttempts);
        }
        return new Schedule(name, queue, cron, zone, every, startAt, payload, payloadFactory, priority, maxAttempts,
                uniqueKey, missed, onTimeWithin);
    }

    /**
     * The unique key of every job, with {@code {name}} and {@code {slot}} (the slot's ISO-8601
     * instant) filled in; {@value #DEFAULT_UNIQUE_KEY} by default. A pattern without {@code {slot}}
     * lets one job of the schedule be live at a time: a slot whose key a pending or running job
     * still holds gets no job of its own.
     */
    public Schedule uniqueKey(String pattern) {
        Objects.requireNonNull(pattern, "pattern");
        if (pattern.isEmpty()) {
            throw new IllegalArgumentException("A unique key pattern must not be empty");
        }
        return new Schedule(name, queue, cron, zone, every, startAt, payload, payloadFactory, priority, maxAttempts,
                pattern, missed, onTimeWithin);
    }

    /** What happens to missed slots; {@link MissedSlots#runOnce()} by default. */
    public Schedule missed(MissedSlots missed) {
        return new Schedule(name, queue, cron, zone, every, startAt, payload, payloadFactory, priority, maxAttempts,
                uniqueKey, Objects.requireNonNull(missed, "missed"), onTimeWithin);
    }

    /**
     * How late a slot may be enqueued and still be on time rather than missed; a minute by default.
     *
     * @throws IllegalArgumentException if negative
     */
    public Schedule onTimeWithin(Duration window) {
        Objects.requireNonNull(window, "window");
        if (window.isNegative()) {
            throw new IllegalArgumentException("onTimeWithin must not be negative: " + window);
        }
        return new Schedule(name, queue, cron, zone, every, startAt, payload, payloadFactory, priority, maxAttempts,
                uniqueKey, missed, window);
    }

    public String name() {
        return name;
    }

    public String queue() {
        return queue;
    }

    /** The cron expression; empty for an interval schedule. */
    public Optional<String> cron() {
        return Optional.ofNullable(cron);
    }

    public ZoneId zone() {
        return zone;
    }

    /** The interval; empty for a cron schedule. */
    public Optional<Duration> every() {
        return Optional.ofNullable(every);
    }

    public Optional<Instant> startAt() {
        return Optional.ofNullable(startAt);
    }

    /** The payload of every job; {@code {}} when a factory makes them. */
    public Object payload() {
        return payload;
    }

    public Optional<SchedulePayload> payloadFactory() {
        return Optional.ofNullable(payloadFactory);
    }

    public int priority() {
        return priority;
    }

    public Optional<Integer> maxAttempts() {
        return Optional.ofNullable(maxAttempts);
    }

    public String uniqueKey() {
        return uniqueKey;
    }

    public MissedSlots missed() {
        return missed;
    }

    public Duration onTimeWithin() {
        return onTimeWithin;
    }

    @Override
    public String toString() {
        return "Schedule[" + name + " -> " + queue + ", " + (cron != null ? "cron '" + cron + "' in " + zone
                : "every " + every) + (startAt != null ? ", from " + startAt : "") + ", missed: " + missed + "]";
    }
}
