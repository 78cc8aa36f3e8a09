package io.github.reactivepgqueue.internal;

/**
 * What one pass of the reaper did: stalled jobs back to pending, failed on their last attempt, and
 * poison; and cancelled jobs whose lease it let go of (no node did within the stall timeout).
 */
record ReaperResult(int pending, int failed, int badJobs, int letGo) {
    static final ReaperResult NOTHING = new ReaperResult(0, 0, 0, 0);

    /** The stalled jobs rescued (leases let go of are not rescues). */
    public int total() {
        return pending + failed + badJobs;
    }

    ReaperResult withLetGo(int letGo) {
        return new ReaperResult(pending, failed, badJobs, letGo);
    }
}
