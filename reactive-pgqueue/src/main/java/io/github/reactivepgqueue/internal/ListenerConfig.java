package io.github.reactivepgqueue.internal;

import java.time.Duration;

/** The listener's options. */
public record ListenerConfig(boolean enabled, Duration checkInterval, Duration checkTimeout) {
    public static final Duration DEFAULT_CHECK_INTERVAL = Duration.ofSeconds(10);
    public static final Duration DEFAULT_CHECK_TIMEOUT = Duration.ofSeconds(5);

    public ListenerConfig {
        Config.Check.positive("listenerCheck interval", checkInterval);
        Config.Check.positive("listenerCheck timeout", checkTimeout);
    }
}
