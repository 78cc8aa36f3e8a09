package io.github.reactivepgqueue.internal.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.JobCount;
import io.github.reactivepgqueue.JobInfo;
import io.github.reactivepgqueue.JobLocation;
import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.MigrationResult;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.SchemaVersionException;
import io.github.reactivepgqueue.internal.ClaimedRow;
import io.github.reactivepgqueue.internal.EncodedJob;
import io.github.reactivepgqueue.internal.JobEncoder;
import io.github.reactivepgqueue.internal.Signals;
import io.github.reactivepgqueue.internal.store.JobStore.FinishRow;
import io.github.reactivepgqueue.internal.store.JobStore.InsertedRow;
import io.github.reactivepgqueue.internal.store.JobStore.JobLease;
import io.github.reactivepgqueue.internal.store.JobStore.MovedJobs;
import io.github.reactivepgqueue.internal.store.JobStore.PurgedBatch;
import io.github.reactivepgqueue.internal.store.JobStore.RequeuedJob;
import io.github.reactivepgqueue.internal.store.JobStore.RescheduleRow;
import io.github.reactivepgqueue.internal.store.JobStore.RescuedJob;
import io.github.reactivepgqueue.internal.store.JobStore.RetryRow;
import io.github.reactivepgqueue.internal.store.JobStore.WrittenStatuses;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.spi.Connection;
import java.lang.reflect.Method;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The store's conformance test: every {@link JobStore} method runs once against a migrated schema
 * and its typed result is checked. Each test is named after the method it covers, and
 * {@link #everyStoreMethodHasAConformanceCase()} fails when a method has none.
 */
@ExtendWith(PostgresExtension.class)
class PgJobStoreIT {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final TestSchema db;
    private final PgJobStore store;
    private final JobEncoder encoder = new JobEncoder(new ObjectMapper(), 1 << 16, 5);

    PgJobStoreIT(TestSchema db) {
        this.db = db;
        this.store = new PgJobStore(db.connectionFactory(), SchemaName.of(db.name()), new ObjectMapper(), TIMEOUT,
                TIMEOUT, Duration.ofSeconds(5), Schedulers.parallel());
        store.migrate().block(TIMEOUT);
    }

    @Test
    void everyStoreMethodHasAConformanceCase() {
        Set<String> cases = Arrays.stream(PgJobStoreIT.class.getDeclaredMethods())
                .filter(m -> m.isAnnotationPresent(Test.class)).map(Method::getName).collect(Collectors.toSet());
        Set<String> missing = Stream.of(JobStore.class, JobStore.Inserts.class)
                .flatMap(type -> Arrays.stream(type.getDeclaredMethods()))
                .filter(m -> !m.isSynthetic() && !java.lang.reflect.Modifier.isStatic(m.getModifiers()))
                .map(Method::getName)
                .filter(name -> !cases.contains(name))
                .collect(Collectors.toCollection(TreeSet::new));
        assertThat(missing).as("JobStore methods without a conformance case in PgJobStoreIT").isEmpty();
    }

    // ---- enqueue

    @Test
    void inserting() {
        String q = queue();
        List<InsertedRow> rows = store.inserting(inserts -> inserts.insertMany(
                List.of(encode(NewJob.of(q, Map.of()).uniqueKey(q + "-k")), encode(NewJob.of(q, Map.of()))), null))
                .block(TIMEOUT);
        assertThat(rows).extracting(InsertedRow::index, InsertedRow::inserted).containsExactly(
                org.assertj.core.groups.Tuple.tuple(0, true), org.assertj.core.groups.Tuple.tuple(1, true));
        assertThat(pending(q)).isEqualTo(2);
    }

    @Test
    void insertMany() {
        String q = queue();
        EncodedJob first = encode(NewJob.of(q, Map.of()).uniqueKey(q + "-k"));
        insert(List.of(first));
        List<InsertedRow> rows = store.inserting(inserts -> inserts.insertMany(
                List.of(encode(NewJob.of(q, Map.of()).uniqueKey(q + "-k"))), Signals.channelOf(store.schema())))
                .block(TIMEOUT);
        assertThat(rows).containsExactly(new InsertedRow(0, false, first.id()));

        // a job cancelled while it runs holds its key until its lease is let go of
        ClaimedRow running = store.claim(Map.of(q, 1), 1, false).block(TIMEOUT).get(0);
        store.cancel(running.id(), null, null).block(TIMEOUT);
        EncodedJob again = encode(NewJob.of(q, Map.of()).uniqueKey(q + "-k"));
        assertThat(store.inserting(inserts -> inserts.insertMany(List.of(again), null)).block(TIMEOUT))
                .containsExactly(new InsertedRow(0, false, running.id()));
        store.letGoMany(List.of(lease(running))).block(TIMEOUT);
        assertThat(store.inserting(inserts -> inserts.insertMany(List.of(again), null)).block(TIMEOUT))
                .containsExactly(new InsertedRow(0, true, again.id()));
    }

    @Test
    void insertManyNoKeys() {
        String q = queue();
        Integer inserted = store.inserting(inserts -> inserts.insertManyNoKeys(
                List.of(encode(NewJob.of(q, Map.of())), encode(NewJob.of(q, Map.of())), encode(NewJob.of(q, 1))),
                null)).block(TIMEOUT);
        assertThat(inserted).isEqualTo(3);
        assertThat(pending(q)).isEqualTo(3);
    }

    @Test
    void insertsOn() {
        String q = queue();
        // the caller's connection, in the caller's transaction, which it rolls back
        Integer inserted = onConnection(conn -> Mono.from(conn.beginTransaction())
                .then(store.insertsOn(conn).insertManyNoKeys(List.of(encode(NewJob.of(q, Map.of()))), null))
                .flatMap(n -> Mono.from(conn.rollbackTransaction()).thenReturn(n)));
        assertThat(inserted).isEqualTo(1);
        assertThat(pending(q)).isZero();
    }

    // ---- claim and outcomes

    @Test
    void claim() {
        String q = queue();
        EncodedJob job = encode(NewJob.of(q, Map.of("a", 1)).priority(3).fingerprint("f"));
        insert(List.of(job, encode(NewJob.of(q, Map.of()))));
        // at most one per queue, the lowest priority first
        List<ClaimedRow> claimed = store.claim(Map.of(q, 1), 5, true).block(TIMEOUT);
        assertThat(claimed).hasSize(1).noneMatch(row -> row.id().equals(job.id()));
        assertThat(store.claim(Map.of(q, 5), 5, true).block(TIMEOUT)).singleElement().satisfies(row -> {
            assertThat(row.id()).isEqualTo(job.id());
            assertThat(row.queue()).isEqualTo(q);
            assertThat(row.attempt()).isEqualTo(1);
            assertThat(row.maxAttempts()).isEqualTo(5);
            assertThat(row.priority()).isEqualTo(3);
            assertThat(row.fingerprint()).contains("f");
            assertThat(row.payload().get("a").asInt()).isEqualTo(1);
            assertThat(row.lease()).isNotNull();
            assertThat(row.claimedAt()).isNotNull().isAfterOrEqualTo(row.runAt());
        });
    }

    /** The earliest job not yet due, of the named queues only, by the database clock; none: empty. */
    @Test
    void nextDue() {
        String q = queue();
        String other = queue();
        assertThat(store.nextDue(List.of(q)).blockOptional(TIMEOUT)).as("no job at all").isEmpty();
        insert(List.of(encode(NewJob.of(q, Map.of())), // due now: not "later"
                encode(NewJob.of(q, Map.of()).delay(Duration.ofMinutes(10)).priority(2)),
                encode(NewJob.of(q, Map.of()).delay(Duration.ofMinutes(5)).priority(7)),
                encode(NewJob.of(other, Map.of()).delay(Duration.ofMinutes(1)))));

        assertThat(store.nextDue(List.of(q)).block(TIMEOUT)).as("the earliest over its priorities")
                .isBetween(Duration.ofMinutes(4), Duration.ofMinutes(5));
        assertThat(store.nextDue(List.of(q, other)).block(TIMEOUT)).isBetween(Duration.ofSeconds(50),
                Duration.ofMinutes(1));
        db.execute("INSERT INTO {schema}.paused_queues (queue) VALUES ($1)", other);
        assertThat(store.nextDue(List.of(other)).blockOptional(TIMEOUT)).as("a paused queue").isEmpty();
    }

    /**
     * When the global limit is short, each queue gets a share of it in proportion to its own
     * limit: a flooded queue whose jobs have lower priority numbers does not take it all (before,
     * the claim ordered every queue's rows by priority and the flooded queue got all ten).
     */
    @Test
    void claimSharesAShortGlobalLimitAmongQueuesByTheirLimits() {
        String flooded = queue();
        String other = queue();
        String third = queue();
        List<EncodedJob> jobs = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            jobs.add(encode(NewJob.of(flooded, i).priority(0)));
            jobs.add(encode(NewJob.of(other, i).priority(5)));
            jobs.add(encode(NewJob.of(third, i).priority(9)));
        }
        insert(jobs);
        Map<String, Integer> limits = new LinkedHashMap<>();
        limits.put(flooded, 20);
        limits.put(other, 20);
        limits.put(third, 10);

        Map<String, Long> perQueue = store.claim(limits, 10, false).block(TIMEOUT).stream()
                .collect(Collectors.groupingBy(ClaimedRow::queue, Collectors.counting()));

        assertThat(perQueue).containsEntry(flooded, 4L).containsEntry(other, 4L).containsEntry(third, 2L);
        // within a queue, priority order holds; and limits that fit are met in full
        assertThat(store.claim(Map.of(other, 100), 100, false).block(TIMEOUT)).hasSize(46);
    }

    @Test
    void completeMany() {
        ClaimedRow job = claimed(queue());
        JobLease stale = new JobLease(UUID.randomUUID(), UUID.randomUUID());
        WrittenStatuses statuses = store.completeMany(List.of(lease(job), stale), false,
                Signals.channelOf(store.schema()), "f").block(TIMEOUT);
        assertThat(statuses.of(job.id())).isEqualTo(JobStatus.COMPLETED);
        assertThat(statuses.of(stale.id())).isNull();
        assertThat(status(job.id())).isEqualTo(JobStatus.COMPLETED);

        ClaimedRow archived = claimed(queue());
        assertThat(store.completeMany(List.of(lease(archived)), true, null, "f").block(TIMEOUT).of(archived.id()))
                .isEqualTo(JobStatus.COMPLETED);
        assertThat(find(archived.id()).location()).isEqualTo(JobLocation.ARCHIVE);
    }

    @Test
    void retryMany() {
        ClaimedRow job = claimed(queue());
        WrittenStatuses statuses = store.retryMany(List.of(new RetryRow(job.id(), job.lease(), 0, null, 60_000_000L,
                "boom"))).block(TIMEOUT);
        assertThat(statuses.of(job.id())).isEqualTo(JobStatus.PENDING);
        JobInfo info = find(job.id());
        assertThat(info.lastError()).contains("boom");
        assertThat(info.runAt()).isAfter(info.updatedAt().plusSeconds(59));
        // a stale lease changes nothing
        assertThat(store.retryMany(List.of(new RetryRow(job.id(), job.lease(), 0, null, null, null))).block(TIMEOUT)
                .of(job.id())).isNull();
    }

    @Test
    void rescheduleMany() {
        ClaimedRow job = claimed(queue());
        Instant at = Instant.now().plus(Duration.ofDays(1));
        assertThat(store.rescheduleMany(List.of(new RescheduleRow(job.id(), job.lease(), at, null)), 10)
                .block(TIMEOUT).of(job.id())).isEqualTo(JobStatus.PENDING);
        assertThat(find(job.id()).reprocessCount()).isEqualTo(1);

        ClaimedRow poison = claimed(queue());
        assertThat(store.rescheduleMany(List.of(new RescheduleRow(poison.id(), poison.lease(), null, 0L)), 1)
                .block(TIMEOUT).of(poison.id())).isEqualTo(JobStatus.BAD_JOB);
    }

    @Test
    void finishMany() {
        ClaimedRow job = claimed(queue());
        assertThat(store.finishMany(List.of(new FinishRow(job.id(), job.lease(), JobStatus.CRITICAL, "bad")))
                .block(TIMEOUT).of(job.id())).isEqualTo(JobStatus.CRITICAL);
        assertThat(find(job.id()).lastError()).contains("bad");
    }

    @Test
    void releaseMany() {
        ClaimedRow job = claimed(queue());
        assertThat(store.releaseMany(List.of(lease(job))).block(TIMEOUT).of(job.id())).isEqualTo(JobStatus.PENDING);
        assertThat(find(job.id()).attempt()).isZero();
    }

    @Test
    void heartbeat() {
        ClaimedRow held = claimed(queue());
        assertThat(store.heartbeat(List.of(lease(held))).block(TIMEOUT)).isEmpty();
        ClaimedRow other = claimed(queue());
        JobLease taken = new JobLease(other.id(), UUID.randomUUID());
        JobLease unknown = new JobLease(UUID.randomUUID(), UUID.randomUUID());
        assertThat(store.heartbeat(List.of(lease(held), taken, unknown)).block(TIMEOUT))
                .containsExactlyInAnyOrder(other.id(), unknown.id());
    }

    // ---- admin

    @Test
    void cancel() {
        String q = queue();
        ClaimedRow running = claimed(q);
        EncodedJob pending = encode(NewJob.of(q, Map.of()).fingerprint(q + "-f"));
        insert(List.of(pending));
        assertThat(store.cancel(running.id(), null, null).block(TIMEOUT)).containsExactly(JobStatus.RUNNING);
        assertThat(store.cancel(null, null, q + "-f").block(TIMEOUT)).containsExactly(JobStatus.PENDING);
        assertThat(store.cancel(null, "no such key", null).block(TIMEOUT)).isEmpty();
        assertThat(status(pending.id())).isEqualTo(JobStatus.CANCELLED);
        // the running job keeps its lease (its handler may still run); the heartbeat finds it gone
        assertThat(status(running.id())).isEqualTo(JobStatus.CANCELLED);
        assertThat(db.row("jobs", running.id(), "lease, heartbeat_at IS NOT NULL AS beaten"))
                .containsEntry("lease", running.lease()).containsEntry("beaten", true);
        assertThat(db.row("jobs", pending.id(), "lease")).containsEntry("lease", null);
        assertThat(store.heartbeat(List.of(lease(running))).block(TIMEOUT)).containsExactly(running.id());
    }

    @Test
    void letGoMany() {
        String q = queue();
        ClaimedRow cancelled = claimed(q);
        ClaimedRow stillRunning = claimed(q);
        store.cancel(cancelled.id(), null, null).block(TIMEOUT);
        JobLease wrongLease = new JobLease(cancelled.id(), UUID.randomUUID());

        // fenced: a wrong lease and a job that is not cancelled are not touched
        WrittenStatuses statuses = store.letGoMany(List.of(wrongLease, lease(stillRunning))).block(TIMEOUT);
        assertThat(statuses.of(cancelled.id())).isNull();
        assertThat(statuses.of(stillRunning.id())).isNull();
        assertThat(db.row("jobs", cancelled.id(), "lease")).containsEntry("lease", cancelled.lease());
        assertThat(db.row("jobs", stillRunning.id(), "status, lease")).containsEntry("status", "running")
                .containsEntry("lease", stillRunning.lease());

        assertThat(store.letGoMany(List.of(lease(cancelled))).block(TIMEOUT).of(cancelled.id()))
                .isEqualTo(JobStatus.CANCELLED);
        assertThat(db.row("jobs", cancelled.id(), "status, lease, heartbeat_at")).containsEntry("status", "cancelled")
                .containsEntry("lease", null).containsEntry("heartbeat_at", null);
        assertThat(store.letGoMany(List.of(lease(cancelled))).block(TIMEOUT).of(cancelled.id())).isNull();
    }

    @Test
    void findMany() {
        String q = queue();
        EncodedJob job = encode(NewJob.of(q, Map.of("k", "v")));
        insert(List.of(job));
        assertThat(store.findMany(List.of(job.id(), UUID.randomUUID()), true).block(TIMEOUT)).singleElement()
                .satisfies(info -> {
                    assertThat(info.id()).isEqualTo(job.id());
                    assertThat(info.status()).isEqualTo(JobStatus.PENDING);
                    assertThat(info.location()).isEqualTo(JobLocation.LIVE);
                    assertThat(info.payload()).hasValueSatisfying(p -> assertThat(p.get("k").asText()).isEqualTo("v"));
                });
        assertThat(store.findMany(List.of(job.id()), false).block(TIMEOUT).get(0).payload()).isEmpty();
    }

    @Test
    void list() {
        String q = queue();
        List<EncodedJob> jobs = List.of(encode(NewJob.of(q, 1)), encode(NewJob.of(q, 2)), encode(NewJob.of(q, 3)));
        insert(jobs);
        List<JobInfo> page = store.list(q, JobStatus.PENDING, null, 2).block(TIMEOUT);
        assertThat(page).extracting(JobInfo::id).containsExactly(jobs.get(0).id(), jobs.get(1).id());
        assertThat(store.list(q, null, jobs.get(1).id(), 10).block(TIMEOUT)).extracting(JobInfo::id)
                .containsExactly(jobs.get(2).id());
        assertThat(store.list(q, JobStatus.RUNNING, null, 10).block(TIMEOUT)).isEmpty();
        // the other filters: status only, none (the schema holds other cases' jobs too)
        assertThat(store.list(null, JobStatus.PENDING, jobs.get(0).id(), 10_000).block(TIMEOUT))
                .filteredOn(job -> job.queue().equals(q)).extracting(JobInfo::id)
                .containsExactly(jobs.get(1).id(), jobs.get(2).id());
        assertThat(store.list(null, null, jobs.get(1).id(), 10_000).block(TIMEOUT))
                .filteredOn(job -> job.queue().equals(q)).extracting(JobInfo::id)
                .containsExactly(jobs.get(2).id());
    }

    @Test
    void counts() {
        String q = queue();
        insert(List.of(encode(NewJob.of(q, 1)), encode(NewJob.of(q, 2))));
        assertThat(store.counts(2).block(TIMEOUT)).filteredOn(c -> c.queue().equals(q))
                .containsExactly(new JobCount(q, JobStatus.PENDING, JobLocation.LIVE, 2, true));
        // above the bound: an estimate, never below what was counted
        assertThat(store.counts(1).block(TIMEOUT)).filteredOn(c -> c.queue().equals(q)).singleElement()
                .satisfies(c -> {
                    assertThat(c.exact()).isFalse();
                    assertThat(c.jobs()).isGreaterThanOrEqualTo(2);
                });
    }

    @Test
    void requeueDead() {
        String q = queue();
        ClaimedRow job = claimed(q);
        store.finishMany(List.of(new FinishRow(job.id(), job.lease(), JobStatus.UNPROCESSABLE, null))).block(TIMEOUT);
        store.moveFinished(1000).block(TIMEOUT);
        assertThat(find(job.id()).location()).isEqualTo(JobLocation.DEAD);
        assertThat(store.requeueDead(null, q, 10).block(TIMEOUT)).containsExactly(new RequeuedJob(job.id(), q));
        assertThat(status(job.id())).isEqualTo(JobStatus.PENDING);
        assertThat(store.requeueDead(job.id(), null, 1).block(TIMEOUT)).isEmpty();

        // a dead job whose key a job cancelled while running still holds stays dead until it is let go of
        String k = queue();
        insert(List.of(encode(NewJob.of(k, 1).uniqueKey(k))));
        ClaimedRow dead = store.claim(Map.of(k, 1), 1, false).block(TIMEOUT).get(0);
        store.finishMany(List.of(new FinishRow(dead.id(), dead.lease(), JobStatus.CRITICAL, null))).block(TIMEOUT);
        store.moveFinished(1000).block(TIMEOUT);
        insert(List.of(encode(NewJob.of(k, 2).uniqueKey(k))));
        ClaimedRow holder = store.claim(Map.of(k, 1), 1, false).block(TIMEOUT).get(0);
        store.cancel(holder.id(), null, null).block(TIMEOUT);
        assertThat(store.requeueDead(dead.id(), null, 1).block(TIMEOUT)).isEmpty();
        store.letGoMany(List.of(lease(holder))).block(TIMEOUT);
        assertThat(store.requeueDead(dead.id(), null, 1).block(TIMEOUT)).containsExactly(new RequeuedJob(dead.id(), k));
    }

    @Test
    void delete() {
        ClaimedRow job = claimed(queue());
        assertThat(store.delete(job.id()).block(TIMEOUT)).contains(JobStatus.RUNNING);
        assertThat(store.delete(job.id()).block(TIMEOUT)).isEmpty();
    }

    @Test
    void purge() {
        String q = queue();
        ClaimedRow running = claimed(q);
        ClaimedRow cancelledRunning = claimed(q);
        store.cancel(cancelledRunning.id(), null, null).block(TIMEOUT);
        EncodedJob first = encode(NewJob.of(q, 1));
        EncodedJob second = encode(NewJob.of(q, 2));
        insert(List.of(first, second));
        // a batch of one, then the next after it, then none
        assertThat(store.purge(q, null, 1).block(TIMEOUT)).isEqualTo(new PurgedBatch(1, first.id()));
        assertThat(store.purge(q, first.id(), 5).block(TIMEOUT)).isEqualTo(new PurgedBatch(1, second.id()));
        assertThat(store.purge(q, second.id(), 5).block(TIMEOUT)).isEqualTo(new PurgedBatch(0, null));
        assertThat(status(running.id())).isEqualTo(JobStatus.RUNNING);
        // its handler may still run: purged once its lease is let go of
        assertThat(status(cancelledRunning.id())).isEqualTo(JobStatus.CANCELLED);
        store.letGoMany(List.of(lease(cancelledRunning))).block(TIMEOUT);
        assertThat(store.purge(q, null, 5).block(TIMEOUT)).isEqualTo(new PurgedBatch(1, cancelledRunning.id()));
    }

    @Test
    void pause() {
        String q = queue();
        store.pause(q).block(TIMEOUT);
        store.pause(q).block(TIMEOUT);
        insert(List.of(encode(NewJob.of(q, 1))));
        assertThat(store.claim(Map.of(q, 1), 1, false).block(TIMEOUT)).isEmpty();
        assertThat(store.paused().block(TIMEOUT)).contains(q);
        store.resume(q).block(TIMEOUT);
    }

    @Test
    void resume() {
        String q = queue();
        store.pause(q).block(TIMEOUT);
        store.resume(q).block(TIMEOUT);
        assertThat(store.paused().block(TIMEOUT)).doesNotContain(q);
        insert(List.of(encode(NewJob.of(q, 1))));
        assertThat(store.claim(Map.of(q, 1), 1, false).block(TIMEOUT)).hasSize(1);
    }

    @Test
    void paused() {
        String a = queue();
        String b = queue();
        store.pause(b).block(TIMEOUT);
        store.pause(a).block(TIMEOUT);
        List<String> paused = store.paused().block(TIMEOUT);
        assertThat(paused).containsSubsequence(a.compareTo(b) < 0 ? List.of(a, b) : List.of(b, a));
        store.resume(a).then(store.resume(b)).block(TIMEOUT);
    }

    // ---- reaper and janitor

    @Test
    void rescueStalled() {
        String q = queue();
        ClaimedRow job = claimed(q);
        db.execute("UPDATE {schema}.jobs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1", job.id());
        List<RescuedJob> rescued = store.rescueStalled(Duration.ofMinutes(30), 10, 1000).block(TIMEOUT);
        assertThat(rescued).filteredOn(r -> r.queue().equals(q))
                .containsExactly(new RescuedJob(job.id(), q, JobStatus.PENDING));
        assertThat(store.rescueStalled(Duration.ofMinutes(30), 10, 1000).block(TIMEOUT))
                .noneMatch(r -> r.queue().equals(q));
    }

    @Test
    void moveFinished() {
        ClaimedRow done = claimed(queue());
        ClaimedRow dead = claimed(queue());
        ClaimedRow cancelledRunning = claimed(queue());
        store.completeMany(List.of(lease(done)), false, null, "f").block(TIMEOUT);
        store.finishMany(List.of(new FinishRow(dead.id(), dead.lease(), JobStatus.CANCELLED, null))).block(TIMEOUT);
        store.cancel(cancelledRunning.id(), null, null).block(TIMEOUT);
        MovedJobs moved = store.moveFinished(1000).block(TIMEOUT);
        assertThat(moved.archived()).isGreaterThanOrEqualTo(1);
        assertThat(moved.dead()).isGreaterThanOrEqualTo(1);
        assertThat(moved.total()).isEqualTo(moved.archived() + moved.dead());
        assertThat(find(done.id()).location()).isEqualTo(JobLocation.ARCHIVE);
        assertThat(find(dead.id()).location()).isEqualTo(JobLocation.DEAD);
        // cancelled while it ran, its lease not let go of: it stays, holding its key
        assertThat(find(cancelledRunning.id()).location()).isEqualTo(JobLocation.LIVE);
        store.letGoMany(List.of(lease(cancelledRunning))).block(TIMEOUT);
        store.moveFinished(1000).block(TIMEOUT);
        assertThat(find(cancelledRunning.id()).location()).isEqualTo(JobLocation.DEAD);
    }

    @Test
    void letGoStalled() {
        String q = queue();
        ClaimedRow stalled = claimed(q);
        ClaimedRow fresh = claimed(q);
        ClaimedRow running = claimed(q);
        store.cancel(stalled.id(), null, null).then(store.cancel(fresh.id(), null, null)).block(TIMEOUT);
        db.backdate("jobs", "heartbeat_at", Duration.ofHours(1), List.of(stalled.id(), running.id()));

        assertThat(store.letGoStalled(Duration.ofMinutes(30), 1000).block(TIMEOUT)).isEqualTo(1);
        assertThat(db.row("jobs", stalled.id(), "status, lease, heartbeat_at")).containsEntry("status", "cancelled")
                .containsEntry("lease", null).containsEntry("heartbeat_at", null);
        assertThat(db.row("jobs", fresh.id(), "lease")).containsEntry("lease", fresh.lease());
        // a stalled running job is the rescue's, not this statement's
        assertThat(db.row("jobs", running.id(), "status, lease")).containsEntry("status", "running")
                .containsEntry("lease", running.lease());
        assertThat(store.letGoStalled(Duration.ofMinutes(30), 1000).block(TIMEOUT)).isZero();
    }

    @Test
    void deleteArchived() {
        ClaimedRow job = claimed(queue());
        store.completeMany(List.of(lease(job)), true, null, "f").block(TIMEOUT);
        assertThat(store.deleteArchived(Duration.ofDays(1), 1000).block(TIMEOUT)).isZero();
        db.execute("UPDATE {schema}.jobs_archive SET archived_at = now() - interval '2 days' WHERE id = $1", job.id());
        assertThat(store.deleteArchived(Duration.ofDays(1), 1000).block(TIMEOUT)).isEqualTo(1);
        assertThat(store.findMany(List.of(job.id()), false).block(TIMEOUT)).isEmpty();
    }

    @Test
    void deleteDead() {
        ClaimedRow job = claimed(queue());
        store.finishMany(List.of(new FinishRow(job.id(), job.lease(), JobStatus.CRITICAL, null))).block(TIMEOUT);
        store.moveFinished(1000).block(TIMEOUT);
        assertThat(store.deleteDead(Duration.ofDays(1), 1000).block(TIMEOUT)).isZero();
        db.execute("UPDATE {schema}.jobs_dead SET dead_at = now() - interval '2 days' WHERE id = $1", job.id());
        assertThat(store.deleteDead(Duration.ofDays(1), 1000).block(TIMEOUT)).isEqualTo(1);
    }

    @Test
    void probe() {
        assertThat(store.probe().thenReturn(true).block(TIMEOUT)).isTrue();
    }

    // ---- metrics and signals

    @Test
    void queueDepth() {
        String q = queue();
        insert(List.of(encode(NewJob.of(q, 1)), encode(NewJob.of(q, 2).delay(Duration.ofHours(1)))));
        assertThat(store.queueDepth(1, 1).block(TIMEOUT)).filteredOn(d -> d.queue().equals(q)).singleElement()
                .satisfies(d -> {
                    assertThat(d.due()).isEqualTo(1);
                    assertThat(d.scheduled()).isEqualTo(1);
                    assertThat(d.oldestDueSeconds()).isGreaterThanOrEqualTo(0);
                });
        // above the bounds: estimates, never below what was counted
        assertThat(store.queueDepth(0, 0).block(TIMEOUT)).filteredOn(d -> d.queue().equals(q)).singleElement()
                .satisfies(d -> {
                    assertThat(d.due()).isGreaterThanOrEqualTo(1);
                    assertThat(d.scheduled()).isGreaterThanOrEqualTo(1);
                });
    }

    @Test
    void sendSignals() {
        String channel = Signals.channelOf(store.schema());
        // the notifications arrive on a listening connection of the same database
        List<String> received = this.<List<String>>onConnection(conn -> {
            io.r2dbc.postgresql.api.PostgresqlConnection pg = (io.r2dbc.postgresql.api.PostgresqlConnection)
                    unwrap(conn);
            Mono<List<String>> notes = pg.getNotifications().map(n -> n.getParameter()).take(2).collectList();
            // zip subscribes to the notifications before it sends
            return store.listen(pg, channel)
                    .then(Mono.zip(notes, store.sendSignals(channel, List.of("x", "e:q")).thenReturn(true)))
                    .map(both -> both.getT1())
                    .timeout(TIMEOUT);
        });
        assertThat(received).containsExactly("x", "e:q");
    }

    @Test
    void listen() {
        String channel = Signals.channelOf(store.schema());
        Boolean listening = this.<Boolean>onConnection(conn -> store.listen(conn, channel)
                .then(store.listening(conn, channel)));
        assertThat(listening).isTrue();
    }

    @Test
    void listening() {
        String channel = Signals.channelOf(store.schema());
        Boolean listening = this.<Boolean>onConnection(conn -> store.listening(conn, channel));
        assertThat(listening).isFalse();
    }

    // ---- schema

    @Test
    void schema() {
        assertThat(store.schema()).isEqualTo(SchemaName.of(db.name()));
    }

    @Test
    void migrate() {
        MigrationResult again = store.migrate().block(TIMEOUT);
        assertThat(again.applied()).isEmpty();
        assertThat(again.toVersion()).isEqualTo(store.latestSchemaVersion());
    }

    @Test
    void schemaVersion() {
        assertThat(store.schemaVersion().block(TIMEOUT)).isEqualTo(store.latestSchemaVersion());
    }

    @Test
    void latestSchemaVersion() {
        assertThat(store.latestSchemaVersion()).isEqualTo(Migration.loadAll().size());
    }

    @Test
    void verifySchemaVersion() {
        assertThat(store.verifySchemaVersion().block(TIMEOUT)).isEqualTo(store.latestSchemaVersion());
        PgJobStore empty = new PgJobStore(db.connectionFactory(), SchemaName.of(db.name() + "_none"),
                new ObjectMapper(), TIMEOUT, TIMEOUT, TIMEOUT, Schedulers.parallel());
        assertThatThrownBy(() -> empty.verifySchemaVersion().block(TIMEOUT)).isInstanceOf(SchemaVersionException.class);
    }

    // ---- helpers

    private static int queues;

    private String queue() {
        return "store-" + (++queues) + "-" + Long.toHexString(System.nanoTime());
    }

    private EncodedJob encode(NewJob job) {
        return encoder.encode(job);
    }

    private void insert(List<EncodedJob> jobs) {
        List<InsertedRow> rows = store.inserting(inserts -> inserts.insertMany(jobs, null)).block(TIMEOUT);
        assertThat(rows).allMatch(InsertedRow::inserted);
    }

    private ClaimedRow claimed(String q) {
        insert(List.of(encode(NewJob.of(q, Map.of()))));
        List<ClaimedRow> rows = store.claim(Map.of(q, 1), 1, false).block(TIMEOUT);
        assertThat(rows).hasSize(1);
        return rows.get(0);
    }

    private static JobLease lease(ClaimedRow job) {
        return new JobLease(job.id(), job.lease());
    }

    private JobInfo find(UUID id) {
        List<JobInfo> found = store.findMany(List.of(id), false).block(TIMEOUT);
        assertThat(found).hasSize(1);
        return found.get(0);
    }

    private JobStatus status(UUID id) {
        return find(id).status();
    }

    private long pending(String q) {
        return db.count("SELECT count(*) FROM {schema}.jobs WHERE queue = $1 AND status = 'pending'", q);
    }

    private <T> T onConnection(Function<Connection, Publisher<T>> work) {
        return Flux.usingWhen(Mono.<Connection>from(db.coordinates().connectionFactory("pgqueue-store-it").create()), work,
                        Connection::close)
                .single().block(TIMEOUT);
    }

    private static Connection unwrap(Connection conn) {
        Connection raw = conn;
        while (!(raw instanceof io.r2dbc.postgresql.api.PostgresqlConnection)
                && raw instanceof io.r2dbc.spi.Wrapped<?> w && w.unwrap() instanceof Connection inner) {
            raw = inner;
        }
        return raw;
    }
}
