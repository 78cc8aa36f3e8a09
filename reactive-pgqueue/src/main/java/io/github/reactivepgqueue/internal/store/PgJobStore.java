package io.github.reactivepgqueue.internal.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.DatabaseUnavailableException;
import io.github.reactivepgqueue.JobCount;
import io.github.reactivepgqueue.JobInfo;
import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.MigrationResult;
import io.github.reactivepgqueue.internal.ClaimedRow;
import io.github.reactivepgqueue.internal.EncodedJob;
import io.github.reactivepgqueue.internal.QueueMetrics;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Row;
import io.r2dbc.spi.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.IntFunction;

import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.retry.Retry;

/**
 * The PostgreSQL {@link JobStore}: every bind, every row mapping and status parsing of the
 * library's statements. Each call runs in a transaction of its own from {@link Db}, except the
 * inserts on a caller's connection and the listener's statements on its own connection.
 */
public final class PgJobStore implements JobStore {
    /** Waits are capped at about a century, well inside PostgreSQL's interval and timestamp ranges. */
    public static final long MAX_MICROS = 100L * 365 * 24 * 3600 * 1_000_000L;

    private final Db db;
    /** {@link #db} for the statements that walk short index ranges (see {@link Db#walkingIndexes()}). */
    private final Db walks;
    /** {@link #db} for the claim, which reuses its plan (see {@link Db#reusingPlans()}). */
    private final Db claims;
    private final Sql sql;
    private final ObjectMapper mapper;
    private final Migrator migrator;

    /** Zero {@code statementTimeout} or {@code lockTimeout} leaves that one unset. */
    public PgJobStore(ConnectionFactory factory, SchemaName schema, ObjectMapper mapper, Duration acquireTimeout,
                      Duration statementTimeout, Duration lockTimeout, Scheduler timer) {
        this(new Db(factory, acquireTimeout, statementTimeout, lockTimeout, timer), Sql.load(schema), mapper,
                Migration.loadAll());
    }

    PgJobStore(Db db, Sql sql, ObjectMapper mapper, List<Migration> migrations) {
        this.db = db;
        this.walks = db.walkingIndexes();
        this.claims = db.reusingPlans();
        this.sql = sql;
        this.mapper = mapper;
        this.migrator = new Migrator(db, sql, migrations);
    }

    /** The schedules of this store's schema, on its connections; their slots' jobs go in with its insert. */
    public ScheduleStore schedules() {
        return new PgScheduleStore(db, sql, this);
    }

    /** The same store, its statements run on connections from {@code factory}. */
    public PgJobStore on(ConnectionFactory factory) {
        return new PgJobStore(db.on(factory), sql, mapper, migrator.migrations());
    }

    /** A duration in microseconds, capped at {@link #MAX_MICROS}. */
    public static long micros(Duration d) {
        if (d.getSeconds() >= MAX_MICROS / 1_000_000L) {
            return MAX_MICROS;
        }
        return Math.min(MAX_MICROS, d.getSeconds() * 1_000_000L + d.getNano() / 1_000L);
    }

    private Statement statement(Connection conn, SqlName name) {
        return conn.createStatement(sql.get(name));
    }

    /** One statement in a transaction of its own, its rows mapped and collected. */
    private <T> Mono<List<T>> rows(SqlName name, Function<Statement, Statement> binder, Function<Row, T> mapper) {
        return rows(db, name, binder, mapper);
    }

    /** {@link #rows}, in a transaction that walks indexes (see {@link Db#walkingIndexes()}). */
    private <T> Mono<List<T>> walkRows(SqlName name, Function<Statement, Statement> binder, Function<Row, T> mapper) {
        return rows(walks, name, binder, mapper);
    }

    private <T> Mono<List<T>> rows(Db on, SqlName name, Function<Statement, Statement> binder,
                                   Function<Row, T> mapper) {
        return explained(on.transaction(conn -> R2dbc.query(binder.apply(statement(conn, name)), mapper))
                .collectList());
    }

    /** One statement in a transaction of its own; emits how many rows it changed. */
    private Mono<Long> update(SqlName name, Function<Statement, Statement> binder) {
        return explained(db.transaction(conn -> R2dbc.update(binder.apply(statement(conn, name)))).single());
    }

    /** {@code call}, with a missing table or schema said as the schema not being migrated. */
    <T> Mono<T> explained(Mono<T> call) {
        return call.onErrorMap(R2dbc::isUndefinedTableOrSchema, migrator::notMigrated);
    }

