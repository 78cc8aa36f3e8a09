package io.github.reactivepgqueue.internal.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.internal.ClaimedRow;
import io.r2dbc.spi.Row;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

/** Reads the rows of {@link SqlName#JobClaim} into {@link ClaimedRow}s. */
final class ClaimRows {
    private static final int NUMBERS = 7;
    private static final int INTEGERS = 4;
    /** Where PostgreSQL counts its times from. */
    private static final Instant POSTGRES_EPOCH = Instant.parse("2000-01-01T00:00:00Z");

    private ClaimRows() {
    }

    /**
     * Maps a row returned by {@link SqlName#JobClaim}; reads the claim time only when {@code timed};
     * {@code sentNanos} is when the claim was sent (see {@link ClaimedRow#leaseNanos()}).
     * A payload that PostgreSQL stores but the mapper cannot read (beyond its {@code StreamReadConstraints}: a name over 50,000 characters,
     * a number that jsonb prints with over 1,000 digits, nesting written by another producer) does
     * not fail the claim, which would fail every job claimed with it, again at every claim: the
     * job is claimed and {@link #payload()} throws, which fails that attempt like any handler error.
     */
    static ClaimedRow from(Row row, ObjectMapper mapper, boolean timed, long sentNanos) {
        UUID id = row.get(0, UUID.class);
        String payload = row.get(3, String.class);
        JsonNode tree = null;
        String unreadable = null;
        try {
            tree = mapper.readTree(payload);
        } catch (JsonProcessingException e) {
            // the original message only: the full one may quote the payload
            unreadable = "Payload of job " + id + " cannot be read as JSON by the ObjectMapper: "
                    + e.getOriginalMessage();
        }
        long[] n = numbers(row.get(6, String.class));
        return new ClaimedRow(id, row.get(2, String.class), tree, unreadable, (int) n[0], (int) n[1], (int) n[2],
                (int) n[3], row.get(4, String.class), row.get(5, String.class), postgresTime(n[4]), postgresTime(n[5]),
                row.get(1, UUID.class), mapper, timed ? postgresTime(n[6]) : null, timed ? System.nanoTime() : 0,
                sentNanos);
    }

    /**
     * The claim's numbers column (see {@link SqlName#JobClaim}): four integers in decimal, then
     * three times in hex, each PostgreSQL's own 8 bytes (microseconds since 2000-01-01; see
     * {@link #postgresTime}).
     */
    static long[] numbers(String text) {
        long[] numbers = new long[NUMBERS];
        int at = 0;
        for (int i = 0; i < NUMBERS; i++) {
            boolean negative = i < INTEGERS && at < text.length() && text.charAt(at) == '-';
            at += negative ? 1 : 0;
            int start = at;
            if (i < INTEGERS) {
                long value = 0;
                for (; at < text.length() && text.charAt(at) != ','; at++) {
                    value = value * 10 + digit(text, at, 10);
                }
                numbers[i] = negative ? -value : value;
            } else {
                long value = 0; // 16 hex digits: the bits of a signed 64-bit number
                for (; at < text.length() && text.charAt(at) != ','; at++) {
                    value = (value << 4) | digit(text, at, 16);
                }
                if (at - start != 16) {
                    throw unexpected(text);
                }
                numbers[i] = value;
            }
            if (at == start || (i < NUMBERS - 1) != (at < text.length())) {
                throw unexpected(text);
            }
            at++; // the comma
        }
        return numbers;
    }

    private static int digit(String text, int at, int radix) {
        int digit = Character.digit(text.charAt(at), radix);
        if (digit < 0) {
            throw unexpected(text);
        }
        return digit;
    }

    private static IllegalStateException unexpected(String text) {
        return new IllegalStateException("Unexpected numbers column of a claim: " + text);
    }

    /** A time as PostgreSQL holds it: microseconds since 2000-01-01, the extremes being -infinity and infinity. */
    static Instant postgresTime(long micros) {
        if (micros == Long.MIN_VALUE || micros == Long.MAX_VALUE) {
            return micros == Long.MIN_VALUE ? Instant.MIN : Instant.MAX;
        }
        return POSTGRES_EPOCH.plus(micros, ChronoUnit.MICROS);
    }

}
