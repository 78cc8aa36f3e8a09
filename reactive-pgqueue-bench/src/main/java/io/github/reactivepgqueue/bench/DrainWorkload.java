package io.github.reactivepgqueue.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code drain}: bulk-enqueue {@code n} no-op jobs, then start the worker and time until the
 * database confirms every job finished (see {@link LibraryDrain}). Reports the bulk enqueue rate,
 * the drain rate and, when the floor ran in the same round, both as ratios to it.
 */
final class DrainWorkload implements Workload {

    @Override
    public String name() {
        return "drain";
    }

    @Override
    public Report run(BenchContext context, int run) {
        WarmUp warmUp = warmUp(context);
        int n = context.options().n();
        Map<String, Object> results = LibraryDrain.measure(context.database(), context.schema("drain"), n);
        if (!warmUp.drainRates().isEmpty()) {
            // the JVM's first drain is the cold one; the goal: within 25% of the warm rate
            Number cold = warmUp.drainRates().get(0);
            results.put("cold_start", Fields.of(
                    "warm_up_drains_jobs_per_s", warmUp.drainRates(),
                    "first_drain_jobs_per_s", cold,
                    "first_to_timed", Fields.ratio(cold, (Number) results.get("drain_jobs_per_s"))));
        }
        Log.say("drain: enqueue %,d jobs/s, drain %,d jobs/s", results.get("enqueue_jobs_per_s"),
                results.get("drain_jobs_per_s"));
        BenchContext.FloorNumbers floor = context.floor(run);
        if (floor != null) {
            results.put("ratio_to_floor", Fields.of(
                    "drain", Fields.ratio((Number) results.get("drain_jobs_per_s"), floor.drain()),
                    "drain_vs_library_sql_floor", Fields.ratio((Number) results.get("drain_jobs_per_s"),
                            floor.drainLibrarySql()),
                    "drain_vs_delete_floor", Fields.ratio((Number) results.get("drain_jobs_per_s"), floor.drainDelete()),
                    "enqueue", Fields.ratio((Number) results.get("enqueue_jobs_per_s"), floor.enqueue()),
                    "floor_drain_jobs_per_s", floor.drain(),
                    "floor_drain_library_sql_jobs_per_s", floor.drainLibrarySql(),
                    "floor_enqueue_jobs_per_s", floor.enqueue()));
        }
        Map<String, Object> config = LibraryDrain.config();
        config.put("jobs", n);
        config.put("warm_up_jobs", warmUp.jobs());
        return new Report(config, results);
    }

    /** Untimed drains before the first timed one. */
    private static final int WARM_UP_DRAINS = 3;

    /** The untimed drains: how many jobs in all, and each drain's rate (none when there were none). */
    record WarmUp(int jobs, List<Number> drainRates) {
    }

    /**
     * The first library drains of a JVM run slower (JIT compilation: the first at about half
     * speed, and one warm-up drain of 100,000 jobs still left the next rounds 20% apart), so the
     * first drain or backlog workload of an invocation drains jobs three times untimed. Their
     * rates are kept: the first is the cold start the {@code drain} line reports.
     */
    static WarmUp warmUp(BenchContext context) {
        if (!context.firstTime("library-drain")) {
            return new WarmUp(0, List.of());
        }
        int jobs = context.smoke() ? 200 : Math.min(context.options().n(), 100_000);
        List<Number> rates = new ArrayList<>();
        for (int i = 1; i <= WARM_UP_DRAINS; i++) {
            Log.say("warm-up %d of %d: draining %,d jobs (not reported)", i, WARM_UP_DRAINS, jobs);
            rates.add((Number) LibraryDrain.measure(context.database(), context.schema("warmup"), jobs)
                    .get("drain_jobs_per_s"));
        }
        return new WarmUp(jobs * WARM_UP_DRAINS, rates);
    }
}
