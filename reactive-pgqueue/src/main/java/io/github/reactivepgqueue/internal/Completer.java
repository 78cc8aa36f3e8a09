package io.github.reactivepgqueue.internal;

import io.r2dbc.spi.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
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
 * succeeds: outcomes are never dropped. Callers wait for their own outcome's write.
 */
public final class Completer {
    private static final Logger log = LoggerFactory.getLogger(Completer.class);

    /** Outcome batches written at once. */
    private static final int WRITERS = 4;
    private static final String FINISHED_PAYLOAD = Signal.encode(EnumSet.of(Signal.FINISHED));

    private final Db db;
    private final Sql sql;
    private final Signals signals;
    private final int reprocessLimit;
    private final boolean archiveCompleted;
    private final int batchSize;
    private final Duration flushInterval;
    private final Scheduler scheduler;
    private final QueueMetrics metrics;
    /** Writes, in chunks: one per write, or all the writes of a burst (see {@link #write}). */
    private final Sinks.Many<List<OutcomeWrite>> writes = Sinks.many().unicast().onBackpressureBuffer();
    private final Sinks.Empty<Void> drained = Sinks.empty();
    private final AtomicLong staleWrites = new AtomicLong();
    private final IncidentLog incidents = new IncidentLog(log, "Writing job outcomes");
    private final Disposable loop;

