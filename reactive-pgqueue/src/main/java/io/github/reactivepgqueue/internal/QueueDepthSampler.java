package io.github.reactivepgqueue.internal;

import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Samples the pending jobs of every queue for the depth gauges: one grouped statement per
 * interval (never one per scrape), only while metrics are on and the queue is started; a failed
 * sample is logged once per incident and the gauges keep their last values.
 */
public final class QueueDepthSampler {
    private static final Logger log = LoggerFactory.getLogger(QueueDepthSampler.class);

    private final Db db;
    private final Sql sql;
    private final QueueMetrics metrics;
    private final RepeatingTask task;

    public QueueDepthSampler(Db db, Sql sql, QueueMetrics metrics, Duration interval, Scheduler timer) {
        this.db = db;
        this.sql = sql;
        this.metrics = metrics;
        this.task = new RepeatingTask("Sampling queue depths", interval, this::sampleOnce, log, timer);
    }

    /** Starts sampling: the first sample at once, then every interval. */
    public void start() {
        task.start(Duration.ZERO, Flux.never());
    }

    public void stop() {
        task.stop();
    }

    /** Takes one sample and hands it to the metrics. */
    public Mono<Void> sampleOnce() {
        return db.transaction(conn -> R2dbc.query(conn.createStatement(sql.get(SqlName.MetricsQueueDepth)),
                        row -> new QueueMetrics.QueueDepth(row.get("queue", String.class),
                                row.get("due", Long.class), row.get("scheduled", Long.class),
                                row.get("oldest_due_seconds", Double.class))))
                .collectList()
                .doOnNext(metrics::queueDepths)
                .then();
    }
}
