package io.github.reactivepgqueue.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** Small helpers for the JSON objects the workloads report (ordered maps of names to values). */
final class Fields {
    private Fields() {
    }

    /** An ordered map from alternating names and values. */
    static Map<String, Object> of(@Nullable Object... namesAndValues) {
        if (namesAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("names and values must come in pairs");
        }
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            map.put((String) namesAndValues[i], namesAndValues[i + 1]);
        }
        return map;
    }

    /** {@code value} rounded to {@code digits} decimals. */
    static double round(double value, int digits) {
        double scale = Math.pow(10, digits);
        return Math.round(value * scale) / scale;
    }

    /** Jobs per second, rounded to a whole number. */
    static long rate(long jobs, long nanos) {
        return nanos <= 0 ? 0 : Math.round(jobs * 1e9 / nanos);
    }

    /** Seconds from nanoseconds, 3 decimals. */
    static double seconds(long nanos) {
        return round(nanos / 1e9, 3);
    }

    /** {@code a / b} rounded to 3 decimals, or null when either is missing or b is 0. */
    static @Nullable Double ratio(@Nullable Number a, @Nullable Number b) {
        if (a == null || b == null || b.doubleValue() == 0) {
            return null;
        }
        return round(a.doubleValue() / b.doubleValue(), 3);
    }
}
