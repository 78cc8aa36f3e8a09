package io.github.reactivepgqueue.examples;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The live progress table: one line per queue, a total line with the throughput, and a line for
 * the schedule's jobs.
 */
final class ProgressTable {
    private static final String ROW = "  %-11s %8s %8s %8s %10s %8s %6s";

    private ProgressTable() {
    }

    static List<String> lines(Progress progress) {
        List<String> lines = new ArrayList<>();
        lines.add(format("after %.1f s%s", progress.elapsed().toMillis() / 1000.0,
                progress.producing() ? ", still enqueueing" : ""));
        lines.add(format(ROW, "queue", "enqueued", "pending", "running", "completed", "retried", "dead"));
        for (Progress.QueueLine line : progress.queues()) {
            lines.add(format(ROW, line.queue(), n(line.enqueued()), n(line.pending()), n(line.running()),
                    n(line.completed()), n(line.retries()), n(line.dead())));
        }
        lines.add(format(ROW + "   %,6.0f jobs/s", "total", n(progress.total(Progress.QueueLine::enqueued)),
                n(progress.total(Progress.QueueLine::pending)), n(progress.total(Progress.QueueLine::running)),
                n(progress.total(Progress.QueueLine::completed)), n(progress.total(Progress.QueueLine::retries)),
                n(progress.total(Progress.QueueLine::dead)), progress.jobsPerSecond()));
        lines.add(format("  %-11s %8s jobs run, one per slot of its schedule (every %d s)", ShopJobs.STOCK_SYNC,
                n(progress.stockSyncs()), ShopJobs.STOCK_SYNC_EVERY.toSeconds()));
        return lines;
    }

    private static String n(long value) {
        return format("%,d", value);
    }

    private static String format(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
