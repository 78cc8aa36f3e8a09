package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.MissedSlots;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What a due schedule gets when a node finds it, by its missed-slot policy: the slots that get a
 * job (oldest first), its next slot, and how many of its due slots were missed. The due slots are
 * those from its stored next slot up to a horizon: now (the database's time) plus a short lead,
 * so that the job of a slot about to come is enqueued just before it, to run at it. The latest
 * due slot is on time if now is at most the on-time window after it (a slot still to come is);
 * every other due slot is missed. A plan is a pure
 * function of its inputs, so any node computes the same.
 *
 * @param slots  the slots that get a job, oldest first
 * @param next   the schedule's next slot: the first after the horizon (null: the timing has no more)
 * @param missed how many due slots were missed (at most {@link #MAX_COUNTED} are counted at once)
 */
record SlotPlan(List<Instant> slots, @Nullable Instant next, long missed) {
    /** Missed slots of a cron schedule are counted one by one up to this many per plan. */
    static final int MAX_COUNTED = 10_000;

    static SlotPlan of(Slots timing, Instant nextSlot, Instant now, Duration lead, MissedSlots policy,
                       Duration onTimeWithin) {
        Instant horizon = now.plus(lead);
        Instant latest = timing.atOrBefore(horizon);
        if (nextSlot.isAfter(horizon) || latest == null || latest.isBefore(nextSlot)) {
            // not due (or the stored next slot lies off the timing, as after a change: it is due
            // at its time and counts as the one slot)
            if (!nextSlot.isAfter(horizon)) {
                return new SlotPlan(List.of(nextSlot), timing.after(horizon), 0);
            }
            return new SlotPlan(List.of(), nextSlot, 0);
        }
        boolean onTime = !now.isAfter(latest.plus(onTimeWithin));
        int wanted = 1 + (policy instanceof MissedSlots.CatchUp c ? c.n() : 0);
        // the latest due slots, newest first, as many as the policy may run
        Deque<Instant> tail = new ArrayDeque<>();
        Instant slot = latest;
        while (slot != null && !slot.isBefore(nextSlot) && tail.size() < wanted) {
            tail.addFirst(slot);
            slot = timing.atOrBefore(slot.minusNanos(1_000L));
        }
        boolean counted = slot == null || slot.isBefore(nextSlot);
        long due = counted ? tail.size() : count(timing, nextSlot, horizon);
        long missed = onTime ? due - 1 : due;
        List<Instant> run = new ArrayList<>(tail.size());
        if (policy instanceof MissedSlots.Skip) {
            if (onTime) {
                run.add(latest);
            }
        } else if (policy instanceof MissedSlots.RunOnce) {
            run.add(latest);
        } else {
            int n = ((MissedSlots.CatchUp) policy).n();
            List<Instant> missedTail = new ArrayList<>(tail);
            if (onTime) {
                missedTail.remove(missedTail.size() - 1);
            }
            run.addAll(missedTail.subList(Math.max(0, missedTail.size() - n), missedTail.size()));
            if (onTime) {
                run.add(latest);
            }
        }
        return new SlotPlan(run, timing.after(horizon), missed);
    }

    /** The due slots from {@code from} to {@code until}, counted up to {@link #MAX_COUNTED}. */
    private static long count(Slots timing, Instant from, Instant until) {
        long n = 0;
        for (Instant s = timing.atOrAfter(from); s != null && !s.isAfter(until) && n < MAX_COUNTED; s = timing.after(s)) {
            n++;
        }
        return n;
    }
}
