package io.github.reactivepgqueue.internal;

import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Sinks;

/**
 * The per-queue concurrency limit of one node: a count of free permits, taken in bulk before a
 * claim and given back one by one as jobs finish. Non-blocking: nothing ever waits for a permit,
 * the fetcher claims only what is free, and every release is signalled through a sink so the
 * fetcher can claim again at once.
 */
final class QueueLimiter {
    private final String queue;
    private final int limit;
    private final AtomicInteger free;
    private final Sinks.Many<String> released;

    QueueLimiter(String queue, int limit, Sinks.Many<String> released) {
        this.queue = queue;
        this.limit = limit;
        this.free = new AtomicInteger(limit);
        this.released = released;
    }

    String queue() {
        return queue;
    }

    int limit() {
        return limit;
    }

    int available() {
        return free.get();
    }

    /** Takes up to {@code wanted} permits and returns how many were taken. */
    int tryAcquire(int wanted) {
        while (true) {
            int current = free.get();
            int taken = Math.min(current, wanted);
            if (taken <= 0) {
                return 0;
            }
            if (free.compareAndSet(current, current - taken)) {
                return taken;
            }
        }
    }

    /** Gives back permits a claim reserved but did not use; no signal, as nothing new is free. */
    void returnUnused(int count) {
        if (count > 0 && free.addAndGet(count) > limit) {
            throw new IllegalStateException("Queue " + queue + " returned more permits than it took");
        }
    }

    /** Gives back the permit of a finished job and signals that the queue has room. */
    void release() {
        if (free.incrementAndGet() > limit) {
            throw new IllegalStateException("Queue " + queue + " released more permits than it took");
        }
        Bursts.signal(released, this::signalReleased);
    }

    private void signalReleased() {
        synchronized (released) {
            // A wake-up that cannot be delivered is dropped on purpose: wake-ups coalesce.
            released.tryEmitNext(queue);
        }
    }

    /** A sink for release signals shared by several limiters. */
    static Sinks.Many<String> releaseSignals() {
        return Sinks.many().multicast().directBestEffort();
    }
}
