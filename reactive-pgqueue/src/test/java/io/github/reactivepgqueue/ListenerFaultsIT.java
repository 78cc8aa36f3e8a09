package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.proof.Invariants;
import io.github.reactivepgqueue.proof.MemoryLedger;
import io.github.reactivepgqueue.proof.RunKey;
import io.github.reactivepgqueue.testing.OwnedPostgres;
import io.github.reactivepgqueue.testing.Rows;
import io.github.reactivepgqueue.testing.TcpProxy;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A node's listening connection survives faults: it is replaced when its backend is killed or its
 * network goes silent, and the claim that follows every new LISTEN picks up the jobs whose
 * notifications were lost meanwhile; a node whose every connection is reset again and again still
 * runs each job to completion, runs no claimed attempt twice and leaks no connection or
 * transaction. The listener also recovers when its reconnection attempt itself was swallowed by
 * the partition, and a job rescued from a lost claim is claimed again at once. Nodes poll only
 * once an hour here, so during a test a pickup can only come from a notification, from the claim
 * after a new LISTEN, or from a wake-up of the node's own: the tests wait for pickups, and never
 * time them, so a busy machine cannot fail them.
 */
class ListenerFaultsIT {
    private static final Duration POLL = Duration.ofHours(1);
    private static final String SCHEMA = "listen_faults";
    private static final String QUEUE = "listened";
    private static final String NODE_APP = "lf-node";

    private static OwnedPostgres server;
    private static ConnectionPool admin;
    private static ConnectionPool producerPool;
    private static PgQueue producer;

    private final MemoryLedger ledger = new MemoryLedger();
    private final List<AutoCloseable> cleanups = new ArrayList<>();
    private PgQueue node;

    @BeforeAll
    static void startServer() {
        server = OwnedPostgres.start();
        admin = pool(server.coordinates().connectionFactory("lf-admin"));
        producerPool = pool(server.coordinates().connectionFactory("lf-producer"));
        // the producer never starts: it only enqueues, and its enqueues notify
        producer = PgQueue.builder(producerPool).schema(SCHEMA).listen(false).janitor(false).build();
        producer.migrate().block(TIMEOUT);
    }

    @AfterAll
    static void stopServer() {
        try {
            producerPool.disposeLater().block(TIMEOUT);
            admin.disposeLater().block(TIMEOUT);
        } finally {
            server.close();
        }
    }

    @BeforeEach
    void emptyTables() {
        for (String table : List.of("jobs", "jobs_archive", "jobs_dead", "paused_queues")) {
            execute("DELETE FROM {schema}." + table);
        }
    }

    @AfterEach
    void closeEverything() throws Exception {
        try {
            if (node != null) {
                node.close().block(TIMEOUT);
                node = null;
            }
            // every job the test enqueued ran to completion, no claim twice (reliability.md §4)
            Invariants.of(admin, SCHEMA).ledger(ledger).allCompleted().check();
        } finally {
            for (int i = cleanups.size() - 1; i >= 0; i--) {
                cleanups.get(i).close();
            }
        }
    }

    @Test
    void pickupIsFastThroughNotify() {
        startNode(directPool(), builder -> builder.listenerConnectionFactory(
                server.coordinates().connectionFactory("lf-listener")));
        awaitListening("lf-listener", -1);

        for (int i = 0; i < 10; i++) {
            assertPickedUpWithoutAPoll(List.of(i));
        }
    }

    @Test
    void listenerKilledAndJobsEnqueuedDuringTheGap() {
        // default listener check (every 10 s): only the closed connection itself can reveal the kill in time
        startNode(directPool(), builder -> builder.listenerConnectionFactory(
                server.coordinates().connectionFactory("lf-listener")));
        int killed = awaitListening("lf-listener", -1);

        assertThat(server.terminateBackends("lf-listener")).isEqualTo(1);
        List<UUID> enqueued = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            enqueued.add(producer.enqueue(NewJob.of(QUEUE, i)).block(TIMEOUT).id());
        }

        // no poll comes: the claim after the new LISTEN picks them up
        await().atMost(TIMEOUT).until(() -> enqueued.stream().allMatch(ledger::started));
        assertThat(awaitListening("lf-listener", killed)).isNotEqualTo(killed);
        awaitAllCompleted(10);

