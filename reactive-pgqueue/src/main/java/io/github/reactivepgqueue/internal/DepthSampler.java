package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.internal.Config.DepthSamplerConfig;
import io.github.reactivepgqueue.internal.store.JobStore;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Samples the pending jobs of every queue for the depth gauges: one statement per interval (never
 * one per scrape), only while metrics are on and the queue is started; a failed sample is logged
 * once per incident and the gauges keep their last values. The statement counts through the claim
 * index up to a bound per queue and priority ({@link JobStore#DEPTH_DUE_EXACT_UP_TO}, {@link
 * JobStore#DEPTH_SCHEDULED_EXACT_UP_TO}) and estimates above it, so its cost does not grow with the
 * backlog.
 */
final class DepthSampler {
    private static final Logger log = LoggerFactory.getLogger(DepthSampler.class);

    private final JobStore store;
    private final QueueMetrics metrics;
    private final ServiceLoop<DepthSamplerResult> loop;

    public DepthSampler(JobStore store, QueueMetrics metrics, DepthSamplerConfig config, Scheduler scheduler) {
        this.store = store;
        this.metrics = metrics;
        this.loop = new ServiceLoop<>("Sampling queue depths", config.interval(), this::runOnce, log, scheduler);
    }

    /** Starts sampling: the first sample at once, then every interval. */
    public void start() {
        loop.start(Duration.ZERO, Flux.never());
    }

    public void stop() {
        loop.stop();
    }

    /** The loop's runs, for tests to await. */
    public ServiceLoop<DepthSamplerResult> loop() {
        return loop;
    }

    /** Takes one sample and hands it to the metrics. */
    public Mono<DepthSamplerResult> runOnce() {
        return store.queueDepth()
                .doOnNext(metrics::queueDepths)
                .map(depths -> new DepthSamplerResult(depths.size()));
    }
}
