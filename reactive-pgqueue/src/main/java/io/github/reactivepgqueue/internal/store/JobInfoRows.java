package io.github.reactivepgqueue.internal.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.JobInfo;
import io.github.reactivepgqueue.JobLocation;
import io.github.reactivepgqueue.JobStatus;
import io.r2dbc.spi.Row;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/** Maps rows of {@link SqlName#JobFindMany} and {@link SqlName#AdminList} to {@link JobInfo}. */
final class JobInfoRows {
    private JobInfoRows() {
    }

    static JobInfo from(Row row, ObjectMapper mapper) {
        UUID id = row.get("id", UUID.class);
        String payload = row.get("payload", String.class);
        return new JobInfo(id, row.get("queue", String.class),
                JobStatus.fromDatabase(row.get("status", String.class)),
                JobLocation.valueOf(row.get("location", String.class).toUpperCase(Locale.ROOT)),
                row.get("priority", Integer.class), row.get("attempt", Integer.class),
                row.get("max_attempts", Integer.class), row.get("reprocess_count", Integer.class),
                Optional.ofNullable(row.get("unique_key", String.class)),
                Optional.ofNullable(row.get("fingerprint", String.class)),
                instant(row, "created_at"), instant(row, "run_at"), instant(row, "updated_at"),
                Optional.ofNullable(row.get("completed_at", OffsetDateTime.class)).map(OffsetDateTime::toInstant),
                Optional.ofNullable(row.get("last_error", String.class)),
                Optional.ofNullable(payload).flatMap(text -> tree(mapper, text)), Optional.ofNullable(payload));
    }

    private static Instant instant(Row row, String column) {
        return row.get(column, OffsetDateTime.class).toInstant();
    }

    /**
     * The payload as a tree, or empty if the mapper cannot read it (see {@link ClaimRows#from} for
     * what it cannot): the caller still gets the text, and finding a job must not fail over it.
     */
    private static Optional<JsonNode> tree(ObjectMapper mapper, String text) {
        try {
            return Optional.of(mapper.readTree(text));
        } catch (JsonProcessingException e) {
            return Optional.empty();
        }
    }
}
