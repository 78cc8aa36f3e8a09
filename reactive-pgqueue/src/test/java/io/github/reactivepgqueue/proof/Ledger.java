package io.github.reactivepgqueue.proof;

import io.github.reactivepgqueue.Job;
import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.ReactiveHandler;
import java.util.List;
import java.util.function.Function;
import reactor.core.publisher.Mono;

/**
 * Where test handlers record each claim they run ({@link MemoryLedger} inside the test JVM,
 * {@link LedgerTable} when the handlers run in other processes), read by {@link Invariants} for
 * I3 (once per claim, one success per job).
 */
public interface Ledger {

    /** Records {@code event} for the claim {@code job} comes from, as seen by {@code node}. */
    Mono<Void> record(Job job, LedgerEntry.Event event, String node);

    /** Everything recorded so far (blocking: call it on the test thread). */
    List<LedgerEntry> entries();

    /**
     * A handler of {@code queue} that records its start, runs {@code body}, and records a success
     * when the body returns {@code Outcome.success()}; errors and other outcomes are passed on.
     */
    default ReactiveHandler handler(String queue, String node, Function<Job, Mono<Outcome>> body) {
        return ReactiveHandler.of(queue, job -> record(job, LedgerEntry.Event.START, node)
                .then(Mono.defer(() -> body.apply(job)))
                .flatMap(outcome -> outcome instanceof Outcome.Success
                        ? record(job, LedgerEntry.Event.SUCCESS, node).thenReturn(outcome)
                        : Mono.just(outcome)));
    }
}
