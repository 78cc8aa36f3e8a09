package io.github.reactivepgqueue.internal;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.jspecify.annotations.Nullable;

/** The text stored as a job's last error: class, message and a truncated stack trace. */
public final class ErrorText {
    static final int MAX_CHARS = 4096;

    private ErrorText() {
    }

    /**
     * Class and message; for a wrapper that hides the failure that mattered (Reactor's "Async
     * resource cleanup failed after onError", whose original error is suppressed), that one too.
     */
    public static String summary(Throwable error) {
        String text = error.getClass().getName() + ": " + error.getMessage();
        for (Throwable suppressed : error.getSuppressed()) {
            text += " (after " + suppressed.getClass().getName() + ": " + suppressed.getMessage() + ")";
        }
        return text;
    }

    static String of(Throwable error) {
        StringWriter out = new StringWriter();
        error.printStackTrace(new PrintWriter(out));
        return clip(out.toString().replace('\0', ' '));
    }

    static @Nullable String truncate(@Nullable String text) {
        return text == null ? null : clip(text);
    }

    private static String clip(String text) {
        String clean = text.replace('\0', ' ');
        return clean.length() <= MAX_CHARS ? clean : clean.substring(0, MAX_CHARS - 15) + "\n... (truncated)";
    }
}
