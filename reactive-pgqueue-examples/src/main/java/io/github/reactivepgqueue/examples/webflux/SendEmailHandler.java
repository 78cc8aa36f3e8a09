package io.github.reactivepgqueue.examples.webflux;

import io.github.reactivepgqueue.Job;
import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.ReactiveHandler;
import java.util.Objects;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * Sends emails: the handler of queue {@value Email#QUEUE}. A mailbox that does not exist makes the
 * job unprocessable at once (it goes to the dead-letter table); any other error is a failed
 * attempt, retried with backoff.
 */
@Component
public class SendEmailHandler implements ReactiveHandler {
    private final Mailer mailer;

    SendEmailHandler(Mailer mailer) {
        this.mailer = mailer;
    }

    @Override
    public String queue() {
        return Email.QUEUE;
    }

    @Override
    public Mono<Outcome> handle(Job job) {
        return mailer.send(job.id(), job.payload(Email.class))
                .thenReturn(Outcome.success())
                .onErrorResume(Mailer.NoSuchMailboxException.class,
                                                // NoSuchMailboxException always has a message
                        e -> Mono.just(Outcome.unprocessable().withReason(Objects.requireNonNull(e.getMessage()))));
    }

    @Override
    public String toString() {
        return "SendEmailHandler";
    }
}
