package io.github.reactivepgqueue;

import org.jspecify.annotations.Nullable;

/**
 * The root of the exceptions the library signals. Expected results (a duplicate unique key, a
 * permit denial) are values, not exceptions.
 *
 * @since 0.1.0
 */
public abstract class PgQueueException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    protected PgQueueException(String message) {
        super(message);
    }

    protected PgQueueException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }
}
