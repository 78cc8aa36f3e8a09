package io.github.reactivepgqueue;

/**
 * What a schedule does with slots that passed while no node could enqueue them (every node was
 * down, the schedule was added with a start in the past, or the database was away). A slot is
 * missed when its job could not be enqueued within the schedule's on-time window
 * ({@link Schedule#onTimeWithin}, a minute by default) after the slot's time; a slot found within
 * it is on time and always runs. The default is {@link #runOnce()}.
 *
 * <ul>
 *   <li>{@link #skip()}: missed slots are not run; the schedule goes on with its next slot.</li>
 *   <li>{@link #runOnce()}: one job stands for all the missed slots (and the current one, if it is
 *       on time): it runs once, for the latest of them.</li>
 *   <li>{@link #catchUp(int) catchUp(n)}: the latest {@code n} missed slots each get their job,
 *       oldest first, and the current one too when on time; older missed slots are not run.</li>
 * </ul>
 *
 * <p>Missed slots are counted ({@link ScheduleInfo#missedSlots()}), whether or not the policy
 * runs them.
 *
 * @since 0.1.0
 */
public sealed interface MissedSlots permits MissedSlots.Skip, MissedSlots.RunOnce, MissedSlots.CatchUp {

    /** Missed slots are not run. */
    static MissedSlots skip() {
        return Skip.INSTANCE;
    }

    /** One job for all missed slots (the default). */
    static MissedSlots runOnce() {
        return RunOnce.INSTANCE;
    }

    /**
     * A job for each of the latest {@code n} missed slots, oldest first.
     *
     * @throws IllegalArgumentException if {@code n} is negative or above 10,000
     */
    static MissedSlots catchUp(int n) {
        return new CatchUp(n);
    }

    /** See {@link #skip()}. */
    enum Skip implements MissedSlots {
        INSTANCE;

        @Override
        public String toString() {
            return "skip";
        }
    }

    /** See {@link #runOnce()}. */
    enum RunOnce implements MissedSlots {
        INSTANCE;

        @Override
        public String toString() {
            return "runOnce";
        }
    }

    /**
     * See {@link #catchUp(int)}.
     *
     * @param n how many of the latest missed slots run, at most {@value #MAX}
     */
    record CatchUp(int n) implements MissedSlots {
        /** The most missed slots one schedule catches up on. */
        public static final int MAX = 10_000;

        public CatchUp {
            if (n < 0 || n > MAX) {
                throw new IllegalArgumentException("catchUp(n) takes 0 to " + MAX + " slots, not " + n);
            }
        }

        @Override
        public String toString() {
            return "catchUp(" + n + ")";
        }
    }
}
