package io.github.reactivepgqueue.internal.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.JobCount;
import io.github.reactivepgqueue.JobLocation;
import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.internal.QueueMetrics.QueueDepth;
import io.github.reactivepgqueue.internal.store.CountRows.Depth;
import io.github.reactivepgqueue.internal.store.CountRows.Frequency;
import io.github.reactivepgqueue.internal.store.CountRows.Group;
import io.github.reactivepgqueue.internal.store.CountRows.StatRow;
import io.github.reactivepgqueue.internal.store.CountRows.TableRows;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Turning bounded counts into exact counts and estimates (bound 100 unless said otherwise). */
class CountRowsTest {

    private static StatRow count(String location, String queue, String status, long jobs) {
        return new Group(location, queue, status, jobs, jobs > 100);
    }

    private static StatRow queueFreq(String location, String queue, double frequency) {
        return new Frequency(location, queue, null, frequency);
    }

    private static StatRow statusFreq(String location, String status, double frequency) {
        return new Frequency(location, null, status, frequency);
    }

    private static StatRow rows(String location, Double rows) {
        return new TableRows(location, rows);
    }

    @Test
    void groupsUnderTheBoundAreExactWhateverTheStatistics() {
        List<JobCount> counts = CountRows.counts(List.of(
                count("live", "a", "pending", 7), count("dead", "a", "failed", 100),
                queueFreq("live", "a", 0.9), rows("live", 10_000.0), rows("dead", null)));

        assertThat(counts).containsExactly(
                new JobCount("a", JobStatus.PENDING, JobLocation.LIVE, 7, true),
                new JobCount("a", JobStatus.FAILED, JobLocation.DEAD, 100, true));
    }

    @Test
    void aCommonQueueIsItsFrequencyTimesTheRowsLessItsExactGroups() {
        // live table of about 50,000 rows; queue a has 40 % of them: 20,000, of which 50 run
        List<JobCount> counts = CountRows.counts(List.of(
                count("live", "a", "pending", 101), count("live", "a", "running", 50),
                queueFreq("live", "a", 0.4), statusFreq("live", "pending", 0.99), statusFreq("live", "running", 0.01),
                rows("live", 50_000.0)));

        assertThat(counts).containsExactly(
                new JobCount("a", JobStatus.PENDING, JobLocation.LIVE, 19_950, false),
                new JobCount("a", JobStatus.RUNNING, JobLocation.LIVE, 50, true));
    }

    @Test
    void anUncommonQueueSharesWhatTheCommonOnesLeaveLessTheUncommonOnesCountedExactly() {
        // 10,000 archived rows: a has 70 %; the 3,000 left are b's, c's (both cut) and d's 40 (exact)
        List<JobCount> counts = CountRows.counts(List.of(
                count("archive", "a", "completed", 101), count("archive", "b", "completed", 101),
                count("archive", "c", "completed", 101), count("archive", "d", "completed", 40),
                queueFreq("archive", "a", 0.7), statusFreq("archive", "completed", 1.0), rows("archive", 10_000.0)));

        assertThat(counts).extracting(JobCount::jobs, JobCount::exact).containsExactly(
                org.assertj.core.groups.Tuple.tuple(7_000L, false), org.assertj.core.groups.Tuple.tuple(1_480L, false),
                org.assertj.core.groups.Tuple.tuple(1_480L, false), org.assertj.core.groups.Tuple.tuple(40L, true));
    }

    @Test
    void aQueuesRestIsSharedAmongItsCutGroupsByStatusFrequency() {
        List<JobCount> counts = CountRows.counts(List.of(
                count("dead", "a", "failed", 101), count("dead", "a", "bad_job", 101), count("dead", "a", "critical", 3),
                queueFreq("dead", "a", 0.5), statusFreq("dead", "failed", 0.6), statusFreq("dead", "bad_job", 0.2),
                rows("dead", 4_006.0)));

        // a: 2,003 rows, 3 of them critical; the other 2,000 go 3 : 1 to failed and bad_job
        assertThat(counts).extracting(JobCount::jobs).containsExactly(1_500L, 500L, 3L);
    }

    @Test
    void anEstimateIsNeverBelowWhatWasCountedNorMadeWithoutStatistics() {
        List<JobCount> counts = CountRows.counts(List.of(
                count("live", "stale", "pending", 101), count("dead", "never-analyzed", "failed", 101),
                queueFreq("live", "stale", 0.001), rows("live", 1_000.0), rows("dead", null)));

        assertThat(counts).containsExactly(
                new JobCount("stale", JobStatus.PENDING, JobLocation.LIVE, 101, false),
                new JobCount("never-analyzed", JobStatus.FAILED, JobLocation.DEAD, 101, false));
    }

    @Test
    void passBoundsAreTenTimesTheBoundAndNeverOverflow() {
        assertThat(CountRows.passBound(1_000)).isEqualTo(10_000);
        assertThat(CountRows.passBound(0)).isZero();
        assertThat(CountRows.passBound(Long.MAX_VALUE)).isEqualTo(CountRows.MAX_BOUND);
        assertThat(CountRows.bound(Long.MAX_VALUE) + 1).isPositive();
    }

    // ---- depth (bounds: due 100, scheduled 10)

    private static StatRow depth(String queue, long due, long scheduled, double oldest) {
        return new Depth(queue, due, scheduled, oldest);
    }

    private static StatRow freq(String queue, double frequency) {
        return new Frequency("live", queue, null, frequency);
    }

    private static StatRow rows(Double rows) {
        return new TableRows("live", rows);
    }

    @Test
    void depthsSumPrioritiesAndStayExactUnderTheBounds() {
        List<QueueDepth> depths = CountRows.depths(List.of(
                depth("a", 40, 10, 3.5), depth("a", 60, 0, 7.0), depth("b", 0, 2, 0), freq("a", 0.99), rows(1e6)),
                100, 10);

        assertThat(depths).containsExactly(new QueueDepth("a", 100, 10, 7.0), new QueueDepth("b", 0, 2, 0));
    }

    @Test
    void theSideOverItsBoundGetsTheRestOfTheQueuesEstimate() {
        List<QueueDepth> depths = CountRows.depths(List.of(
                depth("scheduled-many", 5, 11, 1.0), depth("due-many", 101, 3, 9.0),
                freq("scheduled-many", 0.5), freq("due-many", 0.25), rows(4_000.0)), 100, 10);

        assertThat(depths).containsExactly(new QueueDepth("scheduled-many", 5, 1_995, 1.0),
                new QueueDepth("due-many", 997, 3, 9.0));
    }

    @Test
    void bothSidesOverTheirBoundsSplitTheRestEvenly() {
        List<QueueDepth> depths = CountRows.depths(List.of(
                depth("a", 101, 11, 2.0), freq("a", 0.5), rows(1_000.0)), 100, 10);

        assertThat(depths).containsExactly(new QueueDepth("a", 101 + 194, 11 + 194, 2.0));
    }

    @Test
    void anUncommonQueueSharesTheRestAndWithoutStatisticsKeepsItsCount() {
        assertThat(CountRows.depths(List.of(depth("a", 101, 0, 1.0), depth("b", 3, 0, 1.0), freq("c", 0.5),
                rows(1_000.0)), 100, 10))
                .containsExactly(new QueueDepth("a", 497, 0, 1.0), new QueueDepth("b", 3, 0, 1.0));
        assertThat(CountRows.depths(List.of(depth("a", 101, 11, 1.0), rows(null)), 100, 10))
                .containsExactly(new QueueDepth("a", 101, 11, 1.0));
    }
}
