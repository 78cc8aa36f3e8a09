package io.github.reactivepgqueue.bench;

import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.PgQueueBuilder;
import io.github.reactivepgqueue.ReactiveHandler;
import io.r2dbc.pool.ConnectionPool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * {@code inflight}: many jobs held at once on one node, each handler waiting ({@code Mono.delay})
 * for 30 s. Measured at 1,000 and at 10,000 jobs in flight, so the two can be compared: the
 * statements sent per heartbeat interval (counted by a {@link CountingConnectionFactory} under the
 * pool), the heap per job in flight (heap after full GCs with every job running, minus before the
 * worker started), and the process's CPU while the handlers wait. Afterwards one heartbeat
 * statement over as many running jobs is timed on its own ({@link HeartbeatTiming}).
 */
final class InflightWorkload implements Workload {
    private static final int CLAIM_BATCH = 1000;

    @Override
    public String name() {
        return "inflight";
    }

    @Override
    public Report run(BenchContext context, int run) {
        boolean smoke = context.smoke();
        List<Integer> levels = smoke ? List.of(20, 200) : List.of(1_000, 10_000);
        Duration hold = smoke ? Duration.ofSeconds(3) : Duration.ofSeconds(30);
        Duration heartbeat = smoke ? Duration.ofMillis(500) : PgQueueBuilder.DEFAULT_HEARTBEAT_INTERVAL;
        List<Map<String, Object>> measured = new ArrayList<>();
        for (int jobs : levels) {
            Map<String, Object> r = measure(context, jobs, hold, heartbeat);
            Log.say("inflight %,d: %s heartbeat statements per interval, %s bytes of heap per job, CPU %s%%", jobs,
                    r.get("heartbeat_statements_per_interval"), r.get("heap_bytes_per_job"),
                    r.get("process_cpu_percent_of_one_core"));
            measured.add(r);
        }
        Map<String, Object> config = BenchQueues.config(0, CLAIM_BATCH);
        config.put("global_concurrency", "= jobs in flight");
        config.put("queue_concurrency", "= jobs in flight");
        config.put("jobs_in_flight", levels);
        config.put("handler", "Mono.delay(" + hold.toMillis() + " ms) then success");
        config.put("heartbeat_interval_ms", heartbeat.toMillis());
        return new Report(config, Fields.of("levels", measured));
    }

