package io.github.reactivepgqueue;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A job to enqueue: a queue name, a payload, and options. Immutable; every option method returns a
 * copy, so a {@code NewJob} can serve as a template.
 *
 * <pre>{@code
 * NewJob.of("emails", new Welcome(userId))
 *       .uniqueKey("welcome:" + userId)
 *       .delay(Duration.ofMinutes(5))
 *       .maxAttempts(10);
 * }</pre>
 *
 * <p>Options are checked when the job is enqueued, not here: an invalid job fails the enqueue's
 * {@code Mono} with {@link InvalidJobException} and nothing is written.
 *
 * @since 0.1.0
 */
public final class NewJob {
    private final String queue;
    private final Object payload;
    private final @Nullable String uniqueKey;
    private final @Nullable String fingerprint;
    private final @Nullable Instant runAt;
    private final @Nullable Duration delay;
    private final @Nullable Integer maxAttempts;
    private final int priority;

    private NewJob(String queue, Object payload, @Nullable String uniqueKey, @Nullable String fingerprint,
                   @Nullable Instant runAt, @Nullable Duration delay, @Nullable Integer maxAttempts, int priority) {
        this.queue = queue;
        this.payload = payload;
        this.uniqueKey = uniqueKey;
        this.fingerprint = fingerprint;
        this.runAt = runAt;
        this.delay = delay;
        this.maxAttempts = maxAttempts;
        this.priority = priority;
    }

    /**
     * A job for {@code queue} carrying {@code payload}, which is serialized to JSON with the queue's
     * {@code ObjectMapper} (a {@code JsonNode} or a JSON-serializable object). It runs as soon as a
     * worker is free, with the queue's default maximum number of attempts and priority 0.
     *
     * <p>The queue name is checked at enqueue ({@link InvalidJobException}); a {@code null} payload
     * is refused here. A job whose payload is JSON {@code null} says so explicitly with Jackson's
     * {@code NullNode.getInstance()}.
     *
     * @throws NullPointerException if {@code payload} is null
     */
    public static NewJob of(String queue, Object payload) {
        Objects.requireNonNull(payload, () -> "payload must not be null (queue '" + queue
                + "'); for a JSON null payload pass com.fasterxml.jackson.databind.node.NullNode.getInstance()");
        return new NewJob(queue, payload, null, null, null, null, null, 0);
    }

    /**
     * At most one live (pending or running) job holds a unique key: enqueueing another job with the
     * same key stores nothing and returns {@link EnqueueResult.Duplicate} naming the holder. Once the
     * holder has finished, the key is free again; a holder cancelled while it runs keeps the key
     * until its handler has stopped (see {@link PgQueue#cancel(java.util.UUID)}). {@code null}
     * removes the key.
     */
    public NewJob uniqueKey(@Nullable String uniqueKey) {
        return new NewJob(queue, payload, uniqueKey, fingerprint, runAt, delay, maxAttempts, priority);
    }

    /** A non-unique label to find or cancel a family of jobs; {@code null} removes it. */
    public NewJob fingerprint(@Nullable String fingerprint) {
        return new NewJob(queue, payload, uniqueKey, fingerprint, runAt, delay, maxAttempts, priority);
    }

    /** Run no sooner than {@code runAt}. Replaces any {@link #delay(Duration)}. */
    public NewJob runAt(Instant runAt) {
        return new NewJob(queue, payload, uniqueKey, fingerprint, Objects.requireNonNull(runAt, "runAt"), null,
                maxAttempts, priority);
    }

    /**
     * Run no sooner than {@code delay} after the enqueue, measured by the database clock. Must not be
     * negative. Replaces any {@link #runAt(Instant)}.
     */
    public NewJob delay(Duration delay) {
        return new NewJob(queue, payload, uniqueKey, fingerprint, null, Objects.requireNonNull(delay, "delay"),
                maxAttempts, priority);
    }

    /** How many attempts the job gets before it fails for good; at least 1. */
    public NewJob maxAttempts(int maxAttempts) {
        return new NewJob(queue, payload, uniqueKey, fingerprint, runAt, delay, maxAttempts, priority);
    }

    /** Among due jobs of a queue, lower priorities run first; the default is 0. */
    public NewJob priority(int priority) {
        return new NewJob(queue, payload, uniqueKey, fingerprint, runAt, delay, maxAttempts, priority);
    }

    /** The queue name. */
    public String queue() {
        return queue;
    }

    /** The payload, before serialization. */
    public Object payload() {
        return payload;
    }

    /** The unique key, if any. */
    public Optional<String> uniqueKey() {
        return Optional.ofNullable(uniqueKey);
    }

    /** The fingerprint, if any. */
    public Optional<String> fingerprint() {
        return Optional.ofNullable(fingerprint);
    }

    /** The absolute run-at time, if one was set. */
    public Optional<Instant> runAt() {
        return Optional.ofNullable(runAt);
    }

    /** The delay from enqueue time, if one was set. */
    public Optional<Duration> delay() {
        return Optional.ofNullable(delay);
    }

    /** The maximum number of attempts, if set; otherwise the queue's default applies. */
    public Optional<Integer> maxAttempts() {
        return Optional.ofNullable(maxAttempts);
    }

    /** The priority (lower runs first). */
    public int priority() {
        return priority;
    }

    @Override
    public String toString() {
        // The payload is left out on purpose: it may hold personal data and must not reach logs.
        return "NewJob[queue=" + queue + ", uniqueKey=" + uniqueKey + ", fingerprint=" + fingerprint
                + ", runAt=" + runAt + ", delay=" + delay + ", maxAttempts=" + maxAttempts
                + ", priority=" + priority + "]";
    }
}
