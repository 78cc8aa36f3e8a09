package io.github.reactivepgqueue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.internal.JobEncoder;
import io.github.reactivepgqueue.internal.JobInserter;
import io.github.reactivepgqueue.internal.Migration;
import io.github.reactivepgqueue.internal.Migrator;
import io.github.reactivepgqueue.internal.SchemaName;
import io.github.reactivepgqueue.internal.Sql;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import reactor.core.publisher.Mono;

/**
 * A job queue stored in PostgreSQL. Build one per application from an R2DBC
 * {@link ConnectionFactory} (ideally an r2dbc-pool {@code ConnectionPool}):
 *
 * <pre>{@code
 * PgQueue queue = PgQueue.builder(connectionFactory).schema("pgqueue").build();
 * queue.migrate()
 *      .then(queue.enqueue(NewJob.of("emails", new Welcome(userId))))
 *      .subscribe(result -> log.info("enqueued {}", result.id()));
 * }</pre>
 *
 * <p>Every method returns a cold publisher: nothing happens until it is subscribed. Failures are
 * signalled through {@code onError}; only a {@code null} argument throws at once. A {@code PgQueue}
 * is thread-safe, and any number of them, in one JVM or many, can share a schema.
 *
 * @since 0.1.0
 */
public final class PgQueue {
    private final ConnectionFactory connectionFactory;
    private final SchemaName schema;
    private final ObjectMapper objectMapper;
    private final Migrator migrator;
    private final JobInserter inserter;

    PgQueue(PgQueueBuilder builder, SchemaName schema, ObjectMapper objectMapper) {
        this.connectionFactory = builder.connectionFactory;
        this.schema = schema;
        this.objectMapper = objectMapper;
        Sql sql = Sql.load(schema);
        this.migrator = new Migrator(connectionFactory, sql, Migration.loadAll());
        this.inserter = new JobInserter(connectionFactory, sql,
                new JobEncoder(objectMapper, builder.maxPayloadBytes, builder.defaultMaxAttempts),
                builder.enqueueBatchSize);
    }

    /** Starts configuring a queue that reaches PostgreSQL through {@code connectionFactory}. */
    public static PgQueueBuilder builder(ConnectionFactory connectionFactory) {
        return new PgQueueBuilder(connectionFactory);
    }

    /** The schema holding the queue's tables. */
    public String schema() {
        return schema.name();
    }

    /** The Jackson mapper used for payloads. */
    public ObjectMapper objectMapper() {
        return objectMapper;
    }

    /**
     * Creates the schema if needed and applies the migrations it lacks, in one transaction under an
     * advisory lock, so several nodes may call it at once. Does nothing on a current schema.
     * Needs rights to create the schema (or own it) and its tables; a runtime role with DML rights
     * only can skip this when the migrations were applied by someone else (the files under
     * {@code sql/} work unchanged with Flyway).
     *
     * @return what was applied; fails with {@link SchemaVersionException} when the schema is newer
     *     than this library, or {@link MigrationException} when a migration fails (nothing is kept)
     */
    public Mono<MigrationResult> migrate() {
        return migrator.migrate();
    }

    /** The schema's current version: 0 when it has no tables, {@link #latestSchemaVersion()} when current. */
    public Mono<Integer> schemaVersion() {
        return migrator.currentVersion();
    }

    /** The newest schema version this library knows. */
    public int latestSchemaVersion() {
        return migrator.latestVersion();
    }

    /**
     * Enqueues one job in an auto-committed statement of its own.
     *
     * @return the new job's id, or a {@link EnqueueResult.Duplicate} naming the live job holding the
     *     unique key; fails with {@link InvalidJobException} (nothing written) for an invalid job
     */
    public Mono<EnqueueResult> enqueue(NewJob job) {
        return inserter.enqueueAll(List.of(Objects.requireNonNull(job, "job"))).map(results -> results.get(0));
    }

    /**
     * Enqueues many jobs, one insert statement per batch (see
     * {@link PgQueueBuilder#enqueueBatchSize(int)}). All batches share one transaction: either every
     * job is stored (or found duplicate) or none. Jobs later in the list that repeat an earlier
     * job's unique key are duplicates of it.
     *
     * @return one result per job, in input order; fails with {@link InvalidJobException} if any job
     *     is invalid, and then nothing is written
     */
    public Mono<List<EnqueueResult>> enqueueAll(Collection<NewJob> jobs) {
        return inserter.enqueueAll(Objects.requireNonNull(jobs, "jobs"));
    }

    /**
     * Enqueues one job on the caller's connection, inside the transaction the caller has open: the
     * job exists only if that transaction commits. The caller owns the connection and the
     * transaction.
     */
    public Mono<EnqueueResult> enqueue(Connection connection, NewJob job) {
        return inserter.enqueueAll(Objects.requireNonNull(connection, "connection"),
                List.of(Objects.requireNonNull(job, "job"))).map(results -> results.get(0));
    }

    /**
     * Enqueues many jobs on the caller's connection, inside the transaction the caller has open;
     * otherwise as {@link #enqueueAll(Collection)}.
     */
    public Mono<List<EnqueueResult>> enqueueAll(Connection connection, Collection<NewJob> jobs) {
        return inserter.enqueueAll(Objects.requireNonNull(connection, "connection"), Objects.requireNonNull(jobs, "jobs"));
    }

    @Override
    public String toString() {
        return "PgQueue[schema=" + schema + "]";
    }
}
