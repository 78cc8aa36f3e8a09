package io.github.reactivepgqueue.examples.webflux;

import java.util.UUID;

/**
 * The payload of a job of queue {@value #QUEUE}.
 *
 * @param orderId the order to ship
 */
public record ShipOrder(UUID orderId) {
    /** The queue of shipping jobs. */
    public static final String QUEUE = "ship-order";
}
