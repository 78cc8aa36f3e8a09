package io.github.reactivepgqueue.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The statements of the raw floor for one schema: minimal ones in the shapes the library uses
 * (no queue logic), and the library's own statements read from its packaged {@code job.sql}, so
 * the floor follows the library's SQL as it changes.
 */
final class FloorSql {
    private static final String LIBRARY_SQL = "/io/github/reactivepgqueue/sql/job.sql";
    private static final Pattern HEADER = Pattern.compile("(?m)^-- name: (\\w+)\\s*$");
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
        String text = read();
        for (String name : LIBRARY_STATEMENTS) {
            library.put(name, parse(text, name));
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

    private String parse(String text, String name) {
        Matcher matcher = HEADER.matcher(text);
        while (matcher.find()) {
            if (matcher.group(1).equals(name)) {
                int start = matcher.end();
                int end = matcher.find() ? matcher.start() : text.length();
                String body = withoutTrailingComments(text.substring(start, end));
                if (body.endsWith(";")) {
                    body = body.substring(0, body.length() - 1).strip();
                }
                return body.replace("/*schema*/", schema);
            }
        }
        throw new IllegalStateException("The library's job.sql has no statement " + name);
    }

    private static String withoutTrailingComments(String body) {
        String[] lines = body.strip().split("\n", -1);
        int end = lines.length;
        while (end > 0 && (lines[end - 1].isBlank() || lines[end - 1].strip().startsWith("--"))) {
            end--;
        }
        return String.join("\n", java.util.Arrays.copyOf(lines, end)).strip();
    }

    private static String read() {
        try (InputStream in = FloorSql.class.getResourceAsStream(LIBRARY_SQL)) {
            if (in == null) {
                throw new IllegalStateException("The library's " + LIBRARY_SQL + " is not on the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
