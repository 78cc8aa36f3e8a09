package io.github.reactivepgqueue.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.PgQueue;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import reactor.core.scheduler.Schedulers;

/**
 * {@code floor}: the queue's SQL in tight R2DBC loops without the library, on the same database and
 * in the same round, so the library's results can be read as ratios to it. Every measurement
 * starts from a fresh {@code jobs} table (created by the library's migration, nothing else of the
 * library runs) holding {@code n} jobs.
 *
 * <p>The reference ("the floor") is the minimal variant: claim 1,000 jobs with
 * {@code UPDATE ... WHERE id = ANY(ARRAY(SELECT ... FOR UPDATE SKIP LOCKED LIMIT n))} (fresh lease,
 * attempt + 1, heartbeat), parse each payload with Jackson, complete the batch with one
 * {@code UPDATE ... FROM unnest(ids, leases)} fenced by the lease, on 3 connections at once; and
 * the best minimal bulk insert. The other variants change one thing at a time, to show what each
 * costs: deleting instead of updating, one claim in flight instead of three, a transaction per
 * statement as the library opens them (BEGIN; SET LOCAL custom plans and timeouts, and for a claim
 * its reused generic plan with sequential scans off; statement; COMMIT), the library's own claim, the library's own completion, all of the library's statements
 * together, and those again in transactions without custom plans (as the library ran them before
 * it asked for custom plans).
 */
final class FloorWorkload implements Workload {
    static final int CLAIM_BATCH = 1000;
    static final int INSERT_CONNECTIONS = 2;
    static final int FILL_BATCH = 5000;

    /** A bulk insert to time. */
    private record Insert(String name, FloorLoops.InsertShape shape, int batch) {
    }

    /** A drain to time: which claim, which completion, how the statements run, how many loops at once. */
    private record Drain(String name, FloorLoops.ClaimShape claim, FloorLoops.CompleteShape complete,
                         FloorLoops.Transactions transactions, int claimers) {
    }

    private static final List<Insert> INSERTS = List.of(
            new Insert("minimal_batch1000", FloorLoops.InsertShape.MINIMAL, 1000),
            new Insert("minimal_batch5000", FloorLoops.InsertShape.MINIMAL, 5000),
            new Insert("library_sql_batch1000", FloorLoops.InsertShape.LIBRARY, 1000),
            new Insert("library_sql_batch5000", FloorLoops.InsertShape.LIBRARY, 5000));

    private static final FloorLoops.ClaimShape MINIMAL_CLAIM = FloorLoops.ClaimShape.MINIMAL;
    private static final FloorLoops.ClaimShape LIBRARY_CLAIM = FloorLoops.ClaimShape.LIBRARY;
    private static final FloorLoops.CompleteShape MINIMAL_UPDATE = FloorLoops.CompleteShape.MINIMAL_UPDATE;
    private static final FloorLoops.CompleteShape LIBRARY_COMPLETE = FloorLoops.CompleteShape.LIBRARY;
    private static final FloorLoops.Transactions NO_TX = FloorLoops.Transactions.NONE;
    private static final FloorLoops.Transactions LIBRARY_TX = FloorLoops.Transactions.LIBRARY;

    private static final List<Drain> DRAINS = List.of(
            new Drain("minimal", MINIMAL_CLAIM, MINIMAL_UPDATE, NO_TX, 3),
            new Drain("minimal_delete", MINIMAL_CLAIM, FloorLoops.CompleteShape.MINIMAL_DELETE, NO_TX, 3),
            new Drain("minimal_1_claimer", MINIMAL_CLAIM, MINIMAL_UPDATE, NO_TX, 1),
            new Drain("minimal_tx_1_claimer", MINIMAL_CLAIM, MINIMAL_UPDATE, LIBRARY_TX, 1),
            new Drain("library_claim_tx_1_claimer", LIBRARY_CLAIM, MINIMAL_UPDATE, LIBRARY_TX, 1),
            new Drain("library_complete_tx_1_claimer", MINIMAL_CLAIM, LIBRARY_COMPLETE, LIBRARY_TX, 1),
            new Drain("library_sql_tx_1_claimer", LIBRARY_CLAIM, LIBRARY_COMPLETE, LIBRARY_TX, 1),
            new Drain("library_sql_tx", LIBRARY_CLAIM, LIBRARY_COMPLETE, LIBRARY_TX, 3),
            new Drain("library_sql_tx_1_claimer_auto_plans", LIBRARY_CLAIM, LIBRARY_COMPLETE,
                    FloorLoops.Transactions.LIBRARY_AUTO_PLANS, 1));

    private final ObjectMapper mapper = new ObjectMapper();

    @Override
    public String name() {
        return "floor";
    }

