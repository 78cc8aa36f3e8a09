package io.github.reactivepgqueue.internal;

/** What one run of the janitor did: finished jobs moved out of the live table, and expired ones deleted. */
record JanitorResult(long moved, long deleted) {
}
