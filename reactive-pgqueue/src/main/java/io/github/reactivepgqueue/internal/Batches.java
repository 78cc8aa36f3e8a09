package io.github.reactivepgqueue.internal;

import java.util.function.Supplier;
import reactor.core.publisher.Mono;

/** How the maintenance services work through a backlog without a statement over all of it. */
final class Batches {
    private Batches() {
    }

    /**
     * Runs one statement over at most {@code batchSize} rows, again while batches come back full;
     * emits the rows in all.
     */
    static Mono<Long> repeatWhileFull(Supplier<Mono<Long>> batch, int batchSize) {
        return Mono.defer(batch).expand(n -> n >= batchSize ? Mono.defer(batch) : Mono.empty())
                .reduce(0L, Long::sum);
    }
}
