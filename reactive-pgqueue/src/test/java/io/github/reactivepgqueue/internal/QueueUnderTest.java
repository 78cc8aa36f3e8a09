package io.github.reactivepgqueue.internal;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.EnqueueResult;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.internal.Config.HeartbeatConfig;
import io.github.reactivepgqueue.internal.Config.JanitorConfig;
import io.github.reactivepgqueue.internal.Config.ReaperConfig;
import io.github.reactivepgqueue.internal.store.JobStore;
import io.github.reactivepgqueue.internal.store.PgJobStore;
import io.github.reactivepgqueue.internal.store.SchemaName;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The real library, driven one synchronous step at a time for the model test: its own statement
 * layer (inserter, claimer, completer, heartbeats, reaper, janitor, admin) on a pool of its own,
 * against the test class's schema. Three workers, each with its own leases and heartbeat, stand
 * for three nodes. Not thread-safe: one step at a time, on the test thread.
 */
final class QueueUnderTest implements AutoCloseable {
    static final String QUEUE = "model";
    static final int WORKERS = 3;
    /** Reaper and janitor batches this small make them repeat (batches coming back full). */
    private static final int MAINTENANCE_BATCH = 2;

    private final TestSchema schema;
    /** The application name of the library's sessions: this prefix, then the pool's generation. */
    private final String applicationName;
    private int generation;
    private final SwappablePool pool;
    private final PgQueue admin;
    private final JobStore store;
    private final Signals signals;
    private final JobInserter inserter;
    private final JobClaimer claimer;
    /** The outcome writer of a node with the janitor off, and of one with it on (successes archived at once). */
    private final Completer completer;
    private final Completer archivingCompleter;
    private final Reaper reaper;
    private final Janitor janitor;
    private final Scheduler timer = Schedulers.parallel();
    private final List<Worker> workers = new ArrayList<>();

    /** One node's in-memory claims: lost when it crashes. */
    final class Worker {
        Leases leases = new Leases();
        Heartbeat heartbeat = heartbeat(leases);

        void crash() {
            leases = new Leases();
            heartbeat = heartbeat(leases);
        }

        private Heartbeat heartbeat(Leases leases) {
            return new Heartbeat(store, leases, new HeartbeatConfig(Duration.ofHours(1)), Duration.ofHours(3), Flux.never(),
                    timer);
        }

        /** The held jobs in a stable order (by id, so by enqueue order). */
        List<ClaimedRow> held() {
            List<ClaimedRow> held = new ArrayList<>(leases.snapshot());
            held.sort(Comparator.comparing(ClaimedRow::id));
            return held;
        }
    }

    QueueUnderTest(TestSchema schema) {
        this.schema = schema;
        this.applicationName = "pgqueue-model-" + Long.toHexString(System.nanoTime() & 0xffffff);
        this.pool = new SwappablePool(newPool());
        this.admin = PgQueue.builder(pool).schema(schema.name()).janitor(false).listen(false).build();
        admin.migrate().block(TIMEOUT);
        this.store = new PgJobStore(pool, SchemaName.of(schema.name()), admin.objectMapper(), TIMEOUT, TIMEOUT,
                Duration.ofSeconds(5), timer);
        this.signals = new Signals(store, timer);
        signals.start();
        this.inserter = new JobInserter(store, new JobEncoder(admin.objectMapper(), 1 << 16, 1), 1000, null,
                QueueMetrics.NONE);
        this.claimer = new JobClaimer(store, QueueMetrics.NONE);
        this.completer = new Completer(store, signals, QueueModel.REPROCESS_LIMIT, false, 1, Duration.ofMillis(1),
                timer, QueueMetrics.NONE);
        this.archivingCompleter = new Completer(store, signals, QueueModel.REPROCESS_LIMIT, true, 1,
                Duration.ofMillis(1), timer, QueueMetrics.NONE);
        this.reaper = new Reaper(store, signals, new ReaperConfig(Duration.ofHours(1),
                Duration.ofMinutes(QueueModel.STALL), QueueModel.REPROCESS_LIMIT, MAINTENANCE_BATCH), timer,
                QueueMetrics.NONE);
        // a retention under a microsecond is none: everything archived or dead has expired
        this.janitor = new Janitor(store, new JanitorConfig(false, Duration.ofHours(1), MAINTENANCE_BATCH,
                Duration.ofNanos(1), Duration.ofNanos(1)), timer);
        for (int i = 0; i < WORKERS; i++) {
            workers.add(new Worker());
        }
    }

    private ConnectionPool newPool() {
        return new ConnectionPool(ConnectionPoolConfiguration.builder(
                        schema.coordinates().connectionFactory(applicationName + "-" + generation))
                .initialSize(0).maxSize(4).maxAcquireTime(TIMEOUT).build());
    }

    /**
     * Empties the tables and forgets every worker's claims: the start of a new history. One DELETE
     * statement for the three tables: with a few rows in each it takes under a millisecond, where a
     * TRUNCATE (new files for three tables and their indexes) took about 15.
     */
    void reset() {
        schema.execute("WITH archive AS (DELETE FROM {schema}.jobs_archive), dead AS (DELETE FROM {schema}.jobs_dead) "
                + "DELETE FROM {schema}.jobs");
        workers.forEach(Worker::crash);
    }

    Worker worker(int index) {
        return workers.get(index);
    }

    List<EnqueueResult> enqueue(List<NewJob> jobs) {
        return inserter.enqueueAll(jobs).block(TIMEOUT);
    }

    List<ClaimedRow> claim(int worker, int limit) {
        List<ClaimedRow> rows = claimer.claim(Map.of(QUEUE, limit), limit).block(TIMEOUT);
        workers.get(worker).leases.holdAll(rows);
        return rows;
    }

