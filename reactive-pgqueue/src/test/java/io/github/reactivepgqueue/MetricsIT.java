package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.POLL;
import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/** The Micrometer metrics, read from a {@link SimpleMeterRegistry}, against a real database. */
@ExtendWith(PostgresExtension.class)
class MetricsIT {
    private static final int N = 4;

    private final TestSchema db;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    MetricsIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
    }

    @BeforeEach
    void empty() {
        db.deleteAllJobs();
    }

    @Test
    void countsJobsAndTimesHandlersPerQueueAndOutcome() {
        Backoff quick = Backoff.linear(Duration.ofMillis(1));
        PgQueue queue = db.queueBuilder().meterRegistry(registry).pollInterval(POLL).reprocessLimit(3)
                .defaultBackoff(quick)
                .handler(ReactiveHandler.of("ok", job -> Mono.just(Outcome.success())))
                .handler(ReactiveHandler.of("retry", job -> Mono.just(Outcome.retry("again"))))
                .handler(ReactiveHandler.of("cancel", job -> Mono.just(Outcome.cancel())))
                .handler(ReactiveHandler.of("critical", job -> Mono.just(Outcome.critical())))
                .handler(ReactiveHandler.of("boom", job -> {
                    throw new IllegalStateException("boom");
                }))
                .handler(ReactiveHandler.of("slow", job -> Mono.never()),
                        QueueOptions.defaults().timeout(Duration.ofMillis(50)))
                .handler(ReactiveHandler.of("later", job -> Mono.just(Outcome.rescheduleAfter(Duration.ofMillis(1)))))
                .build();
        List<NewJob> jobs = new ArrayList<>();
        for (String q : List.of("ok", "cancel", "critical", "later")) {
            IntStream.range(0, N).forEach(i -> jobs.add(NewJob.of(q, i)));
        }
        IntStream.range(0, N).forEach(i -> jobs.add(NewJob.of("retry", i).maxAttempts(2)));
        IntStream.range(0, N).forEach(i -> jobs.add(NewJob.of("boom", i).maxAttempts(1)));
        IntStream.range(0, N).forEach(i -> jobs.add(NewJob.of("slow", i).maxAttempts(1)));
        jobs.add(NewJob.of("ok", "dup").uniqueKey("k"));
        jobs.add(NewJob.of("ok", "dup again").uniqueKey("k")); // a duplicate: not counted
        queue.enqueueAll(jobs).block(TIMEOUT);

        queue.start().block(TIMEOUT);
        await().atMost(TIMEOUT).until(() -> db.count(
                "SELECT count(*) FROM {schema}.jobs WHERE status IN ('pending', 'running')") == 0);
        queue.close().block(TIMEOUT);

        assertThat(count("pgqueue.jobs.enqueued", "ok")).isEqualTo(N + 1);
        assertThat(count("pgqueue.jobs.enqueued", "retry")).isEqualTo(N);
        assertThat(count("pgqueue.jobs.claimed", "ok")).isEqualTo(N + 1);
        assertThat(count("pgqueue.jobs.claimed", "retry")).isEqualTo(2 * N);
        assertThat(count("pgqueue.jobs.claimed", "later")).isEqualTo(3 * N);

        assertThat(count("pgqueue.jobs.completed", "ok")).isEqualTo(N + 1);
        assertThat(count("pgqueue.jobs.retried", "retry")).isEqualTo(N);
        assertThat(count("pgqueue.jobs.failed", "retry")).isEqualTo(N);
        assertThat(count("pgqueue.jobs.failed", "boom")).isEqualTo(N);
        assertThat(count("pgqueue.jobs.failed", "slow")).isEqualTo(N);
        assertThat(count("pgqueue.jobs.cancelled", "cancel")).isEqualTo(N);
        assertThat(registry.get("pgqueue.jobs.dead").tags("queue", "critical", "status", "critical").counter().count())
                .isEqualTo(N);
        assertThat(count("pgqueue.jobs.rescheduled", "later")).isEqualTo(2 * N);
        assertThat(registry.get("pgqueue.jobs.dead").tags("queue", "later", "status", "bad_job").counter().count())
                .isEqualTo(N);
        assertThat(registry.find("pgqueue.jobs.completed").tag("queue", "boom").counter()).isNull();
        assertThat(registry.find("pgqueue.writes.stale").counter()).isNull();

        assertThat(handled("ok", "success")).isEqualTo(N + 1);
        assertThat(handled("retry", "retry")).isEqualTo(2 * N);
        assertThat(handled("cancel", "cancel")).isEqualTo(N);
        assertThat(handled("critical", "critical")).isEqualTo(N);
        assertThat(handled("boom", "error")).isEqualTo(N);
        assertThat(handled("slow", "timeout")).isEqualTo(N);
        assertThat(handled("later", "reschedule")).isEqualTo(3 * N);
        Timer slow = registry.get("pgqueue.handler.duration").tags("queue", "slow").timer();
        assertThat(slow.max(TimeUnit.MILLISECONDS)).isGreaterThanOrEqualTo(50);

        Timer pickup = registry.get("pgqueue.pickup.latency").tags("queue", "retry").timer();
        assertThat(pickup.count()).isEqualTo(2 * N);
        assertThat(pickup.totalTime(TimeUnit.NANOSECONDS)).isPositive();
        // every meter carries the schema
        assertThat(registry.getMeters()).allSatisfy(m -> assertThat(m.getId().getTag("schema")).isEqualTo(db.name()));
    }

    @Test
    void pickupLatencyCountsFromWhenTheJobWasDue() {
        PgQueue queue = db.queueBuilder().meterRegistry(registry).pollInterval(POLL)
                .handler(ReactiveHandler.of("delayed", job -> Mono.just(Outcome.success())))
                .handler(ReactiveHandler.of("backdated", job -> Mono.just(Outcome.success())))
                .build();
        Instant enqueued = Instant.now();
        queue.enqueue(NewJob.of("delayed", 1).delay(Duration.ofSeconds(2))).block(TIMEOUT);
        // due before it existed: it waits from its creation, not from an hour ago
        queue.enqueue(NewJob.of("backdated", 1).runAt(Instant.now().minus(Duration.ofHours(1)))).block(TIMEOUT);
        queue.start().block(TIMEOUT);
        try {
            await().atMost(TIMEOUT).until(() -> count("pgqueue.jobs.completed", "delayed") == 1);
            assertThat(Duration.between(enqueued, Instant.now())).isGreaterThanOrEqualTo(Duration.ofSeconds(2));
            Timer delayed = registry.get("pgqueue.pickup.latency").tags("queue", "delayed").timer();
            assertThat(delayed.count()).isEqualTo(1);
            assertThat(delayed.max(TimeUnit.MILLISECONDS)).isLessThan(1_500); // the 2 s delay is not a wait
            Timer backdated = registry.get("pgqueue.pickup.latency").tags("queue", "backdated").timer();
            assertThat(backdated.count()).isEqualTo(1);
            assertThat(backdated.max(TimeUnit.SECONDS)).isLessThan(60);
        } finally {
            queue.close().block(TIMEOUT);
        }
    }

    @Test
    void gaugesShowJobsInFlightAndTheListenerAndGoAwayOnClose() {
        Sinks.Empty<Void> gate = Sinks.empty();
        // with the janitor on, a success moves the job to the archive in the same statement
        PgQueue queue = db.queueBuilder().meterRegistry(registry).pollInterval(POLL).janitor(true)
                .handler(ReactiveHandler.of("held", job -> gate.asMono().thenReturn(Outcome.success())))
                .build();
        assertThat(gauge("pgqueue.jobs.in.flight")).isZero();
        queue.enqueueAll(IntStream.range(0, 3).mapToObj(i -> NewJob.of("held", i)).toList()).block(TIMEOUT);
        queue.start().block(TIMEOUT);
        try {
            await().atMost(TIMEOUT).until(() -> gauge("pgqueue.jobs.in.flight") == 3);
            await().atMost(TIMEOUT).until(() -> gauge("pgqueue.listener.connected") == 1);
            gate.tryEmitEmpty();
            await().atMost(TIMEOUT).until(() -> gauge("pgqueue.jobs.in.flight") == 0);
            assertThat(count("pgqueue.jobs.completed", "held")).isEqualTo(3);
        } finally {
            queue.close().block(TIMEOUT);
        }
        assertThat(registry.find("pgqueue.jobs.in.flight").gauge()).isNull();
        assertThat(registry.find("pgqueue.listener.connected").gauge()).isNull();
    }

    @Test
    void handlersCancelledByAStopPastItsGracePeriodAreAbortedAndTheirJobsReleased() {
        PgQueue queue = db.queueBuilder().meterRegistry(registry).pollInterval(POLL)
                .stopGracePeriod(Duration.ofMillis(100))
                .handler(ReactiveHandler.of("stuck", job -> Mono.never()))
                .build();
        queue.enqueueAll(List.of(NewJob.of("stuck", 1), NewJob.of("stuck", 2))).block(TIMEOUT);
        queue.start().block(TIMEOUT);
        await().atMost(TIMEOUT).until(() -> gauge("pgqueue.jobs.in.flight") == 2);
        queue.close().block(TIMEOUT);

        assertThat(handled("stuck", "aborted")).isEqualTo(2);
        assertThat(count("pgqueue.jobs.released", "stuck")).isEqualTo(2);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'pending' AND attempt = 0")).isEqualTo(2);
    }

    @Test
    void theReaperCountsTheJobsItRescues() {
        PgQueue queue = db.queueBuilder().meterRegistry(registry).build();
        db.execute("INSERT INTO {schema}.jobs (id, queue, payload, status, attempt, max_attempts, lease, heartbeat_at) "
                + "VALUES (gen_random_uuid(), 'stalled', '{}', 'running', 1, 5, gen_random_uuid(), now() - interval '1 hour'), "
                + "(gen_random_uuid(), 'stalled', '{}', 'running', 5, 5, gen_random_uuid(), now() - interval '1 hour')");
        assertThat(queue.admin().rescueStalledJobs().block(TIMEOUT)).isEqualTo(2);
        assertThat(registry.get("pgqueue.jobs.rescued").tags("queue", "stalled", "status", "pending").counter().count())
                .isEqualTo(1);
        assertThat(registry.get("pgqueue.jobs.rescued").tags("queue", "stalled", "status", "failed").counter().count())
                .isEqualTo(1);
        queue.close().block(TIMEOUT);
    }

    @Test
    void aQueueThatDoesNotListenHasNoListenerGauge() {
        PgQueue queue = db.queueBuilder().meterRegistry(registry).listen(false).build();
        assertThat(registry.find("pgqueue.listener.connected").gauge()).isNull();
        assertThat(registry.find("pgqueue.jobs.in.flight").gauge()).isNotNull();
        queue.close().block(TIMEOUT);
    }

    @Test
    void depthGaugesReflectPendingJobsAfterASample() {
        PgQueue queue = db.queueBuilder().meterRegistry(registry).queueDepthInterval(Duration.ofMillis(100)).build();
        queue.enqueueAll(List.of(NewJob.of("waiting", 1), NewJob.of("waiting", 2),
                NewJob.of("waiting", 3).runAt(Instant.now().minus(Duration.ofMinutes(10))),
                NewJob.of("waiting", 4).delay(Duration.ofHours(1)), NewJob.of("waiting", 5).delay(Duration.ofHours(1)),
                NewJob.of("other", 6))).block(TIMEOUT);
        queue.start().block(TIMEOUT); // no handlers: nothing is claimed
        try {
            await().atMost(TIMEOUT).until(() -> depth("pgqueue.queue.depth", "waiting") == 3);
            assertThat(depth("pgqueue.queue.scheduled", "waiting")).isEqualTo(2);
            assertThat(depth("pgqueue.queue.depth", "other")).isEqualTo(1);
            Gauge lag = registry.get("pgqueue.queue.lag").tags("queue", "waiting").gauge();
            assertThat(lag.value()).isBetween(590.0, 3600.0); // seconds: the backdated job's wait

            db.execute("DELETE FROM {schema}.jobs WHERE queue = 'waiting'");
            await().atMost(TIMEOUT).until(() -> depth("pgqueue.queue.depth", "waiting") == 0);
            assertThat(depth("pgqueue.queue.scheduled", "waiting")).isZero();
            assertThat(registry.get("pgqueue.queue.lag").tags("queue", "waiting").gauge().value()).isZero();
            assertThat(depth("pgqueue.queue.depth", "other")).isEqualTo(1);
        } finally {
            queue.close().block(TIMEOUT);
        }
        assertThat(registry.find("pgqueue.queue.depth").gauge()).isNull();
    }

    @Test
    void aStaleWriteIsCountedPerQueue() {
        PgQueue queue = db.queueBuilder().meterRegistry(registry).pollInterval(POLL).build();
        queue.enqueue(NewJob.of("fenced", 1)).block(TIMEOUT);
        List<ClaimedJob> held = new CopyOnWriteArrayList<>();
        Disposable subscription = queue.jobs("fenced").subscribe(held::add);
        try {
            await().atMost(TIMEOUT).until(() -> held.size() == 1);
            assertThat(count("pgqueue.jobs.claimed", "fenced")).isEqualTo(1);
            // another node took the job over meanwhile (a rescue and a new claim): a new lease
            db.execute("UPDATE {schema}.jobs SET lease = gen_random_uuid(), attempt = 2");

            held.get(0).complete(Outcome.success()).block(TIMEOUT);

            assertThat(count("pgqueue.writes.stale", "fenced")).isEqualTo(1);
            assertThat(registry.find("pgqueue.jobs.completed").counter()).isNull();
            assertThat(queue.staleWrites()).isEqualTo(1);
        } finally {
            subscription.dispose();
            queue.close().block(TIMEOUT);
        }
    }

    private double count(String name, String queue) {
        Counter c = registry.find(name).tag("queue", queue).counter();
        return c == null ? 0 : c.count();
    }

    private long handled(String queue, String outcome) {
        return registry.get("pgqueue.handler.duration").tags("queue", queue, "outcome", outcome).timer().count();
    }

    private double gauge(String name) {
        return registry.get(name).gauge().value();
    }

    private double depth(String name, String queue) {
        Gauge g = registry.find(name).tag("queue", queue).gauge();
        return g == null ? -1 : g.value();
    }
}
