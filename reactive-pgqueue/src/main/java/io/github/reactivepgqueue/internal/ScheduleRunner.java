package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.internal.Config.SchedulerConfig;
import io.github.reactivepgqueue.internal.store.ScheduleStore;
import io.github.reactivepgqueue.internal.store.ScheduleStore.Firing;
import io.github.reactivepgqueue.internal.store.ScheduleStore.ScheduleRow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

/**
 * Enqueues the jobs of due schedule slots. Every started node runs it and there is no leader:
 * each run locks the due schedules no other node holds, inserts their slots' jobs and moves them
 * on, in one transaction (see {@link ScheduleStore#fireDue}), so a slot gets one job however many
 * nodes find it due. Between runs, a {@link DueTimer} waits for the earliest next slot (looked up
 * after each run, by the database clock) and a signal of any schedule change looks again; the
 * check interval only covers a lost signal. When nothing is due, a run is one statement.
 */
final class ScheduleRunner {
    private static final Logger log = LoggerFactory.getLogger(ScheduleRunner.class);
    /** After firing, a schedule still due is one another node holds: look again a moment later. */
    private static final Duration HELD_ELSEWHERE = Duration.ofMillis(20);
    /**
     * How long before its slot a job is enqueued. It is enqueued to run at the slot, and the
     * insert's notification sets the due timer of the nodes serving its queue, so it starts at its
     * slot as any job enqueued to run later does, and the enqueue's own round trips are not in its
     * way. A change to a schedule made within this time of a slot does not take that slot's job
     * back.
     */
    static final Duration LEAD = Duration.ofMillis(50);

    private final Scheduling scheduling;
    private final ScheduleStore store;
    private final SchedulerConfig config;
    private final QueueMetrics metrics;
    private final Flux<?> wakeups;
    private final ServiceLoop<ScheduleRunResult> loop;
    private final DueTimer timer;
    private final Sinks.Many<Boolean> fires = Sinks.many().multicast().directBestEffort();
    /** The timer fired: a slot is due, so the next run goes straight to enqueueing. */
    private final AtomicBoolean slotDue = new AtomicBoolean();
    /** Schedules whose latest slot's job could not be made: each is logged when it starts failing and when it works again. */
    private final Set<String> failing = ConcurrentHashMap.newKeySet();

    ScheduleRunner(Scheduling scheduling, SchedulerConfig config, Flux<?> wakeups, Scheduler scheduler,
                   QueueMetrics metrics) {
        this.scheduling = scheduling;
        this.store = scheduling.store();
        this.config = config;
        this.metrics = metrics;
        this.wakeups = wakeups;
        this.loop = new ServiceLoop<>("Enqueueing the jobs of due schedules", config.checkInterval(), this::runOnce,
                log, scheduler);
        this.timer = new DueTimer(scheduler, () -> {
            slotDue.set(true);
            wake();
        });
    }


    private void wake() {
        synchronized (fires) {
            fires.tryEmitNext(Boolean.TRUE);
        }
    }

    /** Starts the loop, its first run at once, unless this node does not enqueue slots. */
    void start() {
        if (config.enabled()) {
            loop.start(Duration.ZERO, Flux.merge(wakeups, fires.asFlux()));
        }
    }

    void stop() {
        loop.stop();
        timer.stop();
    }

    /** The loop's runs, for tests to await. */
    ServiceLoop<ScheduleRunResult> loop() {
        return loop;
    }

    /** Whether the timer waits for a next slot. */
    boolean timerSet() {
        return timer.set();
    }

    /**
     * Enqueues the jobs of every due slot this node may take, then arms the timer for the earliest
     * next slot. Nothing due: one statement, the look-up. When the timer fired, a slot is due and
     * the run enqueues at once, a round trip sooner.
     */
    Mono<ScheduleRunResult> runOnce() {
        if (slotDue.getAndSet(false)) {
            return fireAndArm(); // the look-up would only say what the timer knew: a slot is due
        }
        return store.nextSlotIn(scheduling.factoryNames())
                .map(Optional::of)
                .defaultIfEmpty(Optional.empty())
                .flatMap(in -> {
                    if (in.isEmpty() || in.get().compareTo(LEAD) > 0) {
                        in.ifPresent(next -> timer.arm(next.minus(LEAD)));
                        return Mono.just(ScheduleRunResult.NOTHING);
                    }
                    return fireAndArm();
                });
    }

    /** Enqueues every due slot, then arms the timer for the next one. */
    private Mono<ScheduleRunResult> fireAndArm() {
        return fireAll().flatMap(result -> store.nextSlotIn(scheduling.factoryNames())
                .doOnNext(next -> timer.arm(next.compareTo(LEAD) > 0 ? next.minus(LEAD) : HELD_ELSEWHERE))
                .thenReturn(result));
    }

    /** Fires batches of due schedules until one comes back short. */
    private Mono<ScheduleRunResult> fireAll() {
        return fireBatch()
                .expand(batch -> batch.size() < config.batchSize() ? Mono.empty() : fireBatch())
                .reduce(ScheduleRunResult.NOTHING, (sum, batch) -> {
                    long enqueued = sum.enqueued();
                    long held = sum.held();
                    long missed = sum.missed();
                    for (ScheduleStore.Fired f : batch) {
                        for (int i = 0; i < f.enqueued(); i++) {
                            metrics.enqueued(f.queue());
                        }
                        enqueued += f.enqueued();
                        held += f.held();
                        missed += f.missed();
                        metrics.scheduleFired(f.name(), f.enqueued(), f.missed());
                    }
                    return new ScheduleRunResult(sum.schedules() + batch.size(), enqueued, held, missed);
                });
    }

    private Mono<List<ScheduleStore.Fired>> fireBatch() {
        return store.fireDue(List.copyOf(scheduling.factoryNames()), LEAD, config.batchSize(), this::firing,
                scheduling.notifyChannel());
    }

    /**
     * The jobs of a due schedule's slots. A slot whose job cannot be made (its payload factory
     * threw, or the job breaks a rule) is logged and counted missed: the schedule goes on, and the
     * other schedules of the batch are not held up by it.
     */
    private Firing firing(ScheduleRow row) {
        SlotPlan plan = Scheduling.plan(row, LEAD);
        List<EncodedJob> jobs = new ArrayList<>(plan.slots().size());
        long missed = plan.missed();
        for (java.time.Instant slot : plan.slots()) {
            try {
                jobs.add(scheduling.job(row, slot));
                if (failing.remove(row.name())) {
                    log.info("Schedule '{}': the job of slot {} was made again", row.name(), slot);
                }
            } catch (RuntimeException e) {
                if (failing.add(row.name())) {
                    log.warn("Schedule '{}': the job of slot {} cannot be made, so the slot is counted missed "
                            + "(and so are later ones until it works again): {}", row.name(), slot,
                            ErrorText.summary(e));
                }
                missed++;
            }
        }
        return new Firing(jobs, Objects.requireNonNullElse(plan.next(), Scheduling.NEVER), missed);
    }
}
