package io.github.reactivepgqueue.internal;

import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;

/**
 * Logs a background loop's failures once per incident: the first failure of a run of failures
 * at WARN, the recovery at INFO, and the retries in between at DEBUG only.
 */
final class IncidentLog {
    private final Logger log;
    private final String what;
    private final AtomicBoolean failing = new AtomicBoolean();

    public IncidentLog(Logger log, String what) {
        this.log = log;
        this.what = what;
    }

    public void failed(Throwable error) {
        if (failing.compareAndSet(false, true)) {
            log.warn("{} failed; retrying with backoff until it works again: {}", what, ErrorText.summary(error));
        } else {
            log.debug("{} failed again: {}", what, ErrorText.summary(error));
        }
    }

    /** A failure that is not retried: logged once at WARN, so a start nobody awaits still leaves a trace. */
    public void gaveUp(Throwable error) {
        log.warn("{} failed, not retried: {}", what, ErrorText.summary(error));
    }

    public void succeeded() {
        if (failing.compareAndSet(true, false)) {
            log.info("{} works again", what);
        }
    }
}
