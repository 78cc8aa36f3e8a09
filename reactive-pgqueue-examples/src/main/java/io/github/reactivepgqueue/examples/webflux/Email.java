package io.github.reactivepgqueue.examples.webflux;

import org.jspecify.annotations.Nullable;

/**
 * The body of {@code POST /emails}, and the payload of a job of queue {@value #QUEUE}.
 *
 * @param to      the address
 * @param subject the subject
 */
public record Email(String to, String subject) {
    /** The queue of emails to send. */
    public static final String QUEUE = "emails";

    /** The first thing wrong with this email, or null if nothing is. */
    @Nullable String problem() {
        if (to == null || to.isBlank() || !to.contains("@")) {
            return "to must be an email address";
        }
        if (subject == null || subject.isBlank()) {
            return "subject is required";
        }
        return null;
    }
}
