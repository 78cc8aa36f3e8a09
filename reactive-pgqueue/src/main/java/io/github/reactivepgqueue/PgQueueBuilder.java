package io.github.reactivepgqueue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.github.reactivepgqueue.internal.Config;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.scheduler.Scheduler;

/**
 * Configures a {@link PgQueue}. Not thread-safe; {@link #build()} validates the configuration and
 * returns an immutable, thread-safe queue.
 *
 * @since 0.1.0
 */
public final class PgQueueBuilder {
    /** Default schema: {@value}. */
    public static final String DEFAULT_SCHEMA = "pgqueue";
    /** Default payload size limit: 1 MiB of JSON text. */
    public static final int DEFAULT_MAX_PAYLOAD_BYTES = Config.EnqueueConfig.DEFAULT_MAX_PAYLOAD_BYTES;
    /** Default number of jobs per insert statement: {@value}. */
    public static final int DEFAULT_ENQUEUE_BATCH_SIZE = Config.EnqueueConfig.DEFAULT_BATCH_SIZE;
    /** Default maximum attempts of a job that sets none: {@value}. */
    public static final int DEFAULT_MAX_ATTEMPTS = Config.EnqueueConfig.DEFAULT_MAX_ATTEMPTS;

    /** Default for {@link #globalConcurrency(int)}: {@value}. */
    public static final int DEFAULT_GLOBAL_CONCURRENCY = Config.ClaimConfig.DEFAULT_GLOBAL_CONCURRENCY;
    /** Default for {@link #defaultQueueConcurrency(int)}: {@value}. */
    public static final int DEFAULT_QUEUE_CONCURRENCY = Config.QueueDefaults.DEFAULT_CONCURRENCY;
    /** Default backoff: the same 5 seconds after every failed attempt. */
    public static final Duration DEFAULT_BACKOFF_DELAY = Config.QueueDefaults.DEFAULT_BACKOFF_DELAY;
    /** Default handler timeout: 15 minutes. */
    public static final Duration DEFAULT_HANDLER_TIMEOUT = Config.QueueDefaults.DEFAULT_TIMEOUT;
    /** Default poll interval: 1 second. */
    public static final Duration DEFAULT_POLL_INTERVAL = Config.ClaimConfig.DEFAULT_POLL_INTERVAL;
    /** Default for {@link #claimBatchSize(int)}: {@value}. */
    public static final int DEFAULT_CLAIM_BATCH_SIZE = Config.ClaimConfig.DEFAULT_BATCH_SIZE;
    /** Default for {@link #claimsInFlight(int)}: {@value}. */
    public static final int DEFAULT_CLAIMS_IN_FLIGHT = Config.ClaimConfig.DEFAULT_CLAIMS_IN_FLIGHT;
    /** Default for {@link #completionBatchSize(int)}: {@value}. */
    public static final int DEFAULT_COMPLETION_BATCH_SIZE = Config.CompleterConfig.DEFAULT_BATCH_SIZE;
    /** Default completion flush interval: 2 milliseconds. */
    public static final Duration DEFAULT_COMPLETION_FLUSH_INTERVAL = Config.CompleterConfig.DEFAULT_FLUSH_INTERVAL;
    /** Default grace period of {@link PgQueue#close()}: 30 seconds. */
    public static final Duration DEFAULT_STOP_GRACE_PERIOD = Duration.ofSeconds(30);
    /** Default heartbeat interval: 5 seconds. */
    public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Config.HeartbeatConfig.DEFAULT_INTERVAL;
    /** Default for {@link #rescueAfterMissedHeartbeats(double)}: {@value}. */
    public static final double DEFAULT_RESCUE_AFTER_MISSED_HEARTBEATS = Config.ReaperConfig.DEFAULT_RESCUE_AFTER_MISSED_HEARTBEATS;
    /** Default for {@link #reprocessLimit(int)}: {@value}. */
    public static final int DEFAULT_REPROCESS_LIMIT = Config.ReaperConfig.DEFAULT_REPROCESS_LIMIT;
    /** Default janitor interval: 1 second. */
    public static final Duration DEFAULT_JANITOR_INTERVAL = Config.JanitorConfig.DEFAULT_INTERVAL;
    /** Default for {@link #maintenanceBatchSize(int)}: {@value}. */
    public static final int DEFAULT_MAINTENANCE_BATCH_SIZE = Config.ReaperConfig.DEFAULT_BATCH_SIZE;
    /** Default archive retention: 7 days. */
    public static final Duration DEFAULT_ARCHIVE_RETENTION = Config.JanitorConfig.DEFAULT_ARCHIVE_RETENTION;
    /** Default connection acquire timeout: 5 seconds. */
    public static final Duration DEFAULT_CONNECTION_ACQUIRE_TIMEOUT = Config.DbConfig.DEFAULT_ACQUIRE_TIMEOUT;
    /** Default statement timeout of the library's statements: 30 seconds. */
    public static final Duration DEFAULT_STATEMENT_TIMEOUT = Config.DbConfig.DEFAULT_STATEMENT_TIMEOUT;
    /** Default lock timeout of the library's statements: 5 seconds. */
    public static final Duration DEFAULT_LOCK_TIMEOUT = Config.DbConfig.DEFAULT_LOCK_TIMEOUT;
    /** Default listener check interval: 10 seconds. */
    public static final Duration DEFAULT_LISTENER_CHECK_INTERVAL = Config.ListenerConfig.DEFAULT_CHECK_INTERVAL;
    /** Default listener check timeout: 5 seconds. */
    public static final Duration DEFAULT_LISTENER_CHECK_TIMEOUT = Config.ListenerConfig.DEFAULT_CHECK_TIMEOUT;
    /** Default for {@link #queueDepthInterval(Duration)}: 15 seconds. */
    public static final Duration DEFAULT_QUEUE_DEPTH_INTERVAL = Config.DepthSamplerConfig.DEFAULT_INTERVAL;
    /** Default for {@link #scheduleCheckInterval(Duration)}: 1 second. */
    public static final Duration DEFAULT_SCHEDULE_CHECK_INTERVAL = Config.SchedulerConfig.DEFAULT_CHECK_INTERVAL;
    /** Default dead-letter retention: 30 days. */
    public static final Duration DEFAULT_DEAD_LETTER_RETENTION = Config.JanitorConfig.DEFAULT_DEAD_RETENTION;

