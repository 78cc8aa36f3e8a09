package io.github.reactivepgqueue.internal.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.internal.ClaimedRow;
import io.github.reactivepgqueue.internal.QueueMetrics;
import io.github.reactivepgqueue.internal.QueueMetrics.QueueDepth;
import io.github.reactivepgqueue.internal.Transition;
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
        run.finished(new Transition.Retry(0, null, null, "late", Transition.Cause.TIMEOUT));
        assertThat(registry.get("pgqueue.handler.duration").tags("schema", "s", "queue", "q", "outcome", "timeout")
                .timer().count()).isEqualTo(1);
        assertThat(registry.get("pgqueue.pickup.latency").tags("queue", "q").timer().totalTime(TimeUnit.MILLISECONDS))
                .isGreaterThanOrEqualTo(7);
    }

    @Test
    void deadOutcomesAreOneCounterTaggedWithTheStatus() {
        metrics.written("q", new Transition.Reschedule(null, 0L), JobStatus.BAD_JOB);
        metrics.written("q", FINISH_UNPROCESSABLE, JobStatus.UNPROCESSABLE);
        metrics.written("q", FINISH_UNPROCESSABLE, JobStatus.UNPROCESSABLE);
        assertThat(registry.get("pgqueue.jobs.dead").tags("queue", "q", "status", "bad_job").counter().count())
                .isEqualTo(1);
        assertThat(registry.get("pgqueue.jobs.dead").tags("queue", "q", "status", "unprocessable").counter().count())
                .isEqualTo(2);
    }

    private static final Transition FINISH_UNPROCESSABLE = new Transition.Finish(JobStatus.UNPROCESSABLE, null);
    private static final Transition RETRY = new Transition.Retry(0, null, null, null, Transition.Cause.OUTCOME);

    @Test
    void aPendingJobWasRetriedRescheduledOrReleasedDependingOnTheWrite() {
        metrics.written("q", RETRY, JobStatus.PENDING);
        metrics.written("q", new Transition.Reschedule(null, 0L), JobStatus.PENDING);
        metrics.written("q", Transition.RELEASE, JobStatus.PENDING);
        assertThat(registry.get("pgqueue.jobs.retried").tags("queue", "q").counter().count()).isEqualTo(1);
        assertThat(registry.get("pgqueue.jobs.rescheduled").tags("queue", "q").counter().count()).isEqualTo(1);
        assertThat(registry.get("pgqueue.jobs.released").tags("queue", "q").counter().count()).isEqualTo(1);
    }

    @Test
    void aFinishedJobIsNamedByItsStatus() {
        metrics.written("q", Transition.COMPLETE, JobStatus.COMPLETED);
        metrics.written("q", RETRY, JobStatus.FAILED);
        metrics.written("q", new Transition.Reschedule(null, 0L), JobStatus.BAD_JOB);
        metrics.written("q", new Transition.Finish(JobStatus.CANCELLED, null), JobStatus.CANCELLED);
        metrics.written("q", new Transition.Finish(JobStatus.CRITICAL, null), JobStatus.CRITICAL);
        metrics.written("q", FINISH_UNPROCESSABLE, JobStatus.UNPROCESSABLE);
        assertThat(registry.get("pgqueue.jobs.completed").tags("queue", "q").counter().count()).isEqualTo(1);
        assertThat(registry.get("pgqueue.jobs.failed").tags("queue", "q").counter().count()).isEqualTo(1);
        assertThat(registry.get("pgqueue.jobs.cancelled").tags("queue", "q").counter().count()).isEqualTo(1);
        for (String dead : List.of("bad_job", "critical", "unprocessable")) {
            assertThat(registry.get("pgqueue.jobs.dead").tags("queue", "q", "status", dead).counter().count())
                    .as(dead).isEqualTo(1);
        }
    }

    @Test
    void aStatusNoWriteLeavesIsNoOutcomeAndNoError() {
        // (an unknown status string no longer reaches the metrics: the store parses statuses strictly)
        metrics.written("q", Transition.COMPLETE, JobStatus.RUNNING);
        assertThat(registry.find("pgqueue.jobs.completed").counters()).isEmpty();
        assertThat(registry.getMeters()).noneMatch(m -> m.getId().getName().startsWith("pgqueue.jobs."));
    }

    @Test
    void everyHandlerTagIsAResultOfTheMetrics() {
        for (Transition t : List.of(Transition.COMPLETE, RETRY, Transition.RELEASE, FINISH_UNPROCESSABLE,
                new Transition.Retry(0, null, null, null, Transition.Cause.ERROR),
                new Transition.Retry(0, null, null, null, Transition.Cause.TIMEOUT),
                new Transition.Reschedule(null, 0L), new Transition.Finish(JobStatus.CANCELLED, null),
                new Transition.Finish(JobStatus.CRITICAL, null))) {
            assertThat(MicrometerQueueMetrics.RESULTS).contains(t.handlerTag());
        }
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
                UUID.randomUUID(), null, claimedAt, claimedNanos, claimedNanos);
    }
}
