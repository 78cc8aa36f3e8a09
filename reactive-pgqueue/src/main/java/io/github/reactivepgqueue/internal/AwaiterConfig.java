package io.github.reactivepgqueue.internal;

import java.time.Duration;

/**
 * The awaiter's options.
 *
 * @param checkInterval how often awaited jobs are looked up in case a signal was lost (the poll interval)
 */
public record AwaiterConfig(Duration checkInterval) {
    public static final Duration DEFAULT_CHECK_INTERVAL = ClaimConfig.DEFAULT_POLL_INTERVAL;

    public AwaiterConfig {
        ConfigCheck.positive("pollInterval", checkInterval);
    }
}
