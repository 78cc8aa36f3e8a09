package io.github.reactivepgqueue.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

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
}
