package io.github.reactivepgqueue.examples.webflux;

/** The stock cannot cover an order: answered 409 Conflict, and the order's transaction rolls back. */
public final class OutOfStockException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    OutOfStockException(String sku, int quantity) {
        super("Not enough stock of '" + sku + "' for " + quantity + " items");
    }
}
