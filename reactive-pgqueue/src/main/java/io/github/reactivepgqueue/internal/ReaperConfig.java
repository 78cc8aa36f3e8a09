package io.github.reactivepgqueue.internal;

import java.time.Duration;

/**
 * The reaper's options.
 *
 * @param interval       how often it looks for stalled jobs
 * @param stallTimeout   a running job whose heartbeat is older than this is stalled
 * @param reprocessLimit a job rescued or rescheduled this many times ends {@code bad_job}
 * @param batchSize      most rows one rescue statement handles
 */
public record ReaperConfig(Duration interval, Duration stallTimeout, int reprocessLimit, int batchSize) {
    public static final double DEFAULT_RESCUE_AFTER_MISSED_HEARTBEATS = 2.5;
    public static final int DEFAULT_REPROCESS_LIMIT = 100;
    public static final int DEFAULT_BATCH_SIZE = 1000;

    public ReaperConfig {
        ConfigCheck.positive("reaperInterval", interval);
        ConfigCheck.positive("stallTimeout", stallTimeout);
        ConfigCheck.atLeast("reprocessLimit", reprocessLimit, 1);
        ConfigCheck.atLeast("maintenanceBatchSize", batchSize, 1);
    }

    /**
     * The reaper's options derived from the heartbeat's: the stall timeout is {@code missedHeartbeats}
     * heartbeat intervals (at least 1.5, so one slow beat is no stall), and the reaper runs every
     * heartbeat interval unless {@code interval} (nullable) says otherwise.
     */
    public static ReaperConfig derived(HeartbeatConfig heartbeat, double missedHeartbeats, Duration interval,
                                       int reprocessLimit, int batchSize) {
        if (!(missedHeartbeats >= 1.5) || Double.isInfinite(missedHeartbeats)) {
            throw new IllegalArgumentException("rescueAfterMissedHeartbeats must be a finite number of at least 1.5 "
                    + "but was " + missedHeartbeats);
        }
        long stallMillis = (long) Math.ceil(heartbeat.interval().toMillis() * missedHeartbeats);
        return new ReaperConfig(interval != null ? interval : heartbeat.interval(), Duration.ofMillis(stallMillis),
                reprocessLimit, batchSize);
    }
}
