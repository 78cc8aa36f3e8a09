package io.github.reactivepgqueue.internal.store;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Splits what a claim may take in all among its queues, in proportion to what each may take (its
 * free permits), so that a queue whose jobs have lower priority numbers cannot starve the others
 * when global permits are short. Each queue's share is then the claim statement's limit for it, so
 * the statement locks only rows it claims: no queue's rows are locked and then dropped by a global
 * limit.
 */
public final class ClaimShares {
    private ClaimShares() {
    }

    /**
     * The shares: {@code limits} itself when {@code total} covers them all, else shares that add
     * up to {@code total}, each at most its limit, found by largest remainder. Remainders that tie
     * are broken at random, so that over many claims every queue gets its part even when a claim
     * may take fewer jobs than there are queues. Queues whose share is 0 are left out.
     *
     * @param limits what each queue may take, in the order the claim lists them; all positive
     * @param total  what the claim may take in all; positive
     */
    public static Map<String, Integer> split(Map<String, Integer> limits, int total) {
        long sum = 0;
        for (int limit : limits.values()) {
            sum += limit;
        }
        if (sum <= total) {
            return limits;
        }
        int n = limits.size();
        String[] queues = limits.keySet().toArray(String[]::new);
        int[] caps = limits.values().stream().mapToInt(Integer::intValue).toArray();
        int[] shares = new int[n];
        double[] remainders = new double[n];
        int given = 0;
        for (int i = 0; i < n; i++) {
            double exact = (double) total * caps[i] / sum;
            shares[i] = (int) Math.floor(exact);
            remainders[i] = exact - shares[i];
            given += shares[i];
        }
        int start = n == 1 ? 0 : ThreadLocalRandom.current().nextInt(n);
        while (given < total) {
            int best = -1;
            for (int k = 0; k < n; k++) {
                int candidate = (start + k) % n;
                if (shares[candidate] < caps[candidate]
                        && (best < 0 || remainders[candidate] > remainders[best])) {
                    best = candidate;
                }
            }
            shares[best]++;
            remainders[best] = -1;
            given++;
        }
        Map<String, Integer> split = new LinkedHashMap<>();
        for (int k = 0; k < n; k++) {
            if (shares[k] > 0) {
                split.put(queues[k], shares[k]);
            }
        }
        return split;
    }
}
