package io.github.reactivepgqueue.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.Backoff;
import io.github.reactivepgqueue.ClaimedJob;
import io.github.reactivepgqueue.DatabaseLoginException;
import io.github.reactivepgqueue.EnqueueResult;
import io.github.reactivepgqueue.InvalidJobException;
import io.github.reactivepgqueue.JobInfo;
import io.github.reactivepgqueue.MigrationResult;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.SchemaVersionException;
import io.github.reactivepgqueue.internal.Config.ClaimConfig;
import io.github.reactivepgqueue.internal.Config.ListenerConfig;
import io.github.reactivepgqueue.internal.micrometer.MicrometerQueueMetrics;
import io.github.reactivepgqueue.internal.store.JobStore;
import io.github.reactivepgqueue.internal.store.OwnPool;
import io.github.reactivepgqueue.internal.store.PgJobStore;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.spi.Connection;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.retry.Retry;

/**
 * The composition root of one queue node: builds every part from a {@link Config}, in dependency
 * order, and starts and stops them in order. {@code PgQueue} and {@code QueueAdmin} are facades
 * over it. Building touches no database.
 *
 * <p>Start order: the schema check and the upsert of the declared schedules, then the heartbeat,
 * the worker, the reaper and janitor, the schedule runner and the depth sampler. Stop order: the
 * schedule runner, the worker (claiming stops, handlers get their grace), then the maintenance
 * services; close then drains the outcome writer and stops the heartbeat, the
 * awaiter, the signals, the listener and the metrics, then the node's own pool, and last the
 * handler scheduler if the node made it.
 *
 * <p>Two stores share the statements: claims, outcome writes, the heartbeat, the reaper and
 * {@code jobs()} streams run on the node's own pool ({@link OwnPool}, unless {@code ownConnections}
 * is 0), everything else (schedules too) on the given connection factory.
 */
public final class Node {
    private static final Logger log = LoggerFactory.getLogger(Node.class);
    /** Outcome writes get at least this long after the handlers' grace period when closing. */
    private static final Duration MIN_WRITE_GRACE = Duration.ofSeconds(5);

    private final Config config;
    private final JobStore store;
    /** Where claims, outcome writes, the heartbeat and the reaper get their connections. */
    private final JobStore liveness;
    private final @Nullable ConnectionPool ownPool;
    private final QueueMetrics metrics;
    private final Signals signals;
    private final JobInserter inserter;
    private final JobClaimer claimer;
    private final @Nullable Listener listener;
    private final Flux<Notice> received;
    private final Completer completer;
    private final Leases leases = new Leases();
    private final Set<JobStream> openStreams = ConcurrentHashMap.newKeySet();
    private final Sinks.Empty<Void> closing = Sinks.empty();
    private final Map<String, QueueRuntime> queues;
    private final Scheduler handlerScheduler;
    private final Worker worker;
    private final Heartbeat heartbeat;
    private final Reaper reaper;
    private final Janitor janitor;
    private final @Nullable DepthSampler depthSampler;
    private final Awaiter awaiter;
    private final Admin admin;
    private final Scheduling scheduling;
    private final ScheduleRunner scheduleRunner;
    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
    private final AtomicReference<@Nullable Mono<Void>> stopping = new AtomicReference<>();

    private enum State { NEW, STARTING, STARTED, STOPPED }

