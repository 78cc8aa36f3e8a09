package io.github.reactivepgqueue.internal;

/** What one pass of the reaper did: stalled jobs back to pending, failed on their last attempt, and poison. */
record ReaperResult(int pending, int failed, int badJobs) {
    static final ReaperResult NOTHING = new ReaperResult(0, 0, 0);

    public int total() {
        return pending + failed + badJobs;
    }
}
