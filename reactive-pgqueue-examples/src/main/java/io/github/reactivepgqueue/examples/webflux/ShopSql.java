package io.github.reactivepgqueue.examples.webflux;

import java.util.List;

/** The shop's SQL, for the schema of {@link ShopProperties} (validated there, quoted here). */
final class ShopSql {
    final List<String> createTables;
    final String insertOrder;
    final String findOrder;
    final String markShipped;
    final String reserveStock;

    ShopSql(ShopProperties properties) {
        String schema = '"' + properties.schema() + '"';
        this.createTables = List.of(
                "CREATE SCHEMA IF NOT EXISTS " + schema,
                "CREATE TABLE IF NOT EXISTS " + schema + ".orders ("
                        + " id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
                        + " sku text NOT NULL,"
                        + " quantity int NOT NULL CHECK (quantity > 0),"
                        + " email text NOT NULL,"
                        + " status text NOT NULL DEFAULT 'placed' CHECK (status IN ('placed', 'shipped')),"
                        + " created_at timestamptz NOT NULL DEFAULT now())",
                "CREATE TABLE IF NOT EXISTS " + schema + ".stock ("
                        + " sku text PRIMARY KEY,"
                        + " available int NOT NULL CHECK (available >= 0))",
                "INSERT INTO " + schema + ".stock (sku, available) VALUES ('book', 1000), ('lamp', 5)"
                        + " ON CONFLICT (sku) DO NOTHING");
        this.insertOrder = "INSERT INTO " + schema + ".orders (sku, quantity, email) VALUES (:sku, :quantity, :email)"
                + " RETURNING id";
        this.findOrder = "SELECT id, sku, quantity, email, status FROM " + schema + ".orders WHERE id = :id";
        this.markShipped = "UPDATE " + schema + ".orders SET status = 'shipped' WHERE id = :id";
        this.reserveStock = "UPDATE " + schema + ".stock SET available = available - :quantity"
                + " WHERE sku = :sku AND available >= :quantity";
    }
}
