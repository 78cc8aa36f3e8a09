package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.permit.Permit;
import io.github.reactivepgqueue.permit.PermitDenied;
import io.github.reactivepgqueue.permit.PermitStrategy;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
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
 * cancelled and no outcome is written: the node only lets go of the lease, which a cancel of the
 * running job left in place to hold its unique key until the handler was stopped
 * ({@link Transition.LetGo}).
 */
final class JobRunner {
    private static final Logger log = LoggerFactory.getLogger(JobRunner.class);

    private final Completer completer;
    private final Scheduler handlerScheduler;
    private final QueueMetrics metrics;
    private final Runnable pushedBack;

    /** {@code pushedBack} runs when a job is given a later run time (a retry, a reschedule). */
    JobRunner(Completer completer, Scheduler handlerScheduler, QueueMetrics metrics, Runnable pushedBack) {
        this.completer = completer;
        this.handlerScheduler = handlerScheduler;
        this.metrics = metrics;
        this.pushedBack = pushedBack;
    }

    /**
     * Whether the jobs of {@code queue} start their handlers as their batch is run (no permit to
     * wait for), so that one timer per batch can time them all: the caller then stops each job
     * with {@link Leases.Stop#TIMED_OUT} when the queue's timeout is up. A timer per job (what
     * {@code Mono.timeout} does) was a tenth of the node's CPU in a drain.
     */
    static boolean timedWithBatch(QueueRuntime queue) {
        return queue.permits() == PermitStrategy.ALWAYS;
    }

    Mono<Void> run(QueueRuntime queue, Leases.Held held) {
        ClaimedRow job = held.job();
        // Stopped before its outcome: released unrun when the node aborts; when the lease is gone,
        // no outcome, only the lease let go of once the handler is cancelled; when it expired,
        // nothing at all (the empty signal wins Mono.or as well). The handler is cancelled either
        // way: Mono.or cancels it before it passes the transition on, see write. A timeout is the
        // handler's own failure, handled in invoke.
        Mono<Transition> stopped = held.stopped().flatMap(stop -> switch (stop) {
            case ABORTED -> Mono.just(Transition.RELEASE);
            case LOST -> Mono.just(Transition.LET_GO);
            case EXPIRED -> Mono.empty();
            case TIMED_OUT -> Mono.never();
        });
        if (timedWithBatch(queue)) {
            Mono<Outcome> timedOut = held.stopped().flatMap(stop -> stop == Leases.Stop.TIMED_OUT
                    ? Mono.error(timeoutError(queue)) : Mono.never());
            return invoke(queue, job, handled -> handled.or(timedOut)).or(stopped).flatMap(t -> write(held, t));
        }
        Function<Mono<Outcome>, Mono<Outcome>> timed =
                handled -> handled.timeout(queue.timeout(), Mono.error(() -> timeoutError(queue)));
        return Mono.defer(() -> queue.permits().acquire(job))
                .switchIfEmpty(Mono.error(() -> new IllegalStateException("PermitStrategy of queue " + queue.queue()
                        + " completed without a permit")))
                .<PermitResult>map(Granted::new)
                .onErrorResume(e -> Mono.just(new Denied(e)))
                .or(stopped.map(Stopped::new))
                .flatMap(result -> {
                    if (result instanceof Stopped a) {
                        return write(held, a.transition());
                    }
                    if (result instanceof Denied d) {
                        return write(held, d.error() instanceof PermitDenied pd
                                ? Transition.of(job, pd.outcome(), queue.backoff())
                                : Transition.failure(job, d.error(), queue.backoff()));
                    }
                    Permit permit = ((Granted) result).permit();
                    Mono<Void> release = Mono.defer(permit::release).onErrorResume(e -> {
                        log.warn("Releasing the permit of {} failed: {}", job, ErrorText.summary(e));
                        return Mono.empty();
                    });
                    // an outcome that could not be written frees the permit all the same
                    return invoke(queue, job, timed).or(stopped)
                            .flatMap(t -> write(held, t))
                            .onErrorResume(e -> release.then(Mono.error(e)))
                            .then(release);
                });
    }

    private Mono<Void> write(Leases.Held held, Transition transition) {
        held.finishing();
        if (transition instanceof Transition.LetGo) {
            // The lease was lost and the handler's subscription is disposed by now. Letting go is
            // queued, not waited for: the job leaves this node at once, as it did before there was
            // anything to let go of; the reaper lets go of a lease whose write never arrives.
            log.debug("{} lost its lease; its handler is cancelled", held.job());
            completer.letGo(held.job());
            return Mono.empty();
        }
        if (transition instanceof Transition.Retry || transition instanceof Transition.Reschedule) {
            pushedBack.run();
        }
        return completer.write(held.job(), transition);
    }

    private static TimeoutException timeoutError(QueueRuntime queue) {
        return new TimeoutException("Handler of queue " + queue.queue() + " did not finish within " + queue.timeout()
                + "; its subscription was cancelled");
    }

    /** Runs the handler, bounded in time by {@code timed}, and turns whatever happens into an outcome. */
    private Mono<Transition> invoke(QueueRuntime queue, ClaimedRow job,
                                      Function<Mono<Outcome>, Mono<Outcome>> timed) {
        return Mono.defer(() -> {
            QueueMetrics.HandlerRun run = metrics.handlerStarted(job);
            Mono<Outcome> handled = Mono.defer(() -> {
                Mono<Outcome> outcome = queue.handler().handle(job);
                // in the library's words, not Reactor's ("The Mono returned by the supplier is null")
                return outcome != null ? outcome : Mono.error(new NullPointerException("Handler of queue "
                        + queue.queue() + " returned null instead of a Mono<Outcome>"));
            });
            if (handlerScheduler != Schedulers.immediate()) {
                handled = handled.subscribeOn(handlerScheduler);
            }
            return timed.apply(handled)
                    .switchIfEmpty(Mono.error(() -> new IllegalStateException("Handler of queue " + queue.queue()
                            + " completed without an outcome")))
                    .map(outcome -> {
                        Transition transition = Transition.of(job, outcome, queue.backoff());
                        run.finished(transition);
                        return transition;
                    })
                    .onErrorResume(e -> {
                        Transition transition = Transition.failure(job, e, queue.backoff());
                        run.finished(transition);
                        log.debug("{} failed: {}", job, ErrorText.summary(e));
                        return Mono.just(transition);
                    })
                    .doOnCancel(() -> run.finished(Transition.RELEASE));
        });
    }

    /** What came of asking for the handler's permit. */
    private sealed interface PermitResult permits Granted, Denied, Stopped {
    }

    private record Granted(Permit permit) implements PermitResult {
    }

    private record Denied(Throwable error) implements PermitResult {
    }

    /** Stopped while waiting for the permit: aborted (released unrun) or its lease lost (let go of). */
    private record Stopped(Transition transition) implements PermitResult {
    }
}
