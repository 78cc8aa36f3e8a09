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

    /**
     * Completes when this node learns that the job's lease is gone: the job was cancelled (by
     * {@link PgQueue#cancel(java.util.UUID)} on any node), rescued by a reaper or deleted while it
     * ran here. Stop working on it then; a later {@link #complete(Outcome)} writes nothing. The
     * loss is found by the heartbeat, at once on a cancel signal when the node listens, else within
     * a heartbeat interval. Never completes for a job that is completed or released here.
     * Signalled on the same scheduler as the stream's elements.
     *
     * @since 0.1.0
     */
    Mono<Void> lost();
}
