package io.github.reactivepgqueue.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.Job;
import io.r2dbc.spi.Row;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.UUID;

/**
 * A job as claimed, with the lease token that fences every write about this attempt, and, when
 * metrics are on, when it was claimed: {@code claimedAt} on the database clock (comparable with
 * {@code runAt}; null when metrics are off), {@code claimedNanos} on this JVM's monotonic clock
 * ({@link System#nanoTime()}) when the row was read.
 */
public record ClaimedRow(UUID id, String queue, JsonNode payload, int attempt, int maxAttempts, int priority,
                         int reprocessCount, String fingerprintValue, String uniqueKeyValue, Instant createdAt,
                         Instant runAt, UUID lease, ObjectMapper mapper, Instant claimedAt, long claimedNanos)
        implements Job {

    /** Maps a row returned by {@link SqlName#JobClaim}; reads the claim time only when {@code timed}. */
    static ClaimedRow from(Row row, ObjectMapper mapper, boolean timed) {
        String payload = row.get("payload", String.class);
        JsonNode tree;
        try {
            tree = mapper.readTree(payload);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException("Unreadable payload of job " + row.get("id", UUID.class), e);
        }
        return new ClaimedRow(row.get("id", UUID.class), row.get("queue", String.class), tree,
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

    @Override
    public <T> T payload(Class<T> type) {
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
