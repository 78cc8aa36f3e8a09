package io.github.reactivepgqueue.bench;

import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.PgQueueBuilder;
import io.github.reactivepgqueue.ReactiveHandler;
import io.github.reactivepgqueue.Schedule;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import reactor.core.publisher.Mono;

/**
 * {@code schedule}: jobs due later, and the slots of a recurring schedule, start on time. An idle,
 * started worker (as for {@code latency}, with the default poll interval of 1 s and the default
 * schedule check interval of 1 s), measured in two parts on the same node:
 *
 * <ol>
 *   <li>Delayed jobs: single enqueues 20 ms apart, each with a delay of 200 ms; for each job the
 *       time from its run time (set by the database) to its handler starting. A warm-up series of
 *       jobs due at once runs first and is not reported.</li>
 *   <li>Recurring slots: then a schedule is added at runtime ({@code queue.schedules().add}) with
 *       a slot every 100 ms on the same queue; for each slot's job the time from its slot (the
 *       job's run time) to its handler starting. The node's due timer enqueues each slot's job
 *       and the insert's notification wakes the worker. The first slots are a warm-up and are not
 *       reported; after the reported ones the schedule is removed.</li>
 * </ol>
 *
 * <p>Both times are read from the one clock of this host: the run time (or slot) from the job, the
 * start from {@code Instant.now()} in the handler. The run time and the slot are set by the
 * database's clock, so the figures assume the database on this host (as in docs/performance.md).
 */
final class ScheduleWorkload implements Workload {
    private static final Duration DELAY = Duration.ofMillis(200);
    /** How far apart the slots of the recurring part are. */
    private static final Duration SLOT_INTERVAL = Duration.ofMillis(100);
    /** The name of the recurring part's schedule. */
    private static final String SCHEDULE = "bench-slots";
    /** The payload field that marks a slot's job (the delayed jobs carry {@code {"n": i}}). */
    private static final String SLOT_FIELD = "slot";

    @Override
    public String name() {
        return "schedule";
    }

    @Override
    public Report run(BenchContext context, int run) {
        int jobs = context.smoke() ? 20 : 300;
        int warmUp = context.smoke() ? 5 : 100;
        int slots = context.smoke() ? 20 : 300;
        int slotWarmUp = context.smoke() ? 3 : 10;
        BenchDatabase db = context.database();
        String schema = context.schema("schedule");
        db.dropSchema(schema);

        Lateness late = new Lateness(jobs);
        Lateness slotLate = new Lateness(slots);
        AtomicInteger slotsHandled = new AtomicInteger();
        AtomicInteger warmUpHandled = new AtomicInteger();
        ReactiveHandler handler = ReactiveHandler.of(BenchQueues.QUEUE, job -> {
            Instant now = Instant.now();
            Duration d = Duration.between(job.runAt(), now);
            if (job.payload().has(SLOT_FIELD)) {
                // slots come one at a time, 100 ms apart: the order handled is the order of the slots
                slotLate.record(slotsHandled.getAndIncrement() - slotWarmUp, d);
                return Mono.just(Outcome.success());
            }
            int n = BenchQueues.number(job);
            if (n >= 0) {
                late.record(n, d);
            } else {
                warmUpHandled.incrementAndGet();
            }
            return Mono.just(Outcome.success());
        });
        LatencyWorkload.onIdleNode(db, schema, handler, warmUp, warmUpHandled, queue -> {
            LatencyWorkload.enqueueSpaced(queue, jobs, i -> i, n -> BenchQueues.job(n).delay(DELAY), null, null, null);
            Waits.until(() -> late.recorded() >= jobs, Duration.ofSeconds(30), "every job's handler");
            runSlots(queue, slotLate, slotWarmUp + slots);
        });
        Map<String, Object> lateness = late.summary();
        Map<String, Object> slotLateness = slotLate.summary();
        Log.say("schedule: run time to handler start p50 %s ms, p99 %s ms", lateness.get("p50_ms"),
                lateness.get("p99_ms"));
        Log.say("schedule: slot to handler start p50 %s ms, p99 %s ms", slotLateness.get("p50_ms"),
                slotLateness.get("p99_ms"));
        Map<String, Object> config = BenchQueues.config(LatencyWorkload.CONCURRENCY, LibraryDrain.CLAIM_BATCH);
        config.put("jobs", jobs);
        config.put("spacing_ms", 20);
        config.put("delay_ms", DELAY.toMillis());
        config.put("warm_up_jobs", warmUp);
        config.put("enqueue", "queue.enqueue(job.delay(200 ms)), one at a time");
        config.put("poll_interval_ms", PgQueueBuilder.DEFAULT_POLL_INTERVAL.toMillis());
        config.put("slots", slots);
        config.put("slot_interval_ms", SLOT_INTERVAL.toMillis());
        config.put("warm_up_slots", slotWarmUp);
        config.put("schedule", "queue.schedules().add(Schedule.every(100 ms)) on the started node, after the delayed"
                + " jobs; removed after the last reported slot");
        config.put("schedule_check_interval_ms", PgQueueBuilder.DEFAULT_SCHEDULE_CHECK_INTERVAL.toMillis());
        return new Report(config, Fields.of("run_time_to_handler_start", lateness,
                "slot_to_handler_start", slotLateness));
    }

    /**
     * Adds the schedule of the recurring part to the started {@code queue}, waits until
     * {@code handled} slots' jobs (warm-up included) have started and {@code slotLate} holds every
     * reported one, and removes the schedule.
     */
    private static void runSlots(PgQueue queue, Lateness slotLate, int handled) {
        Schedule schedule = Schedule.every(SCHEDULE, BenchQueues.QUEUE, SLOT_INTERVAL)
                .payload(Map.of(SLOT_FIELD, true));
        queue.schedules().add(schedule).block(Duration.ofSeconds(30));
        try {
            Waits.until(() -> slotLate.recorded() >= slotLate.size(),
                    SLOT_INTERVAL.multipliedBy(handled).plusSeconds(30), "the jobs of every slot");
        } finally {
            // removing waits for a run that holds the schedule: no slot's job is enqueued after it
            queue.schedules().remove(SCHEDULE).block(Duration.ofSeconds(30));
        }
    }

    /**
     * Per job (or slot) numbered {@code 0 .. size-1}, the time from its run time to its handler's
     * start, recorded once from any thread; numbers outside that range are not recorded.
     */
    private static final class Lateness {
        /** Microseconds per job; {@link Long#MIN_VALUE}: not yet. */
        private final AtomicLongArray micros;
        private final AtomicInteger recorded = new AtomicInteger();

        Lateness(int size) {
            micros = new AtomicLongArray(size);
            for (int i = 0; i < size; i++) {
                micros.set(i, Long.MIN_VALUE);
            }
        }

        int size() {
            return micros.length();
        }

        void record(int i, Duration late) {
            if (i >= 0 && i < size() && micros.compareAndSet(i, Long.MIN_VALUE, late.toNanos() / 1000)) {
                recorded.incrementAndGet();
            }
        }

        int recorded() {
            return recorded.get();
        }

        /** {@link Latencies#summary(double[])} of the recorded times. */
        Map<String, Object> summary() {
            double[] millis = new double[size()];
            int n = 0;
            for (int i = 0; i < size(); i++) {
                long m = micros.get(i);
                if (m != Long.MIN_VALUE) {
                    millis[n++] = m / 1000.0;
                }
            }
            double[] sorted = Arrays.copyOf(millis, n);
            Arrays.sort(sorted);
            return Latencies.summary(sorted);
        }
    }
}
