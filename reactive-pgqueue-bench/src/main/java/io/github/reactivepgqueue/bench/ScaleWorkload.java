package io.github.reactivepgqueue.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.PgQueueBuilder;
import io.github.reactivepgqueue.internal.ClaimedRow;
import io.github.reactivepgqueue.internal.store.ClaimShares;
import io.github.reactivepgqueue.internal.store.PgJobStore;
import io.github.reactivepgqueue.internal.store.SchemaName;
import io.github.reactivepgqueue.internal.store.Sql;
import io.github.reactivepgqueue.internal.store.SqlName;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.Result;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import java.util.function.ToIntFunction;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * {@code scale}: what the queue's statements cost when its tables are big. Seeds a fresh schema
 * with SQL ({@code INSERT ... SELECT FROM generate_series}, in chunks, on the benchmark's own
 * connections): 1,000,000 jobs over 10 queues, 1,000 of each queue due and the rest pending with a
 * run time hours to days ahead; an idle queue with only future jobs; a queue of finished and pending
 * jobs to purge; and 1,000,000 archived jobs; then {@code VACUUM ANALYZE}, as autovacuum does
 * after that many inserts on a server where it is on (schema version 5 sets it by row count; the
 * benchmark's server may run with it off). Then times, each a number of
 * times after untimed runs, through the library's store and its public admin API only (so it
 * measures whatever their statements are): the idle queue's claim, the 10-queue claim, a full
 * claim of one queue (claimed rows are put back to pending, untimed, after each, so every run sees
 * the same table), the rows a claim's transaction locks against the rows it claims, the admin
 * counts, the queue-depth statement, pages of the admin list, and one purge.
 */
final class ScaleWorkload implements Workload {
    /** The queues the jobs are spread over. */
    static final int QUEUES = 10;
    /** Rows per seeding statement. */
    static final int SEED_CHUNK = 100_000;
    /** Page size of the admin list. */
    static final int PAGE = 100;
    /** Connections of the pool the store and the queue use (the timed calls run one at a time). */
    static final int POOL_SIZE = 2;
    /**
     * The statement timeout of the store and the queue: long, so a slow statement is measured
     * rather than cut off at the library's default.
     */
    static final Duration STATEMENT_TIMEOUT = Duration.ofMinutes(10);
    private static final Duration TIMEOUT = Duration.ofMinutes(15);
    private static final String IDLE_QUEUE = "scale_idle";
    private static final String PURGE_QUEUE = "scale_purge";

    /**
     * How big the tables are and how often each call runs.
     *
     * @param perQueue jobs of each of the {@link #QUEUES} queues
     * @param duePerQueue of those, due now; the rest wait for a time ahead. Also the claims' limit
     * @param archived jobs in the archive
     * @param idle future jobs of the idle queue
     * @param purge jobs of the queue that is purged, half completed and half pending
     * @param warmUps untimed runs before the timed ones
     * @param repetitions timed runs
     */
    record Sizes(int perQueue, int duePerQueue, int archived, int idle, int purge, int warmUps, int repetitions) {
        static Sizes of(BenchOptions options) {
            return options.smoke()
                    ? new Sizes(200, 20, 1_000, 180, 500, 1, 3)
                    : new Sizes(100_000, 1_000, 1_000_000, 99_000, 100_000, 20, 30);
        }

        int jobs() {
            return perQueue * QUEUES;
        }

        int due() {
            return duePerQueue * QUEUES;
        }

        /** One job of every {@code dueStride()} of a queue is due. */
        int dueStride() {
            return perQueue / duePerQueue;
        }
    }

    @Override
    public String name() {
        return "scale";
    }

