package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.internal.store.Db;
import io.github.reactivepgqueue.internal.store.Migration;
import io.github.reactivepgqueue.internal.store.Migrator;
import io.github.reactivepgqueue.internal.store.SchemaName;
import io.github.reactivepgqueue.internal.store.Sql;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/** The migrator, each test on a schema of its own inside the class's database. */
@ExtendWith(PostgresExtension.class)
class MigrationIT {
    private final TestSchema db;
    private final List<String> schemas = new ArrayList<>();

    MigrationIT(TestSchema db) {
        this.db = db;
    }

    private PgQueue queueOnFreshSchema() {
        String schema = db.name() + "_" + schemas.size();
        schemas.add(schema);
        return PgQueue.builder(db.connectionFactory()).schema(schema).build();
    }

    @AfterEach
    void dropSchemas() {
        schemas.forEach(s -> db.execute("DROP SCHEMA IF EXISTS \"" + s + "\" CASCADE"));
    }

    private long tablesIn(String schema) {
        return db.count("SELECT count(*) FROM pg_tables WHERE schemaname = $1", schema);
    }

    @Test
    void createsTheSchemaAndIsIdempotent() {
        PgQueue queue = queueOnFreshSchema();
        assertThat(queue.schemaVersion().block(TIMEOUT)).isZero();

        MigrationResult first = queue.migrate().block(TIMEOUT);
        assertThat(first).isEqualTo(new MigrationResult(0, queue.latestSchemaVersion(), List.of("V1__init.sql", "V2__maintenance.sql",
                "V3__cancelled_key_held.sql", "V4__hot_heartbeats.sql", "V5__autovacuum.sql", "V6__admin_at_scale.sql", "V7__schedules.sql")));
        assertThat(tablesIn(queue.schema())).isEqualTo(6);
        // version 5: the live table is vacuumed by row count (its options, as PostgreSQL keeps them)
        assertThat(db.query("SELECT array_to_string(reloptions, ',') AS options FROM pg_class "
                + "WHERE oid = to_regclass($1)", "\"" + queue.schema() + "\".jobs").get(0).get("options").toString())
                .contains("fillfactor=80", "autovacuum_vacuum_scale_factor=0.0", "autovacuum_vacuum_threshold=5000",
                        "autovacuum_vacuum_cost_delay=0");

        MigrationResult second = queue.migrate().block(TIMEOUT);
        assertThat(second.changed()).isFalse();
        assertThat(second.fromVersion()).isEqualTo(queue.latestSchemaVersion());
        assertThat(queue.schemaVersion().block(TIMEOUT)).isEqualTo(queue.latestSchemaVersion());
        assertThat(db.count("SELECT count(*) FROM \"" + queue.schema() + "\".schema_version")).isEqualTo(queue.latestSchemaVersion());
    }

    @Test
    void fourConcurrentMigrationsLeaveOneCorrectSchema() {
        PgQueue queue = queueOnFreshSchema();
        List<PgQueue> nodes = List.of(queue, PgQueue.builder(db.connectionFactory()).schema(queue.schema()).build(),
                PgQueue.builder(db.connectionFactory()).schema(queue.schema()).build(),
                PgQueue.builder(db.connectionFactory()).schema(queue.schema()).build());

        List<MigrationResult> results = Flux.fromIterable(nodes).flatMap(PgQueue::migrate, 4).collectList().block(TIMEOUT);

        assertThat(results).hasSize(4);
        assertThat(results.stream().filter(MigrationResult::changed)).hasSize(1);
        assertThat(results).allMatch(r -> r.toVersion() == queue.latestSchemaVersion());
        assertThat(tablesIn(queue.schema())).isEqualTo(6);
        assertThat(db.count("SELECT count(*) FROM \"" + queue.schema() + "\".schema_version")).isEqualTo(queue.latestSchemaVersion());
        assertThat(queue.enqueue(NewJob.of("q", 1)).block(TIMEOUT)).isInstanceOf(EnqueueResult.Enqueued.class);
    }

