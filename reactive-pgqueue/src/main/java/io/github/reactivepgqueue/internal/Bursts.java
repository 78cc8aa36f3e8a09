package io.github.reactivepgqueue.internal;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Defers signals raised during a burst of work on one thread to the end of the burst, once per
 * key. A written batch of outcomes finishes hundreds of jobs in one loop, and each finished job
 * frees a permit and wakes the fetcher; woken at the first permit, the fetcher would claim one job,
 * and the next claim a few more. Deferred to the end of the loop, the wake-ups become one, and
 * the claim it starts takes every permit the batch freed.
 */
final class Bursts {
    private static final ThreadLocal<Map<Object, Runnable>> DEFERRED = new ThreadLocal<>();

    private Bursts() {
    }

    /** Runs {@code burst}; signals raised meanwhile on this thread run after it, once per key. */
    static void run(Runnable burst) {
        if (DEFERRED.get() != null) {
            burst.run(); // nested: the outermost burst runs the signals
            return;
        }
        Map<Object, Runnable> deferred = new LinkedHashMap<>();
        DEFERRED.set(deferred);
        try {
            burst.run();
        } finally {
            DEFERRED.remove();
            deferred.values().forEach(Runnable::run);
        }
    }

    /** Runs {@code signal} now, or at the end of the burst running on this thread (once per {@code key}). */
    static void signal(Object key, Runnable signal) {
        Map<Object, Runnable> deferred = DEFERRED.get();
        if (deferred == null) {
            signal.run();
        } else {
            deferred.putIfAbsent(key, signal);
        }
    }
}
