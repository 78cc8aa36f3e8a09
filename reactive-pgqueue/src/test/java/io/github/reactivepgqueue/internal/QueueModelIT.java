package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.testing.TestSchema;
import java.util.function.BiConsumer;
import java.util.function.Function;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.state.Action;
import net.jqwik.api.state.ActionChain;
import net.jqwik.api.state.Transformer;
import net.jqwik.api.statistics.Statistics;

/**
 * "Nothing is lost": random histories of enqueue, claim, heartbeat, outcome writes (current and
 * stale), time passing, reaper, janitor, retention, cancel, requeue, worker crash and database
 * restart, run on the real library and database step by step and compared after every step with a
 * reference model ({@link History}, {@link QueueModel}); every history ends with a drain that
 * must finish every job. A failing history shrinks to a minimal one. See docs/testing.md.
 */
class QueueModelIT {
    /** Steps per history; short histories keep 1,000 of them cheap, and most bugs need few steps. */
    private static final int MAX_STEPS = 25;

    private static TestSchema schema;
    private static QueueUnderTest queue;

    @BeforeContainer
    static void start() {
        schema = TestSchema.forClass(QueueModelIT.class);
        queue = new QueueUnderTest(schema);
    }

    @AfterContainer
    static void stop() {
        try {
            if (queue != null) {
                queue.close();
            }
        } finally {
            if (schema != null) {
                schema.close();
            }
        }
    }

    @Property(tries = 1000)
    void theDatabaseFollowsTheModelAndNothingIsLost(@ForAll("histories") ActionChain<History> chain) {
        History history = chain.withInvariant("the database matches the model", History::check).run();
        history.drain();
        // how many histories reached each interesting state (printed in the jqwik report)
        history.events().forEach(event -> Statistics.label("histories with").collect(event));
    }

    @Provide
    Arbitrary<ActionChain<History>> histories() {
        Arbitrary<Integer> worker = Arbitraries.integers().between(0, QueueUnderTest.WORKERS - 1);
        Arbitrary<Integer> pick = Arbitraries.integers().between(0, 7);
        Arbitrary<ModelOutcome> outcome = Arbitraries.of(ModelOutcome.class);
        Arbitrary<History.JobSpec> job = Combinators.combine(
                        Arbitraries.of(0L, 10L, 30L), Arbitraries.integers().between(1, 3), Arbitraries.of("", "a", "b"))
                .as((delay, attempts, key) -> new History.JobSpec(delay, attempts, key.isEmpty() ? null : key));
        return ActionChain.startWith(() -> History.start(queue))
                .withAction(3, step(job.list().ofMinSize(1).ofMaxSize(3), jobs -> "enqueue " + jobs, History::enqueue))
                .withAction(3, step(Combinators.combine(worker, Arbitraries.integers().between(1, 3)).as(Pair::new),
                        p -> "W" + (p.a() + 1) + " claims up to " + p.b(), (h, p) -> h.claim(p.a(), p.b())))
                .withAction(2, step(worker, w -> "W" + (w + 1) + " beats", History::beat))
                .withAction(5, step(Combinators.combine(worker, pick, outcome).as(Triple::new),
                        t -> "W" + (t.a() + 1) + " writes " + t.c() + " for its held job #" + t.b(),
                        (h, t) -> h.complete(t.a(), t.b(), t.c())))
                .withAction(1, step(Combinators.combine(pick, outcome).as(Pair::new),
                        p -> "a zombie writes " + p.b() + " with claim #" + p.a(), (h, p) -> h.zombieWrite(p.a(), p.b())))
                .withAction(3, just("time passes " + QueueModel.TICK + " min", h -> h.advanceClock(1)))
                .withAction(2, just("a long pause: time passes " + 3 * QueueModel.TICK + " min", h -> h.advanceClock(3)))
                .withAction(3, just("reaper", History::reap))
                .withAction(2, just("janitor", History::janitor))
                .withAction(1, just("retention", History::retention))
                .withAction(1, step(worker, w -> "W" + (w + 1) + " crashes", History::crash))
                .withAction(1, just("database restart", History::restartDatabase))
                .withAction(1, step(pick, i -> "admin cancels job #" + i, History::cancel))
                .withAction(1, step(pick, i -> "admin requeues dead job #" + i, History::requeue))
                .withMaxTransformations(MAX_STEPS);
    }

    private static Action<History> just(String description, java.util.function.Consumer<History> step) {
        return Action.just(Transformer.mutate(description, step));
    }

    private static <T> Action<History> step(Arbitrary<T> parameters, Function<T, String> description,
                                            BiConsumer<History, T> step) {
        return (Action.Independent<History>) () -> parameters.map(
                p -> Transformer.mutate(description.apply(p), h -> step.accept(h, p)));
    }

    private record Pair<A, B>(A a, B b) {
    }

    private record Triple<A, B, C>(A a, B b, C c) {
    }
}
