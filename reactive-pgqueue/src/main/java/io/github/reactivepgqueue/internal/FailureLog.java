package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.JobStatus;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.LoggerFactory;

/**
 * One WARN line for each failed attempt and each job that ends dead: the queue, the job's id, the
 * attempt and the class of the error, never its message, which may quote the payload (the
 * message and the stack are in the job's {@code last_error}). A burst of failures is cut to
 * {@link #MAX_PER_SECOND} lines a second; the next line written says how many were left out.
 */
final class FailureLog {
    static final int MAX_PER_SECOND = 20;
    private static final int MAX_CLASS_CHARS = 200;
    private static final String SEE_LAST_ERROR = " (the error is in the job's last_error)";

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
                case ERROR -> "failed (" + errorClass(r.error()) + ")";
                case OUTCOME -> "asked for a retry";
            };
            return status == JobStatus.PENDING
                    ? where + ": " + attempt + " " + why + "; retried later" + SEE_LAST_ERROR
                    : where + ": " + attempt + " " + why + " and was the last; ended " + status.databaseValue()
                            + SEE_LAST_ERROR;
        }
        if (transition instanceof Transition.Finish && status != JobStatus.CANCELLED) {
            return where + ": ended " + status.databaseValue() + " after " + attempt + SEE_LAST_ERROR;
        }
        if (transition instanceof Transition.Reschedule && status == JobStatus.BAD_JOB) {
            return where + ": rescheduled too often; ended bad_job";
        }
        return null;
    }

    /** The class name an error text starts with (the text is class, message, stack). */
    private static String errorClass(@Nullable String error) {
        if (error == null) {
            return "no error recorded";
        }
        int end = error.length();
        for (char stop : new char[] {':', '\n', ' '}) {
            int at = error.indexOf(stop);
            if (at >= 0 && at < end) {
                end = at;
            }
        }
        return error.substring(0, Math.min(end, MAX_CLASS_CHARS));
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
