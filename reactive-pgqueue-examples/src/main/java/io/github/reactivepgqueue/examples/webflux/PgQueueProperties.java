package io.github.reactivepgqueue.examples.webflux;

import java.time.Duration;
import java.util.Objects;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The {@code pgqueue.*} properties of the application. Everything else the builder offers is set
 * by {@link PgQueueCustomizer} beans.
 *
 * @param schema          the schema of the queue's tables ({@code pgqueue.schema}); the library
 *                        validates and quotes it
 * @param startTimeout    longest wait at start-up for the migration and the start of the workers
 *                        ({@code pgqueue.start-timeout}); past it the application fails to start
 * @param stopGracePeriod how long running handlers may finish at shutdown
 *                        ({@code pgqueue.stop-grace-period}); keep
 *                        {@code spring.lifecycle.timeout-per-shutdown-phase} above twice this
 */
@ConfigurationProperties("pgqueue")
public record PgQueueProperties(@DefaultValue("pgqueue") String schema,
                                @DefaultValue("60s") Duration startTimeout,
                                @DefaultValue("10s") Duration stopGracePeriod) {

    /** Checks that the durations are given and positive. */
    public PgQueueProperties {
        Objects.requireNonNull(schema, "pgqueue.schema");
        requirePositive(startTimeout, "pgqueue.start-timeout");
        requirePositive(stopGracePeriod, "pgqueue.stop-grace-period");
    }

    private static void requirePositive(Duration duration, String property) {
        if (duration == null || duration.isZero() || duration.isNegative()) {
            throw new IllegalArgumentException(property + " must be a positive duration but was " + duration);
        }
    }
}
