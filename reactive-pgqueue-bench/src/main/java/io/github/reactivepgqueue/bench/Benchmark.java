package io.github.reactivepgqueue.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import reactor.core.Exceptions;

/**
 * The benchmark runner of reactive-pgqueue. Each chosen workload runs in fresh schemas of its own
 * (created, migrated, dropped again) and prints ONE JSON line to stdout with its configuration and
 * results; progress and logs go to stderr. See {@code docs/performance.md}.
 *
 * <pre>
 * mvn -q -pl reactive-pgqueue-bench -am compile exec:java \
 *     -Dexec.args="postgresql://postgres@127.0.0.1:5432/test --workloads floor,drain --runs 3"
 * </pre>
 *
 * <p>Workloads: {@code floor} (the queue's SQL in tight R2DBC loops without the library),
 * {@code drain}, {@code backlog}, {@code latency}, {@code schedule}, {@code steady}, {@code inflight},
 * {@code scale};
 * within a round they run in that order, so the drain can report its ratio to the floor of the
 * same round. Without {@code --workloads}, every workload but {@code scale} runs (it seeds two
 * million rows).
 * The database comes from the first argument, else {@code PGQUEUE_DATABASE_URL}, else an embedded
 * PostgreSQL is started. Exit status 0 when every workload ran, 1 when one failed (its line then
 * carries an {@code error}), 2 for a bad command line.
 */
public final class Benchmark {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MIGRATOR_LOG_LEVEL = "org.slf4j.simpleLogger.log.io.github.reactivepgqueue.internal.store.Migrator";

    private Benchmark() {
    }

    /**
     * Runs the benchmark; see the class description for the arguments. Everything but the JSON
     * lines is sent to stderr.
     */
    public static void main(String[] args) {
        // the library logs each migration at INFO; the benchmark migrates dozens of fresh schemas
        if (System.getProperty(MIGRATOR_LOG_LEVEL) == null) {
            System.setProperty(MIGRATOR_LOG_LEVEL, "warn");
        }
        PrintStream stdout = System.out;
        System.setOut(System.err); // whatever else prints to stdout (loggers, the embedded server) goes to stderr
        int status;
        try {
            status = run(args, stdout);
        } finally {
            System.setOut(stdout);
        }
        if (status != 0) {
            System.exit(status);
        }
    }

    /**
     * Runs the workloads that {@code args} name and prints one JSON line per workload and round to
     * {@code out}.
     *
     * @return 0 when every workload ran, 1 when one failed, 2 for a bad command line
     */
    public static int run(String[] args, PrintStream out) {
        BenchOptions options;
        try {
            options = BenchOptions.parse(args);
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().isEmpty()) {
                System.err.println(e.getMessage());
            }
            System.err.print(BenchOptions.USAGE);
            return 2;
        }
        int status = 0;
        try (BenchDatabase database = BenchDatabase.open(options.url())) {
            Map<String, Object> environment = environment(database);
            Log.say("database: %s, PostgreSQL %s; workloads %s, %d round(s)%s", database.description(),
                    environment.get("postgres"), options.workloads(), options.runs(), options.smoke() ? ", smoke" : "");
            BenchContext context = new BenchContext(options, database);
            for (int run = 1; run <= options.runs(); run++) {
                for (String name : options.workloads()) {
                    Map<String, Object> line = new LinkedHashMap<>();
                    line.put("workload", name);
                    line.put("run", run);
                    line.put("smoke", options.smoke());
                    Log.say("round %d: %s", run, name);
                    long start = System.nanoTime();
                    try {
                        Workload.Report report = workload(name).run(context, run);
                        line.put("config", report.config());
                        line.put("results", report.results());
                    } catch (Exception | AssertionError e) {
                        Throwable cause = Exceptions.unwrap(e);
                        Log.say("%s failed: %s", name, cause);
                        cause.printStackTrace();
                        line.put("error", String.valueOf(cause));
                        status = 1;
                    }
                    line.put("elapsed_s", Fields.seconds(System.nanoTime() - start));
                    line.put("environment", environment);
                    String json = JSON.writeValueAsString(line);
                    out.println(json);
                    out.flush();
                    if (options.out() != null) {
                        Files.writeString(Path.of(options.out()), json + System.lineSeparator(), StandardCharsets.UTF_8,
                                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                    }
                }
            }
        } catch (Exception e) {
            Throwable cause = Exceptions.unwrap(e);
            System.err.println("benchmark failed: " + cause);
            cause.printStackTrace();
            return 1;
        }
        return status;
    }

    private static Workload workload(String name) {
        return switch (name) {
            case "floor" -> new FloorWorkload();
            case "drain" -> new DrainWorkload();
            case "backlog" -> new BacklogWorkload();
            case "latency" -> new LatencyWorkload();
            case "schedule" -> new ScheduleWorkload();
            case "steady" -> new SteadyWorkload();
            case "inflight" -> new InflightWorkload();
            case "scale" -> new ScaleWorkload();
            default -> throw new IllegalArgumentException("Unknown workload " + name);
        };
    }

    private static Map<String, Object> environment(BenchDatabase database) {
        Runtime runtime = Runtime.getRuntime();
        return Fields.of(
                "cpus", runtime.availableProcessors(),
                "max_heap_mb", runtime.maxMemory() / (1024 * 1024),
                "java", System.getProperty("java.version"),
                "os", System.getProperty("os.name") + " " + System.getProperty("os.arch"),
                "postgres", database.serverVersion(),
                "database", database.description());
    }
}
