package io.github.reactivepgqueue.examples.webflux;

import java.util.UUID;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.stereotype.Repository;
import reactor.core.publisher.Mono;

/**
 * The orders and stock tables, through Spring's {@link DatabaseClient}: inside a transaction of
 * the calling flow its statements run on the transaction's connection.
 */
@Repository
public class Orders {
    private final DatabaseClient databaseClient;
    private final ShopSql sql;

    Orders(DatabaseClient databaseClient, ShopSql sql) {
        this.databaseClient = databaseClient;
        this.sql = sql;
    }

    /** Inserts a placed order and emits its id (made by the database). */
    public Mono<UUID> insert(OrderRequest order) {
        return databaseClient.sql(sql.insertOrder)
                .bind("sku", order.sku())
                .bind("quantity", order.quantity())
                .bind("email", order.email())
                .map(row -> row.get("id", UUID.class))
                .one();
    }

    /** The order with this id, or empty. */
    public Mono<Order> find(UUID id) {
        return databaseClient.sql(sql.findOrder)
                .bind("id", id)
                .map(row -> new Order(row.get("id", UUID.class), row.get("sku", String.class),
                        row.get("quantity", Integer.class), row.get("email", String.class),
                        row.get("status", String.class)))
                .one();
    }

    /** Marks the order shipped; emits whether it exists. */
    public Mono<Boolean> markShipped(UUID id) {
        return databaseClient.sql(sql.markShipped).bind("id", id).fetch().rowsUpdated().map(rows -> rows > 0);
    }

    /** Takes {@code quantity} items of {@code sku} from the stock, or fails with {@link OutOfStockException}. */
    public Mono<Void> reserveStock(String sku, int quantity) {
        return databaseClient.sql(sql.reserveStock)
                .bind("sku", sku)
                .bind("quantity", quantity)
                .fetch()
                .rowsUpdated()
                .flatMap(rows -> rows == 1 ? Mono.<Void>empty() : Mono.error(new OutOfStockException(sku, quantity)));
    }

    /**
     * An order as stored.
     *
     * @param id       its id
     * @param sku      the product
     * @param quantity how many
     * @param email    the customer's address
     * @param status   {@code placed} or {@code shipped}
     */
    public record Order(UUID id, String sku, int quantity, String email, String status) {
    }
}
