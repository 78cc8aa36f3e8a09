package io.github.reactivepgqueue.internal;

import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The slots of a schedule's timing: the times a cron expression names in a time zone, or those a
 * fixed interval apart from an anchor.
 *
 * <p>A cron expression names wall-clock times in its zone, and each wall-clock time it matches is
 * one slot. Where daylight-saving time makes a wall-clock time not exist (clocks jump forward),
 * its slot comes after the gap, shifted by the gap's length (02:30 becomes 03:30), and is one slot
 * with any other at that instant; where it happens twice (clocks go back), its slot is the first
 * occurrence. Cron-utils reads the expressions; the zone rule is applied here, by evaluating the
 * expression on wall-clock times (in UTC, which has no daylight saving) and placing each match in
 * the zone with {@link ZonedDateTime#ofLocal}.
 */
abstract class Slots {
    private static final CronParser FIVE_FIELDS =
            new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));
    private static final CronParser SIX_FIELDS =
            new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.SPRING53));
    private static final Map<String, String> NICKNAMES = Map.of(
            "@yearly", "0 0 1 1 *", "@annually", "0 0 1 1 *", "@monthly", "0 0 1 * *", "@weekly", "0 0 * * 0",
            "@daily", "0 0 * * *", "@midnight", "0 0 * * *", "@hourly", "0 * * * *");
    /** Matches that map to an instant not after the one asked about (at most a few, around a repeated hour). */
    private static final int MAX_STEPS = 1_000;
    private static final long MICRO = 1_000L;

    /** The first slot after {@code t}, or null if there is none. */
    abstract @Nullable Instant after(Instant t);

    /** The last slot at or before {@code t}, or null if there is none. */
    abstract @Nullable Instant atOrBefore(Instant t);

    /** The first slot at or after {@code t}, or null. */
    final @Nullable Instant atOrAfter(Instant t) {
        return after(t.minusNanos(MICRO));
    }

    /** Why {@code expression} is not a cron expression this library reads, or null if it is. */
    static @Nullable String cronProblem(String expression) {
        try {
            parse(expression);
            return null;
        } catch (IllegalArgumentException e) {
            return "'" + expression + "' is not a cron expression of 5 fields (minute hour day-of-month month "
                    + "day-of-week), 6 (seconds first) or a nickname such as @daily: " + e.getMessage();
        }
    }

    static Cron parse(String expression) {
        String trimmed = expression.trim();
        String nickname = NICKNAMES.get(trimmed.toLowerCase(Locale.ROOT));
        if (nickname != null) {
            return FIVE_FIELDS.parse(nickname);
        }
        int fields = trimmed.isEmpty() ? 0 : trimmed.split("\\s+").length;
        if (fields == 5) {
            return FIVE_FIELDS.parse(trimmed);
        }
        if (fields == 6) {
            return SIX_FIELDS.parse(trimmed);
        }
        throw new IllegalArgumentException("it has " + fields + " fields");
    }

    /** The slots of a cron expression in {@code zone}, none before {@code startAt} (if set). */
    static Slots cron(String expression, ZoneId zone, @Nullable Instant startAt) {
        return new CronSlots(ExecutionTime.forCron(parse(expression)), zone, startAt);
    }

    /** The slots {@code everyMicros} apart, one of them at {@code anchor}, none before {@code startAt} (if set). */
    static Slots every(long everyMicros, Instant anchor, @Nullable Instant startAt) {
        return new IntervalSlots(everyMicros, micros(anchor), startAt == null ? Long.MIN_VALUE : micros(startAt));
    }

    static long micros(Instant t) {
        return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1_000L);
    }

    static Instant instant(long micros) {
        return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L);
    }

    private static final class IntervalSlots extends Slots {
        private final long every;
        private final long anchor;
        private final long start;

        IntervalSlots(long every, long anchor, long start) {
            this.every = every;
            this.anchor = anchor;
            this.start = start;
        }

        @Override
        @Nullable Instant after(Instant t) {
            long at = micros(t);
            long next = anchor + (Math.floorDiv(at - anchor, every) + 1) * every;
            if (next < start) {
                next = anchor + Math.floorDiv(start - anchor + every - 1, every) * every;
            }
            return instant(next);
        }

        @Override
        @Nullable Instant atOrBefore(Instant t) {
            long at = micros(t);
            long last = anchor + Math.floorDiv(at - anchor, every) * every;
            return last < start ? null : instant(last);
        }
    }

    private static final class CronSlots extends Slots {
        private final ExecutionTime execution;
        private final ZoneId zone;
        private final @Nullable Instant startAt;

        CronSlots(ExecutionTime execution, ZoneId zone, @Nullable Instant startAt) {
            this.execution = execution;
            this.zone = zone;
            this.startAt = startAt;
        }

        @Override
        @Nullable Instant after(Instant t) {
            Instant from = startAt != null && t.isBefore(startAt) ? startAt.minusNanos(MICRO) : t;
            LocalDateTime local = LocalDateTime.ofInstant(from, zone);
            for (int i = 0; i < MAX_STEPS; i++) {
                Optional<ZonedDateTime> match = execution.nextExecution(local.atZone(ZoneOffset.UTC));
                if (match.isEmpty()) {
                    return null;
                }
                local = match.get().toLocalDateTime();
                Instant slot = ZonedDateTime.ofLocal(local, zone, null).toInstant();
                if (slot.isAfter(from)) {
                    return slot;
                }
            }
            throw new IllegalStateException("No slot found after " + t);
        }

        @Override
        @Nullable Instant atOrBefore(Instant t) {
            // matches fall on whole seconds: the last one before the next second is at or before t
            LocalDateTime local = LocalDateTime.ofInstant(t, zone).truncatedTo(ChronoUnit.SECONDS).plusSeconds(1);
            for (int i = 0; i < MAX_STEPS; i++) {
                Optional<ZonedDateTime> match = execution.lastExecution(local.atZone(ZoneOffset.UTC));
                if (match.isEmpty()) {
                    return null;
                }
                local = match.get().toLocalDateTime();
                Instant slot = ZonedDateTime.ofLocal(local, zone, null).toInstant();
                if (!slot.isAfter(t)) {
                    return startAt != null && slot.isBefore(startAt) ? null : slot;
                }
            }
            throw new IllegalStateException("No slot found before " + t);
        }
    }
}
