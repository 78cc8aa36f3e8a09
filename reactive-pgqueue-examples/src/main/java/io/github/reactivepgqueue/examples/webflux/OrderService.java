package io.github.reactivepgqueue.examples.webflux;

import io.github.reactivepgqueue.NewJob;
import java.util.UUID;
import org.springframework.stereotype.Service;
import org.springframework.transaction.reactive.TransactionalOperator;
import reactor.core.publisher.Mono;

/**
 * Places orders: the order row, its shipping job and the stock reservation are one R2DBC
 * transaction, so an order that cannot be served leaves neither a row nor a job behind.
 */
@Service
public class OrderService {
    private final Orders orders;
    private final TransactionalJobs jobs;
    private final TransactionalOperator transactions;

    OrderService(Orders orders, TransactionalJobs jobs, TransactionalOperator transactions) {
        this.orders = orders;
        this.jobs = jobs;
        this.transactions = transactions;
    }

    /**
     * Inserts the order, enqueues its shipping job and reserves the stock, in this order and in one
     * transaction; fails with {@link OutOfStockException} (and rolls back the order and the job)
     * when the stock does not cover it.
     */
    public Mono<PlacedOrder> place(OrderRequest request) {
        return orders.insert(request)
                .flatMap(orderId -> jobs.enqueue(NewJob.of(ShipOrder.QUEUE, new ShipOrder(orderId))
                                .uniqueKey("ship:" + orderId))
                        .map(job -> new PlacedOrder(orderId, job.id())))
                .flatMap(placed -> orders.reserveStock(request.sku(), request.quantity()).thenReturn(placed))
                .as(transactions::transactional);
    }

    /**
     * What {@code POST /orders} answers.
     *
     * @param orderId the new order
     * @param jobId   its shipping job
     */
    public record PlacedOrder(UUID orderId, UUID jobId) {
    }
}
