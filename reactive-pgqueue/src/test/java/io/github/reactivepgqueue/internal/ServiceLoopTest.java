package io.github.reactivepgqueue.internal;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/** The loop under every background service: interval, wake-ups, backoff, stop, and its runs signal; in virtual time. */
class ServiceLoopTest {
    private static final Logger LOG = LoggerFactory.getLogger(ServiceLoopTest.class);

    private final VirtualTimeScheduler time = VirtualTimeScheduler.create();
    private final List<Long> runsAt = new CopyOnWriteArrayList<>();

    private <R> ServiceLoop<R> loop(Duration interval, Supplier<Mono<R>> work) {
        return new ServiceLoop<>("test loop", interval, () -> {
            runsAt.add(time.now(TimeUnit.MILLISECONDS));
            return work.get();
        }, LOG, time);
    }

    @Test
    void runsEveryIntervalAfterTheFirstDelayAndStopsOnStop() {
        ServiceLoop<Object> loop = loop(Duration.ofSeconds(5), Mono::empty);
        loop.start(Duration.ofSeconds(1), Flux.never());
        time.advanceTimeBy(Duration.ofSeconds(16));
        assertThat(runsAt).containsExactly(1_000L, 6_000L, 11_000L, 16_000L);

        loop.stop();
        time.advanceTimeBy(Duration.ofMinutes(1));
        assertThat(runsAt).hasSize(4);
        loop.start(Duration.ZERO, Flux.never());
        time.advanceTimeBy(Duration.ofMinutes(1));
        assertThat(runsAt).as("a stopped loop does not start again").hasSize(4);
    }

    @Test
    void aWakeUpRunsItAtOnceAndWakeUpsDuringARunCoalesce() {
        Sinks.Many<Object> wakeups = Sinks.many().multicast().directBestEffort();
        Sinks.Empty<Void> slowRun = Sinks.empty();
        AtomicInteger runs = new AtomicInteger();
        ServiceLoop<Void> loop = new ServiceLoop<>("test loop", Duration.ofHours(1),
                () -> runs.incrementAndGet() == 1 ? slowRun.asMono() : Mono.empty(), LOG, time);
        loop.start(Duration.ofHours(1), wakeups.asFlux());

        wakeups.tryEmitNext("a");
        assertThat(runs).hasValue(1);
        for (int i = 0; i < 10; i++) {
            wakeups.tryEmitNext("during the first run");
        }
        assertThat(runs).as("a run in progress is not joined by another").hasValue(1);
        slowRun.tryEmitEmpty();
        assertThat(runs).as("ten wake-ups during the run make one more run").hasValue(2);
        loop.stop();
    }

    @Test
    void failuresPauseLongerEachTimeUpToAMinuteAndTheLoopNeverEnds() {
        AtomicInteger calls = new AtomicInteger();
        ServiceLoop<Object> loop = loop(Duration.ofSeconds(10), () -> calls.incrementAndGet() <= 5
                ? Mono.error(new IllegalStateException("database down")) : Mono.empty());
        loop.start(Duration.ZERO, Flux.never());
        time.advanceTimeBy(Duration.ofMinutes(5));
        // failure 1 at 0 pauses 10 s, 2 pauses 20 s, 3 pauses 40 s, 4 and 5 pause 60 s (the cap);
        // interval ticks that fall into a pause are coalesced into one run right after it
        assertThat(runsAt.subList(0, 6)).containsExactly(0L, 10_000L, 30_000L, 70_000L, 130_000L, 190_000L);
        assertThat(calls.get()).as("the loop goes on after the failures").isGreaterThan(6);
        loop.stop();
    }

    @Test
    void aCapAsSmallAsTheIntervalKeepsFailedRunsOneIntervalApart() {
        // the heartbeat's rule: its pause after failures never exceeds its interval
        ServiceLoop<Object> loop = new ServiceLoop<>("heartbeat-like", Duration.ofSeconds(5), Duration.ofSeconds(5),
                () -> {
                    runsAt.add(time.now(TimeUnit.MILLISECONDS));
                    return Mono.error(new IllegalStateException("database down"));
                }, LOG, time);
        loop.start(Duration.ZERO, Flux.never());
        time.advanceTimeBy(Duration.ofSeconds(20));
        assertThat(runsAt).containsExactly(0L, 5_000L, 10_000L, 15_000L, 20_000L);
        loop.stop();
    }

