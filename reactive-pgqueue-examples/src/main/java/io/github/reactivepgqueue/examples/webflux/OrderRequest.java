package io.github.reactivepgqueue.examples.webflux;

import org.jspecify.annotations.Nullable;

/**
 * The body of {@code POST /orders}.
 *
 * @param sku      the product ({@code book} and {@code lamp} are in stock)
 * @param quantity how many, at least 1
 * @param email    the customer's address
 */
public record OrderRequest(String sku, int quantity, String email) {

    /** The first thing wrong with this request, or null if nothing is. */
    @Nullable String problem() {
        if (sku == null || sku.isBlank()) {
            return "sku is required";
        }
        if (quantity < 1) {
            return "quantity must be at least 1";
        }
        if (email == null || email.isBlank()) {
            return "email is required";
        }
        return null;
    }
}
