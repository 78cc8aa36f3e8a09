package io.github.reactivepgqueue.internal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * One signal as received: what happened, and for {@link Signal#ENQUEUED} the queue that got a job
 * due now (null: some queue, the name was too long for a notification).
 */
record Notice(Signal signal, @Nullable String queue) {
    /** The prefix of an enqueue notification; the queue name follows it. */
    static final String ENQUEUED_PREFIX = "e:";

    static final Notice CONNECTED = new Notice(Signal.CONNECTED, null);

    /**
     * The notices a notification payload carries: {@code e:<queue>} or {@code e} for an enqueue,
     * otherwise signal letters. Unknown content names nothing.
     */
    static List<Notice> decode(@Nullable String payload) {
        List<Notice> notices = new ArrayList<>(2);
        if (payload == null) {
            return notices;
        }
        if (payload.startsWith(ENQUEUED_PREFIX)) {
            notices.add(new Notice(Signal.ENQUEUED, payload.substring(ENQUEUED_PREFIX.length())));
        } else if (payload.equals("e")) {
            notices.add(new Notice(Signal.ENQUEUED, null));
        } else {
            Signal.decode(payload).forEach(s -> notices.add(new Notice(s, null)));
        }
        return notices;
    }

    /** Whether this notice should make a node serving {@code queues} claim at once. */
    public boolean wakes(Collection<String> queues) {
        return signal == Signal.CONNECTED || signal == Signal.ENQUEUED && (queue == null || queues.contains(queue));
    }

    public boolean is(Signal s) {
        return signal == s;
    }
}
