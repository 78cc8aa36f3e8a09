package io.github.reactivepgqueue.testing;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import org.awaitility.core.ConditionFactory;

/** Wait limits and waits that every test class shares. */
public final class Fixtures {
    /**
     * The longest a test waits for a result or a condition. Reached only when something is broken,
     * so it is generous: the machines running the tests are shared.
     */
    public static final Duration TIMEOUT = Duration.ofSeconds(60);

    /** How often a waited-for condition is checked, and the poll interval of the tests' queues. */
    public static final Duration POLL = Duration.ofMillis(50);

    private Fixtures() {
    }

    /** Waits up to {@link #TIMEOUT} for a condition, checking it every {@link #POLL}. */
    public static ConditionFactory waiting() {
        return await().atMost(TIMEOUT).pollInterval(POLL);
    }

    /** Waits {@code duration} while checking that the condition holds all along. */
    public static ConditionFactory holding(Duration duration) {
        return await().during(duration).atMost(duration.plusSeconds(10)).pollInterval(POLL);
    }
}
