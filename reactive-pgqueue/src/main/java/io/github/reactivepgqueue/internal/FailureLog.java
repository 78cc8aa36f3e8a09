package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.JobStatus;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.LoggerFactory;

/**
 * One WARN line for each failed attempt and each job that ends dead: the queue, the job's id, the
 * attempt and the first line of the error, never the payload. A burst of failures is cut to
 * {@link #MAX_PER_SECOND} lines a second; the next line written says how many were left out.
 */
final class FailureLog {
    static final int MAX_PER_SECOND = 20;
    private static final int MAX_ERROR_CHARS = 300;

    private final Consumer<String> out;
    private final LongSupplier nanoTime;
    private long windowStart;
    private int inWindow;
    private long leftOut;

    FailureLog() {
        this(LoggerFactory.getLogger(FailureLog.class)::warn, System::nanoTime);
    }

    FailureLog(Consumer<String> out, LongSupplier nanoTime) {
        this.out = out;
        this.nanoTime = nanoTime;
        this.windowStart = nanoTime.getAsLong();
    }

    /** Logs what {@code transition} did to {@code job}, now in {@code status}, if it is a failure. */
    void written(ClaimedRow job, Transition transition, JobStatus status) {
        String line = line(job, transition, status);
        if (line != null) {
            write(line);
        }
    }

    private static @Nullable String line(ClaimedRow job, Transition transition, JobStatus status) {
        String attempt = "attempt " + job.attempt() + " of " + job.maxAttempts();
        String where = "Job " + job.id() + " of queue " + job.queue();
        if (transition instanceof Transition.Retry r) {
            String why = switch (r.cause()) {
                case TIMEOUT -> "timed out";
                case ERROR -> "failed";
                case OUTCOME -> "asked for a retry";
            };
            return status == JobStatus.PENDING
                    ? where + ": " + attempt + " " + why + "; retried later: " + firstLine(r.error())
                    : where + ": " + attempt + " " + why + " and was the last; ended " + status.databaseValue()
                            + ": " + firstLine(r.error());
        }
        if (transition instanceof Transition.Finish f && status != JobStatus.CANCELLED) {
            return where + ": ended " + status.databaseValue() + " after " + attempt + ": " + firstLine(f.error());
        }
        if (transition instanceof Transition.Reschedule && status == JobStatus.BAD_JOB) {
            return where + ": rescheduled too often; ended bad_job";
        }
        return null;
    }

    private static String firstLine(@Nullable String error) {
        if (error == null) {
            return "(no error recorded)";
        }
        int end = error.indexOf('\n');
        String first = (end < 0 ? error : error.substring(0, end)).strip();
        return first.length() <= MAX_ERROR_CHARS ? first : first.substring(0, MAX_ERROR_CHARS) + "...";
    }

    private synchronized void write(String line) {
        long now = nanoTime.getAsLong();
        if (now - windowStart >= TimeUnit.SECONDS.toNanos(1)) {
            windowStart = now;
            inWindow = 0;
        }
        if (inWindow >= MAX_PER_SECOND) {
            leftOut++;
            return;
        }
        inWindow++;
        if (leftOut > 0) {
            line += " (" + leftOut + " more failures were not logged, at most " + MAX_PER_SECOND + " lines a second)";
            leftOut = 0;
        }
        out.accept(line);
    }
}
