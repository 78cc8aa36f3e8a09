package io.github.reactivepgqueue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * A claimed job, as a handler sees it. Implementations are immutable and thread-safe; handlers
 * receive jobs, they do not make them.
 *
 * @since 0.1.0
 */
public interface Job {

    /** The job's id. */
    UUID id();

    /** The queue. */
    String queue();

    /**
     * The payload as a JSON tree.
     *
     * @throws UnreadablePayloadException (an {@code IllegalArgumentException}) if the queue's
     *     {@code ObjectMapper} cannot read the stored payload (it is beyond the mapper's
     *     {@code StreamReadConstraints}, e.g. a number that jsonb prints with over 1,000 digits);
     *     thrown inside a handler it ends the job {@code unprocessable} at once, without further
     *     attempts, and the claim of other jobs is not affected
     */
    JsonNode payload();

    /**
     * The payload converted to {@code type} with the queue's {@code ObjectMapper}.
     *
     * @throws UnreadablePayloadException (an {@code IllegalArgumentException}) if the payload does
     *     not fit {@code type} or cannot be read (see {@link #payload()}); thrown inside a handler
     *     it ends the job {@code unprocessable} at once, without further attempts
     */
    <T> T payload(Class<T> type);

    /** This attempt's number: 1 for the first. */
    int attempt();

    /** How many attempts the job gets. */
    int maxAttempts();

    /** Whether a failure of this attempt ends the job as failed. */
    default boolean isLastAttempt() {
        return attempt() >= maxAttempts();
    }

    /** The priority (lower runs first). */
    int priority();

    /** How often the job was rescheduled or rescued without using an attempt. */
    int reprocessCount();

    /** The fingerprint, if any. */
    Optional<String> fingerprint();

    /** The unique key, if any. */
    Optional<String> uniqueKey();

    /** When the job was enqueued (database clock). */
    Instant createdAt();

    /** When the job became due (database clock). */
    Instant runAt();
}
