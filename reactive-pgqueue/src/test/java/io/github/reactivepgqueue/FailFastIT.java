package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.reactivepgqueue.testing.DatabaseCoordinates;
import io.github.reactivepgqueue.testing.LogCapture;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * Mistakes a new user makes (a schema never migrated, a wrong role or database name, a blank
 * queue name): each fails at once, with a message that says what to do.
 */
@ExtendWith(PostgresExtension.class)
class FailFastIT {
    /** Far below the time a retrying start or call would take to give up (never, or the acquire timeout). */
    private static final Duration AT_ONCE = Duration.ofSeconds(10);

    private final TestSchema db;
    private final List<PgQueue> queues = new ArrayList<>();

    FailFastIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
    }

    @AfterEach
    void stopQueues() {
        queues.forEach(q -> q.stop(Duration.ZERO).block(TIMEOUT));
    }

    private PgQueue track(PgQueue queue) {
        queues.add(queue);
        return queue;
    }

    private static String suffix() {
        return Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
    }

    // ---- (a) a schema that was never migrated

    static Stream<Arguments> unmigratedCalls() {
        return Stream.<Arguments>of(
                Arguments.of("enqueue", (Function<PgQueue, Mono<?>>) q -> q.enqueue(NewJob.of("q", Map.of("n", 1)))),
                Arguments.of("enqueueAll", (Function<PgQueue, Mono<?>>) q -> q.enqueueAll(
                        List.of(NewJob.of("q", 1).uniqueKey("k")))),
                Arguments.of("cancel", (Function<PgQueue, Mono<?>>) q -> q.cancel(UUID.randomUUID())),
                Arguments.of("admin().counts", (Function<PgQueue, Mono<?>>) q -> q.admin().counts()),
                Arguments.of("admin().pause", (Function<PgQueue, Mono<?>>) q -> q.admin().pause("q")),
                Arguments.of("admin().find", (Function<PgQueue, Mono<?>>) q -> q.admin().find(UUID.randomUUID())));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("unmigratedCalls")
    void aCallOnASchemaThatDoesNotExistSaysToRunMigrate(String call, Function<PgQueue, Mono<?>> what) {
        String schema = db.name() + "_none";
        assertSaysToMigrate(what.apply(db.queueBuilder().schema(schema).build()), schema);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("unmigratedCalls")
    void aCallOnAnEmptySchemaSaysToRunMigrate(String call, Function<PgQueue, Mono<?>> what) {
        String schema = db.name() + "_empty";
        db.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
        assertSaysToMigrate(what.apply(db.queueBuilder().schema(schema).build()), schema);
    }

    private static void assertSaysToMigrate(Mono<?> call, String schema) {
        StepVerifier.create(call)
                .expectErrorSatisfies(e -> assertThat(e)
                        .isInstanceOf(SchemaVersionException.class)
                        .hasMessageContaining(schema)
                        .hasMessageContaining("migrate()")
                        .hasMessageContaining("sql/")
                        .satisfies(s -> assertThat(((SchemaVersionException) s).found()).isZero()))
                .verify(AT_ONCE);
    }

    // ---- (b) a role or database that does not exist

    @Test
    void startWithARoleThatDoesNotExistFailsAtOnceNamingTheRole() {
        String role = "pgq_no_such_role_" + suffix();
        DatabaseCoordinates c = db.coordinates();
        assertStartFailsAtOnce(new DatabaseCoordinates(c.host(), c.port(), c.database(), role, "secret",
                "a role that does not exist").connectionFactory("pgq-fail-fast"), role, "role");
    }

    @Test
    void startWithADatabaseThatDoesNotExistFailsAtOnceNamingTheDatabase() {
        String database = "pgq_no_such_db_" + suffix();
        DatabaseCoordinates c = db.coordinates();
        assertStartFailsAtOnce(new DatabaseCoordinates(c.host(), c.port(), database, c.user(), c.password(),
                "a database that does not exist").connectionFactory("pgq-fail-fast"), database, "database");
    }

    private void assertStartFailsAtOnce(ConnectionFactory factory, String name, String check) {
        PgQueue queue = track(PgQueue.builder(factory).schema(db.name())
                .handler(ReactiveHandler.of("q", job -> Mono.just(Outcome.success()))).build());
        try (LogCapture log = LogCapture.start()) {
            StepVerifier.create(queue.start())
                    .expectErrorSatisfies(e -> assertThat(e)
                            .isInstanceOf(DatabaseLoginException.class)
                            .hasMessageContaining(name)
                            .hasMessageContaining("check the " + check))
                    .verify(AT_ONCE);
            assertThat(log.text()).doesNotContain("retrying");
        }
        // a call made after the failed start fails the same way, at once
        StepVerifier.create(queue.enqueue(NewJob.of("q", 1)))
                .expectError(DatabaseLoginException.class)
                .verify(AT_ONCE);
    }

    // ---- (c) start() before migrate()

    @Test
    void startBeforeMigrateFailsAtOnceSayingTheSchemaIsAtVersionZero() {
        String schema = db.name() + "_unstarted";
        PgQueue queue = track(db.queueBuilder().schema(schema)
                .handler(ReactiveHandler.of("q", job -> Mono.just(Outcome.success()))).build());
        try (LogCapture log = LogCapture.start()) {
            StepVerifier.create(queue.start())
                    .expectErrorSatisfies(e -> assertThat(e)
                            .isInstanceOf(SchemaVersionException.class)
                            .hasMessageContaining(schema)
                            .hasMessageContaining("version 0")
                            .hasMessageContaining("migrate()"))
                    .verify(AT_ONCE);
            assertThat(log.text()).doesNotContain("retrying");
        }
    }

    // ---- (d) a blank queue name in an admin call

    static Stream<Arguments> adminCallsTakingAQueue() {
        return Stream.of(
                Arguments.of("pause", (Function<QueueAdmin, Object>) a -> a.pause(" ")),
                Arguments.of("resume", (Function<QueueAdmin, Object>) a -> a.resume("")),
                Arguments.of("purge", (Function<QueueAdmin, Object>) a -> a.purge("\t")),
                Arguments.of("requeueDead", (Function<QueueAdmin, Object>) a -> a.requeueDead(" ", 10)),
                Arguments.of("list", (Function<QueueAdmin, Object>) a -> a.list(" ", null, null, 10)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("adminCallsTakingAQueue")
    void anAdminCallWithABlankQueueNameThrowsAtOnce(String call, Function<QueueAdmin, Object> what) {
        QueueAdmin admin = db.queueBuilder().build().admin();
        assertThatThrownBy(() -> what.apply(admin))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Queue name must not be blank");
        assertThat(db.count("SELECT count(*) FROM {schema}.paused_queues")).isZero();
    }
}
