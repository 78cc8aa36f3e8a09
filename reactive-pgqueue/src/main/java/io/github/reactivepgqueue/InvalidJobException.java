package io.github.reactivepgqueue;

/**
 * A job that cannot be enqueued: a blank queue name, a negative delay, fewer than one attempt, a
 * payload that cannot be serialized, is too large or holds a character PostgreSQL rejects. When an
 * enqueue fails with this exception nothing was written, not even the valid jobs of the same call.
 *
 * @since 0.1.0
 */
public final class InvalidJobException extends PgQueueException {
    private static final long serialVersionUID = 1L;

    public InvalidJobException(String message) {
        super(message);
    }

    public InvalidJobException(String message, Throwable cause) {
        super(message, cause);
    }
}
