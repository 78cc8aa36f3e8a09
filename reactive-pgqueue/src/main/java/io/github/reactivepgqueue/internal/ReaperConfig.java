package io.github.reactivepgqueue.internal;

import java.time.Duration;

/** The reaper's options; the stall timeout is derived from the heartbeat's. */
public record ReaperConfig(Duration interval, Duration stallTimeout, int reprocessLimit, int batchSize) {
    public static final double DEFAULT_RESCUE_AFTER_MISSED_HEARTBEATS = 2.5;
    public static final int DEFAULT_REPROCESS_LIMIT = 100;
    public static final int DEFAULT_BATCH_SIZE = 1000;

    public ReaperConfig {
        Config.Check.positive("reaperInterval", interval);
        Config.Check.atLeast("reprocessLimit", reprocessLimit, 1);
        Config.Check.atLeast("maintenanceBatchSize", batchSize, 1);
    }

    /** {@code interval} null: the heartbeat interval. */
    public static ReaperConfig of(HeartbeatConfig heartbeat, double missedHeartbeats, Duration interval,
                                  int reprocessLimit, int batchSize) {
        if (!(missedHeartbeats >= 1.5) || Double.isInfinite(missedHeartbeats)) {
            throw new IllegalArgumentException("rescueAfterMissedHeartbeats must be a finite number of at least 1.5 but was "
                    + missedHeartbeats);
        }
        long stallMillis = (long) Math.ceil(heartbeat.interval().toMillis() * missedHeartbeats);
        return new ReaperConfig(interval != null ? interval : heartbeat.interval(), Duration.ofMillis(stallMillis),
                reprocessLimit, batchSize);
    }
}