    private static Statement bindNullable(Statement statement, String name, @Nullable Object value, Class<?> type) {
        return value == null ? statement.bindNull(name, type) : statement.bind(name, value);
    }

    // ---- enqueue

    @Override
    public <T> Mono<T> inserting(Function<Inserts, Mono<T>> work) {
        return db.transaction(conn -> work.apply(insertsOn(conn))).single();
    }

    @Override
    public Inserts insertsOn(Connection connection) {
        return new Inserts() {
            @Override
            public Mono<List<InsertedRow>> insertMany(List<EncodedJob> batch, @Nullable String signalChannel) {
                return explained(R2dbc.query(bindInsert(statement(connection, SqlName.JobInsertMany), batch,
                                signalChannel),
                        row -> new InsertedRow(((Number) row.get("ord")).intValue() - 1,
                                Boolean.TRUE.equals(row.get("inserted", Boolean.class)),
                                row.get("holder_id", UUID.class))).collectList());
            }

            @Override
            public Mono<Integer> insertManyNoKeys(List<EncodedJob> batch, @Nullable String signalChannel) {
                return explained(R2dbc.query(bindInsert(statement(connection, SqlName.JobInsertManyNoKeys), batch,
                                signalChannel),
                        row -> ((Number) row.get("inserted")).intValue()).single());
            }
        };
    }

    private static Statement bindInsert(Statement statement, List<EncodedJob> batch, @Nullable String signalChannel) {
        statement.bind("$1", column(batch, EncodedJob::id, UUID[]::new))
                .bind("$2", column(batch, EncodedJob::queue, String[]::new))
                .bind("$3", column(batch, EncodedJob::payloadJson, String[]::new))
                .bind("$4", column(batch, EncodedJob::priority, Integer[]::new))
                .bind("$5", column(batch, EncodedJob::uniqueKey, String[]::new))
                .bind("$6", column(batch, EncodedJob::fingerprint, String[]::new))
                .bind("$7", column(batch, EncodedJob::maxAttempts, Integer[]::new))
                .bind("$8", column(batch, EncodedJob::runAt, Instant[]::new))
                .bind("$9", column(batch, EncodedJob::delayMicros, Long[]::new));
        return bindNullable(statement, "$10", signalChannel, String.class);
    }

    // ---- claim and outcomes

    @Override
    public Mono<List<ClaimedRow>> claim(Map<String, Integer> limits, int total, boolean stampClaims) {
        Map<String, Integer> shares = ClaimShares.split(limits, total);
        String[] queues = shares.keySet().toArray(String[]::new);
        Integer[] counts = shares.values().toArray(Integer[]::new);
        return Mono.defer(() -> {
            long sent = System.nanoTime();
            return rows(claims, SqlName.JobClaim, s -> s.bind("$1", queues).bind("$2", counts),
                    row -> ClaimRows.from(row, mapper, stampClaims, sent));
        });
    }

    @Override
    public Mono<Duration> nextDue(Collection<String> queues) {
        String[] names = queues.toArray(String[]::new);
        // the claim's plan, and so its transaction's settings (see Db#reusingPlans)
        return rows(claims, SqlName.JobNextDue, s -> s.bind("$1", names),
                row -> Optional.ofNullable(row.get(0, Long.class)))
                .flatMap(answer -> Mono.justOrEmpty(answer.isEmpty() ? Optional.empty() : answer.get(0)))
                .map(micros -> Duration.ofNanos(Math.multiplyExact(Math.max(0, micros), 1_000L)));
    }

    @Override
    public Mono<WrittenStatuses> completeMany(List<JobLease> jobs, boolean archive, @Nullable String signalChannel,
                                              String finishedPayload) {
        SqlName name = archive ? SqlName.JobCompleteArchiveMany : SqlName.JobCompleteMany;
        return rows(name, s -> bindNullable(bindLeases(s, jobs, JobLease::id, JobLease::lease), "$3", signalChannel,
                        String.class).bind("$4", finishedPayload),
                row -> row.get(0, UUID[].class))
                .map(answer -> {
                    UUID[] stale = answer.get(0);
                    // every row given and not stale is completed
                    Set<UUID> ids = stale.length == 0 ? Set.of() : new HashSet<>(Arrays.asList(stale));
                    return id -> ids.contains(id) ? null : JobStatus.COMPLETED;
                });
    }

