package io.github.reactivepgqueue.internal;

/** What one depth sample found: the number of queues with pending jobs. */
record DepthSamplerResult(int queues) {
}
