package io.github.reactivepgqueue.internal.store;

import io.github.reactivepgqueue.internal.EncodedJob;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Row;
import io.r2dbc.spi.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** {@link ScheduleStore} on PostgreSQL: the statements of {@code schedule.sql}, with the jobs' insert of {@link PgJobStore}. */
final class PgScheduleStore implements ScheduleStore {
    private final Db db;
    private final Sql sql;
    private final PgJobStore jobs;

    PgScheduleStore(Db db, Sql sql, PgJobStore jobs) {
        this.db = db;
        this.sql = sql;
        this.jobs = jobs;
    }

    private Statement statement(Connection conn, SqlName name) {
        return conn.createStatement(sql.get(name));
    }

    private <T> Mono<List<T>> inTransaction(Function<Connection, Flux<T>> work) {
        return jobs.explained(db.transaction(work::apply).collectList());
    }

    private static <T> Mono<Optional<T>> first(Mono<List<T>> rows) {
        return rows.map(list -> list.isEmpty() ? Optional.<T>empty() : Optional.of(list.get(0)));
    }

    @Override
    public Mono<Duration> nextSlotIn(Collection<String> codePayloads) {
        String[] names = codePayloads.toArray(String[]::new);
        return inTransaction(conn -> R2dbc.query(statement(conn, SqlName.ScheduleNextIn).bind("$1", names),
                row -> row.get("micros", Long.class)))
                .flatMap(rows -> Mono.justOrEmpty(rows.isEmpty() ? null : rows.get(0)))
                .map(micros -> Duration.ofSeconds(Math.floorDiv(micros, 1_000_000L),
                        Math.floorMod(micros, 1_000_000L) * 1_000L));
    }

    @Override
    public Mono<List<Fired>> fireDue(Collection<String> codePayloads, Duration lead, int limit,
                                     Function<ScheduleRow, Firing> plan, @Nullable String signalChannel) {
        String[] names = codePayloads.toArray(String[]::new);
        long leadMicros = PgJobStore.micros(lead);
        return inTransaction(conn -> R2dbc.query(statement(conn, SqlName.ScheduleLockDue).bind("$1", names)
                                .bind("$2", limit).bind("$3", leadMicros), PgScheduleStore::row)
                .collectList()
                .flatMapMany(due -> {
                    if (due.isEmpty()) {
                        return Flux.empty();
                    }
                    List<Firing> firings = due.stream().map(plan).toList();
                    List<EncodedJob> batch = firings.stream().flatMap(f -> f.jobs().stream()).toList();
                    Mono<List<JobStore.InsertedRow>> inserted = batch.isEmpty() ? Mono.just(List.of())
                            : jobs.insertsOn(conn).insertMany(batch, signalChannel);
                    return inserted.flatMapMany(rows -> advance(conn, due, firings, rows));
                }));
    }

    /** Moves each schedule to its next slot; emits what each got. */
    private Flux<Fired> advance(Connection conn, List<ScheduleRow> due, List<Firing> firings,
                                List<JobStore.InsertedRow> inserted) {
        boolean[] stored = new boolean[inserted.size()];
        inserted.forEach(r -> stored[r.index()] = r.inserted());
        int n = due.size();
        String[] names = new String[n];
        Instant[] next = new Instant[n];
        Instant[] lastSlot = new Instant[n];
        UUID[] lastJob = new UUID[n];
        Long[] missed = new Long[n];
        List<Fired> fired = new ArrayList<>(n);
        int index = 0;
        for (int i = 0; i < n; i++) {
            ScheduleRow row = due.get(i);
            Firing firing = firings.get(i);
            int enqueued = 0;
            for (EncodedJob job : firing.jobs()) {
                if (stored[index++]) {
                    enqueued++;
                    lastJob[i] = job.id();
                    lastSlot[i] = job.runAt();
                }
            }
            int held = firing.jobs().size() - enqueued;
            names[i] = row.name();
            next[i] = firing.nextSlot();
            missed[i] = firing.missed();
            fired.add(new Fired(row.name(), row.queue(), enqueued, held, firing.missed()));
        }
        return R2dbc.update(statement(conn, SqlName.ScheduleAdvance).bind("$1", names).bind("$2", next)
                        .bind("$3", lastSlot).bind("$4", lastJob).bind("$5", missed))
                .thenMany(Flux.fromIterable(fired));
    }

    @Override
    public Mono<Optional<ScheduleRow>> insert(ScheduleWrite schedule, Function<Instant, NewSlots> slots) {
        return first(written(SqlName.ScheduleInsert, schedule, slots));
    }

    @Override
    public Mono<ScheduleRow> upsert(ScheduleWrite schedule, Function<Instant, NewSlots> slots) {
        return written(SqlName.ScheduleUpsert, schedule, slots).map(rows -> rows.get(0));
    }

    @Override
    public Mono<Optional<ScheduleRow>> update(ScheduleWrite schedule, Function<Instant, NewSlots> slots) {
        return first(written(SqlName.ScheduleUpdate, schedule, slots));
    }

