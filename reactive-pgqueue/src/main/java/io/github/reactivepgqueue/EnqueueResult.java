package io.github.reactivepgqueue;

import java.util.UUID;

/**
 * The result of enqueueing one job: either a new job was stored, or a live (pending or running)
 * job already holds the new job's unique key and nothing was stored.
 *
 * @since 0.1.0
 */
public sealed interface EnqueueResult permits EnqueueResult.Enqueued, EnqueueResult.Duplicate {

    /** The id of the job that now represents the request: the new job, or the existing holder. */
    UUID id();

    /** Whether nothing was stored because the unique key is held by a live job. */
    default boolean isDuplicate() {
        return this instanceof Duplicate;
    }

    /**
     * A new job was stored.
     *
     * @param id the new job's id
     */
    record Enqueued(UUID id) implements EnqueueResult {
    }

    /**
     * Nothing was stored: the live job {@code id} holds {@code uniqueKey}. That job may be one
     * enqueued earlier in the same batch, or one cancelled while it ran whose handler has not
     * stopped yet (it reads {@code cancelled}; see {@link PgQueue#cancel(UUID)}).
     *
     * @param id        the id of the job holding the key
     * @param uniqueKey the unique key
     */
    record Duplicate(UUID id, String uniqueKey) implements EnqueueResult {
    }
}
