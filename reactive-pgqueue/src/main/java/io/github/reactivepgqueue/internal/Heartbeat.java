package io.github.reactivepgqueue.internal;

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
 * handlers stop. A {@link Signal#CANCELLED} signal runs a beat at once.
 */
public final class Heartbeat {
    private static final Logger log = LoggerFactory.getLogger(Heartbeat.class);

    private final JobStore store;
    private final Leases leases;
    private final Duration interval;
    private final RepeatingTask loop;

    public Heartbeat(JobStore store, Leases leases, Duration interval, Scheduler timer) {
        this.store = store;
        this.leases = leases;
        this.interval = interval;
        // After a failed beat the next comes one interval later, never later: a heartbeat that backs
        // off past the stall threshold would let reapers rescue jobs that are still running here.
        this.loop = new RepeatingTask("Heartbeat", interval, interval, this::beatOnce, log, timer);
    }

    /** Starts beating (once; later calls do nothing); {@code triggers} ask for a beat at once. */
    public void start(Flux<?> triggers) {
        loop.start(interval, triggers);
    }

    public void stop() {
        loop.stop();
    }

    /** One beat: refreshes every held lease in one statement; emits how many leases were found lost. */
    public Mono<Integer> beatOnce() {
        return Mono.defer(() -> {
            List<ClaimedRow> held = leases.snapshot();
            if (held.isEmpty()) {
                return Mono.just(0);
            }
            return store.heartbeat(held.stream().map(j -> new JobStore.JobLease(j.id(), j.lease())).toList())
                    .map(gone -> report(held, gone));
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
