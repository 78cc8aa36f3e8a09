package io.github.reactivepgqueue.internal;

import io.r2dbc.spi.Statement;
import java.time.Duration;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Moves finished jobs out of the live table (completed ones to the archive, dead ones to the
 * dead-letter table) and deletes archived and dead jobs past their retention. Every step is one
 * statement over a bounded batch, repeated while batches come back full; any number of nodes may
 * run it at once.
 */
public final class Janitor {
    private static final Logger log = LoggerFactory.getLogger(Janitor.class);

    private final Db db;
    private final Sql sql;
    private final JanitorConfig config;
    private final ServiceLoop<JanitorResult> loop;

    public Janitor(Db db, Sql sql, JanitorConfig config, Scheduler scheduler) {
        this.db = db;
        this.sql = sql;
        this.config = config;
        this.loop = new ServiceLoop<>("Moving and deleting finished jobs", config.interval(), this::runOnce, log,
                scheduler);
    }

    /** Starts the loop, the first run at once, unless the janitor is switched off. */
    public void start() {
        if (config.enabled()) {
            loop.start(Duration.ZERO, Flux.never());
        }
    }

    public void stop() {
        loop.stop();
    }

    /** The loop's runs, for tests to await. */
    public ServiceLoop<JanitorResult> loop() {
        return loop;
    }

    /** Moves every finished job out of the live table, then deletes every expired one. */
    public Mono<JanitorResult> runOnce() {
        return moveFinished().zipWith(deleteExpired(), JanitorResult::new);
    }

    /** Moves every finished job out of the live table; emits how many were moved. */
    public Mono<Long> moveFinished() {
        Mono<long[]> batch = moveBatch();
        return batch.expand(n -> n[0] + n[1] >= config.batchSize() ? batch : Mono.empty())
                .reduce(0L, (sum, n) -> sum + n[0] + n[1]);
    }

    /** Deletes archived and dead jobs past their retention; emits how many were deleted. */
    public Mono<Long> deleteExpired() {
        return deleteOlderThan(SqlName.MaintenanceDeleteArchived, config.archiveRetention())
                .zipWith(deleteOlderThan(SqlName.MaintenanceDeleteDead, config.deadRetention()), Long::sum);
    }

    /** One batch moved: how many rows went to the archive and how many to the dead-letter table. */
    private Mono<long[]> moveBatch() {
        return db.transaction(conn -> R2dbc.query(
                        conn.createStatement(sql.get(SqlName.MaintenanceMoveFinished)).bind("$1", config.batchSize()),
                        row -> new long[] {row.get("archived", Long.class), row.get("dead", Long.class)}))
                .single();
    }

    private Mono<Long> deleteOlderThan(SqlName statement, Duration retention) {
        long micros = OutcomeWrite.micros(retention);
        Supplier<Mono<Long>> batch = () -> deleteBatch(statement, micros);
        return batch.get().expand(n -> n >= config.batchSize() ? batch.get() : Mono.empty()).reduce(0L, Long::sum);
    }

    private Mono<Long> deleteBatch(SqlName statement, long micros) {
        return db.transaction(conn -> R2dbc.update(
                        bind(conn.createStatement(sql.get(statement)), micros)))
                .single();
    }

    private Statement bind(Statement statement, long retentionMicros) {
        return statement.bind("$1", retentionMicros).bind("$2", config.batchSize());
    }
}
