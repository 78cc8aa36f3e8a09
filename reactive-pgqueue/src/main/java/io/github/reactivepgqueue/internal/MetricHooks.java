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

    /** One outcome statement of {@code kind} for {@code rows} gave them {@code statuses}; null for the stale ones. */
    static void written(QueueMetrics metrics, OutcomeWrite.Kind kind, List<OutcomeWrite> rows,
                        Completer.Statuses statuses) {
        if (metrics == QueueMetrics.NONE) {
            return;
        }
        for (OutcomeWrite row : rows) {
            String s = statuses.of(row.job().id());
            if (s == null) {
                metrics.staleWrite(row.job().queue());
            } else {
                WrittenOutcome outcome = WrittenOutcome.of(kind, s);
                if (outcome != null) {
                    metrics.written(row.job().queue(), outcome);
                }
            }
        }
    }
}
