package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.Backoff;
import io.github.reactivepgqueue.ReactiveHandler;
import io.github.reactivepgqueue.permit.PermitStrategy;
import java.time.Duration;

/** A queue served by this node: its handler and its resolved options. */
public record QueueRuntime(ReactiveHandler handler, int concurrency, Backoff backoff, Duration timeout,
                           PermitStrategy permits) {
    public String queue() {
        return handler.queue();
    }
}
