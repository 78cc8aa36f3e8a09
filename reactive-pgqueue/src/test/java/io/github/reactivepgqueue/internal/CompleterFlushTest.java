package io.github.reactivepgqueue.internal;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/** The completer's batching in virtual time: a batch leaves when it is full or its flush interval is up. */
class CompleterFlushTest {
    private static final Duration FLUSH = Duration.ofMillis(2);

    @Test
    void aLoneChunkWaitsTheFlushIntervalAndAFullBatchLeavesAtOnce() {
        Sinks.Many<String> chunks = Sinks.many().unicast().onBackpressureBuffer();
        StepVerifier.withVirtualTime(() -> Completer.batches(chunks.asFlux(), 3, FLUSH, VirtualTimeScheduler.get()))
                .expectSubscription()
                .then(() -> chunks.tryEmitNext("a"))
                .expectNoEvent(FLUSH.minusNanos(1))
                .thenAwait(Duration.ofNanos(1))
                .expectNext(List.of("a"))
                .then(() -> {
                    chunks.tryEmitNext("b");
                    chunks.tryEmitNext("c");
                    chunks.tryEmitNext("d");
                })
                .expectNext(List.of("b", "c", "d")) // full: no wait for the interval
                .then(() -> chunks.tryEmitNext("e"))
                .thenAwait(FLUSH.dividedBy(2))
                .then(() -> chunks.tryEmitNext("f"))
                .expectNoEvent(FLUSH.dividedBy(2).minusNanos(1))
                .thenAwait(Duration.ofNanos(1))
                .expectNext(List.of("e", "f")) // the interval counts from the batch's first chunk
                .then(chunks::tryEmitComplete)
                .expectComplete()
                .verify(TIMEOUT);
    }

    @Test
    void nothingIsFlushedWhileNothingIsWritten() {
        StepVerifier.withVirtualTime(() -> Completer.batches(Sinks.many().unicast().<String>onBackpressureBuffer()
                        .asFlux(), 3, FLUSH, VirtualTimeScheduler.get()))
                .expectSubscription()
                .expectNoEvent(Duration.ofHours(1))
                .thenCancel()
                .verify(TIMEOUT);
    }
}
