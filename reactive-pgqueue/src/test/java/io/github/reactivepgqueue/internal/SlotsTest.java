package io.github.reactivepgqueue.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.MissedSlots;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Slot arithmetic: cron in a zone with its daylight-saving rule, intervals, and the missed-slot policies. */
class SlotsTest {
    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

    private static Instant utc(String local) {
        return LocalDateTime.parse(local).toInstant(ZoneOffset.UTC);
    }

    private static Instant berlin(String local) {
        return LocalDateTime.parse(local).atZone(BERLIN).toInstant();
    }

    private static List<Instant> next(Slots slots, Instant from, int n) {
        List<Instant> out = new ArrayList<>();
        Instant t = from;
        for (int i = 0; i < n; i++) {
            t = slots.after(t);
            out.add(t);
        }
        return out;
    }

    @Test
    void fiveAndSixFieldExpressionsAndNicknamesNameTheirTimes() {
        assertThat(next(Slots.cron("*/15 * * * *", ZoneOffset.UTC, null), utc("2026-12-07T10:07:00"), 2))
                .containsExactly(utc("2026-12-07T10:15:00"), utc("2026-12-07T10:30:00"));
        assertThat(next(Slots.cron("*/20 * * * * *", ZoneOffset.UTC, null), utc("2026-12-07T10:00:00"), 2))
                .containsExactly(utc("2026-12-07T10:00:20"), utc("2026-12-07T10:00:40"));
        assertThat(Slots.cron("@daily", ZoneOffset.UTC, null).after(utc("2026-12-07T10:00:00")))
                .isEqualTo(utc("2026-12-08T00:00:00"));
        assertThat(Slots.cron("@HOURLY", ZoneOffset.UTC, null).after(utc("2026-12-07T10:00:00")))
                .isEqualTo(utc("2026-12-07T11:00:00"));
    }

    @Test
    void badExpressionsAreRefusedWithTheReason() {
        assertThat(Slots.cronProblem("0 * * * *")).isNull();
        assertThat(Slots.cronProblem("61 * * * *")).contains("61").contains("5 fields");
        assertThat(Slots.cronProblem("* * *")).contains("3 fields");
        assertThat(Slots.cronProblem("")).contains("0 fields");
        assertThat(Slots.cronProblem("@fortnightly")).isNotNull();
    }

    @Test
    void aSlotIsAtOrBeforeItselfAndAfterItsPredecessor() {
        Slots slots = Slots.cron("0 * * * *", ZoneOffset.UTC, null);
        Instant ten = utc("2026-12-07T10:00:00");
        assertThat(slots.atOrBefore(ten)).isEqualTo(ten);
        assertThat(slots.atOrBefore(ten.minusNanos(1_000))).isEqualTo(utc("2026-12-07T09:00:00"));
        assertThat(slots.atOrBefore(ten.plusMillis(1500))).isEqualTo(ten);
        assertThat(slots.atOrAfter(ten)).isEqualTo(ten);
        assertThat(slots.after(ten)).isEqualTo(utc("2026-12-07T11:00:00"));
    }

    @Test
    void aWallClockTimeInTheSpringGapFiresAfterTheGapShiftedByItsLength() {
        // 2026-03-29 in Berlin: 02:00 jumps to 03:00
        Slots daily = Slots.cron("30 2 * * *", BERLIN, null);
        assertThat(next(daily, berlin("2026-03-28T12:00:00"), 2))
                .containsExactly(berlin("2026-03-29T03:30:00"), berlin("2026-03-30T02:30:00"));
        // an hourly schedule: the 02:00 slot shifts onto 03:00, and they are one slot
        Slots hourly = Slots.cron("0 * * * *", BERLIN, null);
        assertThat(next(hourly, berlin("2026-03-29T00:30:00"), 3))
                .containsExactly(berlin("2026-03-29T01:00:00"), berlin("2026-03-29T03:00:00"),
                        berlin("2026-03-29T04:00:00"));
        assertThat(hourly.atOrBefore(berlin("2026-03-29T03:10:00"))).isEqualTo(berlin("2026-03-29T03:00:00"));
        assertThat(daily.atOrBefore(berlin("2026-03-29T03:10:00"))).isEqualTo(berlin("2026-03-28T02:30:00"));
    }

