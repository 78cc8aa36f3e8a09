package io.github.reactivepgqueue.internal;

/** What one look-up of awaited jobs did: jobs looked up, and waiters resolved (finished or missing). */
record AwaiterResult(int looked, int resolved) {
}
