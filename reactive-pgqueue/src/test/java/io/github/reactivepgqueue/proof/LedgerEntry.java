package io.github.reactivepgqueue.proof;

import io.github.reactivepgqueue.Job;
import io.github.reactivepgqueue.internal.ClaimedRow;
import java.util.UUID;

/**
 * What a test handler recorded about one claim: that it started, or that it returned success.
 *
 * @param key   the job, attempt and reprocess count of the claim
 * @param lease the claim's lease token (a job given back unrun by a stop is claimed again under
 *              the same key, but never under the same lease), or null if the job did not show it
 * @param node  the node (worker) that ran the handler
 */
public record LedgerEntry(RunKey key, UUID lease, Event event, String node) {

    /** The two moments a handler records. */
    public enum Event {
        /** The handler was called. */
        START,
        /** The handler is about to return {@code Outcome.success()}. */
        SUCCESS
    }

    /** The lease token of the claim {@code job} comes from, or null. */
    static UUID leaseOf(Job job) {
        return job instanceof ClaimedRow row ? row.lease() : null;
    }

    /** One claim: its key, and its lease when known. */
    public record Claim(RunKey key, UUID lease) {
    }

    /** The claim this entry is about. */
    public Claim claim() {
        return new Claim(key, lease);
    }
}
