package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * Jobs due later start when they are due, not at the next poll: the nodes here poll once an hour,
 * so only their due timer can start the jobs within the test's time. The timer learns of a job
 * enqueued to run later from the insert's notification, and of a retry from looking the next due
 * time up after the node wrote it; a {@code jobs()} stream from the notification. What is checked is that the jobs ran, and never before their
 * run time; how soon after it is the benchmark's business (workload {@code latency}, docs).
 */
@ExtendWith(PostgresExtension.class)
class ScheduledJobsIT {
    private static final Duration POLL = Duration.ofHours(1);
    private static final Duration LATER = Duration.ofMillis(500);

    private final TestSchema db;

    ScheduledJobsIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
    }

    @BeforeEach
    void empty() {
        db.deleteAllJobs();
    }

    /** When each attempt started, and the run time the job had then. */
    private record Start(Instant at, Instant runAt, int attempt) {
    }

    @Test
    void aJobEnqueuedToRunLaterStartsWhenItIsDueAlthoughNoPollComes() {
        List<Start> starts = new CopyOnWriteArrayList<>();
        PgQueue node = node("later", starts, false);
        try {
            node.start().block(TIMEOUT);
            // the node has claimed and looked up the next due time at start: only the insert's
            // notification can tell it of this job
            node.enqueue(NewJob.of("later", Map.of("n", 1)).delay(LATER)).block(TIMEOUT);

            await().atMost(TIMEOUT).until(() -> starts.size() == 1);
            assertThat(starts.get(0).at()).as("never before its run time").isAfterOrEqualTo(starts.get(0).runAt());
            await().atMost(TIMEOUT).until(() -> db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'completed'") == 1);
        } finally {
            node.close().block(TIMEOUT);
        }
    }

    @Test
    void aRetryStartsWhenItsBackoffIsOverAlthoughNoPollComes() {
        List<Start> starts = new CopyOnWriteArrayList<>();
        PgQueue node = node("retried", starts, true);
        try {
            node.start().block(TIMEOUT);
            node.enqueue(NewJob.of("retried", Map.of("n", 1))).block(TIMEOUT);

            await().atMost(TIMEOUT).until(() -> starts.size() == 2);
            assertThat(starts.get(1).attempt()).isEqualTo(2);
            assertThat(starts.get(1).at()).as("not before the backoff is over").isAfterOrEqualTo(starts.get(1).runAt());
        } finally {
            node.close().block(TIMEOUT);
        }
    }

    @Test
    void aJobsStreamGetsAJobEnqueuedToRunLaterWhenItIsDueAlthoughNoPollComes() {
        PgQueue node = db.queueBuilder().pollInterval(POLL).build();
        try {
            Flux<ClaimedJob> stream = node.jobs("streamed");
            StepVerifier.create(stream.take(1).flatMap(claimed -> claimed.complete(Outcome.success())
                                    .thenReturn(Duration.between(claimed.job().runAt(), Instant.now()))))
                    // the stream has claimed once at its start: only the insert's notification tells of this job
                    .then(() -> node.enqueue(NewJob.of("streamed", Map.of("n", 1)).delay(LATER)).block(TIMEOUT))
                    .assertNext(late -> assertThat(late.isNegative()).as("started before its run time: %s", late).isFalse())
                    .expectComplete()
                    .verify(TIMEOUT);
        } finally {
            node.close().block(TIMEOUT);
        }
    }

    /** A node polling once an hour whose handler records each start; the first attempt fails when told to. */
    private PgQueue node(String queue, List<Start> starts, boolean failFirst) {
        return db.queueBuilder()
                .pollInterval(POLL)
                .handlerScheduler(Schedulers.immediate())
                .handler(ReactiveHandler.of(queue, job -> {
                    starts.add(new Start(Instant.now(), job.runAt(), job.attempt()));
                    return Mono.just(failFirst && job.attempt() == 1 ? Outcome.retry("the first attempt fails")
                            : Outcome.success());
                }), QueueOptions.defaults().backoff(Backoff.linear(LATER)))
                .build();
    }
}