    @Test
    void refusesASchemaNewerThanItKnows() {
        PgQueue queue = queueOnFreshSchema();
        queue.migrate().block(TIMEOUT);
        int future = queue.latestSchemaVersion() + 1;
        db.execute("INSERT INTO \"" + queue.schema() + "\".schema_version (version, description) VALUES ($1, 'future')",
                future);

        queue.migrate().as(StepVerifier::create)
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(SchemaVersionException.class)
                        .hasMessageContaining("newer than the newest this library knows")
                        .satisfies(x -> assertThat(((SchemaVersionException) x).found()).isEqualTo(future)))
                .verify(TIMEOUT);
    }

    @Test
    void aFailingMigrationIsRolledBackWhole() {
        PgQueue queue = queueOnFreshSchema();
        queue.migrate().block(TIMEOUT);
        SchemaName schema = SchemaName.of(queue.schema());
        List<Migration> withBroken = new ArrayList<>(Migration.loadAll());
        int next = withBroken.size() + 1;
        withBroken.add(new Migration(next, "V" + next + "__broken.sql",
                "CREATE TABLE half_done (id int); SELECT no_such_function(); "
                        + "INSERT INTO schema_version (version, description) VALUES (" + next + ", 'broken');"));
        Migrator migrator = new Migrator(plainDb(), Sql.load(schema), withBroken);

        migrator.migrate().as(StepVerifier::create)
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(MigrationException.class)
                        .hasMessageContaining("V" + next + "__broken.sql"))
                .verify(TIMEOUT);

        assertThat(queue.schemaVersion().block(TIMEOUT)).isEqualTo(next - 1);
        assertThat(db.count("SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'half_done'",
                queue.schema())).isZero();
    }

    @Test
    void version3ReplacesTheUniqueKeyIndexOnAVersion2SchemaWithJobs() {
        PgQueue queue = queueOnFreshSchema();
        SchemaName schema = SchemaName.of(queue.schema());
        new Migrator(plainDb(), Sql.load(schema), Migration.loadAll().subList(0, 2)).migrate().block(TIMEOUT);
        assertThat(queue.schemaVersion().block(TIMEOUT)).isEqualTo(2);
        String jobs = "\"" + queue.schema() + "\".jobs";
        // this version enqueues on a schema not migrated yet (an enqueue-only node upgraded first)
        UUID pending = queue.enqueue(NewJob.of("q", 1).uniqueKey("held")).block(TIMEOUT).id();
        assertThat(queue.enqueue(NewJob.of("q", 1).uniqueKey("held")).block(TIMEOUT))
                .isEqualTo(new EnqueueResult.Duplicate(pending, "held"));
        // version 2 never leaves a lease on a cancelled job; one left by hand is cleared
        db.execute("INSERT INTO " + jobs + " (id, queue, payload, max_attempts, status, unique_key, lease, heartbeat_at) "
                + "VALUES (gen_random_uuid(), 'q', '{}', 1, 'cancelled', 'held', gen_random_uuid(), now())");

        MigrationResult result = queue.migrate().block(TIMEOUT);

        assertThat(result).isEqualTo(new MigrationResult(2, queue.latestSchemaVersion(), List.of("V3__cancelled_key_held.sql",
                "V4__hot_heartbeats.sql", "V5__autovacuum.sql", "V6__admin_at_scale.sql", "V7__schedules.sql")));
        assertThat(db.count("SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexname = $2",
                queue.schema(), "jobs_unique_key_live_idx")).isZero();
        assertThat(db.count("SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexname = $2",
                queue.schema(), "jobs_unique_key_held_idx")).isEqualTo(1);
        assertThat(db.count("SELECT count(*) FROM " + jobs + " WHERE lease IS NOT NULL")).isZero();
        assertThat(queue.enqueue(NewJob.of("q", 2).uniqueKey("held")).block(TIMEOUT))
                .isEqualTo(new EnqueueResult.Duplicate(pending, "held"));
        // a cancelled job under a lease holds its key
        db.execute("UPDATE " + jobs + " SET status = 'cancelled', lease = gen_random_uuid() WHERE id = $1", pending);
        assertThat(queue.enqueue(NewJob.of("q", 3).uniqueKey("held")).block(TIMEOUT))
                .isEqualTo(new EnqueueResult.Duplicate(pending, "held"));
    }

    private Db plainDb() {
        return new Db(db.connectionFactory(), TIMEOUT, Duration.ZERO, Duration.ZERO, Schedulers.parallel());
    }

    @Test
    void aMigrationThatForgetsToRecordItsVersionIsReported() {
        PgQueue queue = queueOnFreshSchema();
        queue.migrate().block(TIMEOUT);
        List<Migration> withSilent = new ArrayList<>(Migration.loadAll());
        int next = withSilent.size() + 1;
        withSilent.add(new Migration(next, "V" + next + "__silent.sql", "CREATE TABLE silent (id int);"));
        Migrator migrator = new Migrator(plainDb(), Sql.load(SchemaName.of(queue.schema())), withSilent);

        migrator.migrate().as(StepVerifier::create)
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(MigrationException.class)
                        .hasMessageContaining("did not record its version"))
                .verify(TIMEOUT);
        assertThat(db.count("SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'silent'",
                queue.schema())).isZero();
    }

    @Test
    void theStatusConstraintAcceptsExactlyTheJavaStatuses() {
        PgQueue queue = queueOnFreshSchema();
        queue.migrate().block(TIMEOUT);
        String jobs = "\"" + queue.schema() + "\".jobs";
        for (JobStatus status : JobStatus.values()) {
            db.execute("INSERT INTO " + jobs + " (id, queue, payload, max_attempts, status) "
                    + "VALUES (gen_random_uuid(), 'q', '{}', 1, $1)", status.databaseValue());
        }
        assertThat(db.count("SELECT count(DISTINCT status) FROM " + jobs)).isEqualTo(JobStatus.values().length);
        StepVerifier.create(Flux.defer(() -> {
                    db.execute("INSERT INTO " + jobs + " (id, queue, payload, max_attempts, status) "
                            + "VALUES (gen_random_uuid(), 'q', '{}', 1, 'exploded')");
                    return Flux.empty();
                }))
                .expectErrorSatisfies(e -> assertThat(e).hasMessageContaining("check constraint"))
                .verify(TIMEOUT);
    }
}
