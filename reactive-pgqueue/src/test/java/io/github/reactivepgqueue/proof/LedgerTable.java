package io.github.reactivepgqueue.proof;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;

import io.github.reactivepgqueue.Job;
import io.github.reactivepgqueue.testing.Rows;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Statement;
import java.util.List;
import java.util.UUID;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A {@link Ledger} in a table of the test schema ({@code proof_ledger}), so that handlers running
 * in other processes record what they ran where the test can read it. Each entry is one
 * auto-committed insert, written before the handler goes on: a process killed after a START
 * leaves it behind, which is what a crash test wants to see.
 */
public final class LedgerTable implements Ledger {
    private final ConnectionFactory factory;
    private final String table;

    /** The ledger of {@code schema}, written and read through {@code factory} (ideally a pool). */
    public LedgerTable(ConnectionFactory factory, String schema) {
        this.factory = factory;
        this.table = Invariants.quote(schema) + ".proof_ledger";
    }

    /** Creates the table if it does not exist yet (blocking). */
    public LedgerTable create() {
        execute("CREATE TABLE IF NOT EXISTS " + table + " (job_id uuid NOT NULL, attempt integer NOT NULL,"
                + " reprocess_count integer NOT NULL, lease uuid, event text NOT NULL, node text NOT NULL,"
                + " at timestamptz NOT NULL DEFAULT clock_timestamp())");
        return this;
    }

    /** Empties the table (blocking). */
    public void clear() {
        execute("DELETE FROM " + table);
    }

    @Override
    public Mono<Void> record(Job job, LedgerEntry.Event event, String node) {
        return Mono.usingWhen(factory.create(),
                conn -> {
                    Statement insert = conn.createStatement("INSERT INTO " + table
                                    + " (job_id, attempt, reprocess_count, lease, event, node) VALUES ($1, $2, $3, $4, $5, $6)")
                            .bind("$1", job.id()).bind("$2", job.attempt()).bind("$3", job.reprocessCount())
                            .bind("$5", event.name()).bind("$6", node);
                    UUID lease = LedgerEntry.leaseOf(job);
                    if (lease == null) {
                        insert.bindNull("$4", UUID.class);
                    } else {
                        insert.bind("$4", lease);
                    }
                    return Flux.from(insert.execute()).flatMap(result -> result.getRowsUpdated()).then();
                },
                Connection::close);
    }

    @Override
    public List<LedgerEntry> entries() {
        return Rows.query(factory, "SELECT job_id, attempt, reprocess_count, lease, event, node FROM " + table).stream()
                .map(r -> new LedgerEntry(new RunKey((UUID) r.get("job_id"), (Integer) r.get("attempt"),
                        (Integer) r.get("reprocess_count")), (UUID) r.get("lease"), LedgerEntry.Event.valueOf((String) r.get("event")),
                        (String) r.get("node")))
                .toList();
    }

    /** How many entries of {@code event} there are (blocking). */
    public long count(LedgerEntry.Event event) {
        return ((Number) Rows.query(factory, "SELECT count(*) AS n FROM " + table + " WHERE event = $1", event.name())
                .get(0).get("n")).longValue();
    }

    private void execute(String sql) {
        execute(factory, sql);
    }

    /** Runs {@code sql} on a connection of {@code factory} (blocking). */
    static void execute(ConnectionFactory factory, String sql) {
        Flux.usingWhen(factory.create(), conn -> Flux.from(conn.createStatement(sql).execute())
                        .flatMap(result -> result.getRowsUpdated()), Connection::close)
                .blockLast(TIMEOUT);
    }
}
