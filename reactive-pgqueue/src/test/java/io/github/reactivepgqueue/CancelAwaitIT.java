package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.internal.NodeProbe;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.StatementCounter;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * Cancelling jobs and awaiting them across nodes. Two {@link PgQueue} instances on one schema play
 * two nodes: node A runs jobs, node B cancels or awaits them. Proves that a pending job is
 * cancelled at once (by id, unique key or fingerprint, live jobs only); that a running job is
 * stopped on the node running it, through the signal within about a second, or at that node's next
 * heartbeat when it does not listen; that whatever its handler emits afterwards is not written;
 * and that {@code awaitCompletion} on one node resolves when another node finishes the job, for
 * jobs already finished or moved by the janitor, for many waiters with few lookups, with and
 * without signals; that a waiter leaving disturbs no other; and that closing the waiting node
 * fails its pending awaits.
 */
@ExtendWith(PostgresExtension.class)
class CancelAwaitIT {
    /** A fragment found only in the text of the statement that looks up awaited jobs (JobFindMany). */
    private static final String JOB_FIND_MANY = "CASE WHEN $2 THEN payload::text END AS payload";

    private final TestSchema db;
    private final List<PgQueue> nodes = new ArrayList<>();

    CancelAwaitIT(TestSchema db) {
        this.db = db;
        db.migratedQueue().close().block(TIMEOUT);
    }

    @BeforeEach
    void empty() {
        db.deleteAllJobs();
    }

