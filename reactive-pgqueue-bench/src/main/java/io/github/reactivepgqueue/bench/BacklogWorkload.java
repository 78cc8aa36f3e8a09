package io.github.reactivepgqueue.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code backlog}: the drain rate with 10,000 and with 100,000 jobs pending (and 1,000,000 with
 * {@code --big}), each in a fresh schema, so the JSON line shows whether a bigger backlog slows
 * the queue down (the target: the biggest backlog drains at 90% or more of the 10,000 rate).
 */
final class BacklogWorkload implements Workload {

    @Override
    public String name() {
        return "backlog";
    }

    @Override
    public Report run(BenchContext context, int run) {
        int warmUp = DrainWorkload.warmUp(context).jobs();
        List<Integer> sizes = sizes(context.options());
        List<Map<String, Object>> drains = new ArrayList<>();
        for (int size : sizes) {
            Map<String, Object> r = LibraryDrain.measure(context.database(), context.schema("backlog"), size);
            Log.say("backlog %,d: drain %,d jobs/s", size, r.get("drain_jobs_per_s"));
            drains.add(r);
        }
        Number smallest = (Number) drains.get(0).get("drain_jobs_per_s");
        Number biggest = (Number) drains.get(drains.size() - 1).get("drain_jobs_per_s");
        Map<String, Object> results = Fields.of(
                "drains", drains,
                "biggest_to_smallest_rate", Fields.ratio(biggest, smallest));
        Map<String, Object> config = LibraryDrain.config();
        config.put("backlogs", sizes);
        config.put("warm_up_jobs", warmUp);
        return new Report(config, results);
    }

    private static List<Integer> sizes(BenchOptions options) {
        if (options.smoke()) {
            return List.of(100, 300);
        }
        return options.big() ? List.of(10_000, 100_000, 1_000_000) : List.of(10_000, 100_000);
    }
}
