package io.github.reactivepgqueue;

import org.jspecify.annotations.Nullable;

/**
 * A job's payload cannot be read: the stored JSON is beyond what the queue's {@code ObjectMapper}
 * reads, or it does not fit the type the handler asked for. Thrown by {@link Job#payload()} and
 * {@link Job#payload(Class)}. A handler that fails with it (also wrapped, as a cause) ends its job
 * {@link JobStatus#UNPROCESSABLE} at once: running it again would read the same payload.
 *
 * @since 0.1.0
 */
public final class UnreadablePayloadException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public UnreadablePayloadException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }
}
