package io.github.reactivepgqueue.proof;

import io.github.reactivepgqueue.MissedSlots;
import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.PgQueueBuilder;
import io.github.reactivepgqueue.Schedule;
import io.github.reactivepgqueue.testing.DatabaseCoordinates;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import reactor.core.publisher.Mono;

/**
 * A worker node in a process of its own, started by {@link WorkerProcess} so that a test can
 * {@code kill -9} it or send it SIGTERM. Arguments are {@code key=value}: {@code host}, {@code port},
 * {@code database}, {@code user}, {@code schema}, {@code queue}, {@code node} (also the application
 * name of its sessions), {@code concurrency}, {@code heartbeatMs}, {@code graceMs}, {@code pollMs};
 * the password comes in the environment variable {@value #PASSWORD_VARIABLE}, never on the command
 * line. The handler records every claim in the schema's {@link LedgerTable} and sleeps (without
 * blocking) for the job's {@code sleepMs} payload field before it succeeds. SIGTERM closes the node
 * with its stop grace period. Prints {@value #READY} once the node has started.
 *
 * <p>With {@code schedules=n}, {@code everyMs} and {@code startAt} (an ISO instant), the node also
 * declares the schedules {@code slot-0} .. {@code slot-<n-1>} of its queue, each every
 * {@code everyMs} from {@code startAt}, catching up on every missed slot; their payload carries
 * the schedule and the slot, which the handler records in the schema's {@link SlotLedger}.
 */
public final class WorkerMain {
    static final String PASSWORD_VARIABLE = "PGQUEUE_PROOF_PASSWORD";
    static final String READY = "WORKER READY";

    private WorkerMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        Map<String, String> arg = new HashMap<>();
        for (String a : args) {
            String[] kv = a.split("=", 2);
            arg.put(kv[0], kv[1]);
        }
        String node = arg.get("node");
        Duration grace = Duration.ofMillis(Long.parseLong(arg.get("graceMs")));
        DatabaseCoordinates db = new DatabaseCoordinates(arg.get("host"), Integer.parseInt(arg.get("port")),
                arg.get("database"), arg.get("user"), System.getenv().getOrDefault(PASSWORD_VARIABLE, ""), "parent test");
        int concurrency = Integer.parseInt(arg.get("concurrency"));
        ConnectionPool pool = new ConnectionPool(ConnectionPoolConfiguration.builder(db.connectionFactory(node))
                .initialSize(0).maxSize(10).maxAcquireTime(Duration.ofSeconds(5)).build());
        // the ledger has a pool of its own: its inserts must not delay the node's heartbeat
        ConnectionPool ledgerPool = new ConnectionPool(ConnectionPoolConfiguration.builder(db.connectionFactory(node))
                .initialSize(0).maxSize(10).maxAcquireTime(Duration.ofSeconds(5)).build());
        Ledger ledger = new LedgerTable(ledgerPool, arg.get("schema"));
        int schedules = Integer.parseInt(arg.getOrDefault("schedules", "0"));
        SlotLedger slots = new SlotLedger(ledgerPool, arg.get("schema"));
        PgQueueBuilder builder = PgQueue.builder(pool).schema(arg.get("schema")).janitor(false)
                .listenerConnectionFactory(db.connectionFactory(node))
                .globalConcurrency(concurrency).defaultQueueConcurrency(concurrency)
                .heartbeatInterval(Duration.ofMillis(Long.parseLong(arg.get("heartbeatMs"))))
                .connectionAcquireTimeout(Duration.ofMillis(Long.parseLong(arg.get("heartbeatMs"))))
                .pollInterval(Duration.ofMillis(Long.parseLong(arg.get("pollMs"))))
                .stopGracePeriod(grace)
                .handler(ledger.handler(arg.get("queue"), node, job -> (job.payload().has("slot")
                        ? slots.record(job, node) : Mono.<Void>empty())
                        .then(Mono.delay(Duration.ofMillis(job.payload().path("sleepMs").asLong(0))))
                        .thenReturn(Outcome.success())));
        for (int i = 0; i < schedules; i++) {
            builder.schedule(Schedule.every("slot-" + i, arg.get("queue"),
                            Duration.ofMillis(Long.parseLong(arg.get("everyMs"))))
                    .startAt(Instant.parse(arg.get("startAt")))
                    .missed(MissedSlots.catchUp(MissedSlots.CatchUp.MAX))
                    .payload((name, slot) -> Map.of("schedule", name, "slot", slot.toString())));
        }
        PgQueue queue = builder.build();
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            long start = System.nanoTime();
            try {
                queue.close().block(grace.multipliedBy(3).plusSeconds(10));
                pool.disposeLater().block(Duration.ofSeconds(10));
                ledgerPool.disposeLater().block(Duration.ofSeconds(10));
                System.out.printf("%s closed in %d ms%n", node, (System.nanoTime() - start) / 1_000_000);
            } finally {
                closed.countDown();
            }
        }, "worker-shutdown"));
        queue.start().block(Duration.ofSeconds(60));
        System.out.println(READY);
        System.out.flush();
        closed.await();
    }
}
