package io.github.reactivepgqueue.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

class BurstsTest {
    private final List<String> signals = new ArrayList<>();

    @Test
    void outsideABurstASignalRunsAtOnce() {
        Bursts.signal("k", () -> signals.add("now"));
        assertThat(signals).containsExactly("now");
    }

    @Test
    void signalsOfABurstRunOncePerKeyAfterIt() {
        Object a = new Object();
        Object b = new Object();
        Bursts.run(() -> {
            for (int i = 0; i < 100; i++) {
                Bursts.signal(a, () -> signals.add("a"));
            }
            Bursts.signal(b, () -> signals.add("b"));
            assertThat(signals).as("nothing runs during the burst").isEmpty();
        });
        assertThat(signals).containsExactly("a", "b");
    }

    @Test
    void aNestedBurstLeavesItsSignalsToTheOutermost() {
        Bursts.run(() -> {
            Bursts.run(() -> Bursts.signal("k", () -> signals.add("k")));
            assertThat(signals).isEmpty();
        });
        assertThat(signals).containsExactly("k");
    }

    @Test
    void theSignalsRunEvenWhenTheBurstFails() {
        try {
            Bursts.run(() -> {
                Bursts.signal("k", () -> signals.add("k"));
                throw new IllegalStateException("boom");
            });
        } catch (IllegalStateException expected) {
            // the burst's error reaches the caller
        }
        assertThat(signals).containsExactly("k");
        Bursts.signal("after", () -> signals.add("after"));
        assertThat(signals).containsExactly("k", "after");
    }

    @Test
    void outsideABurstAnItemIsHandedOverAtOnce() {
        List<List<String>> handed = new ArrayList<>();
        Bursts.collect("k", "x", handed::add);
        assertThat(handed).containsExactly(List.of("x"));
    }

    @Test
    void itemsCollectedInABurstAreHandedOverTogetherInOrderPerKey() {
        List<List<String>> handedA = new ArrayList<>();
        List<List<String>> handedB = new ArrayList<>();
        Bursts.run(() -> {
            for (int i = 0; i < 5; i++) {
                Bursts.collect("a", "a" + i, handedA::add);
            }
            Bursts.collect("b", "b0", handedB::add);
            assertThat(handedA).as("nothing is handed over during the burst").isEmpty();
        });
        assertThat(handedA).containsExactly(List.of("a0", "a1", "a2", "a3", "a4"));
        assertThat(handedB).containsExactly(List.of("b0"));
    }

    @Test
    void aMonoSubscribedInABurstDefersWhatItsSubscriptionSignals() {
        List<List<String>> handed = new ArrayList<>();
        Mono<String> source = Mono.fromSupplier(() -> {
            Bursts.collect("k", "one", handed::add);
            Bursts.collect("k", "two", handed::add);
            assertThat(handed).isEmpty();
            return "done";
        });
        StepVerifier.create(Bursts.subscribedInBurst(source)).expectNext("done").verifyComplete();
        assertThat(handed).containsExactly(List.of("one", "two"));
    }
}
