package io.github.reactivepgqueue.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class UuidV7Test {

    @Test
    void idsAreVersion7AndStrictlyIncreasingEvenWithinOneMillisecond() {
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < 100_000; i++) {
            ids.add(UuidV7.next());
        }
        assertThat(new HashSet<>(ids)).hasSize(ids.size());
        for (int i = 1; i < ids.size(); i++) {
            // PostgreSQL orders uuids by their bytes, i.e. as unsigned numbers
            assertThat(unsignedCompare(ids.get(i - 1), ids.get(i))).isNegative();
        }
        assertThat(ids).allMatch(id -> id.version() == 7 && id.variant() == 2);
    }

    @Test
    void theTimestampIsTheWallClockInMilliseconds() {
        long before = System.currentTimeMillis();
        long stamp = UuidV7.timestampMillis(UuidV7.next());
        // the counter may carry the stamp a little ahead when ids are drawn very fast
        assertThat(stamp).isBetween(before, System.currentTimeMillis() + 1000);
    }

    private static int unsignedCompare(UUID a, UUID b) {
        int high = Long.compareUnsigned(a.getMostSignificantBits(), b.getMostSignificantBits());
        return high != 0 ? high : Long.compareUnsigned(a.getLeastSignificantBits(), b.getLeastSignificantBits());
    }
}
