package io.github.reactivepgqueue.bench;

import java.util.Locale;
import org.jspecify.annotations.Nullable;

/** Progress lines on stderr; stdout carries only the JSON lines. */
final class Log {
    private Log() {
    }

    static void say(String format, @Nullable Object... args) {
        System.err.println("[bench] " + String.format(Locale.ROOT, format, args));
    }
}