    private Map<String, Object> measure(BenchContext context, int jobs, Duration hold, Duration heartbeat) {
        BenchDatabase db = context.database();
        String schema = context.schema("inflight");
        db.dropSchema(schema);
        CountingConnectionFactory counting = new CountingConnectionFactory(db.raw());
        ConnectionPool pool = BenchDatabase.pool(counting, BenchQueues.POOL_SIZE);
        AtomicInteger started = new AtomicInteger();
        AtomicLong firstStart = new AtomicLong();
        ReactiveHandler sleeper = ReactiveHandler.of(BenchQueues.QUEUE, job -> {
            firstStart.compareAndSet(0, System.nanoTime());
            started.incrementAndGet();
            return Mono.delay(hold).thenReturn(Outcome.success());
        });
        PgQueue queue = BenchQueues.builder(pool, schema, sleeper, jobs, CLAIM_BATCH).heartbeatInterval(heartbeat)
                // the stall threshold (2.5 intervals) must outlast a beat that waits its whole acquire timeout
                .connectionAcquireTimeout(heartbeat).build();
        boolean closed = false;
        try {
            BenchQueues.migrate(queue);
            BenchQueues.fill(queue, jobs);
            long delayBytes = heldDelayBytes(jobs, hold);

            long heapBefore = ProcessProbe.heapUsedAfterGc();
            long start = System.nanoTime();
            queue.start().block(Duration.ofMinutes(1));
            Waits.until(() -> started.get() >= jobs, Duration.ofMinutes(2), jobs + " running handlers");
            long allRunning = System.nanoTime() - start;
            long heapAfter = ProcessProbe.heapUsedAfterGc();

            // watch while every handler waits: until shortly before the first one finishes
            long watchEnd = firstStart.get() + hold.toNanos() - hold.toNanos() / 20;
            long watchNanos = watchEnd - System.nanoTime();
            if (watchNanos < heartbeat.toNanos()) {
                throw new IllegalStateException("Starting " + jobs + " jobs took too long to watch a heartbeat interval");
            }
            Map<String, Long> before = counting.snapshot();
            long cpuBefore = ProcessProbe.processCpuNanos();
            List<Double> loads = watchCpu(Duration.ofNanos(watchNanos));
            long cpuNanos = ProcessProbe.processCpuNanos() - cpuBefore;
            Map<String, Long> statements = counting.since(before);

            Waits.untilNoLiveJobs(db, schema, Duration.ofMinutes(2));
            BenchQueues.close(queue);
            closed = true;
            Map<String, Object> heartbeatTiming = HeartbeatTiming.measure(db, schema, jobs);
            Log.say("inflight %,d: one heartbeat statement took %s ms (library), %s ms (library without custom plans),"
                    + " %s ms (without the id-order locks)", jobs, heartbeatTiming.get("library_ms"),
                    heartbeatTiming.get("library_without_custom_plans_ms"), heartbeatTiming.get("without_id_order_locks_ms"));
            double intervals = (double) watchNanos / heartbeat.toNanos();
            long heartbeats = statements.getOrDefault("heartbeat", 0L);
            long all = statements.values().stream().mapToLong(Long::longValue).sum();
            long perJob = (heapAfter - heapBefore) / jobs;
            return Fields.of(
                    "jobs", jobs,
                    "all_running_after_s", Fields.seconds(allRunning),
                    "watched_s", Fields.seconds(watchNanos),
                    "heartbeat_intervals_watched", Fields.round(intervals, 2),
                    "heartbeat_statements_per_interval", Fields.round(heartbeats / intervals, 2),
                    "all_statements_per_interval", Fields.round(all / intervals, 2),
                    "statements_while_watching", statements,
                    "heap_bytes_per_job", perJob,
                    "heap_bytes_per_job_of_the_handlers_delay", delayBytes,
                    "heap_bytes_per_job_without_the_handlers_delay", perJob - delayBytes,
                    "process_cpu_percent_of_one_core", Fields.round(100.0 * cpuNanos / watchNanos, 2),
                    "process_cpu_load_percent_of_machine", Fields.of(
                            "samples", loads.size(),
                            "mean", Fields.round(100 * loads.stream().mapToDouble(Double::doubleValue).average().orElse(0), 2),
                            "max", Fields.round(100 * loads.stream().mapToDouble(Double::doubleValue).max().orElse(0), 2)),
                    "heartbeat_statement_timing", heartbeatTiming);
        } finally {
            if (!closed) {
                BenchQueues.close(queue);
            }
            pool.disposeLater().block(Duration.ofSeconds(30));
            db.dropSchema(schema);
        }
    }

    /**
     * What the handlers' own waiting costs, measured alone: heap per pending {@code Mono.delay}
     * subscription, so the library's share can be told apart.
     */
    private static long heldDelayBytes(int jobs, Duration hold) {
        long before = ProcessProbe.heapUsedAfterGc();
        List<Disposable> delays = new ArrayList<>(jobs);
        for (int i = 0; i < jobs; i++) {
            delays.add(Mono.delay(hold).thenReturn(Outcome.success()).subscribe());
        }
        long after = ProcessProbe.heapUsedAfterGc();
        delays.forEach(Disposable::dispose);
        // the list itself is not the handlers' cost
        long listBytes = 16L + 4L * jobs;
        return Math.max(0, (after - before - listBytes) / jobs);
    }

    /** Waits {@code time}, sampling the process's CPU load once a second. */
    private static List<Double> watchCpu(Duration time) {
        ProcessProbe.processCpuLoad(); // the first reading covers an unknown span
        List<Double> loads = new ArrayList<>();
        Flux.interval(Duration.ofSeconds(1))
                .map(t -> ProcessProbe.processCpuLoad())
                .take(time)
                .doOnNext(loads::add)
                .then()
                .block(time.plusSeconds(10));
        return loads;
    }
}
