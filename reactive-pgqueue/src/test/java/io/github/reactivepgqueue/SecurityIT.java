package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.internal.store.SchemaName;
import io.github.reactivepgqueue.internal.store.Sql;
import io.github.reactivepgqueue.internal.store.SqlName;
import io.github.reactivepgqueue.testing.DatabaseCoordinates;
import io.github.reactivepgqueue.testing.LogCapture;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.Rows;
import io.github.reactivepgqueue.testing.StatementCounter;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.R2dbcPermissionDeniedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

/**
 * Least privilege, with the grants of docs/operations.md and the enqueue-only role of
 * docs/security.md: an owner role migrates, a runtime role with
 * DML rights only runs a whole node (enqueue, claim, complete, fail, janitor, reaper, admin), and an
 * enqueue-only role can enqueue but neither claim nor read payloads. Also: payloads and passwords
 * never reach the log, and no user data ever reaches SQL text.
 */
@ExtendWith(PostgresExtension.class)
class SecurityIT {
    private static String suffix;
    private static String owner;
    private static String worker;
    private static String producer;
    private static String schema;
    private static final List<ConnectionPool> POOLS = new ArrayList<>();
    private static ConnectionFactory workerPool;
    private static ConnectionFactory producerPool;
    private static ConnectionFactory ownerPool;

    private final TestSchema db;
    private final List<PgQueue> queues = new ArrayList<>();

    SecurityIT(TestSchema db) {
        this.db = db;
    }

