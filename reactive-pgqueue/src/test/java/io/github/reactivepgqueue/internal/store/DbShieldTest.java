package io.github.reactivepgqueue.internal.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.internal.Shielded;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Hooks;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

/** Work run to its end whatever its subscriber does, and what a subscriber that left hears of it. */
class DbShieldTest {
    private final List<Throwable> dropped = new CopyOnWriteArrayList<>();

    @BeforeEach
    void watchDroppedErrors() {
        Hooks.onErrorDropped(dropped::add);
    }

    @AfterEach
    void resetHook() {
        Hooks.resetOnErrorDropped();
    }

    @Test
    void anErrorAfterTheSubscriberCancelledIsNotReportedAsDropped() {
        Sinks.Empty<Void> gate = Sinks.empty();
        AtomicInteger ranToTheEnd = new AtomicInteger();
        Flux<String> work = gate.asMono()
                .then(Mono.<String>error(new IllegalStateException("failed after the caller left")))
                .doFinally(signal -> ranToTheEnd.incrementAndGet())
                .flux();

        Db.shielded(work).subscribe(v -> { }, e -> { }).dispose();
        gate.tryEmitEmpty();

        assertThat(ranToTheEnd).as("the work ran to its end after the cancel").hasValue(1);
        assertThat(dropped).as("nobody asked for this error any more: not logged as dropped").isEmpty();
    }

    @Test
    void aSubscriberStillThereGetsTheRowsOrTheError() {
        StepVerifier.create(Db.shielded(Flux.just("a", "b"))).expectNext("a", "b").verifyComplete();
        StepVerifier.create(Db.shielded(Flux.empty())).verifyComplete();
        StepVerifier.create(Db.shielded(Flux.error(new IllegalStateException("boom"))))
                .verifyErrorMessage("boom");
        StepVerifier.create(Shielded.runToEnd(Mono.just(1))).expectNext(1).verifyComplete();
        StepVerifier.create(Shielded.runToEnd(Mono.empty())).verifyComplete();
        assertThat(dropped).isEmpty();
    }
}
