package io.github.reactivepgqueue.internal;

/** What one liveness probe of the listener found: whether a fresh connection could LISTEN and prove it. */
record ListenerResult(boolean listening) {
}