    final ConnectionFactory connectionFactory;
    final Map<String, Config.Registration> handlers = new LinkedHashMap<>();
    int globalConcurrency = DEFAULT_GLOBAL_CONCURRENCY;
    int defaultQueueConcurrency = DEFAULT_QUEUE_CONCURRENCY;
    Backoff defaultBackoff = Backoff.linear(DEFAULT_BACKOFF_DELAY);
    Duration defaultHandlerTimeout = DEFAULT_HANDLER_TIMEOUT;
    Duration pollInterval = DEFAULT_POLL_INTERVAL;
    int claimBatchSize = DEFAULT_CLAIM_BATCH_SIZE;
    int claimsInFlight = DEFAULT_CLAIMS_IN_FLIGHT;
    int completionBatchSize = DEFAULT_COMPLETION_BATCH_SIZE;
    Duration completionFlushInterval = DEFAULT_COMPLETION_FLUSH_INTERVAL;
    Duration stopGracePeriod = DEFAULT_STOP_GRACE_PERIOD;
    @Nullable Scheduler handlerScheduler;
    String schema = DEFAULT_SCHEMA;
    @Nullable ObjectMapper objectMapper;
    int maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES;
    int enqueueBatchSize = DEFAULT_ENQUEUE_BATCH_SIZE;
    int defaultMaxAttempts = DEFAULT_MAX_ATTEMPTS;
    Duration heartbeatInterval = DEFAULT_HEARTBEAT_INTERVAL;
    double rescueAfterMissedHeartbeats = DEFAULT_RESCUE_AFTER_MISSED_HEARTBEATS;
    @Nullable Duration reaperInterval;
    int reprocessLimit = DEFAULT_REPROCESS_LIMIT;
    boolean janitor = true;
    Duration janitorInterval = DEFAULT_JANITOR_INTERVAL;
    int maintenanceBatchSize = DEFAULT_MAINTENANCE_BATCH_SIZE;
    Duration archiveRetention = DEFAULT_ARCHIVE_RETENTION;
    Duration deadLetterRetention = DEFAULT_DEAD_LETTER_RETENTION;
    boolean listen = true;
    boolean notifyOnEnqueue = true;
    Duration connectionAcquireTimeout = DEFAULT_CONNECTION_ACQUIRE_TIMEOUT;
    @Nullable Integer ownConnections;
    Duration statementTimeout = DEFAULT_STATEMENT_TIMEOUT;
    Duration lockTimeout = DEFAULT_LOCK_TIMEOUT;
    Duration listenerCheckInterval = DEFAULT_LISTENER_CHECK_INTERVAL;
    Duration listenerCheckTimeout = DEFAULT_LISTENER_CHECK_TIMEOUT;
    @Nullable ConnectionFactory listenerConnectionFactory;
    /**
     * A Micrometer {@code MeterRegistry}, or null. Typed Object so that no class of the API links
     * to Micrometer when it is absent.
     */
    @Nullable Object meterRegistry;
    Duration queueDepthInterval = DEFAULT_QUEUE_DEPTH_INTERVAL;
    final List<Schedule> schedules = new ArrayList<>();
    DeclaredSchedules declaredSchedules = DeclaredSchedules.CODE_WINS;
    boolean runSchedules = true;
    Duration scheduleCheckInterval = DEFAULT_SCHEDULE_CHECK_INTERVAL;

