package io.github.reactivepgqueue.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.Backoff;
import io.github.reactivepgqueue.DeclaredSchedules;
import io.github.reactivepgqueue.QueueOptions;
import io.github.reactivepgqueue.ReactiveHandler;
import io.github.reactivepgqueue.Schedule;
import io.github.reactivepgqueue.internal.store.SchemaName;
import io.github.reactivepgqueue.permit.PermitStrategy;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.scheduler.Scheduler;

/**
 * A queue's whole configuration, immutable, made by {@code PgQueueBuilder.build()}: one record
 * per part, each with its defaults, derivations and validation (messages name the builder
 * option). {@link Node} builds every part from it.
 *
 * @param listenerConnectionFactory where the listening connection comes from; null: the queue's
 *                                  factory (or the one behind it when it is a pool)
 * @param meterRegistry             a Micrometer {@code MeterRegistry}, or null; typed Object so that
 *                                  nothing links to Micrometer when it is absent
 * @param handlerScheduler          the scheduler handlers run on; null: one of the queue's own
 */
public record Config(
        ConnectionFactory connectionFactory,
        @Nullable ConnectionFactory listenerConnectionFactory,
        SchemaName schema,
        ObjectMapper objectMapper,
        @Nullable Object meterRegistry,
        DbConfig db,
        EnqueueConfig enqueue,
        List<QueueRuntime> queues,
        Backoff defaultBackoff,
        ClaimConfig claim,
        CompleterConfig completer,
        HeartbeatConfig heartbeat,
        ReaperConfig reaper,
        JanitorConfig janitor,
        ListenerConfig listener,
        AwaiterConfig awaiter,
        DepthSamplerConfig depthSampler,
        SchedulerConfig scheduler,
        Duration stopGracePeriod,
        @Nullable Scheduler handlerScheduler) {

    public Config {
        Objects.requireNonNull(connectionFactory, "connectionFactory");
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(objectMapper, "objectMapper");
        queues = List.copyOf(queues);
        Objects.requireNonNull(defaultBackoff, "defaultBackoff");
        Check.notNegative("stopGracePeriod", stopGracePeriod);
        Duration slowestBeat = heartbeat.interval().plus(db.acquireTimeout());
        if (reaper.stallTimeout().compareTo(slowestBeat) <= 0) {
            throw new IllegalArgumentException("rescueAfterMissedHeartbeats x heartbeatInterval (" + reaper.stallTimeout()
                    + ") must be longer than heartbeatInterval + connectionAcquireTimeout (" + slowestBeat
                    + "): a beat that waits its whole acquire timeout for a connection must still land before "
                    + "other nodes may rescue the node's jobs; raise rescueAfterMissedHeartbeats or lower "
                    + "connectionAcquireTimeout");
        }
    }

    /** Micrometer's registry type, by name only (see {@link #meterRegistry(Object)}). */
    private static final String METER_REGISTRY = "io.micrometer.core.instrument.MeterRegistry";

    /** The schema name, validated: lower-case letters, digits and underscores, as the builder documents. */
    public static SchemaName schemaName(String schema) {
        return SchemaName.of(schema);
    }

    /**
     * {@code registry} if it is a Micrometer {@code MeterRegistry}; else throws
     * IllegalArgumentException. Tested by class name, so the check links no Micrometer class and
     * works when Micrometer is absent (then nothing passes it).
     */
    public static Object meterRegistry(Object registry) {
        for (Class<?> type = registry.getClass(); type != null; type = type.getSuperclass()) {
            if (type.getName().equals(METER_REGISTRY)) {
                return registry;
            }
        }
        throw new IllegalArgumentException("meterRegistry must be a " + METER_REGISTRY + " but was a "
                + registry.getClass().getName());
    }

    /** What is wrong with {@code queue} as a queue name, or null when nothing is. */
    public static @Nullable String queueNameProblem(String queue) {
        return JobEncoder.queueNameProblem(queue);
    }

    /**
     * {@code queue}, if {@link #queueNameProblem} finds nothing wrong with it.
     *
     * @throws IllegalArgumentException with the problem, a blank name included
     */
    public static String requireQueueName(String queue) {
        String problem = queueNameProblem(queue);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        return queue;
    }

    /** Whether the node listens for signals of other nodes. */
    public boolean listens() {
        return listener.enabled();
    }

    /**
     * How the library's statements get and bound their connections. Zero timeouts: none.
     *
     * @param ownConnections the size of the node's own pool for its liveness work (claims, outcome
     *                       writes, heartbeat, reaper); 0: that work takes its connections from the
     *                       given factory too
     */
    public record DbConfig(Duration acquireTimeout, Duration statementTimeout, Duration lockTimeout,
                           int ownConnections) {
        public static final Duration DEFAULT_ACQUIRE_TIMEOUT = Duration.ofSeconds(5);
        public static final Duration DEFAULT_STATEMENT_TIMEOUT = Duration.ofSeconds(30);
        public static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofSeconds(5);
        /** The fewest own connections, when there are any: the heartbeat's and one for the rest. */
        public static final int MIN_OWN_CONNECTIONS = 2;

        public DbConfig {
            Check.positive("connectionAcquireTimeout", acquireTimeout);
            Check.notNegative("statementTimeout", statementTimeout);
            Check.notNegative("lockTimeout", lockTimeout);
            if (ownConnections != 0) {
                Check.atLeast("ownConnections", ownConnections, MIN_OWN_CONNECTIONS);
            }
        }

        /**
         * The default size of the own pool: a connection for each claim in flight, each outcome
         * writer, the heartbeat and the reaper, so none of them waits for another.
         */
        public static int defaultOwnConnections(int claimsInFlight) {
            return claimsInFlight + Completer.WRITERS + 2;
        }
    }

    /** How new jobs are checked and written. */
    public record EnqueueConfig(int maxPayloadBytes, int batchSize, int defaultMaxAttempts, boolean notifyNodes) {
        public static final int DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
        public static final int DEFAULT_BATCH_SIZE = 1000;
        public static final int DEFAULT_MAX_ATTEMPTS = 5;

        public EnqueueConfig {
            Check.atLeast("maxPayloadBytes", maxPayloadBytes, 2);
            Check.atLeast("enqueueBatchSize", batchSize, 1);
            Check.atLeast("defaultMaxAttempts", defaultMaxAttempts, 1);
        }
    }

    /** How outcomes are batched into statements. */
    public record CompleterConfig(int batchSize, Duration flushInterval) {
        public static final int DEFAULT_BATCH_SIZE = 1000;
        public static final Duration DEFAULT_FLUSH_INTERVAL = Duration.ofMillis(2);

        public CompleterConfig {
            Check.atLeast("completionBatchSize", batchSize, 1);
            Check.positive("completionFlushInterval", flushInterval);
        }
    }

    /** A queue's handler as registered, with the options it set. */
    public record Registration(ReactiveHandler handler, QueueOptions options) {
    }

    /** The options every queue gets unless its own options say otherwise. */
    public record QueueDefaults(int concurrency, Backoff backoff, Duration timeout) {
        public static final int DEFAULT_CONCURRENCY = 100;
        public static final Duration DEFAULT_BACKOFF_DELAY = Duration.ofSeconds(5);
        public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(15);

        public QueueDefaults {
            Check.atLeast("defaultQueueConcurrency", concurrency, 1);
            Objects.requireNonNull(backoff, "defaultBackoff");
            Check.positive("defaultHandlerTimeout", timeout);
        }

        /** The registered queues with every option resolved. */
        public List<QueueRuntime> resolve(List<Registration> registrations) {
            return registrations.stream().map(r -> new QueueRuntime(r.handler(),
                    r.options().concurrency().orElse(concurrency),
                    r.options().backoff().orElse(backoff),
                    r.options().timeout().orElse(timeout),
                    r.options().permitStrategy().orElse(PermitStrategy.ALWAYS))).toList();
        }
    }

    /** The heartbeat's options. */
    public record HeartbeatConfig(Duration interval) {
        public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(5);

        public HeartbeatConfig {
            Check.positive("heartbeatInterval", interval);
        }
    }

    /** The reaper's options; the stall timeout is derived from the heartbeat's. */
    public record ReaperConfig(Duration interval, Duration stallTimeout, int reprocessLimit, int batchSize) {
        public static final double DEFAULT_RESCUE_AFTER_MISSED_HEARTBEATS = 2.5;
        public static final int DEFAULT_REPROCESS_LIMIT = 100;
        public static final int DEFAULT_BATCH_SIZE = 1000;

        public ReaperConfig {
            Check.positive("reaperInterval", interval);
            Check.atLeast("reprocessLimit", reprocessLimit, 1);
            Check.atLeast("maintenanceBatchSize", batchSize, 1);
        }

        /** {@code interval} null: the heartbeat interval. */
        public static ReaperConfig of(HeartbeatConfig heartbeat, double missedHeartbeats, @Nullable Duration interval,
                                      int reprocessLimit, int batchSize) {
            if (!(missedHeartbeats >= 1.5) || Double.isInfinite(missedHeartbeats)) {
                throw new IllegalArgumentException("rescueAfterMissedHeartbeats must be a finite number of at least 1.5 but was "
                        + missedHeartbeats);
            }
            long stallMillis = (long) Math.ceil(heartbeat.interval().toMillis() * missedHeartbeats);
            return new ReaperConfig(interval != null ? interval : heartbeat.interval(), Duration.ofMillis(stallMillis),
                    reprocessLimit, batchSize);
        }
    }

    /** The janitor's options. */
    public record JanitorConfig(boolean enabled, Duration interval, int batchSize, Duration archiveRetention,
                                Duration deadRetention) {
        public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);
        public static final Duration DEFAULT_ARCHIVE_RETENTION = Duration.ofDays(7);
        public static final Duration DEFAULT_DEAD_RETENTION = Duration.ofDays(30);

        public JanitorConfig {
            Check.positive("janitorInterval", interval);
            Check.atLeast("maintenanceBatchSize", batchSize, 1);
            Check.positive("archiveRetention", archiveRetention);
            Check.positive("deadLetterRetention", deadRetention);
        }
    }

    /** The listener's options. */
    public record ListenerConfig(boolean enabled, Duration checkInterval, Duration checkTimeout) {
        public static final Duration DEFAULT_CHECK_INTERVAL = Duration.ofSeconds(10);
        public static final Duration DEFAULT_CHECK_TIMEOUT = Duration.ofSeconds(5);

        public ListenerConfig {
            Check.positive("listenerCheck interval", checkInterval);
            Check.positive("listenerCheck timeout", checkTimeout);
        }
    }

    /** The awaiter's options. */
    public record AwaiterConfig(Duration checkInterval) {
        public AwaiterConfig {
            Check.positive("pollInterval", checkInterval);
        }
    }

    /** The queue-depth sampler's options. */
    public record DepthSamplerConfig(Duration interval) {
        public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(15);

        public DepthSamplerConfig {
            Check.positive("queueDepthInterval", interval);
        }
    }

    /**
     * The schedule runner's options and the schedules declared on the builder.
     *
     * @param enabled       whether this node enqueues the jobs of due slots
     * @param checkInterval how often it looks for due schedules besides its timer and the signals
     * @param batchSize     how many due schedules one transaction takes
     */
    public record SchedulerConfig(boolean enabled, Duration checkInterval, int batchSize,
                                  List<Schedule> declared, DeclaredSchedules declaredPolicy) {
        public static final Duration DEFAULT_CHECK_INTERVAL = Duration.ofSeconds(1);
        public static final int DEFAULT_BATCH_SIZE = 100;

        public SchedulerConfig {
            Check.positive("scheduleCheckInterval", checkInterval);
            Check.atLeast("schedule batch size", batchSize, 1);
            declared = List.copyOf(declared);
            Objects.requireNonNull(declaredPolicy, "declaredSchedules");
            java.util.Set<String> names = new java.util.HashSet<>();
            for (Schedule s : declared) {
                if (!names.add(s.name())) {
                    throw new IllegalArgumentException("schedule '" + s.name() + "' is declared twice");
                }
            }
        }
    }

    /** Why {@code expression} is not a cron expression the library reads (for {@link Schedule}), or null. */
    public static @Nullable String cronProblem(String expression) {
        return Slots.cronProblem(expression);
    }

    /** The worker's claim loop options. */
    public record ClaimConfig(int globalConcurrency, int batchSize, int claimsInFlight, Duration pollInterval) {
        public static final int DEFAULT_GLOBAL_CONCURRENCY = 500;
        public static final int DEFAULT_BATCH_SIZE = 1000;
        public static final int DEFAULT_CLAIMS_IN_FLIGHT = 2;
        public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);

        public ClaimConfig {
            Check.atLeast("globalConcurrency", globalConcurrency, 1);
            Check.atLeast("claimBatchSize", batchSize, 1);
            Check.atLeast("claimsInFlight", claimsInFlight, 1);
            Check.positive("pollInterval", pollInterval);
        }
    }

    /** The checks of option values, with messages that name the builder option. */
    public static final class Check {
        private Check() {
        }

        public static void atLeast(String option, int value, int min) {
            if (value < min) {
                throw new IllegalArgumentException(option + " must be at least " + min + " but was " + value);
            }
        }

        public static void notNegative(String option, Duration value) {
            Objects.requireNonNull(value, option);
            if (value.isNegative()) {
                throw new IllegalArgumentException(option + " must not be negative but was " + value);
            }
        }

        public static void positive(String option, Duration value) {
            Objects.requireNonNull(value, option);
            if (value.isZero() || value.isNegative()) {
                throw new IllegalArgumentException(option + " must be positive but was " + value);
            }
        }
    }
}
