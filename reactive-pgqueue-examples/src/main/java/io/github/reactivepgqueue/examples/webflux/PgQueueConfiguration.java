package io.github.reactivepgqueue.examples.webflux;

import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.PgQueueBuilder;
import io.github.reactivepgqueue.ReactiveHandler;
import io.r2dbc.spi.ConnectionFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.r2dbc.core.DatabaseClient;

/**
 * Wires reactive-pgqueue into a Spring Boot application: one {@link PgQueue} on the application's
 * own {@link ConnectionFactory} (Spring Boot's r2dbc-pool, configured by {@code spring.r2dbc.*}),
 * with every {@link ReactiveHandler} bean registered, a {@link PgQueueLifecycle} that starts and
 * closes it with the application, and {@link TransactionalJobs} for enqueueing inside Spring's
 * R2DBC transactions.
 *
 * <p>The handler beans must not depend on the {@code PgQueue} bean (that would be a cycle); a
 * handler that enqueues follow-up jobs takes an {@code ObjectProvider<PgQueue>} instead.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(PgQueueProperties.class)
public class PgQueueConfiguration {
    private static final Logger log = LoggerFactory.getLogger(PgQueueConfiguration.class);

    /** The queue; closed by {@link PgQueueLifecycle}, not by bean destruction. */
    @Bean(destroyMethod = "")
    public PgQueue pgQueue(ConnectionFactory connectionFactory, PgQueueProperties properties,
                           ObjectProvider<ReactiveHandler> handlers, ObjectProvider<PgQueueCustomizer> customizers) {
        PgQueueBuilder builder = PgQueue.builder(connectionFactory)
                .schema(properties.schema())
                .stopGracePeriod(properties.stopGracePeriod());
        handlers.orderedStream().forEach(handler -> {
            log.info("Handler of queue {}: {}", handler.queue(), handler);
            builder.handler(handler);
        });
        customizers.orderedStream().forEach(customizer -> customizer.customize(builder));
        return builder.build();
    }

    /** Migrates and starts the queue with the application, closes it at shutdown. */
    @Bean
    public PgQueueLifecycle pgQueueLifecycle(PgQueue pgQueue, PgQueueProperties properties) {
        return new PgQueueLifecycle(pgQueue, properties.startTimeout());
    }

    /** Enqueues on the connection of the current R2DBC transaction. */
    @Bean
    public TransactionalJobs transactionalJobs(PgQueue pgQueue, DatabaseClient databaseClient) {
        return new TransactionalJobs(pgQueue, databaseClient);
    }
}
