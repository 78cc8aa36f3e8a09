package io.github.reactivepgqueue.internal;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Reaches a node's package-private services for tests in other packages. */
public final class NodeProbe {
    private NodeProbe() {
    }

    /** What one beat did: leases refreshed and leases found lost. */
    public record Beat(int held, int lost) {
    }

    /** One beat of the node's heartbeat, now. */
    public static Mono<Beat> beatOnce(Node node) {
        return node.heartbeat().runOnce().map(r -> new Beat(r.held(), r.lost()));
    }

    /** The beats the node's own heartbeat loop completes from now on (failed ones emit nothing); hot. */
    public static Flux<Beat> beats(Node node) {
        return node.heartbeat().loop().runs()
                .filter(run -> !run.failed() && run.result() != null)
                .map(run -> new Beat(run.result().held(), run.result().lost()));
    }
}
