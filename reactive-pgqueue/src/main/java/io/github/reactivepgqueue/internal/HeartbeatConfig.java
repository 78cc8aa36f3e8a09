package io.github.reactivepgqueue.internal;

import java.time.Duration;

/** The heartbeat's options. */
public record HeartbeatConfig(Duration interval) {
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(5);

    public HeartbeatConfig {
        Config.Check.positive("heartbeatInterval", interval);
    }
}
