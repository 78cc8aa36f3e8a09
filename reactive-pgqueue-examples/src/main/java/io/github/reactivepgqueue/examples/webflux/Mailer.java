package io.github.reactivepgqueue.examples.webflux;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * A stand-in for a mail service (a real one would be a {@code WebClient} call): it records every
 * delivery attempt, and refuses addresses of the reserved domain {@code .invalid}.
 */
@Component
public class Mailer {
    private final List<Delivery> deliveries = new CopyOnWriteArrayList<>();

    /** Sends {@code email} for job {@code jobId}; fails with {@link NoSuchMailboxException} for a {@code .invalid} address. */
    public Mono<Void> send(UUID jobId, Email email) {
        return Mono.defer(() -> {
            deliveries.add(new Delivery(jobId, email));
            return email.to().endsWith(".invalid")
                    ? Mono.error(new NoSuchMailboxException(email.to()))
                    : Mono.empty();
        });
    }

    /** Every delivery attempt so far, oldest first. */
    public List<Delivery> deliveries() {
        return List.copyOf(deliveries);
    }

    /**
     * One delivery attempt.
     *
     * @param jobId the job that asked for it
     * @param email what was sent
     */
    public record Delivery(UUID jobId, Email email) {
    }

    /** The address does not exist: retrying will not help. */
    public static final class NoSuchMailboxException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NoSuchMailboxException(String address) {
            super("No mailbox " + address);
        }
    }
}
