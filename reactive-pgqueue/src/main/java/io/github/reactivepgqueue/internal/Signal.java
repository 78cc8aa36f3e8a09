package io.github.reactivepgqueue.internal;

import java.util.EnumSet;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What one node tells the others through PostgreSQL notifications. A signal only says "look
 * again": whoever receives it re-reads the database, so a lost, late or forged signal costs
 * at most a wasted or delayed look.
 */
enum Signal {
    /** Jobs were cancelled or deleted while running: each node checks the leases it holds. */
    CANCELLED('c'),
    /** Jobs reached a final status: nodes awaiting jobs look them up. */
    FINISHED('f'),
    /** Jobs due now were enqueued (sent by the insert statement itself, with the queue): nodes claim. */
    ENQUEUED('e'),
    /**
     * Jobs due later were enqueued (sent by the insert statement itself, with the queue and how
     * long until the earliest is due): nodes whose timer is later set it to then.
     */
    SCHEDULED('t'),
    /** A schedule was added, changed, paused, resumed or removed: nodes look up their next slot again. */
    SCHEDULES('s'),
    /** Not sent: the listener (re)connected, so signals may have been missed; everyone looks again. */
    CONNECTED('*');

    private final char letter;

    Signal(char letter) {
        this.letter = letter;
    }

    /** The notification payload for {@code signals}. */
    static String encode(Set<Signal> signals) {
        StringBuilder payload = new StringBuilder(signals.size());
        signals.forEach(s -> payload.append(s.letter));
        return payload.toString();
    }

    /**
     * The signals named by a notification payload of lower-case letters (letters of no signal are
     * skipped); any other payload names none.
     */
    static Set<Signal> decode(String payload) {
        Set<Signal> signals = EnumSet.noneOf(Signal.class);
        if (payload == null) {
            return signals;
        }
        for (int i = 0; i < payload.length(); i++) {
            char c = payload.charAt(i);
            if (c < 'a' || c > 'z') {
                return EnumSet.noneOf(Signal.class); // not a payload of ours: it names nothing
            }
            Signal s = ofLetter(c);
            if (s != null) {
                signals.add(s); // a letter this version does not know (a newer node's) is skipped
            }
        }
        return signals;
    }

    /** The signal sent as {@code letter}, or null (also for those never received as a letter). */
    private static @Nullable Signal ofLetter(char letter) {
        for (Signal s : values()) {
            if (s.letter == letter && s != CONNECTED && s != ENQUEUED && s != SCHEDULED) {
                return s;
            }
        }
        return null;
    }
}
