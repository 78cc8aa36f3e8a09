package io.github.reactivepgqueue.internal;

import java.time.Duration;

/**
 * The janitor's options.
 *
 * @param enabled          whether started nodes run it (while on, successes are archived as they are written)
 * @param interval         how often it runs; each run moves everything finished, in batches
 * @param batchSize        most rows one of its statements handles
 * @param archiveRetention how long archived (completed) jobs are kept
 * @param deadRetention    how long dead-lettered jobs are kept
 */
public record JanitorConfig(boolean enabled, Duration interval, int batchSize, Duration archiveRetention,
                            Duration deadRetention) {
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);
    public static final int DEFAULT_BATCH_SIZE = ReaperConfig.DEFAULT_BATCH_SIZE;
    public static final Duration DEFAULT_ARCHIVE_RETENTION = Duration.ofDays(7);
    public static final Duration DEFAULT_DEAD_RETENTION = Duration.ofDays(30);

    public JanitorConfig {
        ConfigCheck.positive("janitorInterval", interval);
        ConfigCheck.atLeast("maintenanceBatchSize", batchSize, 1);
        ConfigCheck.positive("archiveRetention", archiveRetention);
        ConfigCheck.positive("deadLetterRetention", deadRetention);
    }
}