    /** Builds every part; reads the packaged SQL files, so call it at start-up. */
    public Node(Config config) {
        this.config = config;
        ObjectMapper mapper = config.objectMapper();
        warmUp(mapper);
        Scheduler timer = Schedulers.parallel();
        // MicrometerQueueMetrics (and Micrometer with it) is loaded only on this branch
        this.metrics = config.meterRegistry() == null ? QueueMetrics.NONE
                : MicrometerQueueMetrics.create(config.meterRegistry(), config.schema().name());
        Config.DbConfig dbConfig = config.db();
        PgJobStore given = new PgJobStore(config.connectionFactory(), config.schema(), mapper,
                dbConfig.acquireTimeout(), dbConfig.statementTimeout(), dbConfig.lockTimeout(), timer);
        this.store = given;
        this.ownPool = dbConfig.ownConnections() == 0 ? null : OwnPool.create(config.connectionFactory(),
                dbConfig.ownConnections(), dbConfig.acquireTimeout(), "pgqueue-" + config.schema().name());
        // claims, outcome writes, the heartbeat and the reaper never wait behind the application's work
        this.liveness = ownPool == null ? given : given.on(ownPool);
        this.signals = new Signals(store, timer);
        signals.start();
        Config.EnqueueConfig enqueue = config.enqueue();
        this.inserter = new JobInserter(store,
                new JobEncoder(mapper, enqueue.maxPayloadBytes(), enqueue.defaultMaxAttempts()),
                enqueue.batchSize(), enqueue.notifyNodes() ? signals.channel() : null, metrics);
        this.claimer = new JobClaimer(liveness, metrics);
        ListenerConfig listening = config.listener();
        this.listener = listening.enabled()
                ? new Listener(config.listenerConnectionFactory() != null ? config.listenerConnectionFactory()
                        : config.connectionFactory(), store, signals.channel(), listening, timer)
                : null;
        this.received = listener != null ? listener.notices() : Flux.never();
        this.completer = new Completer(liveness, signals, config.reaper().reprocessLimit(), config.janitor().enabled(),
                config.completer().batchSize(), config.completer().flushInterval(), timer, metrics);
        this.queues = config.queues().stream()
                .collect(Collectors.toUnmodifiableMap(QueueRuntime::queue, Function.identity()));
        ClaimConfig claim = config.claim();
        this.handlerScheduler = config.handlerScheduler() != null ? config.handlerScheduler()
                : Schedulers.newBoundedElastic(claim.globalConcurrency(), Integer.MAX_VALUE, "pgqueue-handler", 60, true);
        this.worker = new Worker(claimer, completer, leases, handlerScheduler, config.queues(), claim,
                received.filter(n -> n.wakes(queues.keySet())),
                received.filter(n -> n.schedules(queues.keySet())).map(Notice::dueIn),
                received.filter(n -> n.is(Signal.CONNECTED)), timer, metrics);
        this.heartbeat = new Heartbeat(liveness, leases, config.heartbeat(), config.reaper().stallTimeout(),
                received.filter(n -> n.is(Signal.CANCELLED) || n.is(Signal.CONNECTED)), timer);
        this.reaper = new Reaper(liveness, signals, config.reaper(), timer, metrics);
        this.janitor = new Janitor(store, config.janitor(), timer);
        this.depthSampler = metrics == QueueMetrics.NONE ? null
                : new DepthSampler(store, metrics, config.depthSampler(), timer);
        this.awaiter = new Awaiter(store, received, config.awaiter(), timer);
        this.admin = new Admin(store, signals, reaper, janitor, config.janitor().batchSize());
        this.scheduling = new Scheduling(given.schedules(), inserter.encoder(), mapper, signals, metrics,
                enqueue.notifyNodes() ? signals.channel() : null, config.scheduler().declared());
        this.scheduleRunner = new ScheduleRunner(scheduling, config.scheduler(),
                received.filter(n -> n.is(Signal.SCHEDULES) || n.is(Signal.CONNECTED)), timer, metrics);
        metrics.gauges(worker::inFlight, listener != null ? listener::connected : null);
    }

    /**
     * Reads a tree once, at build time: Jackson creates and caches its tree deserializer under a
     * lock on first use, which would otherwise happen on an event loop during the first claims.
     */
    private static void warmUp(ObjectMapper mapper) {
        try {
            mapper.readTree("{\"a\":[1,\"b\",true,null,1.5]}");
        } catch (IOException e) {
            throw new IllegalStateException("The ObjectMapper cannot read JSON", e);
        }
    }

    public Config config() {
        return config;
    }

    public Admin admin() {
        return admin;
    }

    public Scheduling scheduling() {
        return scheduling;
    }

    /** The schedule runner, for tests that run it once instead of waiting. */
    ScheduleRunner scheduleRunner() {
        return scheduleRunner;
    }

    public Mono<MigrationResult> migrate() {
        return store.migrate();
    }

    public Mono<Integer> schemaVersion() {
        return store.schemaVersion();
    }

    public int latestSchemaVersion() {
        return store.latestSchemaVersion();
    }

    public Mono<List<EnqueueResult>> enqueueAll(Collection<NewJob> jobs) {
        return inserter.enqueueAll(jobs);
    }

    public Mono<List<EnqueueResult>> enqueueAll(Connection connection, Collection<NewJob> jobs) {
        return inserter.enqueueAll(connection, jobs);
    }

