package io.github.reactivepgqueue.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * One signal as received: what happened, and for {@link Signal#ENQUEUED} and
 * {@link Signal#SCHEDULED} the queue that got jobs (null: some queue, the name was too long for a
 * notification); for {@link Signal#SCHEDULED} also how long until the earliest of them is due, by
 * the database clock (zero for the other signals).
 */
record Notice(Signal signal, @Nullable String queue, Duration dueIn) {
    /** The prefix of an enqueue notification; the queue name follows it. */
    static final String ENQUEUED_PREFIX = "e:";
    /** The prefix of a notification of jobs due later; microseconds, then {@code :} and the queue, follow it. */
    static final String SCHEDULED_PREFIX = "t:";

    static final Notice CONNECTED = new Notice(Signal.CONNECTED, null);

    Notice(Signal signal, @Nullable String queue) {
        this(signal, queue, Duration.ZERO);
    }

    /**
     * The notices a notification payload carries: {@code e:<queue>} or {@code e} for an enqueue,
     * {@code t:<micros>:<queue>} or {@code t:<micros>} for jobs due later, otherwise signal letters.
     * Unknown or malformed content names nothing.
     */
    static List<Notice> decode(@Nullable String payload) {
        List<Notice> notices = new ArrayList<>(2);
        if (payload == null) {
            return notices;
        }
        if (payload.startsWith(SCHEDULED_PREFIX)) {
            Notice scheduled = scheduled(payload.substring(SCHEDULED_PREFIX.length()));
            if (scheduled != null) {
                notices.add(scheduled);
            }
        } else if (payload.startsWith(ENQUEUED_PREFIX)) {
            notices.add(new Notice(Signal.ENQUEUED, payload.substring(ENQUEUED_PREFIX.length())));
        } else if (payload.equals("e")) {
            notices.add(new Notice(Signal.ENQUEUED, null));
        } else {
            Signal.decode(payload).forEach(s -> notices.add(new Notice(s, null)));
        }
        return notices;
    }

    /** {@code <micros>:<queue>} or {@code <micros>}; null when malformed. */
    private static @Nullable Notice scheduled(String rest) {
        int colon = rest.indexOf(':');
        String micros = colon < 0 ? rest : rest.substring(0, colon);
        try {
            long dueIn = Math.max(0, Long.parseLong(micros));
            return new Notice(Signal.SCHEDULED, colon < 0 ? null : rest.substring(colon + 1),
                    Duration.ofNanos(Math.multiplyExact(dueIn, 1_000L)));
        } catch (NumberFormatException | ArithmeticException e) {
            return null;
        }
    }

    /** Whether this notice tells a node serving {@code queues} of jobs due later. */
    public boolean schedules(Collection<String> queues) {
        return signal == Signal.SCHEDULED && (queue == null || queues.contains(queue));
    }

    /** Whether this notice should make a node serving {@code queues} claim at once. */
    public boolean wakes(Collection<String> queues) {
        return signal == Signal.CONNECTED || signal == Signal.ENQUEUED && (queue == null || queues.contains(queue));
    }

    public boolean is(Signal s) {
        return signal == s;
    }
}
