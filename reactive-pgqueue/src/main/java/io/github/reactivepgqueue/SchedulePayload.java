package io.github.reactivepgqueue;

import java.time.Instant;

/**
 * Makes the payload of a schedule's job for one slot, in code: for payloads that depend on the
 * slot or on the application's state. A schedule with a payload factory is declared on the
 * builder ({@link PgQueueBuilder#schedule(Schedule)}), and only nodes that declare it enqueue its
 * slots. It runs on whatever thread the enqueue happens: it must not block.
 *
 * @since 0.1.0
 */
@FunctionalInterface
public interface SchedulePayload {
    /**
     * The payload for {@code slot} of the schedule {@code name}: a {@code JsonNode} or a
     * JSON-serializable object, as {@link NewJob#of(String, Object)} takes.
     */
    Object payload(String name, Instant slot);
}
