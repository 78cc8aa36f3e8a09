package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.reactivepgqueue.internal.NodeProbe;
import io.github.reactivepgqueue.testing.DatabaseCoordinates;
import io.github.reactivepgqueue.testing.LogCapture;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.Rows;
import io.github.reactivepgqueue.testing.TestSchema;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;

/**
 * The roles and GRANTs of docs/operations.md are enough: an owner role migrates, a runtime role
 * with DML rights only runs workers, the reaper, the janitor, the admin API and schedules
 * (declared, managed at runtime, their slots enqueued), and a producer role with SELECT and
 * INSERT on the jobs table enqueues (alone, in bulk, in its own transaction) and awaits, but
 * cannot change jobs. A role that cannot write an outcome does not keep its job running
 * forever.
 */
@ExtendWith(PostgresExtension.class)
class PrivilegesIT {
    private static final String PASSWORD = "pgqueue-roles-test";

    private final TestSchema db;
    private final String suffix = Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36)
            .toLowerCase(Locale.ROOT);
    private final String owner = "pgq_owner_" + suffix;
    private final String runtime = "pgq_runtime_" + suffix;
    private final String producer = "pgq_producer_" + suffix;
    private String schema;
    private PgQueue runtimeQueue;
    private PgQueue producerQueue;

    PrivilegesIT(TestSchema db) {
        this.db = db;
    }

    @BeforeEach
    void createRolesAndSchema() {
        schema = db.name() + "_roles";
        for (String role : List.of(owner, runtime, producer)) {
            db.execute("CREATE ROLE " + role + " LOGIN PASSWORD '" + PASSWORD + "'");
        }
        db.execute("CREATE SCHEMA " + schema + " AUTHORIZATION " + owner);
    }

    @AfterEach
    void dropRolesAndSchema() {
        for (PgQueue queue : new PgQueue[] {runtimeQueue, producerQueue}) {
            if (queue != null) {
                queue.close().block(TIMEOUT);
            }
        }
        db.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        for (String role : List.of(producer, runtime, owner)) {
            db.execute("DROP OWNED BY " + role);
            db.execute("DROP ROLE " + role);
        }
    }

    private ConnectionFactory as(String role) {
        DatabaseCoordinates c = db.coordinates();
        return new DatabaseCoordinates(c.host(), c.port(), c.database(), role, PASSWORD, c.source())
                .connectionFactory("pgqueue-roles-test");
    }

    /** The GRANTs as docs/operations.md gives them, for this schema and these roles. */
    private void grantAsDocumented() {
        String s = schema;
        db.execute("GRANT USAGE ON SCHEMA " + s + " TO " + runtime);
        db.execute("GRANT SELECT ON " + s + ".schema_version TO " + runtime);
        db.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON " + s + ".jobs, " + s + ".jobs_archive, " + s
                + ".jobs_dead, " + s + ".paused_queues, " + s + ".schedules TO " + runtime);
        db.execute("GRANT USAGE ON SCHEMA " + s + " TO " + producer);
        db.execute("GRANT SELECT, INSERT ON " + s + ".jobs TO " + producer);
        db.execute("GRANT SELECT ON " + s + ".jobs_archive, " + s + ".jobs_dead TO " + producer);
    }

    @Test
    void eachRoleCanDoItsPartWithTheDocumentedGrants() {
        PgQueue ownerQueue = PgQueue.builder(as(owner)).schema(schema).listen(false).build();
        assertThat(ownerQueue.migrate().block(TIMEOUT).changed()).isTrue();
        grantAsDocumented();

        runtimeQueue = PgQueue.builder(as(runtime)).schema(schema)
                .handler(ReactiveHandler.of("ok", job -> Mono.just(Outcome.success())))
                .handler(ReactiveHandler.of("bad", job -> Mono.just(Outcome.unprocessable().withReason("no"))))
                .pollInterval(Duration.ofMillis(100))
                .janitorInterval(Duration.ofMillis(100))
                .reaperInterval(Duration.ofMillis(100))
                .schedule(Schedule.every("declared", "ok", Duration.ofHours(1)))   // written by start()
                .build();
        runtimeQueue.start().block(TIMEOUT);

        producerQueue = PgQueue.builder(as(producer)).schema(schema).pollInterval(Duration.ofMillis(100)).build();
        // alone, with a unique key, a duplicate, in bulk, and in the producer's own transaction
        EnqueueResult first = producerQueue.enqueue(NewJob.of("ok", Map.of("n", 1)).uniqueKey("k")).block(TIMEOUT);
        assertThat(producerQueue.enqueue(NewJob.of("ok", Map.of("n", 2)).uniqueKey("k")).block(TIMEOUT))
                .satisfiesAnyOf(r -> assertThat(r.isDuplicate()).isTrue(),
                        r -> assertThat(r.id()).isNotEqualTo(first.id())); // the first may have finished already
        assertThat(producerQueue.enqueueAll(List.of(NewJob.of("ok", 3), NewJob.of("ok", 4))).block(TIMEOUT)).hasSize(2);
        ConnectionFactory producerConnections = as(producer);
        EnqueueResult inTx = Mono.usingWhen(producerConnections.create(),
                conn -> Mono.from(conn.beginTransaction())
                        .then(producerQueue.enqueue(conn, NewJob.of("ok", 5)))
                        .flatMap(r -> Mono.from(conn.commitTransaction()).thenReturn(r)),
                Connection::close).block(TIMEOUT);
        UUID bad = producerQueue.enqueue(NewJob.of("bad", 6)).block(TIMEOUT).id();

        // the runtime role runs them, the janitor moves them, the producer awaits them
        assertThat(producerQueue.awaitCompletion(inTx.id()).block(TIMEOUT).status()).isEqualTo(JobStatus.COMPLETED);
        JobInfo dead = producerQueue.awaitCompletion(bad).block(TIMEOUT);
        assertThat(dead.status()).isEqualTo(JobStatus.UNPROCESSABLE);
        QueueAdmin admin = runtimeQueue.admin();
        org.awaitility.Awaitility.await().atMost(TIMEOUT)
                .until(() -> admin.find(bad).block(TIMEOUT).location() == JobLocation.DEAD);

        // the admin API and maintenance with the runtime role
        assertThat(admin.requeue(bad).block(TIMEOUT)).isTrue();
        admin.pause("ok").block(TIMEOUT);
        assertThat(admin.pausedQueues().block(TIMEOUT)).containsExactly("ok");
        admin.resume("ok").block(TIMEOUT);
        assertThat(admin.counts().block(TIMEOUT)).isNotEmpty();
        assertThat(admin.list(null, null, null, 100).collectList().block(TIMEOUT)).isNotEmpty();
        admin.rescueStalledJobs().block(TIMEOUT);
        admin.moveFinishedJobs().block(TIMEOUT);
        admin.deleteExpiredJobs().block(TIMEOUT);
        UUID pending = producerQueue.enqueue(NewJob.of("nobody", 7)).block(TIMEOUT).id();
        assertThat(admin.cancel(pending).block(TIMEOUT)).isEqualTo(1);
        assertThat(admin.delete(pending).block(TIMEOUT)).isTrue();
        admin.purge("nobody").block(TIMEOUT);
        assertThat(runtimeQueue.schemaVersion().block(TIMEOUT)).isEqualTo(runtimeQueue.latestSchemaVersion());

        // schedules with the runtime role: the node enqueues a slot's job, and every runtime call works
        Schedules schedules = runtimeQueue.schedules();
        schedules.add(Schedule.every("tick", "ok", Duration.ofMillis(200))).block(TIMEOUT);
        org.awaitility.Awaitility.await().atMost(TIMEOUT)
                .until(() -> schedules.find("tick").block(TIMEOUT).lastSlot() != null);
        assertThat(schedules.trigger("tick").block(TIMEOUT).isDuplicate()).isFalse();
        assertThat(schedules.pause("tick").block(TIMEOUT).paused()).isTrue();
        assertThat(schedules.resume("tick").block(TIMEOUT).paused()).isFalse();
        schedules.put(Schedule.cron("tick", "ok", "@daily")).block(TIMEOUT);
        assertThat(schedules.list().map(ScheduleInfo::name).collectList().block(TIMEOUT))
                .containsExactly("declared", "tick");
        assertThat(schedules.remove("tick").block(TIMEOUT)).isTrue();
        // counts above the bound are estimated from statistics the runtime role may read (pg_stats: the
        // queues' frequencies tell 60 from 20; without them each would get an equal share of the rows)
        producerQueue.enqueueAll(java.util.stream.Stream.concat(
                java.util.stream.IntStream.range(0, 60).mapToObj(i -> NewJob.of("counted", i)),
                java.util.stream.IntStream.range(0, 20).mapToObj(i -> NewJob.of("counted-too", i))).toList())
                .block(TIMEOUT);
        Rows.query(as(owner), "ANALYZE " + schema + ".jobs");
        assertThat(admin.counts(10).block(TIMEOUT)).filteredOn(c -> c.queue().startsWith("counted"))
                .allSatisfy(c -> assertThat(c.exact()).isFalse())
                .extracting(JobCount::jobs).satisfiesExactly(
                        counted -> assertThat(counted).isBetween(50L, 70L),
                        countedToo -> assertThat(countedToo).isBetween(11L, 30L));

        // the producer can enqueue, not claim (a jobs() stream would keep retrying its failed claims)
        assertThatThrownBy(() -> Rows.query(as(producer), "UPDATE " + schema + ".jobs SET status = 'running'"))
                .hasMessageContaining("permission denied");
    }

    /**
     * A role that may not insert into the archive cannot complete a job while the janitor is on
     * (a completion moves the job there). That error is not transient: after a few tries the node
     * gives the outcome up, logs it once, counts it, frees the permits and stops beating for the
     * job, so the reaper rescues it. Before, the write was retried without end and the job stayed
     * running under a fresh heartbeat.
     */
    @Test
    void anOutcomeTheRoleMayNotWriteIsGivenUpAndTheJobRescued() {
        PgQueue ownerQueue = PgQueue.builder(as(owner)).schema(schema).listen(false).build();
        assertThat(ownerQueue.migrate().block(TIMEOUT).changed()).isTrue();
        grantAsDocumented();
        db.execute("REVOKE INSERT ON " + schema + ".jobs_archive FROM " + runtime);

        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        runtimeQueue = PgQueue.builder(as(runtime)).schema(schema).listen(false)
                .handler(ReactiveHandler.of("ok", job -> Mono.just(Outcome.success())))
                .pollInterval(Duration.ofMillis(100))
                // the test beats itself: the node's own loop never beats during the test
                .heartbeatInterval(Duration.ofMinutes(1))
                .rescueAfterMissedHeartbeats(5)
                .reaperInterval(Duration.ofHours(1)) // the test rescues itself
                .meterRegistry(registry)
                .build();
        try (LogCapture log = LogCapture.start()) {
            runtimeQueue.start().block(TIMEOUT);
            UUID id = runtimeQueue.enqueue(NewJob.of("ok", 1)).block(TIMEOUT).id();

            // claimed, run, its completion given up: the permits are back, the row is still running
            org.awaitility.Awaitility.await().atMost(TIMEOUT).until(() -> runtimeQueue.jobsInFlight() == 0
                    && count("id = $1 AND status = 'running' AND attempt = 1", id) == 1);
            assertThat(registry.get("pgqueue.outcomes.abandoned").tag("queue", "ok").counter().count())
                    .isEqualTo(1.0);
            String text = log.text();
            assertThat(text.split("Gave up writing the COMPLETE outcome", -1)).hasSize(2);
            assertThat(text).contains(id.toString()).contains("permission denied");

            // the node no longer beats for it, so once its heartbeat is stale the reaper rescues it
            runtimeQueue.admin().pause("ok").block(TIMEOUT); // not to be claimed again once rescued
            assertThat(NodeProbe.beatOnce(runtimeQueue.node()).block(TIMEOUT)).isEqualTo(new NodeProbe.Beat(0, 0));
            db.execute("UPDATE " + schema + ".jobs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1", id);
            assertThat(runtimeQueue.admin().rescueStalledJobs().block(TIMEOUT)).isEqualTo(1);
            assertThat(count("id = $1 AND status = 'pending' AND lease IS NULL", id)).isEqualTo(1);

            runtimeQueue.close().block(TIMEOUT);
            runtimeQueue = null;
            assertThat(log.text()).doesNotContain("could not be written");
        }
    }

    private long count(String where, Object... params) {
        return ((Number) db.query("SELECT count(*) AS n FROM " + schema + ".jobs WHERE " + where, params).get(0)
                .get("n")).longValue();
    }
}
