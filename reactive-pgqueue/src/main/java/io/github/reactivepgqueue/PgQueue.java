package io.github.reactivepgqueue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.internal.store.JobStore;
import io.github.reactivepgqueue.internal.store.PgJobStore;
import io.github.reactivepgqueue.internal.store.SchemaName;
import io.github.reactivepgqueue.internal.Awaiter;
import io.github.reactivepgqueue.internal.Completer;
import io.github.reactivepgqueue.internal.Heartbeat;
import io.github.reactivepgqueue.internal.IncidentLog;
import io.github.reactivepgqueue.internal.Leases;
import io.github.reactivepgqueue.internal.Listener;
import io.github.reactivepgqueue.internal.Maintenance;
import io.github.reactivepgqueue.internal.Notice;
import io.github.reactivepgqueue.internal.Signal;
import io.github.reactivepgqueue.internal.Signals;
import io.github.reactivepgqueue.internal.JobClaimer;
import io.github.reactivepgqueue.internal.JobEncoder;
import io.github.reactivepgqueue.internal.JobStream;
import io.github.reactivepgqueue.internal.QueueDepthSampler;
import io.github.reactivepgqueue.internal.QueueMetrics;
import io.github.reactivepgqueue.internal.QueueRuntime;
import io.github.reactivepgqueue.internal.micrometer.MicrometerQueueMetrics;
import io.github.reactivepgqueue.internal.Worker;
import io.github.reactivepgqueue.internal.JobInserter;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.retry.Retry;

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
    private static final Logger log = LoggerFactory.getLogger(PgQueue.class);
    private static final Duration MIN_WRITE_GRACE = Duration.ofSeconds(5);

    private final ConnectionFactory connectionFactory;
    private final SchemaName schema;
    private final ObjectMapper objectMapper;
    private final JobInserter inserter;
    private final JobClaimer claimer;
    private final Completer completer;
    private final Worker worker;
    private final JobStore store;
    private final Leases leases = new Leases();
    private final Signals signals;
    private final Flux<Notice> received;
    private final Listener listener;
    private final Heartbeat heartbeat;
    private final Maintenance maintenance;
    private final Awaiter awaiter;
    private final QueueAdmin admin;
    private final QueueMetrics metrics;
    private final QueueDepthSampler depthSampler;
    private final Map<String, QueueRuntime> queues;
    private final Backoff defaultBackoff;
    private final int claimBatchSize;
    private final Duration pollInterval;
    private final Duration stopGracePeriod;
    private final Scheduler handlerScheduler;
    private final boolean ownsHandlerScheduler;
    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
    private final AtomicReference<Mono<Void>> stopping = new AtomicReference<>();

    private enum State { NEW, STARTING, STARTED, STOPPED }

    PgQueue(PgQueueBuilder builder, SchemaName schema, ObjectMapper objectMapper) {
        warmUp(objectMapper);
        this.connectionFactory = builder.connectionFactory;
        this.schema = schema;
        this.objectMapper = objectMapper;
        // MicrometerQueueMetrics (and Micrometer with it) is loaded only on this branch
        this.metrics = builder.meterRegistry == null ? QueueMetrics.NONE
                : MicrometerQueueMetrics.create(builder.meterRegistry, schema.name());
        Scheduler timer = Schedulers.parallel();
        this.store = new PgJobStore(connectionFactory, schema, objectMapper, builder.connectionAcquireTimeout,
                builder.statementTimeout, builder.lockTimeout, timer);
        this.signals = new Signals(store);
        this.inserter = new JobInserter(store,
                new JobEncoder(objectMapper, builder.maxPayloadBytes, builder.defaultMaxAttempts),
                builder.enqueueBatchSize, builder.notifyOnEnqueue ? signals.channel() : null, metrics);
        this.claimer = new JobClaimer(store, metrics);
        this.listener = builder.listen
                ? new Listener(builder.listenerConnectionFactory != null ? builder.listenerConnectionFactory
                        : connectionFactory, store, signals.channel(), builder.listenerCheckInterval,
                        builder.listenerCheckTimeout, timer)
                : null;
        this.received = listener != null ? listener.notices() : Flux.never();
        this.completer = new Completer(store, signals, builder.reprocessLimit, builder.janitor,
                builder.completionBatchSize, builder.completionFlushInterval, timer, metrics);
        List<QueueRuntime> runtimes = builder.queueRuntimes();
        this.queues = runtimes.stream().collect(Collectors.toUnmodifiableMap(QueueRuntime::queue, Function.identity()));
        this.handlerScheduler = builder.resolvedHandlerScheduler();
        this.ownsHandlerScheduler = builder.ownsHandlerScheduler();
        this.worker = new Worker(claimer, completer, leases, handlerScheduler, runtimes,
                builder.globalConcurrency, builder.claimBatchSize, builder.claimsInFlight, builder.pollInterval, timer, metrics);
        this.heartbeat = new Heartbeat(store, leases, builder.heartbeatInterval, timer);
        this.maintenance = new Maintenance(store, signals, builder.maintenanceSettings(), timer, metrics);
        this.depthSampler = metrics == QueueMetrics.NONE ? null
                : new QueueDepthSampler(store, metrics, builder.queueDepthInterval, timer);
        this.awaiter = new Awaiter(store, received, builder.pollInterval, timer);
        this.admin = new QueueAdmin(store, signals, maintenance);
        this.defaultBackoff = builder.defaultBackoff;
        this.claimBatchSize = builder.claimBatchSize;
        this.pollInterval = builder.pollInterval;
        this.stopGracePeriod = builder.stopGracePeriod;
        metrics.gauges(worker::inFlight, listener != null ? listener::connected : null);
    }

    /**
     * Reads a tree once, here at build time: Jackson creates and caches its tree deserializer under
     * a lock on first use, which would otherwise happen on an event loop during the first claims.
     */
    private static void warmUp(ObjectMapper mapper) {
        try {
            mapper.readTree("{\"a\":[1,\"b\",true,null,1.5]}");
        } catch (java.io.IOException e) {
            throw new IllegalStateException("The ObjectMapper cannot read JSON", e);
        }
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
        return store.migrate();
    }

    /** The schema's current version: 0 when it has no tables, {@link #latestSchemaVersion()} when current. */
    public Mono<Integer> schemaVersion() {
        return store.schemaVersion();
    }

    /** The newest schema version this library knows. */
    public int latestSchemaVersion() {
        return store.latestSchemaVersion();
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

    /**
     * Starts working: checks that the schema is at the version this library needs, then starts
     * claiming jobs of the queues that have handlers. Completes once claiming has begun; fails
     * with {@link SchemaVersionException} if the schema is not current. While the database cannot
     * be reached it keeps trying, with backoff up to 5 s and one log line per incident, until it
     * can or the queue is stopped (bound the wait with {@code timeout} if you need to; cancelling
     * gives up starting). Calling it again while started does nothing; a stopped queue cannot start
     * again (build a new one).
     */
    public Mono<Void> start() {
        return Mono.defer(() -> {
            if (state.get() == State.STOPPED) {
                return Mono.error(new IllegalStateException("This PgQueue was stopped; build a new one to start again"));
            }
            if (!state.compareAndSet(State.NEW, State.STARTING)) {
                return Mono.empty();
            }
            IncidentLog incidents = new IncidentLog(log, "Starting (checking the schema version)");
            return store.verifySchemaVersion()
                    .doOnError(incidents::failed)
                    .retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(5))
                            .filter(e -> !(e instanceof SchemaVersionException) && state.get() == State.STARTING))
                    .doOnSuccess(v -> incidents.succeeded())
                    .doFinally(signal -> state.compareAndSet(State.STARTING, State.NEW))
                    .then(Mono.fromRunnable(() -> {
                        if (state.compareAndSet(State.STARTING, State.STARTED)) {
                            startHeartbeat();
                            worker.start(received.filter(n -> n.wakes(queues.keySet())));
                            maintenance.start();
                            if (depthSampler != null) {
                                depthSampler.start();
                            }
                        }
                    }));
        });
    }

    /**
     * Stops working: stops claiming at once, lets running handlers finish within {@code grace},
     * then cancels the handlers still running and gives their jobs back to pending with the
     * attempt restored; completes when every outcome is written. Idempotent: every call returns
     * the same stop. {@code queue.jobs()} streams keep working until {@link #close()}.
     */
    public Mono<Void> stop(Duration grace) {
        Objects.requireNonNull(grace, "grace");
        return Mono.defer(() -> {
            Mono<Void> stop = worker.stop(grace).doFinally(signal -> {
                maintenance.stop();
                if (depthSampler != null) {
                    depthSampler.stop();
                }
            }).cache();
            if (stopping.compareAndSet(null, stop)) {
                state.set(State.STOPPED);
            }
            return stopping.get();
        });
    }

    /**
     * {@link #stop(Duration)} with the builder's grace period, then closes the outcome writer,
     * the heartbeat and the listening connection; later enqueues and admin calls still work,
     * {@code jobs()} completions fail, and pending {@link #awaitCompletion} calls fail.
     */
    public Mono<Void> close() {
        // Shutting an executor down takes its lock, which may park the thread: do it where
        // blocking is allowed, never on the event loop or timer thread that finished the stop.
        Mono<Void> disposeScheduler = ownsHandlerScheduler
                ? Mono.<Void>fromRunnable(handlerScheduler::dispose).subscribeOn(Schedulers.boundedElastic())
                : Mono.empty();
        // Outcome writes get another grace period (at least 5 s) after the handlers' one; past it the
        // database is taken to be unreachable and they are given up: their jobs stay running, lose
        // their heartbeat with this node, and the reaper of a live node rescues them.
        Duration writeLimit = stopGracePeriod.plus(stopGracePeriod.compareTo(MIN_WRITE_GRACE) < 0
                ? MIN_WRITE_GRACE : stopGracePeriod);
        return stop(stopGracePeriod)
                .then(completer.close())
                .timeout(writeLimit, Mono.fromRunnable(() -> {
                    log.error("Close: outcomes of {} jobs could not be written within {}; given up (the reaper "
                            + "will rescue those jobs)", worker.inFlight(), writeLimit);
                    worker.dispose();
                    completer.dispose();
                }))
                .then(Mono.fromRunnable(() -> {
                    heartbeat.stop();
                    awaiter.close();
                    signals.close();
                    if (listener != null) {
                        listener.close();
                    }
                    metrics.close();
                }))
                .then(disposeScheduler);
    }

    /**
     * The job's final state once it has one (completed, failed, cancelled, critical, unprocessable
     * or bad_job), with its last error; at once if it has finished already, whichever node ran it.
     * Nodes signal finished jobs to each other, and the awaiting node also looks every poll
     * interval; all of a node's awaited jobs are looked up with one statement.
     *
     * @return the final state; fails with {@link NoSuchJobException} if no table holds the job
     *     (never enqueued, not committed yet, or deleted); cancel the subscription to stop waiting
     *     (use {@code timeout} to bound the wait)
     */
    public Mono<JobInfo> awaitCompletion(UUID id) {
        Objects.requireNonNull(id, "id");
        return awaiter.await(id);
    }

    /**
     * Enqueues {@code job} and awaits its final state, as {@link #awaitCompletion(UUID)}. When a live
     * job holds the unique key, awaits that job instead.
     */
    public Mono<JobInfo> enqueueAndAwait(NewJob job) {
        return enqueue(job).flatMap(result -> awaitCompletion(result.id()));
    }

    /**
     * Cancels the job with this id if it is pending or running. A pending job ends cancelled at
     * once; a running one too, and the node running it, whichever it is, disposes the handler's
     * subscription (at once when it listens for signals, else at its next heartbeat) and writes
     * nothing of what the handler might still emit.
     *
     * @return how many jobs were cancelled (0 or 1)
     */
    public Mono<Integer> cancel(UUID id) {
        return admin.cancel(id);
    }

    /** Cancels the live job holding {@code uniqueKey}, as {@link #cancel(UUID)}; emits how many (0 or 1). */
    public Mono<Integer> cancelByUniqueKey(String uniqueKey) {
        return admin.cancelByUniqueKey(uniqueKey);
    }

    /** Cancels every live job with {@code fingerprint}, as {@link #cancel(UUID)}; emits how many. */
    public Mono<Integer> cancelByFingerprint(String fingerprint) {
        return admin.cancelByFingerprint(fingerprint);
    }

    /** Finding, listing, counting, requeueing, deleting and purging jobs; pausing queues; maintenance on demand. */
    public QueueAdmin admin() {
        return admin;
    }

    private void startHeartbeat() {
        heartbeat.start(received.filter(n -> n.is(Signal.CANCELLED) || n.is(Signal.CONNECTED)));
    }

    /**
     * Claimed jobs of {@code queues} for a pipeline of the caller's own. Claims follow demand:
     * {@code request(5)} claims at most 5 jobs. Each element must be completed with
     * {@link ClaimedJob#complete(Outcome)}; when the subscription ends (cancel, error, completion)
     * every claimed job not yet completed goes back to pending with its attempt restored. Works
     * whether or not {@link #start()} was called. Cold: each subscription claims on its own.
     */
    public Flux<ClaimedJob> jobs(String... queues) {
        Objects.requireNonNull(queues, "queues");
        if (queues.length == 0) {
            throw new IllegalArgumentException("Name at least one queue");
        }
        for (String q : queues) {
            String problem = JobEncoder.queueNameProblem(q); // blank names included
            if (problem != null) {
                throw new IllegalArgumentException(problem);
            }
        }
        List<String> names = List.of(queues);
        return Flux.usingWhen(
                Mono.fromSupplier(() -> {
                    startHeartbeat();
                    return new JobStream(claimer, completer, leases, signals, store, names,
                            this::backoffOf, claimBatchSize, pollInterval, Schedulers.parallel(), received);
                }),
                JobStream::flux,
                JobStream::releaseAll,
                (stream, error) -> stream.releaseAll(),
                JobStream::releaseAll);
    }

    private Backoff backoffOf(String queue) {
        QueueRuntime runtime = queues.get(queue);
        return runtime != null ? runtime.backoff() : defaultBackoff;
    }

    /** Jobs this node has claimed and not yet finished. */
    public int jobsInFlight() {
        return worker.inFlight();
    }

    /** What the worker holds right now (claimed jobs, permits, claims running), for tests' diagnoses. */
    String workerState() {
        return worker.describe();
    }

    /** Outcome writes that changed nothing because the job's lease was no longer current. */
    public long staleWrites() {
        return completer.staleWrites();
    }

    @Override
    public String toString() {
        return "PgQueue[schema=" + schema + "]";
    }
}
