package io.github.reactivepgqueue.internal;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * A background loop: runs a task every interval and whenever a trigger fires, one run at a time
 * (triggers that arrive during a run coalesce into one more run). A failed run is logged once per
 * incident and followed by a pause that doubles with each failure in a row, up to a minute (or a
 * smaller cap); the loop itself never ends until {@link #stop()}.
 */
final class RepeatingTask {
    static final Duration MAX_PAUSE = Duration.ofMinutes(1);

    private final String name;
    private final Duration interval;
    private final Duration maxPause;
    private final Supplier<Mono<?>> task;
    private final IncidentLog incidents;
    private final Scheduler timer;
    private final AtomicInteger failuresInARow = new AtomicInteger();
    private final AtomicReference<Disposable> running = new AtomicReference<>();

    RepeatingTask(String name, Duration interval, Supplier<Mono<?>> task, Logger log, Scheduler timer) {
        this(name, interval, MAX_PAUSE, task, log, timer);
    }

    /** {@code maxPause}: the longest pause after failures (the heartbeat must not pause past its interval). */
    RepeatingTask(String name, Duration interval, Duration maxPause, Supplier<Mono<?>> task, Logger log,
                  Scheduler timer) {
        this.name = name;
        this.interval = interval;
        this.maxPause = maxPause;
        this.task = task;
        this.incidents = new IncidentLog(log, name);
        this.timer = timer;
    }

    /** Starts the loop (once; later calls do nothing). The first run comes after {@code firstDelay}. */
    void start(Duration firstDelay, Flux<?> triggers) {
        if (running.get() != null) {
            return;
        }
        Disposable d = Flux.merge(Flux.interval(firstDelay, interval, timer), triggers)
                .onBackpressureLatest()
                .concatMap(tick -> runOnce(), 0) // prefetch 0: at most one run waits behind the current one
                .subscribe();
        if (!running.compareAndSet(null, d)) {
            d.dispose();
        }
    }

    /** Stops the loop; a run in progress is cancelled. */
    void stop() {
        Disposable d = running.getAndSet(Disposables.disposed());
        if (d != null) {
            d.dispose();
        }
    }

    private Mono<Void> runOnce() {
        return Mono.defer(task)
                .doOnSuccess(v -> {
                    failuresInARow.set(0);
                    incidents.succeeded();
                })
                .then()
                .onErrorResume(e -> {
                    incidents.failed(e);
                    return Mono.delay(pause(failuresInARow.incrementAndGet()), timer).then();
                });
    }

    /** The pause after the n-th failure in a row: the interval, doubled per further failure, capped. */
    Duration pause(int failures) {
        return doubling(interval, failures, maxPause);
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