    /**
     * @param archiveCompleted whether a successful job moves to the archive as it completes (the
     *                         janitor is on) instead of staying in the live table as completed
     */
    public Completer(Db db, Sql sql, Signals signals, int reprocessLimit, boolean archiveCompleted, int batchSize,
                     Duration flushInterval, Scheduler scheduler, QueueMetrics metrics) {
        this.db = db;
        this.sql = sql;
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
     * Queues {@code write}; the returned Mono completes once it is written. Cancelling it does not
     * undo the write. Writes made during a burst on one thread (a claimed batch whose handlers
     * finished at once) are queued together at its end as one chunk, so the flush interval cannot
     * cut them into several statements however long handing them over takes.
     */
    Mono<Void> write(OutcomeWrite write) {
        Bursts.collect(this, write, this::enqueue);
        return write.done().asMono();
    }

    private void enqueue(List<OutcomeWrite> chunk) {
        Sinks.EmitResult result;
        synchronized (writes) {
            result = writes.tryEmitNext(chunk);
        }
        if (result.isFailure()) {
            for (OutcomeWrite write : chunk) {
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
    private Mono<Void> flush(List<List<OutcomeWrite>> chunks) {
        Map<OutcomeWrite.Kind, List<OutcomeWrite>> byKind = new EnumMap<>(OutcomeWrite.Kind.class);
        for (List<OutcomeWrite> chunk : chunks) {
            for (OutcomeWrite write : chunk) {
                byKind.computeIfAbsent(write.kind(), k -> new ArrayList<>()).add(write);
            }
        }
        return Flux.fromIterable(byKind.entrySet())
                .flatMap(e -> Flux.fromIterable(pieces(e.getValue()))
                        .concatMap(piece -> writeKind(e.getKey(), piece)))
                .then();
    }

    private List<List<OutcomeWrite>> pieces(List<OutcomeWrite> rows) {
        List<List<OutcomeWrite>> pieces = new ArrayList<>((rows.size() + batchSize - 1) / batchSize);
        for (int from = 0; from < rows.size(); from += batchSize) {
            pieces.add(rows.subList(from, Math.min(rows.size(), from + batchSize)));
        }
        return pieces;
    }

    private Mono<Void> writeKind(OutcomeWrite.Kind kind, List<OutcomeWrite> rows) {
        boolean splittable = rows.size() > 1;
        return db.transaction(conn -> R2dbc.query(bind(conn.createStatement(sql.get(statement(kind))), kind, rows),
                        row -> kind == OutcomeWrite.Kind.COMPLETE ? (Answer) new Stale(row.get(0, UUID[].class))
                                : new Written(row.get(0, UUID.class), row.get(1, String.class))))
                .collectList()
                .doOnNext(answer -> incidents.succeeded())
                .doOnError(incidents::failed)
                .retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(50)).maxBackoff(Duration.ofSeconds(1))
                        .filter(e -> !(splittable && R2dbc.isLockTimeout(e)))
                        .scheduler(scheduler))
                .doOnNext(answer -> settled(kind, rows, Statuses.of(answer)))
                // A row locked elsewhere (a user's transaction, an operator) fails the whole batch
                // after the lock timeout: the halves are written on their own, so only the rows
                // that stay locked wait, and the rest of the batch is not held back with them.
                .then()
                .onErrorResume(e -> splittable && R2dbc.isLockTimeout(e), e -> Mono.when(
                        writeKind(kind, rows.subList(0, rows.size() / 2)),
                        writeKind(kind, rows.subList(rows.size() / 2, rows.size()))));
    }

    private SqlName statement(OutcomeWrite.Kind kind) {
        return kind == OutcomeWrite.Kind.COMPLETE && archiveCompleted ? SqlName.JobCompleteArchiveMany : kind.statement;
    }

    /** What follows a written batch: signals, stale-write counts, metrics, and the callers' Monos. */
    private void settled(OutcomeWrite.Kind kind, List<OutcomeWrite> rows, Statuses statuses) {
        boolean finished = false;
        int stale = 0;
        OutcomeWrite firstStale = null;
        List<String> released = new ArrayList<>();
        for (OutcomeWrite w : rows) {
            String status = statuses.of(w.job().id());
            if (status == null) {
                stale++;
                firstStale = firstStale == null ? w : firstStale;
            } else {
                finished |= !status.equals("pending");
                if (kind == OutcomeWrite.Kind.RELEASE) {
                    released.add(w.job().queue());
                }
            }
        }
        if (finished && kind != OutcomeWrite.Kind.COMPLETE) {
            signals.post(Signal.FINISHED); // a completion notifies in its own statement
        }
        // released jobs are due at once: another node may take them now
        released.forEach(signals::postDue);
        if (stale > 0) {
            staleWrites.addAndGet(stale);
            log.warn("{} of {} {} writes changed nothing: their lease is no longer current (the job was rescued, "
                    + "released or cancelled meanwhile); e.g. {}", stale, rows.size(), kind, firstStale.job());
        }
        MetricHooks.written(metrics, kind, rows, statuses);
        // one wake-up of the fetcher for the whole batch, after every permit is back
        Bursts.run(() -> rows.forEach(w -> w.done().tryEmitEmpty()));
    }

    /** What an outcome statement answers: the rows it changed, or for a completion, those it did not. */
    private sealed interface Answer permits Written, Stale {
    }

    /** A row a write changed, with its new status. */
    private record Written(UUID id, String status) implements Answer {
    }

    /** The rows a completion did not change; every other row it was given is completed. */
    private record Stale(UUID[] ids) implements Answer {
    }

    /** The status each row of an outcome statement got: null for a row it did not change (a stale write). */
    @FunctionalInterface
    interface Statuses {
        String of(UUID id);

        static Statuses of(List<Answer> answer) {
            if (answer.size() == 1 && answer.get(0) instanceof Stale stale) {
                Set<UUID> ids = stale.ids().length == 0 ? Set.of() : new HashSet<>(Arrays.asList(stale.ids()));
                return id -> ids.contains(id) ? null : "completed";
            }
            Map<UUID, String> statuses = new HashMap<>(answer.size() * 2);
            for (Answer a : answer) {
                Written w = (Written) a;
                statuses.put(w.id(), w.status());
            }
            return statuses::get;
        }
    }

    private Statement bind(Statement statement, OutcomeWrite.Kind kind, List<OutcomeWrite> rows) {
        int n = rows.size();
        UUID[] ids = new UUID[n];
        UUID[] leases = new UUID[n];
        for (int i = 0; i < n; i++) {
            ids[i] = rows.get(i).job().id();
            leases[i] = rows.get(i).job().lease();
        }
        statement.bind("$1", ids).bind("$2", leases);
        switch (kind) {
            case RETRY -> {
                Long[] backoff = new Long[n];
                Instant[] at = new Instant[n];
                Long[] after = new Long[n];
                String[] error = new String[n];
                for (int i = 0; i < n; i++) {
                    OutcomeWrite w = rows.get(i);
                    backoff[i] = w.backoffMicros();
                    at[i] = w.at();
                    after[i] = w.afterMicros();
                    error[i] = w.error();
                }
                statement.bind("$3", backoff).bind("$4", at).bind("$5", after).bind("$6", error);
            }
            case RESCHEDULE -> {
                Instant[] at = new Instant[n];
                Long[] after = new Long[n];
                for (int i = 0; i < n; i++) {
                    at[i] = rows.get(i).at();
                    after[i] = rows.get(i).afterMicros();
                }
                statement.bind("$3", at).bind("$4", after).bind("$5", reprocessLimit);
            }
            case FINISH -> {
                String[] status = new String[n];
                String[] error = new String[n];
                for (int i = 0; i < n; i++) {
                    status[i] = rows.get(i).status();
                    error[i] = rows.get(i).error();
                }
                statement.bind("$3", status).bind("$4", error);
            }
            case COMPLETE -> statement.bind("$3", signals.channel()).bind("$4", FINISHED_PAYLOAD);
            case RELEASE -> {
                // ids and leases only
            }
        }
        return statement;
    }
}