    @Override
    public Report run(BenchContext context, int run) {
        BenchDatabase db = context.database();
        Sizes sizes = Sizes.of(context.options());
        if (sizes.perQueue % sizes.duePerQueue != 0) {
            throw new IllegalStateException("jobs per queue must be a multiple of the due jobs per queue");
        }
        String schema = context.schema("scale");
        db.dropSchema(schema);
        ConnectionPool pool = BenchDatabase.pool(db.raw(), POOL_SIZE);
        PgQueue queue = PgQueue.builder(pool)
                .schema(schema)
                .listen(false)
                .ownConnections(0)
                .statementTimeout(STATEMENT_TIMEOUT)
                .handlerScheduler(Schedulers.immediate())
                .build();
        try {
            BenchQueues.migrate(queue);
            PgJobStore store = store(pool, schema);
            Map<String, Object> results = new LinkedHashMap<>();

            long seedStart = System.nanoTime();
            Map<String, Object> seeded = seed(db, schema, sizes);
            for (String seededTable : List.of("jobs", "jobs_archive", "jobs_dead")) {
                db.execute("VACUUM ANALYZE " + table(schema, seededTable)); // VACUUM runs alone
            }
            seeded.put("seconds", Fields.seconds(System.nanoTime() - seedStart));
            results.put("seeded", seeded);
            Log.say("scale: seeded %,d live and %,d archived jobs in %s s", seeded.get("jobs"), sizes.archived,
                    seeded.get("seconds"));

            Map<String, Integer> all = new LinkedHashMap<>();
            for (String q : queues()) {
                all.put(q, sizes.duePerQueue);
            }
            int limit = sizes.duePerQueue;

            Timed idle = time(sizes, () -> store.claim(Map.of(IDLE_QUEUE, limit), limit, false), List::size,
                    claimed -> reset(db, schema, claimed));
            results.put("idle_claim_ms", idle.millis());
            results.put("idle_claim_rows", idle.rows());

            Timed tenQueues = time(sizes, () -> store.claim(all, limit, false), List::size,
                    claimed -> reset(db, schema, claimed));
            results.put("ten_queue_claim_ms", tenQueues.millis());
            results.put("ten_queue_claim_rows", tenQueues.rows());

            Timed full = time(sizes, () -> store.claim(Map.of(queueName(0), limit), limit, false), List::size,
                    claimed -> reset(db, schema, claimed));
            results.put("full_claim_ms", full.millis());
            results.put("full_claim_rows", full.rows());

            checkUnchanged(db, schema, sizes);
            results.put("claim_statement_in_server_ms", Fields.of(
                    "idle", inServer(db, schema, sizes, Map.of(IDLE_QUEUE, limit), limit),
                    "ten_queue", inServer(db, schema, sizes, all, limit),
                    "full", inServer(db, schema, sizes, Map.of(queueName(0), limit), limit)));
            results.put("claim_locks", locks(db, schema, sizes, all, limit / 2));

            Timed depth = time(sizes, store::queueDepth, List::size, rows -> { });
            results.put("queue_depth_ms", depth.millis());
            results.put("queue_depth_rows", depth.rows());

            Timed counts = time(sizes, () -> queue.admin().counts(), List::size, rows -> { });
            results.put("counts_ms", counts.millis());
            results.put("counts_rows", counts.rows());

            results.put("list_pages", listPages(db, schema, sizes, queue));

            long purgeStart = System.nanoTime();
            Long deleted = queue.admin().purge(PURGE_QUEUE).block(TIMEOUT);
            long purgeNanos = System.nanoTime() - purgeStart;
            long left = db.count("SELECT count(*) FROM " + table(schema, "jobs") + " WHERE queue = '" + PURGE_QUEUE + "'");
            results.put("purge", Fields.of(
                    "ms", Fields.round(purgeNanos / 1e6, 3),
                    "deleted", deleted,
                    "rows_left", left));
            Log.say("scale: 10-queue claim p50 %s ms, counts p50 %s ms, purge of %,d jobs %.0f ms",
                    tenQueues.millis().get("p50"), counts.millis().get("p50"), deleted, purgeNanos / 1e6);

            return new Report(config(sizes), results);
        } finally {
            BenchQueues.close(queue);
            pool.disposeLater().block(Duration.ofSeconds(30));
            db.dropSchema(schema);
        }
    }

    /** The store the library's node would build, on {@code connections}. */
    private static PgJobStore store(ConnectionFactory connections, String schema) {
        return new PgJobStore(connections, SchemaName.of(schema), new ObjectMapper(),
                PgQueueBuilder.DEFAULT_CONNECTION_ACQUIRE_TIMEOUT, STATEMENT_TIMEOUT,
                PgQueueBuilder.DEFAULT_LOCK_TIMEOUT, Schedulers.parallel());
    }

