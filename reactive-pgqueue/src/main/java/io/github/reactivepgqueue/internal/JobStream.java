package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.Backoff;
import io.github.reactivepgqueue.ClaimedJob;
import io.github.reactivepgqueue.Job;
import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.internal.store.JobStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * One subscription of {@code queue.jobs(...)}: claims as many jobs as the subscriber requested,
 * hands each out as a {@link ClaimedJob} on the delivery scheduler (where handlers run; it also
 * signals the end of {@code complete()}), and on cancellation, error or completion gives every
 * claimed job that was not completed back to pending with its attempt restored. A job cancelled
 * while claimed keeps its unique key until the consumer completes it (with any outcome; the write
 * finds it cancelled and lets go of its lease, see {@link Completer}) or the stream ends.
 */
final class JobStream {
    private static final Logger log = LoggerFactory.getLogger(JobStream.class);

    private final JobClaimer claimer;
    private final Completer completer;
    private final Leases leases;
    private final Signals signals;
    private final JobStore store;
    private final List<String> queues;
    private final Function<String, Backoff> backoffs;
    private final int claimBatchSize;
    private final Duration pollInterval;
    private final Scheduler timer;
    private final Scheduler delivery;
    private final Flux<Notice> notices;
    private final AtomicLong demand = new AtomicLong();
    private final Map<UUID, ClaimedRow> unfinished = new ConcurrentHashMap<>();
    /** The lease of each job handed out and not yet finished here, for {@link ClaimedJob#lost()}. */
    private final Map<UUID, Leases.Held> holds = new ConcurrentHashMap<>();
    private final Sinks.Many<Object> wakeups = Sinks.many().multicast().directBestEffort();
    private final IncidentLog incidents = new IncidentLog(log, "Claiming jobs for queue.jobs()");
    private boolean closed;
    /** Ends when the latest claim has settled its rows (kept, or given back because the stream closed). */
    private Mono<Void> claiming = Mono.empty();
    private @Nullable Mono<Void> released;

    public JobStream(JobClaimer claimer, Completer completer, Leases leases, Signals signals, JobStore store,
                     List<String> queues, Function<String, Backoff> backoffs, int claimBatchSize, Duration pollInterval,
                     Scheduler timer, Scheduler delivery, Flux<Notice> notices) {
        this.claimer = claimer;
        this.completer = completer;
        this.leases = leases;
        this.signals = signals;
        this.store = store;
        this.queues = List.copyOf(queues);
        this.backoffs = backoffs;
        this.claimBatchSize = claimBatchSize;
        this.pollInterval = pollInterval;
        this.timer = timer;
        this.delivery = delivery;
        this.notices = notices;
    }

    /** The stream of claimed jobs; subscribe once. */
    public Flux<ClaimedJob> flux() {
        return Flux.create(sink -> {
            sink.onRequest(n -> {
                demand.getAndUpdate(d -> d + n < 0 ? Long.MAX_VALUE : d + n);
                wake();
            });
            // Jobs enqueued to run later are claimed when due: their notifications set the timer, and
            // when the listener (re)connects, notifications may have been missed, so the next due
            // time is looked up. What neither tells of (other nodes' retries) waits for the poll.
            DueTimer dueTimer = new DueTimer(timer, this::wake);
            sink.onDispose(Flux.<Object>merge(Flux.interval(Duration.ZERO, pollInterval, timer), wakeups.asFlux(),
                            notices.filter(n -> n.wakes(queues)),
                            notices.filter(n -> n.schedules(queues)).doOnNext(n -> dueTimer.arm(n.dueIn())).then(),
                            notices.filter(n -> n.is(Signal.CONNECTED))
                                    .concatMap(n -> dueTimer.armFrom(store.nextDue(queues))
                                            .onErrorResume(e -> Mono.empty()), 0)
                                    .then())
                    .doFinally(signal -> dueTimer.stop())
                    .onBackpressureLatest()
                    .concatMap(tick -> claimForDemand(sink), 1)
                    .subscribe(null, sink::error));
        });
    }

    private Mono<Void> claimForDemand(FluxSink<ClaimedJob> sink) {
        long wanted = Math.min(demand.get(), claimBatchSize);
        if (wanted <= 0 || isClosed()) {
            // Closed: its jobs went back, and a tick that comes before the subscription ends (the
            // release's own notification wakes it) must not claim them again, even to give them
            // straight back: for that moment they would be running.
            return Mono.empty();
        }
        int n = (int) wanted;
        Map<String, Integer> limits = new LinkedHashMap<>();
        queues.forEach(q -> limits.put(q, n));
        return claimUnlessClosed(limits, n)
                // hand the jobs out where handlers run, never on the driver's event loop
                .transform(this::delivered)
                .doOnNext(jobs -> {
                    incidents.succeeded();
                    demand.addAndGet(-jobs.size());
                    jobs.forEach(job -> sink.next(new Claimed(job)));
                    if (jobs.size() == n && demand.get() > 0) {
                        wake();
                    }
                })
                .onErrorResume(e -> {
                    // what no retry mends ends the stream; the rest is retried at the next tick
                    if (JobStore.retryCannotHelp(e)) {
                        incidents.gaveUp(e);
                        return Mono.error(e);
                    }
                    incidents.failed(e);
                    return Mono.empty();
                })
                .then();
    }

    private synchronized boolean isClosed() {
        return closed;
    }

