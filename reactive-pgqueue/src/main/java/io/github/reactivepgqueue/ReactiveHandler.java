package io.github.reactivepgqueue;

import java.util.Objects;
import java.util.function.Function;
import reactor.core.publisher.Mono;

/**
 * Runs the jobs of one queue. Register handlers on the builder
 * ({@link PgQueueBuilder#handler(ReactiveHandler)}); a node claims only jobs of queues it has a
 * handler for.
 *
 * <p>{@link #handle(Job)} is subscribed on the queue's handler scheduler (by default
 * a bounded-elastic scheduler of the queue's own with up to global-concurrency threads, so a
 * handler that blocks its thread holds up only that
 * thread). A handler that throws, returns {@code null}, signals an error or completes empty is
 * treated as a failed attempt: the job is retried with backoff and the error is stored on it.
 * A handler that does not finish within the queue's timeout is cancelled and counts as a failed
 * attempt too.
 *
 * <p>Delivery is at least once: a job may run again after a crash or a lost lease. A handler
 * whose effect must not repeat should use the job id or unique key as its idempotency key.
 *
 * @since 0.1.0
 */
public interface ReactiveHandler {

    /** The queue whose jobs this handler runs. */
    String queue();

    /** Runs one job and tells what became of it. */
    Mono<Outcome> handle(Job job);

    /** A handler of {@code queue} made from a function, for handlers that need no class of their own. */
    static ReactiveHandler of(String queue, Function<Job, Mono<Outcome>> handle) {
        Objects.requireNonNull(queue, "queue");
        Objects.requireNonNull(handle, "handle");
        return new ReactiveHandler() {
            @Override
            public String queue() {
                return queue;
            }

            @Override
            public Mono<Outcome> handle(Job job) {
                return handle.apply(job);
            }

            @Override
            public String toString() {
                return "ReactiveHandler[" + queue + "]";
            }
        };
    }
}
