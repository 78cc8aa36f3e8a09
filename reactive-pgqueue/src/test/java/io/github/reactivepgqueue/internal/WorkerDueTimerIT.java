package io.github.reactivepgqueue.internal;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.Backoff;
import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.ReactiveHandler;
import io.github.reactivepgqueue.internal.Config.ClaimConfig;
import io.github.reactivepgqueue.internal.store.JobStore;
import io.github.reactivepgqueue.internal.store.PgJobStore;
import io.github.reactivepgqueue.internal.store.SchemaName;
import io.github.reactivepgqueue.permit.PermitStrategy;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * The worker's due timer in virtual time, with a poll interval of a day so that only the timer can
 * claim in between: a job due later is claimed when it becomes due. The database clock does not
 * follow virtual time, so each test moves the job's run time back to the past before it advances
 * the timer to its due time, as the real clock would have.
 */
@ExtendWith(PostgresExtension.class)
class WorkerDueTimerIT {
    private static final Duration POLL = Duration.ofDays(1);
    private static final Duration LATER = Duration.ofMinutes(10);
    private static final String QUEUE = "later";

    private final VirtualTimeScheduler time = VirtualTimeScheduler.create();
    private final Sinks.Many<Duration> dueLater = Sinks.many().multicast().directBestEffort();
    private final Sinks.Many<Object> lookAgain = Sinks.many().multicast().directBestEffort();
    private final AtomicInteger attempts = new AtomicInteger();
    private final TestSchema schema;
    private final JobStore store;
    private final Completer completer;
    private final Worker worker;

    WorkerDueTimerIT(TestSchema schema) {
        this.schema = schema;
        PgQueue queue = schema.queueBuilder().listen(false).build();
        queue.migrate().block(TIMEOUT);
        this.store = new PgJobStore(schema.connectionFactory(), SchemaName.of(schema.name()), queue.objectMapper(),
                TIMEOUT, TIMEOUT, TIMEOUT, Schedulers.parallel());
        this.completer = new Completer(store, new Signals(store, Schedulers.parallel()), 100, false, 10,
                Duration.ofMillis(2), Schedulers.parallel(), QueueMetrics.NONE);
        // the first attempt of a job fails, so that its retry is due a backoff later
        QueueRuntime later = new QueueRuntime(ReactiveHandler.of(QUEUE, job -> attempts.incrementAndGet() == 1
                ? Mono.just(Outcome.retry("the first attempt fails"))
                : Mono.just(Outcome.success())),
                10, Backoff.linear(LATER), Duration.ofMinutes(1), PermitStrategy.ALWAYS);
        this.worker = new Worker(new JobClaimer(store, QueueMetrics.NONE), completer, new Leases(),
                Schedulers.immediate(), List.of(later), new ClaimConfig(10, 10, 2, POLL), Flux.never(),
                dueLater.asFlux(), lookAgain.asFlux(), time, QueueMetrics.NONE);
    }

    @BeforeEach
    void empty() {
        schema.deleteAllJobs();
    }

    @AfterEach
    void stop() {
        worker.stop(Duration.ZERO).block(TIMEOUT);
        completer.close().block(TIMEOUT);
        time.dispose();
    }

    @Test
    void aJobDueLaterIsLookedUpAtStartAndClaimedWhenItIsDue() {
        insertDueIn(LATER);
        startAndFirstClaim();
        await().atMost(TIMEOUT).until(() -> worker.describe().contains("due timer set"));

        time.advanceTimeBy(LATER.minusSeconds(1));
        assertThat(worker.describe()).as("nothing before the due time").contains("claims started 1");

        backdateRunTimes();
        StepVerifier.create(worker.claims().take(1))
                .then(() -> time.advanceTimeBy(Duration.ofSeconds(2)))
                .expectNext(new ClaimResult(1))
                .expectComplete()
                .verify(TIMEOUT);
    }

    @Test
    void aNotifiedDueTimeSetsTheTimerAndAnEarlierOneReplacesALaterOne() {
        startAndFirstClaim();
        insertDueIn(Duration.ofMinutes(1));
        dueLater.tryEmitNext(LATER);
        dueLater.tryEmitNext(Duration.ofMinutes(1));
        dueLater.tryEmitNext(Duration.ofMinutes(5)); // later than the one set: ignored

        backdateRunTimes();
        StepVerifier.create(worker.claims().take(1))
                .then(() -> time.advanceTimeBy(Duration.ofMinutes(1).plusSeconds(1)))
                .expectNext(new ClaimResult(1))
                .expectComplete()
                .verify(TIMEOUT);
    }

    @Test
    void aRetryIsClaimedAgainWhenItsBackoffIsOver() {
        insertDueIn(Duration.ZERO);
        startAndFirstClaim(); // claims the job; its first attempt fails and is retried a backoff later
        await().atMost(TIMEOUT).until(() -> attempts.get() == 1 && worker.describe().contains("due timer set"));
        assertThat(schema.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'pending' AND run_at > now()"))
                .as("the retry waits for its backoff").isEqualTo(1);

        backdateRunTimes();
        time.advanceTimeBy(LATER.plusSeconds(1));
        await().atMost(TIMEOUT).until(() -> attempts.get() == 2);
    }

    @Test
    void afterTheListenerReconnectedTheNextShortClaimLooksAgain() {
        startAndFirstClaim(); // looks, finds nothing
        insertDueIn(LATER); // as if its notification had been missed
        lookAgain.tryEmitNext("reconnected");
        assertThat(worker.runOnce().block(TIMEOUT)).isEqualTo(new ClaimResult(0));
        await().atMost(TIMEOUT).until(() -> worker.describe().contains("due timer set"));
    }

    private void startAndFirstClaim() {
        StepVerifier.create(worker.claims().take(1))
                .then(worker::start)
                .expectNextCount(1)
                .expectComplete()
                .verify(TIMEOUT);
    }

    private void insertDueIn(Duration dueIn) {
        schema.execute("INSERT INTO {schema}.jobs (id, queue, payload, max_attempts, run_at) "
                + "VALUES (gen_random_uuid(), $1, '{}', 3, now() + $2 * interval '1 microsecond')", QUEUE,
                dueIn.toNanos() / 1000);
    }

    /** What the passing of time does to the database's view: every pending job is due now. */
    private void backdateRunTimes() {
        schema.execute("UPDATE {schema}.jobs SET run_at = now() - interval '1 second' WHERE status = 'pending'");
    }
}
