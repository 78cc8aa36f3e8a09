package io.github.reactivepgqueue.examples.webflux;

import io.github.reactivepgqueue.PgQueue;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import reactor.core.scheduler.Schedulers;

/**
 * Runs the {@link PgQueue} with the application: at start-up it migrates the schema and starts the
 * workers, before the web server takes requests; at shutdown, after the web server has stopped, it
 * closes the queue (stop claiming, let running handlers finish within the grace period, give the
 * rest back, write every outcome) without holding a thread, and tells Spring when it is done.
 *
 * <p>Start-up waits for the queue on the thread that refreshes the context (the application's
 * main thread), as every Spring start-up does; it refuses to run on a Reactor non-blocking thread.
 */
public final class PgQueueLifecycle implements SmartLifecycle {
    /**
     * Earlier than the web server's phases ({@code DEFAULT_PHASE - 2048} and
     * {@code DEFAULT_PHASE - 1024}), so the queue starts before requests come in and stops after
     * the last request has been answered.
     */
    public static final int PHASE = 0;

    private static final Logger log = LoggerFactory.getLogger(PgQueueLifecycle.class);

    private final PgQueue queue;
    private final Duration startTimeout;
    private final AtomicBoolean running = new AtomicBoolean();

    /** A lifecycle for {@code queue}, whose start may take up to {@code startTimeout}. */
    public PgQueueLifecycle(PgQueue queue, Duration startTimeout) {
        this.queue = queue;
        this.startTimeout = startTimeout;
    }

    @Override
    public void start() {
        refuseNonBlockingThread("start()");
        queue.migrate()
                .doOnNext(result -> log.info("Schema {}: {}", queue.schema(), result))
                .then(queue.start())
                .timeout(startTimeout)
                .block();
        running.set(true);
        log.info("Queue {} started", queue);
    }

    @Override
    public void stop(Runnable callback) {
        if (!running.compareAndSet(true, false)) {
            callback.run();
            return;
        }
        log.info("Closing queue {}", queue);
        queue.close()
                .doFinally(signal -> callback.run())
                .subscribe(done -> { }, error -> log.error("Closing the queue failed", error),
                        () -> log.info("Queue closed"));
    }

    /**
     * Closes the queue and waits for it (the library bounds the wait: the grace period, then as
     * long again for the outcome writes). Spring itself calls {@link #stop(Runnable)}, which waits
     * on no thread.
     */
    @Override
    public void stop() {
        refuseNonBlockingThread("stop()");
        if (running.compareAndSet(true, false)) {
            queue.close().block();
        }
    }

    private static void refuseNonBlockingThread(String method) {
        if (Schedulers.isInNonBlockingThread()) {
            throw new IllegalStateException("PgQueueLifecycle." + method + " waits for the database: call it from "
                    + "the thread that starts or closes the context, not from " + Thread.currentThread().getName());
        }
    }

    @Override
    public boolean isRunning() {
        return running.get();
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
