package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.internal.store.JobStore;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Samples the pending jobs of every queue for the depth gauges: one grouped statement per
 * interval (never one per scrape), only while metrics are on and the queue is started; a failed
 * sample is logged once per incident and the gauges keep their last values.
 */
public final class QueueDepthSampler {
    private static final Logger log = LoggerFactory.getLogger(QueueDepthSampler.class);

    private final JobStore store;
    private final QueueMetrics metrics;
    private final RepeatingTask task;

    public QueueDepthSampler(JobStore store, QueueMetrics metrics, Duration interval, Scheduler timer) {
        this.store = store;
        this.metrics = metrics;
        this.task = new RepeatingTask("Sampling queue depths", interval, this::sampleOnce, log, timer);
    }

    /** Starts sampling: the first sample at once, then every interval. */
    public void start() {
        task.start(Duration.ZERO, Flux.never());
    }

    public void stop() {
        task.stop();
    }

    /** Takes one sample and hands it to the metrics. */
    public Mono<Void> sampleOnce() {
        return store.queueDepth()
                .doOnNext(metrics::queueDepths)
                .then();
    }
}