    @Override
    public Report run(BenchContext context, int run) {
        int n = context.options().n();
        int warmUp = 0;
        if (context.firstTime("floor")) {
            warmUp = context.smoke() ? 100 : Math.min(n, 50_000);
            Log.say("floor: warm-up, %,d jobs per variant (not reported)", warmUp);
            for (Insert insert : INSERTS) {
                enqueue(context, insert, warmUp);
            }
            for (Drain drain : DRAINS) {
                drain(context, drain, warmUp, new LinkedHashMap<>());
            }
        }
        Map<String, Object> enqueues = new LinkedHashMap<>();
        long floorEnqueue = 0;
        for (Insert insert : INSERTS) {
            long nanos = enqueue(context, insert, n);
            long rate = Fields.rate(n, nanos);
            Log.say("floor enqueue %s: %,d jobs/s", insert.name(), rate);
            enqueues.put(insert.name(), Fields.of(
                    "statement", insert.shape() == FloorLoops.InsertShape.MINIMAL
                            ? "minimal INSERT ... SELECT FROM unnest" : "the library's JobInsertManyNoKeys (no notification)",
                    "batch", insert.batch(), "connections", INSERT_CONNECTIONS,
                    "seconds", Fields.seconds(nanos), "jobs_per_s", rate));
            if (insert.shape() == FloorLoops.InsertShape.MINIMAL) {
                floorEnqueue = Math.max(floorEnqueue, rate);
            }
        }
        Map<String, Object> drains = new LinkedHashMap<>();
        Map<String, Long> rates = new LinkedHashMap<>();
        for (Drain drain : DRAINS) {
            Map<String, Object> cpu = new LinkedHashMap<>();
            long nanos = drain(context, drain, n, cpu);
            long rate = Fields.rate(n, nanos);
            rates.put(drain.name(), rate);
            Log.say("floor drain %s: %,d jobs/s", drain.name(), rate);
            Map<String, Object> variant = Fields.of(
                    "claim", drain.claim() == MINIMAL_CLAIM ? "minimal" : "the library's JobClaim",
                    "complete", switch (drain.complete()) {
                        case MINIMAL_UPDATE -> "minimal fenced UPDATE";
                        case MINIMAL_DELETE -> "minimal fenced DELETE";
                        case LIBRARY -> "the library's JobCompleteArchiveMany (janitor on)";
                    },
                    "transactions", drain.transactions().describe(),
                    "claims_in_flight", drain.claimers(),
                    "seconds", Fields.seconds(nanos), "jobs_per_s", rate);
            variant.putAll(cpu);
            drains.put(drain.name(), variant);
        }
        long floorDrain = rates.get("minimal");
        context.floor(run, new BenchContext.FloorNumbers(floorEnqueue, floorDrain, rates.get("minimal_delete"),
                rates.get("library_sql_tx")));

        Map<String, Object> results = new LinkedHashMap<>();
        results.put("floor_enqueue_jobs_per_s", floorEnqueue);
        results.put("floor_drain_jobs_per_s", floorDrain);
        results.put("floor_drain_delete_jobs_per_s", rates.get("minimal_delete"));
        results.put("floor_drain_library_sql_jobs_per_s", rates.get("library_sql_tx"));
        results.put("enqueue", enqueues);
        results.put("drain", drains);
        Map<String, Object> config = Fields.of("jobs", n, "claim_batch", CLAIM_BATCH,
                "insert_connections", INSERT_CONNECTIONS, "drain_fill", "minimal insert, batches of " + FILL_BATCH,
                "warm_up_jobs_per_variant", warmUp,
                "inserts", INSERTS.stream().map(Insert::name).toList(),
                "drains", DRAINS.stream().map(Drain::name).toList(),
                "payload_parse", "Jackson readTree per job",
                "floor_enqueue", "the best minimal insert", "floor_drain", "drain 'minimal'",
                "library_begin", FloorLoops.Transactions.LIBRARY.begin,
                "library_claim_begin", FloorLoops.Transactions.LIBRARY.claimBegin);
        return new Report(config, results);
    }

    /** Times {@code insert} of {@code n} jobs into a fresh table. */
    private long enqueue(BenchContext context, Insert insert, int n) {
        return inFreshSchema(context, loops -> loops.enqueue(insert.shape(), n, insert.batch(),
                INSERT_CONNECTIONS), n, false);
    }

    /**
     * Fills a fresh table with {@code n} jobs (untimed), then times {@code drain}; puts the CPU
     * the drain used into {@code cpu}.
     */
    private long drain(BenchContext context, Drain drain, int n, Map<String, Object> cpu) {
        return inFreshSchema(context, loops -> {
            loops.enqueue(FloorLoops.InsertShape.MINIMAL, n, FILL_BATCH, INSERT_CONNECTIONS);
            CpuMeter meter = CpuMeter.start();
            long nanos = loops.drain(drain.claim(), drain.complete(), drain.transactions(), CLAIM_BATCH,
                    drain.claimers());
            cpu.putAll(meter.per1000Jobs(n));
            return nanos;
        }, n, true);
    }

    /**
     * Runs {@code work} in a freshly migrated schema that is dropped afterwards; when
     * {@code drained}, checks that every job was completed and every payload parsed.
     */
    private long inFreshSchema(BenchContext context, java.util.function.ToLongFunction<FloorLoops> work, int n,
                               boolean drained) {
        BenchDatabase db = context.database();
        String schema = context.schema("floor");
        db.dropSchema(schema);
        try {
            PgQueue.builder(db.raw()).schema(schema).handlerScheduler(Schedulers.immediate()).build()
                    .migrate().block(Duration.ofMinutes(1));
            FloorLoops loops = new FloorLoops(db.raw(), new FloorSql(schema), mapper);
            long nanos = work.applyAsLong(loops);
            if (drained) {
                long live = db.count(Waits.liveJobsSql(schema));
                long expected = (long) n * (n - 1) / 2;
                if (live != 0 || loops.checksum() != expected) {
                    throw new IllegalStateException("A floor drain left " + live + " live jobs (payload checksum "
                            + loops.checksum() + ", expected " + expected + ")");
                }
            }
            return nanos;
        } finally {
            db.dropSchema(schema);
        }
    }
}
