package io.github.reactivepgqueue.internal;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * A timer for the earliest due time known of jobs due later, so that they start when due instead
 * of at the next poll. It keeps only the earliest deadline: a later one is ignored, an earlier one
 * replaces it; when it fires (or at once, for a due time already past) it runs its action, which
 * claims. Due times come from the database clock as delays, so the nodes' own clocks do not matter.
 */
final class DueTimer {
    /** After the due time, so that the claim's {@code run_at <= now()} holds when it runs. */
    private static final long LATE_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final Scheduler timer;
    private final Runnable fire;
    private final Disposable.Swap pending = Disposables.swap();
    private long deadline = Long.MAX_VALUE;

    /** {@code fire} runs on {@code timer} when the earliest known due time comes. */
    DueTimer(Scheduler timer, Runnable fire) {
        this.timer = timer;
        this.fire = fire;
    }

    /** Jobs are due {@code dueIn} from now: fire then, unless an earlier time is set. */
    void arm(Duration dueIn) {
        long in = nanos(dueIn);
        if (in <= 0) {
            fire.run(); // due by now
            return;
        }
        in = in > Long.MAX_VALUE - LATE_NANOS ? Long.MAX_VALUE : in + LATE_NANOS;
        long now = timer.now(TimeUnit.NANOSECONDS);
        long at = in > Long.MAX_VALUE - now ? Long.MAX_VALUE : now + in;
        synchronized (this) {
            if (at >= deadline) {
                return;
            }
            deadline = at;
            pending.update(timer.schedule(this::fired, in, TimeUnit.NANOSECONDS));
        }
    }

    /** Arms the timer from a look-up of the next due time (empty: none due later); emits nothing. */
    Mono<Void> armFrom(Mono<Duration> nextDue) {
        return nextDue.doOnNext(this::arm).then();
    }

    /** Whether a due time is set. */
    synchronized boolean set() {
        return deadline != Long.MAX_VALUE;
    }

    /** Stops for good: nothing set fires. */
    void stop() {
        pending.dispose();
    }

    private void fired() {
        synchronized (this) {
            deadline = Long.MAX_VALUE;
        }
        fire.run();
    }

    /** {@code duration} in nanoseconds, or {@link Long#MAX_VALUE} past that. */
    static long nanos(Duration duration) {
        try {
            return duration.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE; // over 292 years: never, in practice
        }
    }
}