    PgQueueBuilder(ConnectionFactory connectionFactory) {
        this.connectionFactory = Objects.requireNonNull(connectionFactory, "connectionFactory");
    }

    /**
     * The PostgreSQL schema holding the queue's tables (default {@value #DEFAULT_SCHEMA}). Lower-case
     * ASCII letters, digits and underscores, at most 63 bytes, not starting with a digit or
     * {@code pg_}; checked by {@link #build()}.
     */
    public PgQueueBuilder schema(String schema) {
        this.schema = schema;
        return this;
    }

    /**
     * The Jackson mapper for payloads (default: a plain {@code ObjectMapper} with the Java time
     * module, writing dates as ISO-8601 text).
     */
    public PgQueueBuilder objectMapper(ObjectMapper objectMapper) {
        this.objectMapper = Objects.requireNonNull(objectMapper, "objectMapper");
        return this;
    }

    /**
     * The largest payload accepted, in bytes of UTF-8 JSON text (default 1 MiB). A larger payload
     * fails the enqueue with {@link InvalidJobException}.
     */
    public PgQueueBuilder maxPayloadBytes(int maxPayloadBytes) {
        this.maxPayloadBytes = maxPayloadBytes;
        return this;
    }

    /** How many jobs one insert statement carries (default {@value #DEFAULT_ENQUEUE_BATCH_SIZE}). */
    public PgQueueBuilder enqueueBatchSize(int enqueueBatchSize) {
        this.enqueueBatchSize = enqueueBatchSize;
        return this;
    }

    /** Maximum attempts of jobs that set none (default {@value #DEFAULT_MAX_ATTEMPTS}). */
    public PgQueueBuilder defaultMaxAttempts(int defaultMaxAttempts) {
        this.defaultMaxAttempts = defaultMaxAttempts;
        return this;
    }

    /** Registers the handler of a queue, with the default options. One handler per queue. */
    public PgQueueBuilder handler(ReactiveHandler handler) {
        return handler(handler, QueueOptions.defaults());
    }

    /** Registers the handler of a queue with options of its own. One handler per queue. */
    public PgQueueBuilder handler(ReactiveHandler handler, QueueOptions options) {
        Objects.requireNonNull(handler, "handler");
        Objects.requireNonNull(options, "options");
        String queue = handler.queue();
        String problem = Config.queueNameProblem(queue); // blank names included
        if (problem != null) {
            throw new IllegalArgumentException("Handler " + handler.getClass().getName() + ": " + problem);
        }
        if (handlers.putIfAbsent(queue, new Config.Registration(handler, options)) != null) {
            throw new IllegalArgumentException("Queue '" + queue + "' already has a handler");
        }
        return this;
    }

    /**
     * At most this many jobs run at once on this node, over all queues (default
     * {@value #DEFAULT_GLOBAL_CONCURRENCY}).
     */
    public PgQueueBuilder globalConcurrency(int globalConcurrency) {
        this.globalConcurrency = globalConcurrency;
        return this;
    }

