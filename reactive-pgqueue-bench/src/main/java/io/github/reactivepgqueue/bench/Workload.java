package io.github.reactivepgqueue.bench;

import java.util.Map;

/** One kind of measurement; {@link Benchmark} prints what each run returns as one JSON line. */
interface Workload {

    /** The workload's name on the command line and in its JSON line. */
    String name();

    /**
     * Runs the workload once in schemas of its own (dropped afterwards), blocking the calling
     * thread until it is done.
     *
     * @param run the round, from 1
     */
    Report run(BenchContext context, int run) throws Exception;

    /** What a run reports: the configuration it ran with and what it measured. */
    record Report(Map<String, Object> config, Map<String, Object> results) {
    }
}