    @Test
    void aWallClockTimeThatHappensTwiceFiresAtItsFirstOccurrence() {
        // 2026-10-25 in Berlin: 03:00 goes back to 02:00; 02:30 happens at 00:30Z and at 01:30Z
        Slots daily = Slots.cron("30 2 * * *", BERLIN, null);
        Instant first = Instant.parse("2026-10-25T00:30:00Z");
        assertThat(next(daily, berlin("2026-10-24T12:00:00"), 2))
                .containsExactly(first, berlin("2026-10-26T02:30:00"));
        // asked from inside the repeated hour, the next 02:30 is tomorrow's
        assertThat(daily.after(Instant.parse("2026-10-25T01:10:00Z"))).isEqualTo(berlin("2026-10-26T02:30:00"));
        assertThat(daily.atOrBefore(Instant.parse("2026-10-25T01:40:00Z"))).isEqualTo(first);
        // hourly: the wall-clock hour 02:00 is one slot, so two real hours pass to 03:00
        Slots hourly = Slots.cron("0 * * * *", BERLIN, null);
        assertThat(next(hourly, Instant.parse("2026-10-24T23:30:00Z"), 2))
                .containsExactly(Instant.parse("2026-10-25T00:00:00Z"), Instant.parse("2026-10-25T02:00:00Z"));
    }

    @Test
    void noSlotComesBeforeTheStart() {
        Instant start = utc("2026-12-07T10:20:00");
        Slots cron = Slots.cron("*/15 * * * *", ZoneOffset.UTC, start);
        assertThat(cron.after(utc("2026-12-07T09:00:00"))).isEqualTo(utc("2026-12-07T10:30:00"));
        assertThat(cron.atOrBefore(utc("2026-12-07T10:25:00"))).isNull();
        assertThat(cron.atOrAfter(start)).isEqualTo(utc("2026-12-07T10:30:00"));

        Slots every = Slots.every(Duration.ofMinutes(10).toNanos() / 1000, start, start);
        assertThat(every.after(utc("2026-12-07T09:00:00"))).isEqualTo(start);
        assertThat(every.after(start)).isEqualTo(utc("2026-12-07T10:30:00"));
        assertThat(every.atOrBefore(utc("2026-12-07T10:19:59"))).isNull();
        assertThat(every.atOrBefore(utc("2026-12-07T10:39:59"))).isEqualTo(utc("2026-12-07T10:30:00"));
    }

    @Test
    void anIntervalCountsFromItsAnchor() {
        Instant anchor = Instant.parse("2026-12-07T10:00:00.250Z");
        Slots every = Slots.every(1_000_000, anchor, null);
        assertThat(every.after(anchor)).isEqualTo(anchor.plusSeconds(1));
        assertThat(every.after(anchor.minusSeconds(5).plusMillis(1))).isEqualTo(anchor.minusSeconds(4));
        assertThat(every.atOrBefore(anchor.plusMillis(2_999))).isEqualTo(anchor.plusSeconds(2));
    }

    // ---- missed-slot policies

    private static final Instant T0 = Instant.parse("2026-12-07T10:00:00Z");
    private static final Slots MINUTELY = Slots.every(60_000_000, T0, null);

    private static SlotPlan plan(Instant nextSlot, Instant now, MissedSlots policy) {
        return SlotPlan.of(MINUTELY, nextSlot, now, Duration.ZERO, policy, Duration.ofSeconds(10));
    }

    @Test
    void aSlotNotDueYetGetsNothing() {
        SlotPlan p = plan(T0, T0.minusMillis(1), MissedSlots.runOnce());
        assertThat(p.slots()).isEmpty();
        assertThat(p.next()).isEqualTo(T0);
        assertThat(p.missed()).isZero();
    }

    @Test
    void anOnTimeSlotRunsWhateverThePolicy() {
        for (MissedSlots policy : List.of(MissedSlots.skip(), MissedSlots.runOnce(), MissedSlots.catchUp(3))) {
            SlotPlan p = plan(T0, T0.plusSeconds(10), policy);
            assertThat(p.slots()).as("%s", policy).containsExactly(T0);
            assertThat(p.next()).isEqualTo(T0.plusSeconds(60));
            assertThat(p.missed()).isZero();
        }
    }

