package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.internal.store.JobStore;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * The reaper and the janitor. The reaper rescues running jobs whose heartbeat has stalled; the
 * janitor moves finished jobs out of the live table (completed ones to the archive, dead ones to
 * the dead-letter table) and deletes archived and dead jobs past their retention. Every step is
 * one statement over a bounded batch, repeated while batches come back full; any number of nodes
 * may run them at once.
 */
public final class Maintenance {
    private static final Logger log = LoggerFactory.getLogger(Maintenance.class);

    /** What one pass of the reaper did. */
    public record Rescued(int pending, int failed, int badJobs) {
        public int total() {
            return pending + failed + badJobs;
        }
    }

    private final JobStore store;
    private final Signals signals;
    private final ReaperConfig reaperConfig;
    private final JanitorConfig janitorConfig;
    private final RepeatingTask reaper;
    private static final Rescued NOTHING = new Rescued(0, 0, 0);
    /** Whether the reaper's last run failed (the database may be unreachable). */
    private final AtomicBoolean unreachable = new AtomicBoolean();
    /** When the database answered again after a failure (System.nanoTime, a local delay only); 0: never. */
    private final AtomicLong backAt = new AtomicLong();
    private final RepeatingTask janitor;
    private final QueueMetrics metrics;

    public Maintenance(JobStore store, Signals signals, ReaperConfig reaperConfig, JanitorConfig janitorConfig,
                       Scheduler timer, QueueMetrics metrics) {
        this.store = store;
        this.signals = signals;
        this.reaperConfig = reaperConfig;
        this.janitorConfig = janitorConfig;
        this.metrics = metrics;
        this.reaper = new RepeatingTask("Rescuing stalled jobs", reaperConfig.interval(), this::rescueUnlessJustBack,
                log, timer);
        this.janitor = new RepeatingTask("Moving and deleting finished jobs", janitorConfig.interval(),
                () -> moveFinished().then(deleteExpired()), log, timer);
    }

    /** Starts the reaper, and the janitor unless it is switched off. */
    public void start() {
        reaper.start(reaperConfig.interval(), Flux.never());
        if (janitorConfig.enabled()) {
            janitor.start(Duration.ZERO, Flux.never());
        }
    }

    public void stop() {
        reaper.stop();
        janitor.stop();
    }

    /**
     * The reaper loop's run. After a failed run the database may be unreachable, and then every
     * heartbeat failed too: right after it comes back, every running job looks stalled, on this
     * node as on others. So after a failure the next runs only probe the database, and once it
     * answers, rescuing waits one more stall timeout, which lets the heartbeats catch up.
     */
    private Mono<Rescued> rescueUnlessJustBack() {
        if (unreachable.get()) {
            return store.probe()
                    .then(Mono.fromSupplier(() -> {
                        backAt.set(System.nanoTime());
                        unreachable.set(false);
                        return NOTHING;
                    }));
        }
        long back = backAt.get();
        if (back != 0 && System.nanoTime() - back < reaperConfig.stallTimeout().toNanos()) {
            return Mono.just(NOTHING);
        }
        return rescueStalled().doOnError(e -> unreachable.set(true));
    }

    /** Rescues every job stalled right now; nodes serving the queues of jobs back to pending are told to claim. */
    public Mono<Rescued> rescueStalled() {
        Mono<List<JobStore.RescuedJob>> batch = store.rescueStalled(reaperConfig.stallTimeout(),
                reaperConfig.reprocessLimit(), reaperConfig.batchSize());
        return batch.expand(rows -> rows.size() >= reaperConfig.batchSize() ? batch : Mono.empty())
                .flatMapIterable(Function.identity())
                .collectList()
                .flatMap(rows -> {
                    Set<String> dueQueues = new LinkedHashSet<>();
                    int pending = 0;
                    int failed = 0;
                    for (JobStore.RescuedJob row : rows) {
                        metrics.rescued(row.queue(), row.status());
                        if (row.status() == JobStatus.PENDING) {
                            pending++;
                            dueQueues.add(row.queue());
                        } else if (row.status() == JobStatus.FAILED) {
                            failed++;
                        }
                    }
                    Rescued r = new Rescued(pending, failed, rows.size() - pending - failed);
                    if (r.total() == 0) {
                        return Mono.just(r);
                    }
                    log.warn("Rescued {} stalled jobs: {} back to pending, {} failed on their last attempt, "
                            + "{} poison (bad_job)", r.total(), r.pending(), r.failed(), r.badJobs());
                    Set<Signal> finished = r.failed() + r.badJobs() > 0 ? EnumSet.of(Signal.FINISHED)
                            : EnumSet.noneOf(Signal.class);
                    return signals.send(finished, dueQueues).thenReturn(r);
                });
    }

    /** Moves every finished job out of the live table; emits how many were moved. */
    public Mono<Long> moveFinished() {
        Mono<JobStore.MovedJobs> batch = Mono.defer(() -> store.moveFinished(janitorConfig.batchSize()));
        return batch.expand(n -> n.total() >= janitorConfig.batchSize() ? batch : Mono.empty())
                .reduce(0L, (sum, n) -> sum + n.total());
    }

    /** Deletes archived and dead jobs past their retention; emits how many were deleted. */
    public Mono<Long> deleteExpired() {
        return repeatWhileFull(() -> store.deleteArchived(janitorConfig.archiveRetention(), janitorConfig.batchSize()))
                .zipWith(repeatWhileFull(() -> store.deleteDead(janitorConfig.deadRetention(), janitorConfig.batchSize())),
                        Long::sum);
    }

    private Mono<Long> repeatWhileFull(Supplier<Mono<Long>> batch) {
        return batch.get().expand(n -> n >= janitorConfig.batchSize() ? batch.get() : Mono.empty()).reduce(0L, Long::sum);
    }
}
