package io.github.reactivepgqueue.examples.webflux;

import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.QueueAdmin;
import java.util.List;
import java.util.UUID;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;
import reactor.core.publisher.Mono;

/**
 * Operating the queue over HTTP, through {@link QueueAdmin}. Secure these in a real application
 * (Spring Security, or a management port of their own):
 * <ul>
 *   <li>{@code GET /admin/counts}: jobs per queue, status and table;</li>
 *   <li>{@code GET /admin/dead-letters?queue=&after=&limit=}: a page of the dead-letter table;
 *       pass the last id as {@code after} for the next;</li>
 *   <li>{@code POST /admin/dead-letters/{id}/requeue}: back to pending as a fresh attempt series
 *       (409 if the table does not hold it, or a live job holds its unique key);</li>
 *   <li>{@code POST /admin/queues/{queue}/pause} and {@code .../resume} (204) on every node;
 *       {@code GET /admin/queues/paused}.</li>
 * </ul>
 */
@RestController
@RequestMapping("/admin")
public class QueueAdminController {
    /** Largest page of {@code /admin/dead-letters}. */
    public static final int MAX_PAGE = 1000;

    private final QueueAdmin admin;

    QueueAdminController(PgQueue queue) {
        this.admin = queue.admin();
    }

    /** Jobs per queue, status and table. */
    @GetMapping("/counts")
    public Mono<List<JobView.Count>> counts() {
        return admin.counts().map(counts -> counts.stream().map(JobView.Count::of).toList());
    }

    /** A page of dead-lettered jobs, in id order. */
    @GetMapping("/dead-letters")
    public Mono<List<JobView>> deadLetters(@RequestParam(name = "queue", required = false) String queue,
                                           @RequestParam(name = "after", required = false) UUID after,
                                           @RequestParam(name = "limit", defaultValue = "50") int limit) {
        if (limit < 1 || limit > MAX_PAGE) {
            return Mono.error(new ResponseStatusException(HttpStatus.BAD_REQUEST,
                    "limit must be between 1 and " + MAX_PAGE + " but was " + limit));
        }
        return DeadLetterPage.load(admin, queue, after, limit).map(jobs -> jobs.stream().map(JobView::of).toList());
    }

    /** Requeues one dead-lettered job. */
    @PostMapping("/dead-letters/{id}/requeue")
    @ResponseStatus(HttpStatus.NO_CONTENT)
    public Mono<Void> requeue(@PathVariable("id") UUID id) {
        return admin.requeue(id)
                .filter(Boolean::booleanValue)
                .switchIfEmpty(Mono.error(() -> new ResponseStatusException(HttpStatus.CONFLICT, "Job " + id
                        + " is not in the dead-letter table, or a live job holds its unique key")))
                .then();
    }

    /** Pauses a queue on every node. */
    @PostMapping("/queues/{queue}/pause")
    @ResponseStatus(HttpStatus.NO_CONTENT)
    public Mono<Void> pause(@PathVariable("queue") String queue) {
        return admin.pause(queue);
    }

    /** Resumes a queue on every node. */
    @PostMapping("/queues/{queue}/resume")
    @ResponseStatus(HttpStatus.NO_CONTENT)
    public Mono<Void> resume(@PathVariable("queue") String queue) {
        return admin.resume(queue);
    }

    /** The paused queues. */
    @GetMapping("/queues/paused")
    public Mono<List<String>> paused() {
        return admin.pausedQueues();
    }
}
