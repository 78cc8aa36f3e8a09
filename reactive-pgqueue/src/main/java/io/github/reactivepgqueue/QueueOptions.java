package io.github.reactivepgqueue;

import io.github.reactivepgqueue.permit.PermitStrategy;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Options of one queue on this node. Immutable; each method returns a copy. Options left unset
 * take the builder's defaults.
 *
 * <pre>{@code
 * PgQueue.builder(pool)
 *        .handler(new ResizeImage(), QueueOptions.defaults()
 *                .concurrency(8)
 *                .backoff(Backoff.exponential(Duration.ofSeconds(1), 2.0, Duration.ofMinutes(10)))
 *                .timeout(Duration.ofMinutes(2)))
 * }</pre>
 *
 * @since 0.1.0
 */
public final class QueueOptions {
    private static final QueueOptions DEFAULTS = new QueueOptions(null, null, null, null);

    private final @Nullable Integer concurrency;
    private final @Nullable Backoff backoff;
    private final @Nullable Duration timeout;
    private final @Nullable PermitStrategy permitStrategy;

    private QueueOptions(@Nullable Integer concurrency, @Nullable Backoff backoff, @Nullable Duration timeout,
                         @Nullable PermitStrategy permitStrategy) {
        this.concurrency = concurrency;
        this.backoff = backoff;
        this.timeout = timeout;
        this.permitStrategy = permitStrategy;
    }

    /** No option set: every option takes the builder's default. */
    public static QueueOptions defaults() {
        return DEFAULTS;
    }

    /** At most this many jobs of the queue run at once on this node (at least 1). */
    public QueueOptions concurrency(int concurrency) {
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be at least 1 but was " + concurrency);
        }
        return new QueueOptions(concurrency, backoff, timeout, permitStrategy);
    }

    /** The wait before a failed job's next attempt. */
    public QueueOptions backoff(Backoff backoff) {
        return new QueueOptions(concurrency, Objects.requireNonNull(backoff, "backoff"), timeout, permitStrategy);
    }

    /** How long a handler may run before it is cancelled and the attempt counts as failed (positive). */
    public QueueOptions timeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isZero() || timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must be positive but was " + timeout);
        }
        return new QueueOptions(concurrency, backoff, timeout, permitStrategy);
    }

    /** A permit every job of the queue must hold while it runs (see {@link PermitStrategy}). */
    public QueueOptions permitStrategy(PermitStrategy permitStrategy) {
        return new QueueOptions(concurrency, backoff, timeout, Objects.requireNonNull(permitStrategy, "permitStrategy"));
    }

    /** The concurrency, if set. */
    public Optional<Integer> concurrency() {
        return Optional.ofNullable(concurrency);
    }

    /** The backoff, if set. */
    public Optional<Backoff> backoff() {
        return Optional.ofNullable(backoff);
    }

    /** The timeout, if set. */
    public Optional<Duration> timeout() {
        return Optional.ofNullable(timeout);
    }

    /** The permit strategy, if set. */
    public Optional<PermitStrategy> permitStrategy() {
        return Optional.ofNullable(permitStrategy);
    }
}
