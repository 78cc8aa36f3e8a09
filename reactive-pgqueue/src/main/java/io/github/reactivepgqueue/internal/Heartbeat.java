package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.internal.Config.HeartbeatConfig;
import io.github.reactivepgqueue.internal.store.JobStore;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Keeps the leases of this node alive: every interval, one {@link JobStore#heartbeat} statement
 * refreshes every job the node holds, however many there are. Jobs the statement does not find
 * under their lease (rescued after a stall, cancelled, deleted) are reported lost, so their
 * handlers stop. Each of its wake-ups (a {@link Signal#CANCELLED} signal) runs a beat at once. A
 * failed beat is retried at once, then after pauses that never exceed the interval.
 *
 * <p>Its watchdog gives up the jobs whose heartbeat could not be confirmed for nearly the stall
 * timeout (the database was unreachable or too slow): other nodes may rescue them any moment, so
 * their handlers stop before that and nothing is written for them. The window is measured on this
 * JVM's monotonic clock from just before the statement that last set the job's heartbeat was sent,
 * so it never runs longer than the database's own view of the heartbeat's age.
 */
final class Heartbeat {
    private static final Logger log = LoggerFactory.getLogger(Heartbeat.class);
    private static final Duration MAX_WATCH_PERIOD = Duration.ofSeconds(1);

    private final JobStore store;
    private final Leases leases;
    private final HeartbeatConfig config;
    private final Flux<?> wakeups;
    private final ServiceLoop<HeartbeatResult> loop;
    /** How often the watchdog looks, and how much earlier than the stall timeout it gives jobs up. */
    private final Duration watchPeriod;
    private final long expiryNanos;
    private final ServiceLoop<Integer> watchdog;

    public Heartbeat(JobStore store, Leases leases, HeartbeatConfig config, Duration stallTimeout, Flux<?> wakeups,
                     Scheduler scheduler) {
        this.store = store;
        this.leases = leases;
        this.config = config;
        this.wakeups = wakeups;
        this.loop = ServiceLoop.retryingAtOnce("Heartbeat", config.interval(), this::runOnce, log, scheduler);
        Duration half = config.interval().dividedBy(2);
        this.watchPeriod = half.compareTo(MAX_WATCH_PERIOD) < 0 ? half : MAX_WATCH_PERIOD;
        this.expiryNanos = stallTimeout.minus(watchPeriod).toNanos();
        this.watchdog = new ServiceLoop<>("Heartbeat watchdog", watchPeriod,
                () -> Mono.fromSupplier(() -> expireUnconfirmed(System.nanoTime())), log, scheduler);
    }

    /** Starts beating and watching (once; later calls do nothing, and so do calls after {@link #stop()}). */
    public void start() {
        loop.start(config.interval(), wakeups);
        watchdog.start(watchPeriod, Flux.never());
    }

    public void stop() {
        loop.stop();
        watchdog.stop();
    }

    /** The loop's runs, for tests to await. */
    public ServiceLoop<HeartbeatResult> loop() {
        return loop;
    }

    /** One beat: refreshes every held lease in one statement and stops the handlers of lost ones. */
    public Mono<HeartbeatResult> runOnce() {
        return Mono.defer(() -> {
            List<ClaimedRow> held = leases.snapshot();
            if (held.isEmpty()) {
                return Mono.just(new HeartbeatResult(0, 0));
            }
            long sent = System.nanoTime();
            return store.heartbeat(held.stream().map(j -> new JobStore.JobLease(j.id(), j.lease())).toList())
                    .map(gone -> new HeartbeatResult(held.size(), report(held, gone, sent)));
        });
    }

    private int report(List<ClaimedRow> held, Set<UUID> gone, long sent) {
        int lost = leases.beaten(held, gone, sent);
        if (lost > 0) {
            log.info("{} of {} running jobs lost their lease (cancelled, deleted or rescued elsewhere); "
                    + "their handlers are stopped", lost, held.size());
        }
        return lost;
    }

    /** The watchdog's look at {@code nowNanos}: gives up the jobs whose heartbeat went unconfirmed too long. */
    int expireUnconfirmed(long nowNanos) {
        List<ClaimedRow> expired = leases.expire(nowNanos, expiryNanos);
        if (!expired.isEmpty()) {
            log.warn("{} running jobs got no heartbeat through for {} (the database was unreachable or too slow), "
                    + "so other nodes may rescue them: their handlers are stopped and nothing is written for "
                    + "them; e.g. {}", expired.size(), Duration.ofNanos(expiryNanos), expired.get(0));
        }
        return expired.size();
    }
}
