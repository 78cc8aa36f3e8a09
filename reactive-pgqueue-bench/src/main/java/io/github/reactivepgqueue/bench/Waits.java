package io.github.reactivepgqueue.bench;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import reactor.core.publisher.Flux;

/** Blocking waits for the benchmark's main thread, timed by Reactor (no sleeping loops). */
final class Waits {
    /** How often conditions and the database are looked at. */
    static final Duration TICK = Duration.ofMillis(20);

    private Waits() {
    }

    /** Blocks until {@code condition} holds, looking every 20 ms; fails after {@code timeout}. */
    static void until(BooleanSupplier condition, Duration timeout, String what) {
        if (condition.getAsBoolean()) {
            return;
        }
        Flux.interval(TICK, TICK)
                .filter(t -> condition.getAsBoolean())
                .next()
                .timeout(timeout, reactor.core.publisher.Mono.error(() ->
                        new IllegalStateException("Timed out after " + timeout + " waiting for " + what)))
                .block();
    }

    /**
     * Blocks until the database says that {@code schema} holds no unfinished (pending or running)
     * job, asking every 20 ms; fails after {@code timeout}.
     */
    static void untilNoLiveJobs(BenchDatabase db, String schema, Duration timeout) {
        String sql = liveJobsSql(schema);
        Flux.interval(Duration.ZERO, TICK)
                .onBackpressureDrop()
                .concatMap(t -> db.countLater(sql), 1)
                .filter(live -> live == 0)
                .next()
                .timeout(timeout, reactor.core.publisher.Mono.error(() ->
                        new IllegalStateException("Timed out after " + timeout + " waiting for the jobs of " + schema
                                + " to finish")))
                .block();
    }

    /** Pending plus running jobs, each counted through its own partial index. */
    static String liveJobsSql(String schema) {
        String jobs = BenchDatabase.quote(schema) + ".jobs";
        return "SELECT (SELECT count(*) FROM " + jobs + " WHERE status = 'pending')"
                + " + (SELECT count(*) FROM " + jobs + " WHERE status = 'running')";
    }

    /** Blocks for {@code time} (the benchmark's main thread only). */
    static void pause(Duration time) {
        reactor.core.publisher.Mono.delay(time).block();
    }
}
