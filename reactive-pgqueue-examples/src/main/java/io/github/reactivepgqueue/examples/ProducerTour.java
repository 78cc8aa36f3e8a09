package io.github.reactivepgqueue.examples;

import io.github.reactivepgqueue.EnqueueResult;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.PgQueue;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.util.List;
import java.util.function.Function;
import reactor.core.publisher.Mono;

/**
 * Two producer features, shown before the workers start: a unique key that turns a second enqueue
 * into a {@link EnqueueResult.Duplicate}, and an enqueue inside the caller's transaction that
 * leaves nothing behind when the transaction is rolled back. Each fails the demo if the queue does
 * not behave as shown.
 */
final class ProducerTour {
    private final PgQueue queue;
    private final ConnectionFactory connections;
    private final DemoTally tally;
    private final Screen screen;

    ProducerTour(PgQueue queue, ConnectionFactory connections, DemoTally tally, Screen screen) {
        this.queue = queue;
        this.connections = connections;
        this.tally = tally;
        this.screen = screen;
    }

    Mono<Void> run() {
        return uniqueKey().then(rolledBackEnqueue());
    }

    private Mono<Void> uniqueKey() {
        NewJob invoice = ShopJobs.invoiceWithUniqueKey();
        String key = invoice.uniqueKey().orElseThrow();
        return queue.enqueue(invoice)
                .zipWhen(first -> queue.enqueue(invoice))
                .doOnNext(results -> tally.enqueued(List.of(invoice, invoice), List.of(results.getT1(), results.getT2())))
                .flatMap(results -> {
                    EnqueueResult first = results.getT1();
                    EnqueueResult second = results.getT2();
                    if (first instanceof EnqueueResult.Enqueued && second instanceof EnqueueResult.Duplicate
                            && second.id().equals(first.id())) {
                        return screen.say("unique key %s: enqueued job %s; enqueued again: Duplicate of that job,"
                                + " nothing stored", key, first.id());
                    }
                    return Mono.error(new IllegalStateException("Expected the 2nd enqueue of " + key
                            + " to be a duplicate of the 1st, but got " + first + " then " + second));
                });
    }

    private Mono<Void> rolledBackEnqueue() {
        NewJob welcome = ShopJobs.welcomeOfFailedSignUp();
        return inTransactionRolledBack(conn -> queue.enqueue(conn, welcome))
                .map(EnqueueResult::id)
                .flatMap(id -> queue.admin().find(id).hasElement()
                        .flatMap(found -> found
                                ? Mono.error(new IllegalStateException("Job " + id + " survived the rollback"))
                                : screen.say("sign-up transaction: enqueued welcome email %s on the transaction's"
                                        + " connection, then rolled back: admin().find(id) finds nothing", id)));
    }

    /** Runs {@code work} in a transaction on a connection of the pool and rolls it back whatever happens. */
    private Mono<EnqueueResult> inTransactionRolledBack(Function<Connection, Mono<EnqueueResult>> work) {
        return Mono.usingWhen(connections.create(),
                conn -> Mono.usingWhen(Mono.from(conn.beginTransaction()).thenReturn(conn), work,
                        Connection::rollbackTransaction),
                Connection::close);
    }
}