    private static Map<String, Object> config(Sizes sizes) {
        return Fields.of(
                "queues", QUEUES,
                "jobs", sizes.jobs(),
                "jobs_due", sizes.due(),
                "jobs_due_per_queue", sizes.duePerQueue,
                "jobs_future", sizes.jobs() - sizes.due(),
                "due_run_at", "up to 1 hour ago",
                "future_run_at", "1 hour to 3 days ahead",
                "idle_queue_future_jobs", sizes.idle,
                "purge_queue_jobs", sizes.purge,
                "purge_queue", "half completed, half pending with a run time ahead, all in the live table",
                "archived_jobs", sizes.archived,
                "seed_statement_rows", SEED_CHUNK,
                "vacuumed_and_analyzed", true,
                "warm_ups", sizes.warmUps,
                "repetitions", sizes.repetitions,
                "claim_limit_per_queue", sizes.duePerQueue,
                "claim_total", sizes.duePerQueue,
                "locks_claim_total", sizes.duePerQueue / 2,
                "claimed_rows_reset", "after each claim, untimed: UPDATE back to pending by id",
                "list_page", PAGE,
                "purge_batch_size", PgQueueBuilder.DEFAULT_MAINTENANCE_BATCH_SIZE,
                "pool_size", POOL_SIZE,
                "statement_timeout_ms", STATEMENT_TIMEOUT.toMillis(),
                "lock_timeout_ms", PgQueueBuilder.DEFAULT_LOCK_TIMEOUT.toMillis());
    }

    // ---- seeding

    private static String queueName(int i) {
        return "scale_" + i;
    }

