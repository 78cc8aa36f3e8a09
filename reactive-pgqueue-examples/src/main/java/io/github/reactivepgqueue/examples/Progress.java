package io.github.reactivepgqueue.examples;

import io.github.reactivepgqueue.JobCount;
import io.github.reactivepgqueue.JobLocation;
import io.github.reactivepgqueue.JobStatus;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * Where the demo's jobs are at one moment: {@code queue.admin().counts()} folded per queue, plus
 * what only the demo knows ({@link DemoTally}).
 *
 * @param elapsed       time since the queue started
 * @param queues        one line per queue
 * @param producing     whether the producer is still enqueueing
 * @param liveRows      rows of these queues in the live table, finished ones the janitor has not
 *                      moved yet included
 * @param stockSyncs    jobs of the stock-sync schedule that ran (its queue is not among {@code queues})
 * @param jobsPerSecond jobs finished per second since the previous snapshot
 * @param peakJobsPerSecond the highest {@code jobsPerSecond} so far
 */
record Progress(Duration elapsed, List<QueueLine> queues, boolean producing, long liveRows, long stockSyncs,
                double jobsPerSecond, double peakJobsPerSecond) {

    /**
     * One queue's jobs.
     *
     * @param stored       jobs enqueued (duplicates not counted), as the enqueue results said
     * @param enqueued     jobs the tables hold: {@code stored} once every enqueue result is in
     * @param duplicates   jobs not stored because a live job held their unique key
     * @param pending      waiting: due now, scheduled later, or waiting for a retry
     * @param running      running now
     * @param completed    completed, in the live table or the archive
     * @param retries      failed attempts that were retried
     * @param dead         failed, cancelled, unprocessable ...: in the live table or the dead-letter table
     * @param deadLettered of those, in the dead-letter table
     */
    record QueueLine(String queue, long stored, long enqueued, long duplicates, long pending, long running, long completed,
                     long retries, long dead, long deadLettered) {
        long finished() {
            return completed + dead;
        }
    }

    /** A snapshot from the counts of {@code queues}. */
    static Progress of(Duration elapsed, List<String> queues, List<JobCount> counts, DemoTally tally) {
        List<QueueLine> lines = queues.stream().map(queue -> {
            List<JobCount> own = counts.stream().filter(c -> c.queue().equals(queue)).toList();
            return new QueueLine(queue, tally.stored(queue), sum(own, c -> true), tally.duplicates(queue),
                    sum(own, c -> c.status() == JobStatus.PENDING),
                    sum(own, c -> c.status() == JobStatus.RUNNING),
                    sum(own, c -> c.status() == JobStatus.COMPLETED),
                    tally.retries(queue),
                    sum(own, c -> c.status().isDead()),
                    sum(own, c -> c.location() == JobLocation.DEAD));
        }).toList();
        long liveRows = sum(counts, c -> c.location() == JobLocation.LIVE && queues.contains(c.queue()));
        return new Progress(elapsed, lines, tally.producing(), liveRows, tally.stockSyncs(), 0, 0);
    }

    /** This snapshot with its throughput measured since {@code previous}. */
    Progress since(Progress previous) {
        double seconds = (elapsed.toNanos() - previous.elapsed.toNanos()) / 1e9;
        double rate = seconds > 0 ? (total(QueueLine::finished) - previous.total(QueueLine::finished)) / seconds : 0;
        return new Progress(elapsed, queues, producing, liveRows, stockSyncs, rate,
                Math.max(rate, previous.peakJobsPerSecond));
    }

    /**
     * Whether the demo is over: the producer is done, every job it stored has finished, and the
     * janitor has moved them all out of the live table.
     */
    boolean drained() {
        return !producing && liveRows == 0 && total(QueueLine::finished) == total(QueueLine::stored);
    }

    /** The sum of one column over all queues. */
    long total(ToLongFunction<QueueLine> column) {
        return queues.stream().mapToLong(column).sum();
    }

    private static long sum(List<JobCount> counts, Predicate<JobCount> which) {
        return counts.stream().filter(which).mapToLong(JobCount::jobs).sum();
    }
}
