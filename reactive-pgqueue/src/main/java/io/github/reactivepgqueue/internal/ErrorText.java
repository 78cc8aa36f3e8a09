package io.github.reactivepgqueue.internal;

import java.io.PrintWriter;
import java.io.StringWriter;

/** The text stored as a job's last error: class, message and a truncated stack trace. */
final class ErrorText {
    static final int MAX_CHARS = 4096;

    private ErrorText() {
    }

    static String summary(Throwable error) {
        return error.getClass().getName() + ": " + error.getMessage();
    }

    static String of(Throwable error) {
        StringWriter out = new StringWriter();
        error.printStackTrace(new PrintWriter(out));
        return truncate(out.toString().replace('\0', ' '));
    }

    static String truncate(String text) {
        if (text == null) {
            return null;
        }
        String clean = text.replace('\0', ' ');
        return clean.length() <= MAX_CHARS ? clean : clean.substring(0, MAX_CHARS - 15) + "\n... (truncated)";
    }
}