    /**
     * A claim that runs to its end even if the tick that asked for it is cancelled (a statement
     * cancelled midway may commit anyway, leaving rows claimed that nobody sees), and that the
     * stream's release waits for: a claim already under way when the stream closes gives its rows
     * back itself ({@link #adopt}), and the queue's close must not return before it did.
     */
    private Mono<List<ClaimedRow>> claimUnlessClosed(Map<String, Integer> limits, int n) {
        return Shielded.runToEnd(Mono.defer(() -> {
            Sinks.Empty<Void> settled = Sinks.empty();
            synchronized (this) {
                if (closed) {
                    return Mono.just(List.<ClaimedRow>of());
                }
                claiming = settled.asMono();
            }
            return claimer.claim(limits, n).flatMap(this::adopt).doFinally(signal -> settled.tryEmitEmpty());
        }));
    }

    /**
     * Registers claimed rows as unfinished (also rows whose completion could not be written), or
     * gives them straight back if the stream is over.
     */
    private Mono<List<ClaimedRow>> adopt(List<ClaimedRow> jobs) {
        synchronized (this) {
            if (!closed) {
                jobs.forEach(job -> {
                    unfinished.put(job.id(), job);
                    holds.put(job.id(), leases.hold(job));
                });
                return Mono.just(jobs);
            }
        }
        return release(jobs).thenReturn(List.of());
    }

    /**
     * Gives every unfinished job back; a claim under way gives its jobs back when it ends, and no
     * claim starts after. Every call awaits the same release (including that claim's), so the
     * queue's close waits for it even when the stream's own end started it.
     */
    public Mono<Void> releaseAll() {
        return Mono.defer(() -> {
            synchronized (this) {
                if (released == null) {
                    closed = true;
                    List<ClaimedRow> rest = new ArrayList<>(unfinished.values());
                    unfinished.clear();
                    released = Mono.when(release(rest), claiming).cache();
                }
                return released;
            }
        });
    }

    /**
     * Gives {@code jobs} back to pending; those it cannot give back because they were cancelled
     * while claimed (the cancel left their lease in place to hold their unique key while the
     * consumer might still work on them) are let go of instead: the stream is done with them.
     */
    private Mono<Void> release(List<ClaimedRow> jobs) {
        if (jobs.isEmpty()) {
            return Mono.empty();
        }
        List<JobStore.JobLease> leases = jobs.stream().map(j -> new JobStore.JobLease(j.id(), j.lease())).toList();
        return store.releaseMany(leases)
                .flatMap(statuses -> {
                    List<JobStore.JobLease> notReleased = leases.stream().filter(l -> statuses.of(l.id()) == null)
                            .toList();
                    return notReleased.isEmpty() ? Mono.<Void>empty() : store.letGoMany(notReleased).then();
                })
                .doOnSuccess(v -> {
                    log.debug("Released {} unfinished jobs of queue.jobs({})", jobs.size(), queues);
                    jobs.stream().map(ClaimedRow::queue).distinct().forEach(signals::postDue);
                })
                // released or not, this node lets go: if the release failed, the reaper rescues them
                .doFinally(signal -> jobs.forEach(this::drop))
                .onErrorResume(e -> {
                    log.warn("Releasing {} unfinished jobs of queue.jobs({}) failed; the reaper will rescue them (or "
                            + "let go of those cancelled meanwhile): {}", jobs.size(), queues, ErrorText.summary(e));
                    return Mono.empty();
                });
    }

    /**
     * {@code signal} published on the delivery scheduler; once the queue's close has disposed that
     * scheduler, on the parallel one, so a late completion still fails with its own error.
     */
    private <T> Mono<T> delivered(Mono<T> signal) {
        return Mono.defer(() -> signal.publishOn(delivery.isDisposed() ? Schedulers.parallel() : delivery));
    }

    private void drop(ClaimedRow job) {
        leases.drop(job);
        holds.computeIfPresent(job.id(), (id, h) -> h.job() == job ? null : h);
    }

    private void wake() {
        synchronized (wakeups) {
            wakeups.tryEmitNext(Boolean.TRUE);
        }
    }

    private final class Claimed implements ClaimedJob {
        private final ClaimedRow row;

        Claimed(ClaimedRow row) {
            this.row = row;
        }

        @Override
        public Job job() {
            return row;
        }

        @Override
        public Mono<Void> complete(Outcome outcome) {
            Objects.requireNonNull(outcome, "outcome");
            return Mono.defer(() -> unfinished.remove(row.id(), row)
                    ? Mono.fromRunnable(() -> leases.finishing(row))
                            .then(completer.write(row, Transition.of(row, outcome, backoffs.apply(row.queue()))))
                            .doOnSuccess(v -> drop(row))
                            // an outcome given up is let go of: the reaper rescues the job
                            .onErrorResume(e -> (e instanceof Completer.OutcomeAbandoned
                                    ? Mono.fromRunnable(() -> drop(row))
                                    : adopt(List.of(row))).then(Mono.error(e)))
                    : Mono.error(new IllegalStateException(row + " is already completed or was released")))
                    .transform(JobStream.this::delivered);
        }

        @Override
        public Mono<Void> lost() {
            return Mono.defer(() -> {
                Leases.Held held = holds.get(row.id());
                return held == null || held.job() != row ? Mono.<Void>never()
                        : held.stopped().flatMap(why -> why == Leases.Stop.LOST || why == Leases.Stop.EXPIRED
                                ? Mono.just(why) : Mono.never())
                                .then();
            }).transform(JobStream.this::delivered);
        }

        @Override
        public String toString() {
            return "ClaimedJob[" + row + "]";
        }
    }
}
