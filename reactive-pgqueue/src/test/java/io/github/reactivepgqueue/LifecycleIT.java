package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.POLL;
import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static io.github.reactivepgqueue.testing.Fixtures.holding;
import static io.github.reactivepgqueue.testing.Fixtures.waiting;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.reactivestreams.Subscription;
import reactor.core.Disposable;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/** start(), stop() and close() of a node. */
@ExtendWith(PostgresExtension.class)
class LifecycleIT {
    private final TestSchema db;
    private final List<PgQueue> queues = new ArrayList<>();
    private final List<Disposable> subscriptions = new ArrayList<>();

    LifecycleIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
    }

    @BeforeEach
    void empty() {
        db.execute("DELETE FROM {schema}.jobs");
    }

    @AfterEach
    void cleanUp() {
        subscriptions.forEach(Disposable::dispose);
        queues.forEach(q -> q.stop(Duration.ZERO).block(TIMEOUT));
    }

    private PgQueue queue(PgQueueBuilder builder) {
        PgQueue queue = builder.pollInterval(POLL).build();
        queues.add(queue);
        return queue;
    }

    private static List<NewJob> jobs(String queue, int n) {
        return IntStream.range(0, n).mapToObj(i -> NewJob.of(queue, Map.of("n", i))).toList();
    }

    private long count(String where, Object... params) {
        return db.count("SELECT count(*) FROM {schema}.jobs WHERE " + where, params);
    }

    @Test
    void stopLetsHandlersFinishWithinTheGracePeriodAndClaimsNoMore() {
        AtomicInteger started = new AtomicInteger();
        AtomicInteger finished = new AtomicInteger();
        AtomicInteger cancelled = new AtomicInteger();
        // Handlers start their 300 ms of work only once stop is about to be called, so stop has to wait for them.
        Sinks.Empty<Void> stopping = Sinks.empty();
        PgQueue queue = queue(db.queueBuilder().handler(ReactiveHandler.of("graceful", job -> {
            started.incrementAndGet();
            return stopping.asMono()
                    .then(Mono.delay(Duration.ofMillis(300)))
                    .doOnSuccess(x -> finished.incrementAndGet())
                    .doOnCancel(cancelled::incrementAndGet)
                    .thenReturn(Outcome.success());
        })));
        queue.enqueueAll(jobs("graceful", 10)).block(TIMEOUT);
        queue.start().block(TIMEOUT);

        waiting().until(() -> started.get() == 10 && count("status = 'running'") == 10);
        assertThat(queue.jobsInFlight()).isEqualTo(10);
        stopping.tryEmitEmpty();
        queue.stop(Duration.ofSeconds(5)).block(TIMEOUT);

        // stop completes only after every handler finished and its outcome is written.
        assertThat(finished).hasValue(10);
        assertThat(cancelled).hasValue(0);
        assertThat(count("status = 'completed' AND attempt = 1 AND lease IS NULL")).isEqualTo(10);
        assertThat(count("status = 'running'")).isZero();
        assertThat(queue.jobsInFlight()).isZero();

        // No claims after stop.
        queue.enqueueAll(jobs("graceful", 5)).block(TIMEOUT);
        holding(Duration.ofMillis(500)).until(() -> count("status = 'pending' AND attempt = 0") == 5
                && count("status = 'running'") == 0);
        assertThat(started).hasValue(10);

        // A stopped queue does not start again.
        assertThatThrownBy(() -> queue.start().block(TIMEOUT)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void stopCancelsHandlersStillRunningAfterTheGracePeriodAndReleasesTheirJobs() {
        AtomicInteger started = new AtomicInteger();
        AtomicInteger cancelled = new AtomicInteger();
        PgQueue queue = queue(db.queueBuilder().handler(ReactiveHandler.of("stuck", job -> Mono.<Outcome>never()
                .doOnSubscribe(s -> started.incrementAndGet())
                .doOnCancel(cancelled::incrementAndGet))));
        queue.enqueueAll(jobs("stuck", 5)).block(TIMEOUT);
        queue.start().block(TIMEOUT);
        waiting().until(() -> started.get() == 5 && count("status = 'running'") == 5);

        long begin = System.nanoTime();
        queue.stop(Duration.ofMillis(300)).block(TIMEOUT);
        Duration took = Duration.ofNanos(System.nanoTime() - begin);

        // The grace period was granted, and stop did not hang on the handlers that never finish
        // (it completed within the block's timeout).
        assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(300));
        waiting().atMost(Duration.ofSeconds(5)).until(() -> cancelled.get() == 5);
        // stop completes when every outcome (here: the release) is written.
        assertThat(count("status = 'pending' AND attempt = 0 AND lease IS NULL AND heartbeat_at IS NULL")).isEqualTo(5);
        assertThat(count("last_error IS NOT NULL OR reprocess_count <> 0")).isZero();
        assertThat(queue.jobsInFlight()).isZero();
        assertThat(queue.staleWrites()).isZero();
        // Released, not retried: nothing claims them again on this stopped node.
        holding(Duration.ofMillis(300)).until(() -> count("status = 'pending' AND attempt = 0") == 5);
        assertThat(started).hasValue(5);
    }

    @Test
    void stopIsIdempotentAndMayBeCalledConcurrently() {
        AtomicInteger started = new AtomicInteger();
        AtomicInteger cancelled = new AtomicInteger();
        PgQueue queue = queue(db.queueBuilder().handler(ReactiveHandler.of("idem", job -> Mono.delay(Duration.ofMillis(300))
                .doOnSubscribe(s -> started.incrementAndGet())
                .doOnCancel(cancelled::incrementAndGet)
                .thenReturn(Outcome.success()))));
        queue.enqueueAll(jobs("idem", 5)).block(TIMEOUT);
        queue.start().block(TIMEOUT);
        waiting().until(() -> started.get() == 5);

        Flux.range(0, 8)
                .flatMap(i -> queue.stop(Duration.ofSeconds(10)).subscribeOn(Schedulers.parallel()))
                .then()
                .block(TIMEOUT);
        assertThat(count("status = 'completed' AND attempt = 1")).isEqualTo(5);
        assertThat(cancelled).hasValue(0);

        // Later calls return the same, finished stop, whatever their grace period.
        queue.stop(Duration.ZERO).block(TIMEOUT);
        queue.stop(Duration.ofSeconds(1)).block(TIMEOUT);
        assertThat(count("status = 'completed'")).isEqualTo(5);
    }

    @Test
    void stopBeforeStartCompletesAndThenStartFails() {
        AtomicInteger handled = new AtomicInteger();
        PgQueue queue = queue(db.queueBuilder().handler(ReactiveHandler.of("never-started", job -> {
            handled.incrementAndGet();
            return Mono.just(Outcome.success());
        })));

        queue.stop(Duration.ofSeconds(1)).block(Duration.ofSeconds(5));
        queue.stop(Duration.ofSeconds(1)).block(Duration.ofSeconds(5));
        StepVerifier.create(queue.start()).expectError(IllegalStateException.class).verify(TIMEOUT);

        queue.enqueueAll(jobs("never-started", 3)).block(TIMEOUT);
        holding(Duration.ofMillis(300)).until(() -> count("status = 'pending'") == 3);
        assertThat(handled).hasValue(0);
    }

    @Test
    void startingTwiceIsHarmless() {
        Map<UUID, AtomicInteger> runs = new ConcurrentHashMap<>();
        PgQueue queue = queue(db.queueBuilder().handler(ReactiveHandler.of("twice", job -> {
            runs.computeIfAbsent(job.id(), id -> new AtomicInteger()).incrementAndGet();
            return Mono.just(Outcome.success());
        })));

        Flux.range(0, 4).flatMap(i -> queue.start().subscribeOn(Schedulers.parallel())).then().block(TIMEOUT);
        queue.start().block(TIMEOUT);
        queue.enqueueAll(jobs("twice", 50)).block(TIMEOUT);
        queue.start().block(TIMEOUT);

        waiting().until(() -> count("status = 'completed'") == 50);
        assertThat(runs).hasSize(50);
        assertThat(runs.values()).allSatisfy(n -> assertThat(n).hasValue(1));
        assertThat(count("attempt <> 1 OR lease IS NOT NULL")).isZero();
        assertThat(queue.staleWrites()).isZero();
    }

    @Test
    void startFailsOnASchemaThatWasNeverMigrated() {
        String unmigrated = db.name() + "_unmigrated";
        PgQueue queue = queue(db.queueBuilder().schema(unmigrated)
                .handler(ReactiveHandler.of("x", job -> Mono.just(Outcome.success()))));

        StepVerifier.create(queue.start())
                .expectErrorSatisfies(e -> {
                    assertThat(e).isInstanceOf(SchemaVersionException.class);
                    SchemaVersionException sve = (SchemaVersionException) e;
                    assertThat(sve.found()).isZero();
                    assertThat(sve.expected()).isEqualTo(queue.latestSchemaVersion());
                })
                .verify(TIMEOUT);
        // start() checks, it never migrates.
        assertThat(db.count("SELECT count(*) FROM pg_namespace WHERE nspname = $1", unmigrated)).isZero();
        assertThat(queue.jobsInFlight()).isZero();
        queue.stop(Duration.ofSeconds(1)).block(Duration.ofSeconds(5));
    }

    @Test
    void onlyQueuesWithAHandlerAreClaimed() {
        Set<String> handledQueues = ConcurrentHashMap.newKeySet();
        PgQueue queue = queue(db.queueBuilder().handler(ReactiveHandler.of("served", job -> {
            handledQueues.add(job.queue());
            return Mono.just(Outcome.success());
        })));
        queue.enqueueAll(jobs("unserved", 10)).block(TIMEOUT);
        queue.enqueueAll(jobs("served", 10)).block(TIMEOUT);
        queue.start().block(TIMEOUT);

        waiting().until(() -> count("queue = 'served' AND status = 'completed'") == 10);
        holding(Duration.ofMillis(500)).until(() ->
                count("queue = 'unserved' AND status = 'pending' AND attempt = 0 AND lease IS NULL") == 10);
        assertThat(handledQueues).containsExactly("served");
    }

    @Test
    void runsJobsByPriorityThenRunAtThenId() {
        List<String> order = new CopyOnWriteArrayList<>();
        PgQueue queue = queue(db.queueBuilder().globalConcurrency(1).handler(ReactiveHandler.of("ordered", job -> {
            order.add(job.payload().get("label").asText());
            return Mono.just(Outcome.success());
        })));
        Instant base = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        Function<String, NewJob> job = label -> NewJob.of("ordered", Map.of("label", label));
        List<NewJob> jobs = List.of(
                job.apply("z1").priority(0).runAt(base.minus(Duration.ofHours(1))),
                job.apply("high").priority(5).runAt(base.minus(Duration.ofHours(4))),
                job.apply("tieA").priority(0).runAt(base.minus(Duration.ofHours(3))),
                job.apply("m1").priority(-1).runAt(base.minus(Duration.ofMinutes(5))),
                job.apply("z2").priority(0).runAt(base.minus(Duration.ofHours(2))),
                job.apply("tieB").priority(0).runAt(base.minus(Duration.ofHours(3))),
                job.apply("m2").priority(-1).runAt(base.minus(Duration.ofMinutes(30))));
        List<EnqueueResult> results = queue.enqueueAll(jobs).block(TIMEOUT);
        // Same priority and run_at: PostgreSQL's uuid order, i.e. unsigned byte order.
        UUID tieA = results.get(2).id();
        UUID tieB = results.get(5).id();
        Comparator<UUID> pgOrder = (x, y) -> x.getMostSignificantBits() != y.getMostSignificantBits()
                ? Long.compareUnsigned(x.getMostSignificantBits(), y.getMostSignificantBits())
                : Long.compareUnsigned(x.getLeastSignificantBits(), y.getLeastSignificantBits());
        List<String> ties = pgOrder.compare(tieA, tieB) < 0 ? List.of("tieA", "tieB") : List.of("tieB", "tieA");

        queue.start().block(TIMEOUT);
        waiting().until(() -> count("status = 'completed'") == 7);

        List<String> expected = new ArrayList<>(List.of("m2", "m1"));
        expected.addAll(ties);
        expected.addAll(List.of("z2", "z1", "high"));
        assertThat(order).containsExactlyElementsOf(expected);
        // The database agrees: completion times follow the same order.
        List<String> byCompletion = db.query("SELECT payload->>'label' AS label FROM {schema}.jobs "
                + "ORDER BY completed_at, updated_at").stream().map(r -> (String) r.get("label")).collect(Collectors.toList());
        assertThat(byCompletion).containsExactlyElementsOf(expected);
    }

    /** Subscribes to {@code queue.jobs(name)} requesting {@code n}; returns what arrives. */
    private List<ClaimedJob> stream(PgQueue queue, String name, int n, List<BaseSubscriber<ClaimedJob>> holder) {
        List<ClaimedJob> received = new CopyOnWriteArrayList<>();
        BaseSubscriber<ClaimedJob> subscriber = new BaseSubscriber<>() {
            @Override
            protected void hookOnSubscribe(Subscription subscription) {
                request(n);
            }

            @Override
            protected void hookOnNext(ClaimedJob value) {
                received.add(value);
            }
        };
        subscriptions.add(subscriber);
        holder.add(subscriber);
        queue.jobs(name).subscribe(subscriber);
        return received;
    }

    @Test
    void closeStopsTheNodeAndLaterStreamCompletionsFail() {
        PgQueue queue = queue(db.queueBuilder().stopGracePeriod(Duration.ofSeconds(1)));
        queue.enqueueAll(jobs("closing", 2)).block(TIMEOUT);
        queue.start().block(TIMEOUT);
        queue.stop(Duration.ZERO).block(TIMEOUT);

        // Streams keep working after stop ...
        List<ClaimedJob> received = stream(queue, "closing", 2, new ArrayList<>());
        waiting().until(() -> received.size() == 2);
        received.get(0).complete(Outcome.success()).block(TIMEOUT);
        assertThat(count("status = 'completed'")).isEqualTo(1);

        // ... until close: then completions fail.
        queue.close().block(TIMEOUT);
        StepVerifier.create(received.get(1).complete(Outcome.success()))
                .expectError(IllegalStateException.class)
                .verify(TIMEOUT);
        assertThat(count("status = 'completed'")).isEqualTo(1);

        // Enqueueing still works after close; starting does not; closing again is harmless.
        queue.enqueue(NewJob.of("closing", Map.of("n", 9))).block(TIMEOUT);
        assertThat(count("queue = 'closing'")).isEqualTo(3);
        StepVerifier.create(queue.start()).expectError(IllegalStateException.class).verify(TIMEOUT);
        queue.close().block(TIMEOUT);
    }

    /**
     * PgQueue.jobs(): "when the subscription ends ... every claimed job not yet completed goes back to
     * pending with its attempt restored". A completion that failed (the queue was closed) did not
     * complete the job, so ending the stream must still give it back.
     */
    @Test
    void aJobWhoseCompletionFailedAfterCloseIsStillReleasedWhenTheStreamEnds() {
        PgQueue queue = queue(db.queueBuilder().stopGracePeriod(Duration.ofSeconds(1)));
        UUID id = queue.enqueue(NewJob.of("closing-release", Map.of("n", 1))).block(TIMEOUT).id();
        List<BaseSubscriber<ClaimedJob>> subscriber = new ArrayList<>();
        List<ClaimedJob> received = stream(queue, "closing-release", 1, subscriber);
        waiting().until(() -> received.size() == 1);

        queue.close().block(TIMEOUT);
        StepVerifier.create(received.get(0).complete(Outcome.success()))
                .expectError(IllegalStateException.class)
                .verify(TIMEOUT);
        subscriber.get(0).cancel();

        await().atMost(Duration.ofSeconds(5)).pollInterval(POLL).untilAsserted(() ->
                assertThat(db.query("SELECT status, attempt, lease IS NULL AS lease_cleared FROM {schema}.jobs "
                        + "WHERE id = $1", id))
                        .as("job %s after its stream was cancelled", id)
                        .containsExactly(Map.of("status", "pending", "attempt", 0, "lease_cleared", true)));
    }
}
