package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.internal.Config.ClaimConfig;
import io.github.reactivepgqueue.internal.store.ClaimShares;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

/**
 * The worker pipeline of one node. Wake-ups (the poll interval, freed permits, a claim that came
 * back full) trigger claims; each claim asks for no more jobs than there are free permits, globally
 * and per queue, in one statement; each claimed batch runs as one inner of a {@code flatMap}
 * bounded by the global concurrency, and each job holds its global and queue permits until its
 * outcome is written (so the jobs in flight never exceed the global concurrency).
 *
 * <p>Stopping: claiming stops at once; running jobs may finish within the grace period; then the
 * handlers still running are cancelled and their jobs released unrun.
 *
 * <p>The claim loop is not a {@link ServiceLoop}: up to {@code claimsInFlight} claims run at once
 * (one claim's round trips overlap another's), and a failed claim holds its slot through its pause,
 * where a service loop runs one task at a time. It has the outward members of every service all the
 * same: a {@link ClaimConfig}, {@link #runOnce()}, {@link #start()}/{@link #stop}, an injected
 * scheduler and a signal tests await ({@link #claims()}).
 */
final class Worker {
    private static final Logger log = LoggerFactory.getLogger(Worker.class);
    private static final Object TICK = new Object();
    private static final Duration FIRST_CLAIM_RETRY = Duration.ofMillis(100);

    private final JobClaimer claimer;
    private final JobRunner runner;
    private final Leases leases;
    private final Map<String, QueueRuntime> queues;
    private final Map<String, QueueLimiter> limiters = new LinkedHashMap<>();
    private final int globalConcurrency;
    private final int claimBatchSize;
    private final int claimsInFlight;
    private final Duration pollInterval;
    private final Flux<?> triggers;
    private final Flux<Duration> dueLater;
    private final Flux<?> lookAgain;
    private final Scheduler timer;
    /** Whether the next claim that comes back short looks up when the next job is due (see {@link #dueTimer}). */
    private final AtomicBoolean lookRequested = new AtomicBoolean(true);
    /**
     * Claims when the earliest job known to be due later becomes due. It learns of due times from
     * the notifications of enqueues with a later run time (any node's) and by looking the next one
     * up (JobNextDue) after a claim that came back short, when a look was asked for: at start, when
     * the listener reconnected (notifications may have been missed), when the timer fired (for the
     * one after), and when this node gave jobs a later run time (retries, reschedules). Other
     * nodes' retries are found by their own timers, and by the poll, as before.
     */
    private final DueTimer dueTimer;
    /** Every claim's result, for tests to await; emitted only while someone subscribes. */
    private final Sinks.Many<ClaimResult> claims = Sinks.many().multicast().directBestEffort();
    private final Sinks.Many<String> wakeups = QueueLimiter.releaseSignals();
    /** Global permits taken: claimed jobs not yet finished plus permits reserved by a claim in flight. */
    private final AtomicInteger inFlight = new AtomicInteger();
    /** Claimed jobs not yet finished. */
    private final AtomicInteger claimed = new AtomicInteger();
    private final AtomicInteger claimFailuresInARow = new AtomicInteger();
    /** Claim statements started and not yet answered (for {@link #describe()}). */
    private final AtomicInteger claimsRunning = new AtomicInteger();
    /** Claim slots held by the pause after a failed claim (for {@link #describe()}). */
    private final AtomicInteger retryPauses = new AtomicInteger();
    /** Wake-ups that reached the claim slots, and claim statements started (for {@link #describe()}). */
    private final AtomicLong ticks = new AtomicLong();
    private final AtomicLong claimsStarted = new AtomicLong();
    private final IncidentLog claimIncidents = new IncidentLog(log, "Claiming jobs");
    private final Sinks.Empty<Void> stopClaiming = Sinks.empty();
    /** The jobs this worker runs, so a stop past its grace period can abort them. */
    private final Set<Leases.Held> running = ConcurrentHashMap.newKeySet();
    private volatile boolean aborted;
    private final Sinks.Empty<Void> terminated = Sinks.empty();
    private final AtomicReference<@Nullable Disposable> subscription = new AtomicReference<>();

