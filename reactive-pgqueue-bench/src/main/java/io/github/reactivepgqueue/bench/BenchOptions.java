package io.github.reactivepgqueue.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The benchmark's command line: an optional database URL, then options.
 *
 * <pre>
 * [database URL] [--workloads floor,drain,backlog,latency,schedule,steady,inflight,scale] [--n 100000] [--runs 1]
 *                [--big] [--smoke] [--schema-prefix bench_] [--out results.jsonl]
 * </pre>
 *
 * @param url the database URL, or null for {@code PGQUEUE_DATABASE_URL} or an embedded server
 * @param workloads the workloads to run, in the order they run within one round (by default
 *     {@link #DEFAULT_WORKLOADS})
 * @param n jobs of the drain workload and of each floor variant
 * @param runs how many rounds of all chosen workloads
 * @param big whether the backlog workload also drains a backlog of 1,000,000 jobs
 * @param smoke tiny sizes and short waits, to check that the runner works (CI)
 * @param schemaPrefix prefix of the schemas the workloads create and drop
 * @param out a file that gets the JSON lines too (appended), or null
 */
public record BenchOptions(@Nullable String url, List<String> workloads, int n, int runs, boolean big, boolean smoke,
                           String schemaPrefix, @Nullable String out) {

    /** Every workload, in the order a round runs them (the floor first, so the drain can compare). */
    public static final List<String> ALL_WORKLOADS = List.of("floor", "drain", "backlog", "latency", "schedule", "steady",
            "inflight", "scale");

    /**
     * The workloads that run without {@code --workloads} (or with {@code --workloads all}): every
     * one but {@code scale}, which seeds two million rows first; name it to run it.
     */
    public static final List<String> DEFAULT_WORKLOADS = ALL_WORKLOADS.stream().filter(w -> !w.equals("scale"))
            .toList();

    static final String USAGE = """
            usage: Benchmark [database URL] [options]
              database URL     postgresql://user:password@host:5432/db; else PGQUEUE_DATABASE_URL; else an
                               embedded PostgreSQL is started
              --workloads LIST comma-separated, any of %s
                               (default, or 'all': every one but 'scale', which seeds 2,000,000 rows)
              --n N            jobs drained by 'drain' and by each 'floor' variant (default 100000)
              --runs R         rounds of all chosen workloads; one JSON line per workload and round (default 1)
              --big            'backlog' also drains a backlog of 1,000,000 jobs (else 10,000 and 100,000)
              --smoke          tiny sizes, for a quick check that every workload runs (CI)
              --schema-prefix P  prefix of the schemas created and dropped (default bench_)
              --out FILE       also append the JSON lines to FILE
            One JSON line per workload and round goes to stdout; progress goes to stderr.
            """.formatted(String.join(",", ALL_WORKLOADS));

    /**
     * Parses the arguments.
     *
     * @throws IllegalArgumentException with a message fit for the user
     */
    public static BenchOptions parse(String... args) {
        @Nullable String url = null;
        Map<String, String> values = new LinkedHashMap<>();
        Set<String> flags = new LinkedHashSet<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--big", "--smoke", "--help", "-h" -> flags.add(arg);
                case "--workloads", "--n", "--runs", "--schema-prefix", "--out" -> {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException(arg + " needs a value");
                    }
                    values.put(arg, args[++i]);
                }
                default -> {
                    if (arg.startsWith("--")) {
                        throw new IllegalArgumentException("Unknown option " + arg);
                    }
                    if (url != null) {
                        throw new IllegalArgumentException("Only one database URL may be given");
                    }
                    url = arg.isBlank() ? null : arg;
                }
            }
        }
        if (flags.contains("--help") || flags.contains("-h")) {
            throw new IllegalArgumentException("");
        }
        boolean smoke = flags.contains("--smoke");
        int n = positive("--n", values.getOrDefault("--n", smoke ? "300" : "100000"));
        int runs = positive("--runs", values.getOrDefault("--runs", "1"));
        String prefix = values.getOrDefault("--schema-prefix", "bench_");
        if (!prefix.matches("[a-z_][a-z0-9_]{0,40}")) {
            throw new IllegalArgumentException("--schema-prefix must be lower-case letters, digits and underscores"
                    + " (at most 41), not starting with a digit");
        }
        return new BenchOptions(url, workloads(values.get("--workloads")), n, runs, flags.contains("--big"), smoke,
                prefix, values.get("--out"));
    }

    private static List<String> workloads(@Nullable String list) {
        if (list == null || list.isBlank() || list.strip().equals("all")) {
            return DEFAULT_WORKLOADS;
        }
        Set<String> chosen = new LinkedHashSet<>();
        for (String name : list.split(",")) {
            String w = name.strip().toLowerCase(Locale.ROOT);
            if (!ALL_WORKLOADS.contains(w)) {
                throw new IllegalArgumentException("Unknown workload '" + w + "'; known: " + ALL_WORKLOADS);
            }
            chosen.add(w);
        }
        // a round always runs in the canonical order, so the floor is measured before the drain
        List<String> ordered = new ArrayList<>();
        for (String w : ALL_WORKLOADS) {
            if (chosen.contains(w)) {
                ordered.add(w);
            }
        }
        return List.copyOf(ordered);
    }

    private static int positive(String option, String value) {
        try {
            int n = Integer.parseInt(value.replace("_", "").replace(",", ""));
            if (n < 1) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " must be a positive whole number but was '" + value + "'");
        }
    }

    /** The schema of a workload (or part of one): the prefix and the given name. */
    String schema(String name) {
        return schemaPrefix + name;
    }
}
