package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.permit.Permit;
import io.github.reactivepgqueue.permit.PermitDenied;
import io.github.reactivepgqueue.permit.PermitStrategy;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Runs one claimed job: takes the handler's permit, subscribes the handler on the handler
 * scheduler with the queue's timeout, turns whatever happens into an outcome, has it written,
 * and only then releases the permit. When the job is aborted (a stop past its grace period) the
 * handler is cancelled and the job released unrun; when its lease is lost, the handler is
 * cancelled and nothing is written.
 */
final class JobRunner {
    private static final Logger log = LoggerFactory.getLogger(JobRunner.class);

    private final Completer completer;
    private final Scheduler handlerScheduler;
    private final QueueMetrics metrics;

    JobRunner(Completer completer, Scheduler handlerScheduler, QueueMetrics metrics) {
        this.completer = completer;
        this.handlerScheduler = handlerScheduler;
        this.metrics = metrics;
    }

    Mono<Void> run(QueueRuntime queue, Leases.Held held) {
        ClaimedRow job = held.job();
        // Stopped before its outcome: released unrun when the node aborts, nothing written when
        // the lease is gone (the handler is cancelled either way).
        Mono<OutcomeWrite> stopped = held.stopped().flatMap(stop -> stop == Leases.Stop.ABORTED
                ? Mono.just(OutcomeWrite.release(job))
                : Mono.fromRunnable(() -> log.debug("{} lost its lease; its handler is cancelled", job)));
        if (queue.permits() == PermitStrategy.ALWAYS) {
            // no permit to ask for or give back: one stage less for every job
            return invoke(queue, job).or(stopped).flatMap(w -> write(held, w));
        }
        return Mono.defer(() -> queue.permits().acquire(job))
                .switchIfEmpty(Mono.error(() -> new IllegalStateException("PermitStrategy of queue " + queue.queue()
                        + " completed without a permit")))
                .<PermitResult>map(Granted::new)
                .onErrorResume(e -> Mono.just(new Denied(e)))
                .or(stopped.map(Aborted::new))
                .flatMap(result -> {
                    if (result instanceof Aborted a) {
                        return write(held, a.write());
                    }
                    if (result instanceof Denied d) {
                        return write(held, d.error() instanceof PermitDenied pd
                                ? OutcomeWrite.of(job, pd.outcome(), queue.backoff())
                                : OutcomeWrite.failure(job, d.error(), queue.backoff()));
                    }
                    Permit permit = ((Granted) result).permit();
                    return invoke(queue, job).or(stopped)
                            .flatMap(w -> write(held, w))
                            .then(Mono.defer(permit::release).onErrorResume(e -> {
                                log.warn("Releasing the permit of {} failed: {}", job, ErrorText.summary(e));
                                return Mono.empty();
                            }));
                });
    }

    private Mono<Void> write(Leases.Held held, OutcomeWrite write) {
        held.finishing();
        return completer.write(write);
    }

    private Mono<OutcomeWrite> invoke(QueueRuntime queue, ClaimedRow job) {
        Duration timeout = queue.timeout();
        return Mono.defer(() -> {
            QueueMetrics.HandlerRun run = metrics.handlerStarted(job);
            Mono<Outcome> handled = Mono.defer(() -> queue.handler().handle(job));
            if (handlerScheduler != Schedulers.immediate()) {
                handled = handled.subscribeOn(handlerScheduler);
            }
            return handled
                    .timeout(timeout, Mono.error(() -> new TimeoutException("Handler of queue " + queue.queue()
                            + " did not finish within " + timeout + "; its subscription was cancelled")))
                    .switchIfEmpty(Mono.error(() -> new IllegalStateException("Handler of queue " + queue.queue()
                            + " completed without an outcome")))
                    .map(outcome -> {
                        OutcomeWrite write = OutcomeWrite.of(job, outcome, queue.backoff());
                        run.finished(HandlerResult.of(outcome));
                        return write;
                    })
                    .onErrorResume(e -> {
                        run.finished(HandlerResult.of(e));
                        log.debug("{} failed: {}", job, ErrorText.summary(e));
                        return Mono.just(OutcomeWrite.failure(job, e, queue.backoff()));
                    })
                    .doOnCancel(() -> run.finished(HandlerResult.ABORTED));
        });
    }

    /** What came of asking for the handler's permit. */
    private sealed interface PermitResult permits Granted, Denied, Aborted {
    }

    private record Granted(Permit permit) implements PermitResult {
    }

    private record Denied(Throwable error) implements PermitResult {
    }

    private record Aborted(OutcomeWrite write) implements PermitResult {
    }
}
