package io.github.reactivepgqueue.internal;

import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/** Work that runs to its end once subscribed, whatever its subscriber does. */
public final class Shielded {
    private Shielded() {
    }

    /**
     * {@code work} run to its end once subscribed, whatever the subscriber does: a subscriber that
     * cancels gets nothing more. An error that comes after it left is not reported through
     * Reactor's dropped-error hook (which logs it at ERROR with a stack trace): the caller gave up
     * on the result, and the work handles its own failure paths (a rollback, a release). So the
     * future carries the error as a value, which Reactor discards quietly once nobody listens.
     */
    public static <T> Mono<T> runToEnd(Mono<T> work) {
        return Mono.defer(() -> Mono.fromFuture(work.map(Ended::of)
                        .onErrorResume(e -> Mono.just(Ended.error(e)))
                        .toFuture(), true))
                .flatMap(Ended::signal);
    }

    /** How a shielded piece of work ended: its value, or its error. */
    private record Ended<T>(@Nullable T value, @Nullable Throwable error) {
        static <T> Ended<T> of(T value) {
            return new Ended<>(value, null);
        }

        static <T> Ended<T> error(Throwable error) {
            return new Ended<>(null, error);
        }

        Mono<T> signal() {
            return error != null ? Mono.error(error) : Mono.justOrEmpty(value);
        }
    }
}
