package io.github.reactivepgqueue.internal;

import java.time.Instant;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * A validated job with its payload serialized, ready for the insert statement. Exactly one of
 * {@code runAt} and {@code delayMicros} is set.
 */
public record EncodedJob(UUID id, String queue, String payloadJson, int priority, @Nullable String uniqueKey,
                         @Nullable String fingerprint, int maxAttempts, @Nullable Instant runAt,
                         @Nullable Long delayMicros) {
}
