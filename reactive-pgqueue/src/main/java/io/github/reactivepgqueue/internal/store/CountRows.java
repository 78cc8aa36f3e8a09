package io.github.reactivepgqueue.internal.store;

import io.github.reactivepgqueue.JobCount;
import io.github.reactivepgqueue.JobLocation;
import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.internal.QueueMetrics.QueueDepth;
import io.r2dbc.spi.Row;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Maps the rows of {@link SqlName#AdminCount} and {@link SqlName#MetricsQueueDepth}. Both count
 * each group only up to a bound and return, along with the counts, what PostgreSQL's statistics
 * say of the tables; a count that stopped at its bound (cut) becomes an estimate here.
 *
 * <p>The estimate of a queue's rows in a table is its frequency among the table's most common
 * queues times the table's estimated rows; a queue that is not among them gets an equal share of
 * the rows the most common ones leave, less the rows of the other such queues that were counted
 * exactly. From that total the groups of the queue counted exactly are taken away, and the rest is
 * shared among its cut groups by how common each status is in the table. An estimate is never
 * below what was counted; with no statistics (a table never analyzed) it is what was counted.
 */
final class CountRows {
    /** The largest bound passed to the statements, which add 1 to it in {@code bigint}. */
    static final long MAX_BOUND = Long.MAX_VALUE / 16;

    /** Running jobs, and finished ones in the live table, are read in passes this many times the bound. */
    static final int PASS_FACTOR = 10;

    /** The live table's location, as the statements name it. */
    private static final String LIVE = "live";

    private CountRows() {
    }

    /** {@code exactUpTo}, at most {@link #MAX_BOUND}. */
    static long bound(long exactUpTo) {
        return Math.min(exactUpTo, MAX_BOUND);
    }

    /** How many running jobs (or finished ones in the live table) one count pass reads at most. */
    static long passBound(long exactUpTo) {
        long bound = bound(exactUpTo);
        return bound > MAX_BOUND / PASS_FACTOR ? MAX_BOUND : bound * PASS_FACTOR;
    }

    // ---- AdminCount

    /** One row of {@link SqlName#AdminCount} or {@link SqlName#MetricsQueueDepth}. */
    sealed interface StatRow permits Group, Depth, Frequency, TableRows {
    }

    /** A (location, queue, status) group: the jobs counted, and whether the count stopped at its bound. */
    record Group(String location, String queue, String status, long jobs, boolean cut) implements StatRow {
    }

    /** A queue's pending jobs of one priority: due and scheduled counted, and the oldest due job's wait. */
    record Depth(String queue, long due, long scheduled, double oldestDueSeconds) implements StatRow {
    }

    /** A most common queue (status null) or status (queue null) of a table, and its frequency. */
    record Frequency(String location, @Nullable String queue, @Nullable String status, double frequency)
            implements StatRow {
    }

    /** A table's estimated rows; null when it was never analyzed or vacuumed. */
    record TableRows(String location, @Nullable Double rows) implements StatRow {
    }

    /** A row of {@link SqlName#AdminCount}. */
    static StatRow countRow(Row row) {
        String kind = row.get("kind", String.class);
        String location = Objects.requireNonNull(row.get("location", String.class), "location");
        return switch (Objects.requireNonNull(kind, "kind")) {
            case "count" -> new Group(location, Objects.requireNonNull(row.get("queue", String.class), "queue"),
                    Objects.requireNonNull(row.get("status", String.class), "status"),
                    Objects.requireNonNull(row.get("jobs", Long.class), "jobs"),
                    Objects.requireNonNull(row.get("cut", Boolean.class), "cut"));
            case "freq" -> new Frequency(location, row.get("queue", String.class), row.get("status", String.class),
                    Objects.requireNonNull(row.get("estimate", Double.class), "estimate"));
            case "rows" -> new TableRows(location, row.get("estimate", Double.class));
            default -> throw new IllegalStateException("Unknown row kind of AdminCount: " + kind);
        };
    }

    /** The counts, in the statement's order; cut ones estimated. */
    static List<JobCount> counts(List<StatRow> rows) {
        Map<String, TableStats> stats = new HashMap<>();
        Map<String, Map<String, List<Group>>> groups = new LinkedHashMap<>(); // location, queue
        List<Group> counted = new ArrayList<>();
        for (StatRow row : rows) {
            if (row instanceof Group group) {
                counted.add(group);
                groups.computeIfAbsent(group.location(), l -> new LinkedHashMap<>())
                        .computeIfAbsent(group.queue(), q -> new ArrayList<>()).add(group);
            } else if (row instanceof Frequency frequency) {
                stats.computeIfAbsent(frequency.location(), l -> new TableStats()).add(frequency);
            } else if (row instanceof TableRows table) {
                stats.computeIfAbsent(table.location(), l -> new TableStats()).rows = table.rows();
            }
        }
        Map<Group, Long> estimates = new HashMap<>();
        groups.forEach((location, byQueue) ->
                estimate(stats.getOrDefault(location, new TableStats()), byQueue, estimates));
        List<JobCount> counts = new ArrayList<>(counted.size());
        for (Group group : counted) {
            JobStatus status = JobStatus.fromDatabase(group.status());
            JobLocation location = JobLocation.valueOf(group.location().toUpperCase(Locale.ROOT));
            Long estimate = estimates.get(group);
            counts.add(estimate == null ? new JobCount(group.queue(), status, location, group.jobs())
                    : new JobCount(group.queue(), status, location, estimate, false));
        }
        return counts;
    }

    /** Puts an estimate for each cut group of one table into {@code into}. */
    private static void estimate(TableStats table, Map<String, List<Group>> byQueue, Map<Group, Long> into) {
        List<String> cutQueues = new ArrayList<>();
        long exactUncommon = 0;
        for (Map.Entry<String, List<Group>> queue : byQueue.entrySet()) {
            if (queue.getValue().stream().anyMatch(Group::cut)) {
                cutQueues.add(queue.getKey());
            } else if (!table.queues.containsKey(queue.getKey())) {
                exactUncommon += queue.getValue().stream().mapToLong(Group::jobs).sum();
            }
        }
        Map<String, Double> totals = table.queueTotals(cutQueues, exactUncommon);
        byQueue.forEach((queue, groups) -> {
            if (!cutQueues.contains(queue)) {
                return;
            }
            List<Group> cut = groups.stream().filter(Group::cut).toList();
            long exact = groups.stream().filter(g -> !g.cut()).mapToLong(Group::jobs).sum();
            Double total = totals.get(queue);
            double rest = total == null ? 0 : Math.max(0, total - exact);
            double weights = cut.stream().mapToDouble(g -> table.statuses.getOrDefault(g.status(), 0.0)).sum();
            for (Group group : cut) {
                double share = weights > 0 ? table.statuses.getOrDefault(group.status(), 0.0) / weights
                        : 1.0 / cut.size();
                into.put(group, Math.max(group.jobs(), Math.round(rest * share)));
            }
        });
    }

    // ---- MetricsQueueDepth

    /** A row of {@link SqlName#MetricsQueueDepth}. */
    static StatRow depthRow(Row row) {
        String kind = row.get("kind", String.class);
        return switch (Objects.requireNonNull(kind, "kind")) {
            case "depth" -> new Depth(Objects.requireNonNull(row.get("queue", String.class), "queue"),
                    Objects.requireNonNull(row.get("due", Long.class), "due"),
                    Objects.requireNonNull(row.get("scheduled", Long.class), "scheduled"),
                    Objects.requireNonNull(row.get("oldest_due_seconds", Double.class), "oldest_due_seconds"));
            case "freq" -> new Frequency(LIVE, row.get("queue", String.class), null,
                    Objects.requireNonNull(row.get("estimate", Double.class), "estimate"));
            case "rows" -> new TableRows(LIVE, row.get("estimate", Double.class));
            default -> throw new IllegalStateException("Unknown row kind of MetricsQueueDepth: " + kind);
        };
    }

    /**
     * The depth of each queue, its priorities summed. A queue whose due count stopped at
     * {@code dueBound} + 1 or whose scheduled count stopped at {@code scheduledBound} + 1 (for
     * some priority) is estimated: its pending jobs are taken as the queue's estimated rows in the
     * live table (which also holds its few running and unmoved finished jobs), at least what was
     * counted; the side that was counted exactly keeps its count and the other gets the rest; when
     * both were cut, the rest beyond both counts is split evenly between them.
     */
    static List<QueueDepth> depths(List<StatRow> rows, long dueBound, long scheduledBound) {
        TableStats table = new TableStats();
        Map<String, QueueSum> sums = new LinkedHashMap<>();
        for (StatRow row : rows) {
            if (row instanceof Depth depth) {
                sums.computeIfAbsent(depth.queue(), q -> new QueueSum()).add(depth, dueBound, scheduledBound);
            } else if (row instanceof Frequency frequency) {
                table.add(frequency);
            } else if (row instanceof TableRows tableRows) {
                table.rows = tableRows.rows();
            }
        }
        List<String> cutQueues = new ArrayList<>();
        long exactUncommon = 0;
        for (Map.Entry<String, QueueSum> queue : sums.entrySet()) {
            QueueSum sum = queue.getValue();
            if (sum.dueCut || sum.scheduledCut) {
                cutQueues.add(queue.getKey());
            } else if (!table.queues.containsKey(queue.getKey())) {
                exactUncommon += sum.due + sum.scheduled;
            }
        }
        Map<String, Double> totals = table.queueTotals(cutQueues, exactUncommon);
        List<QueueDepth> result = new ArrayList<>(sums.size());
        sums.forEach((queue, sum) -> {
            long due = sum.due;
            long scheduled = sum.scheduled;
            if (sum.dueCut || sum.scheduledCut) {
                Double total = totals.get(queue);
                long rest = Math.max(0, (total == null ? 0 : Math.round(total)) - due - scheduled);
                if (sum.dueCut && sum.scheduledCut) {
                    due += rest / 2;
                    scheduled += rest - rest / 2;
                } else if (sum.dueCut) {
                    due += rest;
                } else {
                    scheduled += rest;
                }
            }
            result.add(new QueueDepth(queue, due, scheduled, sum.oldestDueSeconds));
        });
        return result;
    }

    /** One queue's depth rows, summed over its priorities. */
    private static final class QueueSum {
        long due;
        long scheduled;
        boolean dueCut;
        boolean scheduledCut;
        double oldestDueSeconds;

        void add(Depth depth, long dueBound, long scheduledBound) {
            due += depth.due();
            scheduled += depth.scheduled();
            dueCut |= depth.due() > dueBound;
            scheduledCut |= depth.scheduled() > scheduledBound;
            oldestDueSeconds = Math.max(oldestDueSeconds, depth.oldestDueSeconds());
        }
    }

    // ---- statistics

    /** What PostgreSQL's statistics say of one table. */
    private static final class TableStats {
        /** The table's estimated rows; null when it was never analyzed or vacuumed. */
        @Nullable Double rows;
        /** The most common queues, each with the fraction of the table's rows it has. */
        final Map<String, Double> queues = new HashMap<>();
        /** The most common statuses, each with the fraction of the table's rows it has. */
        final Map<String, Double> statuses = new HashMap<>();

        void add(Frequency frequency) {
            String queue = frequency.queue();
            String status = frequency.status();
            if (queue != null) {
                queues.put(queue, frequency.frequency());
            } else if (status != null) {
                statuses.put(status, frequency.frequency());
            }
        }

        /**
         * The estimated rows of each of {@code wanted}: from its frequency when it is among the most
         * common queues, else an equal share of the rows those leave less {@code exactUncommon} (the
         * rows counted exactly of the queues that are not among them and not wanted). Empty
         * without a row estimate.
         */
        Map<String, Double> queueTotals(Collection<String> wanted, long exactUncommon) {
            Map<String, Double> totals = new HashMap<>();
            if (rows == null || wanted.isEmpty()) {
                return totals;
            }
            double common = queues.values().stream().mapToDouble(Double::doubleValue).sum();
            long uncommon = wanted.stream().filter(q -> !queues.containsKey(q)).count();
            double share = uncommon == 0 ? 0 : Math.max(0, (1 - common) * rows - exactUncommon) / uncommon;
            for (String queue : wanted) {
                Double frequency = queues.get(queue);
                totals.put(queue, frequency != null ? frequency * rows : share);
            }
            return totals;
        }
    }
}
