package io.github.reactivepgqueue.bench;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Pairs of times per job (from, to) recorded without locks from any thread, and the percentiles
 * of their differences in milliseconds. Index {@code i} belongs to job {@code i}; a time of 0
 * means "not recorded".
 */
final class Latencies {
    private final AtomicLongArray from;
    private final AtomicLongArray to;

    Latencies(int jobs) {
        this.from = new AtomicLongArray(jobs);
        this.to = new AtomicLongArray(jobs);
    }

    int size() {
        return from.length();
    }

    /** Records the start of job {@code i}'s interval, now. */
    void from(int i) {
        from.set(i, System.nanoTime());
    }

    /** Records the end of job {@code i}'s interval, now; only the first end counts. */
    void to(int i) {
        to.compareAndSet(i, 0, System.nanoTime());
    }

    /** How many jobs have both times. */
    int complete() {
        int n = 0;
        for (int i = 0; i < size(); i++) {
            if (from.get(i) != 0 && to.get(i) != 0) {
                n++;
            }
        }
        return n;
    }

    /** The latencies of jobs with both times, in ms, sorted. */
    double[] millis() {
        double[] all = new double[size()];
        int n = 0;
        for (int i = 0; i < size(); i++) {
            long a = from.get(i);
            long b = to.get(i);
            if (a != 0 && b != 0) {
                all[n++] = (b - a) / 1e6;
            }
        }
        double[] sorted = Arrays.copyOf(all, n);
        Arrays.sort(sorted);
        return sorted;
    }

    /** count, min, p50, p95, p99, max and mean in ms; negative values (an end seen before the start) kept as they are. */
    Map<String, Object> summary() {
        return summary(millis());
    }

    static Map<String, Object> summary(double[] sorted) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("count", sorted.length);
        if (sorted.length == 0) {
            return s;
        }
        s.put("min_ms", Fields.round(sorted[0], 3));
        s.put("p50_ms", Fields.round(percentile(sorted, 50), 3));
        s.put("p95_ms", Fields.round(percentile(sorted, 95), 3));
        s.put("p99_ms", Fields.round(percentile(sorted, 99), 3));
        s.put("max_ms", Fields.round(sorted[sorted.length - 1], 3));
        s.put("mean_ms", Fields.round(Arrays.stream(sorted).average().orElse(0), 3));
        long negative = Arrays.stream(sorted).filter(v -> v < 0).count();
        if (negative > 0) {
            s.put("negative", negative);
        }
        return s;
    }

    /** Nearest-rank percentile of sorted values. */
    static double percentile(double[] sorted, double p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }
}
