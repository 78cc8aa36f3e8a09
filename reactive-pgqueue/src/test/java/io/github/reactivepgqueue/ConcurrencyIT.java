package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.POLL;
import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.permit.Permit;
import io.github.reactivepgqueue.permit.PermitDenied;
import io.github.reactivepgqueue.permit.PermitStrategy;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Concurrency limits and multi-node behaviour of the worker: the global permit, the per-queue
 * permit, handler-owned permits, claims bounded by free permits, blocking handlers, and several
 * nodes sharing one schema.
 */
@ExtendWith(PostgresExtension.class)
class ConcurrencyIT {
    private final TestSchema db;
    private final List<PgQueue> started = new CopyOnWriteArrayList<>();
    private final List<ConnectionPool> pools = new CopyOnWriteArrayList<>();

    ConcurrencyIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
    }

    @BeforeEach
    void empty() {
        db.execute("DELETE FROM {schema}.jobs");
    }

    /** Stops whatever a test left running (a failed test included), so later tests see no stray worker. */
    @AfterEach
    void closeQueues() {
        for (PgQueue queue : started) {
            queue.close().block(TIMEOUT);
        }
        started.clear();
        for (ConnectionPool pool : pools) {
            pool.disposeLater().block(TIMEOUT);
        }
        pools.clear();
    }

    // ---------------------------------------------------------------------------------------------

    @Test
    void globalConcurrencyIsNeverExceededAcrossQueues() {
        Tracker running = new Tracker();
        PgQueueBuilder builder = db.queueBuilder()
                .globalConcurrency(7)
                .pollInterval(POLL)
                .stopGracePeriod(Duration.ofSeconds(5));
        for (String q : List.of("g1", "g2")) {
            builder.handler(ReactiveHandler.of(q, job -> running.track(Mono.delay(Duration.ofMillis(20)).thenReturn(Outcome.success()))),
                    QueueOptions.defaults().concurrency(100));
        }
        PgQueue queue = start(builder.build(), q -> q.enqueueAll(jobs(150, "g1", "g2")));

        // 300 jobs of 20 ms, 7 at a time, need about a second; allow far more.
        String unfinished = awaitCountOrDescribe("SELECT count(*) FROM {schema}.jobs WHERE status = 'completed'", 300,
                Duration.ofSeconds(15));

        // Soft: the bound is checked and reported even when not every job finished.
        SoftAssertions.assertSoftly(soft -> {
            soft.assertThat(running.max()).as("most handlers running at once").isLessThanOrEqualTo(7).isEqualTo(7);
            soft.assertThat(unfinished).as("jobs left unfinished (global concurrency 7, both queues concurrency 100)")
                    .isNull();
            soft.assertThat(running.total()).as("handler runs").isEqualTo(300);
            soft.assertThat(queue.staleWrites()).isZero();
        });
    }

    @Test
    void queueConcurrencyIsNeverExceeded() {
        Tracker a = new Tracker();
        Tracker b = new Tracker();
        PgQueue queue = start(db.queueBuilder()
                .globalConcurrency(100)
                .pollInterval(POLL)
                .stopGracePeriod(Duration.ofSeconds(5))
                .handler(ReactiveHandler.of("qa", job -> a.track(Mono.delay(Duration.ofMillis(30)).thenReturn(Outcome.success()))),
                        QueueOptions.defaults().concurrency(3))
                .handler(ReactiveHandler.of("qb", job -> b.track(Mono.delay(Duration.ofMillis(30)).thenReturn(Outcome.success()))),
                        QueueOptions.defaults().concurrency(5))
                .build(), q -> q.enqueueAll(jobs(60, "qa", "qb")));

        awaitCount("SELECT count(*) FROM {schema}.jobs WHERE status = 'completed'", 120);

        assertThat(a.max()).as("most jobs of qa running at once").isLessThanOrEqualTo(3).isEqualTo(3);
        assertThat(b.max()).as("most jobs of qb running at once").isLessThanOrEqualTo(5).isEqualTo(5);
        assertThat(a.total()).isEqualTo(60);
        assertThat(b.total()).isEqualTo(60);
        assertThat(queue.staleWrites()).isZero();
    }

    @Test
    void handlerOwnedPermitLimitsRunsAndDenialsUseNoAttempt() {
        CountingPermits permits = new CountingPermits(2);
        Tracker running = new Tracker();
        int jobs = 20;
        PgQueue queue = start(db.queueBuilder()
                .pollInterval(POLL)
                .stopGracePeriod(Duration.ofSeconds(5))
                .handler(ReactiveHandler.of("permits", job -> running.track(Mono.delay(Duration.ofMillis(50)).thenReturn(Outcome.success()))),
                        QueueOptions.defaults().concurrency(100).permitStrategy(permits))
                .build(), q -> q.enqueueAll(jobs(jobs, "permits")));

        awaitCount("SELECT count(*) FROM {schema}.jobs WHERE status = 'completed'", jobs);

        assertThat(running.max()).as("most handlers running at once").isLessThanOrEqualTo(2).isEqualTo(2);
        assertThat(permits.maxHeld()).as("most permits held at once").isLessThanOrEqualTo(2);
        assertThat(running.total()).as("handler runs: a denied job never reaches its handler").isEqualTo(jobs);
        assertThat(permits.denied()).as("denials").isPositive();
        await().atMost(TIMEOUT).pollInterval(POLL).until(() -> permits.held() == 0);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE attempt <> 1")).as("jobs with attempt <> 1").isZero();
        assertThat(db.count("SELECT coalesce(sum(reprocess_count), 0) FROM {schema}.jobs"))
                .as("reschedules recorded by denials").isPositive().isEqualTo(permits.denied());
        assertThat(queue.staleWrites()).isZero();
    }

    @Test
    void claimsNeverExceedFreePermits() {
        Tracker running = new Tracker();
        PgQueue queue = start(db.queueBuilder()
                .globalConcurrency(5)
                .pollInterval(POLL)
                .stopGracePeriod(Duration.ofSeconds(5))
                .handler(ReactiveHandler.of("slow", job -> running.track(Mono.delay(Duration.ofMillis(300)).thenReturn(Outcome.success()))))
                .build(), q -> q.enqueueAll(jobs(100, "slow")));

        AtomicLong maxRunningRows = new AtomicLong();
        AtomicInteger samples = new AtomicInteger();
        long until = System.nanoTime() + Duration.ofMillis(1500).toNanos();
        await().atMost(TIMEOUT).pollDelay(Duration.ZERO).pollInterval(POLL).until(() -> {
            long n = db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'running'");
            maxRunningRows.accumulateAndGet(n, Math::max);
            samples.incrementAndGet();
            return System.nanoTime() >= until;
        });

        assertThat(samples.get()).as("samples taken").isGreaterThanOrEqualTo(10);
        assertThat(maxRunningRows.get()).as("most rows 'running' at once").isLessThanOrEqualTo(5).isEqualTo(5);
        assertThat(running.max()).as("most handlers running at once").isLessThanOrEqualTo(5).isEqualTo(5);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'completed'"))
                .as("work went on while sampling").isPositive();

        queue.close().block(TIMEOUT);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'running'"))
                .as("rows left running after close").isZero();
        assertThat(queue.jobsInFlight()).isZero();
    }

    /**
     * Blocking handlers on the default scheduler (boundedElastic) hold up only their own threads,
     * while the handlers running at once stay within that scheduler's thread cap (10 per CPU core).
     */
    @Test
    void aBlockingHandlerDoesNotHoldUpOtherQueues() {
        assertBlockingHandlersLeaveOtherQueuesRunning(50, 4, Duration.ofMillis(5));
    }

    /**
     * The same with more handlers running at once than boundedElastic has threads, as the default
     * concurrency allows on most machines (global 500, queue 100; the cap is 10 per core, 20 on two
     * cores): the documentation of {@link PgQueueBuilder#handlerScheduler} and {@link ReactiveHandler}
     * promises that a blocking handler holds up only its own thread, so the other queue must still
     * finish while the blocking handlers sleep.
     */
    @Test
    void aBlockingHandlerDoesNotHoldUpOtherQueuesBeyondTheSchedulersThreadCap() {
        // twice the cap, so every thread of the scheduler, the sleeping ones too, is offered extra work
        int fast = Math.max(50, 2 * Schedulers.DEFAULT_BOUNDED_ELASTIC_SIZE);
        assertBlockingHandlersLeaveOtherQueuesRunning(fast, fast, Duration.ofMillis(200));
    }

    private void assertBlockingHandlersLeaveOtherQueuesRunning(int fastJobs, int fastConcurrency, Duration fastWork) {
        int blockingJobs = 4;
        AtomicInteger blockingStarted = new AtomicInteger();
        AtomicInteger blockingFinished = new AtomicInteger();
        PgQueue queue = start(db.queueBuilder()
                .globalConcurrency(blockingJobs + fastConcurrency)
                .pollInterval(POLL)
                .stopGracePeriod(Duration.ofSeconds(10))
                // default handler scheduler: boundedElastic, where blocking is allowed
                .handler(ReactiveHandler.of("blocking", job -> Mono.fromCallable(() -> {
                    blockingStarted.incrementAndGet();
                    Thread.sleep(2000);
                    blockingFinished.incrementAndGet();
                    return Outcome.success();
                })), QueueOptions.defaults().concurrency(blockingJobs))
                .handler(ReactiveHandler.of("fast", job -> Mono.delay(fastWork).thenReturn(Outcome.success())),
                        QueueOptions.defaults().concurrency(fastConcurrency))
                .build(), q -> q.enqueueAll(jobs(blockingJobs, "blocking")));

        await().atMost(TIMEOUT).pollInterval(POLL).until(() -> blockingStarted.get() == blockingJobs);
        queue.enqueueAll(jobs(fastJobs, "fast")).block(TIMEOUT);

        awaitCount("SELECT count(*) FROM {schema}.jobs WHERE queue = 'fast' AND status = 'completed'", fastJobs);
        assertThat(blockingFinished.get())
                .as("blocking handlers (2 s each) that finished before the %d fast jobs were done", fastJobs).isZero();
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE queue = 'blocking' AND status = 'running'"))
                .isEqualTo(blockingJobs);

        awaitCount("SELECT count(*) FROM {schema}.jobs WHERE queue = 'blocking' AND status = 'completed'", blockingJobs);
        assertThat(queue.staleWrites()).isZero();
    }

    // ---------------------------------------------------------------------------------------------

    enum Decision { SUCCESS, RETRY, CANCEL, RESCHEDULE, THROW }

    record Run(UUID job, int attempt, int reprocessCount) {
    }

    @Test
    void manyNodesShareTheSchemaWithoutRunningAnAttemptTwice() {
        int nodes = 4;
        int jobCount = 5000;
        int maxAttempts = 3;
        Map<Run, Decision> decisions = new ConcurrentHashMap<>();
        Queue<Run> duplicates = new ConcurrentLinkedQueue<>();
        Queue<String> badJobs = new ConcurrentLinkedQueue<>();

        Function<Job, Mono<Outcome>> body = job -> {
            if (job.attempt() > job.maxAttempts()) {
                badJobs.add(job + " ran with attempt > maxAttempts");
            }
            Decision d = decide(job);
            Run run = new Run(job.id(), job.attempt(), job.reprocessCount());
            if (decisions.putIfAbsent(run, d) != null) {
                duplicates.add(run);
            }
            if (d == Decision.THROW) {
                throw new IllegalStateException("boom " + job.id());
            }
            Outcome outcome = switch (d) {
                case SUCCESS -> Outcome.success();
                case RETRY -> Outcome.retry("try again");
                case CANCEL -> Outcome.cancel();
                case RESCHEDULE -> Outcome.rescheduleAfter(Duration.ofMillis(10));
                case THROW -> throw new AssertionError();
            };
            return Mono.delay(Duration.ofMillis(ThreadLocalRandom.current().nextInt(0, 4))).thenReturn(outcome);
        };
        QueueOptions options = QueueOptions.defaults().backoff(Backoff.linear(Duration.ofMillis(10)));

        List<PgQueue> queues = new ArrayList<>();
        List<AtomicInteger> runsPerNode = new ArrayList<>();
        for (int i = 0; i < nodes; i++) {
            AtomicInteger runs = new AtomicInteger();
            runsPerNode.add(runs);
            Function<Job, Mono<Outcome>> counted = job -> {
                runs.incrementAndGet();
                return body.apply(job);
            };
            ConnectionPool pool = new ConnectionPool(ConnectionPoolConfiguration
                    .builder(db.coordinates().connectionFactory("pgqueue-node-" + i))
                    .initialSize(0).maxSize(4).maxAcquireTime(Duration.ofSeconds(30)).build());
            pools.add(pool);
            queues.add(PgQueue.builder(pool).schema(db.name()).janitor(false)
                    .pollInterval(POLL)
                    .stopGracePeriod(Duration.ofSeconds(5))
                    .handler(ReactiveHandler.of("alpha", counted), options)
                    .handler(ReactiveHandler.of("beta", counted), options)
                    .build());
        }
        List<NewJob> jobs = IntStream.range(0, jobCount)
                .mapToObj(i -> NewJob.of(i % 2 == 0 ? "alpha" : "beta", Map.of("n", i)).maxAttempts(maxAttempts))
                .toList();
        queues.get(0).enqueueAll(jobs).block(TIMEOUT);
        for (PgQueue queue : queues) {
            started.add(queue);
            queue.start().block(TIMEOUT);
        }

        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() ->
                db.count("SELECT count(*) FROM {schema}.jobs WHERE status IN ('pending', 'running')") == 0);
        for (PgQueue queue : queues) {
            queue.close().block(TIMEOUT);
        }

        assertThat(duplicates).as("(job, attempt, reprocess count) that ran twice").isEmpty();
        assertThat(runsPerNode).as("handler runs per node: every node took part").allSatisfy(n -> assertThat(n.get()).isPositive());
        assertThat(runsPerNode.stream().mapToInt(AtomicInteger::get).sum()).as("handler runs").isEqualTo(decisions.size());
        assertThat(badJobs).isEmpty();
        for (PgQueue queue : queues) {
            assertThat(queue.staleWrites()).as("stale writes of " + queue).isZero();
            assertThat(queue.jobsInFlight()).isZero();
        }

        Map<UUID, List<Map.Entry<Run, Decision>>> byJob = new HashMap<>();
        decisions.entrySet().forEach(e -> byJob.computeIfAbsent(e.getKey().job(), k -> new ArrayList<>()).add(e));

        List<Map<String, Object>> rows = db.query(
                "SELECT id, status, attempt, max_attempts, reprocess_count FROM {schema}.jobs");
        assertThat(rows).hasSize(jobCount);
        List<String> problems = new ArrayList<>();
        Map<String, Integer> statuses = new HashMap<>();
        for (Map<String, Object> row : rows) {
            UUID id = (UUID) row.get("id");
            String status = (String) row.get("status");
            int attempt = (Integer) row.get("attempt");
            int max = (Integer) row.get("max_attempts");
            int reprocess = (Integer) row.get("reprocess_count");
            statuses.merge(status, 1, Integer::sum);
            if (attempt > max) {
                problems.add(id + ": attempt " + attempt + " > max_attempts " + max);
            }
            List<Map.Entry<Run, Decision>> runs = byJob.getOrDefault(id, List.of());
            String chainProblem = checkChain(runs, maxAttempts);
            if (chainProblem != null) {
                problems.add(id + ": " + chainProblem + " in " + runs);
                continue;
            }
            Map.Entry<Run, Decision> last = runs.get(runs.size() - 1);
            String expected = switch (last.getValue()) {
                case SUCCESS -> "completed";
                case CANCEL -> "cancelled";
                case RETRY, THROW -> "failed";
                case RESCHEDULE -> "pending";
            };
            if (!expected.equals(status)) {
                problems.add(id + ": status " + status + " but the last decision was " + last);
            }
            if (last.getKey().attempt() != attempt || last.getKey().reprocessCount() != reprocess) {
                problems.add(id + ": row has attempt " + attempt + ", reprocess_count " + reprocess
                        + " but the last run was " + last.getKey());
            }
        }
        assertThat(problems).as("inconsistent jobs (statuses: " + statuses + ")").isEmpty();
        assertThat(byJob.keySet()).as("jobs that ran").hasSize(jobCount);
        // The random mix must actually have exercised every path.
        assertThat(statuses).containsKeys("completed", "cancelled", "failed");
        assertThat(decisions.values()).contains(Decision.values());
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE lease IS NOT NULL")).isZero();
    }

    /** ~70% success, ~15% retry, ~5% cancel, ~5% reschedule (at most twice per job), ~5% throw. */
    private static Decision decide(Job job) {
        int r = ThreadLocalRandom.current().nextInt(100);
        if (r < 70) {
            return Decision.SUCCESS;
        }
        if (r < 85) {
            return Decision.RETRY;
        }
        if (r < 90) {
            return Decision.CANCEL;
        }
        if (r < 95) {
            return job.reprocessCount() < 2 ? Decision.RESCHEDULE : Decision.SUCCESS;
        }
        return Decision.THROW;
    }

    /**
     * Checks that a job's runs form the one chain its decisions allow: it starts at attempt 1 with
     * no reprocess; a retry or throw is followed by the next attempt, a reschedule by the same
     * attempt with one more reprocess; success and cancel end it. Sorts {@code runs} into that order.
     *
     * @return what is wrong, or {@code null}
     */
    private static String checkChain(List<Map.Entry<Run, Decision>> runs, int maxAttempts) {
        if (runs.isEmpty()) {
            return "never ran";
        }
        runs.sort(Comparator.comparingInt((Map.Entry<Run, Decision> e) -> e.getKey().attempt() + e.getKey().reprocessCount()));
        Run first = runs.get(0).getKey();
        if (first.attempt() != 1 || first.reprocessCount() != 0) {
            return "first run was " + first;
        }
        for (int i = 0; i + 1 < runs.size(); i++) {
            Run run = runs.get(i).getKey();
            Decision decision = runs.get(i).getValue();
            Run next = runs.get(i + 1).getKey();
            Run expected = switch (decision) {
                case RETRY, THROW -> new Run(run.job(), run.attempt() + 1, run.reprocessCount());
                case RESCHEDULE -> new Run(run.job(), run.attempt(), run.reprocessCount() + 1);
                case SUCCESS, CANCEL -> null;
            };
            if (expected == null) {
                return "ran again after " + decision + " of " + run;
            }
            if (!expected.equals(next) || next.attempt() > maxAttempts) {
                return "after " + decision + " of " + run + " expected " + expected + " but ran " + next;
            }
        }
        return null;
    }

    // ---------------------------------------------------------------------------------------------

    private PgQueue start(PgQueue queue, Function<PgQueue, Mono<List<EnqueueResult>>> enqueue) {
        enqueue.apply(queue).block(TIMEOUT);
        started.add(queue);
        queue.start().block(TIMEOUT);
        return queue;
    }

    private void awaitCount(String sql, long expected) {
        String problem = awaitCountOrDescribe(sql, expected, TIMEOUT);
        if (problem != null) {
            throw new AssertionError(problem);
        }
    }

    /** Waits until {@code sql} counts {@code expected}; on timeout, says where the jobs are instead. */
    private String awaitCountOrDescribe(String sql, long expected, Duration atMost) {
        try {
            await().atMost(atMost).pollInterval(POLL).until(() -> db.count(sql) == expected);
            return null;
        } catch (ConditionTimeoutException e) {
            return "not " + expected + " within " + atMost + ": " + sql + " -> " + db.count(sql)
                    + "; jobs by queue and status: "
                    + db.query("SELECT queue, status, count(*) AS n FROM {schema}.jobs GROUP BY 1, 2 ORDER BY 1, 2");
        }
    }

    private static List<NewJob> jobs(int perQueue, String... queues) {
        return Stream.of(queues)
                .flatMap(q -> IntStream.range(0, perQueue).mapToObj(i -> NewJob.of(q, Map.of("n", i))))
                .toList();
    }

    /** Counts executions that are running now, the most ever running at once, and all started. */
    static final class Tracker {
        private final AtomicInteger current = new AtomicInteger();
        private final AtomicInteger max = new AtomicInteger();
        private final AtomicInteger total = new AtomicInteger();

        <T> Mono<T> track(Mono<T> work) {
            return work
                    .doOnSubscribe(s -> {
                        total.incrementAndGet();
                        max.accumulateAndGet(current.incrementAndGet(), Math::max);
                    })
                    .doFinally(signal -> current.decrementAndGet());
        }

        int max() {
            return max.get();
        }

        int total() {
            return total.get();
        }
    }

    /** A non-blocking counting semaphore as a handler-owned permit: at most {@code limit} held at once. */
    static final class CountingPermits implements PermitStrategy {
        private final int limit;
        private final AtomicInteger held = new AtomicInteger();
        private final AtomicInteger maxHeld = new AtomicInteger();
        private final AtomicInteger denied = new AtomicInteger();

        CountingPermits(int limit) {
            this.limit = limit;
        }

        @Override
        public Mono<Permit> acquire(Job job) {
            return Mono.defer(() -> {
                while (true) {
                    int now = held.get();
                    if (now >= limit) {
                        denied.incrementAndGet();
                        return Mono.error(PermitDenied.tryAfter(Duration.ofMillis(100)));
                    }
                    if (held.compareAndSet(now, now + 1)) {
                        maxHeld.accumulateAndGet(now + 1, Math::max);
                        AtomicInteger releases = new AtomicInteger();
                        Permit permit = () -> Mono.fromRunnable(() -> {
                            if (releases.incrementAndGet() != 1) {
                                throw new IllegalStateException("permit of " + job + " released twice");
                            }
                            held.decrementAndGet();
                        });
                        return Mono.just(permit);
                    }
                }
            });
        }

        int held() {
            return held.get();
        }

        int maxHeld() {
            return maxHeld.get();
        }

        int denied() {
            return denied.get();
        }
    }
}
