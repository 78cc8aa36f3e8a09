package io.github.reactivepgqueue.internal;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.internal.Config.AwaiterConfig;
import io.github.reactivepgqueue.internal.Config.DepthSamplerConfig;
import io.github.reactivepgqueue.internal.Config.HeartbeatConfig;
import io.github.reactivepgqueue.internal.Config.JanitorConfig;
import io.github.reactivepgqueue.internal.Config.ListenerConfig;
import io.github.reactivepgqueue.internal.Config.ReaperConfig;
import io.github.reactivepgqueue.internal.store.JobStore;
import io.github.reactivepgqueue.internal.store.PgJobStore;
import io.github.reactivepgqueue.internal.store.SchemaName;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * Each background service's {@code runOnce()} on rows arranged (and back-dated) with SQL: the
 * counts it returns and the rows it leaves. No loop runs and nothing waits for an interval.
 */
@ExtendWith(PostgresExtension.class)
class ServicesIT {
    private static final int REPROCESS_LIMIT = 5;

    private final TestSchema schema;
    private final PgQueue queue;
    private final Scheduler timer = Schedulers.parallel();
    private final JobStore store;
    private final Signals signals;

    ServicesIT(TestSchema schema) {
        this.schema = schema;
        this.queue = schema.queueBuilder().listen(false).build();
        queue.migrate().block(TIMEOUT);
        this.store = new PgJobStore(schema.connectionFactory(), SchemaName.of(schema.name()), queue.objectMapper(),
                TIMEOUT, TIMEOUT, Duration.ofSeconds(5), timer);
        this.signals = new Signals(store, timer);
    }

    @BeforeEach
    void empty() {
        schema.deleteAllJobs();
    }

    @AfterEach
    void stopSignals() {
        signals.stop();
    }

    /** A running job whose last beat was {@code minutesAgo} minutes ago, with these counters. */
    private UUID running(String queueName, int attempt, int maxAttempts, int reprocessCount, int minutesAgo) {
        UUID id = queue.enqueue(NewJob.of(queueName, Map.of("n", 1)).maxAttempts(maxAttempts)).block(TIMEOUT).id();
        schema.execute("UPDATE {schema}.jobs SET status = 'running', lease = gen_random_uuid(), attempt = $2, "
                + "reprocess_count = $3 WHERE id = $1", id, attempt, reprocessCount);
        schema.backdate("jobs", "heartbeat_at", Duration.ofMinutes(minutesAgo), List.of(id));
        return id;
    }

    @Test
    void reaperRescuesJobsWhoseHeartbeatIsStaleAndLeavesFreshOnes() {
        UUID back = running("q", 1, 3, 0, 10);
        UUID lastAttempt = running("q", 3, 3, 0, 10);
        UUID poison = running("q", 1, 3, REPROCESS_LIMIT - 1, 10);
        UUID fresh = running("q", 1, 3, 0, 0);
        // cancelled while they ran, as a cancel leaves them: lease and heartbeat kept
        UUID cancelledLongAgo = running("q", 1, 3, 0, 10);
        UUID cancelledJustNow = running("q", 1, 3, 0, 0);
        schema.execute("UPDATE {schema}.jobs SET status = 'cancelled', completed_at = now() WHERE id = ANY($1)",
                (Object) new UUID[] {cancelledLongAgo, cancelledJustNow});
        Object freshLease = schema.row("jobs", cancelledJustNow).get("lease");
        Reaper reaper = new Reaper(store, signals,
                new ReaperConfig(Duration.ofHours(1), Duration.ofMinutes(1), REPROCESS_LIMIT, 2), timer,
                QueueMetrics.NONE);

        StepVerifier.create(reaper.runOnce())
                .expectNext(new ReaperResult(1, 1, 1, 1))
                .verifyComplete();

        assertThat(schema.row("jobs", cancelledLongAgo)).containsEntry("status", "cancelled")
                .containsEntry("lease", null).containsEntry("heartbeat_at", null).containsEntry("reprocess_count", 0);
        assertThat(schema.row("jobs", cancelledJustNow)).containsEntry("status", "cancelled")
                .containsEntry("lease", freshLease);

        assertThat(schema.row("jobs", back)).containsEntry("status", "pending").containsEntry("attempt", 0)
                .containsEntry("reprocess_count", 1).containsEntry("lease", null);
        assertThat(schema.row("jobs", lastAttempt)).containsEntry("status", "failed").containsEntry("attempt", 3);
        assertThat(schema.row("jobs", poison)).containsEntry("status", "bad_job")
                .containsEntry("reprocess_count", REPROCESS_LIMIT);
        assertThat(schema.row("jobs", fresh)).containsEntry("status", "running").containsEntry("reprocess_count", 0);
        StepVerifier.create(reaper.runOnce()).expectNext(new ReaperResult(0, 0, 0, 0)).verifyComplete();
    }

