package io.github.reactivepgqueue.internal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * The jobs this node holds a lease on: claimed by the worker or by a {@code jobs()} stream, and
 * not yet finished (outcome written or released). The heartbeat refreshes them all; a lease found
 * gone (the job was rescued, cancelled or deleted) is reported lost, so its handler can stop.
 */
final class Leases {
    private final Map<UUID, Held> held = new ConcurrentHashMap<>();

    /** Why a held job's handler must stop before its outcome is written. */
    enum Stop {
        /**
         * The lease is gone (cancelled, deleted, rescued elsewhere): write no outcome; a job
         * cancelled under its lease is let go of once its handler is disposed.
         */
        LOST,
        /**
         * The heartbeat went unconfirmed too long for the lease to be safe (see
         * {@link Leases#expire}): other nodes may rescue the job any moment. Write nothing: the
         * database did not answer the beats, and the reaper frees what the row holds.
         */
        EXPIRED,
        /** The node stops past its grace period: release the job unrun. */
        ABORTED,
        /** The handler ran out of time: a failed attempt, as any handler timeout. */
        TIMED_OUT
    }

    /** One held job. */
    public static final class Held {
        private final ClaimedRow job;
        private final Sinks.One<Stop> stop = Sinks.one();
        private volatile boolean finishing;
        /**
         * This JVM's {@link System#nanoTime()} when the statement that last set the job's heartbeat
         * (its claim, then each beat that found it) was about to be sent: the row's heartbeat in
         * the database is no older than this.
         */
        private volatile long confirmedNanos;

        private Held(ClaimedRow job) {
            this.job = job;
            this.confirmedNanos = job.leaseNanos();
        }

        ClaimedRow job() {
            return job;
        }

        /**
         * Emits why the handler must stop: the lease was found gone (never once the outcome is
         * being written), the node aborted its jobs, or the handler's time is up. The first
         * reason wins; once the outcome is being written, nobody listens any more.
         */
        Mono<Stop> stopped() {
            return stop.asMono();
        }

        /** The node stops past its grace period: the job is to be released unrun. */
        void abort() {
            stop.tryEmitValue(Stop.ABORTED);
        }

        /** The handler's time is up (for jobs timed with their batch; see {@code Worker}). */
        void timeOut() {
            stop.tryEmitValue(Stop.TIMED_OUT);
        }

        /** The outcome is being written: a lease that vanishes from now on was taken by that write. */
        void finishing() {
            finishing = true;
        }
    }

    /** Holds {@code job} until {@link #drop} is called with the returned handle. */
    Held hold(ClaimedRow job) {
        Held h = new Held(job);
        held.put(job.id(), h);
        return h;
    }

    void holdAll(Collection<ClaimedRow> jobs) {
        jobs.forEach(this::hold);
    }

    /** The outcome of {@code job} is being written (see {@link Held#finishing()}). */
    void finishing(ClaimedRow job) {
        Held h = held.get(job.id());
        if (h != null && h.job == job) {
            h.finishing();
        }
    }

    void drop(ClaimedRow job) {
        held.computeIfPresent(job.id(), (id, h) -> h.job == job ? null : h);
    }

    /** The jobs held right now. */
    List<ClaimedRow> snapshot() {
        List<ClaimedRow> jobs = new ArrayList<>(held.size());
        held.values().forEach(h -> jobs.add(h.job));
        return jobs;
    }

    /**
     * Takes in what a beat sent at {@code sentNanos} found: every job of {@code beaten} whose lease
     * is gone (its id is in {@code gone}) is reported lost, unless it was dropped or began finishing
     * meanwhile; the others are confirmed as of {@code sentNanos}.
     *
     * @return how many leases were lost
     */
    int beaten(List<ClaimedRow> beaten, Set<UUID> gone, long sentNanos) {
        int lost = 0;
        for (ClaimedRow job : beaten) {
            Held h = held.get(job.id());
            if (h == null || h.job != job) {
                continue;
            }
            if (!gone.contains(job.id())) {
                if (sentNanos - h.confirmedNanos > 0) {
                    h.confirmedNanos = sentNanos;
                }
            } else if (!h.finishing && held.remove(job.id(), h)) {
                h.stop.tryEmitValue(Stop.LOST);
                lost++;
            }
        }
        return lost;
    }

    /**
     * Gives up every job whose heartbeat has not been confirmed for {@code windowNanos} before
     * {@code nowNanos} (unless its outcome is being written): other nodes may rescue it any moment,
     * so its handler stops as if the lease were lost, and nothing is written for it.
     *
     * @return the jobs given up
     */
    List<ClaimedRow> expire(long nowNanos, long windowNanos) {
        List<ClaimedRow> expired = new ArrayList<>();
        for (Held h : held.values()) {
            if (!h.finishing && nowNanos - h.confirmedNanos >= windowNanos && held.remove(h.job.id(), h)) {
                h.stop.tryEmitValue(Stop.EXPIRED);
                expired.add(h.job);
            }
        }
        return expired;
    }

    public int size() {
        return held.size();
    }
}