    /**
     * {@code triggers} ask for a claim at once (as the poll interval and freed permits do);
     * {@code dueLater} tells how long until jobs enqueued with a later run time are due (the
     * due timer claims then); {@code lookAgain} says that such news may have been missed
     * (the listener reconnected), so the next short claim looks the next due time up.
     */
    public Worker(JobClaimer claimer, Completer completer, Leases leases, Scheduler handlerScheduler,
                  List<QueueRuntime> queues, ClaimConfig config, Flux<?> triggers, Flux<Duration> dueLater,
                  Flux<?> lookAgain, Scheduler timer, QueueMetrics metrics) {
        this.claimer = claimer;
        this.leases = leases;
        this.runner = new JobRunner(completer, handlerScheduler, metrics, () -> lookRequested.set(true));
        this.queues = new LinkedHashMap<>();
        for (QueueRuntime q : queues) {
            this.queues.put(q.queue(), q);
            limiters.put(q.queue(), new QueueLimiter(q.queue(), q.concurrency(), wakeups));
        }
        this.globalConcurrency = config.globalConcurrency();
        this.claimBatchSize = config.batchSize();
        this.claimsInFlight = config.claimsInFlight();
        this.pollInterval = config.pollInterval();
        this.triggers = triggers;
        this.dueLater = dueLater;
        this.lookAgain = lookAgain;
        this.timer = timer;
        this.dueTimer = new DueTimer(timer, () -> {
            lookRequested.set(true);
            wake();
        });
    }

    /** Starts claiming; the first claim runs at once. */
    public void start() {
        Flux<Object> ticks = Flux.<Object>merge(Flux.interval(Duration.ZERO, pollInterval, timer), wakeups.asFlux(),
                        triggers,
                        // news for the due timer, never ticks themselves
                        dueLater.doOnNext(dueTimer::arm).then(),
                        lookAgain.doOnNext(x -> lookRequested.set(true)).then())
                .map(x -> TICK)
                .takeUntilOther(stopClaiming.asMono())
                .doFinally(signal -> dueTimer.stop());
        Disposable d = ticks.onBackpressureLatest()
                // several claims may be in flight: one claim's round trips overlap another's
                .flatMap(tick -> claimOnce(), claimsInFlight, 1)
                // each claimed batch holds at least one global permit, so this bound is never the tighter one
                .flatMap(this::runAll, Math.max(1, globalConcurrency), 1)
                .subscribe(null, e -> {
                    log.error("The worker pipeline stopped unexpectedly", e);
                    terminated.tryEmitEmpty();
                }, terminated::tryEmitEmpty);
        if (!subscription.compareAndSet(null, d)) {
            d.dispose();
            throw new IllegalStateException("Worker already started");
        }
    }

    /**
     * Wakes the claim loop of a started worker and emits the result of the next claim it makes (a
     * claim with no free permit claims 0). Never completes on a worker that is not started.
     */
    public Mono<ClaimResult> runOnce() {
        return Flux.merge(claims.asFlux(), Mono.<ClaimResult>fromRunnable(this::wake)).next();
    }

    /** The result of every claim from now on; hot, for tests to await. */
    public Flux<ClaimResult> claims() {
        return claims.asFlux();
    }

    /** Stops claiming, waits up to {@code grace} for running jobs, then releases the rest. */
    public Mono<Void> stop(Duration grace) {
        return Mono.defer(() -> {
            if (subscription.get() == null) {
                return Mono.empty();
            }
            stopClaiming.tryEmitEmpty();
            return terminated.asMono()
                    .timeout(grace, timer)
                    .onErrorResume(java.util.concurrent.TimeoutException.class, e -> {
                        log.info("Stop: grace period of {} over with {} jobs running; releasing them", grace,
                                claimed.get());
                        abortAll();
                        return terminated.asMono();
                    });
        });
    }

    /** Cuts the pipeline at once, handlers and pending outcome writes included (a close that gave up). */
    public void dispose() {
        Disposable d = subscription.get();
        if (d != null) {
            d.dispose();
        }
        terminated.tryEmitEmpty();
    }

    /**
     * What the worker holds right now, for a diagnosis: jobs claimed, global permits taken, free
     * permits per queue, claims waiting for their answer, claim failures in a row, claim slots
     * pausing after a failure, how many wake-ups and claims there were, and whether the due timer
     * is set.
     */
    public String describe() {
        Map<String, Integer> free = new LinkedHashMap<>();
        limiters.forEach((queue, limiter) -> free.put(queue, limiter.available()));
        return "claimed " + claimed.get() + ", global permits taken " + inFlight.get() + " of " + globalConcurrency
                + ", free per queue " + free + ", claims running " + claimsRunning.get()
                + ", claim failures in a row " + claimFailuresInARow.get() + ", slots pausing after a failure "
                + retryPauses.get() + ", wake-ups taken " + ticks.get() + ", claims started " + claimsStarted.get()
                + ", due timer " + (dueTimer.set() ? "set" : "off");
    }

