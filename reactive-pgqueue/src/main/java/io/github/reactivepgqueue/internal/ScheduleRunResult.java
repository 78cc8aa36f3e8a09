package io.github.reactivepgqueue.internal;

/**
 * What one run of the schedule runner did: due schedules it took, slot jobs it enqueued, slot
 * jobs it skipped because a live job held their unique key, slots it found missed.
 */
record ScheduleRunResult(long schedules, long enqueued, long held, long missed) {
    static final ScheduleRunResult NOTHING = new ScheduleRunResult(0, 0, 0, 0);
}
