package io.github.reactivepgqueue.internal;

import java.time.Duration;

/** The worker's claim loop options. */
public record ClaimConfig(int globalConcurrency, int batchSize, int claimsInFlight, Duration pollInterval) {
    public static final int DEFAULT_GLOBAL_CONCURRENCY = 500;
    public static final int DEFAULT_BATCH_SIZE = 1000;
    public static final int DEFAULT_CLAIMS_IN_FLIGHT = 2;
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);

    public ClaimConfig {
        Config.Check.atLeast("globalConcurrency", globalConcurrency, 1);
        Config.Check.atLeast("claimBatchSize", batchSize, 1);
        Config.Check.atLeast("claimsInFlight", claimsInFlight, 1);
        Config.Check.positive("pollInterval", pollInterval);
    }
}
