package io.github.reactivepgqueue.internal.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.Test;

/** Reading the numbers column of a claimed row: four integers, then three times as PostgreSQL holds them. */
class ClaimRowsTest {
    /** 2000-01-01 in microseconds since the epoch. */
    private static final long Y2K = 946_684_800_000_000L;

    @Test
    void readsTheIntegersAndTheTimesBeforeAndAfter2000() {
        // what PostgreSQL sends for 2026-11-26 01:02:03.456789 and 1969-07-20 20:17:40.000001 UTC
        long after = 1_795_654_923_456_789L;
        long before = -14_182_939_999_999L;
        String column = "1,25,-3,0," + hex(after - Y2K) + "," + hex(before - Y2K) + "," + hex(0);

        long[] numbers = ClaimRows.numbers(column);

        assertThat(numbers).containsExactly(1, 25, -3, 0, after - Y2K, before - Y2K, 0);
        assertThat(ClaimRows.postgresTime(numbers[4])).isEqualTo(Instant.parse("2026-11-26T01:02:03.456789Z"))
                .isEqualTo(Instant.EPOCH.plus(after, ChronoUnit.MICROS));
        assertThat(ClaimRows.postgresTime(numbers[5])).isEqualTo(Instant.parse("1969-07-20T20:17:40.000001Z"))
                .isEqualTo(Instant.EPOCH.plus(before, ChronoUnit.MICROS));
        assertThat(ClaimRows.postgresTime(numbers[6])).isEqualTo(Instant.EPOCH.plus(Y2K, ChronoUnit.MICROS));
    }

    @Test
    void infinitiesStayTheExtremes() {
        String column = "1,1,0,0," + hex(Long.MIN_VALUE) + "," + hex(Long.MAX_VALUE) + "," + hex(0);

        long[] numbers = ClaimRows.numbers(column);

        assertThat(numbers).containsExactly(1, 1, 0, 0, Long.MIN_VALUE, Long.MAX_VALUE, 0);
        assertThat(ClaimRows.postgresTime(numbers[4])).isEqualTo(Instant.MIN);
        assertThat(ClaimRows.postgresTime(numbers[5])).isEqualTo(Instant.MAX);
    }

    @Test
    void aColumnOfAnotherShapeIsAClearErrorNotWrongNumbers() {
        String t = hex(0);
        for (String bad : new String[] {"", "1,2,3,4," + t + "," + t, "1,2,3,4," + t + "," + t + "," + t + ",8",
                "1,2,3,4," + t + "," + t + ",", "1,,3,4," + t + "," + t + "," + t, "1,2,3,x," + t + "," + t + "," + t,
                "1.5,2,3,4," + t + "," + t + "," + t, "-,2,3,4," + t + "," + t + "," + t, "1,2,3,4,5,6,7",
                "1,2,3,4," + t + "," + t + "," + t.substring(1) + "g"}) {
            assertThatThrownBy(() -> ClaimRows.numbers(bad)).as(bad)
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("numbers column");
        }
    }

    private static String hex(long value) {
        return String.format("%016x", value);
    }
}
