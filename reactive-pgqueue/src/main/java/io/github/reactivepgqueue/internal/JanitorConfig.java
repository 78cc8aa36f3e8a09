package io.github.reactivepgqueue.internal;

import java.time.Duration;

/** The janitor's options. */
public record JanitorConfig(boolean enabled, Duration interval, int batchSize, Duration archiveRetention,
                            Duration deadRetention) {
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);
    public static final Duration DEFAULT_ARCHIVE_RETENTION = Duration.ofDays(7);
    public static final Duration DEFAULT_DEAD_RETENTION = Duration.ofDays(30);

    public JanitorConfig {
        Config.Check.positive("janitorInterval", interval);
        Config.Check.atLeast("maintenanceBatchSize", batchSize, 1);
        Config.Check.positive("archiveRetention", archiveRetention);
        Config.Check.positive("deadLetterRetention", deadRetention);
    }
}
