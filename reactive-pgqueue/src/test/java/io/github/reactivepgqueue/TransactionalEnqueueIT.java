package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.spi.Connection;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/** Enqueueing inside the caller's own R2DBC transaction. */
@ExtendWith(PostgresExtension.class)
class TransactionalEnqueueIT {
    private final TestSchema db;
    private final PgQueue queue;

    TransactionalEnqueueIT(TestSchema db) {
        this.db = db;
        this.queue = db.migratedQueue();
        db.execute("CREATE TABLE IF NOT EXISTS {schema}.orders (id text PRIMARY KEY)");
    }

    @BeforeEach
    void empty() {
        db.execute("DELETE FROM {schema}.jobs");
        db.execute("DELETE FROM {schema}.orders");
    }

    /** Runs {@code work} in a transaction that commits, or rolls back when {@code commit} is false. */
    private <T> Mono<T> inTransaction(boolean commit, Function<Connection, Mono<T>> work) {
        return Mono.usingWhen(db.connectionFactory().create(),
                conn -> Mono.from(conn.beginTransaction())
                        .then(work.apply(conn))
                        .flatMap(value -> Mono.from(commit ? conn.commitTransaction() : conn.rollbackTransaction())
                                .thenReturn(value)),
                conn -> conn.close());
    }

    private Mono<Long> insertOrder(Connection conn, String id) {
        return Flux.from(conn.createStatement("INSERT INTO \"" + db.name() + "\".orders (id) VALUES ($1)")
                .bind("$1", id).execute()).flatMap(r -> r.getRowsUpdated()).reduce(0L, Long::sum);
    }

    @Test
    void aCommittedTransactionKeepsTheJobAndTheBusinessRow() {
        EnqueueResult result = inTransaction(true, conn -> insertOrder(conn, "o-1")
                .then(queue.enqueue(conn, NewJob.of("ship", "o-1")))).block(TIMEOUT);

        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE id = $1", result.id())).isEqualTo(1);
        assertThat(db.rows("orders")).isEqualTo(1);
    }

    @Test
    void aRolledBackTransactionLeavesNoJob() {
        List<EnqueueResult> results = inTransaction(false, conn -> insertOrder(conn, "o-2")
                .then(queue.enqueue(conn, NewJob.of("ship", "o-2")))
                .then(queue.enqueueAll(conn, List.of(NewJob.of("ship", 1), NewJob.of("ship", 2))))).block(TIMEOUT);

        assertThat(results).hasSize(2);
        assertThat(db.rows("jobs")).isZero();
        assertThat(db.rows("orders")).isZero();
    }

    @Test
    void aFailureLaterInTheTransactionRollsBackTheJob() {
        inTransaction(true, conn -> queue.enqueue(conn, NewJob.of("ship", "o-3"))
                        .then(insertOrder(conn, "o-3"))
                        .then(insertOrder(conn, "o-3"))) // duplicate primary key
                .as(StepVerifier::create)
                .expectError()
                .verify(TIMEOUT);

        assertThat(db.rows("jobs")).isZero();
        assertThat(db.rows("orders")).isZero();
    }

    @Test
    void aJobEnqueuedInAnOpenTransactionIsInvisibleUntilCommit() {
        Mono<Long> visibleDuringTransaction = inTransaction(true, conn -> queue.enqueue(conn, NewJob.of("ship", "x"))
                .then(Mono.fromCallable(() -> 0L))
                .flatMap(ignored -> Mono.usingWhen(db.connectionFactory().create(),
                        other -> Flux.from(other.createStatement("SELECT count(*) AS n FROM \"" + db.name() + "\".jobs")
                                .execute()).flatMap(r -> r.map((row, m) -> row.get("n", Long.class))).single(),
                        other -> other.close())));

        assertThat(visibleDuringTransaction.block(TIMEOUT)).isZero();
        assertThat(db.rows("jobs")).isEqualTo(1);
    }
}
