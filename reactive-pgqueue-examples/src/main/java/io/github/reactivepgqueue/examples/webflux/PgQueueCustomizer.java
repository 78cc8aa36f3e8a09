package io.github.reactivepgqueue.examples.webflux;

import io.github.reactivepgqueue.PgQueueBuilder;

/**
 * A bean that tunes the queue before it is built: concurrency, backoff, intervals, handlers that
 * need {@link io.github.reactivepgqueue.QueueOptions}, and so on. Runs after the schema, the grace
 * period and the {@link io.github.reactivepgqueue.ReactiveHandler} beans have been applied, in
 * {@link org.springframework.core.annotation.Order} order.
 */
@FunctionalInterface
public interface PgQueueCustomizer {

    /** Changes {@code builder}. */
    void customize(PgQueueBuilder builder);
}
