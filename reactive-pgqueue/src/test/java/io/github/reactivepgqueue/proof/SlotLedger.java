package io.github.reactivepgqueue.proof;

import io.github.reactivepgqueue.Job;
import io.github.reactivepgqueue.testing.Rows;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The witness of recurring jobs: a table of the test schema ({@code proof_slots}) where the
 * handlers of schedule jobs record the schedule and slot their payload names and the job's id,
 * outside the queue's own tables. Each run of a handler is one auto-committed row, so a job run
 * twice (its node killed midway) shows twice, with the same job id; a slot enqueued twice would
 * show with two job ids.
 */
public final class SlotLedger {
    private final ConnectionFactory factory;
    private final String table;

    public SlotLedger(ConnectionFactory factory, String schema) {
        this.factory = factory;
        this.table = Invariants.quote(schema) + ".proof_slots";
    }

    /** Creates the table if it does not exist yet, empty (blocking). */
    public SlotLedger create() {
        execute("CREATE TABLE IF NOT EXISTS " + table
                + " (schedule text NOT NULL, slot text NOT NULL, job_id uuid NOT NULL, node text NOT NULL)");
        execute("DELETE FROM " + table);
        return this;
    }

    /** Records that {@code node} runs the slot job {@code job}. */
    public Mono<Void> record(Job job, String node) {
        return Mono.usingWhen(factory.create(),
                conn -> Flux.from(conn.createStatement("INSERT INTO " + table
                                        + " (schedule, slot, job_id, node) VALUES ($1, $2, $3, $4)")
                                .bind("$1", job.payload().path("schedule").asText())
                                .bind("$2", job.payload().path("slot").asText())
                                .bind("$3", job.id()).bind("$4", node).execute())
                        .flatMap(result -> result.getRowsUpdated()).then(),
                Connection::close);
    }

    /** Per schedule and slot: how many distinct jobs ran it, and how many runs (blocking). */
    public List<Map<String, Object>> slots() {
        return Rows.query(factory, "SELECT schedule, slot, count(DISTINCT job_id) AS jobs, count(*) AS runs FROM "
                + table + " GROUP BY schedule, slot ORDER BY schedule, slot");
    }

    private void execute(String sql) {
        LedgerTable.execute(factory, sql);
    }
}
