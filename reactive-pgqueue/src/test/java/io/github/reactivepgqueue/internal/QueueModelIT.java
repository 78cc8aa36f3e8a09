package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.internal.HistorySteps.Step;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * "Nothing is lost": random histories of enqueue, claim, heartbeat, outcome writes (current and
 * stale), time passing, reaper, janitor, retention, cancel, requeue, worker crash and database
 * restart ({@link HistorySteps}), run on the real library and database step by step and compared
 * after every step with a reference model ({@link History}, {@link QueueModel}); every history ends
 * with a drain that must finish every job. A failing history is shrunk ({@link Shrinker}) and
 * reported with its seed. See docs/testing.md.
 */
@ExtendWith(PostgresExtension.class)
class QueueModelIT {
    /** The first history's seed; history i uses seed + i. Random unless given, printed either way. */
    static final String SEED_PROPERTY = "pgqueue.test.model.seed";
    static final String HISTORIES_PROPERTY = "pgqueue.test.model.histories";
    /** Steps per history; short histories keep 1,000 of them cheap, and most bugs need few steps. */
    private static final int STEPS = 25;

    @Test
    void theDatabaseFollowsTheModelAndNothingIsLost(TestSchema schema) {
        long baseSeed = Long.getLong(SEED_PROPERTY, new SecureRandom().nextLong());
        int histories = Integer.getInteger(HISTORIES_PROPERTY, 1000);
        System.out.printf("[QueueModelIT] %d histories from seed %d (replay: -D%s=%d)%n", histories, baseSeed,
                SEED_PROPERTY, baseSeed);
        // how many histories reached each interesting state
        Map<String, Integer> coverage = new TreeMap<>();
        try (QueueUnderTest queue = new QueueUnderTest(schema)) {
            for (int i = 0; i < histories; i++) {
                long seed = baseSeed + i;
                List<Step> steps = HistorySteps.generate(seed, STEPS);
                Throwable failure = run(queue, steps, coverage);
                if (failure != null) {
                    System.out.printf("[QueueModelIT] history %d failed, seed %d; shrinking%n", i + 1, seed);
                    throw report(queue, i + 1, seed, steps, failure);
                }
            }
        }
        System.out.println("[QueueModelIT] histories with: " + coverage.entrySet().stream()
                .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining("; ")));
    }

    /**
     * One history on emptied tables: each step, then the check of the database against the model;
     * then the drain. Returns its failure, or null when it passes.
     */
    private static Throwable run(QueueUnderTest queue, List<Step> steps, Map<String, Integer> coverage) {
        try {
            History history = History.start(queue);
            for (Step step : steps) {
                step.action().accept(history);
                history.check();
            }
            history.drain();
            history.events().forEach(event -> coverage.merge(event, 1, Integer::sum));
            return null;
        } catch (AssertionError | RuntimeException e) {
            return e;
        }
    }

    private static AssertionError report(QueueUnderTest queue, int number, long seed, List<Step> steps,
                                         Throwable failure) {
        Shrinker.Shrunk<Step> shrunk = Shrinker.shrink(steps, failure, s -> run(queue, s, new HashMap<>()));
        AssertionError error = new AssertionError("History " + number + " failed (seed " + seed + "; run it first with -D"
                + SEED_PROPERTY + "=" + seed + "), shrunk from " + steps.size() + " to " + shrunk.steps().size()
                + " steps:\n  " + shrunk.steps().stream().map(Step::description).collect(Collectors.joining("\n  "))
                + "\n-> " + shrunk.failure().getMessage(), shrunk.failure());
        if (shrunk.failure() != failure) {
            error.addSuppressed(failure);
        }
        return error;
    }
}