    /** Reads the database's time, computes the slots from it, then runs {@code name} in the same transaction. */
    private Mono<List<ScheduleRow>> written(SqlName name, ScheduleWrite w, Function<Instant, NewSlots> slots) {
        return inTransaction(conn -> R2dbc.query(statement(conn, SqlName.ScheduleNow), row -> row.get("now",
                        Instant.class))
                .single()
                .flatMapMany(now -> {
                    NewSlots s = slots.apply(now);
                    Statement statement = bindDefinition(statement(conn, name), w);
                    if (name == SqlName.ScheduleUpdate) {
                        statement.bind("$15", s.afterChange());
                    } else {
                        statement.bind("$15", s.first());
                        if (name == SqlName.ScheduleUpsert) {
                            statement.bind("$16", s.afterChange());
                        }
                    }
                    return R2dbc.query(statement, PgScheduleStore::row);
                }));
    }

    private static Statement bindDefinition(Statement s, ScheduleWrite w) {
        s.bind("$1", w.name()).bind("$2", w.queue());
        nullable(s, "$3", w.cron(), String.class);
        nullable(s, "$4", w.timeZone(), String.class);
        nullable(s, "$5", w.everyMicros(), Long.class);
        nullable(s, "$6", w.startsAt(), Instant.class);
        s.bind("$7", w.payloadJson()).bind("$8", w.payloadFromCode()).bind("$9", w.priority());
        nullable(s, "$10", w.maxAttempts(), Integer.class);
        return s.bind("$11", w.uniqueKey()).bind("$12", w.missed()).bind("$13", w.catchUp())
                .bind("$14", w.onTimeMicros());
    }

    private static void nullable(Statement s, String name, @Nullable Object value, Class<?> type) {
        if (value == null) {
            s.bindNull(name, type);
        } else {
            s.bind(name, value);
        }
    }

    @Override
    public Mono<Optional<ScheduleRow>> setPaused(String name, boolean paused,
                                                 BiFunction<ScheduleRow, Instant, Instant> resumeAt) {
        return first(inTransaction(conn -> locked(conn, name).concatMap(row -> {
            if (row.paused() == paused) {
                return Flux.just(row);
            }
            Statement update = statement(conn, SqlName.SchedulePause).bind("$1", name).bind("$3", paused);
            nullable(update, "$2", paused ? null : resumeAt.apply(row, row.now()), Instant.class);
            return R2dbc.query(update, PgScheduleStore::row);
        })));
    }

    private Flux<ScheduleRow> locked(Connection conn, String name) {
        return R2dbc.query(statement(conn, SqlName.ScheduleLock).bind("$1", name), PgScheduleStore::row);
    }

    @Override
    public Mono<Optional<Triggered>> trigger(String name, Function<ScheduleRow, EncodedJob> job,
                                             @Nullable String signalChannel) {
        return first(inTransaction(conn -> locked(conn, name).flatMap(row -> {
            EncodedJob encoded = job.apply(row);
            return jobs.insertsOn(conn).insertMany(List.of(encoded), signalChannel)
                    .flatMap(rows -> {
                        JobStore.InsertedRow inserted = rows.get(0);
                        Mono<Long> recorded = inserted.inserted()
                                ? R2dbc.update(statement(conn, SqlName.ScheduleTriggered).bind("$1", name)
                                        .bind("$2", encoded.id()))
                                : Mono.just(0L);
                        return recorded.thenReturn(new Triggered(encoded, inserted));
                    });
        })));
    }

    @Override
    public Mono<Boolean> delete(String name) {
        return inTransaction(conn -> R2dbc.query(statement(conn, SqlName.ScheduleDelete).bind("$1", name),
                row -> Boolean.TRUE)).map(rows -> !rows.isEmpty());
    }

    @Override
    public Mono<Optional<ScheduleRow>> find(String name) {
        return first(inTransaction(conn -> R2dbc.query(statement(conn, SqlName.ScheduleFind).bind("$1", name),
                PgScheduleStore::row)));
    }

    @Override
    public Mono<List<ScheduleRow>> list(@Nullable String after, int limit) {
        return inTransaction(conn -> {
            Statement s = statement(conn, SqlName.ScheduleList).bind("$2", limit);
            nullable(s, "$1", after, String.class);
            return R2dbc.query(s, PgScheduleStore::row);
        });
    }

    private static ScheduleRow row(Row r) {
        return new ScheduleRow(r.get("name", String.class), r.get("queue", String.class), r.get("cron", String.class),
                r.get("time_zone", String.class), r.get("every_micros", Long.class), r.get("starts_at", Instant.class),
                r.get("payload", String.class), Boolean.TRUE.equals(r.get("payload_from_code", Boolean.class)),
                r.get("priority", Integer.class), r.get("max_attempts", Integer.class), r.get("unique_key", String.class),
                r.get("missed", String.class), r.get("catch_up", Integer.class), r.get("on_time_micros", Long.class),
                Boolean.TRUE.equals(r.get("paused", Boolean.class)), r.get("next_slot", Instant.class),
                r.get("last_slot", Instant.class), r.get("last_job", UUID.class), r.get("last_enqueued_at", Instant.class),
                r.get("missed_slots", Long.class), r.get("created_at", Instant.class), r.get("updated_at", Instant.class),
                r.get("now", Instant.class));
    }

    @Override
    public String toString() {
        return "PgScheduleStore[" + sql.schema() + "]";
    }
}