    /** Checks the schema (retrying while the database cannot be reached), then starts the services. */
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
                    .then(scheduling.declare(config.scheduler().declared(), config.scheduler().declaredPolicy()))
                    .doOnError(e -> {
                        if (startRetries(e)) {
                            incidents.failed(e);
                        } else {
                            incidents.gaveUp(e);
                        }
                    })
                    .retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(5))
                            .filter(e -> startRetries(e) && state.get() == State.STARTING))
                    .doOnSuccess(v -> incidents.succeeded())
                    .doFinally(signal -> state.compareAndSet(State.STARTING, State.NEW))
                    .then(Mono.fromRunnable(() -> {
                        if (state.compareAndSet(State.STARTING, State.STARTED)) {
                            heartbeat.start();
                            worker.start();
                            reaper.start();
                            janitor.start();
                            scheduleRunner.start();
                            if (depthSampler != null) {
                                depthSampler.start();
                            }
                        }
                    }));
        });
    }

    /**
     * Whether {@code start()} retries after {@code error}: it does while the database cannot be
     * reached, not when retrying cannot help (a schema at the wrong version, a login the server
     * refused).
     */
    private static boolean startRetries(Throwable error) {
        return !(error instanceof SchemaVersionException || error instanceof DatabaseLoginException
                || error instanceof IllegalArgumentException || error instanceof InvalidJobException
                || JobStore.retryCannotHelp(error));
    }

    /** Stops claiming, gives running handlers {@code grace}, then releases the rest; the same stop for every call. */
    public Mono<Void> stop(Duration grace) {
        return Mono.defer(() -> {
            // no slot jobs are enqueued once this node stops claiming: another node's runner takes them
            scheduleRunner.stop();
            Mono<Void> stop = worker.stop(grace).doFinally(signal -> {
                reaper.stop();
                janitor.stop();
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

    /** Stops with the configured grace, drains the outcome writer, then stops every other part. */
    public Mono<Void> close() {
        Duration grace = config.stopGracePeriod();
        // Shutting an executor down takes its lock, which may park the thread: do it where
        // blocking is allowed, never on the event loop or timer thread that finished the stop.
        Mono<Void> disposeScheduler = config.handlerScheduler() == null
                ? Mono.<Void>fromRunnable(handlerScheduler::dispose).subscribeOn(Schedulers.boundedElastic())
                : Mono.empty();
        // Outcome writes get another grace period (at least 5 s) after the handlers' one; past it the
        // database is taken to be unreachable and they are given up: their jobs stay running, lose
        // their heartbeat with this node, and the reaper of a live node rescues them.
        Duration writeLimit = grace.plus(grace.compareTo(MIN_WRITE_GRACE) < 0 ? MIN_WRITE_GRACE : grace);
        return closeStreams()
                .then(stop(grace))
                .then(completer.close())
                .timeout(writeLimit, Mono.fromRunnable(() -> {
                    log.error("Close: outcomes of {} jobs could not be written within {}; given up (the reaper "
                            + "will rescue those jobs)", worker.inFlight(), writeLimit);
                    worker.dispose();
                    completer.dispose();
                }))
                .then(Mono.fromRunnable(() -> {
                    heartbeat.stop();
                    awaiter.stop();
                    signals.stop();
                    if (listener != null) {
                        listener.stop();
                    }
                    metrics.close();
                }))
                .then(ownPool != null ? ownPool.disposeLater() : Mono.empty())
                .then(disposeScheduler);
    }

    public Mono<JobInfo> awaitCompletion(UUID id) {
        return awaiter.await(id);
    }

    /** A stream of claimed jobs of {@code queues}; each subscription claims on its own. */
    public Flux<ClaimedJob> jobs(List<String> queueNames) {
        if (queueNames.isEmpty()) {
            throw new IllegalArgumentException("Name at least one queue");
        }
        queueNames.forEach(Config::requireQueueName);
        List<String> names = List.copyOf(queueNames);
        return Flux.usingWhen(
                Mono.fromSupplier(() -> {
                    heartbeat.start();
                    JobStream stream = new JobStream(claimer, completer, leases, signals, liveness, names,
                            this::backoffOf, config.claim().batchSize(), config.claim().pollInterval(),
                            Schedulers.parallel(), handlerScheduler, received);
                    openStreams.add(stream);
                    return stream;
                }),
                JobStream::flux,
                this::endStream,
                (stream, error) -> endStream(stream),
                this::endStream)
                // close() ends every stream, also one subscribed after it: cancelling the claims
                // above releases the stream's unfinished jobs, and the subscriber sees completion
                .takeUntilOther(closing.asMono());
    }

    private Mono<Void> endStream(JobStream stream) {
        openStreams.remove(stream);
        return stream.releaseAll();
    }

    /** Completes every open jobs() stream and waits until each has given its unfinished jobs back. */
    private Mono<Void> closeStreams() {
        return Mono.defer(() -> {
            // Taken before the streams are told to end: an ending stream leaves openStreams and
            // starts its release at once, which this close must still wait for (releaseAll gives
            // every caller the same release).
            List<JobStream> streams = new ArrayList<>(openStreams);
            openStreams.clear();
            closing.tryEmitEmpty();
            return Flux.fromIterable(streams).flatMap(JobStream::releaseAll).then();
        });
    }

    private Backoff backoffOf(String queue) {
        QueueRuntime runtime = queues.get(queue);
        return runtime != null ? runtime.backoff() : config.defaultBackoff();
    }

    /** Jobs this node has claimed and not yet finished. */
    public int jobsInFlight() {
        return worker.inFlight();
    }

    /** What the worker holds right now, for a diagnosis. */
    public String workerState() {
        return worker.describe();
    }

    /** The heartbeat, for tests that beat once instead of waiting for its interval. */
    Heartbeat heartbeat() {
        return heartbeat;
    }

    /** Outcome writes that changed nothing because the job's lease was no longer current. */
    public long staleWrites() {
        return completer.staleWrites();
    }
}
