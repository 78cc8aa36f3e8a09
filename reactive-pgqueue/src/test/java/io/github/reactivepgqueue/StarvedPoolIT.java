package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.POLL;
import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static io.github.reactivepgqueue.testing.Fixtures.waiting;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.internal.NodeProbe;
import io.github.reactivepgqueue.testing.LogCapture;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Result;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * The node's liveness work never waits behind the application's: handlers that hold every
 * connection of the pool they share with the queue leave the heartbeat beating, so no other node
 * rescues (and reruns) their jobs; and a node whose beats do not get through stops those handlers
 * itself before other nodes may rescue the jobs.
 *
 * <p>Before the node had connections of its own, a node with a pool of 4 and handlers querying
 * through it missed its heartbeats, another node rescued every job, and both ran them.
 */
@ExtendWith(PostgresExtension.class)
class StarvedPoolIT {
    private static final Duration HEARTBEAT = Duration.ofMillis(300);
    /** The stall threshold is 2.5 beats (750 ms): it must outlast a beat plus this. */
    private static final Duration ACQUIRE_TIMEOUT = Duration.ofMillis(400);

    private final TestSchema db;
    private final List<PgQueue> queues = new ArrayList<>();
    private final List<ConnectionPool> pools = new ArrayList<>();
    private final Sinks.Empty<Void> release = Sinks.empty();

    StarvedPoolIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
    }

    @BeforeEach
    void empty() {
        db.deleteAllJobs();
    }

    @AfterEach
    void cleanUp() {
        release.tryEmitEmpty();
        queues.forEach(q -> q.close().block(TIMEOUT));
        pools.forEach(p -> p.disposeLater().block(TIMEOUT));
    }

    private ConnectionPool pool(int size) {
        ConnectionPool pool = new ConnectionPool(ConnectionPoolConfiguration.builder(
                db.coordinates().connectionFactory("starved-pool-it")).initialSize(0).maxSize(size).build());
        pools.add(pool);
        return pool;
    }

    private PgQueue queue(PgQueueBuilder builder) {
        PgQueue queue = builder.pollInterval(POLL).stopGracePeriod(Duration.ofSeconds(2)).build();
        queues.add(queue);
        return queue;
    }

    private List<UUID> enqueue(PgQueue queue, String name, int n) {
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.add(queue.enqueue(NewJob.of(name, i)).block(TIMEOUT).id());
        }
        return ids;
    }

    @Test
    void handlersHoldingEveryPooledConnectionDoNotStopTheHeartbeat() {
        int jobs = 8;
        ConnectionPool pool = pool(4);
        Map<UUID, AtomicInteger> runs = new ConcurrentHashMap<>();
        AtomicInteger cancelled = new AtomicInteger();
        // each handler queries through the application's pool and keeps its connection until released:
        // four hold every connection, the other four wait for one
        PgQueue node = queue(PgQueue.builder(pool).schema(db.name()).janitor(false)
                .heartbeatInterval(HEARTBEAT).connectionAcquireTimeout(ACQUIRE_TIMEOUT)
                .handler(ReactiveHandler.of("starving", job -> {
                    runs.computeIfAbsent(job.id(), id -> new AtomicInteger()).incrementAndGet();
                    return Mono.usingWhen(pool.create(),
                            conn -> Flux.from(conn.createStatement("SELECT 1").execute())
                                    .flatMap(Result::getRowsUpdated).then(release.asMono()),
                            Connection::close)
                            .doOnCancel(cancelled::incrementAndGet)
                            .thenReturn(Outcome.success());
                }), QueueOptions.defaults().concurrency(jobs)));
        PgQueue other = queue(db.queueBuilder().heartbeatInterval(HEARTBEAT).connectionAcquireTimeout(ACQUIRE_TIMEOUT));
        List<UUID> ids = enqueue(other, "starving", jobs);
        node.start().block(TIMEOUT);
        waiting().until(() -> runs.size() == jobs && pool.getMetrics().orElseThrow().acquiredSize() == 4);

        // beats go on through the node's own connections: four beats of all eight jobs, more than
        // the stall threshold, and then another node finds nothing to rescue
        List<NodeProbe.Beat> beats = NodeProbe.beats(node.node()).take(4).collectList().block(TIMEOUT);
        assertThat(beats).containsOnly(new NodeProbe.Beat(jobs, 0));
        assertThat(NodeProbe.beatOnce(node.node()).block(TIMEOUT)).isEqualTo(new NodeProbe.Beat(jobs, 0));
        assertThat(other.admin().rescueStalledJobs().block(TIMEOUT)).isZero();
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'running' AND reprocess_count = 0"))
                .isEqualTo(jobs);

        release.tryEmitEmpty();
        waiting().until(() -> db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'completed'") == jobs);
        assertThat(cancelled).hasValue(0);
        assertThat(ids).allSatisfy(id -> assertThat(runs.get(id)).as("runs of %s", id).hasValue(1));
    }

    @Test
    void aNodeWhoseBeatsDoNotGetThroughStopsItsHandlersBeforeOthersMayRescueTheJobs() {
        AtomicInteger cancelled = new AtomicInteger();
        PgQueue node = queue(db.queueBuilder().listen(false)
                .heartbeatInterval(HEARTBEAT).connectionAcquireTimeout(ACQUIRE_TIMEOUT)
                .lockTimeout(Duration.ofMillis(100)) // a beat that meets the lock below fails fast
                .reaperInterval(Duration.ofHours(1))
                .handler(ReactiveHandler.of("cut-off", job -> Mono.<Outcome>never().doOnCancel(cancelled::incrementAndGet))));
        UUID id = enqueue(node, "cut-off", 1).get(0);
        node.start().block(TIMEOUT);
        waiting().until(() -> node.jobsInFlight() == 1);
        UUID lease = (UUID) db.row("jobs", id, "lease").get("lease");

        Connection locker = Mono.from(db.connectionFactory().create()).block(TIMEOUT);
        try (LogCapture log = LogCapture.start()) {
            // the table locked elsewhere: every beat fails on the lock; the database's view of the
            // heartbeat ages, and before it reaches the stall threshold the node gives the job up
            Mono.from(locker.beginTransaction()).block(TIMEOUT);
            Flux.from(locker.createStatement("LOCK TABLE \"" + db.name() + "\".jobs IN ACCESS EXCLUSIVE MODE")
                    .execute()).flatMap(Result::getRowsUpdated).blockLast(TIMEOUT);
            waiting().until(() -> cancelled.get() == 1);
            assertThat(node.jobsInFlight()).isZero();
            assertThat(log.text()).contains("1 running jobs got no heartbeat through");
        } finally {
            Mono.from(locker.rollbackTransaction()).block(TIMEOUT);
            Mono.from(locker.close()).block(TIMEOUT);
        }

        // nothing was written for it: still running under the same lease, for the reaper to rescue
        assertThat(db.row("jobs", id, "status, lease"))
                .containsEntry("status", "running").containsEntry("lease", lease);
        assertThat(NodeProbe.beatOnce(node.node()).block(TIMEOUT)).isEqualTo(new NodeProbe.Beat(0, 0));
        db.backdate("jobs", "heartbeat_at", Duration.ofHours(1), id);
        assertThat(node.admin().rescueStalledJobs().block(TIMEOUT)).isEqualTo(1);
    }
}
