package io.github.reactivepgqueue.permit;

import reactor.core.publisher.Mono;

/**
 * A permit held by one running job. The library releases it once the job's outcome is written (or
 * the job is released), exactly once.
 *
 * @since 0.1.0
 */
@FunctionalInterface
public interface Permit {
    /** A permit with nothing to release. */
    Permit NONE = () -> Mono.empty();

    /** Gives the permit back. */
    Mono<Void> release();
}
