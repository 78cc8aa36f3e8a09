package io.github.reactivepgqueue.examples.webflux;

import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.r2dbc.core.DatabaseClient;

/** The shop's own beans that are not components: its SQL and its tables. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(ShopProperties.class)
class ShopConfiguration {

    @Bean
    ShopSql shopSql(ShopProperties properties) {
        return new ShopSql(properties);
    }

    @Bean
    ShopTables shopTables(DatabaseClient databaseClient, ShopSql shopSql) {
        return new ShopTables(databaseClient, shopSql);
    }
}
