package io.github.reactivepgqueue;

import reactor.core.publisher.Mono;

/**
 * A job claimed for a {@link PgQueue#jobs(String...)} subscriber, who runs it and must complete it.
 * Until then the job stays running and its lease is held by this node.
 *
 * @since 0.1.0
 */
public interface ClaimedJob {

    /** The job. */
    Job job();

    /**
     * Records what became of the job, with the same meaning as a handler's outcome. Completes when
     * the outcome is written, signalled on the queue's handler scheduler (not on the database
     * driver's event loop). A second call fails with {@link IllegalStateException}.
     */
    Mono<Void> complete(Outcome outcome);
}