    /** Jobs claimed and not yet finished (outcome written or released). */
    public int inFlight() {
        return claimed.get();
    }

    /**
     * Runs a claimed batch: the batch is one inner of the pipeline's {@code flatMap}, each of its
     * jobs one source of a {@code Mono.when}. A {@code flatMap} over the jobs themselves scans all
     * its active inners whenever one completes; with 2,000 jobs in flight that scan took a third of
     * the node's CPU in a drain, while {@code Mono.when} counts a completion in constant time.
     */
    private Mono<Void> runAll(List<ClaimedRow> batch) {
        List<Mono<Void>> runs = new ArrayList<>(batch.size());
        Map<QueueRuntime, List<Leases.Held>> timedWithBatch = new HashMap<>();
        for (ClaimedRow job : batch) {
            Leases.Held held = leases.hold(job);
            running.add(held);
            if (aborted) {
                held.abort(); // claimed as the stop gave up waiting: released unrun at once
            }
            QueueRuntime queue = served(queues, job.queue());
            if (JobRunner.timedWithBatch(queue)) {
                timedWithBatch.computeIfAbsent(queue, q -> new ArrayList<>()).add(held);
            }
            runs.add(runner.run(queue, held)
                    .onErrorResume(e -> {
                        // Only a closed outcome writer, or one that gave the outcome up (and logged
                        // it), gets here; the job stays running until rescued.
                        if (!(e instanceof Completer.OutcomeAbandoned)) {
                            log.error("The outcome of {} could not be written: {}", job, ErrorText.summary(e));
                        }
                        return Mono.empty();
                    })
                    .doFinally(signal -> finished(held)));
        }
        // Handlers that finish at once hand over their outcomes together (see Bursts). One timer
        // per queue of the batch times its jobs, which all started as the batch was subscribed:
        // started after them, it gives none less than its timeout; it is cancelled when the last
        // of them finishes.
        if (timedWithBatch.isEmpty()) {
            return Bursts.subscribedInBurst(Mono.when(runs));
        }
        Disposable.Swap timers = Disposables.swap();
        return Bursts.subscribedInBurst(Mono.when(runs).doFinally(signal -> timers.dispose()),
                () -> timers.update(timeOutLater(timedWithBatch)));
    }

    /** Stops each queue's jobs with a timeout when the queue's timeout is up. */
    private Disposable timeOutLater(Map<QueueRuntime, List<Leases.Held>> jobsByQueue) {
        Disposable.Composite timers = Disposables.composite();
        jobsByQueue.forEach((queue, jobs) -> timers.add(timer.schedule(() -> jobs.forEach(Leases.Held::timeOut),
                DueTimer.nanos(queue.timeout()), TimeUnit.NANOSECONDS)));
        return timers;
    }

    /** The grace period is over: every job still running is released unrun. */
    private void abortAll() {
        aborted = true;
        running.forEach(Leases.Held::abort);
    }

    private Flux<List<ClaimedRow>> claimOnce() {
        return Flux.defer(() -> {
            ticks.incrementAndGet();
            Reservation reservation = reservePermits();
            if (reservation == null) {
                reportClaim(0);
                return Mono.<List<ClaimedRow>>empty();
            }
            claimsRunning.incrementAndGet();
            claimsStarted.incrementAndGet();
            return claimer.claim(reservation.perQueue(), reservation.total())
                    .doFinally(signal -> claimsRunning.decrementAndGet())
                    .doOnNext(jobs -> {
                        claimFailuresInARow.set(0);
                        claimIncidents.succeeded();
                        claimed.addAndGet(jobs.size());
                        returnUnused(reservation, jobs);
                        reportClaim(jobs.size());
                    })
                    .doOnError(e -> {
                        claimIncidents.failed(e);
                        returnUnused(reservation, List.of());
                    })
                    .onErrorResume(e -> retryLater())
                    // a claim that came back short took every due job: what is due next is later
                    .flatMapMany(jobs -> jobs.size() < reservation.total() && lookRequested.compareAndSet(true, false)
                            ? Flux.concat(Mono.just(jobs), lookUpNextDue()) : Mono.just(jobs));
        });
    }

