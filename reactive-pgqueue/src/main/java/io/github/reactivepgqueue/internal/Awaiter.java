package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.JobInfo;
import io.github.reactivepgqueue.NoSuchJobException;
import io.github.reactivepgqueue.internal.Config.AwaiterConfig;
import io.github.reactivepgqueue.internal.store.JobStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

/**
 * Resolves {@code awaitCompletion} calls, whichever node runs the jobs. While anyone waits, one
 * {@link JobStore#findMany} statement looks up every awaited job at once: right after each new
 * waiter (the job may have finished already), on every {@link Signal#FINISHED} or
 * {@link Signal#CONNECTED} signal, and every check interval in case a signal was lost. Its
 * {@link ServiceLoop} runs only while anyone waits: started by the first waiter, paused when the
 * last one leaves.
 */
final class Awaiter {
    private static final Logger log = LoggerFactory.getLogger(Awaiter.class);

    private final JobStore store;
    private final AwaiterConfig config;
    private final Flux<Object> wakeups;
    private final ServiceLoop<AwaiterResult> loop;
    private final Map<UUID, List<Sinks.One<JobInfo>>> waiters = new ConcurrentHashMap<>();
    private final Sinks.Many<Boolean> lookNow = Sinks.many().multicast().directBestEffort();
    private boolean looping;
    private boolean closed;

    public Awaiter(JobStore store, Flux<Notice> signals, AwaiterConfig config,
                   Scheduler scheduler) {
        this.store = store;
        this.config = config;
        this.wakeups = Flux.merge(lookNow.asFlux(),
                signals.filter(n -> n.is(Signal.FINISHED) || n.is(Signal.CONNECTED)));
        // A failed look-up pauses at most one check interval: waiters are never left longer than
        // that past an outage.
        this.loop = new ServiceLoop<>("Looking up awaited jobs", config.checkInterval(), config.checkInterval(),
                this::runOnce, log, scheduler);
    }

    /** The loop's runs, for tests to await. */
    public ServiceLoop<AwaiterResult> loop() {
        return loop;
    }

    /** The job's final state once it has one; fails if no table holds the job. */
    public Mono<JobInfo> await(UUID id) {
        return Mono.defer(() -> {
            Sinks.One<JobInfo> sink = Sinks.one();
            synchronized (this) {
                if (closed) {
                    return Mono.error(new IllegalStateException("The queue is closed"));
                }
                waiters.computeIfAbsent(id, k -> new ArrayList<>()).add(sink);
                if (!looping) {
                    looping = true;
                    loop.start(config.checkInterval(), wakeups);
                }
            }
            look();
            return sink.asMono().doFinally(signal -> forget(id, sink));
        });
    }

    /** Fails every waiter and stops looking, for good. */
    public void stop() {
        List<Sinks.One<JobInfo>> left = new ArrayList<>();
        synchronized (this) {
            closed = true;
            waiters.values().forEach(left::addAll);
            waiters.clear();
            looping = false;
            loop.stop();
        }
        left.forEach(s -> s.tryEmitError(new IllegalStateException("The queue was closed while awaiting a job")));
    }

    private void look() {
        synchronized (lookNow) {
            lookNow.tryEmitNext(Boolean.TRUE);
        }
    }

    private synchronized void forget(UUID id, Sinks.One<JobInfo> sink) {
        List<Sinks.One<JobInfo>> list = waiters.get(id);
        if (list != null) {
            list.remove(sink);
            if (list.isEmpty()) {
                waiters.remove(id);
            }
        }
        if (waiters.isEmpty() && looping) {
            looping = false;
            loop.pause();
        }
    }

    /** Looks up every awaited job in one statement and resolves the waiters of finished and missing ones. */
    public Mono<AwaiterResult> runOnce() {
        return Mono.defer(() -> {
            UUID[] ids = waiters.keySet().toArray(UUID[]::new);
            if (ids.length == 0) {
                return Mono.just(new AwaiterResult(0, 0));
            }
            return store.findMany(Arrays.asList(ids), false).map(found -> new AwaiterResult(ids.length, resolve(ids, found)));
        });
    }

    /** Resolves the waiters of the finished and the missing jobs; returns how many jobs that was. */
    private int resolve(UUID[] asked, List<JobInfo> found) {
        Map<UUID, JobInfo> byId = new HashMap<>();
        found.forEach(j -> byId.put(j.id(), j));
        int resolved = 0;
        for (UUID id : asked) {
            JobInfo job = byId.get(id);
            if (job == null) {
                fail(id, new NoSuchJobException(id));
                resolved++;
            } else if (job.isFinished()) {
                complete(id, job);
                resolved++;
            }
        }
        return resolved;
    }

    private void complete(UUID id, JobInfo job) {
        List<Sinks.One<JobInfo>> list;
        synchronized (this) {
            list = waiters.remove(id);
        }
        if (list != null) {
            list.forEach(s -> s.tryEmitValue(job));
        }
    }

    private void fail(UUID id, Throwable error) {
        List<Sinks.One<JobInfo>> list;
        synchronized (this) {
            list = waiters.remove(id);
        }
        if (list != null) {
            list.forEach(s -> s.tryEmitError(error));
        }
    }
}
