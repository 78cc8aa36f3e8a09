package io.github.reactivepgqueue.internal;

/** What one depth sample found: the number of queues with pending jobs. */
public record DepthSamplerResult(int queues) {
}