    /** Concurrency of queues whose options set none (default {@value #DEFAULT_QUEUE_CONCURRENCY}). */
    public PgQueueBuilder defaultQueueConcurrency(int defaultQueueConcurrency) {
        this.defaultQueueConcurrency = defaultQueueConcurrency;
        return this;
    }

    /** Backoff of queues whose options set none (default {@code Backoff.linear(5 s)}). */
    public PgQueueBuilder defaultBackoff(Backoff defaultBackoff) {
        this.defaultBackoff = Objects.requireNonNull(defaultBackoff, "defaultBackoff");
        return this;
    }

    /** Handler timeout of queues whose options set none (default 15 minutes). */
    public PgQueueBuilder defaultHandlerTimeout(Duration defaultHandlerTimeout) {
        this.defaultHandlerTimeout = Objects.requireNonNull(defaultHandlerTimeout, "defaultHandlerTimeout");
        return this;
    }

    /**
     * How often the node looks for due jobs when nothing else wakes it (default 1 s). A claim that
     * comes back full and every finished job trigger the next claim at once.
     */
    public PgQueueBuilder pollInterval(Duration pollInterval) {
        this.pollInterval = Objects.requireNonNull(pollInterval, "pollInterval");
        return this;
    }

    /** Most jobs one claim statement takes per queue (default {@value #DEFAULT_CLAIM_BATCH_SIZE}). */
    public PgQueueBuilder claimBatchSize(int claimBatchSize) {
        this.claimBatchSize = claimBatchSize;
        return this;
    }

    /**
     * How many claim statements a node may have in flight at once (default
     * {@value #DEFAULT_CLAIMS_IN_FLIGHT}): while one waits for the database, another can take the
     * permits that finished jobs freed meanwhile. Claims never ask for more than the free permits.
     */
    public PgQueueBuilder claimsInFlight(int claimsInFlight) {
        this.claimsInFlight = claimsInFlight;
        return this;
    }

    /** Most outcomes one completion statement writes (default {@value #DEFAULT_COMPLETION_BATCH_SIZE}). */
    public PgQueueBuilder completionBatchSize(int completionBatchSize) {
        this.completionBatchSize = completionBatchSize;
        return this;
    }

    /** Longest time an outcome waits for others to share its write (default 2 ms). */
    public PgQueueBuilder completionFlushInterval(Duration completionFlushInterval) {
        this.completionFlushInterval = Objects.requireNonNull(completionFlushInterval, "completionFlushInterval");
        return this;
    }

    /** Grace period that {@link PgQueue#close()} gives running jobs (default 30 s). */
    public PgQueueBuilder stopGracePeriod(Duration stopGracePeriod) {
        this.stopGracePeriod = Objects.requireNonNull(stopGracePeriod, "stopGracePeriod");
        return this;
    }

    /**
     * The scheduler handlers are subscribed on. The default is a bounded-elastic scheduler of the
     * queue's own ({@code pgqueue-handler-*} threads, created on demand up to the global
     * concurrency, idle ones dropped after 60 s), so a handler that blocks holds up only its own
     * thread, however many jobs run. {@link PgQueue#jobs(String...)} streams signal their elements
     * and completions on it too. Non-blocking handlers may use
     * {@code Schedulers.parallel()} or {@code Schedulers.immediate()} to save a thread hop.
     */
    public PgQueueBuilder handlerScheduler(Scheduler handlerScheduler) {
        this.handlerScheduler = Objects.requireNonNull(handlerScheduler, "handlerScheduler");
        return this;
    }

    /**
     * How often the node refreshes the heartbeat of the jobs it runs (default 5 s): one statement
     * per interval for all of them.
     */
    public PgQueueBuilder heartbeatInterval(Duration heartbeatInterval) {
        this.heartbeatInterval = Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
        return this;
    }

    /**
     * A running job whose heartbeat is older than this many heartbeat intervals is stalled (its
     * node died or froze) and the reaper rescues it (default
     * {@value #DEFAULT_RESCUE_AFTER_MISSED_HEARTBEATS}; at least 1.5, so one slow beat is no stall).
     * Every node should use the same heartbeat settings. {@link #build()} refuses a threshold
     * (this times the heartbeat interval) that is not longer than the heartbeat interval plus
     * {@link #connectionAcquireTimeout(Duration)}: a beat that had to wait that long for a
     * connection would land too late. A node whose beats do not get through for nearly this long
     * stops the handlers of those jobs, since other nodes may rescue them.
     */
    public PgQueueBuilder rescueAfterMissedHeartbeats(double heartbeats) {
        this.rescueAfterMissedHeartbeats = heartbeats;
        return this;
    }

