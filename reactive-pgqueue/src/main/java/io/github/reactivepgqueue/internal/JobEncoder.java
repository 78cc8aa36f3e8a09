package io.github.reactivepgqueue.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.InvalidJobException;
import io.github.reactivepgqueue.NewJob;
import java.time.Duration;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * Checks a {@link NewJob} and serializes its payload. Rejects, with a message naming the field,
 * everything PostgreSQL would reject later or that would make a poor job: a blank queue, a
 * negative delay, fewer than one attempt, over-long names and keys, a payload that cannot be serialized or is over the size
 * limit, NUL characters (which neither {@code text} nor {@code jsonb} can store) and unpaired
 * UTF-16 surrogates (which UTF-8 cannot encode: the driver would store '?' in their place).
 */
public final class JobEncoder {
    /** Longest queue name, in UTF-8 bytes. */
    public static final int MAX_QUEUE_BYTES = 255;
    /** Longest unique key or fingerprint, in UTF-8 bytes; both are indexed, and index rows are limited. */
    public static final int MAX_KEY_BYTES = 1024;
    /** The earliest time PostgreSQL's {@code timestamptz} holds (4713 BC). */
    public static final Instant MIN_RUN_AT = Instant.parse("-4713-11-24T00:00:00Z");
    /** The latest time PostgreSQL's {@code timestamptz} holds (294276 AD). */
    public static final Instant MAX_RUN_AT = Instant.parse("+294276-12-31T23:59:59.999999Z");
    /** The longest delay: 290,000 years, so now plus the delay stays before {@link #MAX_RUN_AT}. */
    static final Duration MAX_DELAY = Duration.ofDays(365L * 290_000);

    private final ObjectMapper mapper;
    private final int maxPayloadBytes;
    private final int defaultMaxAttempts;

    public JobEncoder(ObjectMapper mapper, int maxPayloadBytes, int defaultMaxAttempts) {
        this.mapper = mapper;
        this.maxPayloadBytes = maxPayloadBytes;
        this.defaultMaxAttempts = defaultMaxAttempts;
    }

    /**
     * The encoded job.
     *
     * @throws InvalidJobException if the job breaks a rule
     */
    public EncodedJob encode(NewJob job) {
        if (job == null) {
            throw new InvalidJobException("Job must not be null");
        }
        String queue = job.queue();
        if (queue == null || queue.isBlank()) {
            throw new InvalidJobException("Queue name must not be blank: " + job);
        }
        requireStorable("queue name", queue, MAX_QUEUE_BYTES);
        String uniqueKey = job.uniqueKey().orElse(null);
        String fingerprint = job.fingerprint().orElse(null);
        requireStorable("unique key", uniqueKey, MAX_KEY_BYTES);
        requireStorable("fingerprint", fingerprint, MAX_KEY_BYTES);
        int maxAttempts = job.maxAttempts().orElse(defaultMaxAttempts);
        if (maxAttempts < 1) {
            throw new InvalidJobException("maxAttempts must be at least 1 but was " + maxAttempts + ": " + job);
        }
        Instant runAt = job.runAt().orElse(null);
        if (runAt != null && (runAt.isBefore(MIN_RUN_AT) || runAt.isAfter(MAX_RUN_AT))) {
            // the driver would store Instant.MAX as 'infinity' (a job that never runs) or fail the statement
            throw new InvalidJobException("runAt " + runAt + " is outside PostgreSQL's timestamp range (" + MIN_RUN_AT
                    + " to " + MAX_RUN_AT + "): " + job);
        }
        Long delayMicros = runAt != null ? null : micros(job.delay().orElse(Duration.ZERO), job);
        String payload = serialize(job);
        return new EncodedJob(UuidV7.next(), queue, payload, job.priority(), uniqueKey, fingerprint, maxAttempts,
                job.runAt().orElse(null), delayMicros);
    }

    private String serialize(NewJob job) {
        String json;
        try {
            json = mapper.writeValueAsString(job.payload());
        } catch (JsonProcessingException | RuntimeException e) {
            String type = job.payload() == null ? "null" : job.payload().getClass().getName();
            throw new InvalidJobException("Payload of type " + type + " cannot be serialized to JSON for queue '"
                    + job.queue() + "': " + e.getMessage(), e);
        }
        long bytes = Utf8.length(json);
        if (bytes > maxPayloadBytes) {
            throw new InvalidJobException("Payload is " + bytes + " bytes as JSON, over the limit of " + maxPayloadBytes
                    + " bytes (PgQueueBuilder.maxPayloadBytes): " + job);
        }
        if (JsonText.containsNulEscape(json)) {
            throw new InvalidJobException("Payload contains a NUL character (\\u0000), which PostgreSQL's jsonb "
                    + "cannot store: " + job);
        }
        if (Utf8.unpairedSurrogate(json) >= 0) {
            throw new InvalidJobException("Payload contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode "
                    + "(it would be stored as '?'): " + job);
        }
        return json;
    }

    private static long micros(Duration delay, NewJob job) {
        if (delay.isNegative()) {
            throw new InvalidJobException("delay must not be negative but was " + delay + ": " + job);
        }
        // The database adds the delay to its own clock. A bound without any clock keeps the result
        // inside PostgreSQL's timestamp range for the next 2,000 years (reading the clock per job
        // halved the bulk enqueue rate on a machine whose clock reads are system calls).
        if (delay.compareTo(MAX_DELAY) > 0) {
            throw new InvalidJobException("delay " + delay + " is too large: at most " + MAX_DELAY.toDays()
                    + " days, which keeps the run-at time inside PostgreSQL's timestamp range: " + job);
        }
        return Math.addExact(Math.multiplyExact(delay.getSeconds(), 1_000_000L), delay.getNano() / 1_000L);
    }

    /**
     * What is wrong with a queue name (blank, a NUL, an unpaired surrogate, over
     * {@value #MAX_QUEUE_BYTES} bytes), or null if nothing is. For the names of handlers and
     * {@code jobs()} streams too: the claim binds them, and one the database rejects would fail
     * every claim of the node.
     */
    public static @Nullable String queueNameProblem(@Nullable String queue) {
        if (queue == null || queue.isBlank()) {
            return "Queue name must not be blank";
        }
        return storableProblem("queue name", queue, MAX_QUEUE_BYTES);
    }

    private static void requireStorable(String field, @Nullable String value, int maxBytes) {
        String problem = storableProblem(field, value, maxBytes);
        if (problem != null) {
            throw new InvalidJobException(problem);
        }
    }

    private static @Nullable String storableProblem(String field, @Nullable String value, int maxBytes) {
        if (value == null) {
            return null;
        }
        if (value.indexOf('\0') >= 0) {
            return "The " + field + " contains a NUL character, which PostgreSQL cannot store";
        }
        int surrogate = Utf8.unpairedSurrogate(value);
        if (surrogate >= 0) {
            return "The " + field + " contains an unpaired UTF-16 surrogate at index " + surrogate
                    + ", which UTF-8 cannot encode (it would be stored as '?')";
        }
        long bytes = Utf8.length(value);
        if (bytes > maxBytes) {
            return "The " + field + " is " + bytes + " bytes long; at most " + maxBytes + " are allowed (it is indexed)";
        }
        return null;
    }
}