    @AfterEach
    void closeAll() {
        RuntimeException failure = null;
        for (PgQueue node : nodes) {
            try {
                node.close().block(TIMEOUT);
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * A handler whose jobs run until the test finishes them, recording which jobs started, which
     * had their subscription cancelled and which emitted an outcome.
     */
    private static final class HeldHandler implements ReactiveHandler {
        private final String queue;
        private final Map<UUID, Sinks.One<Outcome>> outcomes = new ConcurrentHashMap<>();
        final Set<UUID> started = ConcurrentHashMap.newKeySet();
        final Set<UUID> cancelled = ConcurrentHashMap.newKeySet();
        final Set<UUID> emitted = ConcurrentHashMap.newKeySet();

        HeldHandler(String queue) {
            this.queue = queue;
        }

        @Override
        public String queue() {
            return queue;
        }

        @Override
        public Mono<Outcome> handle(Job job) {
            started.add(job.id());
            return sink(job.id()).asMono()
                    .doOnNext(outcome -> emitted.add(job.id()))
                    .doOnCancel(() -> cancelled.add(job.id()));
        }

        void finish(UUID id, Outcome outcome) {
            sink(id).tryEmitValue(outcome).orThrow();
        }

        void fail(UUID id, Throwable error) {
            sink(id).tryEmitError(error).orThrow();
        }

        private Sinks.One<Outcome> sink(UUID id) {
            return outcomes.computeIfAbsent(id, k -> Sinks.one());
        }
    }

    /** Succeeds at once, or fails with "boom" when the payload says so. */
    private static ReactiveHandler quick(String queue) {
        return ReactiveHandler.of(queue, job -> job.payload().path("fail").asBoolean()
                ? Mono.error(new IllegalStateException("boom"))
                : Mono.just(Outcome.success()));
    }

    private PgQueue node(PgQueueBuilder builder) {
        // a short grace so that closing a node whose handler still hangs does not take the default 30 s
        PgQueue node = builder.stopGracePeriod(Duration.ofMillis(500)).build();
        nodes.add(node);
        return node;
    }

    /** Node A: runs {@code handler} with {@code concurrency}; heartbeats only every 30 s. */
    private PgQueueBuilder runner(ReactiveHandler handler, int concurrency) {
        return db.queueBuilder()
                .pollInterval(Duration.ofMillis(100))
                .heartbeatInterval(Duration.ofSeconds(30))
                .handler(handler, QueueOptions.defaults().concurrency(concurrency));
    }

    private static UUID enqueue(PgQueue node, NewJob job) {
        return node.enqueue(job).block(TIMEOUT).id();
    }

    private static NewJob job(String queue) {
        return NewJob.of(queue, Map.of("fail", false));
    }

    private Map<String, Object> row(UUID id) {
        return db.row("jobs", id, "status, attempt, lease, completed_at, updated_at");
    }

    private String status(UUID id) {
        return (String) row(id).get("status");
    }

    private static ConditionFactory waiting() {
        return await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(20));
    }

    private static JobInfo resolved(CompletableFuture<JobInfo> future) throws Exception {
        return future.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    /**
     * Awaits an already finished job on {@code node}. Lookups run one at a time and each covers
     * every job awaited when it starts, so once this resolves, the jobs awaited before it have been
     * looked up at least once; if they were running then, only a later look can resolve them.
     */
    private static void lookupBarrier(PgQueue node, UUID finished) {
        assertThat(node.awaitCompletion(finished).block(TIMEOUT).isFinished()).isTrue();
    }

    /** A job of its own queue that nobody runs, cancelled while pending: finished at once. */
    private static UUID finishedJob(PgQueue node) {
        UUID id = enqueue(node, job("nobody-runs-this"));
        assertThat(node.cancel(id).block(TIMEOUT)).isEqualTo(1);
        return id;
    }

    // ---- cancel ----

    @Test
    void aPendingJobIsCancelledAtOnceAndOnlyOnce() {
        PgQueue b = node(db.queueBuilder());
        UUID id = enqueue(b, job("idle"));

        assertThat(b.cancel(id).block(TIMEOUT)).isEqualTo(1);

        Map<String, Object> row = row(id);
        assertThat(row).containsEntry("status", "cancelled").containsEntry("attempt", 0);
        assertThat(row.get("completed_at")).isNotNull();
        assertThat(b.admin().find(id).block(TIMEOUT).status()).isEqualTo(JobStatus.CANCELLED);

        assertThat(b.cancel(id).block(TIMEOUT)).isZero();
        assertThat(status(id)).isEqualTo("cancelled");
        assertThat(b.cancel(UUID.randomUUID()).block(TIMEOUT)).isZero();
    }

    @Test
    void cancelByUniqueKeyCancelsTheLiveHolderOnly() {
        PgQueue b = node(db.queueBuilder());
        UUID holder = enqueue(b, job("idle").uniqueKey("report:7"));
        UUID other = enqueue(b, job("idle").uniqueKey("report:8"));

        assertThat(b.cancelByUniqueKey("report:7").block(TIMEOUT)).isEqualTo(1);

        assertThat(status(holder)).isEqualTo("cancelled");
        assertThat(row(holder).get("completed_at")).isNotNull();
        assertThat(status(other)).isEqualTo("pending");
        // the cancelled job no longer holds the key
        assertThat(b.cancelByUniqueKey("report:7").block(TIMEOUT)).isZero();
        EnqueueResult again = b.enqueue(job("idle").uniqueKey("report:7")).block(TIMEOUT);
        assertThat(again.isDuplicate()).isFalse();
        assertThat(again.id()).isNotEqualTo(holder);
        assertThat(b.cancelByUniqueKey("no-such-key").block(TIMEOUT)).isZero();
    }

    @Test
    void cancelByFingerprintCancelsEveryLiveJobWithTheFingerprintAndNothingElse() {
        PgQueue b = node(db.queueBuilder());
        UUID pending1 = enqueue(b, job("idle").fingerprint("tenant-1"));
        UUID pending2 = enqueue(b, job("idle").fingerprint("tenant-1"));
        UUID running = enqueue(b, job("idle").fingerprint("tenant-1"));
        UUID finished = enqueue(b, job("idle").fingerprint("tenant-1"));
        UUID otherFingerprint = enqueue(b, job("idle").fingerprint("tenant-2"));
        // as if some node were running one of them, and another had finished long ago
        db.execute("UPDATE {schema}.jobs SET status = 'running', attempt = 1, lease = gen_random_uuid(), "
                + "heartbeat_at = now() WHERE id = $1", running);
        db.execute("UPDATE {schema}.jobs SET status = 'completed', attempt = 1 WHERE id = $1", finished);
        db.backdate("jobs", "completed_at", Duration.ofHours(1), finished);
        Object finishedAt = row(finished).get("completed_at");

        Object runningLease = row(running).get("lease");

        assertThat(b.cancelByFingerprint("tenant-1").block(TIMEOUT)).isEqualTo(3);

        for (UUID id : List.of(pending1, pending2, running)) {
            Map<String, Object> row = row(id);
            assertThat(row).containsEntry("status", "cancelled");
            assertThat(row.get("completed_at")).isNotNull();
        }
        assertThat(row(pending1).get("lease")).isNull();
        assertThat(row(pending2).get("lease")).isNull();
        // the running one keeps its lease until the node running it lets go (here: nobody; the reaper will)
        assertThat(row(running).get("lease")).isEqualTo(runningLease);
        assertThat(row(finished)).containsEntry("status", "completed").containsEntry("completed_at", finishedAt);
        assertThat(status(otherFingerprint)).isEqualTo("pending");
        assertThat(b.cancelByFingerprint("tenant-1").block(TIMEOUT)).isZero();
    }

    @Test
    void aRunningJobIsStoppedOnTheNodeRunningItThroughTheSignal() {
        HeldHandler handler = new HeldHandler("cancel-running");
        // A heartbeats every 30 s: a stop within 3 s can only come from B's signal
        PgQueue a = node(runner(handler, 1));
        PgQueue b = node(db.queueBuilder());
        a.start().block(TIMEOUT);
        UUID id = enqueue(b, job("cancel-running"));
        waiting().until(() -> handler.started.contains(id));
        assertThat(status(id)).isEqualTo("running");
        assertThat(a.jobsInFlight()).isEqualTo(1);

        assertThat(b.cancel(id).block(TIMEOUT)).isEqualTo(1);

        await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(20))
                .until(() -> handler.cancelled.contains(id));
        waiting().until(() -> a.jobsInFlight() == 0);
        // and the node lets go of its lease
        waiting().until(() -> row(id).get("lease") == null);
        Map<String, Object> row = row(id);
        assertThat(row).containsEntry("status", "cancelled").containsEntry("attempt", 1);
        assertThat(row.get("completed_at")).isNotNull();
        assertThat(row.get("lease")).isNull();
        // what the handler emits once its subscription is cancelled reaches nobody
        handler.finish(id, Outcome.success());
        assertThat(handler.emitted).isEmpty();
        assertThat(a.staleWrites()).isZero();

        // the queue's only slot (concurrency 1) is free again: the next job runs
        UUID next = enqueue(b, job("cancel-running"));
        waiting().until(() -> handler.started.contains(next));
        handler.finish(next, Outcome.success());
        waiting().until(() -> "completed".equals(status(next)));
        assertThat(status(id)).isEqualTo("cancelled");
        assertThat(row(id).get("completed_at")).isEqualTo(row.get("completed_at"));
    }

    @Test
    void anOutcomeTheHandlerEmitsAfterTheCancelIsNotWritten() {
        HeldHandler handler = new HeldHandler("cancel-late");
        // A neither listens nor heartbeats in time, so its handler is still subscribed when it emits
        PgQueue a = node(runner(handler, 1).listen(false));
        PgQueue b = node(db.queueBuilder());
        a.start().block(TIMEOUT);
        UUID id = enqueue(b, job("cancel-late").uniqueKey("late"));
        waiting().until(() -> handler.started.contains(id));

        assertThat(b.cancel(id).block(TIMEOUT)).isEqualTo(1);
        Map<String, Object> cancelledRow = row(id);
        // the handler still runs: its key stays held
        assertThat(b.enqueue(job("cancel-late").uniqueKey("late")).block(TIMEOUT))
                .isEqualTo(new EnqueueResult.Duplicate(id, "late"));
        handler.finish(id, Outcome.success());

        assertThat(handler.emitted).containsExactly(id);
        waiting().until(() -> a.jobsInFlight() == 0);
        Map<String, Object> row = row(id);
        assertThat(row).containsEntry("status", "cancelled")
                .containsEntry("completed_at", cancelledRow.get("completed_at"))
                .containsEntry("updated_at", cancelledRow.get("updated_at"));
        // the success was written fenced by the job's status, so it changed nothing but letting go
        // of the lease: the handler is done, and its key free
        assertThat(a.staleWrites()).isEqualTo(1);
        assertThat(row.get("lease")).isNull();
        assertThat(b.enqueue(job("other-queue").uniqueKey("late")).block(TIMEOUT).isDuplicate()).isFalse();
    }

    @Test
    void aCancelledRunningJobHoldsItsUniqueKeyUntilItsHandlerIsStopped() throws Exception {
        HeldHandler handler = new HeldHandler("cancel-key");
        // A hears no signal and beats only when the test says so: between the cancel and that beat
        // its handler keeps running
        PgQueue a = node(runner(handler, 1).listen(false).heartbeatInterval(Duration.ofHours(1)));
        PgQueue b = node(db.queueBuilder());
        a.start().block(TIMEOUT);
        UUID id = enqueue(b, job("cancel-key").uniqueKey("report:9"));
        waiting().until(() -> handler.started.contains(id));

        assertThat(b.admin().cancel(id).block(TIMEOUT)).isEqualTo(1);

        // cancelled for everyone at once
        assertThat(b.admin().find(id).block(TIMEOUT).status()).isEqualTo(JobStatus.CANCELLED);
        assertThat(b.awaitCompletion(id).block(TIMEOUT).status()).isEqualTo(JobStatus.CANCELLED);
        assertThat(b.admin().list("cancel-key", JobStatus.CANCELLED, null, 10).collectList().block(TIMEOUT))
                .extracting(JobInfo::id).containsExactly(id);
        assertThat(b.admin().counts().block(TIMEOUT))
                .contains(new JobCount("cancel-key", JobStatus.CANCELLED, JobLocation.LIVE, 1));
        assertThat(b.cancelByUniqueKey("report:9").block(TIMEOUT)).isZero();
        // but its handler still runs, so its key stays held: no second job with the key can run beside it
        for (int i = 0; i < 2; i++) {
            assertThat(b.enqueue(job("cancel-key").uniqueKey("report:9")).block(TIMEOUT))
                    .isEqualTo(new EnqueueResult.Duplicate(id, "report:9"));
        }
        assertThat(b.admin().moveFinishedJobs().block(TIMEOUT)).isZero();
        assertThat(handler.cancelled).isEmpty();
        assertThat(a.jobsInFlight()).isEqualTo(1);

        // A's next beat finds the job no longer running under its lease: it cancels the handler and
        // then lets go of the lease
        assertThat(NodeProbe.beatOnce(a.node()).block(TIMEOUT)).isEqualTo(new NodeProbe.Beat(1, 1));
        waiting().until(() -> handler.cancelled.contains(id) && a.jobsInFlight() == 0);
        waiting().until(() -> row(id).get("lease") == null);
        assertThat(status(id)).isEqualTo("cancelled");

        EnqueueResult next = b.enqueue(job("cancel-key").uniqueKey("report:9")).block(TIMEOUT);
        assertThat(next).isInstanceOf(EnqueueResult.Enqueued.class);
        waiting().until(() -> handler.started.contains(next.id()));
        handler.finish(next.id(), Outcome.success());
        waiting().until(() -> "completed".equals(status(next.id())));
        // what the first handler emits now reaches nobody
        handler.finish(id, Outcome.success());
        assertThat(handler.emitted).containsExactly(next.id());
        assertThat(a.staleWrites()).isZero();
        assertThat(status(id)).isEqualTo("cancelled");
        assertThat(b.admin().moveFinishedJobs().block(TIMEOUT)).isEqualTo(2);
    }

    @Test
    void withoutSignalsTheRunningJobIsStoppedAtTheNextHeartbeat() {
        HeldHandler handler = new HeldHandler("cancel-unheard");
        PgQueue a = node(db.queueBuilder()
                .listen(false)
                .pollInterval(Duration.ofMillis(100))
                .heartbeatInterval(Duration.ofMillis(300))
                // never rescue the job as stalled while it runs: only the cancel may stop it
                .rescueAfterMissedHeartbeats(1000)
                .handler(handler, QueueOptions.defaults().concurrency(1)));
        PgQueue b = node(db.queueBuilder());
        a.start().block(TIMEOUT);
        UUID id = enqueue(b, job("cancel-unheard"));
        waiting().until(() -> handler.started.contains(id));

        assertThat(b.cancel(id).block(TIMEOUT)).isEqualTo(1);

        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
                .until(() -> handler.cancelled.contains(id));
        waiting().until(() -> a.jobsInFlight() == 0);
        assertThat(status(id)).isEqualTo("cancelled");
        assertThat(handler.emitted).isEmpty();

        UUID next = enqueue(b, job("cancel-unheard"));
        waiting().until(() -> handler.started.contains(next));
        handler.finish(next, Outcome.success());
        waiting().until(() -> "completed".equals(status(next)));
    }

    // ---- await ----

    @Test
    void awaitOnOneNodeResolvesWhenTheOtherNodeFinishesTheJob() throws Exception {
        HeldHandler handler = new HeldHandler("awaited");
        PgQueue a = node(runner(handler, 2));
        // B looks on its own once an hour only: what resolves its waits is A's signal
        PgQueue b = node(db.queueBuilder().pollInterval(Duration.ofHours(1)));
        a.start().block(TIMEOUT);
        UUID succeeds = enqueue(b, job("awaited"));
        UUID fails = enqueue(b, job("awaited").maxAttempts(1));
        waiting().until(() -> handler.started.containsAll(List.of(succeeds, fails)));

        CompletableFuture<JobInfo> success = b.awaitCompletion(succeeds).toFuture();
        CompletableFuture<JobInfo> failure = b.awaitCompletion(fails).toFuture();
        lookupBarrier(b, finishedJob(b));
        assertThat(success).isNotDone();
        assertThat(failure).isNotDone();

        handler.finish(succeeds, Outcome.success());
        handler.fail(fails, new IllegalStateException("boom"));

        JobInfo done = resolved(success);
        assertThat(done.id()).isEqualTo(succeeds);
        assertThat(done.status()).isEqualTo(JobStatus.COMPLETED);
        assertThat(done.location()).isEqualTo(JobLocation.LIVE);
        assertThat(done.attempt()).isEqualTo(1);
        assertThat(done.completedAt()).isPresent();
        assertThat(done.lastError()).isEmpty();
        assertThat(done.payload()).isEmpty();

        JobInfo failed = resolved(failure);
        assertThat(failed.id()).isEqualTo(fails);
        assertThat(failed.status()).isEqualTo(JobStatus.FAILED);
        assertThat(failed.location()).isEqualTo(JobLocation.LIVE);
        assertThat(failed.completedAt()).isPresent();
        assertThat(failed.lastError()).hasValueSatisfying(e -> assertThat(e).contains("boom"));
    }

    @Test
    void awaitResolvesAtOnceForFinishedJobsWhereverTheyAreAndFailsForUnknownOnes() throws Exception {
        PgQueue a = node(runner(quick("quick"), 5));
        // no signals and no looks of its own: only the look right after each await can resolve it
        PgQueue b = node(db.queueBuilder().listen(false).pollInterval(Duration.ofHours(1)));
        UUID completed = enqueue(b, job("quick"));
        UUID failed = enqueue(b, NewJob.of("quick", Map.of("fail", true)).maxAttempts(1));
        UUID cancelled = enqueue(b, job("never-run"));
        assertThat(b.cancel(cancelled).block(TIMEOUT)).isEqualTo(1);
        a.start().block(TIMEOUT);
        waiting().until(() -> "completed".equals(status(completed)) && "failed".equals(status(failed)));

        assertThat(b.awaitCompletion(completed).block(TIMEOUT))
                .extracting(JobInfo::status, JobInfo::location).containsExactly(JobStatus.COMPLETED, JobLocation.LIVE);
        assertThat(b.awaitCompletion(failed).block(TIMEOUT))
                .extracting(JobInfo::status, JobInfo::location).containsExactly(JobStatus.FAILED, JobLocation.LIVE);
        assertThat(b.awaitCompletion(cancelled).block(TIMEOUT))
                .extracting(JobInfo::status, JobInfo::location).containsExactly(JobStatus.CANCELLED, JobLocation.LIVE);

        assertThat(a.admin().moveFinishedJobs().block(TIMEOUT)).isEqualTo(3L);
        assertThat(db.rows("jobs")).isZero();

        assertThat(b.awaitCompletion(completed).block(TIMEOUT))
                .extracting(JobInfo::status, JobInfo::location).containsExactly(JobStatus.COMPLETED, JobLocation.ARCHIVE);
        JobInfo dead = b.awaitCompletion(failed).block(TIMEOUT);
        assertThat(dead).extracting(JobInfo::status, JobInfo::location).containsExactly(JobStatus.FAILED, JobLocation.DEAD);
        assertThat(dead.lastError()).hasValueSatisfying(e -> assertThat(e).contains("boom"));
        assertThat(b.awaitCompletion(cancelled).block(TIMEOUT))
                .extracting(JobInfo::status, JobInfo::location).containsExactly(JobStatus.CANCELLED, JobLocation.DEAD);

        UUID unknown = UUID.randomUUID();
        assertThatThrownBy(() -> b.awaitCompletion(unknown).block(TIMEOUT))
                .isInstanceOf(NoSuchJobException.class)
                .satisfies(e -> assertThat(((NoSuchJobException) e).id()).isEqualTo(unknown));
    }

    @Test
    void enqueueAndAwaitRunsTheJobOnAnotherNodeAndReturnsItsEnd() throws Exception {
        PgQueue a = node(runner(quick("quick"), 5));
        PgQueue b = node(db.queueBuilder());
        a.start().block(TIMEOUT);

        JobInfo done = b.enqueueAndAwait(job("quick")).block(TIMEOUT);

        assertThat(done.status()).isEqualTo(JobStatus.COMPLETED);
        assertThat(done.queue()).isEqualTo("quick");
        assertThat(status(done.id())).isEqualTo("completed");
        JobInfo failed = b.enqueueAndAwait(NewJob.of("quick", Map.of("fail", true)).maxAttempts(1)).block(TIMEOUT);
        assertThat(failed.status()).isEqualTo(JobStatus.FAILED);
        assertThat(failed.lastError()).hasValueSatisfying(e -> assertThat(e).contains("boom"));
    }

    @Test
    void enqueueAndAwaitOfADuplicateAwaitsTheLiveHolder() throws Exception {
        HeldHandler handler = new HeldHandler("awaited");
        PgQueue a = node(runner(handler, 1));
        PgQueue b = node(db.queueBuilder());
        a.start().block(TIMEOUT);
        UUID holder = enqueue(a, job("awaited").uniqueKey("nightly"));
        waiting().until(() -> handler.started.contains(holder));

        CompletableFuture<JobInfo> duplicate = b.enqueueAndAwait(job("awaited").uniqueKey("nightly")).toFuture();
        lookupBarrier(b, finishedJob(b));
        assertThat(duplicate).isNotDone();
        handler.finish(holder, Outcome.success());

        JobInfo done = resolved(duplicate);
        assertThat(done.id()).isEqualTo(holder);
        assertThat(done.status()).isEqualTo(JobStatus.COMPLETED);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE queue = 'awaited'")).isEqualTo(1);
    }

    @Test
    void manyWaitersAreServedByFewLookups() throws Exception {
        StatementCounter counted = new StatementCounter(db.connectionFactory());
        // The counting wrapper hides the PostgreSQL connection, so B could not listen anyway: it looks
        // every poll interval (1 s by default).
        PgQueue b = node(PgQueue.builder(counted).schema(db.name()).janitor(false).listen(false));
        PgQueue a = node(runner(quick("many"), 100));
        List<UUID> ids = a.enqueueAll(IntStream.range(0, 200).mapToObj(i -> NewJob.of("many", Map.of("n", i))).toList())
                .block(TIMEOUT).stream().map(EnqueueResult::id).toList();
        counted.reset();

        List<CompletableFuture<JobInfo>> waits = ids.stream().map(id -> b.awaitCompletion(id).toFuture()).toList();
        a.start().block(TIMEOUT);
        CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new)).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);