    @Override
    public Mono<WrittenStatuses> retryMany(List<RetryRow> jobs) {
        return written(SqlName.JobRetryMany, s -> bindLeases(s, jobs, RetryRow::id, RetryRow::lease)
                .bind("$3", column(jobs, RetryRow::backoffMicros, Long[]::new))
                .bind("$4", column(jobs, RetryRow::at, Instant[]::new))
                .bind("$5", column(jobs, RetryRow::afterMicros, Long[]::new))
                .bind("$6", column(jobs, RetryRow::error, String[]::new)));
    }

    @Override
    public Mono<WrittenStatuses> rescheduleMany(List<RescheduleRow> jobs, int reprocessLimit) {
        return written(SqlName.JobRescheduleMany, s -> bindLeases(s, jobs, RescheduleRow::id, RescheduleRow::lease)
                .bind("$3", column(jobs, RescheduleRow::at, Instant[]::new))
                .bind("$4", column(jobs, RescheduleRow::afterMicros, Long[]::new))
                .bind("$5", reprocessLimit));
    }

    @Override
    public Mono<WrittenStatuses> finishMany(List<FinishRow> jobs) {
        return written(SqlName.JobFinishMany, s -> bindLeases(s, jobs, FinishRow::id, FinishRow::lease)
                .bind("$3", column(jobs, row -> row.status().databaseValue(), String[]::new))
                .bind("$4", column(jobs, FinishRow::error, String[]::new)));
    }

    @Override
    public Mono<WrittenStatuses> releaseMany(List<JobLease> jobs) {
        return written(SqlName.JobReleaseMany, s -> bindLeases(s, jobs, JobLease::id, JobLease::lease));
    }

    /** An outcome statement that returns the id and new status of every row it changed. */
    private Mono<WrittenStatuses> written(SqlName name, Function<Statement, Statement> binder) {
        return rows(name, binder, row -> Map.entry(row.get(0, UUID.class), status(row.get(1, String.class))))
                .map(answer -> {
                    Map<UUID, JobStatus> statuses = new HashMap<>(answer.size() * 2);
                    answer.forEach(e -> statuses.put(e.getKey(), e.getValue()));
                    return statuses::get;
                });
    }

    private static <T> Statement bindLeases(Statement statement, List<T> jobs, Function<T, UUID> id,
                                            Function<T, UUID> lease) {
        return statement.bind("$1", column(jobs, id, UUID[]::new)).bind("$2", column(jobs, lease, UUID[]::new));
    }

    /**
     * One array parameter: {@code value} of every row, in order. The batch statements unnest their
     * arrays side by side, so the i-th elements of all columns describe one row.
     */
    private static <T, C> C[] column(List<T> rows, Function<T, C> value, IntFunction<C[]> array) {
        C[] column = array.apply(rows.size());
        for (int i = 0; i < column.length; i++) {
            column[i] = value.apply(rows.get(i));
        }
        return column;
    }

    @Override
    public Mono<Set<UUID>> heartbeat(List<JobLease> jobs) {
        return rows(SqlName.JobHeartbeat, s -> bindLeases(s, jobs, JobLease::id, JobLease::lease),
                row -> row.get("id", UUID.class))
                .map(HashSet::new);
    }

    // ---- admin

    @Override
    public Mono<List<JobStatus>> cancel(@Nullable UUID id, @Nullable String uniqueKey, @Nullable String fingerprint) {
        return rows(SqlName.JobCancel, s -> {
            bindNullable(s, "$1", id, UUID.class);
            bindNullable(s, "$2", uniqueKey, String.class);
            return bindNullable(s, "$3", fingerprint, String.class);
        }, row -> status(row.get("previous", String.class)));
    }

    @Override
    public Mono<WrittenStatuses> letGoMany(List<JobLease> jobs) {
        return written(SqlName.JobLetGoMany, s -> bindLeases(s, jobs, JobLease::id, JobLease::lease));
    }

    @Override
    public Mono<List<JobInfo>> findMany(Collection<UUID> ids, boolean withPayload) {
        UUID[] array = ids.toArray(UUID[]::new);
        return rows(SqlName.JobFindMany, s -> s.bind("$1", array).bind("$2", withPayload),
                row -> JobInfoRows.from(row, mapper));
    }

