package io.github.reactivepgqueue;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntFunction;

/**
 * How long a failed job waits before its next attempt, by the number of the attempt that failed
 * (1 for the first). The wait is added to the database clock ({@code now() + wait}).
 *
 * @since 0.1.0
 */
@FunctionalInterface
public interface Backoff {

    /** The wait after attempt {@code attempt} (1-based) failed; never negative. */
    Duration delay(int attempt);

    /** The same wait after every attempt (the default is {@code linear(5 s)}). */
    static Backoff linear(Duration delay) {
        Duration d = requireNotNegative(delay, "delay");
        return attempt -> d;
    }

    /**
     * {@code initial × factor^(attempt-1)}, capped at {@code max}.
     *
     * @throws IllegalArgumentException if {@code factor < 1} or a duration is negative
     */
    static Backoff exponential(Duration initial, double factor, Duration max) {
        requireNotNegative(initial, "initial");
        requireNotNegative(max, "max");
        if (!(factor >= 1.0) || Double.isInfinite(factor)) {
            throw new IllegalArgumentException("factor must be a finite number >= 1 but was " + factor);
        }
        double initialNanos = initial.toNanos();
        double maxNanos = max.toNanos();
        return attempt -> {
            double nanos = initialNanos * Math.pow(factor, Math.max(0, attempt - 1));
            return Duration.ofNanos((long) Math.min(nanos, maxNanos));
        };
    }

    /** Any function of the attempt number; a {@code null} or negative result is an error. */
    static Backoff custom(IntFunction<Duration> delay) {
        Objects.requireNonNull(delay, "delay");
        return attempt -> requireNotNegative(delay.apply(attempt), "custom backoff result");
    }

    /**
     * This backoff with random jitter: each wait is multiplied by a random factor in
     * {@code [1 - fraction, 1 + fraction]}, so retries of many jobs that failed together spread out.
     */
    default Backoff withJitter(double fraction) {
        if (!(fraction >= 0.0 && fraction <= 1.0)) {
            throw new IllegalArgumentException("jitter fraction must be within [0, 1] but was " + fraction);
        }
        Backoff base = this;
        return attempt -> {
            long nanos = base.delay(attempt).toNanos();
            double factor = 1.0 + fraction * (2.0 * ThreadLocalRandom.current().nextDouble() - 1.0);
            return Duration.ofNanos((long) (nanos * factor));
        };
    }

    private static Duration requireNotNegative(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative but was " + d);
        }
        return d;
    }
}