    @Test
    void theHeartbeatsLoopRetriesAFailedRunAtOnceThenPausesNeverPastItsInterval() {
        AtomicInteger calls = new AtomicInteger();
        ServiceLoop<Object> loop = ServiceLoop.retryingAtOnce("heartbeat", Duration.ofSeconds(5), () -> {
            runsAt.add(time.now(TimeUnit.MILLISECONDS));
            return calls.incrementAndGet() <= 6 ? Mono.error(new IllegalStateException("database down"))
                    : Mono.empty();
        }, LOG, time);
        loop.start(Duration.ZERO, Flux.never());
        time.advanceTimeBy(Duration.ofSeconds(20));
        // failure 1 at 0 is retried at once; then 0.1, 0.2, 0.4, 0.8, 1.6 s; success at 3.1 s; then every 5 s
        assertThat(runsAt).containsExactly(0L, 0L, 100L, 300L, 700L, 1_500L, 3_100L, 5_000L, 10_000L, 15_000L,
                20_000L);
        assertThat(loop.pause(1)).isZero();
        assertThat(loop.pause(2)).isEqualTo(Duration.ofMillis(100));
        assertThat(loop.pause(100)).isEqualTo(Duration.ofSeconds(5));
        loop.stop();
    }

    @Test
    void pauseDoublesFromTheIntervalAndIsCapped() {
        ServiceLoop<Object> loop = loop(Duration.ofSeconds(5), Mono::empty);
        assertThat(loop.pause(1)).isEqualTo(Duration.ofSeconds(5));
        assertThat(loop.pause(2)).isEqualTo(Duration.ofSeconds(10));
        assertThat(loop.pause(4)).isEqualTo(Duration.ofSeconds(40));
        assertThat(loop.pause(5)).isEqualTo(Duration.ofMinutes(1));
        assertThat(loop.pause(1_000_000)).isEqualTo(Duration.ofMinutes(1));
        assertThat(loop(Duration.ofMinutes(5), Mono::empty).pause(1)).isEqualTo(Duration.ofMinutes(1));
        assertThat(ServiceLoop.onWakeups("wake-ups only", Mono::empty, LOG, time).pause(2))
                .isEqualTo(ServiceLoop.FIRST_PAUSE.multipliedBy(2));
    }

    @Test
    void publishesEveryCompletedRunWithItsResultOrError() {
        AtomicInteger calls = new AtomicInteger();
        StepVerifier.withVirtualTime(() -> {
                    ServiceLoop<Integer> loop = new ServiceLoop<>("test loop", Duration.ofSeconds(1), () -> {
                        int n = calls.incrementAndGet();
                        return n == 2 ? Mono.error(new IllegalStateException("boom " + n)) : Mono.just(n);
                    }, LOG, VirtualTimeScheduler.get());
                    return loop.runs().take(3).doOnSubscribe(s -> loop.start(Duration.ofSeconds(1), Flux.never()))
                            .doFinally(signal -> loop.stop());
                })
                .expectSubscription()
                .expectNoEvent(Duration.ofSeconds(1))
                .assertNext(run -> assertThat(run.result()).isEqualTo(1))
                .expectNoEvent(Duration.ofSeconds(1))
                .assertNext(run -> assertThat(run.error()).hasMessage("boom 2"))
                // the pause after one failure is one interval; the tick inside it is coalesced
                .expectNoEvent(Duration.ofSeconds(1))
                .assertNext(run -> assertThat(run.result()).isEqualTo(3))
                .expectComplete()
                .verify(TIMEOUT);
    }

    @Test
    void stopCancelsTheRunInProgressAndPauseAllowsAnotherStart() {
        AtomicBoolean cancelled = new AtomicBoolean();
        ServiceLoop<Object> loop = loop(Duration.ofSeconds(1),
                () -> Mono.never().doOnCancel(() -> cancelled.set(true)));
        loop.start(Duration.ZERO, Flux.never());
        assertThat(runsAt).hasSize(1);
        loop.pause();
        assertThat(cancelled).as("pause cancels the run in progress").isTrue();
        time.advanceTimeBy(Duration.ofSeconds(10));
        assertThat(runsAt).hasSize(1);

        cancelled.set(false);
        loop.start(Duration.ZERO, Flux.never());
        assertThat(runsAt).as("a paused loop starts again").hasSize(2);
        loop.stop();
        assertThat(cancelled).as("stop cancels the run in progress").isTrue();
        loop.pause();
        loop.start(Duration.ZERO, Flux.never());
        assertThat(runsAt).as("pausing a stopped loop does not revive it").hasSize(2);
    }

    @Test
    void aWakeUpOnlyLoopRunsOnWakeUpsAlone() {
        Sinks.Many<Object> wakeups = Sinks.many().multicast().directBestEffort();
        ServiceLoop<Object> loop = ServiceLoop.onWakeups("wake-ups only", () -> {
            runsAt.add(time.now(TimeUnit.MILLISECONDS));
            return Mono.empty();
        }, LOG, time);
        loop.start(Duration.ZERO, wakeups.asFlux());
        time.advanceTimeBy(Duration.ofHours(1));
        assertThat(runsAt).isEmpty();
        wakeups.tryEmitNext("post");
        wakeups.tryEmitNext("post");
        assertThat(runsAt).hasSize(2);
        loop.stop();
    }
}
