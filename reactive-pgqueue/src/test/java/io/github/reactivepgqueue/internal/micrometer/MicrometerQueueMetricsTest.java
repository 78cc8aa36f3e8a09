package io.github.reactivepgqueue.internal.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.internal.ClaimedRow;
import io.github.reactivepgqueue.internal.HandlerResult;
import io.github.reactivepgqueue.internal.QueueMetrics;
import io.github.reactivepgqueue.internal.QueueMetrics.QueueDepth;
import io.github.reactivepgqueue.internal.WrittenOutcome;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class MicrometerQueueMetricsTest {
    private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final QueueMetrics metrics = MicrometerQueueMetrics.create(registry, "s");

    @Test
    void pickupCountsFromRunAtOnTheDatabaseClockPlusTheTimeSinceTheClaim() {
        long claimedNanos = 1_000_000_000L;
        ClaimedRow job = row("q", T, T.plusSeconds(10), T.plusSeconds(13), claimedNanos);
        assertThat(MicrometerQueueMetrics.pickupNanos(job, claimedNanos + 5_000_000))
                .isEqualTo(Duration.ofSeconds(3).plusMillis(5).toNanos());
    }

    @Test
    void pickupOfAJobDueBeforeItWasCreatedCountsFromItsCreation() {
        ClaimedRow job = row("q", T, T.minus(Duration.ofDays(365)), T.plusMillis(20), 0);
        assertThat(MicrometerQueueMetrics.pickupNanos(job, 0)).isEqualTo(Duration.ofMillis(20).toNanos());
    }

    @Test
    void pickupOfAJobDueCenturiesAgoDoesNotOverflow() {
        Instant longAgo = Instant.parse("-4000-01-01T00:00:00Z");
        ClaimedRow job = row("q", longAgo, longAgo, T, 0);
        assertThat(MicrometerQueueMetrics.pickupNanos(job, 10)).isPositive();
    }

    @Test
    void aHandlerRunIsTimedUnderItsQueueAndResult() {
        QueueMetrics.HandlerRun run = metrics.handlerStarted(row("q", T, T, T.plusMillis(7), System.nanoTime()));
        run.finished(HandlerResult.TIMEOUT);
        assertThat(registry.get("pgqueue.handler.duration").tags("schema", "s", "queue", "q", "outcome", "timeout")
                .timer().count()).isEqualTo(1);
        assertThat(registry.get("pgqueue.pickup.latency").tags("queue", "q").timer().totalTime(TimeUnit.MILLISECONDS))
                .isGreaterThanOrEqualTo(7);
    }

    @Test
    void deadOutcomesAreOneCounterTaggedWithTheStatus() {
        metrics.written("q", WrittenOutcome.BAD_JOB);
        metrics.written("q", WrittenOutcome.UNPROCESSABLE);
        metrics.written("q", WrittenOutcome.UNPROCESSABLE);
        assertThat(registry.get("pgqueue.jobs.dead").tags("queue", "q", "status", "bad_job").counter().count())
                .isEqualTo(1);
        assertThat(registry.get("pgqueue.jobs.dead").tags("queue", "q", "status", "unprocessable").counter().count())
                .isEqualTo(2);
    }

    @Test
    void queueNamesPastTheLimitShareOneTag() {
        for (int i = 0; i < MicrometerQueueMetrics.MAX_QUEUES + 5; i++) {
            metrics.enqueued("q" + i);
        }
        metrics.enqueued("q0");
        assertThat(registry.get("pgqueue.jobs.enqueued").tags("queue", "q0").counter().count()).isEqualTo(2);
        assertThat(registry.get("pgqueue.jobs.enqueued").tags("queue", MicrometerQueueMetrics.OTHER_QUEUES)
                .counter().count()).isEqualTo(5);
        assertThat(registry.find("pgqueue.jobs.enqueued").counters()).hasSize(MicrometerQueueMetrics.MAX_QUEUES + 1);
    }

    @Test
    void aQueueMissingFromTheNextSampleHasNoPendingJobs() {
        metrics.queueDepths(List.of(new QueueDepth("a", 3, 2, 1.5), new QueueDepth("b", 1, 0, 0)));
        assertThat(registry.get("pgqueue.queue.depth").tags("queue", "a").gauge().value()).isEqualTo(3);
        assertThat(registry.get("pgqueue.queue.scheduled").tags("queue", "a").gauge().value()).isEqualTo(2);
        assertThat(registry.get("pgqueue.queue.lag").tags("queue", "a").gauge().value()).isEqualTo(1.5);

        metrics.queueDepths(List.of(new QueueDepth("b", 4, 0, 0)));
        assertThat(registry.get("pgqueue.queue.depth").tags("queue", "a").gauge().value()).isZero();
        assertThat(registry.get("pgqueue.queue.lag").tags("queue", "a").gauge().value()).isZero();
        assertThat(registry.get("pgqueue.queue.depth").tags("queue", "b").gauge().value()).isEqualTo(4);

        metrics.close();
        assertThat(registry.find("pgqueue.queue.depth").gauges()).isEmpty();
    }

    private static ClaimedRow row(String queue, Instant createdAt, Instant runAt, Instant claimedAt, long claimedNanos) {
        return new ClaimedRow(UUID.randomUUID(), queue, null, null, 1, 5, 0, 0, null, null, createdAt, runAt,
                UUID.randomUUID(), null, claimedAt, claimedNanos);
    }
}
