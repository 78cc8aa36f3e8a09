package io.github.reactivepgqueue.internal.store;

import io.github.reactivepgqueue.DatabaseUnavailableException;
import io.github.reactivepgqueue.MigrationException;
import io.github.reactivepgqueue.MigrationResult;
import io.github.reactivepgqueue.SchemaVersionException;
import io.r2dbc.spi.Connection;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Applies the packaged migrations to one schema. Everything happens in one transaction that first
 * takes a transaction-scoped advisory lock for the schema, so concurrent migrators (many nodes
 * starting at once) run one after the other and the later ones find nothing to do; a failure rolls
 * the whole run back. Each migration file records its own version in {@code schema_version}, so
 * the same files applied by Flyway or by hand leave the schema in the same state.
 */
public final class Migrator {
    private static final Logger log = LoggerFactory.getLogger(Migrator.class);
    private static final String RUN_MIGRATE = ": run PgQueue.migrate() or apply the files under sql/";

    private final Db db;
    private final Sql sql;
    private final List<Migration> migrations;

    public Migrator(Db db, Sql sql, List<Migration> migrations) {
        this.db = db;
        this.sql = sql;
        this.migrations = List.copyOf(migrations);
    }

    List<Migration> migrations() {
        return migrations;
    }

    /** The newest version this library knows. */
    public int latestVersion() {
        return migrations.get(migrations.size() - 1).version();
    }

    /** Brings the schema to the newest version; see the class comment. */
    public Mono<MigrationResult> migrate() {
        // No statement timeout: a migration may rightly take long on a big table.
        return Db.shielded(db.unshielded(conn -> R2dbc.inTransaction(conn, this::migrateLocked)))
                .single()
                .onErrorMap(e -> !(e instanceof SchemaVersionException || e instanceof MigrationException
                                || e instanceof DatabaseUnavailableException),
                        e -> new MigrationException("Migrating schema " + sql.schema() + " failed: " + e.getMessage(), e));
    }

    /** The schema's current version, 0 when it has no tables yet. Needs only read rights. */
    public Mono<Integer> currentVersion() {
        return db.unshielded(this::readVersion).single();
    }

    /** Fails with {@link SchemaVersionException} unless the schema is exactly at the newest version. */
    public Mono<Integer> verifyCurrent() {
        return currentVersion().flatMap(version -> version == latestVersion()
                ? Mono.just(version)
                : Mono.error(version > latestVersion() ? tooNew(version) : new SchemaVersionException(
                        "Schema " + sql.schema() + " is at version " + version + " but this library needs version "
                                + latestVersion() + RUN_MIGRATE, version, latestVersion())));
    }

    /**
     * What a statement that met a missing table or schema (SQLSTATE 42P01, 3F000) signals: the
     * schema was never migrated, and what to do about it.
     */
    public SchemaVersionException notMigrated(Throwable cause) {
        return new SchemaVersionException("Schema " + sql.schema() + " is not migrated (" + cause.getMessage()
                + "), so it is at version 0 but this library needs version " + latestVersion() + RUN_MIGRATE,
                0, latestVersion(), cause);
    }

    private Mono<MigrationResult> migrateLocked(Connection conn) {
        return R2dbc.update(conn.createStatement(sql.get(SqlName.MigrationLock)).bind("$1", lockKey()))
                .then(R2dbc.queryLong(conn.createStatement(sql.get(SqlName.MigrationSchemaExists))
                        .bind("$1", sql.schema().name()), "n"))
                .flatMap(exists -> exists > 0 ? Mono.empty()
                        : R2dbc.update(conn.createStatement(sql.get(SqlName.MigrationSchemaCreate))))
                .then(R2dbc.update(conn.createStatement(sql.get(SqlName.MigrationSearchPath))))
                .then(readVersion(conn))
                .flatMap(from -> applyPending(conn, from));
    }

    private Mono<MigrationResult> applyPending(Connection conn, int from) {
        if (from > latestVersion()) {
            return Mono.error(tooNew(from));
        }
        List<Migration> pending = migrations.stream().filter(m -> m.version() > from).toList();
        List<String> applied = new ArrayList<>();
        return Flux.fromIterable(pending)
                .concatMap(m -> apply(conn, m).doOnSuccess(v -> applied.add(m.fileName())))
                .then(readVersion(conn))
                .flatMap(to -> {
                    if (to != latestVersion()) {
                        return Mono.error(new MigrationException("After applying " + applied + " schema "
                                + sql.schema() + " reports version " + to + " instead of " + latestVersion()
                                + ": a migration file did not record its version"));
                    }
                    if (!applied.isEmpty()) {
                        log.info("Migrated schema {} from version {} to {} ({})", sql.schema(), from, to, applied);
                    }
                    return Mono.just(new MigrationResult(from, to, applied));
                });
    }

    private Mono<Void> apply(Connection conn, Migration migration) {
        // A statement without bind parameters goes through the simple query protocol, which
        // accepts the many statements of a migration file in one round trip.
        return R2dbc.update(conn.createStatement(migration.script()))
                .onErrorMap(e -> new MigrationException("Migration " + migration.fileName() + " failed on schema "
                        + sql.schema() + ": " + e.getMessage(), e))
                .then();
    }

    private Mono<Integer> readVersion(Connection conn) {
        return R2dbc.queryLong(conn.createStatement(sql.get(SqlName.MigrationVersionTableExists))
                        .bind("$1", sql.schema().name()), "n")
                .flatMap(exists -> exists == 0 ? Mono.just(0L)
                        : R2dbc.queryLong(conn.createStatement(sql.get(SqlName.MigrationGetVersion)), "version"))
                .map(Long::intValue);
    }

    private SchemaVersionException tooNew(int found) {
        return new SchemaVersionException("Schema " + sql.schema() + " is at version " + found
                + ", newer than the newest this library knows (" + latestVersion()
                + "); upgrade reactive-pgqueue on this node", found, latestVersion());
    }

    /** A 64-bit advisory lock key for this schema's migrations (FNV-1a of a fixed prefix and the name). */
    long lockKey() {
        long hash = 0xcbf29ce484222325L;
        for (byte b : ("reactive-pgqueue:migrate:" + sql.schema().name()).getBytes(StandardCharsets.UTF_8)) {
            hash ^= b & 0xff;
            hash *= 0x100000001b3L;
        }
        return hash;
    }
}
