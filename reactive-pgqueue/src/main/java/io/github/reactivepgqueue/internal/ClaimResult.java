package io.github.reactivepgqueue.internal;

/** What one claim of the worker did: the jobs it claimed (0 when no permit was free or none was due). */
record ClaimResult(int claimed) {
}