    @Test
    void aSlotWithinTheLeadIsEnqueuedAheadToRunAtItsTimeAndIsOnTime() {
        Instant now = T0.minusMillis(60);
        for (MissedSlots policy : List.of(MissedSlots.skip(), MissedSlots.runOnce(), MissedSlots.catchUp(3))) {
            SlotPlan p = SlotPlan.of(MINUTELY, T0, now, Duration.ofMillis(100), policy, Duration.ofSeconds(10));
            assertThat(p.slots()).as("%s", policy).containsExactly(T0);
            assertThat(p.missed()).isZero();
            assertThat(p.next()).isEqualTo(T0.plusSeconds(60));
        }
        assertThat(SlotPlan.of(MINUTELY, T0, T0.minusMillis(101), Duration.ofMillis(100), MissedSlots.runOnce(),
                Duration.ofSeconds(10)).slots()).as("beyond the lead").isEmpty();
    }

    @Test
    void skipRunsOnlyAnOnTimeSlot() {
        // five slots due (10:00 .. 10:04), now 10:04:05: 10:04 on time, four missed
        SlotPlan p = plan(T0, T0.plusSeconds(245), MissedSlots.skip());
        assertThat(p.slots()).containsExactly(T0.plusSeconds(240));
        assertThat(p.missed()).isEqualTo(4);
        assertThat(p.next()).isEqualTo(T0.plusSeconds(300));
        // now 10:04:30: the latest is late too, so nothing runs
        SlotPlan late = plan(T0, T0.plusSeconds(270), MissedSlots.skip());
        assertThat(late.slots()).isEmpty();
        assertThat(late.missed()).isEqualTo(5);
    }

    @Test
    void runOnceRunsOneJobForTheLatestSlot() {
        SlotPlan p = plan(T0, T0.plusSeconds(270), MissedSlots.runOnce());
        assertThat(p.slots()).containsExactly(T0.plusSeconds(240));
        assertThat(p.missed()).isEqualTo(5);
    }

    @Test
    void catchUpRunsTheLatestMissedSlotsOldestFirstAndTheOnTimeOne() {
        SlotPlan p = plan(T0, T0.plusSeconds(245), MissedSlots.catchUp(2));
        assertThat(p.slots()).containsExactly(T0.plusSeconds(120), T0.plusSeconds(180), T0.plusSeconds(240));
        assertThat(p.missed()).isEqualTo(4);
        SlotPlan all = plan(T0, T0.plusSeconds(270), MissedSlots.catchUp(100));
        assertThat(all.slots()).hasSize(5).first().isEqualTo(T0);
        assertThat(plan(T0, T0.plusSeconds(270), MissedSlots.catchUp(0)).slots()).isEmpty();
    }

    @Test
    void aLongOutageIsCountedWithoutWalkingEverySlot() {
        // a year of minutely slots missed: the plan stays cheap and counts up to its bound
        Instant now = T0.plus(Duration.ofDays(365)).plusSeconds(30);
        SlotPlan p = plan(T0, now, MissedSlots.catchUp(3));
        assertThat(p.slots()).hasSize(3);
        assertThat(p.missed()).isEqualTo(SlotPlan.MAX_COUNTED);
        assertThat(p.next()).isAfter(now);
    }

    /**
     * Nodes whose clocks are skewed agree on which slots are due because no part of the schedules
     * reads a node's clock: every slot is computed from the database's now() (or, for the timer,
     * from a delay the database computed).
     */
    @Test
    void noPartOfTheSchedulesReadsTheNodesClock() throws java.io.IOException {
        java.nio.file.Path main = java.nio.file.Path.of("src", "main", "java", "io", "github", "reactivepgqueue");
        for (String file : List.of("internal/Slots.java", "internal/SlotPlan.java", "internal/Scheduling.java",
                "internal/ScheduleRunner.java", "internal/store/PgScheduleStore.java", "Schedules.java")) {
            String source = java.nio.file.Files.readString(main.resolve(file));
            assertThat(source).as(file).doesNotContain("Instant.now(").doesNotContain("currentTimeMillis")
                    .doesNotContain("Clock.").doesNotContain("LocalDateTime.now(").doesNotContain("nanoTime(");
        }
    }
}
