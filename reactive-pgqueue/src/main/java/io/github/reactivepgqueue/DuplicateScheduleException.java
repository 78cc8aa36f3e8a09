package io.github.reactivepgqueue;

/**
 * {@link Schedules#add} named a schedule that exists already; {@link Schedules#put} replaces one.
 *
 * @since 0.1.0
 */
public final class DuplicateScheduleException extends PgQueueException {
    private static final long serialVersionUID = 1L;

    private final String name;

    public DuplicateScheduleException(String name) {
        super("A schedule named '" + name + "' exists already (put() replaces it)");
        this.name = name;
    }

    /** The name that is taken. */
    public String name() {
        return name;
    }
}
