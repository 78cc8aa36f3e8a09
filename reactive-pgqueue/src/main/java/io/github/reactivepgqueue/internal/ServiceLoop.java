package io.github.reactivepgqueue.internal;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

/**
 * The one loop shape of every background service: runs a task every interval and whenever a
 * wake-up fires, one run at a time (wake-ups that arrive during a run coalesce into one more run).
 * A failed run is logged once per incident ({@link IncidentLog}) and followed by a pause that
 * doubles with each failure in a row, up to a minute (or a smaller cap); the loop itself never ends
 * until {@link #stop()}, and stopping cancels a run in progress without logging it as a failure.
 * Every completed run is published on {@link #runs()}, so tests await runs instead of polling.
 *
 * @param <R> what one run emits (a service's result record)
 */
final class ServiceLoop<R> {
    static final Duration MAX_PAUSE = Duration.ofMinutes(1);
    /** The first pause after a failure of a loop that runs on wake-ups only. */
    static final Duration FIRST_PAUSE = Duration.ofMillis(100);

    /** One completed run: its result (null if it emitted none), or the error it failed with. */
    public record Run<R>(@Nullable R result, @Nullable Throwable error) {
        public boolean failed() {
            return error != null;
        }
    }

    private final String name;
    private final @Nullable Duration interval;
    private final Duration maxPause;
    private final boolean retryAtOnce;
    private final Supplier<Mono<R>> task;
    private final IncidentLog incidents;
    private final Scheduler scheduler;
    private final AtomicInteger failuresInARow = new AtomicInteger();
    private static final Disposable STOPPED = Disposables.disposed();

    private final AtomicReference<@Nullable Disposable> running = new AtomicReference<>();
    private final Sinks.Many<Run<R>> runs = Sinks.many().multicast().directBestEffort();

    ServiceLoop(String name, Duration interval, Supplier<Mono<R>> task, Logger log, Scheduler scheduler) {
        this(name, interval, MAX_PAUSE, task, log, scheduler);
    }

    /** A loop that runs on its wake-ups only, with no interval. */
    static <R> ServiceLoop<R> onWakeups(String name, Supplier<Mono<R>> task, Logger log, Scheduler scheduler) {
        return new ServiceLoop<>(name, null, MAX_PAUSE, task, log, scheduler);
    }

    /** {@code maxPause}: the longest pause after failures (the awaiter's lookups must not pause past their interval). */
    ServiceLoop(String name, @Nullable Duration interval, Duration maxPause, Supplier<Mono<R>> task, Logger log,
                Scheduler scheduler) {
        this(name, interval, maxPause, false, task, log, scheduler);
    }

    /**
     * A loop that runs a failed run again at once, and then after pauses from
     * {@link #FIRST_PAUSE}, doubling, never past the interval, until one succeeds: the heartbeat's,
     * for which the next interval may already come too late (other nodes rescue jobs whose beats
     * stop).
     */
    static <R> ServiceLoop<R> retryingAtOnce(String name, Duration interval, Supplier<Mono<R>> task, Logger log,
                                             Scheduler scheduler) {
        return new ServiceLoop<>(name, interval, interval, true, task, log, scheduler);
    }

    private ServiceLoop(String name, @Nullable Duration interval, Duration maxPause, boolean retryAtOnce,
                        Supplier<Mono<R>> task, Logger log, Scheduler scheduler) {
        this.name = name;
        this.interval = interval;
        this.maxPause = maxPause;
        this.retryAtOnce = retryAtOnce;
        this.task = task;
        this.incidents = new IncidentLog(log, name);
        this.scheduler = scheduler;
    }

    /**
     * Starts the loop (once; later calls do nothing). The first run comes after {@code firstDelay};
     * each of {@code wakeups} asks for a run at once.
     */
    void start(Duration firstDelay, Flux<?> wakeups) {
        if (running.get() != null) {
            return;
        }
        Flux<Long> ticks = interval == null ? Flux.never() : Flux.interval(firstDelay, interval, scheduler);
        Disposable d = Flux.merge(ticks, wakeups)
                .onBackpressureLatest()
                .concatMap(tick -> runLogged(), 0) // prefetch 0: at most one run waits behind the current one
                .subscribe();
        if (!running.compareAndSet(null, d)) {
            d.dispose();
        }
    }

    /** Stops the loop for good (a later start does nothing); a run in progress is cancelled. */
    void stop() {
        Disposable d = running.getAndSet(STOPPED);
        if (d != null) {
            d.dispose();
        }
    }

    /** Stops the loop until the next {@link #start}; a run in progress is cancelled. Does nothing once stopped. */
    void pause() {
        Disposable d = running.get();
        if (d != null && d != STOPPED && running.compareAndSet(d, null)) {
            d.dispose();
        }
    }

    /** Every run the loop completes from now on, failed ones included; hot, never completes. */
    public Flux<Run<R>> runs() {
        return runs.asFlux();
    }

    /** The next run the loop completes; subscribe before causing it. */
    public Mono<Run<R>> nextRun() {
        return runs.asFlux().next();
    }

    private Mono<Void> runLogged() {
        Mono<Run<R>> once = Mono.defer(task)
                .map(result -> new Run<R>(result, null))
                .defaultIfEmpty(new Run<>(null, null))
                .doOnNext(run -> {
                    failuresInARow.set(0);
                    incidents.succeeded();
                })
                .onErrorResume(e -> {
                    incidents.failed(e);
                    return Mono.just(new Run<>(null, e));
                })
                // runs never overlap, so emissions are serial; no subscriber: dropped
                .doOnNext(runs::tryEmitNext);
        if (retryAtOnce) {
            // a failed run is run again after its pause, until one succeeds (expand: no stack growth)
            return once.expand(run -> {
                if (!run.failed()) {
                    return Mono.empty();
                }
                Duration pause = pause(failuresInARow.incrementAndGet());
                return pause.isZero() ? once : Mono.delay(pause, scheduler).then(once);
            }).then();
        }
        return once.flatMap(run -> run.failed() ? Mono.delay(pause(failuresInARow.incrementAndGet()), scheduler).then()
                : Mono.<Void>empty());
    }

    /**
     * The pause after the n-th failure in a row: the interval, doubled per further failure, capped
     * (a loop that retries at once: none after the first, then from {@link #FIRST_PAUSE}).
     */
    Duration pause(int failures) {
        if (retryAtOnce) {
            return failures <= 1 ? Duration.ZERO : doubling(FIRST_PAUSE, failures - 1, maxPause);
        }
        return doubling(interval != null ? interval : FIRST_PAUSE, failures, maxPause);
    }

    /** {@code first}, doubled for each failure after the first, never more than {@code cap}. */
    static Duration doubling(Duration first, int failures, Duration cap) {
        Duration pause = first;
        for (int i = 1; i < failures && pause.compareTo(cap) < 0; i++) {
            pause = pause.multipliedBy(2);
        }
        return pause.compareTo(cap) > 0 ? cap : pause;
    }

    @Override
    public String toString() {
        return name;
    }
}
