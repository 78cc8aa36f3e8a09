package io.github.reactivepgqueue.internal;

import java.time.Duration;

/**
 * The listener's options.
 *
 * @param checkInterval how often the listening connection proves it still listens
 * @param checkTimeout  how long that proof (and connecting) may take before the connection counts as dead
 */
public record ListenerConfig(Duration checkInterval, Duration checkTimeout) {
    public static final Duration DEFAULT_CHECK_INTERVAL = Duration.ofSeconds(10);
    public static final Duration DEFAULT_CHECK_TIMEOUT = Duration.ofSeconds(5);

    public ListenerConfig {
        ConfigCheck.positive("listenerCheck interval", checkInterval);
        ConfigCheck.positive("listenerCheck timeout", checkTimeout);
    }
}
