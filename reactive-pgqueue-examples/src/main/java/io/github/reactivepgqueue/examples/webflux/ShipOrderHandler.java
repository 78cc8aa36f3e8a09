package io.github.reactivepgqueue.examples.webflux;

import io.github.reactivepgqueue.Job;
import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.ReactiveHandler;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/** Ships orders: the handler of queue {@value ShipOrder#QUEUE}, registered because it is a bean. */
@Component
public class ShipOrderHandler implements ReactiveHandler {
    private final Orders orders;

    ShipOrderHandler(Orders orders) {
        this.orders = orders;
    }

    @Override
    public String queue() {
        return ShipOrder.QUEUE;
    }

    @Override
    public Mono<Outcome> handle(Job job) {
        ShipOrder shipping = job.payload(ShipOrder.class);
        // a real shop would call the carrier here; marking the order is idempotent, as handlers should be
        return orders.markShipped(shipping.orderId())
                .map(found -> found ? Outcome.success()
                        : Outcome.unprocessable().withReason("no order " + shipping.orderId()));
    }

    @Override
    public String toString() {
        return "ShipOrderHandler";
    }
}
