package io.github.reactivepgqueue.internal;

import java.time.Duration;

/** The awaiter's options. */
public record AwaiterConfig(Duration checkInterval) {
    public AwaiterConfig {
        Config.Check.positive("pollInterval", checkInterval);
    }
}
