package io.github.reactivepgqueue;

/**
 * PostgreSQL refused to open a session: the role does not exist, its password is wrong, it may
 * not log in, or the database does not exist (SQLSTATE class 28, or 3D000). Retrying does not
 * help; the message names the role or database the server refused, so check the user name,
 * password and database name the connection factory uses.
 *
 * <p>{@link PgQueue#start()} fails with it at once, without the retries it makes while the
 * database cannot be reached ({@link DatabaseUnavailableException}).
 *
 * @since 0.1.0
 */
public final class DatabaseLoginException extends PgQueueException {
    private static final long serialVersionUID = 1L;

    public DatabaseLoginException(String message, Throwable cause) {
        super(message, cause);
    }
}
