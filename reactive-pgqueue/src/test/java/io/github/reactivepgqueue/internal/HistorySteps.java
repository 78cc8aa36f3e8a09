package io.github.reactivepgqueue.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The generator of {@link QueueModelIT}: a history is a list of steps, each drawn by weight from
 * the kinds below. A step's parameters are fixed when it is drawn and name workers, jobs and claims
 * by position, taken modulo what exists when it runs, so any step can be removed and the others
 * still run: the shrinker ({@link Shrinker}) relies on that.
 */
final class HistorySteps {
    /** One step: what a failing history prints, and what it does. */
    record Step(String description, Consumer<History> action) {
        @Override
        public String toString() {
            return description;
        }
    }

    private record Kind(int weight, Function<SplittableRandom, Step> draw) {
    }

    private static final long[] DELAYS = {0, 10, 30};
    private static final String[] KEYS = {null, "a", "b"};
    private static final ModelOutcome[] OUTCOMES = ModelOutcome.values();
    /** Job and claim positions a step may pick (modulo how many there are). */
    private static final int PICKS = 8;

    private static final List<Kind> KINDS = List.of(
            new Kind(3, r -> {
                List<History.JobSpec> jobs = jobs(r);
                return new Step("enqueue " + jobs, h -> h.enqueue(jobs));
            }),
            new Kind(3, r -> {
                int w = worker(r);
                int limit = r.nextInt(1, 4);
                return new Step(name(w) + " claims up to " + limit, h -> h.claim(w, limit));
            }),
            new Kind(2, r -> {
                int w = worker(r);
                return new Step(name(w) + " beats", h -> h.beat(w));
            }),
            new Kind(5, r -> {
                int w = worker(r);
                int pick = r.nextInt(PICKS);
                ModelOutcome outcome = OUTCOMES[r.nextInt(OUTCOMES.length)];
                return new Step(name(w) + " writes " + outcome + " for its held job #" + pick,
                        h -> h.complete(w, pick, outcome));
            }),
            new Kind(1, r -> {
                int pick = r.nextInt(PICKS);
                ModelOutcome outcome = OUTCOMES[r.nextInt(OUTCOMES.length)];
                return new Step("a zombie writes " + outcome + " with claim #" + pick, h -> h.zombieWrite(pick, outcome));
            }),
            new Kind(3, r -> new Step("time passes " + QueueModel.TICK + " min", h -> h.advanceClock(1))),
            new Kind(2, r -> new Step("a long pause: time passes " + 3 * QueueModel.TICK + " min",
                    h -> h.advanceClock(3))),
            new Kind(3, r -> new Step("reaper", History::reap)),
            new Kind(2, r -> new Step("janitor", History::janitor)),
            new Kind(1, r -> new Step("retention", History::retention)),
            new Kind(1, r -> {
                int w = worker(r);
                return new Step(name(w) + " crashes", h -> h.crash(w));
            }),
            new Kind(1, r -> new Step("database restart", History::restartDatabase)),
            new Kind(1, r -> {
                int pick = r.nextInt(PICKS);
                return new Step("admin cancels job #" + pick, h -> h.cancel(pick));
            }),
            new Kind(1, r -> {
                int pick = r.nextInt(PICKS);
                return new Step("admin requeues dead job #" + pick, h -> h.requeue(pick));
            }));
    private static final int TOTAL_WEIGHT = KINDS.stream().mapToInt(Kind::weight).sum();

    private HistorySteps() {
    }

    /** The history of {@code length} steps that {@code seed} makes: the same seed, the same history. */
    static List<Step> generate(long seed, int length) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Step> steps = new ArrayList<>();
        while (steps.size() < length) {
            int ticket = random.nextInt(TOTAL_WEIGHT);
            Kind kind = KINDS.get(0);
            for (int i = 0; ticket >= kind.weight(); kind = KINDS.get(++i)) {
                ticket -= kind.weight();
            }
            steps.add(kind.draw().apply(random));
        }
        return steps;
    }

    /** One to three jobs: delay 0, 10 or 30 min; 1-3 attempts; no unique key, or a or b. */
    private static List<History.JobSpec> jobs(SplittableRandom random) {
        List<History.JobSpec> jobs = new ArrayList<>();
        for (int n = random.nextInt(1, 4); n > 0; n--) {
            jobs.add(new History.JobSpec(DELAYS[random.nextInt(DELAYS.length)], random.nextInt(1, 4),
                    KEYS[random.nextInt(KEYS.length)]));
        }
        return jobs;
    }

    private static int worker(SplittableRandom random) {
        return random.nextInt(QueueUnderTest.WORKERS);
    }

    private static String name(int worker) {
        return "W" + (worker + 1);
    }
}
