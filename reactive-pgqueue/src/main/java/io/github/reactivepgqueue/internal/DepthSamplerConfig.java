package io.github.reactivepgqueue.internal;

import java.time.Duration;

/** The queue-depth sampler's options. */
public record DepthSamplerConfig(Duration interval) {
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(15);

    public DepthSamplerConfig {
        Config.Check.positive("queueDepthInterval", interval);
    }
}
