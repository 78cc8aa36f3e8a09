package io.github.reactivepgqueue.bench;

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
        int warmUp = warmUp(context);
        int n = context.options().n();
        Map<String, Object> results = LibraryDrain.measure(context.database(), context.schema("drain"), n);
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
        config.put("warm_up_jobs", warmUp);
        return new Report(config, results);
    }

    /** Untimed drains before the first timed one. */
    private static final int WARM_UP_DRAINS = 3;

    /**
     * The first library drains of a JVM run slower (JIT compilation: the first at about half
     * speed, and one warm-up drain of 100,000 jobs still left the next rounds 20% apart), so the
     * first drain or backlog workload of an invocation drains jobs three times untimed; returns
     * how many in all.
     */
    static int warmUp(BenchContext context) {
        if (!context.firstTime("library-drain")) {
            return 0;
        }
        int jobs = context.smoke() ? 200 : Math.min(context.options().n(), 100_000);
        for (int i = 1; i <= WARM_UP_DRAINS; i++) {
            Log.say("warm-up %d of %d: draining %,d jobs (not reported)", i, WARM_UP_DRAINS, jobs);
            LibraryDrain.measure(context.database(), context.schema("warmup"), jobs);
        }
        return jobs * WARM_UP_DRAINS;
    }
}
