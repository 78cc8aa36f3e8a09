package io.github.reactivepgqueue.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.Job;
import io.r2dbc.spi.Row;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.UUID;

/**
 * A job as claimed, with the lease token that fences every write about this attempt, and, when
 * metrics are on, when it was claimed.
 *
 * @param tree the payload, or null when the mapper could not read it
 * @param unreadable why the payload could not be read, or null
 * @param claimedAt when the claim statement ran, on the database clock (comparable with
 *     {@code runAt}); null when metrics are off
 * @param claimedNanos this JVM's {@link System#nanoTime()} when the row was read; 0 when metrics are off
 */
public record ClaimedRow(UUID id, String queue, JsonNode tree, String unreadable, int attempt, int maxAttempts,
                         int priority, int reprocessCount, String fingerprintValue, String uniqueKeyValue,
                         Instant createdAt, Instant runAt, UUID lease, ObjectMapper mapper, Instant claimedAt,
                         long claimedNanos) implements Job {

    /**
     * Maps a row returned by {@link SqlName#JobClaim}; reads the claim time only when {@code timed}.
     * A payload that PostgreSQL stores but the mapper cannot read (beyond its {@code StreamReadConstraints}: a name over 50,000 characters,
     * a number that jsonb prints with over 1,000 digits, nesting written by another producer) does
     * not fail the claim, which would fail every job claimed with it, again at every claim: the
     * job is claimed and {@link #payload()} throws, which fails that attempt like any handler error.
     */
    static ClaimedRow from(Row row, ObjectMapper mapper, boolean timed) {
        UUID id = row.get("id", UUID.class);
        String payload = row.get("payload", String.class);
        JsonNode tree = null;
        String unreadable = null;
        try {
            tree = mapper.readTree(payload);
        } catch (JsonProcessingException e) {
            // the original message only: the full one may quote the payload
            unreadable = "Payload of job " + id + " cannot be read as JSON by the ObjectMapper: "
                    + e.getOriginalMessage();
        }
        return new ClaimedRow(id, row.get("queue", String.class), tree, unreadable,
                row.get("attempt", Integer.class), row.get("max_attempts", Integer.class),
                row.get("priority", Integer.class), row.get("reprocess_count", Integer.class),
                row.get("fingerprint", String.class), row.get("unique_key", String.class),
                instant(row.get("created_at_us", Long.class)), instant(row.get("run_at_us", Long.class)),
                row.get("lease", UUID.class), mapper,
                timed ? instant(row.get("claimed_at_us", Long.class)) : null, timed ? System.nanoTime() : 0);
    }

    private static Instant instant(long epochMicros) {
        return Instant.EPOCH.plus(epochMicros, ChronoUnit.MICROS);
    }

    /**
     * The payload as a JSON tree.
     *
     * @throws IllegalArgumentException if the mapper could not read the stored payload
     */
    @Override
    public JsonNode payload() {
        if (unreadable != null) {
            throw new IllegalArgumentException(unreadable);
        }
        return tree;
    }

    @Override
    public <T> T payload(Class<T> type) {
        JsonNode payload = payload();
        try {
            return mapper.treeToValue(payload, type);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("Payload of job " + id + " does not fit " + type.getName() + ": "
                    + e.getOriginalMessage(), e);
        }
    }

    @Override
    public Optional<String> fingerprint() {
        return Optional.ofNullable(fingerprintValue);
    }

    @Override
    public Optional<String> uniqueKey() {
        return Optional.ofNullable(uniqueKeyValue);
    }

    @Override
    public String toString() {
        return "Job[id=" + id + ", queue=" + queue + ", attempt=" + attempt + "/" + maxAttempts + "]";
    }
}
