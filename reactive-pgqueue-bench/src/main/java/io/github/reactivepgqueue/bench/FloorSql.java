package io.github.reactivepgqueue.bench;

import io.github.reactivepgqueue.internal.store.SchemaName;
import io.github.reactivepgqueue.internal.store.Sql;
import io.github.reactivepgqueue.internal.store.SqlName;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The statements of the raw floor for one schema: minimal ones in the shapes the library uses
 * (no queue logic), and the library's own statements as the library loads them, so
 * the floor follows the library's SQL as it changes.
 */
final class FloorSql {
    /** The library's statements the floor uses. */
    static final List<String> LIBRARY_STATEMENTS =
            List.of("JobInsertManyNoKeys", "JobClaim", "JobCompleteArchiveMany", "JobHeartbeat");

    private final String jobs;
    private final String schema;
    private final Map<String, String> library = new HashMap<>();

    /** Reads the library's statements now (a class-path read, so not on a reactive thread). */
    FloorSql(String schema) {
        this.schema = BenchDatabase.quote(schema);
        this.jobs = this.schema + ".jobs";
        Sql sql = Sql.load(SchemaName.of(schema));
        for (String name : LIBRARY_STATEMENTS) {
            library.put(name, sql.get(SqlName.valueOf(name)));
        }
    }

    /** Inserts a batch: {@code $1} ids, {@code $2} queues, {@code $3} payloads (JSON text). */
    String minimalInsert() {
        return "INSERT INTO " + jobs + " (id, queue, payload, max_attempts)"
                + " SELECT t.id, t.queue, t.payload::jsonb, 5"
                + " FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(id, queue, payload)";
    }

    /**
     * Claims up to {@code $2} due jobs of queue {@code $1}: fresh lease, attempt + 1, heartbeat;
     * the ids chosen by {@code ARRAY(SELECT ... FOR UPDATE SKIP LOCKED)}.
     */
    String minimalClaim() {
        return "UPDATE " + jobs + " SET status = 'running', attempt = attempt + 1, lease = gen_random_uuid(),"
                + " heartbeat_at = now(), updated_at = now()"
                + " WHERE id = ANY (ARRAY(SELECT p.id FROM " + jobs + " p"
                + " WHERE p.queue = $1 AND p.status = 'pending' AND p.run_at <= now()"
                + " ORDER BY p.priority, p.run_at, p.id LIMIT $2 FOR UPDATE SKIP LOCKED))"
                + " RETURNING id, lease, payload::text AS payload";
    }

    /** Completes a batch, each row fenced by its lease: {@code $1} ids, {@code $2} leases. */
    String minimalComplete() {
        return "UPDATE " + jobs + " j SET status = 'completed', completed_at = now(), updated_at = now(),"
                + " lease = NULL, heartbeat_at = NULL"
                + " FROM unnest($1::uuid[], $2::uuid[]) AS t(id, lease)"
                + " WHERE j.id = t.id AND j.lease = t.lease AND j.status = 'running'";
    }

    /** Deletes a finished batch instead, fenced the same way (the shape of the floor). */
    String minimalDelete() {
        return "DELETE FROM " + jobs + " j USING unnest($1::uuid[], $2::uuid[]) AS t(id, lease)"
                + " WHERE j.id = t.id AND j.lease = t.lease";
    }

    /** The library's statement {@code name} (one of {@link #LIBRARY_STATEMENTS}) for this schema. */
    String library(String name) {
        String sql = library.get(name);
        if (sql == null) {
            throw new IllegalArgumentException("Not loaded: " + name);
        }
        return sql;
    }
}
