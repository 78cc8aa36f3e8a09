package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;

import io.github.reactivepgqueue.testing.DatabaseCoordinates;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.stream.IntStream;
import reactor.core.publisher.Mono;

/**
 * Run by {@link WithoutMicrometerIT} in a class loader that has no Micrometer: lists the builder's
 * methods by reflection, migrates, enqueues, runs and awaits jobs as an application without
 * Micrometer would. Its argument: host, port,
 * database, user, password and schema; it returns what it saw.
 */
public final class WithoutMicrometerScenario implements Function<List<String>, String> {
    @Override
    public String apply(List<String> args) {
        try {
            Class.forName("io.micrometer.core.instrument.MeterRegistry");
            throw new AssertionError("Micrometer is on this class loader's path");
        } catch (ClassNotFoundException expected) {
            // as intended
        }
        // reflection over the API, as frameworks do, resolves every method's parameter types
        String builderMethods = Arrays.stream(PgQueueBuilder.class.getMethods()).map(Method::getName)
                .filter(name -> name.equals("meterRegistry")).findFirst().orElse("no meterRegistry");
        String refused;
        try {
            PgQueue.builder(new io.r2dbc.postgresql.PostgresqlConnectionFactory(
                    io.r2dbc.postgresql.PostgresqlConnectionConfiguration.builder().host("localhost").username("nobody")
                            .build())).meterRegistry("not a registry");
            refused = "accepted a String";
        } catch (IllegalArgumentException e) {
            refused = "refused a String";
        }
        DatabaseCoordinates db = new DatabaseCoordinates(args.get(0), Integer.parseInt(args.get(1)), args.get(2),
                args.get(3), args.get(4).isEmpty() ? null : args.get(4), "the test database");
        PgQueue queue = PgQueue.builder(db.connectionFactory("pgqueue-without-micrometer"))
                .schema(args.get(5))
                .janitor(false)
                .pollInterval(Duration.ofMillis(50))
                .handler(ReactiveHandler.of("plain", job -> Mono.just(Outcome.success())))
                .build();
        queue.migrate().block(TIMEOUT);
        List<EnqueueResult> enqueued = queue.enqueueAll(IntStream.range(0, 3).mapToObj(i -> NewJob.of("plain", i))
                .toList()).block(TIMEOUT);
        queue.start().block(TIMEOUT);
        StringBuilder seen = new StringBuilder();
        for (EnqueueResult r : enqueued) {
            seen.append(queue.awaitCompletion(r.id()).block(TIMEOUT).status()).append(' ');
        }
        queue.close().block(TIMEOUT);
        return seen.toString().strip() + "; in flight " + queue.jobsInFlight() + "; stale " + queue.staleWrites()
                + "; loaded by " + PgQueue.class.getClassLoader().getName() + "; builder has " + builderMethods + ", which " + refused;
    }
}
