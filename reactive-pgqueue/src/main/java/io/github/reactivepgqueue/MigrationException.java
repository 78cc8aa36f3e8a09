package io.github.reactivepgqueue;

/**
 * Applying the schema migrations failed. The failed migration's transaction was rolled back, so
 * the schema is left at the version it had before.
 *
 * @since 0.1.0
 */
public final class MigrationException extends PgQueueException {
    private static final long serialVersionUID = 1L;

    public MigrationException(String message, Throwable cause) {
        super(message, cause);
    }

    public MigrationException(String message) {
        super(message);
    }
}
