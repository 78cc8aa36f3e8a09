package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.PgQueueException;
import io.github.reactivepgqueue.internal.store.JobStore;
import io.github.reactivepgqueue.internal.store.JobStore.WrittenStatuses;
import io.github.reactivepgqueue.internal.store.PgJobStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.util.retry.Retry;

/**
 * Writes outcomes in batches: outcomes are buffered for at most {@code flushInterval} or until
 * {@code batchSize} chunks are waiting (a chunk is one outcome, or all those a burst of handlers
 * finished at once), then each kind present is written in statements of at most {@code batchSize}
 * rows, which travel as arrays. Every row is fenced by its lease; a write whose lease is no longer current
 * changes nothing and is counted as stale. A failed statement is retried with backoff until it
 * succeeds, unless its error is one retrying cannot cure (a missing privilege, a constraint, bad
 * data): then, after {@link #PERMANENT_TRIES} tries, its outcomes are given up (see
 * {@link #abandon}) and the reaper rescues the jobs. Callers wait for their own outcome's write.
 */
final class Completer {
    private static final Logger log = LoggerFactory.getLogger(Completer.class);
    private final FailureLog failures = new FailureLog();

    /**
     * How many times in a row a write may fail with an error retrying cannot cure (see
     * {@link PgJobStore#isPermanent}) before its outcomes are given up. A few tries, about 150 ms of
     * backoff, ride out a privilege granted or a constraint changed just then, while a job whose
     * outcome can never be written is let go of within a fraction of the stall threshold.
     */
    static final int PERMANENT_TRIES = 3;
    /** Job ids named in the log line of a batch given up. */
    private static final int LOGGED_IDS = 20;
    /** Retries of letting go of the leases of stale rows (see {@link #letGoStale}) before the reaper is left to do it. */
    private static final int LET_GO_TRIES = 3;
    /** Outcome batches written at once. */
    static final int WRITERS = 4;
    private static final String FINISHED_PAYLOAD = Signal.encode(EnumSet.of(Signal.FINISHED));

    private final JobStore store;
    private final Signals signals;
    private final int reprocessLimit;
    private final boolean archiveCompleted;
    private final int batchSize;
    private final Duration flushInterval;
    private final Scheduler scheduler;
    private final QueueMetrics metrics;
    /** Writes, in chunks: one per write, or all the writes of a burst (see {@link #write}). */
    private final Sinks.Many<List<Write>> writes = Sinks.many().unicast().onBackpressureBuffer();
    private final Sinks.Empty<Void> drained = Sinks.empty();
    private final AtomicLong staleWrites = new AtomicLong();
    private final IncidentLog incidents = new IncidentLog(log, "Writing job outcomes");
    private final Disposable loop;

    /**
     * @param archiveCompleted whether a successful job moves to the archive as it completes (the
     *                         janitor is on) instead of staying in the live table as completed
     */
    public Completer(JobStore store, Signals signals, int reprocessLimit, boolean archiveCompleted, int batchSize,
                     Duration flushInterval, Scheduler scheduler, QueueMetrics metrics) {
        this.store = store;
        this.signals = signals;
        this.reprocessLimit = reprocessLimit;
        this.archiveCompleted = archiveCompleted;
        this.batchSize = batchSize;
        this.flushInterval = flushInterval;
        this.scheduler = scheduler;
        this.metrics = metrics;
        // The loop only reacts to writes; it costs nothing while idle.
        this.loop = batches(writes.asFlux(), batchSize, flushInterval, scheduler)
                // Batches are written a few at a time: one held back by a locked row or a failing
                // statement does not stop the others.
                .flatMap(this::flush, WRITERS)
                .subscribe(null,
                        e -> log.error("The outcome writer stopped unexpectedly", e),
                        drained::tryEmitEmpty);
    }

    /**
     * The chunks gathered into batches: a batch is flushed when {@code batchSize} chunks wait or
     * {@code flushInterval} after its first chunk, whichever comes first (flush cuts a batch into
     * statements of batchSize rows).
     */
    static <T> Flux<List<T>> batches(Flux<T> chunks, int batchSize, Duration flushInterval, Scheduler scheduler) {
        return chunks.bufferTimeout(batchSize, flushInterval, scheduler, true); // true: honours backpressure
    }

