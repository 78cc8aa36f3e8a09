package io.github.reactivepgqueue.bench;

import java.util.Locale;

/** Progress lines on stderr; stdout carries only the JSON lines. */
final class Log {
    private Log() {
    }

    static void say(String format, Object... args) {
        System.err.println("[bench] " + String.format(Locale.ROOT, format, args));
    }
}