    /** How often the reaper looks for stalled jobs (default: the heartbeat interval). */
    public PgQueueBuilder reaperInterval(Duration reaperInterval) {
        this.reaperInterval = Objects.requireNonNull(reaperInterval, "reaperInterval");
        return this;
    }

    /**
     * Poison-job limit (default {@value #DEFAULT_REPROCESS_LIMIT}): a job rescheduled or rescued
     * from a stall this many times ends {@code bad_job} instead of running again.
     */
    public PgQueueBuilder reprocessLimit(int reprocessLimit) {
        this.reprocessLimit = reprocessLimit;
        return this;
    }

    /**
     * Whether started nodes run the janitor (default true): it moves finished jobs out of the live
     * table (completed ones to the archive, dead ones to the dead-letter table) and deletes them
     * after their retention. While it is on, a job that succeeds moves to the archive in the
     * statement that records its success, so completed jobs never wait in the live table. Switched
     * off, finished jobs stay in the live table until someone calls
     * {@link QueueAdmin#moveFinishedJobs()}.
     */
    public PgQueueBuilder janitor(boolean janitor) {
        this.janitor = janitor;
        return this;
    }

    /** How often the janitor runs (default 1 s); each run moves everything finished, in batches. */
    public PgQueueBuilder janitorInterval(Duration janitorInterval) {
        this.janitorInterval = Objects.requireNonNull(janitorInterval, "janitorInterval");
        return this;
    }

    /** Most rows one reaper or janitor statement handles (default {@value #DEFAULT_MAINTENANCE_BATCH_SIZE}). */
    public PgQueueBuilder maintenanceBatchSize(int maintenanceBatchSize) {
        this.maintenanceBatchSize = maintenanceBatchSize;
        return this;
    }

    /** How long archived (completed) jobs are kept (default 7 days). */
    public PgQueueBuilder archiveRetention(Duration archiveRetention) {
        this.archiveRetention = Objects.requireNonNull(archiveRetention, "archiveRetention");
        return this;
    }

    /** How long dead-lettered jobs are kept (default 30 days). */
    public PgQueueBuilder deadLetterRetention(Duration deadLetterRetention) {
        this.deadLetterRetention = Objects.requireNonNull(deadLetterRetention, "deadLetterRetention");
        return this;
    }

    /**
     * Whether the node listens for signals from other nodes (default true) on a connection of its
     * own: cancellations of running jobs and finished awaited jobs are then seen at once instead of
     * at the next heartbeat or check interval. Switch it off behind a pooler in transaction mode
     * (PgBouncer), where LISTEN does not work.
     */
    public PgQueueBuilder listen(boolean listen) {
        this.listen = listen;
        return this;
    }

    /**
     * Longest wait for a connection (default 5 s): past it, the call fails with
     * {@link DatabaseUnavailableException} instead of hanging while the database is down or the
     * pool is exhausted; background loops retry with backoff.
     */
    public PgQueueBuilder connectionAcquireTimeout(Duration connectionAcquireTimeout) {
        this.connectionAcquireTimeout = Objects.requireNonNull(connectionAcquireTimeout, "connectionAcquireTimeout");
        return this;
    }

    /**
     * How many connections the node opens for its own liveness work: claims, outcome writes, the
     * heartbeat and the reaper (default: {@link #claimsInFlight(int) claimsInFlight} + 6, which is
     * 8; at least 2, or 0). They come from the factory beneath every wrapper of the given one
     * (behind an r2dbc-pool {@code ConnectionPool}, or a proxy around one; a plain factory as it
     * is), the same the listening connection comes from, into a small pool of the node's own, opened as needed and closed by {@link PgQueue#close()}. So handlers and the rest of the
     * application may use every connection of their pool without ever starving the heartbeat:
     * a node whose beats wait behind busy handlers has its jobs rescued and run a second time
     * elsewhere. Enqueues, admin calls, awaits, the janitor and the depth sampler use the given
     * factory.
     *
     * <p>0: the liveness work takes its connections from the given factory too (for a database
     * whose connection limit leaves no room); size that pool so handlers can never hold all of it.
     */
    public PgQueueBuilder ownConnections(int ownConnections) {
        this.ownConnections = ownConnections;
        return this;
    }

