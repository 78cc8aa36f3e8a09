package io.github.reactivepgqueue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.github.reactivepgqueue.internal.SchemaName;
import io.r2dbc.spi.ConnectionFactory;
import java.util.Objects;

/**
 * Configures a {@link PgQueue}. Not thread-safe; {@link #build()} validates the configuration and
 * returns an immutable, thread-safe queue.
 *
 * @since 0.1.0
 */
public final class PgQueueBuilder {
    /** Default schema: {@value}. */
    public static final String DEFAULT_SCHEMA = "pgqueue";
    /** Default payload size limit: 1 MiB of JSON text. */
    public static final int DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
    /** Default number of jobs per insert statement: {@value}. */
    public static final int DEFAULT_ENQUEUE_BATCH_SIZE = 1000;
    /** Default maximum attempts of a job that sets none: {@value}. */
    public static final int DEFAULT_MAX_ATTEMPTS = 5;

    final ConnectionFactory connectionFactory;
    String schema = DEFAULT_SCHEMA;
    ObjectMapper objectMapper;
    int maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES;
    int enqueueBatchSize = DEFAULT_ENQUEUE_BATCH_SIZE;
    int defaultMaxAttempts = DEFAULT_MAX_ATTEMPTS;

    PgQueueBuilder(ConnectionFactory connectionFactory) {
        this.connectionFactory = Objects.requireNonNull(connectionFactory, "connectionFactory");
    }

    /**
     * The PostgreSQL schema holding the queue's tables (default {@value #DEFAULT_SCHEMA}). Lower-case
     * ASCII letters, digits and underscores, at most 63 bytes, not starting with a digit or
     * {@code pg_}; checked by {@link #build()}.
     */
    public PgQueueBuilder schema(String schema) {
        this.schema = schema;
        return this;
    }

    /**
     * The Jackson mapper for payloads (default: a plain {@code ObjectMapper} with the Java time
     * module, writing dates as ISO-8601 text).
     */
    public PgQueueBuilder objectMapper(ObjectMapper objectMapper) {
        this.objectMapper = Objects.requireNonNull(objectMapper, "objectMapper");
        return this;
    }

    /**
     * The largest payload accepted, in bytes of UTF-8 JSON text (default 1 MiB). A larger payload
     * fails the enqueue with {@link InvalidJobException}.
     */
    public PgQueueBuilder maxPayloadBytes(int maxPayloadBytes) {
        this.maxPayloadBytes = maxPayloadBytes;
        return this;
    }

    /** How many jobs one insert statement carries (default {@value #DEFAULT_ENQUEUE_BATCH_SIZE}). */
    public PgQueueBuilder enqueueBatchSize(int enqueueBatchSize) {
        this.enqueueBatchSize = enqueueBatchSize;
        return this;
    }

    /** Maximum attempts of jobs that set none (default {@value #DEFAULT_MAX_ATTEMPTS}). */
    public PgQueueBuilder defaultMaxAttempts(int defaultMaxAttempts) {
        this.defaultMaxAttempts = defaultMaxAttempts;
        return this;
    }

    /**
     * Validates the configuration and builds the queue. Reads the library's packaged SQL files,
     * so call it at start-up, not on a reactive thread. Touches no database.
     *
     * @throws IllegalArgumentException naming the option that is invalid
     */
    public PgQueue build() {
        SchemaName schemaName = SchemaName.of(schema);
        requireAtLeast("maxPayloadBytes", maxPayloadBytes, 2);
        requireAtLeast("enqueueBatchSize", enqueueBatchSize, 1);
        requireAtLeast("defaultMaxAttempts", defaultMaxAttempts, 1);
        return new PgQueue(this, schemaName, objectMapper != null ? objectMapper : defaultObjectMapper());
    }

    private static void requireAtLeast(String option, int value, int min) {
        if (value < min) {
            throw new IllegalArgumentException(option + " must be at least " + min + " but was " + value);
        }
    }

    static ObjectMapper defaultObjectMapper() {
        return new ObjectMapper()
                .registerModule(new JavaTimeModule())
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
    }
}