    @Override
    public Mono<List<JobInfo>> list(@Nullable String queue, @Nullable JobStatus status, @Nullable UUID after,
                                    int limit) {
        String statusValue = status == null ? null : status.databaseValue();
        // one statement per filter: none of them has a condition that may be null
        if (queue == null && statusValue == null) {
            return walkRows(SqlName.AdminList, s -> bindNullable(s, "$1", after, UUID.class).bind("$2", limit),
                    this::jobInfo);
        }
        if (statusValue == null) {
            return walkRows(SqlName.AdminListQueue,
                    s -> bindNullable(s.bind("$1", queue), "$2", after, UUID.class).bind("$3", limit), this::jobInfo);
        }
        if (queue == null) {
            return walkRows(SqlName.AdminListStatus,
                    s -> bindNullable(s.bind("$1", statusValue), "$2", after, UUID.class).bind("$3", limit),
                    this::jobInfo);
        }
        return walkRows(SqlName.AdminListQueueStatus,
                s -> bindNullable(s.bind("$1", queue).bind("$2", statusValue), "$3", after, UUID.class)
                        .bind("$4", limit),
                this::jobInfo);
    }

    private JobInfo jobInfo(Row row) {
        return JobInfoRows.from(row, mapper);
    }

    @Override
    public Mono<List<JobCount>> counts(long exactUpTo) {
        return walkRows(SqlName.AdminCount,
                s -> s.bind("$1", CountRows.bound(exactUpTo)).bind("$2", CountRows.passBound(exactUpTo)),
                CountRows::countRow)
                .map(CountRows::counts);
    }

    @Override
    public Mono<List<RequeuedJob>> requeueDead(@Nullable UUID id, @Nullable String queue, int limit) {
        return rows(SqlName.AdminRequeueDead, s -> {
            bindNullable(s, "$1", id, UUID.class);
            bindNullable(s, "$2", queue, String.class);
            return s.bind("$3", limit);
        }, row -> new RequeuedJob(row.get("id", UUID.class), row.get("queue", String.class)));
    }

    @Override
    public Mono<Optional<JobStatus>> delete(UUID id) {
        Mono<Optional<JobStatus>> once = rows(SqlName.AdminDelete, s -> s.bind("$1", id),
                row -> status(row.get("previous", String.class)))
                .map(previous -> previous.stream().findFirst());
        // A job moved out of the live table while the statement runs is missed: its live DELETE
        // waits for the move and then finds the row gone, and the statement's snapshot was taken
        // before the archive or dead-letter row existed. A second statement sees where it went.
        return once.flatMap(previous -> previous.isPresent() ? Mono.just(previous) : once);
    }

    @Override
    public Mono<PurgedBatch> purge(String queue, @Nullable UUID after, int limit) {
        return rows(SqlName.AdminPurge, s -> bindNullable(s.bind("$1", queue), "$2", after, UUID.class).bind("$3", limit),
                row -> new PurgedBatch(row.get("deleted", Long.class), row.get("last", UUID.class)))
                .map(batches -> batches.get(0));
    }

    @Override
    public Mono<Void> pause(String queue) {
        return update(SqlName.AdminPause, s -> s.bind("$1", queue)).then();
    }

    @Override
    public Mono<Void> resume(String queue) {
        return update(SqlName.AdminResume, s -> s.bind("$1", queue)).then();
    }

    @Override
    public Mono<List<String>> paused() {
        return rows(SqlName.AdminPaused, Function.identity(), row -> row.get("queue", String.class));
    }

    // ---- reaper and janitor

    @Override
    public Mono<List<RescuedJob>> rescueStalled(Duration stallTimeout, int reprocessLimit, int limit) {
        long stallMicros = micros(stallTimeout);
        return rows(SqlName.MaintenanceRescueStalled,
                s -> s.bind("$1", stallMicros).bind("$2", reprocessLimit).bind("$3", limit),
                row -> new RescuedJob(row.get("id", UUID.class), row.get("queue", String.class),
                        status(row.get("status", String.class))));
    }

    @Override
    public Mono<Long> letGoStalled(Duration stallTimeout, int limit) {
        long stallMicros = micros(stallTimeout);
        return update(SqlName.MaintenanceLetGoStalled, s -> s.bind("$1", stallMicros).bind("$2", limit));
    }

    @Override
    public Mono<MovedJobs> moveFinished(int limit) {
        return rows(SqlName.MaintenanceMoveFinished, s -> s.bind("$1", limit),
                row -> new MovedJobs(row.get("archived", Long.class), row.get("dead", Long.class)))
                .map(moved -> moved.get(0));
    }

    @Override
    public Mono<Long> deleteArchived(Duration retention, int limit) {
        return deleteOlderThan(SqlName.MaintenanceDeleteArchived, retention, limit);
    }

