package io.github.reactivepgqueue.examples;

import io.github.reactivepgqueue.JobInfo;
import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.ScheduleInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How the demo ended: the final counts per queue, the throughput, the dead letters with one
 * sample each, and the schedule.
 *
 * @param last              the final snapshot (its {@code elapsed} is the time until every job had finished)
 * @param peakJobsPerSecond the highest throughput seen between two snapshots
 * @param deadLetters       per queue and dead status, how many jobs the dead-letter table holds
 * @param stockSync         the stock-sync schedule once paused, with its last slot and missed slots
 */
record DemoSummary(Progress last, double peakJobsPerSecond, List<DeadLetters> deadLetters, ScheduleInfo stockSync) {

    /**
     * The dead letters of one queue with one status.
     *
     * @param sample one of them, with its last error
     */
    record DeadLetters(String queue, JobStatus status, long jobs, JobInfo sample) {
    }

    private static final String ROW = "  %-11s %8s %10s %10s %8s %6s";

    /** Jobs stored, over all the shop's queues (the schedule's not included). */
    long stored() {
        return last.total(Progress.QueueLine::stored);
    }

    /** Finished jobs per second, from the start of the queue until the last had finished. */
    double jobsPerSecond() {
        return last.total(Progress.QueueLine::finished) / (last.elapsed().toMillis() / 1000.0);
    }

    List<String> lines(String schema) {
        List<String> lines = new ArrayList<>();
        lines.add(format("summary: %,d jobs finished in %.1f s, %,.0f jobs/s on average, %,.0f jobs/s at the peak",
                last.total(Progress.QueueLine::finished), last.elapsed().toMillis() / 1000.0, jobsPerSecond(),
                peakJobsPerSecond));
        lines.add(format(ROW, "queue", "enqueued", "duplicates", "completed", "retries", "dead"));
        for (Progress.QueueLine line : last.queues()) {
            lines.add(format(ROW, line.queue(), n(line.stored()), n(line.duplicates()), n(line.completed()),
                    n(line.retries()), n(line.dead())));
        }
        lines.add(format(ROW, "total", n(stored()), n(last.total(Progress.QueueLine::duplicates)),
                n(last.total(Progress.QueueLine::completed)), n(last.total(Progress.QueueLine::retries)),
                n(last.total(Progress.QueueLine::dead))));
        lines.add(format("schedule %s: %,d jobs run, one per slot (job.runAt() is the slot; unique key"
                        + " schedule:%s:<slot>), %,d slots missed, the last slot at %s", stockSync.name(),
                last.stockSyncs(), stockSync.name(), stockSync.missedSlots(), stockSync.lastSlot()));
        lines.add(format("dead letters in %s.jobs_dead, one sample each (queue.admin().list(queue, status, null, 1)):",
                schema));
        for (DeadLetters dead : deadLetters) {
            lines.add(format("  %-11s %-13s %4d  after %d of %d attempts: %s", dead.queue(),
                    dead.status().databaseValue(), dead.jobs(), dead.sample().attempt(), dead.sample().maxAttempts(),
                    dead.sample().lastError().map(DemoSummary::firstLine).orElse("(no error recorded)")));
        }
        lines.add(format("the jobs stay in schema %s (tables jobs_archive and jobs_dead); the next run starts afresh",
                schema));
        return lines;
    }

    /** The first line of an error, without the package of its exception class. */
    private static String firstLine(String error) {
        String line = error.lines().findFirst().orElse("");
        return line.replaceFirst("^([a-z_][a-z0-9_]*\\.)+(?=[A-Z])", "");
    }

    private static String n(long value) {
        return format("%,d", value);
    }

    private static String format(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
