package io.github.reactivepgqueue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * A job as stored, wherever it is: what the admin API lists and finds, and what
 * {@link PgQueue#awaitCompletion(UUID)} returns once the job has finished.
 *
 * @param id             the job's id
 * @param queue          its queue
 * @param status         its status
 * @param location       the table holding it
 * @param priority       its priority (lower runs first)
 * @param attempt        attempts used
 * @param maxAttempts    attempts allowed
 * @param reprocessCount reschedules and stall rescues so far
 * @param uniqueKey      its unique key, if any
 * @param fingerprint    its fingerprint, if any
 * @param createdAt      when it was enqueued
 * @param runAt          when it is (or was last) due
 * @param updatedAt      when its row last changed
 * @param completedAt    when it finished, if it has
 * @param lastError      the last error recorded, if any
 * @param payload        its payload as a JSON tree, present only where a single job was asked for
 *                       and the {@code ObjectMapper} can read it (a payload stored by another
 *                       producer may be nested deeper, or hold longer names or numbers, than
 *                       Jackson reads); then {@link #payloadJson()} still has its text
 * @param payloadJson    its payload as the JSON text PostgreSQL returns, present wherever a single
 *                       job was asked for, whether or not Jackson can read it
 * @since 0.1.0
 */
public record JobInfo(UUID id, String queue, JobStatus status, JobLocation location, int priority, int attempt,
                      int maxAttempts, int reprocessCount, Optional<String> uniqueKey, Optional<String> fingerprint,
                      Instant createdAt, Instant runAt, Instant updatedAt, Optional<Instant> completedAt,
                      Optional<String> lastError, Optional<JsonNode> payload, Optional<String> payloadJson) {

    public JobInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(queue, "queue");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(location, "location");
        Objects.requireNonNull(uniqueKey, "uniqueKey");
        Objects.requireNonNull(fingerprint, "fingerprint");
        Objects.requireNonNull(completedAt, "completedAt");
        Objects.requireNonNull(lastError, "lastError");
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(payloadJson, "payloadJson");
    }

    /**
     * A job info whose payload, if present, is a tree: {@link #payloadJson()} is that tree written
     * out as JSON text. For code that builds job infos itself (tests, fakes).
     */
    public JobInfo(UUID id, String queue, JobStatus status, JobLocation location, int priority, int attempt,
                   int maxAttempts, int reprocessCount, Optional<String> uniqueKey, Optional<String> fingerprint,
                   Instant createdAt, Instant runAt, Instant updatedAt, Optional<Instant> completedAt,
                   Optional<String> lastError, Optional<JsonNode> payload) {
        this(id, queue, status, location, priority, attempt, maxAttempts, reprocessCount, uniqueKey, fingerprint,
                createdAt, runAt, updatedAt, completedAt, lastError, payload,
                Objects.requireNonNull(payload, "payload").map(JsonNode::toString));
    }

    /** Whether the job has reached a final status (it will not run again unless requeued). */
    public boolean isFinished() {
        return !status.isLive();
    }
}
