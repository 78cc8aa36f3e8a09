package io.github.reactivepgqueue.examples;

import io.github.reactivepgqueue.EnqueueResult;
import java.util.List;

/**
 * Running totals of a bulk enqueue.
 *
 * @param calls      {@code enqueueAll} calls finished
 * @param requested  jobs handed to those calls
 * @param stored     jobs stored as new
 * @param duplicates jobs not stored because a live job holds their unique key
 */
record EnqueueTally(int calls, int requested, int stored, int duplicates) {
    static final EnqueueTally NONE = new EnqueueTally(0, 0, 0, 0);

    /** These totals plus the results of one more call. */
    EnqueueTally plus(List<EnqueueResult> results) {
        int duplicatesNow = (int) results.stream().filter(EnqueueResult::isDuplicate).count();
        return new EnqueueTally(calls + 1, requested + results.size(), stored + results.size() - duplicatesNow,
                duplicates + duplicatesNow);
    }
}
