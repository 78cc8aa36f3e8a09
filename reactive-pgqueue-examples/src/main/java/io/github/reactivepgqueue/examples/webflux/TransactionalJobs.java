package io.github.reactivepgqueue.examples.webflux;

import io.github.reactivepgqueue.EnqueueResult;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.PgQueue;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.transaction.NoTransactionException;
import org.springframework.transaction.reactive.TransactionSynchronizationManager;
import reactor.core.publisher.Mono;

/**
 * Enqueues jobs inside the Spring R2DBC transaction of the calling flow (one opened by a
 * {@code TransactionalOperator} or a {@code @Transactional} method), so that a job exists exactly
 * when the transaction commits.
 *
 * <p>Spring binds a transaction's connection to the Reactor context of the flow, not to a thread.
 * {@link DatabaseClient#inConnection} looks it up there (through
 * {@code ConnectionFactoryUtils.getConnection}), hands it to {@link PgQueue#enqueue(io.r2dbc.spi.Connection,
 * NewJob)} and leaves it open for the transaction; the business statements of the same flow,
 * written with the same {@code DatabaseClient} (or Spring Data R2DBC), run on that very connection.
 *
 * <p>Both methods fail with {@link IllegalStateException} when the flow has no transaction: the
 * job would then commit on its own at once, whatever became of the business change, which is
 * what {@link PgQueue#enqueue(NewJob)} is for.
 */
public final class TransactionalJobs {
    private final PgQueue queue;
    private final DatabaseClient databaseClient;

    /** Enqueues into {@code queue} on the transactional connections of {@code databaseClient}'s factory. */
    public TransactionalJobs(PgQueue queue, DatabaseClient databaseClient) {
        this.queue = Objects.requireNonNull(queue, "queue");
        this.databaseClient = Objects.requireNonNull(databaseClient, "databaseClient");
    }

    /** Enqueues {@code job} in the current transaction. */
    public Mono<EnqueueResult> enqueue(NewJob job) {
        Objects.requireNonNull(job, "job");
        return requireTransaction().then(databaseClient.inConnection(conn -> queue.enqueue(conn, job)));
    }

    /** Enqueues {@code jobs} in the current transaction, all or none; results in input order. */
    public Mono<List<EnqueueResult>> enqueueAll(Collection<NewJob> jobs) {
        Objects.requireNonNull(jobs, "jobs");
        return requireTransaction().then(databaseClient.inConnection(conn -> queue.enqueueAll(conn, jobs)));
    }

    private static Mono<Void> requireTransaction() {
        return TransactionSynchronizationManager.forCurrentTransaction()
                .onErrorResume(NoTransactionException.class, e -> Mono.empty())
                .filter(TransactionSynchronizationManager::isActualTransactionActive)
                .switchIfEmpty(Mono.error(() -> new IllegalStateException("No R2DBC transaction is active: run the "
                        + "enqueue inside TransactionalOperator.transactional(...) or a @Transactional method,"
                        + " or use PgQueue.enqueue(job) for a job of its own")))
                .then();
    }
}
