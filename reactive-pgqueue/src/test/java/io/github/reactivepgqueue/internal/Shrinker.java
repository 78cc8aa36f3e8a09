package io.github.reactivepgqueue.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Shrinks a failing history by removing steps: chunks of half its length, then of a quarter, down
 * to single steps, keeping every removal after which it still fails; passes repeat until one
 * removes nothing. The result fails, and no single step of it can be removed.
 */
final class Shrinker {
    /** The smallest failing list found, and its failure. */
    record Shrunk<T>(List<T> steps, Throwable failure) {
    }

    private Shrinker() {
    }

    /**
     * @param steps a failing list
     * @param failure its failure
     * @param failureOf runs a candidate list: its failure, or null when it passes
     */
    static <T> Shrunk<T> shrink(List<T> steps, Throwable failure, Function<List<T>, Throwable> failureOf) {
        Shrunk<T> smallest = new Shrunk<>(List.copyOf(steps), failure);
        boolean removed = true;
        while (removed) {
            removed = false;
            for (int chunk = Math.max(smallest.steps().size() / 2, 1); chunk >= 1; chunk /= 2) {
                int start = 0;
                while (start < smallest.steps().size()) {
                    List<T> candidate = new ArrayList<>(smallest.steps());
                    candidate.subList(start, Math.min(start + chunk, candidate.size())).clear();
                    Throwable candidateFailure = failureOf.apply(candidate);
                    if (candidateFailure != null) {
                        smallest = new Shrunk<>(List.copyOf(candidate), candidateFailure);
                        removed = true;
                    } else {
                        start += chunk;
                    }
                }
            }
        }
        return smallest;
    }
}
