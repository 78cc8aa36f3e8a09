package io.github.reactivepgqueue;

/**
 * A schedule that does not exist was named ({@link Schedules#update}, {@link Schedules#trigger}, ...).
 *
 * @since 0.1.0
 */
public final class NoSuchScheduleException extends PgQueueException {
    private static final long serialVersionUID = 1L;

    private final String name;

    public NoSuchScheduleException(String name) {
        super("No schedule named '" + name + "' exists");
        this.name = name;
    }

    /** The name asked for. */
    public String name() {
        return name;
    }
}
