package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.JobStatus;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Where the library reports what it does, for metrics. {@link #NONE} (no metrics configured)
 * does nothing, so a hook on a hot path costs one call that returns at once; the Micrometer
 * implementation lives in {@code internal.micrometer} and is loaded only when a meter registry is
 * configured, so no other class of the library touches Micrometer's classes.
 *
 * <p>Implementations are thread-safe and never block: the hooks run on event loops, timer and
 * handler threads. Queue names are the only per-job value passed on (never ids or payloads).
 */
public interface QueueMetrics {
    /** Does nothing: metrics are off. */
    QueueMetrics NONE = new QueueMetrics() {
        @Override
        public void enqueued(String queue) {
        }

        @Override
        public void claimed(List<ClaimedRow> jobs) {
        }

        @Override
        public HandlerRun handlerStarted(ClaimedRow job) {
            return HandlerRun.NONE;
        }

        @Override
        public void written(String queue, Transition transition, JobStatus status) {
        }

        @Override
        public void staleWrite(String queue) {
        }

        @Override
        public void abandoned(String queue) {
        }

        @Override
        public void rescued(String queue, JobStatus status) {
        }

        @Override
        public void queueDepths(List<QueueDepth> depths) {
        }

        @Override
        public void scheduleFired(String schedule, int enqueued, long missed) {
        }

        @Override
        public void gauges(IntSupplier jobsInFlight, @Nullable BooleanSupplier listenerConnected) {
        }

        @Override
        public void close() {
        }

        @Override
        public String toString() {
            return "QueueMetrics.NONE";
        }
    };

    /** A job of {@code queue} was stored by an enqueue (duplicates of a unique key are not). */
    void enqueued(String queue);

    /** One claim statement returned {@code jobs} (possibly none). */
    void claimed(List<ClaimedRow> jobs);

    /** The handler of {@code job} is being called now; the returned run is told how it ended. */
    HandlerRun handlerStarted(ClaimedRow job);

    /**
     * An outcome write of {@code transition} changed the job's row, which now has {@code status}
     * (this node's worker or a {@code jobs()} stream wrote it).
     */
    void written(String queue, Transition transition, JobStatus status);

    /** An outcome write changed nothing: the job's lease was no longer current. */
    void staleWrite(String queue);

    /** The reaper rescued a stalled job of {@code queue}, which is now {@code status} (pending, failed, bad_job). */
    void rescued(String queue, JobStatus status);

    /**
     * One job's outcome was given up: its write failed with an error retrying cannot cure (see
     * {@code PgJobStore.isPermanent}); the job stays running until a reaper rescues it.
     */
    void abandoned(String queue);

    /**
     * This node enqueued {@code enqueued} slot jobs of {@code schedule} and found {@code missed} of
     * its slots missed (schedule names are few and chosen by the application, like queue names).
     */
    void scheduleFired(String schedule, int enqueued, long missed);

    /** A fresh sample of the pending jobs of every queue that has some. */
    void queueDepths(List<QueueDepth> depths);

    /**
     * Called once, when the queue is built: the values behind the gauges.
     *
     * @param listenerConnected null when the queue does not listen ({@code listen(false)})
     */
    void gauges(IntSupplier jobsInFlight, @Nullable BooleanSupplier listenerConnected);

    /** The queue was closed: meters that refer to it (the gauges) are removed. */
    void close();

    /** One handler call, from its start. */
    interface HandlerRun {
        /** Records nothing. */
        HandlerRun NONE = transition -> { };

        /**
         * The handler ended, and {@code transition} is what comes of it (see
         * {@link Transition#handlerTag()}); {@link Transition#RELEASE} when it was cancelled before
         * it ended. Called at most once.
         */
        void finished(Transition transition);
    }

    /** How many pending jobs a queue has: due now, scheduled later, and how long the oldest due one waits. */
    record QueueDepth(String queue, long due, long scheduled, double oldestDueSeconds) {
    }
}
