package io.github.reactivepgqueue.internal;

import java.time.Duration;

/**
 * The heartbeat's options.
 *
 * @param interval how often the leases of the jobs a node holds are refreshed (one statement for all)
 */
public record HeartbeatConfig(Duration interval) {
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(5);

    public HeartbeatConfig {
        ConfigCheck.positive("heartbeatInterval", interval);
    }
}
