package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.testing.OwnedPostgres;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.pool.PoolMetrics;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Statement;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.assertj.core.api.SoftAssertions;
import org.awaitility.core.ConditionFactory;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.reactivestreams.Subscription;
import reactor.core.Disposable;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.core.publisher.SignalType;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Thousands of enqueue, {@code jobs()} and {@code complete} subscriptions cancelled at random
 * points leave no damage: an {@code enqueueAll} is stored whole or not at all, every job a
 * cancelled stream had claimed goes back to pending with its attempt restored, a completion is
 * written even when its Mono is cancelled, and the connection pool ends idle with every connection
 * out of its transaction and answering at once, and no session busy on the server.
 *
 * <p>Runs on a PostgreSQL of its own so that {@code pg_stat_activity} shows this class's sessions
 * only, and so that its server log can be read: a library transaction that begins on a connection
 * already inside one (which a cancelled call gave back to the pool that way) shows there as the
 * warning "there is already a transaction in progress".
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CancellationStormIT {
    private static final String SCHEMA = "storm";
    private static final String POOL_APP = "storm-pool";
    private static final int POOL_SIZE = 8;
    /** Jobs per insert statement: an enqueueAll of up to 50 jobs is up to 5 statements in one transaction. */
    private static final int ENQUEUE_BATCH = 10;
    /**
     * Limits that only a hang reaches: how long a whole storm may take, how long a stream may wait
     * for its first job, how long a pooled connection may take to answer, and how long the pool
     * and the library wait for a connection. Generous, so that a loaded machine cannot fail a storm
     * that leaves no damage.
     */
    private static final Duration STORM_LIMIT = Duration.ofMinutes(5);
    private static final Duration STARVED_AFTER = Duration.ofSeconds(60);
    private static final Duration ANSWER_WITHIN = Duration.ofSeconds(15);
    private static final Duration ACQUIRE_LIMIT = Duration.ofSeconds(60);

    private final Scheduler timer = Schedulers.parallel();
    private OwnedPostgres postgres;
    private ConnectionFactory inspector;
    private ConnectionPool pool;
    private PgQueue queue;

    @BeforeAll
    void startDatabaseAndQueue() {
        // WARNING and ERROR lines of every session go to a log file in the data directory
        postgres = OwnedPostgres.start(Map.of("logging_collector", "on", "log_directory", "log",
                "log_filename", "postgresql.log", "log_line_prefix", "%m:%p:%a:"));
        inspector = postgres.coordinates().connectionFactory("inspector");
        pool = new ConnectionPool(ConnectionPoolConfiguration.builder(postgres.coordinates().connectionFactory(POOL_APP))
                .initialSize(POOL_SIZE).maxSize(POOL_SIZE)
                .acquireRetry(3).maxAcquireTime(ACQUIRE_LIMIT)
                .build());
        queue = PgQueue.builder(pool).schema(SCHEMA).janitor(false)
                .listenerConnectionFactory(postgres.coordinates().connectionFactory("storm-listener"))
                .enqueueBatchSize(ENQUEUE_BATCH)
                .connectionAcquireTimeout(ACQUIRE_LIMIT)
                .rescueAfterMissedHeartbeats(100) // a stall threshold that outlasts the long acquire limit
                // every connection the library uses comes from this pool, so the probes reach them all
                // (the node's own pool would be the same code over connections the test cannot borrow)
                .ownConnections(0)
                .pollInterval(Duration.ofMillis(100))
                .stopGracePeriod(Duration.ofSeconds(2))
                .build();
        queue.migrate().block(TIMEOUT);
        // Warm up (JIT, the payload mapper's caches, all pooled connections) so that the 0-5 ms of
        // the storms are spent on the work, not on the first calls; @BeforeEach deletes these jobs.
        Flux.range(0, 200)
                .flatMap(i -> queue.enqueueAll(IntStream.range(0, 1 + i % 20)
                        .mapToObj(j -> NewJob.of("warm-up", Map.of("n", j))).toList()), POOL_SIZE)
                .blockLast(TIMEOUT);
        queue.jobs("warm-up").take(500).flatMap(claimed -> claimed.complete(Outcome.success()), 64)
                .blockLast(TIMEOUT);
    }

    @AfterAll
    void closeEverything() {
        try {
            if (queue != null) {
                queue.close().block(TIMEOUT);
            }
        } finally {
            try {
                if (pool != null) {
                    pool.disposeLater().block(TIMEOUT);
                }
            } finally {
                if (postgres != null) {
                    postgres.close();
                }
            }
        }
    }

    @BeforeEach
    void cleanSlate() {
        resetPool();
        execute("DELETE FROM {schema}.jobs");
        execute("DELETE FROM {schema}.jobs_archive");
        execute("DELETE FROM {schema}.jobs_dead");
        execute("DELETE FROM {schema}.paused_queues");
    }

    // ---------------------------------------------------------------- enqueue storm

    /**
     * One enqueue call of the storm: a single job (maybe with a unique key) or a batch, cancelled
     * {@code cancelMicros} after it was subscribed, or never when that is negative.
     */
    private record EnqueueOp(int n, int size, boolean batch, String uniqueKey, long cancelMicros, int style) {
        String fingerprint() {
            return (batch ? "batch-" : "single-") + n;
        }
    }

    @Test
    void cancelledEnqueuesStoreWholeBatchesOrNothing() {
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        List<EnqueueOp> ops = IntStream.range(0, 3000).mapToObj(n -> {
            boolean batch = random.nextInt(10) < 6;
            int size = batch ? 1 + random.nextInt(50) : 1;
            String key = !batch && random.nextBoolean() ? "key-" + random.nextInt(100) : null;
            // every hundredth call runs uncancelled: however the timers fall, some calls must store
            long cancelMicros = n % 100 == 0 ? -1 : random.nextLong(5001);
            return new EnqueueOp(n, size, batch, key, cancelMicros, random.nextInt(3));
        }).toList();
        Map<Integer, List<EnqueueResult>> answered = new ConcurrentHashMap<>();
        Queue<Throwable> errors = new ConcurrentLinkedQueue<>();

        Flux.fromIterable(ops)
                .flatMap(op -> cancelledAfter(enqueue(op), op.cancelMicros(), op.style(),
                        results -> answered.put(op.n(), results), errors), 16)
                .blockLast(STORM_LIMIT);

        awaitPoolIdle();
        // per fingerprint: how many rows, whether each is a well-formed, untouched job of that call
        Map<String, Map<String, Object>> stored = new HashMap<>();
        for (Map<String, Object> row : query("""
                SELECT fingerprint, count(*) AS n, count(DISTINCT payload->>'index') AS indexes,
                       min((payload->>'index')::int) AS min_index, max((payload->>'index')::int) AS max_index,
                       min((payload->>'size')::int) AS min_size, max((payload->>'size')::int) AS max_size,
                       bool_and(payload->>'op' = substr(fingerprint, strpos(fingerprint, '-') + 1)
                                AND queue = 'e' AND status = 'pending' AND attempt = 0 AND max_attempts = 3
                                AND lease IS NULL AND heartbeat_at IS NULL) AS consistent,
                       array_agg(id) AS ids,
                       array_agg((payload->>'index')::int ORDER BY (payload->>'index')::int) AS indexes_stored
                FROM {schema}.jobs
                GROUP BY fingerprint""")) {
            stored.put((String) row.get("fingerprint"), row);
        }
        List<String> damage = new ArrayList<>();
        int whole = 0;
        int none = 0;
        int duplicates = 0;
        int committedThoughCancelled = 0;
        for (EnqueueOp op : ops) {
            Map<String, Object> row = stored.remove(op.fingerprint());
            List<EnqueueResult> results = answered.get(op.n());
            long n = row == null ? 0 : ((Number) row.get("n")).longValue();
            if (op.cancelMicros() < 0 && results == null) {
                damage.add(op + " was never cancelled but got no answer");
            }
            if (results != null && results.get(0).isDuplicate()) {
                duplicates++;
                if (n != 0 || count("SELECT count(*) FROM {schema}.jobs WHERE id = $1 AND unique_key = $2",
                        results.get(0).id(), op.uniqueKey()) != 1) {
                    damage.add(op + " answered " + results.get(0) + " but stored " + n + " rows or the holder is not there");
                }
            } else if (n == 0) {
                none++;
                if (results != null) {
                    damage.add(op + " answered " + results + " but stored nothing");
                }
            } else if (n != op.size()) {
                damage.add(op + (results == null ? " (cancelled)" : " (answered)") + " stored " + n + " of its "
                        + op.size() + " jobs: indexes " + Arrays.toString((Object[]) row.get("indexes_stored")));
            } else if (((Number) row.get("indexes")).longValue() != op.size()
                    || ((Number) row.get("min_index")).intValue() != 0
                    || ((Number) row.get("max_index")).intValue() != op.size() - 1
                    || ((Number) row.get("min_size")).intValue() != op.size()
                    || ((Number) row.get("max_size")).intValue() != op.size()
                    || !Boolean.TRUE.equals(row.get("consistent"))) {
                damage.add(op + " stored jobs that are not the ones enqueued: " + row);
            } else if (results != null && !Set.of((UUID[]) row.get("ids"))
                    .equals(results.stream().map(EnqueueResult::id).collect(Collectors.toSet()))) {
                damage.add(op + " answered other ids than it stored");
            } else {
                whole++;
                if (results == null) {
                    committedThoughCancelled++;
                }
            }
        }
        System.out.printf("[storm] enqueue: %d calls stored whole (%d of them after the cancel), %d stored nothing, "
                + "%d answered duplicate, %d damaged%n", whole, committedThoughCancelled, none, duplicates, damage.size());
        int calls = whole;
        int cancelledEarly = none;
        SoftAssertions.assertSoftly(soft -> {
            soft.assertThat(errors).as("enqueue errors (seed %d)", seed).isEmpty();
            soft.assertThat(damage).as("calls whose jobs are not all-or-nothing (seed %d)", seed).isEmpty();
            soft.assertThat(stored.keySet()).as("rows no enqueue call made").isEmpty();
            soft.assertThat(query("SELECT unique_key FROM {schema}.jobs WHERE unique_key IS NOT NULL "
                    + "GROUP BY unique_key HAVING count(*) > 1")).as("unique keys held twice").isEmpty();
            // the storm must really have cut calls short and let others through
            soft.assertThat(calls).as("calls stored").isPositive();
            soft.assertThat(cancelledEarly).as("calls cancelled before they stored anything").isPositive();
            soft.check(this::assertPoolUndamaged);
        });
    }

    private Mono<List<EnqueueResult>> enqueue(EnqueueOp op) {
        List<NewJob> jobs = IntStream.range(0, op.size())
                .mapToObj(i -> NewJob.of("e", Map.of("op", op.n(), "index", i, "size", op.size()))
                        .fingerprint(op.fingerprint()).uniqueKey(op.uniqueKey()).maxAttempts(3))
                .toList();
        return op.batch() ? queue.enqueueAll(jobs) : queue.enqueue(jobs.get(0)).map(List::of);
    }

    /**
     * Subscribes to {@code work} and cancels it after {@code micros}, in one of three ways:
     * {@code takeUntilOther}, {@code timeout} with an empty fallback, or disposing the subscription
     * from a timer (at once when {@code micros} is 0); never when {@code micros} is negative.
     * Completes when the work ended or was cancelled.
     */
    private <T> Mono<Void> cancelledAfter(Mono<T> work, long micros, int style, Consumer<T> onValue,
                                          Queue<Throwable> errors) {
        Duration after = Duration.ofNanos(micros * 1000);
        Mono<T> observed = work.doOnNext(onValue).doOnError(errors::add).onErrorResume(e -> Mono.empty());
        if (micros < 0) {
            return observed.then();
        }
        return switch (style) {
            case 0 -> observed.takeUntilOther(Mono.delay(after, timer)).then();
            case 1 -> observed.timeout(after, Mono.empty(), timer).then();
            default -> Mono.create(sink -> {
                Disposable subscription = observed.doFinally(signal -> sink.success()).subscribe();
                if (micros == 0) {
                    subscription.dispose();
                } else {
                    timer.schedule(subscription::dispose, micros, TimeUnit.MICROSECONDS);
                }
            });
        };
    }

    // ---------------------------------------------------------------- claim storm

    @Test
    void cancelledJobStreamsGiveEveryClaimedJobBack() {
        int jobs = 3000;
        queue.enqueueAll(IntStream.range(0, jobs).mapToObj(i -> NewJob.of("c", Map.of("n", i))).toList())
                .block(TIMEOUT);
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        StreamLedger ledger = new StreamLedger();
        List<ClaimProbe> probes = IntStream.range(0, 2500).mapToObj(n -> {
            int request = 1 + random.nextInt(40);
            return switch (random.nextInt(4)) {
                case 0 -> new ClaimProbe(n, ledger, request, Integer.MAX_VALUE, 0); // cancelled at once
                case 1 -> new ClaimProbe(n, ledger, request, Integer.MAX_VALUE, 1 + random.nextLong(5000));
                case 2 -> new ClaimProbe(n, ledger, request, 1, -1); // after the first job
                default -> new ClaimProbe(n, ledger, request, 1 + random.nextInt(request), -1); // mid-way
            };
        }).toList();

        Flux.fromIterable(probes).flatMap(this::run, 16).blockLast(STORM_LIMIT);

        System.out.printf("[storm] claim: %d streams, %d jobs handed out%n", probes.size(), ledger.handedOut.get());
        assertThat(ledger.problems).as("what the streams saw (seed %d)", seed).isEmpty();
        assertThat(ledger.starved.get()).as("streams that got no job within %s with %d pending", STARVED_AFTER, jobs).isZero();
        assertThat(ledger.handedOut.get()).as("jobs handed out").isGreaterThan(1000);

        waiting().untilAsserted(() -> assertThat(count("SELECT count(*) FROM {schema}.jobs WHERE status = 'running'"))
                .as("jobs left running by cancelled streams").isZero());
        assertThat(query("""
                SELECT id, status, attempt, lease, heartbeat_at FROM {schema}.jobs
                WHERE NOT (status = 'pending' AND attempt = 0 AND lease IS NULL AND heartbeat_at IS NULL)
                LIMIT 10""")).as("jobs not given back untouched").isEmpty();
        assertThat(count("SELECT count(*) FROM {schema}.jobs")).isEqualTo(jobs);

        assertPoolUndamaged();
    }

    /** What all streams of a storm saw. */
    private static final class StreamLedger {
        /** Job id to the stream holding it now: a job is handed to one stream at a time. */
        final Map<UUID, Integer> holders = new ConcurrentHashMap<>();
        final Queue<String> problems = new ConcurrentLinkedQueue<>();
        final AtomicInteger handedOut = new AtomicInteger();
        final AtomicInteger starved = new AtomicInteger();
    }

    private Mono<Void> run(ClaimProbe probe) {
        return Mono.create(sink -> probe.start(sink, queue.jobs("c")));
    }

    /**
     * One {@code jobs("c")} subscription: requests {@code request} jobs, completes none, and cancels
     * after {@code cancelAfterJobs} jobs, or {@code cancelMicros} after subscribing (0: at once).
     */
    private final class ClaimProbe extends BaseSubscriber<ClaimedJob> {
        private final int n;
        private final StreamLedger ledger;
        private final int request;
        private final int cancelAfterJobs;
        private final long cancelMicros;
        private final Set<UUID> held = ConcurrentHashMap.newKeySet();
        private final AtomicInteger received = new AtomicInteger();
        private volatile boolean stopped;
        private MonoSink<Void> done;
        private Disposable safety;

        ClaimProbe(int n, StreamLedger ledger, int request, int cancelAfterJobs, long cancelMicros) {
            this.n = n;
            this.ledger = ledger;
            this.request = request;
            this.cancelAfterJobs = cancelAfterJobs;
            this.cancelMicros = cancelMicros;
        }

        void start(MonoSink<Void> sink, Flux<ClaimedJob> stream) {
            done = sink;
            stream.subscribe(this);
        }

        @Override
        protected void hookOnSubscribe(Subscription subscription) {
            subscription.request(request);
            if (cancelMicros == 0) {
                stop();
            } else if (cancelMicros > 0) {
                timer.schedule(this::stop, cancelMicros, TimeUnit.MICROSECONDS);
            } else {
                safety = timer.schedule(() -> {
                    ledger.starved.incrementAndGet();
                    stop();
                }, STARVED_AFTER.toMillis(), TimeUnit.MILLISECONDS);
            }
        }

        @Override
        protected synchronized void hookOnNext(ClaimedJob claimed) {
            if (stopped) {
                return;
            }
            Job job = claimed.job();
            ledger.handedOut.incrementAndGet();
            held.add(job.id());
            Integer other = ledger.holders.putIfAbsent(job.id(), n);
            if (other != null) {
                ledger.problems.add(job.id() + " handed to stream " + n + " while stream " + other + " held it");
            }
            if (job.attempt() != 1 || !job.queue().equals("c")) {
                ledger.problems.add(job.id() + " claimed with attempt " + job.attempt() + " in queue " + job.queue()
                        + ": an earlier claim was not given back with its attempt restored");
            }
            if (received.incrementAndGet() >= cancelAfterJobs) {
                stop();
            }
        }

        @Override
        protected void hookOnError(Throwable error) {
            ledger.problems.add("stream " + n + " failed: " + error);
        }

        @Override
        protected void hookOnComplete() {
            ledger.problems.add("stream " + n + " completed on its own");
        }

        /** Forgets the held jobs first, then cancels: their release can only start after this. */
        synchronized void stop() {
            if (stopped) {
                return;
            }
            stopped = true;
            held.forEach(id -> ledger.holders.remove(id, n));
            if (safety != null) {
                safety.dispose();
            }
            cancel();
            done.success();
        }

        @Override
        protected void hookFinally(SignalType type) {
            if (type != SignalType.CANCEL) {
                stop();
            }
        }
    }

    // ---------------------------------------------------------------- complete storm

    @Test
    void cancelledCompletionsAreWrittenAnyway() {
        int jobs = 8000;
        queue.enqueueAll(IntStream.range(0, jobs).mapToObj(i -> NewJob.of("d", Map.of("n", i))).toList())
                .block(TIMEOUT);
        long staleBefore = queue.staleWrites();
        long seed = System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        CompletionLedger ledger = new CompletionLedger();
        List<CompleteProbe> probes = IntStream.range(0, 1000).mapToObj(n -> {
            int request = 1 + random.nextInt(12);
            int stopAfter = random.nextBoolean() ? request : 1 + random.nextInt(request);
            return new CompleteProbe(n, ledger, new SplittableRandom(random.nextLong()), request, stopAfter,
                    random.nextInt(4) == 0 ? random.nextLong(5001) : -1);
        }).toList();

        Flux.fromIterable(probes)
                .flatMap(probe -> Mono.<Void>create(sink -> probe.start(sink, queue.jobs("d"))), 12)
                .blockLast(STORM_LIMIT);

        Set<UUID> written = new HashSet<>(ledger.completeSubscribed);
        written.removeAll(ledger.rejected);
        System.out.printf("[storm] complete: %d completions subscribed (%d of them cancelled, %d at once, %d rejected "
                + "because the stream had released the job), %d called but never subscribed, %d jobs left uncompleted%n",
                ledger.completeSubscribed.size(), ledger.cancelled.get(), ledger.cancelledAtOnce.get(), ledger.rejected.size(),
                ledger.neverSubscribed.size(), ledger.left.size());
        assertThat(ledger.problems).as("what the streams saw (seed %d)", seed).isEmpty();
        assertThat(ledger.starved.get()).as("streams that got no job within %s", STARVED_AFTER).isZero();
        // Counted without a clock: a completion disposed right after its subscription is cancelled
        // while its write is still in flight (the write needs a round trip at least). Those cancelled
        // by a timer count too when the timer found them still running, which depends on the machine.
        assertThat(ledger.cancelledAtOnce.get()).as("completions cancelled at once").isGreaterThan(1000);
        assertThat(ledger.cancelled.get()).as("completions cancelled").isGreaterThan(1000);

        waiting().untilAsserted(() -> {
            assertThat(count("SELECT count(*) FROM {schema}.jobs WHERE status = 'running'"))
                    .as("jobs left running").isZero();
            assertThat(count("SELECT count(*) FROM {schema}.jobs WHERE status = 'completed'"))
                    .as("completed jobs").isEqualTo(written.size());
        });
        Map<UUID, String> state = new HashMap<>();
        query("SELECT id, status, attempt, lease IS NULL AND heartbeat_at IS NULL AS clear FROM {schema}.jobs")
                .forEach(row -> state.put((UUID) row.get("id"),
                        row.get("status") + "/" + row.get("attempt") + "/" + row.get("clear")));
        assertThat(state).hasSize(jobs);
        List<String> wrong = new ArrayList<>();
        state.forEach((id, s) -> {
            String expected = written.contains(id) ? "completed/1/true" : "pending/0/true";
            if (!s.equals(expected)) {
                wrong.add(id + " is " + s + ", expected " + expected
                        + (ledger.neverSubscribed.contains(id) ? " (complete() called, never subscribed)" : ""));
            }
        });
        assertThat(wrong).as("jobs in the wrong state (seed %d)", seed).isEmpty();
        assertThat(queue.staleWrites() - staleBefore).as("completions that lost their lease to a release").isZero();

        assertPoolUndamaged();
    }

    /** What all streams of the complete storm saw and did. */
    private static final class CompletionLedger {
        final Set<UUID> completeSubscribed = ConcurrentHashMap.newKeySet();
        final Set<UUID> rejected = ConcurrentHashMap.newKeySet();
        final Set<UUID> neverSubscribed = ConcurrentHashMap.newKeySet();
        final Set<UUID> left = ConcurrentHashMap.newKeySet();
        final Queue<String> problems = new ConcurrentLinkedQueue<>();
        final AtomicInteger cancelled = new AtomicInteger();
        final AtomicInteger cancelledAtOnce = new AtomicInteger();
        final AtomicInteger starved = new AtomicInteger();
    }

    /**
     * One {@code jobs("d")} subscription: requests {@code request} jobs; completes most with
     * success, cancelling the completion at once, after a random delay, or not at all; calls
     * {@code complete} without subscribing for some and leaves others alone; cancels the stream
     * right after the {@code stopAfterJobs}-th job (completions still in flight), or
     * {@code stopMicros} after subscribing.
     */
    private final class CompleteProbe extends BaseSubscriber<ClaimedJob> {
        private final int n;
        private final CompletionLedger ledger;
        private final SplittableRandom random;
        private final int request;
        private final int stopAfterJobs;
        private final long stopMicros;
        private int received;
        private volatile boolean stopped;
        private MonoSink<Void> done;
        private Disposable safety;

        CompleteProbe(int n, CompletionLedger ledger, SplittableRandom random, int request, int stopAfterJobs,
                      long stopMicros) {
            this.n = n;
            this.ledger = ledger;
            this.random = random;
            this.request = request;
            this.stopAfterJobs = stopAfterJobs;
            this.stopMicros = stopMicros;
        }

        void start(MonoSink<Void> sink, Flux<ClaimedJob> stream) {
            done = sink;
            stream.subscribe(this);
        }

        @Override
        protected void hookOnSubscribe(Subscription subscription) {
            safety = timer.schedule(() -> {
                if (!stopped) {
                    ledger.starved.incrementAndGet();
                    stop();
                }
            }, STARVED_AFTER.toMillis(), TimeUnit.MILLISECONDS);
            subscription.request(request);
            if (stopMicros >= 0) {
                timer.schedule(this::stop, stopMicros, TimeUnit.MICROSECONDS);
            }
        }

        @Override
        protected synchronized void hookOnNext(ClaimedJob claimed) {
            if (stopped) {
                return;
            }
            UUID id = claimed.job().id();
            if (claimed.job().attempt() != 1) {
                ledger.problems.add(id + " claimed with attempt " + claimed.job().attempt());
            }
            int choice = random.nextInt(20);
            if (choice < 3) {
                ledger.left.add(id);
            } else if (choice < 5) {
                ledger.neverSubscribed.add(id);
                claimed.complete(Outcome.success()); // assembled only: nothing happens
            } else {
                ledger.completeSubscribed.add(id);
                Mono<Void> completion = claimed.complete(Outcome.success())
                        .doOnError(e -> {
                            if (e instanceof IllegalStateException) {
                                ledger.rejected.add(id); // the stream released it before the call
                            } else {
                                ledger.problems.add("complete(" + id + ") failed: " + e);
                            }
                        });
                // half cancelled at once, a third after a random delay, the rest never
                int style = random.nextInt(6);
                Disposable subscription = completion.subscribe(null, e -> { });
                if (style < 3) {
                    subscription.dispose();
                    ledger.cancelled.incrementAndGet();
                    ledger.cancelledAtOnce.incrementAndGet();
                } else if (style < 5) {
                    timer.schedule(() -> {
                        if (!subscription.isDisposed()) {
                            ledger.cancelled.incrementAndGet();
                        }
                        subscription.dispose();
                    }, random.nextLong(5001), TimeUnit.MICROSECONDS);
                }
            }
            if (++received >= stopAfterJobs) {
                stop();
            }
        }

        @Override
        protected void hookOnError(Throwable error) {
            ledger.problems.add("stream " + n + " failed: " + error);
        }

        synchronized void stop() {
            if (stopped) {
                return;
            }
            stopped = true;
            if (safety != null) {
                safety.dispose();
            }
            cancel();
            done.success();
        }
    }

    // ---------------------------------------------------------------- the pool afterwards

    private void awaitPoolIdle() {
        waiting().untilAsserted(() -> {
            PoolMetrics metrics = pool.getMetrics().orElseThrow();
            assertThat(metrics.acquiredSize()).as("connections still acquired").isZero();
            assertThat(metrics.pendingAcquireSize()).as("acquires still waiting").isZero();
        });
    }

    /**
     * The pool is idle, no library transaction began on a connection already inside one, no
     * session of this class is idle in a transaction or still busy, and every pooled connection
     * answers at once, outside any transaction and without a leftover timeout. Reports every
     * problem found, not just the first.
     */
    private void assertPoolUndamaged() {
        awaitPoolIdle();
        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(newServerComplaints())
                .as("WARNING/ERROR lines of this class's sessions in the server log (\"there is already a transaction "
                        + "in progress\": a library transaction began on a pooled connection that an earlier user "
                        + "gave back inside a transaction)")
                .isEmpty();
        soft.check(() -> {
            try {
                // The server may lag the pool by one message (a rollback, the last rows of a
                // cancelled statement); a session stuck that way stays stuck, so waiting tells the
                // two apart (as long as a loaded machine needs: only a stuck session uses it up).
                await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
                    assertThat(sessions("application_name LIKE 'storm%' AND state LIKE 'idle in transaction%'"))
                            .as("sessions idle in a transaction while the pool is idle").isEmpty();
                    assertThat(sessions("application_name = '" + POOL_APP + "' AND state <> 'idle'"))
                            .as("pool sessions busy while the pool is idle").isEmpty();
                });
            } catch (ConditionTimeoutException e) {
                throw new AssertionError(e.getMessage(), e);
            }
        });

        List<Connection> all = Flux.range(0, POOL_SIZE).flatMap(i -> pool.create()).collectList()
                .block(ACQUIRE_LIMIT);
        try {
            List<Map<String, Object>> answers = probe(all);
            soft.assertThat(answers).as("answers of every pooled connection; sessions: %s",
                            sessions("application_name LIKE 'storm%'"))
                    .hasSize(POOL_SIZE)
                    .allSatisfy(answer -> assertThat(answer)
                            .doesNotContainKey("error")
                            .containsEntry("one", 1)
                            .containsEntry("in_transaction", false)
                            .containsEntry("statement_timeout", "0")
                            .containsEntry("lock_timeout", "0"));
            Set<Object> pooled = answers.stream().map(a -> a.get("pid")).collect(Collectors.toSet());
            soft.assertThat(pooled).as("distinct pooled connections").hasSize(POOL_SIZE);
            soft.assertThat(sessions("application_name = '" + POOL_APP + "'").stream().map(s -> s.get("pid")))
                    .as("sessions of the pool's application that the pool does not hold")
                    .allMatch(pooled::contains);
        } finally {
            Flux.fromIterable(all).flatMap(Connection::close).then().block(TIMEOUT);
        }
        awaitPoolIdle();
        soft.assertAll();
    }

    /**
     * Asks each connection, within {@link #ANSWER_WITHIN}, whether it sits in an open transaction
     * (its transaction began before this statement) and which timeouts it has. A connection stuck
     * behind a reply it lost never answers; a sound one answers at once on a quiet machine and
     * within seconds on a loaded one.
     */
    private static List<Map<String, Object>> probe(List<Connection> connections) {
        return Flux.fromIterable(connections)
                .flatMapSequential(conn -> Flux.from(conn.createStatement("SELECT 1 AS one, pg_backend_pid() AS pid, "
                                        + "now() <> statement_timestamp() AS in_transaction, "
                                        + "current_setting('statement_timeout') AS statement_timeout, "
                                        + "current_setting('lock_timeout') AS lock_timeout")
                                .execute())
                        .flatMap(result -> result.map((row, meta) -> {
                            Map<String, Object> values = new LinkedHashMap<>();
                            meta.getColumnMetadatas().forEach(c -> values.put(c.getName(), row.get(c.getName())));
                            return values;
                        }))
                        .next()
                        .timeout(ANSWER_WITHIN)
                        .onErrorResume(e -> Mono.just(Map.of("error", e.toString()))))
                .collectList().block(TIMEOUT);
    }

    /**
     * Gives each test a clean pool: a connection that an earlier test's storm left inside a
     * transaction (reported by that test) is rolled back, and the server log is read past it.
     */
    private void resetPool() {
        awaitPoolIdle();
        List<Connection> all = Flux.range(0, POOL_SIZE).flatMap(i -> pool.create()).collectList()
                .block(ACQUIRE_LIMIT);
        try {
            List<Map<String, Object>> answers = probe(all);
            for (int i = 0; i < all.size(); i++) {
                if (Boolean.TRUE.equals(answers.get(i).get("in_transaction"))) {
                    Flux.from(all.get(i).createStatement("ROLLBACK").execute()).flatMap(r -> r.getRowsUpdated())
                            .then().block(TIMEOUT);
                }
            }
        } finally {
            Flux.fromIterable(all).flatMap(Connection::close).then().block(TIMEOUT);
        }
        newServerComplaints();
    }

    private long logRead;

    /**
     * The server log lines at WARNING or worse from sessions named {@code storm%} since the last
     * call. A marker warning raised now shows when the log has caught up with everything before it.
     */
    private List<String> newServerComplaints() {
        String marker = "storm-log-marker-" + UUID.randomUUID();
        execute("DO $$ BEGIN RAISE WARNING '" + marker + "'; END $$");
        Path file = postgres.dataDirectory().resolve("log/postgresql.log");
        waiting().until(() -> Files.exists(file) && Files.readString(file, StandardCharsets.UTF_8).contains(marker));
        try {
            byte[] all = Files.readAllBytes(file);
            String text = new String(all, (int) logRead, all.length - (int) logRead, StandardCharsets.UTF_8);
            logRead = all.length;
            return text.lines()
                    .filter(line -> line.matches("^[^:]*:[^:]*:[^:]*:\\d+:storm[^:]*:(WARNING|ERROR|FATAL|PANIC):.*"))
                    .limit(20)
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private List<Map<String, Object>> sessions(String where) {
        return query("SELECT pid, application_name, state, now() - state_change AS for_how_long, query "
                + "FROM pg_stat_activity WHERE backend_type = 'client backend' AND " + where);
    }

    // ---------------------------------------------------------------- helpers

    private static ConditionFactory waiting() {
        return await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(100));
    }

    private List<Map<String, Object>> query(String sql, Object... params) {
        return Flux.usingWhen(inspector.create(),
                        conn -> Flux.from(bind(conn.createStatement(sql.replace("{schema}", SCHEMA)), params).execute())
                                .flatMap(result -> result.map((row, meta) -> {
                                    Map<String, Object> values = new LinkedHashMap<>();
                                    meta.getColumnMetadatas().forEach(c -> values.put(c.getName(), row.get(c.getName())));
                                    return values;
                                })),
                        Connection::close)
                .collectList().block(TIMEOUT);
    }

    private long count(String sql, Object... params) {
        return ((Number) query(sql, params).get(0).values().iterator().next()).longValue();
    }

    private void execute(String sql) {
        Flux.usingWhen(inspector.create(),
                        conn -> Flux.from(conn.createStatement(sql.replace("{schema}", SCHEMA)).execute())
                                .flatMap(result -> result.getRowsUpdated()),
                        Connection::close)
                .blockLast(TIMEOUT);
    }

    private static Statement bind(Statement statement, Object... params) {
        for (int i = 0; i < params.length; i++) {
            statement.bind("$" + (i + 1), params[i]);
        }
        return statement;
    }
}
