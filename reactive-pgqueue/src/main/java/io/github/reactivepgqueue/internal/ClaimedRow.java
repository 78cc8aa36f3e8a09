package io.github.reactivepgqueue.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.Job;
import io.github.reactivepgqueue.UnreadablePayloadException;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * A job as claimed, with the lease token that fences every write about this attempt, and, when
 * metrics are on, when it was claimed.
 *
 * @param tree the payload, or null when the mapper could not read it
 * @param unreadable why the payload could not be read, or null
 * @param claimedAt when the claim statement ran, on the database clock (comparable with
 *     {@code runAt}); null when metrics are off
 * @param claimedNanos this JVM's {@link System#nanoTime()} when the row was read; 0 when metrics are off
 * @param leaseNanos this JVM's {@link System#nanoTime()} just before the claim statement was sent:
 *     the heartbeat the claim gave the row is no older than this
 */
public record ClaimedRow(UUID id, String queue, @Nullable JsonNode tree, @Nullable String unreadable, int attempt,
                         int maxAttempts, int priority, int reprocessCount, @Nullable String fingerprintValue,
                         @Nullable String uniqueKeyValue, Instant createdAt, Instant runAt, UUID lease,
                         ObjectMapper mapper, @Nullable Instant claimedAt, long claimedNanos, long leaseNanos)
        implements Job {
    /**
     * The payload as a JSON tree.
     *
     * @throws UnreadablePayloadException if the mapper could not read the stored payload
     */
    @Override
    public JsonNode payload() {
        if (unreadable != null) {
            throw new UnreadablePayloadException(unreadable, null);
        }
        return Objects.requireNonNull(tree, "tree"); // read whenever unreadable is not set
    }

    @Override
    public <T> T payload(Class<T> type) {
        JsonNode payload = payload();
        try {
            return mapper.treeToValue(payload, type);
        } catch (JsonProcessingException e) {
            throw new UnreadablePayloadException("Payload of job " + id + " does not fit " + type.getName() + ": "
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
