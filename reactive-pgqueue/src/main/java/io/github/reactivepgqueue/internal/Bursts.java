package io.github.reactivepgqueue.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;

/**
 * Defers signals raised during a burst of work on one thread to the end of the burst, once per
 * key. Two bursts matter:
 * <ul>
 * <li>A written batch of outcomes finishes hundreds of jobs in one loop, and each finished job
 * frees a permit and wakes the fetcher; woken at the first permit, the fetcher would claim one
 * job, and the next claim a few more. Deferred to the end of the loop, the wake-ups become one,
 * and the claim it starts takes every permit the batch freed.</li>
 * <li>A claimed batch whose handlers finish at once (on the claiming thread) hands its outcomes to
 * the writer one by one, which takes longer than the writer's flush interval for a batch of
 * hundreds: the writer would cut it into several statements. Collected to the end of the burst,
 * the outcomes reach the writer together and go out in one statement.</li>
 * </ul>
 */
final class Bursts {
    private static final ThreadLocal<@Nullable Map<Object, Runnable>> DEFERRED = new ThreadLocal<>();

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

    /** {@code source} whose subscription (and all it does synchronously) runs as a burst. */
    static <T> Mono<T> subscribedInBurst(Mono<T> source) {
        return subscribedInBurst(source, () -> { });
    }

    /**
     * {@code source} whose subscription (and all it does synchronously) runs as a burst, then
     * {@code afterSubscribing}, still within the burst.
     */
    static <T> Mono<T> subscribedInBurst(Mono<T> source, Runnable afterSubscribing) {
        return new Mono<>() {
            @Override
            public void subscribe(CoreSubscriber<? super T> actual) {
                Bursts.run(() -> {
                    source.subscribe(actual);
                    afterSubscribing.run();
                });
            }
        };
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

    /**
     * Hands {@code item} to {@code consumer} now, or at the end of the burst running on this
     * thread together with every other item collected under {@code key} meanwhile, in order.
     */
    @SuppressWarnings("unchecked")
    static <T> void collect(Object key, T item, Consumer<List<T>> consumer) {
        Map<Object, Runnable> deferred = DEFERRED.get();
        if (deferred == null) {
            consumer.accept(List.of(item));
        } else {
            ((Collected<T>) deferred.computeIfAbsent(key, k -> new Collected<>(new ArrayList<>(), consumer)))
                    .items().add(item);
        }
    }

    private record Collected<T>(List<T> items, Consumer<List<T>> consumer) implements Runnable {
        @Override
        public void run() {
            consumer.accept(items);
        }
    }
}
