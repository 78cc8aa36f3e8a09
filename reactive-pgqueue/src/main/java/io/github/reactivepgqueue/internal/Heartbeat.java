package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.internal.Config.HeartbeatConfig;
import io.github.reactivepgqueue.internal.store.JobStore;
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
 * handlers stop. Each of its wake-ups (a {@link Signal#CANCELLED} signal) runs a beat at once.
 */
final class Heartbeat {
    private static final Logger log = LoggerFactory.getLogger(Heartbeat.class);

    private final JobStore store;
    private final Leases leases;
    private final HeartbeatConfig config;
    private final Flux<?> wakeups;
    private final ServiceLoop<HeartbeatResult> loop;

    public Heartbeat(JobStore store, Leases leases, HeartbeatConfig config, Flux<?> wakeups, Scheduler scheduler) {
        this.store = store;
        this.leases = leases;
        this.config = config;
        this.wakeups = wakeups;
        // After a failed beat the next comes one interval later, never later: a heartbeat that backs
        // off past the stall threshold would let reapers rescue jobs that are still running here.
        this.loop = new ServiceLoop<>("Heartbeat", config.interval(), config.interval(), this::runOnce, log,
                scheduler);
    }

    /** Starts beating (once; later calls do nothing, and so do calls after {@link #stop()}). */
    public void start() {
        loop.start(config.interval(), wakeups);
    }

    public void stop() {
        loop.stop();
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
            return store.heartbeat(held.stream().map(j -> new JobStore.JobLease(j.id(), j.lease())).toList())
                    .map(gone -> new HeartbeatResult(held.size(), report(held, gone)));
        });
    }

    private int report(List<ClaimedRow> held, Set<UUID> gone) {
        int lost = leases.markLost(held, gone);
        if (lost > 0) {
            log.info("{} of {} running jobs lost their lease (cancelled, deleted or rescued elsewhere); "
                    + "their handlers are stopped", lost, held.size());
        }
        return lost;
    }
}