    @Test
    void janitorMovesFinishedJobsAndDeletesThosePastTheirRetention() {
        UUID completed = running("q", 1, 3, 0, 0);
        UUID failed = running("q", 3, 3, 0, 0);
        UUID live = running("q", 1, 3, 0, 0);
        schema.execute("UPDATE {schema}.jobs SET status = 'completed', completed_at = now() WHERE id = $1", completed);
        schema.execute("UPDATE {schema}.jobs SET status = 'failed', completed_at = now() WHERE id = $1", failed);
        Janitor janitor = new Janitor(store, new JanitorConfig(true, Duration.ofHours(1), 1, Duration.ofDays(7),
                Duration.ofDays(30)), timer);

        StepVerifier.create(janitor.runOnce())
                .expectNext(new JanitorResult(2, 0)) // batches of one: the move repeats while batches come back full
                .verifyComplete();
        assertThat(schema.row("jobs_archive", completed)).containsEntry("status", "completed");
        assertThat(schema.row("jobs_dead", failed)).containsEntry("status", "failed");
        assertThat(schema.row("jobs", live)).containsEntry("status", "running");

        schema.backdate("jobs_archive", "archived_at", Duration.ofDays(8), List.of(completed));
        schema.backdate("jobs_dead", "dead_at", Duration.ofDays(29), List.of(failed));
        StepVerifier.create(janitor.runOnce()).expectNext(new JanitorResult(0, 1)).verifyComplete();
        assertThat(schema.rows("jobs_archive")).isZero();
        assertThat(schema.rows("jobs_dead")).as("within its retention").isOne();

        schema.backdate("jobs_dead", "dead_at", Duration.ofDays(31), List.of(failed));
        StepVerifier.create(janitor.deleteExpired()).expectNext(1L).verifyComplete();
        assertThat(schema.rows("jobs_dead")).isZero();
    }

    @Test
    void heartbeatRefreshesHeldLeasesAndReportsLostOnes() {
        queue.enqueueAll(List.of(NewJob.of("beat", 1), NewJob.of("beat", 2))).block(TIMEOUT);
        JobClaimer claimer = new JobClaimer(store, QueueMetrics.NONE);
        List<ClaimedRow> claimed = claimer.claim(Map.of("beat", 2), 2).block(TIMEOUT);
        assertThat(claimed).hasSize(2);
        Leases leases = new Leases();
        leases.holdAll(claimed);
        schema.backdate("jobs", "heartbeat_at", Duration.ofHours(1), claimed.stream().map(ClaimedRow::id).toList());
        schema.execute("UPDATE {schema}.jobs SET lease = gen_random_uuid() WHERE id = $1", claimed.get(1).id());
        Heartbeat heartbeat = new Heartbeat(store, leases, new HeartbeatConfig(Duration.ofHours(1)), Duration.ofHours(3),
                Flux.never(),
                timer);

        StepVerifier.create(heartbeat.runOnce()).expectNext(new HeartbeatResult(2, 1)).verifyComplete();

        assertThat(schema.count("SELECT count(*) FROM {schema}.jobs WHERE id = $1 "
                + "AND heartbeat_at > now() - interval '1 minute'", claimed.get(0).id())).as("refreshed").isOne();
        assertThat(schema.count("SELECT count(*) FROM {schema}.jobs WHERE id = $1 "
                + "AND heartbeat_at < now() - interval '59 minutes'", claimed.get(1).id())).as("lost: untouched")
                .isOne();
    }

    @Test
    void depthSamplerCountsThePendingJobsOfEveryQueue() {
        queue.enqueueAll(List.of(NewJob.of("a", 1), NewJob.of("a", 2), NewJob.of("b", 3))).block(TIMEOUT);
        running("c", 1, 3, 0, 0);
        DepthSampler sampler = new DepthSampler(store, QueueMetrics.NONE,
                new DepthSamplerConfig(Duration.ofHours(1)), timer);

        StepVerifier.create(sampler.runOnce()).expectNext(new DepthSamplerResult(2)).verifyComplete();
    }

    @Test
    void awaiterResolvesFinishedAndMissingJobsAndLooksUpNothingWhileNobodyWaits() {
        Awaiter awaiter = new Awaiter(store, Flux.never(),
                new AwaiterConfig(Duration.ofHours(1)), timer);
        StepVerifier.create(awaiter.runOnce()).expectNext(new AwaiterResult(0, 0)).verifyComplete();

        UUID done = running("q", 1, 3, 0, 0);
        schema.execute("UPDATE {schema}.jobs SET status = 'completed', completed_at = now() WHERE id = $1", done);
        StepVerifier.create(awaiter.await(done))
                .assertNext(job -> assertThat(job.status()).isEqualTo(JobStatus.COMPLETED))
                .verifyComplete();
        StepVerifier.create(awaiter.await(UUID.randomUUID()))
                .verifyError(io.github.reactivepgqueue.NoSuchJobException.class);
        awaiter.stop();
    }

    @Test
    void signalsSendWhatIsPostedOnceAndNothingWhenNothingIs() {
        signals.post(Signal.FINISHED);
        signals.postDue("q");
        StepVerifier.create(signals.runOnce()).expectNext(new SignalsResult(2)).verifyComplete();
        StepVerifier.create(signals.runOnce()).expectNext(new SignalsResult(0)).verifyComplete();
    }

    @Test
    void listenerProbesAFreshConnection() {
        Listener listener = new Listener(schema.connectionFactory(), store, signals.channel(),
                new ListenerConfig(true, Duration.ofHours(1), Duration.ofSeconds(10)), timer);
        StepVerifier.create(listener.runOnce()).expectNext(new ListenerResult(true)).verifyComplete();
        assertThat(listener.connected()).as("the probe is not the listening connection").isFalse();
        listener.stop();
    }
}