    private static List<String> queues() {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < QUEUES; i++) {
            names.add(queueName(i));
        }
        return names;
    }

    private static String table(String schema, String name) {
        return BenchDatabase.quote(schema) + "." + name;
    }

    /**
     * The id of seed row {@code g} (a bigint expression): time-ordered as the library's ids are
     * (milliseconds first, ten rows a millisecond from {@code baseMillis}), unique through the low
     * half, so id order is seeding order.
     */
    private static String id(String g, long baseMillis) {
        return "(lpad(to_hex(" + baseMillis + " + (" + g + ") / 10), 12, '0') || '70008' || lpad(to_hex(" + g
                + "), 15, '0'))::uuid";
    }

    /**
     * Seeds the archive (the oldest ids), then the 10 queues (interleaved, so each queue's jobs
     * spread over the id range), the idle queue and the queue to purge; what it seeded.
     */
    private static Map<String, Object> seed(BenchDatabase db, String schema, Sizes sizes) {
        long base = System.currentTimeMillis() - 3_600_000L;
        String jobs = table(schema, "jobs");
        String columns = " (id, queue, status, priority, payload, attempt, max_attempts, created_at, run_at, updated_at,"
                + " completed_at)";
        String future = "now() + interval '1 hour' + ((i * 7919) % 259200) * interval '1 second'";
        long next = 0;

        insertChunks(db, "INSERT INTO " + table(schema, "jobs_archive")
                + " (id, queue, status, priority, payload, attempt, max_attempts, reprocess_count, created_at, run_at,"
                + " updated_at, completed_at, archived_at)"
                + " SELECT " + id("i", base) + ", 'scale_' || (i % " + QUEUES + "), 'completed', 0,"
                + " jsonb_build_object('n', i), 1, 5, 0, now() - interval '2 days', now() - interval '2 days',"
                + " now() - interval '1 day', now() - interval '1 day', now() - interval '1 day'", next, sizes.archived);
        next += sizes.archived;

        // row i - first of the queues: queue (i % QUEUES), k = its place in that queue; every
        // dueStride-th of a queue is due (up to an hour ago), the others wait for a time ahead
        long first = next;
        String k = "((i - " + first + ") / " + QUEUES + ")";
        insertChunks(db, "INSERT INTO " + jobs + columns
                + " SELECT " + id("i", base) + ", 'scale_' || ((i - " + first + ") % " + QUEUES + "), 'pending', 0,"
                + " jsonb_build_object('n', i), 0, 5, now() - interval '1 hour',"
                + " CASE WHEN " + k + " % " + sizes.dueStride() + " = 0"
                + " THEN now() - (" + k + " % 3600) * interval '1 second' ELSE " + future + " END,"
                + " now() - interval '1 hour', NULL", next, sizes.jobs());
        next += sizes.jobs();

        insertChunks(db, "INSERT INTO " + jobs + columns
                + " SELECT " + id("i", base) + ", '" + IDLE_QUEUE + "', 'pending', 0, jsonb_build_object('n', i), 0, 5,"
                + " now() - interval '1 hour', " + future + ", now() - interval '1 hour', NULL", next, sizes.idle);
        next += sizes.idle;

        insertChunks(db, "INSERT INTO " + jobs + columns
                + " SELECT " + id("i", base) + ", '" + PURGE_QUEUE + "',"
                + " CASE WHEN i % 2 = 0 THEN 'completed' ELSE 'pending' END, 0, jsonb_build_object('n', i),"
                + " CASE WHEN i % 2 = 0 THEN 1 ELSE 0 END, 5, now() - interval '1 hour', " + future + ","
                + " now() - interval '1 hour', CASE WHEN i % 2 = 0 THEN now() - interval '1 minute' END", next,
                sizes.purge);

        long due = db.count("SELECT count(*) FROM " + jobs + " WHERE status = 'pending' AND run_at <= now()");
        if (due != sizes.due()) {
            throw new IllegalStateException("Seeded " + due + " due jobs, expected " + sizes.due());
        }
        return Fields.of(
                "jobs", db.count("SELECT count(*) FROM " + jobs),
                "jobs_due", due,
                "archived_jobs", db.count("SELECT count(*) FROM " + table(schema, "jobs_archive")),
                "jobs_table_mb", megabytes(db, jobs),
                "archive_table_mb", megabytes(db, table(schema, "jobs_archive")));
    }

    /** The size of a table with its indexes, in MB (1 decimal). */
    private static double megabytes(BenchDatabase db, String table) {
        return Fields.round(db.count("SELECT pg_total_relation_size('" + table + "')") / 1048576.0, 1);
    }

    /** {@code insertSelect} (ending in a select list over {@code i}) for i from {@code from}, {@code n} rows, in chunks. */
    private static void insertChunks(BenchDatabase db, String insertSelect, long from, int n) {
        for (long start = from; start < from + n; start += SEED_CHUNK) {
            long end = Math.min(from + n, start + SEED_CHUNK) - 1;
            db.execute(insertSelect + " FROM generate_series(" + start + "::bigint, " + end + "::bigint) AS s(i)");
        }
    }

    // ---- timing

    /** What a timed call returned: percentiles of its times and the rows of its last run. */
    private record Timed(Map<String, Object> millis, int rows) {
    }

    /**
     * Runs {@code call} {@code warmUps} times untimed, then {@code repetitions} times timed, one at a
     * time; {@code after} gets each run's value, untimed.
     */
    private static <T> Timed time(Sizes sizes, Supplier<Mono<T>> call, ToIntFunction<T> rows,
                                  Consumer<T> after) {
        return time(sizes, call, rows, after, null);
    }

    /** {@link #time}, with each run's milliseconds read from its value when {@code reported} is given. */
    private static <T> Timed time(Sizes sizes, Supplier<Mono<T>> call, ToIntFunction<T> rows,
                                  Consumer<T> after, @Nullable ToDoubleFunction<T> reported) {
        double[] millis = new double[sizes.repetitions];
        int lastRows = 0;
        for (int i = 0; i < sizes.warmUps + sizes.repetitions; i++) {
            long start = System.nanoTime();
            T value = call.get().block(TIMEOUT);
            long nanos = System.nanoTime() - start;
            if (value == null) {
                throw new IllegalStateException("A timed call completed empty");
            }
            lastRows = rows.applyAsInt(value);
            after.accept(value);
            if (i >= sizes.warmUps) {
                millis[i - sizes.warmUps] = reported == null ? nanos / 1e6 : reported.applyAsDouble(value);
            }
        }
        Arrays.sort(millis);
        return new Timed(Fields.of(
                "p50", Fields.round(Latencies.percentile(millis, 50), 3),
                "p95", Fields.round(Latencies.percentile(millis, 95), 3),
                "max", Fields.round(millis[millis.length - 1], 3)), lastRows);
    }

    /** Puts claimed rows back to pending as they were, through the benchmark's own connection. */
    private static void reset(BenchDatabase db, String schema, List<ClaimedRow> claimed) {
        if (claimed.isEmpty()) {
            return;
        }
        UUID[] ids = claimed.stream().map(ClaimedRow::id).toArray(UUID[]::new);
        Long updated = Mono.usingWhen(db.raw().create(),
                conn -> Flux.from(conn.createStatement("UPDATE " + table(schema, "jobs")
                                        + " SET status = 'pending', attempt = attempt - 1, lease = NULL, heartbeat_at = NULL"
                                        + " WHERE id = ANY($1::uuid[]) AND status = 'running'")
                                .bind("$1", ids).execute())
                        .concatMap(Result::getRowsUpdated)
                        .reduce(0L, Long::sum),
                Connection::close).block(TIMEOUT);
        if (updated == null || updated != ids.length) {
            throw new IllegalStateException("Put " + updated + " of " + ids.length + " claimed jobs back to pending");
        }
    }

    /** Fails unless every due job is pending again and none runs. */
    private static void checkUnchanged(BenchDatabase db, String schema, Sizes sizes) {
        String jobs = table(schema, "jobs");
        long due = db.count("SELECT count(*) FROM " + jobs + " WHERE status = 'pending' AND run_at <= now()");
        long running = db.count("SELECT count(*) FROM " + jobs + " WHERE status = 'running'");
        if (due != sizes.due() || running != 0) {
            throw new IllegalStateException("After the claims " + due + " jobs are due (expected " + sizes.due()
                    + ") and " + running + " running (expected 0)");
        }
    }

    // ---- the claim statement in the server

    /**
     * The claim statement's planning plus execution time as PostgreSQL reports it ({@code EXPLAIN
     * (ANALYZE, TIMING OFF)}, in a transaction rolled back after each run): the statement's own
     * cost, without the round trip and the client's decoding, which a JVM running only a few
     * dozen claims has not compiled yet. The claim's parameters are the ones the store sends.
     */
    private static Map<String, Object> inServer(BenchDatabase db, String schema, Sizes sizes,
                                                Map<String, Integer> limits, int total) {
        Map<String, Integer> shares = ClaimShares.split(limits, total);
        String explain = "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + Sql.load(SchemaName.of(schema)).get(SqlName.JobClaim);
        ObjectMapper mapper = new ObjectMapper();
        // one connection for every run, as a node's pooled connections are: a new session plans
        // its first statements with cold catalog caches
        Connection conn = Mono.from(db.raw().create()).block(TIMEOUT);
        if (conn == null) {
            throw new IllegalStateException("No connection");
        }
        Timed timed;
        try {
            timed = time(sizes, () -> Mono.from(conn.beginTransaction())
                            .then(Mono.from(conn.createStatement(explain)
                                    .bind("$1", shares.keySet().toArray(String[]::new))
                                    .bind("$2", shares.values().toArray(Integer[]::new)).execute()))
                            .flatMap(result -> Mono.from(result.map((row, meta) -> row.get(0, String.class))))
                            .map(json -> {
                                try {
                                    JsonNode plan = mapper.readTree(json).get(0);
                                    return new double[] {plan.path("Planning Time").asDouble()
                                            + plan.path("Execution Time").asDouble(),
                                            plan.path("Plan").path("Actual Rows").asDouble()};
                                } catch (IOException e) {
                                    throw new UncheckedIOException(e);
                                }
                            })
                            .flatMap(answer -> Mono.from(conn.rollbackTransaction()).thenReturn(answer)),
                    answer -> (int) answer[1], answer -> { }, answer -> answer[0]);
        } finally {
            Mono.from(conn.close()).block(TIMEOUT);
        }
        Map<String, Object> entry = new LinkedHashMap<>(timed.millis());
        entry.put("rows", timed.rows());
        return entry;
    }

    // ---- locks

    /**
     * The rows one claim's transaction locks against the rows it claims: the store's claim of up
     * to {@code total} jobs over {@code limits}, on a connection whose commit is replaced by a
     * count in the same transaction
     * of the rows it changed or locked (their version's {@code xmin} or {@code xmax} is the
     * transaction's id), followed by a rollback: nothing changes.
     */
    private static Map<String, Object> locks(BenchDatabase db, String schema, Sizes sizes, Map<String, Integer> limits,
                                             int total) {
        String jobs = table(schema, "jobs");
        String count = "SELECT count(*) FILTER (WHERE xmin::text = pg_current_xact_id()::text) AS changed,"
                // a row the claim locked and then changed keeps the lock on its new version: counted once
                + " count(*) FILTER (WHERE xmax::text = pg_current_xact_id()::text"
                + " AND xmin::text <> pg_current_xact_id()::text) AS locked_only FROM " + jobs;
        AtomicReference<long[]> seen = new AtomicReference<>();
        PgJobStore holding = store(new RollingBack(db.raw(), count, seen), schema);
        List<ClaimedRow> claimed = holding.claim(limits, total, false).block(TIMEOUT);
        long[] locked = seen.get();
        if (claimed == null || locked == null) {
            throw new IllegalStateException("The claim's locks were not counted");
        }
        checkUnchanged(db, schema, sizes);
        long rowsLocked = locked[0] + locked[1];
        return Fields.of(
                "claim_total", total,
                "claim_limit_per_queue", limits.values().iterator().next(),
                "queues", limits.size(),
                "rows_claimed", claimed.size(),
                "rows_locked", rowsLocked,
                "rows_locked_not_claimed", locked[1],
                "rows_locked_per_claimed", Fields.ratio(rowsLocked, claimed.size()),
                "due_rows", sizes.due());
    }

    /**
     * Connections of another factory whose {@code commitTransaction} runs {@code count} in the
     * transaction instead, keeps its two numbers, and rolls back.
     */
    private static final class RollingBack implements ConnectionFactory {
        private final ConnectionFactory delegate;
        private final String count;
        private final AtomicReference<long[]> seen;

        RollingBack(ConnectionFactory delegate, String count, AtomicReference<long[]> seen) {
            this.delegate = delegate;
            this.count = count;
            this.seen = seen;
        }

        @Override
        public Publisher<? extends Connection> create() {
            return Mono.from(delegate.create()).map(this::rollingBack);
        }

        @Override
        public ConnectionFactoryMetadata getMetadata() {
            return delegate.getMetadata();
        }

        private Connection rollingBack(Connection connection) {
            return (Connection) Proxy.newProxyInstance(RollingBack.class.getClassLoader(),
                    new Class<?>[] {Connection.class},
                    (proxy, method, args) -> {
                        switch (method.getName()) {
                            case "commitTransaction" -> {
                                return countThenRollBack(connection);
                            }
                            case "equals" -> {
                                return proxy == args[0];
                            }
                            case "hashCode" -> {
                                return System.identityHashCode(proxy);
                            }
                            case "toString" -> {
                                return "RollingBack[" + connection + "]";
                            }
                            default -> {
                                try {
                                    return method.invoke(connection, args);
                                } catch (InvocationTargetException e) {
                                    throw e.getCause();
                                }
                            }
                        }
                    });
        }

        /** The count, in the transaction the claim left open, then the rollback. */
        private Mono<Void> countThenRollBack(Connection connection) {
            return Flux.from(connection.createStatement(count).execute())
                    .concatMap(result -> result.map((row, meta) -> new long[] {
                            ((Number) row.get(0)).longValue(), ((Number) row.get(1)).longValue()}))
                    .doOnNext(seen::set)
                    .then(Mono.from(connection.rollbackTransaction()));
        }
    }

    // ---- admin list

    /**
     * First pages and pages after the id in the middle of the live table, unfiltered, of one
     * queue, and of one queue's pending jobs.
     */
    private static Map<String, Object> listPages(BenchDatabase db, String schema, Sizes sizes, PgQueue queue) {
        long live = db.count("SELECT count(*) FROM " + table(schema, "jobs"));
        String middle = db.text("SELECT id::text FROM " + table(schema, "jobs") + " ORDER BY id OFFSET " + live / 2
                + " LIMIT 1");
        if (middle == null) {
            throw new IllegalStateException("The live table is empty");
        }
        UUID after = UUID.fromString(middle);
        String q = queueName(3);
        Map<String, Object> pages = new LinkedHashMap<>();
        page(pages, "first_page", sizes, queue, null, null, null);
        page(pages, "deep_page", sizes, queue, null, null, after);
        page(pages, "first_page_queue", sizes, queue, q, null, null);
        page(pages, "deep_page_queue", sizes, queue, q, null, after);
        page(pages, "first_page_queue_pending", sizes, queue, q, JobStatus.PENDING, null);
        page(pages, "deep_page_queue_pending", sizes, queue, q, JobStatus.PENDING, after);
        pages.put("deep_page_after", "the id in the middle of the live table, in id order");
        return pages;
    }

    private static void page(Map<String, Object> into, String name, Sizes sizes, PgQueue queue, @Nullable String q,
                             @Nullable JobStatus status, @Nullable UUID after) {
        Timed timed = time(sizes, () -> queue.admin().list(q, status, after, PAGE).collectList(), List::size, rows -> { });
        Map<String, Object> entry = new LinkedHashMap<>(timed.millis());
        entry.put("rows", timed.rows());
        entry.put("queue", q);
        entry.put("status", status == null ? null : status.databaseValue());
        into.put(name + "_ms", entry);
    }
}
