package io.github.reactivepgqueue.examples.pipeline;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Mono;

/**
 * A stand-in for a bulk write to another system (a warehouse, a search index, an HTTP bulk API):
 * one call per batch, a few milliseconds each, non-blocking. Its {@code failingWrite}-th call
 * fails, as a real system fails now and then; every call is recorded.
 */
public final class WarehouseSink {
    private static final Duration LATENCY = Duration.ofMillis(5);

    private final int failingWrite;
    private final AtomicInteger calls = new AtomicInteger();
    private final List<Write> writes = new CopyOnWriteArrayList<>();

    /** One call of {@link #write(List)}: its number (1-based), the readings, and whether it failed. */
    public record Write(int number, List<Reading> readings, boolean failed) {
    }

    /** A sink whose call number {@code failingWrite} (1-based) fails; 0 for none. */
    public WarehouseSink(int failingWrite) {
        this.failingWrite = failingWrite;
    }

    /** Writes {@code readings} in one call; fails with {@link WarehouseUnavailableException} on the failing call. */
    public Mono<Void> write(List<Reading> readings) {
        return Mono.defer(() -> {
            int number = calls.incrementAndGet();
            boolean fail = number == failingWrite;
            writes.add(new Write(number, List.copyOf(readings), fail));
            Mono<Void> latency = Mono.delay(LATENCY).then();
            return fail ? latency.then(Mono.error(new WarehouseUnavailableException("write " + number + " timed out")))
                    : latency;
        });
    }

    /** Every call so far, in order. */
    public List<Write> writes() {
        return List.copyOf(writes);
    }

    /** The error of the failing call. */
    public static final class WarehouseUnavailableException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        WarehouseUnavailableException(String message) {
            super("warehouse unavailable: " + message);
        }
    }
}
