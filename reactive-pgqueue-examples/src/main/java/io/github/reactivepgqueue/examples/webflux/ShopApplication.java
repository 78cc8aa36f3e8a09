package io.github.reactivepgqueue.examples.webflux;

import io.github.reactivepgqueue.examples.support.ExampleDatabase;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.support.GenericApplicationContext;

/**
 * A small shop on Spring Boot WebFlux that uses reactive-pgqueue (see {@code docs/spring-webflux.md}):
 * <ul>
 *   <li>{@code POST /emails} enqueues an email without blocking; {@link SendEmailHandler} sends it;</li>
 *   <li>{@code POST /orders} inserts an order, enqueues its shipping job and reserves the stock in
 *       one R2DBC transaction ({@link OrderService}); {@link ShipOrderHandler} ships it;</li>
 *   <li>{@code /admin/...}: counts, the dead-letter table and requeue, pause and resume
 *       ({@link QueueAdminController}).</li>
 * </ul>
 * The queue itself is wired by {@link PgQueueConfiguration}.
 *
 * <p>Run it from the repository root with
 * <pre>
 * mvn -pl reactive-pgqueue-examples -am compile exec:java \
 *     -Dexec.mainClass=io.github.reactivepgqueue.examples.webflux.ShopApplication
 * mvn -pl reactive-pgqueue-examples -am compile exec:java \
 *     -Dexec.mainClass=io.github.reactivepgqueue.examples.webflux.ShopApplication \
 *     -Dexec.args="postgresql://user:password@host:5432/db --server.port=8081"
 * </pre>
 * The database is the one named by the first argument that does not start with {@code --}, or by
 * the environment variable {@code PGQUEUE_DATABASE_URL}, as for the demo; without either, an
 * embedded PostgreSQL is started and stopped with the application. Arguments starting with
 * {@code --} are Spring properties; {@code --spring.r2dbc.url=r2dbc:postgresql://...} (with
 * {@code --spring.r2dbc.username} and {@code --spring.r2dbc.password}), or the environment
 * variable {@code SPRING_R2DBC_URL}, is taken as it is.
 */
@SpringBootApplication
public class ShopApplication {

    /** Starts the shop; it runs until the process is stopped. */
    public static void main(String[] args) throws IOException {
        List<String> springArguments = new ArrayList<>();
        List<String> databaseArguments = new ArrayList<>();
        for (String arg : args) {
            (arg.startsWith("--") ? springArguments : databaseArguments).add(arg);
        }
        SpringApplication application = new SpringApplication(ShopApplication.class);
        boolean springHasUrl = springArguments.stream().anyMatch(arg -> arg.startsWith("--spring.r2dbc.url="))
                || System.getenv("SPRING_R2DBC_URL") != null;
        if (!springHasUrl) {
            ExampleDatabase database = ExampleDatabase.open(databaseArguments.toArray(String[]::new));
            System.out.println("database: " + database.description());
            application.setDefaultProperties(r2dbcProperties(database));
            // a bean, so that the context closes it (an embedded server is stopped) after the pool
            application.addInitializers(context -> ((GenericApplicationContext) context)
                    .registerBean("exampleDatabase", ExampleDatabase.class, () -> database));
        }
        ConfigurableApplicationContext context = application.run(springArguments.toArray(String[]::new));
        System.out.println("shop listening on http://localhost:" + context.getEnvironment().getProperty("local.server.port")
                + " (requests to try: docs/spring-webflux.md); Ctrl-C stops it");
    }

    /** Spring Boot's {@code spring.r2dbc.*} properties for {@code database}. */
    static Map<String, Object> r2dbcProperties(ExampleDatabase database) {
        Map<String, Object> properties = new HashMap<>();
        properties.put("spring.r2dbc.url", database.r2dbcUrl());
        properties.put("spring.r2dbc.username", database.user());
        database.password().ifPresent(password -> properties.put("spring.r2dbc.password", password));
        return properties;
    }
}
