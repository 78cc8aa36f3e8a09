package io.github.reactivepgqueue;

/**
 * No connection to PostgreSQL could be had in time: the database is down or unreachable, or the
 * pool is exhausted. Nothing was written; the call may be retried.
 *
 * @since 0.1.0
 */
public final class DatabaseUnavailableException extends PgQueueException {
    private static final long serialVersionUID = 1L;

    public DatabaseUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