    @Override
    public Mono<Long> deleteDead(Duration retention, int limit) {
        return deleteOlderThan(SqlName.MaintenanceDeleteDead, retention, limit);
    }

    private Mono<Long> deleteOlderThan(SqlName name, Duration retention, int limit) {
        long retentionMicros = micros(retention);
        return update(name, s -> s.bind("$1", retentionMicros).bind("$2", limit));
    }

    @Override
    public Mono<Void> probe() {
        return rows(SqlName.MaintenanceProbe, Function.identity(), row -> Boolean.TRUE).then();
    }

    // ---- metrics and signals

    @Override
    public Mono<List<QueueMetrics.QueueDepth>> queueDepth(long dueExactUpTo, long scheduledExactUpTo) {
        long due = CountRows.bound(dueExactUpTo);
        long scheduled = CountRows.bound(scheduledExactUpTo);
        return walkRows(SqlName.MetricsQueueDepth, s -> s.bind("$1", due).bind("$2", scheduled), CountRows::depthRow)
                .map(rows -> CountRows.depths(rows, due, scheduled));
    }

    @Override
    public Mono<Void> sendSignals(String channel, List<String> payloads) {
        String[] array = payloads.toArray(String[]::new);
        return rows(SqlName.SignalSend, s -> s.bind("$1", channel).bind("$2", array), row -> Boolean.TRUE).then();
    }

    @Override
    public Mono<Void> listen(Connection listenerConnection, String channel) {
        // the channel is derived from the schema name by a hash: a short, safe identifier
        return R2dbc.update(listenerConnection.createStatement("LISTEN " + channel)).then();
    }

    @Override
    public Mono<Boolean> listening(Connection listenerConnection, String channel) {
        return R2dbc.query(statement(listenerConnection, SqlName.SignalListening).bind("$1", channel),
                row -> Boolean.TRUE).hasElements();
    }

    // ---- schema

    @Override
    public SchemaName schema() {
        return sql.schema();
    }

    @Override
    public Mono<MigrationResult> migrate() {
        return migrator.migrate();
    }

    @Override
    public Mono<Integer> schemaVersion() {
        return migrator.currentVersion();
    }

    @Override
    public int latestSchemaVersion() {
        return migrator.latestVersion();
    }

    @Override
    public Mono<Integer> verifySchemaVersion() {
        return migrator.verifyCurrent();
    }

    /** A status as the database spells it; throws on one this library does not know. */
    static JobStatus status(String databaseValue) {
        return JobStatus.fromDatabase(databaseValue);
    }

    /** Whether {@code error} is PostgreSQL breaking a deadlock (SQLSTATE 40P01); the transaction was rolled back. */
    public static boolean isDeadlock(Throwable error) {
        return R2dbc.isDeadlock(error);
    }

    /**
     * Retries a transaction of this library's own that PostgreSQL broke as a deadlock (it was rolled
     * back, so running it again is safe): up to 3 more times with a short backoff, then its error.
     * Never for work on a caller's connection: that transaction is the caller's to retry.
     */
    public static Retry retryDeadlocks() {
        return Retry.backoff(3, Duration.ofMillis(20)).filter(PgJobStore::isDeadlock)
                .onRetryExhaustedThrow((spec, signal) -> signal.failure());
    }

    /** Whether {@code error} is a lock wait that ran past {@code lock_timeout} (SQLSTATE 55P03). */
    public static boolean isLockTimeout(Throwable error) {
        return R2dbc.isLockTimeout(error);
    }

    /**
     * Whether {@code error} is one that running the same statement again cannot cure: SQLSTATE
     * class 42 (a missing privilege, 42501; a table or column that does not exist), 23 (a violated
     * constraint) or 22 (a value the column cannot take), found in its causes. Everything else is
     * taken as transient: a lost connection, a timeout, a serialization failure or deadlock (40001,
     * 40P01), a lock wait past {@code lock_timeout} (55P03), a database that is unavailable.
     */
    public static boolean isPermanent(Throwable error) {
        Throwable database = R2dbc.databaseError(error);
        for (Throwable e = error; e != null && e != database; e = e.getCause() == e ? null : e.getCause()) {
            if (e instanceof DatabaseUnavailableException) {
                return false; // no connection: whatever the server said beneath it may pass
            }
        }
        String state = R2dbc.sqlState(error);
        return state.startsWith("42") || state.startsWith("23") || state.startsWith("22");
    }

    @Override
    public String toString() {
        return "PgJobStore[" + sql.schema() + "]";
    }

}
