package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.internal.Config.ReaperConfig;
import io.github.reactivepgqueue.internal.store.JobStore;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Rescues running jobs whose heartbeat has stalled: back to pending, or failed on their last
 * attempt, or {@code bad_job} past the reprocess limit. Also lets go of the leases of cancelled
 * jobs that no node let go of within the stall timeout, which frees their unique keys. Each is one
 * statement over a bounded batch, repeated while batches come back full; any number of nodes may
 * run them at once.
 */
final class Reaper {
    private static final Logger log = LoggerFactory.getLogger(Reaper.class);

    private final JobStore store;
    private final Signals signals;
    private final ReaperConfig config;
    private final QueueMetrics metrics;
    private final ServiceLoop<ReaperResult> loop;
    /** Whether the loop's last run failed (the database may be unreachable). */
    private final AtomicBoolean unreachable = new AtomicBoolean();
    /** When the database answered again after a failure (System.nanoTime, a local delay only); 0: never. */
    private final AtomicLong backAt = new AtomicLong();

    public Reaper(JobStore store, Signals signals, ReaperConfig config, Scheduler scheduler, QueueMetrics metrics) {
        this.store = store;
        this.signals = signals;
        this.config = config;
        this.metrics = metrics;
        this.loop = new ServiceLoop<>("Rescuing stalled jobs", config.interval(), this::rescueUnlessJustBack, log,
                scheduler);
    }

    /** Starts the loop: the first run one interval from now. */
    public void start() {
        loop.start(config.interval(), Flux.never());
    }

    public void stop() {
        loop.stop();
    }

    /** The loop's runs, for tests to await. */
    public ServiceLoop<ReaperResult> loop() {
        return loop;
    }

    /**
     * The loop's run. After a failed run the database may be unreachable, and then every
     * heartbeat failed too: right after it comes back, every running job looks stalled, on this
     * node as on others. So after a failure the next runs only probe the database, and once it
     * answers, rescuing waits one more stall timeout, which lets the heartbeats catch up.
     */
    private Mono<ReaperResult> rescueUnlessJustBack() {
        if (unreachable.get()) {
            return store.probe()
                    .then(Mono.fromSupplier(() -> {
                        backAt.set(System.nanoTime());
                        unreachable.set(false);
                        return ReaperResult.NOTHING;
                    }));
        }
        long back = backAt.get();
        if (back != 0 && System.nanoTime() - back < config.stallTimeout().toNanos()) {
            return Mono.just(ReaperResult.NOTHING);
        }
        return runOnce().doOnError(e -> unreachable.set(true));
    }

    /**
     * Rescues every job stalled right now, nodes serving the queues of jobs back to pending told to
     * claim; and lets go of every cancelled job's lease that stalled.
     */
    public Mono<ReaperResult> runOnce() {
        // one after the other: the reaper takes one connection at a time
        return rescue().flatMap(rescued -> letGo().map(rescued::withLetGo));
    }

    /**
     * Lets go of the leases of cancelled jobs whose heartbeat is older than the stall timeout: the
     * node that ran them did not let go after stopping their handlers (it died or lost the
     * database), and their unique keys would stay held.
     */
    private Mono<Integer> letGo() {
        return Batches.repeatWhileFull(() -> store.letGoStalled(config.stallTimeout(), config.batchSize()),
                        config.batchSize())
                .map(n -> {
                    if (n > 0) {
                        log.info("Let go of the leases of {} cancelled jobs whose node did not within the stall timeout "
                                + "(it stopped or lost the database); their unique keys are free", n);
                    }
                    return n.intValue();
                });
    }

    private Mono<ReaperResult> rescue() {
        Mono<List<JobStore.RescuedJob>> batch = Mono.defer(() -> store.rescueStalled(config.stallTimeout(),
                config.reprocessLimit(), config.batchSize()));
        return batch.expand(rows -> rows.size() >= config.batchSize() ? batch : Mono.empty())
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
                    ReaperResult r = new ReaperResult(pending, failed, rows.size() - pending - failed, 0);
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
}
