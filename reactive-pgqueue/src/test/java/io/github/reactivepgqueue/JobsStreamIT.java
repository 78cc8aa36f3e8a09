package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.POLL;
import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static io.github.reactivepgqueue.testing.Fixtures.waiting;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.internal.JobEncoder;
import io.github.reactivepgqueue.internal.NodeProbe;
import io.github.reactivepgqueue.testing.DatabaseCoordinates;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
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
import reactor.test.StepVerifier;

/** {@code queue.jobs(...)}: claims that follow demand, completion, release on cancel, and pipelines built on it. */
@ExtendWith(PostgresExtension.class)
class JobsStreamIT {
    private final TestSchema db;
    private final List<Disposable> subscriptions = new ArrayList<>();
    private final List<PgQueue> queues = new ArrayList<>();

    JobsStreamIT(TestSchema db) {
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

    private PgQueue queue() {
        return queue(db.queueBuilder());
    }

    private static List<NewJob> jobs(String queue, int n) {
        return IntStream.range(0, n).mapToObj(i -> NewJob.of(queue, Map.of("n", i))).toList();
    }

    private long count(String where, Object... params) {
        return db.count("SELECT count(*) FROM {schema}.jobs WHERE " + where, params);
    }

    private Set<UUID> ids(String where, Object... params) {
        return db.query("SELECT id FROM {schema}.jobs WHERE " + where, params).stream()
                .map(row -> (UUID) row.get("id")).collect(Collectors.toSet());
    }

    private static Set<UUID> idsOf(List<ClaimedJob> jobs) {
        return jobs.stream().map(j -> j.job().id()).collect(Collectors.toSet());
    }

    /** Requests nothing on its own: the test requests explicitly. */
    static final class ManualSubscriber extends BaseSubscriber<ClaimedJob> {
        final List<ClaimedJob> received = new CopyOnWriteArrayList<>();
        final AtomicReference<Throwable> error = new AtomicReference<>();

        @Override
        protected void hookOnSubscribe(Subscription subscription) {
            // no request
        }

        @Override
        protected void hookOnNext(ClaimedJob job) {
            received.add(job);
        }

        final java.util.concurrent.CountDownLatch terminated = new java.util.concurrent.CountDownLatch(1);
        volatile boolean completed;

        @Override
        protected void hookOnError(Throwable throwable) {
            error.set(throwable);
        }

        @Override
        protected void hookOnComplete() {
            completed = true;
        }

        @Override
        protected void hookFinally(reactor.core.publisher.SignalType type) {
            terminated.countDown();
        }
    }

    private ManualSubscriber subscribe(PgQueue queue, String... names) {
        ManualSubscriber subscriber = new ManualSubscriber();
        subscriptions.add(subscriber);
        queue.jobs(names).subscribe(subscriber);
        return subscriber;
    }

    /** {@code n} jobs enqueued to {@code name}, and a subscriber that requested and received them all. */
    private ManualSubscriber claimed(PgQueue queue, String name, int n) {
        queue.enqueueAll(jobs(name, n)).block(TIMEOUT);
        ManualSubscriber subscriber = subscribe(queue, name);
        subscriber.request(n);
        waiting().until(() -> subscriber.received.size() == n && count("status = 'running'") == n);
        return subscriber;
    }

    @Test
    void claimsNoMoreJobsThanRequested() {
        PgQueue queue = queue();
        queue.enqueueAll(jobs("bp", 50)).block(TIMEOUT);

        ManualSubscriber subscriber = subscribe(queue, "bp");
        // Nothing requested yet: nothing may be claimed.
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).pollInterval(POLL)
                .until(() -> count("status = 'running'") == 0 && subscriber.received.isEmpty());

        subscriber.request(5);
        waiting().until(() -> subscriber.received.size() == 5 && count("status = 'running'") == 5);
        // ... and it stays at 5 over many poll intervals of the stream.
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).pollInterval(POLL)
                .until(() -> subscriber.received.size() == 5 && count("status = 'running'") == 5);
        assertThat(ids("status = 'running'")).isEqualTo(idsOf(subscriber.received));
        assertThat(count("status = 'running' AND attempt = 1 AND lease IS NOT NULL")).isEqualTo(5);
        assertThat(count("status = 'pending'")).isEqualTo(45);