    /**
     * Queues the write of {@code transition} for {@code job}; the returned Mono completes once it is written. Cancelling it does not
     * undo the write. Writes made during a burst on one thread (a claimed batch whose handlers
     * finished at once) are queued together at its end as one chunk, so the flush interval cannot
     * cut them into several statements however long handing them over takes.
     */
    Mono<Void> write(ClaimedRow job, Transition transition) {
        Write write = new Write(job, transition, Sinks.one());
        Bursts.collect(this, write, this::enqueue);
        return write.done().asMono();
    }

    /**
     * Queues letting go of the lease of {@code job}, which its node found lost and whose handler it
     * has stopped (see {@link Transition.LetGo}). Nobody waits for it: written with the next batch,
     * retried like an outcome, and left to the reaper if it cannot be written.
     */
    void letGo(ClaimedRow job) {
        Bursts.collect(this, new Write(job, Transition.LET_GO, Sinks.one()), this::enqueue);
    }

    /** One job's transition as it waits to be written; {@code done} completes once it is. */
    private record Write(ClaimedRow job, Transition transition, Sinks.One<Void> done) {
    }

    private void enqueue(List<Write> chunk) {
        Sinks.EmitResult result;
        synchronized (writes) {
            result = writes.tryEmitNext(chunk);
        }
        if (result.isFailure()) {
            for (Write write : chunk) {
                write.done().tryEmitError(new IllegalStateException("The queue is closed; outcome of " + write.job()
                        + " not written (" + result + ")"));
            }
        }
    }

    /** How many writes found their lease no longer current. */
    public long staleWrites() {
        return staleWrites.get();
    }

    /** Writes what is queued, then stops; later writes fail. */
    public Mono<Void> close() {
        return Mono.defer(() -> {
            synchronized (writes) {
                writes.tryEmitComplete();
            }
            return drained.asMono();
        });
    }

    /** Stops at once, dropping what is queued (a close that gave up on an unreachable database). */
    public void dispose() {
        loop.dispose();
    }

    /** Writes each kind present, the kinds at once, each in statements of at most batchSize rows. */
    private Mono<Void> flush(List<List<Write>> chunks) {
        Map<Class<?>, List<Write>> byKind = new LinkedHashMap<>();
        for (List<Write> chunk : chunks) {
            for (Write write : chunk) {
                byKind.computeIfAbsent(write.transition().getClass(), k -> new ArrayList<>()).add(write);
            }
        }
        return Flux.fromIterable(byKind.values())
                .flatMap(rows -> Flux.fromIterable(pieces(rows)).concatMap(this::writeKind))
                .then();
    }

    private List<List<Write>> pieces(List<Write> rows) {
        List<List<Write>> pieces = new ArrayList<>((rows.size() + batchSize - 1) / batchSize);
        for (int from = 0; from < rows.size(); from += batchSize) {
            pieces.add(rows.subList(from, Math.min(rows.size(), from + batchSize)));
        }
        return pieces;
    }

