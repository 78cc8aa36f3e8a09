package io.github.reactivepgqueue.bench;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * What the workloads of one invocation share: the options, the database, the floor's results per
 * round (so the drain can report its ratio to the floor of the same round), and which warm-ups
 * have run in this JVM.
 */
final class BenchContext {
    private final BenchOptions options;
    private final BenchDatabase database;
    private final Map<Integer, FloorNumbers> floors = new ConcurrentHashMap<>();
    private final Set<String> warmedUp = new HashSet<>();

    BenchContext(BenchOptions options, BenchDatabase database) {
        this.options = options;
        this.database = database;
    }

    BenchOptions options() {
        return options;
    }

    BenchDatabase database() {
        return database;
    }

    boolean smoke() {
        return options.smoke();
    }

    /** The schema named {@code name} with the invocation's prefix. */
    String schema(String name) {
        return options.schema(name);
    }

    /** The reference rates of the floor, measured in round {@code run}. */
    void floor(int run, FloorNumbers numbers) {
        floors.put(run, numbers);
    }

    /** The floor of round {@code run}, or null if the floor did not run (yet). */
    @Nullable FloorNumbers floor(int run) {
        return floors.get(run);
    }

    /** True the first time it is asked about {@code what} in this JVM: then the caller warms up. */
    boolean firstTime(String what) {
        return warmedUp.add(what);
    }

    /**
     * The floor's reference rates in jobs/s.
     *
     * @param enqueue bulk insert rate of the minimal statement
     * @param drain drain rate of the minimal claim and fenced update (the reference)
     * @param drainDelete drain rate when the completion deletes the rows instead
     * @param drainLibrarySql drain rate of the library's own statements, sent as the library sends
     *     them, in three loops ({@code library_sql_tx}): the floor of the library's SQL
     */
    record FloorNumbers(long enqueue, long drain, long drainDelete, long drainLibrarySql) {
    }
}
