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
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Result;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * The worker's wake-ups with its poll interval in virtual time (the claims themselves go to the
 * database): a claim at start, one per poll interval, and ticks or triggers that come while claims
 * are in flight coalesce into one more claim. The test counts claims; it never waits for an interval.
 */
@ExtendWith(PostgresExtension.class)
class WorkerWakeupsIT {
    private static final Duration POLL = Duration.ofSeconds(1);

    private final VirtualTimeScheduler time = VirtualTimeScheduler.create();
    private final Sinks.Many<Object> triggers = Sinks.many().multicast().directBestEffort();
    private final TestSchema schema;
    private final Completer completer;
    private final Worker worker;

    WorkerWakeupsIT(TestSchema schema) {
        this.schema = schema;
        PgQueue queue = schema.queueBuilder().listen(false).build();
        queue.migrate().block(TIMEOUT);
        JobStore store = new PgJobStore(schema.connectionFactory(), SchemaName.of(schema.name()),
                queue.objectMapper(), TIMEOUT, TIMEOUT, TIMEOUT, Schedulers.parallel());
        Signals signals = new Signals(store, Schedulers.parallel());
        this.completer = new Completer(store, signals, 100, false, 10, Duration.ofMillis(2), Schedulers.parallel(),
                QueueMetrics.NONE);
        QueueRuntime empty = new QueueRuntime(ReactiveHandler.of("nothing-due", job -> Mono.just(Outcome.success())),
                10, Backoff.linear(Duration.ofSeconds(1)), Duration.ofMinutes(1), PermitStrategy.ALWAYS);
        this.worker = new Worker(new JobClaimer(store, QueueMetrics.NONE), completer,
                new Leases(), Schedulers.immediate(), List.of(empty), new ClaimConfig(10, 1, 2, POLL),
                triggers.asFlux(), Flux.never(), Flux.never(), time, QueueMetrics.NONE);
    }

    @AfterEach
    void stop() {
        worker.stop(Duration.ZERO).block(TIMEOUT);
        completer.close().block(TIMEOUT);
        time.dispose();
    }

    @Test
    void claimsAtStartThenEveryPollIntervalAndCoalescesWhatComesDuringClaims() {
        StepVerifier.create(worker.claims().take(1))
                .then(worker::start)
                .expectNext(new ClaimResult(0))
                .expectComplete()
                .verify(TIMEOUT);
        assertThat(worker.describe()).contains("claims started 1");

        StepVerifier.create(worker.claims().take(1))
                .then(() -> time.advanceTimeBy(POLL))
                .expectNext(new ClaimResult(0))
                .expectComplete()
                .verify(TIMEOUT);
        assertThat(worker.describe()).as("one claim per poll interval").contains("claims started 2");

        // Ten intervals at once and five triggers while no claim can answer (a lock held elsewhere
        // keeps them waiting; each claim takes one permit of ten, so none finds the permits
        // taken): two claims run (claims in flight), the rest coalesce into one more.
        StepVerifier.create(worker.claims().take(3))
                .then(() -> whileClaimsWait(schema, () -> {
                    time.advanceTimeBy(POLL.multipliedBy(10));
                    for (int i = 0; i < 5; i++) {
                        triggers.tryEmitNext("wake");
                    }
                    await().atMost(TIMEOUT).until(() -> worker.describe().contains("claims running 2"));
                    assertThat(worker.describe()).as("two claims in flight, the rest waiting as one")
                            .contains("claims started 4");
                }))
                .expectNextCount(3)
                .expectComplete()
                .verify(TIMEOUT);
        assertThat(worker.describe()).contains("claims started 5");
        assertThat(worker.runOnce().block(TIMEOUT)).as("runOnce wakes it for one claim").isEqualTo(new ClaimResult(0));
        assertThat(worker.describe()).contains("claims started 6");
    }

    /**
     * Runs {@code burst} while another transaction holds the table every claim reads
     * (paused_queues) locked, so no claim answers before the lock is let go.
     */
    private static void whileClaimsWait(TestSchema schema, Runnable burst) {
        Connection locker = Mono.from(schema.connectionFactory().create()).block(TIMEOUT);
        try {
            Mono.from(locker.beginTransaction()).block(TIMEOUT);
            Flux.from(locker.createStatement("LOCK TABLE \"" + schema.name() + "\".paused_queues IN ACCESS EXCLUSIVE MODE")
                    .execute()).flatMap(Result::getRowsUpdated).blockLast(TIMEOUT);
            burst.run();
        } finally {
            Mono.from(locker.rollbackTransaction()).onErrorResume(e -> Mono.empty()).block(TIMEOUT);
            Mono.from(locker.close()).block(TIMEOUT);
        }
    }
}
