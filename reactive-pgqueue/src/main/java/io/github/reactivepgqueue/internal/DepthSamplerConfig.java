package io.github.reactivepgqueue.internal;

import java.time.Duration;

/**
 * The queue-depth sampler's options.
 *
 * @param interval how often the pending jobs of every queue are counted (one grouped statement)
 */
public record DepthSamplerConfig(Duration interval) {
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(15);

    public DepthSamplerConfig {
        ConfigCheck.positive("queueDepthInterval", interval);
    }
}
