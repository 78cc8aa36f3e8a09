package io.github.reactivepgqueue;

import java.util.UUID;

/**
 * No table holds a job with the given id: it was never enqueued, its transaction has not
 * committed yet, or it was deleted (by the admin API or by the janitor's retention).
 *
 * @since 0.1.0
 */
public final class NoSuchJobException extends PgQueueException {
    private static final long serialVersionUID = 1L;

    private final UUID id;

    public NoSuchJobException(UUID id) {
        super("No job with id " + id + " exists (never enqueued, not committed yet, or deleted)");
        this.id = id;
    }

    /** The id asked for. */
    public UUID id() {
        return id;
    }
}