        assertPickedUpWithoutAPoll(List.of("after the reconnect"));
    }

    @Test
    void blackholedListenerIsDetectedAndReplaced() {
        TcpProxy proxy = proxy();
        startNode(directPool(), builder -> builder
                .listenerConnectionFactory(proxy.coordinates().connectionFactory("lf-listener-proxied"))
                .listenerCheck(Duration.ofMillis(500), Duration.ofMillis(500)));
        int silenced = awaitListening("lf-listener-proxied", -1);
        assertThat(proxy.acceptedCount()).isEqualTo(1);

        proxy.blackhole();
        List<UUID> lost = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            lost.add(producer.enqueue(NewJob.of(QUEUE, i)).block(TIMEOUT).id());
        }
        // their notification went into the black hole, and no poll comes
        await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(1)).until(() -> ledger.jobsStarted() == 0);
        assertThat(countJobs("pending")).isEqualTo(3);
        // new connections would be swallowed too: come back before the listener can try one
        long acceptedWhileBlackholed = proxy.acceptedCount();
        proxy.forward();
        assertThat(acceptedWhileBlackholed).as("no reconnection was tried into the black hole").isEqualTo(1);

        // the silent connection fails its check (interval + timeout) and is replaced after the backoff
        await().atMost(TIMEOUT).until(() -> lost.stream().allMatch(ledger::started));
        assertThat(awaitListening("lf-listener-proxied", silenced)).isNotEqualTo(silenced);
        assertThat(proxy.acceptedCount()).isEqualTo(2);
        awaitAllCompleted(3);

        assertPickedUpWithoutAPoll(List.of("notifications resume"));
    }

    @Test
    void listenerReconnectingIntoAPartitionRecoversAfterIt() {
        TcpProxy proxy = proxy();
        startNode(directPool(), builder -> builder
                .listenerConnectionFactory(proxy.coordinates().connectionFactory("lf-listener-proxied"))
                .listenerCheck(Duration.ofMillis(500), Duration.ofMillis(500)));
        int silenced = awaitListening("lf-listener-proxied", -1);

        // a partition longer than check interval + timeout + backoff: the listener's new connection
        // attempt is accepted, and its start-up message swallowed
        proxy.blackhole();
        await().atMost(TIMEOUT).until(() -> proxy.acceptedCount() >= 2);
        UUID lost = producer.enqueue(NewJob.of(QUEUE, "during the partition")).block(TIMEOUT).id();
        proxy.forward();

        // a connection attempt that never answers must be given up like a connection that never
        // answers its check, so the listener comes back and claims the job; no poll would
        await("the listener is back and claims the job enqueued during the partition")
                .atMost(TIMEOUT).until(() -> ledger.started(lost));
        assertThat(awaitListening("lf-listener-proxied", silenced)).isNotEqualTo(silenced);
        awaitAllCompleted(1);

        assertPickedUpWithoutAPoll(List.of("notifications resume"));
    }

    @Test
    void jobRescuedFromALostClaimIsClaimedWithoutWaitingForThePoll() {
        // a reset that loses a claim's reply leaves the job running under a lease nobody holds
        startNode(directPool(), builder -> builder
                .listenerConnectionFactory(server.coordinates().connectionFactory("lf-listener"))
                .heartbeatInterval(Duration.ofMillis(300))
                .rescueAfterMissedHeartbeats(20)); // the lost claim's heartbeat is an hour old
        awaitListening("lf-listener", -1);
        PgQueue silentProducer = PgQueue.builder(producerPool).schema(SCHEMA).listen(false).notifyOnEnqueue(false)
                .janitor(false).build();
        UUID id = silentProducer.enqueue(NewJob.of(QUEUE, "claim lost in flight")).block(TIMEOUT).id();
        assertThat(count("WITH lost AS (UPDATE {schema}.jobs SET status = 'running', attempt = 1,"
                + " lease = gen_random_uuid(), heartbeat_at = now() - interval '1 hour'"
                + " WHERE id = $1 AND status = 'pending' RETURNING id) SELECT count(*) FROM lost", id)).isEqualTo(1);

        // the reaper (every 300 ms) puts it back to pending...
        await("the reaper rescues the job").atMost(TIMEOUT)
                .until(() -> count("SELECT reprocess_count FROM {schema}.jobs WHERE id = $1", id) == 1);
        // ...and a node must then claim it, not leave it to the poll an hour away
        await("the rescued job is claimed").atMost(TIMEOUT)
                .until(() -> ledger.started(id));
        assertThat(ledger.runsOf(id)).containsExactly(new RunKey(id, 1, 1));
    }

    @Test
    void connectionsResetRepeatedly() {
        int jobs = 2000;
        TcpProxy proxy = proxy();
        ConnectionPool pool = pool(proxy.coordinates().connectionFactory("lf-reset-node"));
        cleanups.add(() -> pool.disposeLater().block(TIMEOUT));
        // the listener comes from the factory behind the pool: through the proxy as well
        startNode(pool, builder -> builder
                .pollInterval(Duration.ofSeconds(30)) // as before: this test is about resets, not about pickup paths
                .globalConcurrency(20)
                .heartbeatInterval(Duration.ofMillis(300)).rescueAfterMissedHeartbeats(10)
                .connectionAcquireTimeout(Duration.ofSeconds(2))
                .listenerCheck(Duration.ofMillis(500), Duration.ofMillis(500)));
        List<NewJob> batch = new ArrayList<>();
        for (int i = 0; i < jobs; i++) {
            batch.add(NewJob.of(QUEUE, i));
        }
        producer.enqueueAll(batch).block(TIMEOUT);

        for (int reset = 1; reset <= 10; reset++) {
            int progress = reset * 180;
            await().pollInterval(Duration.ofMillis(5)).atMost(TIMEOUT).until(() -> ledger.runs() >= progress);
            assertThat(proxy.resetAll()).as("connections reset at %d handled", progress).isPositive();
        }

        await().atMost(TIMEOUT).until(() -> countJobs("completed") == jobs);
        assertThat(countJobs("running")).isZero();
        assertThat(countJobs("pending")).isZero();
        assertThat(ledger.jobsStarted()).isEqualTo(jobs);
        assertThat(ledger.startsByKey().values()).as("claimed attempts that ran twice").allMatch(n -> n == 1);
        await().atMost(TIMEOUT).until(() -> pool.getMetrics().orElseThrow().acquiredSize() == 0);

        node.close().block(TIMEOUT);
        node = null;
        assertThat(pool.getMetrics().orElseThrow().acquiredSize()).isZero();
        assertThat(count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lf-reset-node'"
                + " AND state LIKE 'idle in transaction%'")).isZero();
    }

    // ---- helpers

    private void startNode(ConnectionPool pool, UnaryOperator<PgQueueBuilder> configure) {
        PgQueueBuilder builder = PgQueue.builder(pool).schema(SCHEMA).janitor(false).pollInterval(POLL)
                .stopGracePeriod(Duration.ofSeconds(2))
                .handler(ledger.handler(QUEUE, "node", job -> Mono.just(Outcome.success())));
        node = configure.apply(builder).build();
        node.start().block(TIMEOUT);
    }

    /** A pool of the node's own, straight to the server. */
    private ConnectionPool directPool() {
        ConnectionPool pool = pool(server.coordinates().connectionFactory(NODE_APP));
        cleanups.add(() -> pool.disposeLater().block(TIMEOUT));
        return pool;
    }

    private TcpProxy proxy() {
        TcpProxy proxy = TcpProxy.start(server.coordinates());
        cleanups.add(proxy);
        return proxy;
    }

    private static ConnectionPool pool(ConnectionFactory factory) {
        return new ConnectionPool(ConnectionPoolConfiguration.builder(factory)
                .initialSize(0).maxSize(10).maxAcquireTime(Duration.ofSeconds(5)).acquireRetry(3).build());
    }

    /**
     * Enqueues one job per payload (each on its own) and waits until the node started it, which
     * without a poll only a notification can bring about; waits for each to complete before the
     * next, so that no claim woken by a finished job can take the next one.
     */
    private void assertPickedUpWithoutAPoll(List<Object> payloads) {
        for (Object payload : payloads) {
            UUID id = producer.enqueue(NewJob.of(QUEUE, payload)).block(TIMEOUT).id();
            await("handler start of " + payload).atMost(TIMEOUT).until(() -> ledger.started(id));
            await().atMost(TIMEOUT).until(() -> count("SELECT count(*) FROM {schema}.jobs WHERE id = $1"
                    + " AND status = 'completed'", id) == 1);
        }
    }

    private void awaitAllCompleted(int jobs) {
        await().atMost(TIMEOUT).until(() -> countJobs("completed") == jobs);
    }

    /**
     * Waits until a backend of {@code applicationName} other than {@code notPid} listens (its last
     * statement was LISTEN or the listener's check) and returns its pid.
     */
    private static int awaitListening(String applicationName, int notPid) {
        String sql = "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> $2 AND state = 'idle'"
                + " AND (query LIKE 'LISTEN %' OR query LIKE '%pg_listening_channels%')";
        return await().atMost(TIMEOUT).until(() -> query(sql, applicationName, notPid),
                        rows -> rows.size() == 1)
                .get(0).values().stream().map(v -> ((Number) v).intValue()).findFirst().orElseThrow();
    }

    private static long countJobs(String status) {
        return count("SELECT count(*) FROM {schema}.jobs WHERE status = $1", status);
    }

    private static long count(String sql, Object... params) {
        return ((Number) query(sql, params).get(0).values().iterator().next()).longValue();
    }

    private static void execute(String sql) {
        Flux.usingWhen(admin.create(), conn -> Flux.from(conn.createStatement(expand(sql)).execute())
                        .flatMap(result -> result.getRowsUpdated()), conn -> conn.close())
                .blockLast(TIMEOUT);
    }

    private static List<Map<String, Object>> query(String sql, Object... params) {
        return Rows.query(admin, expand(sql), params);
    }

    private static String expand(String sql) {
        return sql.replace("{schema}", SCHEMA);
    }
}
