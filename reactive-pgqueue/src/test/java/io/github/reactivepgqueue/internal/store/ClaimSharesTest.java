package io.github.reactivepgqueue.internal.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClaimSharesTest {

    @Test
    void limitsThatFitAreKept() {
        Map<String, Integer> limits = limits(20, 20, 10);
        assertThat(ClaimShares.split(limits, 50)).isSameAs(limits);
        assertThat(ClaimShares.split(limits, 500)).isSameAs(limits);
    }

    @Test
    void aShortTotalIsSharedInProportionToTheLimits() {
        assertThat(ClaimShares.split(limits(20, 20, 10), 10)).containsExactly(
                Map.entry("q0", 4), Map.entry("q1", 4), Map.entry("q2", 2));
        assertThat(ClaimShares.split(limits(1000, 1000, 1000, 1000), 1000).values()).containsOnly(250);
    }

    @Test
    void sharesAddUpToTheTotalAndNeverPassALimit() {
        for (int total = 1; total < 60; total++) {
            Map<String, Integer> limits = limits(1, 7, 30, 30);
            Map<String, Integer> shares = ClaimShares.split(limits, total);
            assertThat(shares.values().stream().mapToInt(Integer::intValue).sum()).as("total %d", total).isEqualTo(total);
            shares.forEach((queue, share) -> assertThat(share).isPositive().isLessThanOrEqualTo(limits.get(queue)));
        }
    }

    /** With fewer jobs to take than queues, ties are broken at random: no queue always loses. */
    @Test
    void aTotalSmallerThanTheQueuesReachesEveryQueueOverManyClaims() {
        Map<String, Integer> got = new HashMap<>();
        for (int claim = 0; claim < 1000; claim++) {
            ClaimShares.split(limits(100, 100, 100, 100, 100), 1).forEach((queue, share) -> got.merge(queue, share, Integer::sum));
        }
        assertThat(got).hasSize(5).allSatisfy((queue, share) -> assertThat(share).isGreaterThan(100));
    }

    private static Map<String, Integer> limits(int... values) {
        Map<String, Integer> limits = new LinkedHashMap<>();
        for (int i = 0; i < values.length; i++) {
            limits.put("q" + i, values[i]);
        }
        return limits;
    }
}