    @BeforeAll
    static void createRolesAndMigrate(TestSchema db) {
        suffix = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xFFFFFF));
        owner = "pgq_owner_" + suffix;
        worker = "pgq_worker_" + suffix;
        producer = "pgq_producer_" + suffix;
        schema = db.name();
        String ownerPassword = password();
        String workerPassword = password();
        String producerPassword = password();
        // as the DBA (docs/operations.md, "Roles and privileges")
        db.execute("CREATE ROLE " + owner + " LOGIN PASSWORD '" + ownerPassword + "'");
        db.execute("CREATE ROLE " + worker + " LOGIN PASSWORD '" + workerPassword + "'");
        db.execute("CREATE ROLE " + producer + " LOGIN PASSWORD '" + producerPassword + "'");
        db.execute("CREATE SCHEMA " + schema + " AUTHORIZATION " + owner);
        ownerPool = pool(owner, ownerPassword);
        workerPool = pool(worker, workerPassword);
        producerPool = pool(producer, producerPassword);

        // as the owner: migrate, then grant
        MigrationResult migrated = PgQueue.builder(ownerPool).schema(schema).build().migrate().block(TIMEOUT);
        assertThat(migrated.changed()).isTrue();
        for (String grant : grants(schema, owner, worker, producer)) {
            Rows.query(ownerPool, grant);
        }
    }

    /** The grants of docs/operations.md, with the enqueue-only producer of docs/security.md. */
    static List<String> grants(String schema, String owner, String worker, String producer) {
        return List.of(
                "REVOKE ALL ON SCHEMA " + schema + " FROM PUBLIC",
                "GRANT USAGE ON SCHEMA " + schema + " TO " + worker + ", " + producer,
                "GRANT SELECT, INSERT, UPDATE, DELETE ON " + schema + ".jobs, " + schema + ".jobs_archive, "
                        + schema + ".jobs_dead, " + schema + ".paused_queues, " + schema + ".schedules TO " + worker,
                "GRANT SELECT ON " + schema + ".schema_version TO " + worker + ", " + producer,
                "ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " IN SCHEMA " + schema
                        + " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " + worker,
                "GRANT INSERT ON " + schema + ".jobs TO " + producer,
                "GRANT SELECT (id, queue, status, unique_key, lease, run_at) ON " + schema + ".jobs TO " + producer);
    }

    @AfterAll
    static void dropRoles(TestSchema db) {
        POOLS.forEach(p -> p.disposeLater().block(TIMEOUT));
        db.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        for (String role : List.of(owner, worker, producer)) {
            db.execute("DROP OWNED BY " + role);
            db.execute("DROP ROLE " + role);
        }
    }

    @BeforeEach
    void empty() {
        db.deleteAllJobs();
    }

    @org.junit.jupiter.api.AfterEach
    void closeQueues() {
        queues.forEach(q -> q.close().block(TIMEOUT));
    }

    // ---------------------------------------------------------------------------------------------
    // roles

    @Test
    void theRuntimeRoleRunsAWholeNodeWithDmlRightsOnly() {
        PgQueue node = track(PgQueue.builder(workerPool).schema(schema).pollInterval(Duration.ofMillis(50))
                .janitor(true).janitorInterval(Duration.ofMillis(100))
                .handler(ReactiveHandler.of("ok", job -> Mono.just(Outcome.success())))
                .handler(ReactiveHandler.of("bad", job -> Mono.error(new IllegalStateException("fails"))))
                .build());
        // a node may call migrate() at start-up: on a current schema it needs no DDL right
        assertThat(node.migrate().block(TIMEOUT).changed()).isFalse();

        // a job whose node died: the reaper rescues it
        UUID stalled = UUID.randomUUID();
        db.execute("INSERT INTO {schema}.jobs (id, queue, payload, max_attempts, status, attempt, lease, heartbeat_at) "
                + "VALUES ($1, 'ok', '{}', 5, 'running', 1, gen_random_uuid(), now() - interval '1 hour')", stalled);
        assertThat(node.admin().rescueStalledJobs().block(TIMEOUT)).isEqualTo(1);

        node.start().block(TIMEOUT);
        List<NewJob> jobs = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            jobs.add(NewJob.of("ok", Map.of("i", i)).uniqueKey("ok-" + i));
        }
        jobs.add(NewJob.of("bad", 1).maxAttempts(1));
        node.enqueueAll(jobs).block(TIMEOUT);
        assertThat(node.enqueue(NewJob.of("ok", 0).uniqueKey("later").delay(Duration.ofHours(1))).block(TIMEOUT))
                .isInstanceOf(EnqueueResult.Enqueued.class);
        assertThat(node.cancelByUniqueKey("later").block(TIMEOUT)).isEqualTo(1);

        await().atMost(TIMEOUT).until(() -> db.rows("jobs_archive") == 11 && db.rows("jobs_dead") == 2);
        QueueAdmin admin = node.admin();
        admin.pause("ok").block(TIMEOUT);
        assertThat(admin.pausedQueues().block(TIMEOUT)).containsExactly("ok");
        admin.resume("ok").block(TIMEOUT);
        assertThat(admin.counts().block(TIMEOUT)).isNotEmpty();
        assertThat(admin.list("bad", null, null, 10).collectList().block(TIMEOUT)).hasSize(1);
        assertThat(admin.requeueDead("bad", 10).block(TIMEOUT)).isEqualTo(1);
        assertThat(admin.deleteExpiredJobs().block(TIMEOUT)).isZero();
        assertThat(node.staleWrites()).isZero();

        // and nothing more
        for (String ddl : List.of("CREATE TABLE " + schema + ".intruder (x int)", "TRUNCATE " + schema + ".jobs",
                "DROP TABLE " + schema + ".jobs_archive", "ALTER TABLE " + schema + ".jobs ADD COLUMN x int",
                "CREATE SCHEMA " + schema + "_other")) {
            assertDenied(workerPool, ddl);
        }
    }

    @Test
    void theEnqueueOnlyRoleEnqueuesButCannotClaimOrReadPayloads() {
        PgQueue producerQueue = PgQueue.builder(producerPool).schema(schema).build();
        UUID id = producerQueue.enqueue(NewJob.of("q", Map.of("secret", "s3cr3t")).uniqueKey("k")).block(TIMEOUT).id();
        EnqueueResult again = producerQueue.enqueue(NewJob.of("q", 2).uniqueKey("k")).block(TIMEOUT);
        assertThat(again.isDuplicate()).isTrue();
        assertThat(again.id()).isEqualTo(id);
        assertThat(producerQueue.enqueueAll(List.of(NewJob.of("q", 3), NewJob.of("q", 4).delay(Duration.ofMinutes(1))))
                .block(TIMEOUT)).hasSize(2);
        assertThat(producerQueue.schemaVersion().block(TIMEOUT)).isEqualTo(producerQueue.latestSchemaVersion());

        String claim = Sql.load(SchemaName.of(schema)).get(SqlName.JobClaim);
        assertDenied(producerPool, claim, new String[] {"q"}, new Integer[] {10});
        assertDenied(producerPool, "SELECT payload FROM " + schema + ".jobs");
        assertDenied(producerPool, "UPDATE " + schema + ".jobs SET status = 'cancelled'");
        assertDenied(producerPool, "DELETE FROM " + schema + ".jobs");
        assertDenied(producerPool, "SELECT * FROM " + schema + ".jobs_archive");
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'pending'")).isEqualTo(3);
    }

    private static void assertDenied(ConnectionFactory factory, String sql, Object... params) {
        assertThatThrownBy(() -> Rows.query(factory, sql, params)).as(sql)
                .isInstanceOf(R2dbcPermissionDeniedException.class)
                .satisfies(e -> assertThat(((R2dbcPermissionDeniedException) e).getSqlState()).isEqualTo("42501"));
    }

    // ---------------------------------------------------------------------------------------------
    // what reaches the log and the SQL text

    @Test
    void payloadsAndPasswordsNeverReachTheLog() {
        String marker = marker();
        try (LogCapture log = LogCapture.start()) {
            PgQueue node = track(PgQueue.builder(workerPool).schema(schema).pollInterval(Duration.ofMillis(50))
                    .janitor(false)
                    .handler(ReactiveHandler.of("leaky", job -> Mono.error(new IllegalStateException(
                            "cannot handle " + job.payload()))), QueueOptions.defaults().backoff(
                            Backoff.linear(Duration.ZERO)))
                    .build());
            node.start().block(TIMEOUT);
            UUID id = node.enqueue(NewJob.of("leaky", Map.of("card", marker)).maxAttempts(2)).block(TIMEOUT).id();
            await().atMost(TIMEOUT).until(() -> db.count("SELECT count(*) FROM {schema}.jobs WHERE id = $1 "
                    + "AND status = 'failed'", id) == 1);
            assertThat(db.row("jobs", id, "last_error").get("last_error"))
                    .as("the error, with the payload the handler put in it, is stored on the job")
                    .asString().contains(marker);

            // a node that cannot log in: its password carries the marker
            DatabaseCoordinates c = db.coordinates();
            ConnectionFactory wrong = new DatabaseCoordinates(c.host(), c.port(), c.database(),
                    "pgq_nobody_" + suffix, "pw-" + marker, "wrong credentials").connectionFactory("pgq-wrong");
            PgQueue locked = track(PgQueue.builder(wrong).schema(schema).connectionAcquireTimeout(Duration.ofSeconds(2))
                    .handler(ReactiveHandler.of("leaky", job -> Mono.just(Outcome.success()))).build());
            Disposable starting = locked.start().subscribe(v -> { }, e -> { });
            assertThatThrownBy(() -> locked.enqueue(NewJob.of("leaky", marker)).block(TIMEOUT))
                    .satisfies(e -> assertThat(chain(e)).doesNotContain(marker));
            await().atMost(TIMEOUT).until(() -> log.text().contains("Starting (checking the schema version) failed"));
            starting.dispose();

            assertThat(log.text()).as("the capture works").contains("WARN").contains("pgq_nobody_" + suffix)
                    .doesNotContain(marker);
        }
    }

    @Test
    void noUserDataReachesSqlText() {
        String marker = marker();
        String queue = "queue-" + marker;
        StatementCounter sqlLog = new StatementCounter(workerPool);
        PgQueue node = track(PgQueue.builder(sqlLog).schema(schema).pollInterval(Duration.ofMillis(50)).listen(false)
                .janitor(true).janitorInterval(Duration.ofMillis(100))
                .handler(ReactiveHandler.of(queue, job -> Mono.just(job.payload().path("fail").asBoolean()
                        ? Outcome.retry("reason-" + marker) : Outcome.success())),
                        QueueOptions.defaults().backoff(Backoff.linear(Duration.ofHours(1))))
                .build());
        node.start().block(TIMEOUT);
        node.enqueueAll(List.of(
                NewJob.of(queue, Map.of("fail", false, "data", marker)).uniqueKey("key-" + marker)
                        .fingerprint("fp-" + marker),
                NewJob.of(queue, Map.of("fail", true, "data", marker)))).block(TIMEOUT);
        UUID awaited = node.enqueueAndAwait(NewJob.of(queue, Map.of("data", marker))).block(TIMEOUT).id();
        await().atMost(TIMEOUT).until(() -> db.count("SELECT count(*) FROM {schema}.jobs WHERE last_error = $1",
                "reason-" + marker) == 1);
        QueueAdmin admin = node.admin();
        admin.pause(queue).block(TIMEOUT);
        admin.resume(queue).block(TIMEOUT);
        admin.list(queue, JobStatus.PENDING, null, 10).collectList().block(TIMEOUT);
        admin.find(awaited).block(TIMEOUT);
        node.cancelByUniqueKey("key-" + marker).block(TIMEOUT);
        node.cancelByFingerprint("fp-" + marker).block(TIMEOUT);
        admin.purge(queue).block(TIMEOUT);

        assertThat(sqlLog.statements()).hasSizeGreaterThan(10)
                .noneMatch(sql -> sql.toLowerCase(Locale.ROOT).contains(marker.toLowerCase(Locale.ROOT)));
    }

    // ---------------------------------------------------------------------------------------------

    private PgQueue track(PgQueue queue) {
        queues.add(queue);
        return queue;
    }

    private static String marker() {
        return "MARKER" + UUID.randomUUID().toString().replace("-", "");
    }

    private static String password() {
        return UUID.randomUUID().toString().replace("-", "");
    }

    private static String chain(Throwable e) {
        StringBuilder text = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            text.append(t).append('\n');
        }
        return text.toString();
    }

    private static ConnectionFactory pool(String user, String password) {
        DatabaseCoordinates c = TestDatabaseAccess.coordinates();
        ConnectionPool pool = new ConnectionPool(ConnectionPoolConfiguration.builder(
                        new DatabaseCoordinates(c.host(), c.port(), c.database(), user, password, "role " + user)
                                .connectionFactory("pgq-" + user))
                .initialSize(0).maxSize(5).maxAcquireTime(Duration.ofSeconds(30)).build());
        POOLS.add(pool);
        return pool;
    }

    /** The JVM's test server. */
    private static final class TestDatabaseAccess {
        static DatabaseCoordinates coordinates() {
            return io.github.reactivepgqueue.testing.TestDatabase.get();
        }
    }
}
