package io.github.reactivepgqueue.examples.webflux;

import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.PgQueue;
import java.util.UUID;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;
import reactor.core.publisher.Mono;

/** {@code POST /emails} enqueues an email and answers 202 Accepted with the job's id; no thread waits. */
@RestController
public class EmailController {
    private final PgQueue queue;

    EmailController(PgQueue queue) {
        this.queue = queue;
    }

    /** Enqueues {@code email} in an auto-committed statement of its own. */
    @PostMapping("/emails")
    @ResponseStatus(HttpStatus.ACCEPTED)
    public Mono<EnqueuedJob> send(@RequestBody Email email) {
        String problem = email.problem();
        if (problem != null) {
            return Mono.error(new ResponseStatusException(HttpStatus.BAD_REQUEST, problem));
        }
        return queue.enqueue(NewJob.of(Email.QUEUE, email))
                .map(result -> new EnqueuedJob(result.id(), result.isDuplicate()));
    }

    /**
     * What {@code POST /emails} answers.
     *
     * @param jobId     the job's id (for a duplicate: the live job holding the unique key)
     * @param duplicate whether a live job already held the unique key
     */
    public record EnqueuedJob(UUID jobId, boolean duplicate) {
    }
}