        for (int i = 0; i < ids.size(); i++) {
            JobInfo done = waits.get(i).get();
            assertThat(done.id()).isEqualTo(ids.get(i));
            assertThat(done.status()).isEqualTo(JobStatus.COMPLETED);
        }
        long lookups = counted.count(JOB_FIND_MANY);
        assertThat(lookups).as("JobFindMany statements for 200 waiters").isPositive().isLessThan(50);
    }

    @Test
    void awaitWithoutSignalsResolvesByLooking() throws Exception {
        HeldHandler handler = new HeldHandler("awaited");
        PgQueue a = node(runner(handler, 1));
        PgQueue b = node(db.queueBuilder().listen(false).pollInterval(Duration.ofMillis(200)));
        a.start().block(TIMEOUT);
        UUID id = enqueue(b, job("awaited"));
        waiting().until(() -> handler.started.contains(id));

        CompletableFuture<JobInfo> wait = b.awaitCompletion(id).toFuture();
        lookupBarrier(b, finishedJob(b));
        assertThat(wait).isNotDone();
        handler.finish(id, Outcome.success());

        assertThat(resolved(wait).status()).isEqualTo(JobStatus.COMPLETED);
    }

    @Test
    void aWaiterThatLeavesDoesNotDisturbTheOthers() throws Exception {
        HeldHandler handler = new HeldHandler("awaited");
        PgQueue a = node(runner(handler, 2));
        PgQueue b = node(db.queueBuilder());
        a.start().block(TIMEOUT);
        UUID first = enqueue(b, job("awaited"));
        UUID second = enqueue(b, job("awaited"));
        waiting().until(() -> handler.started.containsAll(List.of(first, second)));
        List<Object> leftBehind = new CopyOnWriteArrayList<>();

        // the only waiter leaves: B stops looking, and must start again for the next one
        b.awaitCompletion(first).subscribe(leftBehind::add, leftBehind::add).dispose();
        CompletableFuture<JobInfo> firstWait = b.awaitCompletion(first).toFuture();
        Disposable sameJobLeaver = b.awaitCompletion(first).subscribe(leftBehind::add, leftBehind::add);
        CompletableFuture<JobInfo> secondWait = b.awaitCompletion(second).toFuture();
        Disposable onlyOtherLeaver = b.awaitCompletion(second).subscribe(leftBehind::add, leftBehind::add);
        lookupBarrier(b, finishedJob(b));
        sameJobLeaver.dispose();
        onlyOtherLeaver.dispose();

        handler.finish(first, Outcome.success());
        handler.finish(second, Outcome.success());

        assertThat(resolved(firstWait).status()).isEqualTo(JobStatus.COMPLETED);
        assertThat(resolved(secondWait).status()).isEqualTo(JobStatus.COMPLETED);
        assertThat(leftBehind).isEmpty();
        // and B still awaits afterwards
        assertThat(b.awaitCompletion(first).block(TIMEOUT).status()).isEqualTo(JobStatus.COMPLETED);
    }

    @Test
    void closingTheWaitingNodeFailsItsPendingAwaits() throws Exception {
        HeldHandler handler = new HeldHandler("awaited");
        PgQueue a = node(runner(handler, 1));
        PgQueue b = node(db.queueBuilder());
        a.start().block(TIMEOUT);
        UUID id = enqueue(b, job("awaited"));
        waiting().until(() -> handler.started.contains(id));
        CompletableFuture<JobInfo> first = b.awaitCompletion(id).toFuture();
        CompletableFuture<JobInfo> second = b.awaitCompletion(id).toFuture();

        b.close().block(TIMEOUT);

        for (CompletableFuture<JobInfo> wait : List.of(first, second)) {
            assertThatThrownBy(() -> wait.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(IllegalStateException.class);
        }
        assertThatThrownBy(() -> b.awaitCompletion(id).block(TIMEOUT)).isInstanceOf(IllegalStateException.class);

        // the job is not touched by B's closing: A finishes it, and A's own await sees that
        assertThat(status(id)).isEqualTo("running");
        CompletableFuture<JobInfo> onA = a.awaitCompletion(id).toFuture();
        handler.finish(id, Outcome.success());
        assertThat(resolved(onA).status()).isEqualTo(JobStatus.COMPLETED);
    }
}
