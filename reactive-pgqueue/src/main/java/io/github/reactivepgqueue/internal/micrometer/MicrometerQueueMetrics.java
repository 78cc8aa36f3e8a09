package io.github.reactivepgqueue.internal.micrometer;

import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.internal.ClaimedRow;
import io.github.reactivepgqueue.internal.QueueMetrics;
import io.github.reactivepgqueue.internal.Transition;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Reports the library's events to a Micrometer {@link MeterRegistry}. Every meter is named
 * {@code pgqueue.*} and tagged with the schema; per-queue meters also with the queue, created when
 * first used and then found without a registry lookup. The gauges hold the queue alive, so
 * {@link #close()} removes them.
 */
public final class MicrometerQueueMetrics implements QueueMetrics {
    /** At most this many queue names become tags; the jobs of further queues are counted under {@link #OTHER_QUEUES}. */
    static final int MAX_QUEUES = 1000;
    static final String OTHER_QUEUES = "_other";

    /** What outcome writes did, one counter each; a job left pending is told apart by the write. */
    private enum Written { COMPLETED, RETRIED, RESCHEDULED, RELEASED, FAILED, CANCELLED, CRITICAL, UNPROCESSABLE, BAD_JOB }

    private static final Written[] OUTCOMES = Written.values();
    /** The tags of how handler calls ended (see {@link Transition#handlerTag()}). */
    static final List<String> RESULTS = List.of("success", "retry", "reschedule", "cancel", "critical",
            "unprocessable", "error", "timeout", "aborted");
    private static final List<JobStatus> RESCUED = List.of(JobStatus.PENDING, JobStatus.FAILED, JobStatus.BAD_JOB);
    private static final int ENQUEUED = 0;
    private static final int CLAIMED = 1;
    private static final int STALE = 2;
    private static final int PICKUP = 3;
    private static final int WRITTEN = 4;
    private static final int HANDLED = WRITTEN + OUTCOMES.length;
    private static final int RESCUE = HANDLED + RESULTS.size();
    private static final int ABANDONED = RESCUE + RESCUED.size();
    private static final int SLOTS = ABANDONED + 1;

    private final MeterRegistry registry;
    private final Tags tags;
    private final Map<String, PerQueue> queues = new ConcurrentHashMap<>();
    private final Map<String, Depth> depths = new ConcurrentHashMap<>();
    private final List<Meter> gauges = new CopyOnWriteArrayList<>();

    private MicrometerQueueMetrics(MeterRegistry registry, String schema) {
        this.registry = registry;
        this.tags = Tags.of("schema", schema);
    }

    /**
     * The metrics of the queue on {@code schema}, reported to {@code registry}, a {@link MeterRegistry}
     * (typed {@code Object} so that callers need no Micrometer type).
     */
    public static QueueMetrics create(Object registry, String schema) {
        return new MicrometerQueueMetrics((MeterRegistry) registry, schema);
    }

    @Override
    public void enqueued(String queue) {
        ((Counter) of(queue).meter(ENQUEUED)).increment();
    }

    @Override
    public void claimed(List<ClaimedRow> jobs) {
        for (ClaimedRow job : jobs) {
            ((Counter) of(job.queue()).meter(CLAIMED)).increment();
        }
    }

    @Override
    public HandlerRun handlerStarted(ClaimedRow job) {
        long started = System.nanoTime();
        PerQueue q = of(job.queue());
        ((Timer) q.meter(PICKUP)).record(pickupNanos(job, started), TimeUnit.NANOSECONDS);
        return transition -> ((Timer) q.meter(HANDLED + RESULTS.indexOf(transition.handlerTag())))
                .record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
    }

    /**
     * From when the job became due (its run_at, or its creation if that was later) to now: the
     * wait until the claim on the database clock, plus the time since the claim on this JVM's
     * monotonic clock, so the two clocks are never compared.
     */
    static long pickupNanos(ClaimedRow job, long nowNanos) {
        Instant due = job.runAt().isAfter(job.createdAt()) ? job.runAt() : job.createdAt();
        Duration untilClaim = Duration.between(due, job.claimedAt());
        long untilClaimNanos = untilClaim.getSeconds() >= Long.MAX_VALUE / 2_000_000_000L
                ? Long.MAX_VALUE / 2 : untilClaim.toNanos();
        return Math.max(0, untilClaimNanos) + Math.max(0, nowNanos - job.claimedNanos());
    }

    @Override
    public void written(String queue, Transition transition, JobStatus status) {
        Written outcome = written(transition, status);
        if (outcome != null) {
            ((Counter) of(queue).meter(WRITTEN + outcome.ordinal())).increment();
        }
    }

    /** What a write of {@code transition} that left the job {@code status} did; null for a status no write leaves. */
    private static @Nullable Written written(Transition transition, JobStatus status) {
        return switch (status) {
            case PENDING -> transition instanceof Transition.Retry ? Written.RETRIED
                    : transition instanceof Transition.Reschedule ? Written.RESCHEDULED : Written.RELEASED;
            case COMPLETED -> Written.COMPLETED;
            case FAILED -> Written.FAILED;
            case CANCELLED -> Written.CANCELLED;
            case CRITICAL -> Written.CRITICAL;
            case UNPROCESSABLE -> Written.UNPROCESSABLE;
            case BAD_JOB -> Written.BAD_JOB;
            default -> null;
        };
    }

    @Override
    public void staleWrite(String queue) {
        ((Counter) of(queue).meter(STALE)).increment();
    }

    @Override
    public void abandoned(String queue) {
        ((Counter) of(queue).meter(ABANDONED)).increment();
    }

    @Override
    public void rescued(String queue, JobStatus status) {
        int i = RESCUED.indexOf(status);
        if (i >= 0) {
            ((Counter) of(queue).meter(RESCUE + i)).increment();
        }
    }

    @Override
    public void scheduleFired(String schedule, int enqueued, long missed) {
        Tags t = tags.and("schedule", schedule);
        if (enqueued > 0) {
            Counter.builder("pgqueue.schedule.enqueued").tags(t)
                    .description("Slot jobs of a schedule enqueued by this node").register(registry).increment(enqueued);
        }
        if (missed > 0) {
            Counter.builder("pgqueue.schedule.missed").tags(t)
                    .description("Slots of a schedule found missed by this node (not enqueued in time)")
                    .register(registry).increment(missed);
        }
    }

    @Override
    public void queueDepths(List<QueueDepth> sample) {
        Set<String> seen = new HashSet<>();
        for (QueueDepth d : sample) {
            String queue = tagOf(depths, d.queue());
            seen.add(queue);
            Depth depth = depths.computeIfAbsent(queue, this::registerDepth);
            if (queue.equals(d.queue())) {
                depth.set(d.due(), d.scheduled(), d.oldestDueSeconds());
            } else {
                depth.add(d.due(), d.scheduled(), d.oldestDueSeconds());
            }
        }
        // queues without pending jobs are not in the sample: they have none
        depths.forEach((queue, depth) -> {
            if (!seen.contains(queue)) {
                depth.set(0, 0, 0);
            }
        });
        depths.values().forEach(Depth::publish);
    }

    @Override
    public void gauges(IntSupplier jobsInFlight, @Nullable BooleanSupplier listenerConnected) {
        gauges.add(Gauge.builder("pgqueue.jobs.in.flight", jobsInFlight::getAsInt)
                .tags(tags).description("Jobs claimed by this node's worker and not yet finished")
                .register(registry));
        if (listenerConnected != null) {
            gauges.add(Gauge.builder("pgqueue.listener.connected", () -> listenerConnected.getAsBoolean() ? 1 : 0)
                    .tags(tags).description("1 while this node's listening connection listens, else 0")
                    .register(registry));
        }
    }

    @Override
    public void close() {
        gauges.forEach(registry::remove);
        gauges.clear();
    }

    private PerQueue of(String queue) {
        PerQueue q = queues.get(queue);
        return q != null ? q : queues.computeIfAbsent(tagOf(queues, queue), PerQueue::new);
    }

    /** The queue's tag value: its name, unless {@code known} holds too many names already. */
    private static String tagOf(Map<String, ?> known, String queue) {
        return known.containsKey(queue) || known.size() < MAX_QUEUES ? queue : OTHER_QUEUES;
    }

    private Depth registerDepth(String queue) {
        Depth depth = new Depth();
        Tags t = tags.and("queue", queue);
        gauges.add(Gauge.builder("pgqueue.queue.depth", depth, d -> d.due).tags(t).strongReference(true)
                .description("Pending jobs due now (sampled)").register(registry));
        gauges.add(Gauge.builder("pgqueue.queue.scheduled", depth, d -> d.scheduled).tags(t).strongReference(true)
                .description("Pending jobs scheduled for later (sampled)").register(registry));
        gauges.add(TimeGauge.builder("pgqueue.queue.lag", depth, TimeUnit.SECONDS, d -> d.oldestDueSeconds).tags(t)
                .strongReference(true).description("How long the oldest due pending job has waited (sampled)")
                .register(registry));
        return depth;
    }

    /** The sampled depth of one queue; written by one sampler at a time, read by scrapes. */
    private static final class Depth {
        private long nextDue;
        private long nextScheduled;
        private double nextOldest;
        volatile double due;
        volatile double scheduled;
        volatile double oldestDueSeconds;

        void set(long due, long scheduled, double oldest) {
            nextDue = due;
            nextScheduled = scheduled;
            nextOldest = oldest;
        }

        void add(long due, long scheduled, double oldest) {
            nextDue += due;
            nextScheduled += scheduled;
            nextOldest = Math.max(nextOldest, oldest);
        }

        void publish() {
            due = nextDue;
            scheduled = nextScheduled;
            oldestDueSeconds = nextOldest;
            nextDue = 0;
            nextScheduled = 0;
            nextOldest = 0;
        }
    }

    /** The meters of one queue, each registered on first use. */
    private final class PerQueue {
        private final Tags queueTags;
        private final AtomicReferenceArray<Meter> meters = new AtomicReferenceArray<>(SLOTS);

        PerQueue(String queue) {
            this.queueTags = tags.and("queue", queue);
        }

        Meter meter(int slot) {
            Meter m = meters.get(slot);
            if (m == null) {
                m = register(slot); // the registry returns the same meter for the same name and tags
                meters.set(slot, m);
            }
            return m;
        }

        private Meter register(int slot) {
            if (slot == ENQUEUED) {
                return counter("pgqueue.jobs.enqueued", "Jobs stored by enqueues (duplicates not counted)", queueTags);
            }
            if (slot == CLAIMED) {
                return counter("pgqueue.jobs.claimed", "Jobs claimed by this node", queueTags);
            }
            if (slot == STALE) {
                return counter("pgqueue.writes.stale",
                        "Outcome writes that changed nothing: the job's lease was no longer current", queueTags);
            }
            if (slot == ABANDONED) {
                return counter("pgqueue.outcomes.abandoned", "Outcomes given up after a write error that retrying "
                        + "cannot cure (a missing privilege, a constraint, bad data): the reaper rescues the job",
                        queueTags);
            }
            if (slot == PICKUP) {
                return Timer.builder("pgqueue.pickup.latency").tags(queueTags)
                        .description("From when a job became due to the start of its handler").register(registry);
            }
            if (slot < HANDLED) {
                return written(OUTCOMES[slot - WRITTEN]);
            }
            if (slot < RESCUE) {
                return Timer.builder("pgqueue.handler.duration")
                        .tags(queueTags.and("outcome", RESULTS.get(slot - HANDLED)))
                        .description("How long handlers ran, by how they ended").register(registry);
            }
            return counter("pgqueue.jobs.rescued", "Stalled jobs rescued by this node's reaper, by the status they got",
                    queueTags.and("status", RESCUED.get(slot - RESCUE).databaseValue()));
        }

        private Counter written(Written outcome) {
            return switch (outcome) {
                case COMPLETED -> counter("pgqueue.jobs.completed", "Jobs completed", queueTags);
                case RETRIED -> counter("pgqueue.jobs.retried", "Failed attempts with attempts left: pending again",
                        queueTags);
                case RESCHEDULED -> counter("pgqueue.jobs.rescheduled",
                        "Jobs rescheduled without using an attempt", queueTags);
                case RELEASED -> counter("pgqueue.jobs.released", "Claimed jobs given back unrun", queueTags);
                case FAILED -> counter("pgqueue.jobs.failed", "Jobs failed with their attempts spent", queueTags);
                case CANCELLED -> counter("pgqueue.jobs.cancelled", "Jobs cancelled by their handler", queueTags);
                case CRITICAL, UNPROCESSABLE, BAD_JOB -> counter("pgqueue.jobs.dead",
                        "Jobs ended critical, unprocessable or bad_job", queueTags.and("status",
                                outcome.name().toLowerCase(java.util.Locale.ROOT)));
            };
        }

        private Counter counter(String name, String description, Tags t) {
            return Counter.builder(name).tags(t).description(description).register(registry);
        }
    }
}
