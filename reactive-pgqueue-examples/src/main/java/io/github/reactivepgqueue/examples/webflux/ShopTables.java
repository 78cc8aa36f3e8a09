package io.github.reactivepgqueue.examples.webflux;

import java.time.Duration;
import org.springframework.beans.factory.InitializingBean;
import org.springframework.r2dbc.core.DatabaseClient;
import reactor.core.publisher.Flux;

/**
 * Creates the shop's tables (orders, and stock with two products) if they do not exist, while the
 * context starts, on the thread that starts it.
 */
final class ShopTables implements InitializingBean {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final DatabaseClient databaseClient;
    private final ShopSql sql;

    ShopTables(DatabaseClient databaseClient, ShopSql sql) {
        this.databaseClient = databaseClient;
        this.sql = sql;
    }

    @Override
    public void afterPropertiesSet() {
        Flux.fromIterable(sql.createTables)
                .concatMap(statement -> databaseClient.sql(statement).then())
                .then()
                .block(TIMEOUT);
    }
}
