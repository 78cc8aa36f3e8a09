package io.github.reactivepgqueue.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.scheduler.VirtualTimeScheduler;

/** The background loop under every heartbeat, reaper and janitor: interval, triggers, backoff, stop. */
class RepeatingTaskTest {
    private final VirtualTimeScheduler time = VirtualTimeScheduler.create();
    private final List<Long> runsAt = new CopyOnWriteArrayList<>();

    private RepeatingTask task(Duration interval, Mono<?> work) {
        return new RepeatingTask("test task", interval, () -> {
            runsAt.add(time.now(java.util.concurrent.TimeUnit.MILLISECONDS));
            return work;
        }, LoggerFactory.getLogger(RepeatingTaskTest.class), time);
    }

    @Test
    void runsEveryIntervalAfterTheFirstDelayAndStopsOnStop() {
        RepeatingTask task = task(Duration.ofSeconds(5), Mono.empty());
        task.start(Duration.ofSeconds(1), Flux.never());
        time.advanceTimeBy(Duration.ofSeconds(16));
        assertThat(runsAt).containsExactly(1_000L, 6_000L, 11_000L, 16_000L);

        task.stop();
        time.advanceTimeBy(Duration.ofMinutes(1));
        assertThat(runsAt).hasSize(4);
    }

    @Test
    void aTriggerRunsItAtOnceAndTriggersDuringARunCoalesce() {
        Sinks.Many<Object> triggers = Sinks.many().multicast().directBestEffort();
        Sinks.Empty<Void> slowRun = Sinks.empty();
        AtomicInteger runs = new AtomicInteger();
        RepeatingTask task = new RepeatingTask("test task", Duration.ofHours(1),
                () -> runs.incrementAndGet() == 1 ? slowRun.asMono() : Mono.empty(),
                LoggerFactory.getLogger(RepeatingTaskTest.class), time);
        task.start(Duration.ofHours(1), triggers.asFlux());

        triggers.tryEmitNext("a");
        assertThat(runs).hasValue(1);
        for (int i = 0; i < 10; i++) {
            triggers.tryEmitNext("during the first run");
        }
        assertThat(runs).as("a run in progress is not joined by another").hasValue(1);
        slowRun.tryEmitEmpty();
        assertThat(runs).as("ten triggers during the run make one more run").hasValue(2);
        task.stop();
    }

    @Test
    void failuresPauseLongerEachTimeUpToAMinuteAndTheLoopNeverEnds() {
        AtomicInteger calls = new AtomicInteger();
        RepeatingTask task = new RepeatingTask("test task", Duration.ofSeconds(10), () -> {
            runsAt.add(time.now(java.util.concurrent.TimeUnit.MILLISECONDS));
            return calls.incrementAndGet() <= 5 ? Mono.error(new IllegalStateException("database down")) : Mono.empty();
        }, LoggerFactory.getLogger(RepeatingTaskTest.class), time);
        task.start(Duration.ZERO, Flux.never());
        time.advanceTimeBy(Duration.ofMinutes(5));
        // failure 1 at 0 pauses 10 s, 2 pauses 20 s, 3 pauses 40 s, 4 and 5 pause 60 s (the cap);
        // interval ticks that fall into a pause are coalesced into one run right after it
        assertThat(runsAt.subList(0, 6)).containsExactly(0L, 10_000L, 30_000L, 70_000L, 130_000L, 190_000L);
        assertThat(calls.get()).as("the loop goes on after the failures").isGreaterThan(6);
        task.stop();
    }

    @Test
    void pauseDoublesFromTheIntervalAndIsCapped() {
        RepeatingTask task = task(Duration.ofSeconds(5), Mono.empty());
        assertThat(task.pause(1)).isEqualTo(Duration.ofSeconds(5));
        assertThat(task.pause(2)).isEqualTo(Duration.ofSeconds(10));
        assertThat(task.pause(4)).isEqualTo(Duration.ofSeconds(40));
        assertThat(task.pause(5)).isEqualTo(Duration.ofMinutes(1));
        assertThat(task.pause(1_000_000)).isEqualTo(Duration.ofMinutes(1));
        assertThat(task("long", Duration.ofMinutes(5), Mono.empty()).pause(1)).isEqualTo(Duration.ofMinutes(1));
    }

    private RepeatingTask task(String name, Duration interval, Mono<?> work) {
        return new RepeatingTask(name, interval, () -> work, LoggerFactory.getLogger(RepeatingTaskTest.class), time);
    }
}