        subscriber.request(3);
        waiting().until(() -> subscriber.received.size() == 8 && count("status = 'running'") == 8);
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).pollInterval(POLL)
                .until(() -> subscriber.received.size() == 8 && count("status = 'running'") == 8);
        assertThat(ids("status = 'running'")).isEqualTo(idsOf(subscriber.received));
        assertThat(idsOf(subscriber.received)).hasSize(8);
        assertThat(subscriber.error.get()).isNull();
    }

    @Test
    void closingTheQueueCompletesItsStreamsReleasesTheirJobsAndClaimsNothingMore() {
        PgQueue queue = queue();
        ManualSubscriber subscriber = claimed(queue, "closing", 2);
        subscriber.request(8); // demand left over, which a job enqueued after close must not meet

        queue.close().block(TIMEOUT);

        // the stream has completed, and its unfinished jobs went back as on cancel
        waiting().until(() -> subscriber.terminated.getCount() == 0);
        assertThat(subscriber.completed).isTrue();
        assertThat(subscriber.error.get()).isNull();
        assertThat(ids("status = 'pending' AND attempt = 0 AND lease IS NULL"))
                .as("the jobs given back; the queue's rows: %s",
                        db.query("SELECT id, status, attempt, lease FROM {schema}.jobs WHERE queue = 'closing'"))
                .isEqualTo(idsOf(subscriber.received));

        // a job enqueued after close is claimed by nobody, though the stream still had demand
        UUID late = queue.enqueue(NewJob.of("closing", Map.of("late", true))).block(TIMEOUT).id();
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).pollInterval(POLL)
                .until(() -> count("status = 'running'") == 0);
        assertThat(db.status(late)).isEqualTo("pending");
        assertThat(subscriber.received).hasSize(2);

        // a stream opened after close completes at once and claims nothing
        StepVerifier.create(queue.jobs("closing")).expectComplete().verify(TIMEOUT);
        assertThat(db.status(late)).isEqualTo("pending");
    }

    @Test
    void aClaimUnderWayWhenTheQueueClosesHasGivenItsJobsBackBeforeTheCloseEnds() {
        PgQueue queue = queue();
        queue.enqueueAll(jobs("inflight", 2)).block(TIMEOUT);
        io.r2dbc.spi.Connection locker = Mono.from(db.connectionFactory().create()).block(TIMEOUT);
        try {
            // the table locked elsewhere holds the stream's claim statement where it stands
            Mono.from(locker.beginTransaction()).block(TIMEOUT);
            Flux.from(locker.createStatement("LOCK TABLE \"" + db.name() + "\".jobs IN EXCLUSIVE MODE").execute())
                    .flatMap(io.r2dbc.spi.Result::getRowsUpdated).blockLast(TIMEOUT);
            ManualSubscriber subscriber = subscribe(queue, "inflight");
            subscriber.request(2);
            waiting().until(() -> db.count("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
                    + "to_regclass('\"" + db.name() + "\".jobs')") == 1);

            java.util.concurrent.CompletableFuture<Void> closed = queue.close().toFuture();
            // the close waits for the claim: it would otherwise return while the claim's rows are
            // still to be claimed and given back, running for a moment after the queue closed
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).pollInterval(POLL)
                    .until(() -> !closed.isDone());

            Mono.from(locker.rollbackTransaction()).block(TIMEOUT);
            waiting().until(closed::isDone);
            assertThat(count("status = 'pending' AND attempt = 0 AND lease IS NULL"))
                    .as("the queue's rows: %s", db.query("SELECT id, status, attempt, lease FROM {schema}.jobs"))
                    .isEqualTo(2);
            waiting().until(() -> subscriber.terminated.getCount() == 0);
            assertThat(subscriber.received).isEmpty();
        } finally {
            Mono.from(locker.close()).block(TIMEOUT);
        }
    }

    @Test
    void aRoleWithoutPrivilegesGetsTheErrorInsteadOfAnEmptyStream() {
        String role = "pgq_stream_" + Long.toString(java.util.concurrent.ThreadLocalRandom.current().nextLong()
                & Long.MAX_VALUE, 36);
        db.execute("CREATE ROLE " + role + " LOGIN PASSWORD 'pgqueue-stream-test'");
        try {
            DatabaseCoordinates c = db.coordinates();
            PgQueue queue = queue(PgQueue.builder(new DatabaseCoordinates(c.host(), c.port(), c.database(), role,
                    "pgqueue-stream-test", c.source()).connectionFactory("pgqueue-stream-test")).schema(db.name())
                    .janitor(false));

            StepVerifier.create(queue.jobs("denied"))
                    .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(io.r2dbc.spi.R2dbcException.class)
                            .extracting(x -> ((io.r2dbc.spi.R2dbcException) x).getSqlState()).isEqualTo("42501"))
                    .verify(TIMEOUT);
        } finally {
            queues.forEach(q -> q.close().block(TIMEOUT));
            queues.clear();
            db.execute("DROP OWNED BY " + role);
            db.execute("DROP ROLE " + role);
        }
    }

    @Test
    void aSchemaThatIsNotMigratedEndsTheStreamWithSchemaVersionException() {
        PgQueue queue = queue(db.queueBuilder().schema(db.name() + "_absent"));

        StepVerifier.create(queue.jobs("nowhere")).expectError(SchemaVersionException.class).verify(TIMEOUT);
    }

    @Test
    void elementsAndCompletionsAreSignalledOnTheHandlerSchedulerNotOnTheDriversEventLoop() {
        PgQueue queue = queue();
        queue.enqueueAll(jobs("threads", 3)).block(TIMEOUT);

        List<String> itemThreads = new CopyOnWriteArrayList<>();
        List<String> completionThreads = new CopyOnWriteArrayList<>();
        queue.jobs("threads")
                .doOnNext(j -> itemThreads.add(Thread.currentThread().getName()))
                .take(3)
                .concatMap(j -> j.complete(Outcome.success())
                        .then(Mono.fromCallable(() -> completionThreads.add(Thread.currentThread().getName()))))
                .blockLast(TIMEOUT);

        assertThat(itemThreads).hasSize(3).allSatisfy(name -> assertThat(name)
                .doesNotStartWith("reactor-tcp").startsWith("pgqueue-handler"));
        assertThat(completionThreads).hasSize(3).allSatisfy(name -> assertThat(name)
                .doesNotStartWith("reactor-tcp").startsWith("pgqueue-handler"));
        assertThat(count("status = 'completed'")).isEqualTo(3);
    }

    @Test
    void aStreamedJobCancelledElsewhereSignalsItsLostLease() {
        PgQueue queue = queue();
        ManualSubscriber subscriber = claimed(queue, "lost", 2);
        ClaimedJob cancelled = subscriber.received.get(0);
        ClaimedJob kept = subscriber.received.get(1);
        AtomicReference<String> lostOn = new AtomicReference<>();
        AtomicInteger keptLost = new AtomicInteger();
        cancelled.lost().doOnSuccess(v -> lostOn.set(Thread.currentThread().getName())).subscribe();
        kept.lost().doOnSuccess(v -> keptLost.incrementAndGet()).subscribe();

        assertThat(queue.cancel(cancelled.job().id()).block(TIMEOUT)).isEqualTo(1);
        // the heartbeat finds the lease gone (at once on the cancel signal, else at its next beat)
        assertThat(NodeProbe.beatOnce(queue.node()).block(TIMEOUT).lost())
                .isLessThanOrEqualTo(1);
        waiting().until(() -> lostOn.get() != null);
        assertThat(lostOn.get()).startsWith("pgqueue-handler");

        // the other job keeps its lease and completes as usual; its lost() never fires
        kept.complete(Outcome.success()).block(TIMEOUT);
        NodeProbe.beatOnce(queue.node()).block(TIMEOUT);
        assertThat(keptLost).hasValue(0);
        assertThat(db.status(cancelled.job().id())).isEqualTo("cancelled");
        assertThat(db.status(kept.job().id())).isEqualTo("completed");
    }

    @Test
    void aStreamedJobCancelledElsewhereHoldsItsKeyUntilTheConsumerIsDoneWithIt() {
        PgQueue queue = queue();
        queue.enqueueAll(List.of(NewJob.of("lost-key", 1).uniqueKey("k1"), NewJob.of("lost-key", 2).uniqueKey("k2")))
                .block(TIMEOUT);
        ManualSubscriber subscriber = subscribe(queue, "lost-key");
        subscriber.request(2);
        waiting().until(() -> subscriber.received.size() == 2 && count("status = 'running'") == 2);
        ClaimedJob completed = subscriber.received.stream().filter(j -> j.job().uniqueKey().orElseThrow().equals("k1"))
                .findFirst().orElseThrow();
        ClaimedJob released = subscriber.received.stream().filter(j -> j.job().uniqueKey().orElseThrow().equals("k2"))
                .findFirst().orElseThrow();
        AtomicInteger lost = new AtomicInteger();
        completed.lost().then(released.lost()).doOnSuccess(v -> lost.incrementAndGet()).subscribe();

        assertThat(queue.cancelByUniqueKey("k1").block(TIMEOUT)).isEqualTo(1);
        assertThat(queue.cancelByUniqueKey("k2").block(TIMEOUT)).isEqualTo(1);
        NodeProbe.beatOnce(queue.node()).block(TIMEOUT);
        waiting().until(() -> lost.get() == 1);

        // the consumer may still work on them: both keys stay held
        for (ClaimedJob job : List.of(completed, released)) {
            String key = job.job().uniqueKey().orElseThrow();
            assertThat(queue.enqueue(NewJob.of("lost-key", 3).uniqueKey(key)).block(TIMEOUT))
                    .isEqualTo(new EnqueueResult.Duplicate(job.job().id(), key));
        }

        // completing the job, with any outcome, writes nothing but lets go of its key
        completed.complete(Outcome.retry()).block(TIMEOUT);
        assertThat(db.row("jobs", completed.job().id(), "status, attempt, lease")).containsEntry("status", "cancelled")
                .containsEntry("attempt", 1).containsEntry("lease", null);
        assertThat(queue.enqueue(NewJob.of("lost-key", 4).uniqueKey("k1")).block(TIMEOUT).isDuplicate()).isFalse();
        assertThat(queue.enqueue(NewJob.of("lost-key", 5).uniqueKey("k2")).block(TIMEOUT).isDuplicate()).isTrue();

        // the end of the stream gives back what it did not complete, and lets go of what was cancelled
        subscriber.dispose();
        waiting().until(() -> count("id = $1 AND lease IS NULL", released.job().id()) == 1);
        assertThat(db.status(released.job().id())).isEqualTo("cancelled");
        assertThat(queue.enqueue(NewJob.of("lost-key", 6).uniqueKey("k2")).block(TIMEOUT).isDuplicate()).isFalse();
        assertThat(queue.staleWrites()).isEqualTo(1);
    }

    @Test
    void completingAnElementWritesItsOutcomeAndASecondCompletionFails() {
        PgQueue queue = queue();
        queue.enqueueAll(jobs("done", 5)).block(TIMEOUT);

        ManualSubscriber subscriber = subscribe(queue, "done");
        subscriber.request(3);
        waiting().until(() -> subscriber.received.size() == 3);

        // complete() completes once the outcome is written, so the database shows it at once.
        Flux.fromIterable(subscriber.received).concatMap(j -> j.complete(Outcome.success())).blockLast(TIMEOUT);
        assertThat(ids("status = 'completed'")).isEqualTo(idsOf(subscriber.received));
        assertThat(count("status = 'completed' AND attempt = 1 AND lease IS NULL AND heartbeat_at IS NULL "
                + "AND completed_at IS NOT NULL")).isEqualTo(3);
        assertThat(count("status = 'pending' AND attempt = 0")).isEqualTo(2);

        ClaimedJob first = subscriber.received.get(0);
        StepVerifier.create(first.complete(Outcome.success()))
                .expectError(IllegalStateException.class)
                .verify(TIMEOUT);
        // A second completion with another outcome fails too and changes nothing.
        StepVerifier.create(first.complete(Outcome.retry()))
                .expectError(IllegalStateException.class)
                .verify(TIMEOUT);
        assertThat(db.status(first.job().id())).isEqualTo("completed");
        assertThat(queue.staleWrites()).isZero();
    }

    @Test
    void cancellingTheSubscriptionReleasesTheJobsNotCompleted() {
        PgQueue queue = queue();
        ManualSubscriber subscriber = claimed(queue, "cancel", 10);

        List<ClaimedJob> completed = subscriber.received.subList(0, 4);
        List<ClaimedJob> abandoned = subscriber.received.subList(4, 10);
        Flux.fromIterable(completed).concatMap(j -> j.complete(Outcome.success())).blockLast(TIMEOUT);
        subscriber.cancel();

        waiting().until(() -> count("status = 'pending'") == 6);
        assertThat(ids("status = 'pending' AND attempt = 0 AND lease IS NULL AND heartbeat_at IS NULL"))
                .isEqualTo(idsOf(abandoned));
        assertThat(ids("status = 'completed' AND attempt = 1")).isEqualTo(idsOf(completed));
        assertThat(count("last_error IS NOT NULL")).isZero();

        // The cancelled stream claims nothing more.
        await().during(Duration.ofMillis(400)).atMost(Duration.ofSeconds(5)).pollInterval(POLL)
                .until(() -> count("status = 'running'") == 0);

        // A late completion of a released job must not complete it: its claim is over.
        ClaimedJob late = abandoned.get(0);
        late.complete(Outcome.success()).onErrorResume(IllegalStateException.class, e -> Mono.empty()).block(TIMEOUT);
        assertThat(db.status(late.job().id())).isEqualTo("pending");
        assertThat(subscriber.error.get()).isNull();
    }

    @Test
    void aMicroBatchingPipelineCompletesEveryJobOfTheRequestedQueuesOnly() {
        PgQueue queue = queue();
        queue.enqueueAll(jobs("a", 50)).block(TIMEOUT);
        queue.enqueueAll(jobs("c", 20)).block(TIMEOUT);

        Set<UUID> seen = ConcurrentHashMap.newKeySet();
        Set<String> seenQueues = ConcurrentHashMap.newKeySet();
        AtomicInteger duplicates = new AtomicInteger();
        AtomicInteger batches = new AtomicInteger();
        AtomicReference<Throwable> error = new AtomicReference<>();
        subscriptions.add(queue.jobs("a", "b")
                .limitRate(20)
                .bufferTimeout(10, Duration.ofMillis(100))
                .concatMap(batch -> Flux.fromIterable(batch)
                        .flatMap(claimed -> claimed.complete(Outcome.success()).then(Mono.fromRunnable(() -> {
                            if (!seen.add(claimed.job().id())) {
                                duplicates.incrementAndGet();
                            }
                            seenQueues.add(claimed.job().queue());
                        })))
                        .then(Mono.fromRunnable(batches::incrementAndGet)))
                .subscribe(null, error::set));

        // Jobs enqueued while the pipeline runs are picked up by its polling.
        queue.enqueueAll(jobs("b", 50)).block(TIMEOUT);

        // a job's row is completed before its complete() Mono signals (after the commit), so the
        // pipeline's last callback may come just after the rows say all are done
        waiting().until(() -> count("queue IN ('a', 'b') AND status = 'completed'") == 100 && seen.size() >= 100);
        assertThat(seen).hasSize(100);
        assertThat(duplicates).hasValue(0);
        assertThat(seenQueues).containsExactlyInAnyOrder("a", "b");
        waiting().until(() -> batches.get() >= 10); // the last batch is counted after its last job
        assertThat(count("queue IN ('a', 'b') AND (attempt <> 1 OR lease IS NOT NULL)")).isZero();
        // The queue nobody asked for is untouched.
        assertThat(count("queue = 'c' AND status = 'pending' AND attempt = 0 AND lease IS NULL")).isEqualTo(20);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).pollInterval(POLL)
                .until(() -> count("queue = 'c' AND status = 'pending' AND attempt = 0") == 20);
        assertThat(error.get()).isNull();
        assertThat(queue.staleWrites()).isZero();
    }

    @Test
    void worksWithoutStart() {
        AtomicInteger handled = new AtomicInteger();
        // A handler for the same queue, but the queue is never started: only the stream claims.
        PgQueue queue = queue(db.queueBuilder().handler(new ReactiveHandler() {
            @Override
            public String queue() {
                return "nostart";
            }

            @Override
            public Mono<Outcome> handle(Job job) {
                handled.incrementAndGet();
                return Mono.just(Outcome.success());
            }
        }));
        queue.enqueueAll(jobs("nostart", 2)).block(TIMEOUT);

        ManualSubscriber subscriber = subscribe(queue, "nostart");
        subscriber.request(2);
        waiting().until(() -> subscriber.received.size() == 2);
        Flux.fromIterable(subscriber.received).concatMap(j -> j.complete(Outcome.success())).blockLast(TIMEOUT);

        assertThat(count("status = 'completed'")).isEqualTo(2);
        assertThat(handled).hasValue(0);
        assertThat(queue.jobsInFlight()).isZero();
    }

    @Test
    void rejectsMissingOrBlankQueueNames() {
        PgQueue queue = queue();
        assertThatThrownBy(() -> queue.jobs()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> queue.jobs(new String[0])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> queue.jobs("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> queue.jobs("  ")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> queue.jobs("ok", " ")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> queue.jobs("ok", null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> queue.jobs((String[]) null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void retryThroughCompleteUsesTheDefaultBackoff() {
        PgQueue queue = queue(db.queueBuilder().defaultBackoff(Backoff.linear(Duration.ofHours(1))));
        queue.enqueueAll(jobs("retry", 1)).block(TIMEOUT);

        ManualSubscriber subscriber = subscribe(queue, "retry");
        subscriber.request(1);
        waiting().until(() -> subscriber.received.size() == 1);
        ClaimedJob claimed = subscriber.received.get(0);
        assertThat(claimed.job().attempt()).isEqualTo(1);

        claimed.complete(Outcome.retry()).block(TIMEOUT);

        assertThat(count("id = $1 AND status = 'pending' AND attempt = 1 AND lease IS NULL "
                + "AND run_at >= now() + interval '59 minutes' AND run_at <= now() + interval '61 minutes'",
                claimed.job().id())).isEqualTo(1);
        // Not due: the stream, still asking, does not claim it again.
        subscriber.request(1);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).pollInterval(POLL)
                .until(() -> subscriber.received.size() == 1 && count("status = 'running'") == 0);
    }

    @Test
    void elementsCompleteConcurrentlyWithoutLosingOutcomes() {
        PgQueue queue = queue();
        queue.enqueueAll(jobs("many", 200)).block(TIMEOUT);

        List<UUID> completed = new CopyOnWriteArrayList<>();
        subscriptions.add(queue.jobs("many")
                .flatMap(j -> j.complete(Outcome.success()).thenReturn(j.job().id()), 64)
                .subscribe(completed::add));

        waiting().until(() -> count("status = 'completed'") == 200);
        waiting().until(() -> completed.size() == 200);
        assertThat(new HashSet<>(completed)).hasSize(200);
        assertThat(count("attempt <> 1 OR lease IS NOT NULL")).isZero();
    }

    @Test
    void aClaimedJobCarriesWhatIsStoredToTheMicrosecond() {
        PgQueue queue = queue();
        Instant[] runAts = {Instant.parse("2026-11-26T01:02:03.456789Z"),
                Instant.parse("1999-12-31T23:59:59.999999Z"), Instant.parse("1969-07-20T20:17:40.000001Z"),
                JobEncoder.MIN_RUN_AT};
        for (int i = 0; i < runAts.length; i++) {
            queue.enqueue(NewJob.of("exact", Map.of("i", i)).runAt(runAts[i]).priority(-7 + i).maxAttempts(3 + i)
                    .uniqueKey(i == 0 ? "key-0" : null).fingerprint(i == 1 ? "print-1" : null)).block(TIMEOUT);
        }
        db.execute("UPDATE {schema}.jobs SET reprocess_count = 2 WHERE payload->>'i' = '2'");

        List<Job> claimed = queue.jobs("exact").take(runAts.length).map(ClaimedJob::job).collectList().block(TIMEOUT);

        assertThat(claimed).hasSize(runAts.length);
        for (Job job : claimed) {
            int i = job.payload().get("i").asInt();
            Map<String, Object> row = db.row("jobs", job.id(), "created_at");
            if (i < 3) {
                assertThat(job.runAt()).as("run_at " + i).isEqualTo(runAts[i]);
            } else {
                // the driver sends PostgreSQL's first day as -infinity; a claim reads it as Instant.MIN
                // (and is not failed by it, as one that computed epoch numbers was)
                assertThat(job.runAt()).as("run_at " + i).isIn(runAts[i], Instant.MIN);
            }
            assertThat(job.createdAt()).as("created_at " + i)
                    .isEqualTo(((OffsetDateTime) row.get("created_at")).toInstant());
            assertThat(job.priority()).isEqualTo(-7 + i);
            assertThat(job.maxAttempts()).isEqualTo(3 + i);
            assertThat(job.attempt()).isEqualTo(1);
            assertThat(job.reprocessCount()).isEqualTo(i == 2 ? 2 : 0);
            assertThat(job.uniqueKey()).isEqualTo(Optional.ofNullable(i == 0 ? "key-0" : null));
            assertThat(job.fingerprint()).isEqualTo(Optional.ofNullable(i == 1 ? "print-1" : null));
        }
    }
}
