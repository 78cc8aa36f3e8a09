package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.EnqueueResult;
import java.util.List;

/**
 * The metric hooks whose call sites hold more than the metrics need: they pick out the queue and
 * what happened, and cost nothing when metrics are off.
 */
final class MetricHooks {
    private MetricHooks() {
    }

    /** An enqueue returned {@code results} for {@code jobs} (same order): counts the stored ones. */
    static void enqueued(QueueMetrics metrics, List<EncodedJob> jobs, List<EnqueueResult> results) {
        if (metrics == QueueMetrics.NONE) {
            return;
        }
        for (int i = 0; i < results.size(); i++) {
            if (results.get(i) instanceof EnqueueResult.Enqueued) {
                metrics.enqueued(jobs.get(i).queue());
            }
        }
    }
}
