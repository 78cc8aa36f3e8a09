package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.JobInfo;
import io.github.reactivepgqueue.NoSuchJobException;
import io.github.reactivepgqueue.internal.store.JobStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

/**
 * Resolves {@code awaitCompletion} calls, whichever node runs the jobs. While anyone waits, one
 * {@link JobStore#findMany} statement looks up every awaited job at once: right after each new
 * waiter (the job may have finished already), on every {@link Signal#FINISHED} or
 * {@link Signal#CONNECTED} signal, and every check interval in case a signal was lost. Nothing
 * runs while nobody waits.
 */
public final class Awaiter {
    private static final Logger log = LoggerFactory.getLogger(Awaiter.class);

    private final JobStore store;
    private final Flux<Notice> signals;
    private final Duration checkInterval;
    private final Scheduler timer;
    private final Map<UUID, List<Sinks.One<JobInfo>>> waiters = new ConcurrentHashMap<>();
    private final Sinks.Many<Boolean> lookNow = Sinks.many().multicast().directBestEffort();
    private final IncidentLog incidents = new IncidentLog(log, "Looking up awaited jobs");
    private Disposable loop;
    private boolean closed;

    public Awaiter(JobStore store, Flux<Notice> signals,
                   Duration checkInterval, Scheduler timer) {
        this.store = store;
        this.signals = signals;
        this.checkInterval = checkInterval;
        this.timer = timer;
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
                if (loop == null) {
                    loop = startLoop();
                }
            }
            look();
            return sink.asMono().doFinally(signal -> forget(id, sink));
        });
    }

    /** Fails every waiter and stops looking. */
    public void close() {
        List<Sinks.One<JobInfo>> left = new ArrayList<>();
        synchronized (this) {
            closed = true;
            waiters.values().forEach(left::addAll);
            waiters.clear();
            stopLoop();
        }
        left.forEach(s -> s.tryEmitError(new IllegalStateException("The queue was closed while awaiting a job")));
    }

    private Disposable startLoop() {
        Flux<Object> triggers = Flux.merge(
                lookNow.asFlux(),
                Flux.interval(checkInterval, checkInterval, timer),
                signals.filter(n -> n.is(Signal.FINISHED) || n.is(Signal.CONNECTED)));
        return triggers.onBackpressureLatest()
                .concatMap(t -> lookUp(), 1)
                .subscribe();
    }

    private void stopLoop() {
        if (loop != null) {
            loop.dispose();
            loop = null;
        }
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
        if (waiters.isEmpty()) {
            stopLoop();
        }
    }

    private Mono<Void> lookUp() {
        UUID[] ids = waiters.keySet().toArray(UUID[]::new);
        if (ids.length == 0) {
            return Mono.empty();
        }
        return store.findMany(Arrays.asList(ids), false)
                .doOnNext(found -> {
                    incidents.succeeded();
                    resolve(ids, found);
                })
                .doOnError(incidents::failed)
                .onErrorResume(e -> Mono.empty())
                .then();
    }

    private void resolve(UUID[] asked, List<JobInfo> found) {
        Map<UUID, JobInfo> byId = new HashMap<>();
        found.forEach(j -> byId.put(j.id(), j));
        for (UUID id : asked) {
            JobInfo job = byId.get(id);
            if (job == null) {
                fail(id, new NoSuchJobException(id));
            } else if (job.isFinished()) {
                complete(id, job);
            }
        }
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
