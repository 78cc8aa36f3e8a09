package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.internal.store.JobStore;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Mono;

/** Claims due jobs with one {@link JobStore#claim} statement. */
final class JobClaimer {
    private final JobStore store;
    private final QueueMetrics metrics;

    public JobClaimer(JobStore store, QueueMetrics metrics) {
        this.store = store;
        this.metrics = metrics;
    }

    /**
     * Claims at most {@code limits.get(queue)} jobs of each queue and at most {@code total} in all.
     * Callers must not cancel it midway: the statement may commit anyway, leaving rows claimed
     * that nobody sees (run it with {@link Shielded#runToEnd}).
     */
    Mono<List<ClaimedRow>> claim(Map<String, Integer> limits, int total) {
        return store.claim(limits, total, metrics != QueueMetrics.NONE).doOnNext(metrics::claimed);
    }

    /** How long until the earliest job of {@code queues} that is not due yet becomes due; empty: none. */
    Mono<Duration> nextDue(Collection<String> queues) {
        return store.nextDue(queues);
    }
}