    /** Writes rows that all have the same kind of transition, in one statement. */
    private Mono<Void> writeKind(List<Write> rows) {
        boolean splittable = rows.size() > 1;
        return Mono.defer(() -> {
            AtomicInteger permanentInARow = new AtomicInteger();
            return Mono.defer(() -> statement(rows))
                    .doOnNext(answer -> incidents.succeeded())
                    .doOnError(e -> {
                        permanentInARow.set(PgJobStore.isPermanent(e) ? permanentInARow.get() + 1 : 0);
                        incidents.failed(e);
                    })
                    .retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(50)).maxBackoff(Duration.ofSeconds(1))
                            .filter(e -> !(splittable && PgJobStore.isLockTimeout(e))
                                    && permanentInARow.get() < PERMANENT_TRIES)
                            .scheduler(scheduler))
                    .flatMap(statuses -> letGoStale(rows, statuses).thenReturn(statuses))
                    .doOnNext(statuses -> settled(rows, statuses))
                    .then()
                    // A row locked elsewhere (a user's transaction, an operator) fails the whole batch
                    // after the lock timeout: the halves are written on their own, so only the rows
                    // that stay locked wait, and the rest of the batch is not held back with them.
                    .onErrorResume(e -> splittable && PgJobStore.isLockTimeout(e), e -> Mono.when(
                            writeKind(rows.subList(0, rows.size() / 2)),
                            writeKind(rows.subList(rows.size() / 2, rows.size()))))
                    .onErrorResume(PgJobStore::isPermanent, e -> {
                        abandon(rows, e);
                        return Mono.empty();
                    });
        });
    }

    /**
     * After a write, lets go of the leases of its stale rows (see {@link Transition.LetGo}): a row
     * is stale when its job no longer runs under its lease, and when that is because it was
     * cancelled while its handler ran, the cancel left the lease in place to hold the job's unique
     * key until the handler was done; the handler is done now (it emitted this outcome, or its
     * {@code jobs()} consumer completed the job). Rows rescued, deleted or claimed again are not
     * touched. A few tries; then the reaper lets go after the stall timeout.
     */
    private Mono<Void> letGoStale(List<Write> rows, WrittenStatuses statuses) {
        if (rows.get(0).transition() instanceof Transition.LetGo) {
            return Mono.empty();
        }
        List<JobStore.JobLease> stale = rows.stream().filter(w -> statuses.of(w.job().id()) == null)
                .map(w -> new JobStore.JobLease(w.job().id(), w.job().lease())).toList();
        if (stale.isEmpty()) {
            return Mono.empty();
        }
        return Mono.defer(() -> store.letGoMany(stale))
                .retryWhen(Retry.backoff(LET_GO_TRIES, Duration.ofMillis(50)).scheduler(scheduler))
                .then()
                .onErrorResume(e -> {
                    log.warn("Letting go of the leases of {} jobs whose outcome write found them no longer running "
                            + "failed; if they were cancelled, their unique keys stay held until a reaper lets go of "
                            + "them after the stall timeout: {}", stale.size(), ErrorText.summary(e));
                    return Mono.empty();
                });
    }

    /**
     * Gives up the outcomes of {@code rows}, whose write failed {@link #PERMANENT_TRIES} times in a
     * row with an error retrying cannot cure. Each caller's Mono fails with {@link OutcomeAbandoned},
     * so the worker lets go of the job (its lease leaves the heartbeat, its permits are freed) and
     * the job, still running in the table, is rescued by a reaper once its heartbeat is stale.
     */
    private void abandon(List<Write> rows, Throwable cause) {
        List<UUID> ids = rows.stream().limit(LOGGED_IDS).map(w -> w.job().id()).toList();
        String after = rows.get(0).transition() instanceof Transition.LetGo
                ? "Their unique keys stay held until a reaper lets go of them (once their heartbeat is stale)"
                : "They stay running until a reaper rescues them (once their heartbeat is stale)";
        log.error("Gave up writing the {} outcome of {} jobs after {} tries: {}. {}. Jobs: {}{}",
                kindName(rows.get(0).transition()), rows.size(), PERMANENT_TRIES, ErrorText.summary(cause), after, ids,
                rows.size() > ids.size() ? " and " + (rows.size() - ids.size()) + " more" : "");
        rows.forEach(w -> metrics.abandoned(w.job().queue()));
        Bursts.run(() -> rows.forEach(w -> w.done().tryEmitError(new OutcomeAbandoned(w.job(), cause))));
    }

    /**
     * The outcome of a job was given up after a write error that retrying cannot cure (a missing
     * privilege, a violated constraint, a value the column cannot take). The job stays running in
     * the table until a reaper rescues it; the error has already been logged.
     */
    static final class OutcomeAbandoned extends PgQueueException {
        private static final long serialVersionUID = 1L;

        OutcomeAbandoned(ClaimedRow job, Throwable cause) {
            super("The outcome of " + job + " was given up: its write failed with an error retrying cannot cure ("
                    + ErrorText.summary(cause) + "); the job stays running until a reaper rescues it", cause);
        }
    }

    /** The store's statement for the rows' kind of transition. */
    private Mono<WrittenStatuses> statement(List<Write> rows) {
        Transition kind = rows.get(0).transition();
        if (kind instanceof Transition.Complete) {
            return store.completeMany(leases(rows), archiveCompleted, signals.channel(), FINISHED_PAYLOAD);
        }
        if (kind instanceof Transition.Release) {
            return store.releaseMany(leases(rows));
        }
        if (kind instanceof Transition.LetGo) {
            return store.letGoMany(leases(rows));
        }
        if (kind instanceof Transition.Retry) {
            return store.retryMany(rows.stream().map(w -> {
                Transition.Retry r = (Transition.Retry) w.transition();
                return new JobStore.RetryRow(w.job().id(), w.job().lease(), r.backoffMicros(), r.at(), r.afterMicros(),
                        r.error());
            }).toList());
        }
        if (kind instanceof Transition.Reschedule) {
            return store.rescheduleMany(rows.stream().map(w -> {
                Transition.Reschedule r = (Transition.Reschedule) w.transition();
                return new JobStore.RescheduleRow(w.job().id(), w.job().lease(), r.at(), r.afterMicros());
            }).toList(), reprocessLimit);
        }
        return store.finishMany(rows.stream().map(w -> {
            Transition.Finish f = (Transition.Finish) w.transition();
            return new JobStore.FinishRow(w.job().id(), w.job().lease(), f.status(), f.error());
        }).toList());
    }

    private static List<JobStore.JobLease> leases(List<Write> rows) {
        return rows.stream().map(w -> new JobStore.JobLease(w.job().id(), w.job().lease())).toList();
    }

    /** What follows a written batch: signals, stale-write counts, metrics, and the callers' Monos. */
    private void settled(List<Write> rows, WrittenStatuses statuses) {
        Transition kind = rows.get(0).transition();
        if (kind instanceof Transition.LetGo) {
            // not an outcome: nothing to count or signal, and a job not let go of (it was rescued,
            // deleted or claimed again, not cancelled) is no stale write
            Bursts.run(() -> rows.forEach(w -> w.done().tryEmitEmpty()));
            return;
        }
        boolean metered = metrics != QueueMetrics.NONE;
        boolean finished = false;
        int stale = 0;
        Write firstStale = null;
        List<String> released = new ArrayList<>();
        for (Write w : rows) {
            JobStatus status = statuses.of(w.job().id());
            if (status == null) {
                stale++;
                firstStale = firstStale == null ? w : firstStale;
                if (metered) {
                    metrics.staleWrite(w.job().queue());
                }
            } else {
                finished |= status != JobStatus.PENDING;
                if (kind instanceof Transition.Release) {
                    released.add(w.job().queue());
                }
                if (metered) {
                    metrics.written(w.job().queue(), w.transition(), status);
                }
                failures.written(w.job(), w.transition(), status);
            }
        }
        if (finished && !(kind instanceof Transition.Complete)) {
            signals.post(Signal.FINISHED); // a completion notifies in its own statement
        }
        // released jobs are due at once: another node may take them now
        released.forEach(signals::postDue);
        if (firstStale != null) { // set exactly when stale > 0
            staleWrites.addAndGet(stale);
            log.warn("{} of {} {} writes changed nothing: their lease is no longer current (the job was rescued, "
                    + "released or cancelled meanwhile); e.g. {}", stale, rows.size(), kindName(kind), firstStale.job());
        }
        // one wake-up of the fetcher for the whole batch, after every permit is back
        Bursts.run(() -> rows.forEach(w -> w.done().tryEmitEmpty()));
    }

    /** The kind's name as the logs have always spelled it (COMPLETE, RETRY, RESCHEDULE, FINISH, RELEASE). */
    private static String kindName(Transition kind) {
        return kind.getClass().getSimpleName().toUpperCase(java.util.Locale.ROOT);
    }
}
