package io.github.reactivepgqueue.permit;

import io.github.reactivepgqueue.Job;
import reactor.core.publisher.Mono;

/**
 * Decides whether a claimed job may run now: the third tier of permits, after the node's global
 * concurrency and the queue's concurrency. {@link #acquire(Job)} either emits a {@link Permit},
 * which the job holds until its outcome is written, or fails with {@link PermitDenied}, which says
 * what becomes of the job instead (cancel, try again after a delay without using an attempt, retry
 * using an attempt, or mark completed). Any other error counts as a failed attempt.
 *
 * <p>Implementations must not block; they may be asynchronous (e.g. a semaphore kept in a
 * database or another service).
 *
 * @since 0.1.0
 */
@FunctionalInterface
public interface PermitStrategy {

    /** Every job may run. */
    PermitStrategy ALWAYS = job -> Mono.just(Permit.NONE);

    /** A permit for {@code job}, or a {@link PermitDenied} error. */
    Mono<Permit> acquire(Job job);
}
