package io.github.reactivepgqueue.internal;

import java.time.Duration;

/**
 * The checks of the configuration records. Each message names the builder option as
 * {@code PgQueueBuilder.build()} reports it, e.g. "heartbeatInterval must be positive but was PT0S".
 */
public final class ConfigCheck {
    private ConfigCheck() {
    }

    public static int atLeast(String option, int value, int min) {
        if (value < min) {
            throw new IllegalArgumentException(option + " must be at least " + min + " but was " + value);
        }
        return value;
    }

    public static Duration notNegative(String option, Duration value) {
        if (value.isNegative()) {
            throw new IllegalArgumentException(option + " must not be negative but was " + value);
        }
        return value;
    }

    public static Duration positive(String option, Duration value) {
        if (value == null) {
            throw new NullPointerException(option);
        }
        if (value.isZero() || value.isNegative()) {
            throw new IllegalArgumentException(option + " must be positive but was " + value);
        }
        return value;
    }
}
