package io.github.reactivepgqueue.examples;

import io.github.reactivepgqueue.EnqueueResult;
import io.github.reactivepgqueue.NewJob;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the database cannot tell: per queue, how many jobs the demo stored and how many were
 * duplicates (from the enqueue results), and how many attempts failed and will be retried (from
 * the handlers); how many of the schedule's jobs ran; and whether the producer is still at work.
 * Thread-safe: producers and handlers update it while the progress table reads it.
 */
final class DemoTally {
    private final Map<String, Counters> byQueue = new LinkedHashMap<>();
    private final LongAdder stockSyncs = new LongAdder();
    private volatile boolean producing = true;

    private static final class Counters {
        final LongAdder stored = new LongAdder();
        final LongAdder duplicates = new LongAdder();
        final LongAdder retries = new LongAdder();
    }

    DemoTally(List<String> queues) {
        queues.forEach(queue -> byQueue.put(queue, new Counters()));
    }

    /** Records the results of enqueueing {@code jobs} (results in the same order). */
    void enqueued(List<NewJob> jobs, List<EnqueueResult> results) {
        for (int i = 0; i < jobs.size(); i++) {
            Counters counters = counters(jobs.get(i).queue());
            (results.get(i).isDuplicate() ? counters.duplicates : counters.stored).increment();
        }
    }

    /** A handler's attempt failed and the job will run again. */
    void retried(String queue) {
        counters(queue).retries.increment();
    }

    /** A job of the stock-sync schedule ran. */
    void stockSynced() {
        stockSyncs.increment();
    }

    long stockSyncs() {
        return stockSyncs.sum();
    }

    /** The producer has enqueued everything. */
    void producerDone() {
        producing = false;
    }

    boolean producing() {
        return producing;
    }

    long stored(String queue) {
        return counters(queue).stored.sum();
    }

    long duplicates(String queue) {
        return counters(queue).duplicates.sum();
    }

    long retries(String queue) {
        return counters(queue).retries.sum();
    }

    private Counters counters(String queue) {
        Counters counters = byQueue.get(queue);
        if (counters == null) {
            throw new IllegalArgumentException("Not a queue of the demo: " + queue);
        }
        return counters;
    }
}