    /**
     * Server-side limit on each of the library's statements (default 30 s; zero: none). Set with
     * {@code SET LOCAL} in the statement's own transaction, so it never applies to other users of
     * the pool. Reactor timeouts cannot do this: cancelling a subscription leaves the query running
     * on the server.
     */
    public PgQueueBuilder statementTimeout(Duration statementTimeout) {
        this.statementTimeout = Objects.requireNonNull(statementTimeout, "statementTimeout");
        return this;
    }

    /**
     * Longest wait of the library's statements for a row lock someone else holds (default 5 s;
     * zero: no limit), set like {@link #statementTimeout(Duration)}. The heartbeat, a completion or
     * a cancel that meets a row locked by a long transaction fails and is retried, instead of
     * waiting without end.
     */
    public PgQueueBuilder lockTimeout(Duration lockTimeout) {
        this.lockTimeout = Objects.requireNonNull(lockTimeout, "lockTimeout");
        return this;
    }

    /**
     * How often the listening connection proves that it still listens (default 10 s), and how long
     * that may take (default 5 s) before the connection counts as dead and is replaced. A
     * half-open socket (a failover, a dropped NAT entry) passes every local check and would
     * otherwise go unnoticed; it is found within interval plus timeout.
     */
    public PgQueueBuilder listenerCheck(Duration interval, Duration timeout) {
        this.listenerCheckInterval = Objects.requireNonNull(interval, "interval");
        this.listenerCheckTimeout = Objects.requireNonNull(timeout, "timeout");
        return this;
    }

    /**
     * Whether enqueues notify the nodes (default true): the insert statement sends one notification
     * per queue that got a job due now, delivered when the transaction commits, so a listening
     * node claims at once instead of at its next poll. Switch it off for producers whose
     * enqueue rate makes the commit-time notification lock a bottleneck; nodes then find new jobs
     * by polling.
     */
    public PgQueueBuilder notifyOnEnqueue(boolean notifyOnEnqueue) {
        this.notifyOnEnqueue = notifyOnEnqueue;
        return this;
    }

    /**
     * Where the listening connection comes from (default: the queue's connection factory, or the
     * factory behind it when it is an r2dbc-pool {@code ConnectionPool}, since a pooled connection
     * would be recycled and lose its LISTEN). Must yield r2dbc-postgresql connections.
     */
    public PgQueueBuilder listenerConnectionFactory(ConnectionFactory listenerConnectionFactory) {
        this.listenerConnectionFactory = Objects.requireNonNull(listenerConnectionFactory, "listenerConnectionFactory");
        return this;
    }

    /**
     * Reports metrics to {@code meterRegistry} (default: none): jobs enqueued, claimed and finished
     * per queue and outcome, handler durations, pickup latency, jobs in flight, sampled queue
     * depths, the listener's connection and stale writes, all named {@code pgqueue.*}; see
     * {@code docs/observability.md}. Needs {@code io.micrometer:micrometer-core} on the class path,
     * an optional dependency of this library: without this call the library never loads it.
     *
     * <p>The parameter is typed {@code Object} so that the builder's signatures name no Micrometer
     * type: reflection over this class ({@code getMethods()}, as frameworks do) then works without
     * Micrometer on the class path. Pass an {@code io.micrometer.core.instrument.MeterRegistry}.
     *
     * @param meterRegistry an {@code io.micrometer.core.instrument.MeterRegistry}
     * @throws IllegalArgumentException if {@code meterRegistry} is not a Micrometer {@code MeterRegistry}
     * @since 0.1.0
     */
    public PgQueueBuilder meterRegistry(Object meterRegistry) {
        this.meterRegistry = Config.meterRegistry(Objects.requireNonNull(meterRegistry, "meterRegistry"));
        return this;
    }

