package io.github.reactivepgqueue;

import org.jspecify.annotations.Nullable;

/**
 * The database schema is at a version this library cannot work with: newer than the newest
 * migration it knows (a newer library applied it; upgrade this one), or older than it needs (run
 * {@link PgQueue#migrate()} or apply the files under {@code sql/}).
 *
 * @since 0.1.0
 */
public final class SchemaVersionException extends PgQueueException {
    private static final long serialVersionUID = 1L;

    private final int found;
    private final int expected;

    public SchemaVersionException(String message, int found, int expected) {
        this(message, found, expected, null);
    }

    /** With the error that showed the version, such as a missing table. */
    public SchemaVersionException(String message, int found, int expected, @Nullable Throwable cause) {
        super(message, cause);
        this.found = found;
        this.expected = expected;
    }

    /** The version found in the database (0 when the schema or its tables do not exist yet). */
    public int found() {
        return found;
    }

    /** The newest version this library knows. */
    public int expected() {
        return expected;
    }
}
