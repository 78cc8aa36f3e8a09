package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.Outcome;
import java.util.Locale;
import java.util.concurrent.TimeoutException;

/** How a handler call ended, as a metric tag: the outcome it returned, or what went wrong. */
public enum HandlerResult {
    SUCCESS, RETRY, RESCHEDULE, CANCEL, CRITICAL, UNPROCESSABLE,
    /** An error, a thrown exception, {@code null} or an empty result: a failed attempt. */
    ERROR,
    /** The handler ran past the queue's timeout and was cancelled: a failed attempt. */
    TIMEOUT,
    /** The handler was cancelled before it ended: a stop past its grace period, or the job's lease was lost. */
    ABORTED;

    private final String tag = name().toLowerCase(Locale.ROOT);

    /** The tag value: the name in lower case. */
    public String tag() {
        return tag;
    }

    static HandlerResult of(Outcome outcome) {
        if (outcome instanceof Outcome.Success) {
            return SUCCESS;
        }
        if (outcome instanceof Outcome.Retry) {
            return RETRY;
        }
        if (outcome instanceof Outcome.Reschedule) {
            return RESCHEDULE;
        }
        JobStatus status = ((Outcome.Finish) outcome).status();
        return switch (status) {
            case CANCELLED -> CANCEL;
            case CRITICAL -> CRITICAL;
            case UNPROCESSABLE -> UNPROCESSABLE;
            default -> ERROR; // no other status can be an outcome
        };
    }

    static HandlerResult of(Throwable error) {
        return error instanceof TimeoutException ? TIMEOUT : ERROR;
    }
}