    /**
     * How often a started node with a {@link #meterRegistry meter registry} counts the pending jobs
     * of every queue for the depth gauges (default 15 s): one grouped statement per interval,
     * whatever the number of scrapes.
     */
    public PgQueueBuilder queueDepthInterval(Duration queueDepthInterval) {
        this.queueDepthInterval = Objects.requireNonNull(queueDepthInterval, "queueDepthInterval");
        return this;
    }

    /**
     * Declares a recurring job: {@link PgQueue#start()} adds it to the database, or replaces the
     * stored one of the same name as {@link #declaredSchedules} says. A schedule whose payload is
     * made in code ({@link Schedule#payload(SchedulePayload)}) is enqueued only by nodes that
     * declare it. Schedules can also be managed at runtime ({@link PgQueue#schedules()}); see
     * {@code docs/recurring-jobs.md}.
     *
     * @throws IllegalArgumentException at {@link #build()} if two schedules have the same name
     */
    public PgQueueBuilder schedule(Schedule schedule) {
        schedules.add(Objects.requireNonNull(schedule, "schedule"));
        return this;
    }

    /**
     * What start does with a declared schedule the database has already (default
     * {@link DeclaredSchedules#CODE_WINS}: the declaration replaces the stored definition).
     */
    public PgQueueBuilder declaredSchedules(DeclaredSchedules policy) {
        this.declaredSchedules = Objects.requireNonNull(policy, "policy");
        return this;
    }

    /**
     * Whether this node, once started, enqueues the jobs of due schedule slots (default true). Any
     * number of nodes may; each slot gets one job. A node that does not still manages schedules.
     */
    public PgQueueBuilder runSchedules(boolean runSchedules) {
        this.runSchedules = runSchedules;
        return this;
    }

    /**
     * How often a started node looks for due schedules besides its timer for the next slot and the
     * signals of schedule changes (default 1 s): what a lost signal may cost. When nothing is due,
     * one look is one short statement.
     */
    public PgQueueBuilder scheduleCheckInterval(Duration interval) {
        this.scheduleCheckInterval = Objects.requireNonNull(interval, "interval");
        return this;
    }

    /**
     * Validates the configuration and builds the queue. Reads the library's packaged SQL files,
     * so call it at start-up, not on a reactive thread. Touches no database.
     *
     * @throws IllegalArgumentException naming the option that is invalid
     */
    public PgQueue build() {
        Config.HeartbeatConfig heartbeat = new Config.HeartbeatConfig(heartbeatInterval);
        Config.QueueDefaults queueDefaults = new Config.QueueDefaults(defaultQueueConcurrency, defaultBackoff,
                defaultHandlerTimeout);
        return new PgQueue(new Config(connectionFactory, listenerConnectionFactory, Config.schemaName(schema),
                objectMapper != null ? objectMapper : defaultObjectMapper(), meterRegistry,
                new Config.DbConfig(connectionAcquireTimeout, statementTimeout, lockTimeout,
                        ownConnections != null ? ownConnections : Config.DbConfig.defaultOwnConnections(claimsInFlight)),
                new Config.EnqueueConfig(maxPayloadBytes, enqueueBatchSize, defaultMaxAttempts, notifyOnEnqueue),
                queueDefaults.resolve(List.copyOf(handlers.values())), defaultBackoff,
                new Config.ClaimConfig(globalConcurrency, claimBatchSize, claimsInFlight, pollInterval),
                new Config.CompleterConfig(completionBatchSize, completionFlushInterval),
                heartbeat,
                Config.ReaperConfig.of(heartbeat, rescueAfterMissedHeartbeats, reaperInterval, reprocessLimit,
                        maintenanceBatchSize),
                new Config.JanitorConfig(janitor, janitorInterval, maintenanceBatchSize, archiveRetention,
                        deadLetterRetention),
                new Config.ListenerConfig(listen, listenerCheckInterval, listenerCheckTimeout),
                new Config.AwaiterConfig(pollInterval),
                new Config.DepthSamplerConfig(queueDepthInterval),
                new Config.SchedulerConfig(runSchedules, scheduleCheckInterval,
                        Config.SchedulerConfig.DEFAULT_BATCH_SIZE, schedules, declaredSchedules),
                stopGracePeriod, handlerScheduler));
    }

    static ObjectMapper defaultObjectMapper() {
        return new ObjectMapper()
                .registerModule(new JavaTimeModule())
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
    }
}