    /** Looks up when the next job of these queues is due and sets the due timer; emits nothing. */
    private Mono<List<ClaimedRow>> lookUpNextDue() {
        return dueTimer.armFrom(claimer.nextDue(queues.keySet()))
                .onErrorResume(e -> {
                    lookRequested.set(true); // the poll interval still claims; the next short claim looks again
                    log.debug("Looking up when the next job is due failed: {}", ErrorText.summary(e));
                    return Mono.empty();
                })
                .then(Mono.empty());
    }

    /**
     * After a failed claim, claims again after a pause that doubles with each failure in a row, up
     * to the poll interval: a wake-up that came during an outage is not left waiting a whole poll
     * interval, and a lasting outage is not hammered. The pause holds the claim's slot, so wake-ups
     * meanwhile do not start claims of their own.
     */
    private Mono<List<ClaimedRow>> retryLater() {
        Duration pause = ServiceLoop.doubling(FIRST_CLAIM_RETRY, claimFailuresInARow.incrementAndGet(),
                pollInterval);
        return Mono.delay(pause, timer)
                .doOnSubscribe(s -> retryPauses.incrementAndGet())
                .doFinally(signal -> retryPauses.decrementAndGet())
                .takeUntilOther(stopClaiming.asMono())
                .doOnNext(x -> wake())
                .then(Mono.empty());
    }

    /** Permits taken for one claim: per queue, and in all (never more than is free globally). */
    private record Reservation(Map<String, Integer> perQueue, int total) {
    }

    /**
     * Takes the permits for the next claim. Every queue with free permits takes up to what is free
     * globally, so no queue waits behind another; when they want more than is free globally, each
     * keeps a share in proportion to what it took. What a queue did not use is given back after
     * the claim.
     */
    private synchronized @Nullable Reservation reservePermits() {
        int globalFree = globalConcurrency - inFlight.get();
        if (globalFree <= 0) {
            return null;
        }
        Map<String, Integer> perQueue = new LinkedHashMap<>();
        int sum = 0;
        for (QueueLimiter limiter : limiters.values()) {
            int taken = limiter.tryAcquire(Math.min(globalFree, claimBatchSize));
            if (taken > 0) {
                perQueue.put(limiter.queue(), taken);
                sum += taken;
            }
        }
        if (perQueue.isEmpty()) {
            return null;
        }
        int total = Math.min(sum, globalFree);
        if (sum > total) {
            // Short of global permits: each queue keeps its share, and gives back the rest now, so
            // that a queue which fills its share claims again at once (see returnUnused).
            Map<String, Integer> shares = ClaimShares.split(perQueue, total);
            for (Map.Entry<String, Integer> e : perQueue.entrySet()) {
                served(limiters, e.getKey()).returnUnused(e.getValue() - shares.getOrDefault(e.getKey(), 0));
            }
            perQueue = shares;
        }
        inFlight.addAndGet(total);
        return new Reservation(perQueue, total);
    }

    /** Gives back the permits a claim reserved but did not use; claims again at once if it came back full. */
    private void returnUnused(Reservation reservation, List<ClaimedRow> jobs) {
        Map<String, Integer> claimed = new LinkedHashMap<>();
        for (ClaimedRow job : jobs) {
            claimed.merge(job.queue(), 1, Integer::sum);
        }
        boolean full = jobs.size() == reservation.total();
        for (Map.Entry<String, Integer> e : reservation.perQueue().entrySet()) {
            int unused = e.getValue() - claimed.getOrDefault(e.getKey(), 0);
            full |= unused == 0;
            served(limiters, e.getKey()).returnUnused(unused);
        }
        inFlight.addAndGet(jobs.size() - reservation.total());
        if (full) {
            wake();
        }
    }

    private void finished(Leases.Held held) {
        ClaimedRow job = held.job();
        running.remove(held);
        leases.drop(job);
        claimed.decrementAndGet();
        inFlight.decrementAndGet();
        served(limiters, job.queue()).release();
    }

    /** The entry of {@code queue}: claims ask only for the queues this worker serves, so there is one. */
    private static <T> T served(Map<String, T> byQueue, String queue) {
        T entry = byQueue.get(queue);
        if (entry == null) {
            throw new IllegalStateException("Not a queue of this worker: " + queue);
        }
        return entry;
    }

    /** Tells the test signal about a claim (claims in flight may end at once on two threads). */
    private void reportClaim(int jobs) {
        if (claims.currentSubscriberCount() > 0) {
            synchronized (claims) {
                claims.tryEmitNext(new ClaimResult(jobs));
            }
        }
    }

    private void wake() {
        synchronized (wakeups) {
            wakeups.tryEmitNext("claim-again");
        }
    }
}
