package io.github.reactivepgqueue.internal;

import java.time.Duration;

/**
 * The worker's claim loop options.
 *
 * @param batchSize         most jobs one claim statement takes per queue
 * @param claimsInFlight    how many claim statements may be in flight at once
 * @param pollInterval      how often the node claims when nothing else wakes it
 * @param globalConcurrency most jobs running at once on the node, over all queues
 */
public record ClaimConfig(int batchSize, int claimsInFlight, Duration pollInterval, int globalConcurrency) {
    public static final int DEFAULT_BATCH_SIZE = 1000;
    public static final int DEFAULT_CLAIMS_IN_FLIGHT = 2;
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);
    public static final int DEFAULT_GLOBAL_CONCURRENCY = 500;

    public ClaimConfig {
        ConfigCheck.atLeast("globalConcurrency", globalConcurrency, 1);
        ConfigCheck.atLeast("claimBatchSize", batchSize, 1);
        ConfigCheck.atLeast("claimsInFlight", claimsInFlight, 1);
        ConfigCheck.positive("pollInterval", pollInterval);
    }
}
