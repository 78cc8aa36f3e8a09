package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.internal.Config.JanitorConfig;
import io.github.reactivepgqueue.internal.store.JobStore;
import java.time.Duration;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Moves finished jobs out of the live table (completed ones to the archive, dead ones to the
 * dead-letter table) and deletes archived and dead jobs past their retention. Every step is one
 * statement over a bounded batch, repeated while batches come back full; any number of nodes may
 * run it at once.
 */
final class Janitor {
    private static final Logger log = LoggerFactory.getLogger(Janitor.class);

    private final JobStore store;
    private final JanitorConfig config;
    private final ServiceLoop<JanitorResult> loop;

    public Janitor(JobStore store, JanitorConfig config, Scheduler scheduler) {
        this.store = store;
        this.config = config;
        this.loop = new ServiceLoop<>("Moving and deleting finished jobs", config.interval(), this::runOnce, log,
                scheduler);
    }

    /** Starts the loop, the first run at once, unless the janitor is switched off. */
    public void start() {
        if (config.enabled()) {
            loop.start(Duration.ZERO, Flux.never());
        }
    }

    public void stop() {
        loop.stop();
    }

    /** The loop's runs, for tests to await. */
    public ServiceLoop<JanitorResult> loop() {
        return loop;
    }

    /** Moves every finished job out of the live table, then deletes every expired one. */
    public Mono<JanitorResult> runOnce() {
        return moveFinished().zipWith(deleteExpired(), JanitorResult::new);
    }

    /** Moves every finished job out of the live table; emits how many were moved. */
    public Mono<Long> moveFinished() {
        return repeatWhileFull(() -> store.moveFinished(config.batchSize()).map(JobStore.MovedJobs::total));
    }

    /** Deletes archived and dead jobs past their retention; emits how many were deleted. */
    public Mono<Long> deleteExpired() {
        return repeatWhileFull(() -> store.deleteArchived(config.archiveRetention(), config.batchSize()))
                .zipWith(repeatWhileFull(() -> store.deleteDead(config.deadRetention(), config.batchSize())),
                        Long::sum);
    }

    private Mono<Long> repeatWhileFull(Supplier<Mono<Long>> batch) {
        return Batches.repeatWhileFull(batch, config.batchSize());
    }
}