    /** One beat of the worker's heartbeat; the number of leases it found lost. */
    int beat(int worker) {
        return workers.get(worker).heartbeat.runOnce().block(TIMEOUT).lost();
    }

    /**
     * Writes an outcome as the job runner does (the lease is marked finishing, the write is waited
     * for, the lease dropped); {@code leases} is null for a write from a process with no leases (a
     * zombie). Returns how many writes the completer counted stale.
     */
    long write(Leases leases, ClaimedRow job, ModelOutcome outcome) {
        Completer writer = outcome == ModelOutcome.SUCCESS_ARCHIVED ? archivingCompleter : completer;
        long staleBefore = writer.staleWrites();
        if (leases != null) {
            leases.finishing(job);
        }
        writer.write(job, outcome.transition(job)).block(TIMEOUT);
        if (leases != null) {
            leases.drop(job);
        }
        return writer.staleWrites() - staleBefore;
    }

    /** What the job runner writes once it has cancelled the handler of a job whose lease was lost. */
    void letGo(ClaimedRow job) {
        completer.write(job, Transition.LET_GO).block(TIMEOUT);
    }

    ReaperResult reap() {
        return reaper.runOnce().block(TIMEOUT);
    }

    long moveFinished() {
        return janitor.moveFinished().block(TIMEOUT);
    }

    long deleteExpired() {
        return janitor.deleteExpired().block(TIMEOUT);
    }

    int cancel(UUID id) {
        return admin.admin().cancel(id).block(TIMEOUT);
    }

    boolean requeue(UUID id) {
        return admin.admin().requeue(id).block(TIMEOUT);
    }

    /** Time passes: every timestamp that drives scheduling and stall detection moves {@code ticks} ticks back. */
    void advanceClock(int ticks) {
        schema.execute("UPDATE {schema}.jobs SET run_at = run_at - $1 * interval '1 minute', "
                + "heartbeat_at = heartbeat_at - $1 * interval '1 minute'", (int) QueueModel.TICK * ticks);
    }

    /**
     * The stand-in for a database restart: the pool is replaced (as a pool does once it has found
     * its connections dead) and every session of the old one is terminated, its server process
     * gone. The data stays; what lived in sessions is lost.
     */
    void restartDatabase() {
        String dying = applicationName + "-" + generation;
        generation++;
        ConnectionPool old = pool.swap(newPool());
        // Killed until none is left: a signal sent in the background may still open a session on
        // the old pool after the first round.
        await().atMost(TIMEOUT).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(2)).until(() -> {
            schema.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", dying);
            return schema.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", dying) == 0;
        });
        // closing a connection whose server process is gone fails; it is gone either way
        old.disposeLater().onErrorResume(e -> Mono.empty()).block(TIMEOUT);
    }

    /** Sessions of the library's pool that sit inside a transaction. */
    long sessionsInTransaction() {
        return schema.count("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE $1 || '-%' "
                + "AND state LIKE 'idle in transaction%'", applicationName);
    }

    /** Every job in the three tables: location, status, attempts, lease, and whether it is due or stalled. */
    List<Map<String, Object>> rows() {
        return schema.query("""
                SELECT 'LIVE' AS location, id, status, attempt, max_attempts, reprocess_count, lease,
                       run_at <= now() AS due, heartbeat_at < now() - $1 * interval '1 minute' AS stalled
                FROM {schema}.jobs
                UNION ALL
                SELECT 'ARCHIVE', id, status, attempt, max_attempts, reprocess_count, NULL, NULL, NULL
                FROM {schema}.jobs_archive
                UNION ALL
                SELECT 'DEAD', id, status, attempt, max_attempts, reprocess_count, NULL, NULL, NULL
                FROM {schema}.jobs_dead""", (int) QueueModel.STALL);
    }

    /** One live row, every column, as text: to prove that a fenced write changed nothing. */
    String liveRow(UUID id) {
        List<Map<String, Object>> rows = schema.query("SELECT j::text AS row FROM {schema}.jobs j WHERE id = $1", id);
        return rows.isEmpty() ? "(none)" : (String) rows.get(0).get("row");
    }

    /** {@link #liveRow} without the lease and heartbeat: to prove that letting go of a lease changed nothing else. */
    String liveRowWithoutLease(UUID id) {
        List<Map<String, Object>> rows = schema.query(
                "SELECT (to_jsonb(j) - 'lease' - 'heartbeat_at')::text AS row FROM {schema}.jobs j WHERE id = $1", id);
        return rows.isEmpty() ? "(none)" : (String) rows.get(0).get("row");
    }

    @Override
    public void close() {
        completer.close().block(TIMEOUT);
        archivingCompleter.close().block(TIMEOUT);
        signals.stop();
        admin.close().block(TIMEOUT);
        pool.current.disposeLater().block(TIMEOUT);
    }

    /** A connection factory whose pool can be replaced (after the database restart stand-in). */
    private static final class SwappablePool implements ConnectionFactory {
        private volatile ConnectionPool current;

        SwappablePool(ConnectionPool pool) {
            this.current = pool;
        }

        /** Replaces the pool; returns the old one, for the caller to dispose of. */
        ConnectionPool swap(ConnectionPool next) {
            ConnectionPool old = current;
            current = next;
            return old;
        }

        @Override
        public Publisher<? extends Connection> create() {
            return Mono.defer(() -> Mono.from(current.create()));
        }

        @Override
        public ConnectionFactoryMetadata getMetadata() {
            return current.getMetadata();
        }
    }
}
