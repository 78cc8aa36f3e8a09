package io.github.reactivepgqueue.bench;

import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Time-ordered UUIDs (version 7 layout: milliseconds first) for the floor's inserts, so the primary
 * key index is appended to, as with the library's own ids. Unique within the JVM through a
 * counter in the low half.
 */
final class TimeOrderedIds {
    private static final AtomicLong SEQUENCE = new AtomicLong();

    private TimeOrderedIds() {
    }

    static UUID next() {
        long msb = (System.currentTimeMillis() << 16) | 0x7000L;
        long lsb = 0x8000000000000000L | (SEQUENCE.getAndIncrement() & 0x3FFFFFFFFFFFFFFFL);
        return new UUID(msb, lsb);
    }
}
