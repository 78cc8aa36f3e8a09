package io.github.reactivepgqueue.examples.features;

import io.github.reactivepgqueue.EnqueueResult;
import io.github.reactivepgqueue.JobCount;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.examples.ExampleMain;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.util.UUID;
import java.util.function.Function;
import reactor.core.publisher.Mono;

/**
 * Enqueue inside your own R2DBC transaction: a sign-up inserts the account and enqueues its welcome
 * email on the same connection, in the same transaction. The job exists exactly when the account
 * does: the first sign-up commits and keeps both; the second fails after enqueueing (its payment is
 * declined), rolls back, and leaves neither account nor job behind.
 *
 * <p>Run it from the repository root with
 * <pre>
 * mvn -pl reactive-pgqueue-examples -am compile exec:java \
 *     -Dexec.mainClass=io.github.reactivepgqueue.examples.features.EnqueueInTransaction
 * </pre>
 * and optionally {@code -Dexec.args="postgresql://user:password@host:5432/db"}; without a URL it
 * starts an embedded PostgreSQL. It works in the schema {@value #SCHEMA}, which it drops first.
 */
public final class EnqueueInTransaction {
    /** The schema {@code main} uses. */
    public static final String SCHEMA = "pgqueue_tx_example";
    /** The queue of the welcome emails. */
    public static final String QUEUE = "welcome-emails";

    private EnqueueInTransaction() {
    }

    /** A welcome email to send; the job's payload. */
    public record Welcome(String email) {
    }

    /**
     * What the example left behind.
     *
     * @param keptJob     the welcome job of the committed sign-up
     * @param jobsInQueue how many jobs the queue holds afterwards (1: the rolled-back one is gone)
     */
    public record Summary(UUID keptJob, long jobsInQueue) {
    }

    /**
     * Runs the example.
     *
     * @param args optionally the database URL
     */
    public static void main(String[] args) {
        ExampleMain.run("pgqueue-tx-example", args, pool -> runOn(pool, SCHEMA));
    }

    /** The example on {@code connections} in {@code schema}, dropped first: used by {@code main} and the test. */
    public static Mono<Summary> runOn(ConnectionFactory connections, String schema) {
        String accounts = '"' + schema + "\".accounts"; // the application's own table, next to the queue's
        Mono<Void> freshSchema = inTransaction(connections, conn -> execute(conn,
                "DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE")).then();
        return Mono.defer(() -> {
            // build() reads the library's SQL files: build the queue where blocking is allowed, not on an event loop
            PgQueue queue = PgQueue.builder(connections).schema(schema).build();
            return Mono.usingWhen(Mono.just(queue),
                    q -> freshSchema
                            .then(q.migrate())
                            .then(inTransaction(connections, conn -> execute(conn,
                                    "CREATE TABLE " + accounts + " (email text PRIMARY KEY)")))
                            .then(run(q, connections, accounts)),
                    PgQueue::close);
        });
    }

    private static Mono<Summary> run(PgQueue queue, ConnectionFactory connections, String accounts) {
        // 1. committed: the account and its job are both stored
        Mono<UUID> committed = inTransaction(connections, conn -> signUp(queue, conn, accounts, "ada@example.com"))
                .map(EnqueueResult::id)
                .doOnNext(id -> System.out.println("ada signed up: account stored, welcome job " + id + " kept"));
        // 2. rolled back: the job was enqueued, then a later step failed; the rollback takes the job away too
        Mono<Void> rolledBack = inTransaction(connections, conn -> signUp(queue, conn, accounts, "bob@example.com")
                        .then(Mono.error(new IllegalStateException("payment declined"))))
                .onErrorResume(IllegalStateException.class, e -> {
                    System.out.println("bob's sign-up failed (" + e.getMessage() + "): rolled back, job and all");
                    return Mono.empty();
                })
                .then();
        return committed.flatMap(kept -> rolledBack.then(jobsIn(queue)).map(jobs -> new Summary(kept, jobs)))
                .doOnNext(summary -> System.out.println("the queue holds " + summary.jobsInQueue() + " job"));
    }

    /** One sign-up on the caller's connection: the account row, then its welcome email as a job. */
    private static Mono<EnqueueResult> signUp(PgQueue queue, Connection conn, String accounts, String email) {
        return Mono.from(conn.createStatement("INSERT INTO " + accounts + " (email) VALUES ($1)")
                        .bind("$1", email).execute())
                .flatMap(result -> Mono.from(result.getRowsUpdated()))
                // the job is written on this connection, so it commits or rolls back with the account
                .then(queue.enqueue(conn, NewJob.of(QUEUE, new Welcome(email))));
    }

    /**
     * Runs {@code work} in a transaction of its own: commits when it succeeds, rolls back when it
     * fails or is cancelled, and closes the connection either way.
     */
    private static <T> Mono<T> inTransaction(ConnectionFactory connections, Function<Connection, Mono<T>> work) {
        return Mono.usingWhen(connections.create(),
                conn -> Mono.usingWhen(Mono.from(conn.beginTransaction()).thenReturn(conn), work,
                        Connection::commitTransaction, (c, error) -> c.rollbackTransaction(),
                        Connection::rollbackTransaction),
                Connection::close);
    }

    private static Mono<Long> execute(Connection conn, String sql) {
        return Mono.from(conn.createStatement(sql).execute()).flatMap(result -> Mono.from(result.getRowsUpdated()));
    }

    private static Mono<Long> jobsIn(PgQueue queue) {
        return queue.admin().counts(Long.MAX_VALUE)
                .map(counts -> counts.stream().filter(c -> c.queue().equals(QUEUE)).mapToLong(JobCount::jobs).sum());
    }
}
