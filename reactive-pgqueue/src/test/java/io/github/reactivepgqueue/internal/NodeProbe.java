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

    /** What one run of the schedule runner did. */
    public record ScheduleRun(long schedules, long enqueued, long held, long missed) {
    }

    /** One run of the node's schedule runner, now (whether or not the node was started). */
    public static Mono<ScheduleRun> runSchedulesOnce(Node node) {
        return node.scheduleRunner().runOnce().map(r -> new ScheduleRun(r.schedules(), r.enqueued(), r.held(),
                r.missed()));
    }

    /** The runs the node's schedule runner completes from now on (failed ones emit nothing); hot. */
    public static Flux<ScheduleRun> scheduleRuns(Node node) {
        return node.scheduleRunner().loop().runs()
                .filter(run -> !run.failed() && run.result() != null)
                .map(run -> new ScheduleRun(run.result().schedules(), run.result().enqueued(), run.result().held(),
                        run.result().missed()));
    }

    /** Whether the node's schedule runner waits for a next slot on its timer. */
    public static boolean scheduleTimerSet(Node node) {
        return node.scheduleRunner().timerSet();
    }
}
