package io.github.reactivepgqueue.proof;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Recurring jobs across nodes that are started, stopped, killed with {@code kill -9} and restarted
 * at random: every slot gets exactly one job, and every slot's job runs. Three worker processes
 * declare the same schedules (one second apart, catching up on missed slots); the test churns
 * them, at least once with all three down at the same time, until the last slot has passed, then
 * reads the witness: the handlers record each slot's schedule, slot and job id in a table of their
 * own ({@link SlotLedger}), not the queue's. A slot with two job ids would be a duplicate; a slot
 * missing from it, a missed slot.
 *
 * <p>Always: 10 schedules over 20 s (200 slots). Heavy ({@code -Dpgqueue.test.heavy=true} or the
 * profile {@code heavy-tests}): 10 schedules over 100 s, 1,000 slots, with more churn.
 */
@ExtendWith(PostgresExtension.class)
class ScheduleCrashIT {
    private static final String QUEUE = "slots";
    private static final int SCHEDULES = 10;
    private static final Duration EVERY = Duration.ofSeconds(1);
    private static final Duration HEARTBEAT = Duration.ofSeconds(1);

    private final TestSchema db;
    private final SlotLedger ledger;
    private final List<WorkerProcess> started = new ArrayList<>();
    private final Random random = new Random(Long.getLong("pgqueue.test.seed", System.nanoTime()));

    ScheduleCrashIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
        new LedgerTable(db.connectionFactory(), db.name()).create();
        this.ledger = new SlotLedger(db.connectionFactory(), db.name()).create();
    }

    @AfterEach
    void killAll() {
        started.forEach(WorkerProcess::close);
    }

    private WorkerProcess launch(String node, Instant startAt) {
        WorkerProcess worker = WorkerProcess.launch(db.coordinates(), node,
                new WorkerProcess.Options(db.name(), QUEUE, 50, HEARTBEAT, Duration.ofSeconds(2), Duration.ofSeconds(1)),
                List.of("schedules=" + SCHEDULES, "everyMs=" + EVERY.toMillis(), "startAt=" + startAt));
        started.add(worker);
        return worker;
    }

    private static void pause(Duration d) {
        await().pollDelay(d).atMost(d.plusSeconds(5)).until(() -> true);
    }

    @Test
    void everySlotGetsExactlyOneJobThroughKillsStopsAndRestarts() {
        boolean heavy = Boolean.getBoolean("pgqueue.test.heavy");
        Duration span = Duration.ofSeconds(heavy ? 100 : 20);
        Instant startAt = db.now().plusSeconds(5).truncatedTo(ChronoUnit.SECONDS);
        Instant end = startAt.plus(span); // the slots from startAt to before end are checked
        Map<Integer, WorkerProcess> nodes = new HashMap<>();
        for (int i = 0; i < 3; i++) {
            nodes.put(i, launch("slots-" + i + "-0", startAt));
        }
        nodes.values().forEach(WorkerProcess::awaitReady);

        List<String> events = new ArrayList<>();
        int generation = 1;
        boolean allDownOnce = false;
        while (db.now().isBefore(end)) {
            pause(Duration.ofMillis(500 + random.nextInt(heavy ? 3000 : 1500)));
            if (!allDownOnce && db.now().isAfter(startAt.plus(span.dividedBy(2)))) {
                // every node down at once: slots pass with nobody to enqueue them
                nodes.values().forEach(WorkerProcess::kill);
                events.add("all killed at " + db.now());
                pause(Duration.ofMillis(2500));
                for (int i = 0; i < 3; i++) {
                    nodes.put(i, launch("slots-" + i + "-" + generation, startAt));
                }
                generation++;
                allDownOnce = true;
                continue;
            }
            int i = random.nextInt(3);
            WorkerProcess node = nodes.get(i);
            if (random.nextBoolean()) {
                node.kill();
                events.add("killed " + node.node());
            } else {
                node.terminate();
                node.waitFor(Duration.ofSeconds(30));
                events.add("stopped " + node.node());
            }
            pause(Duration.ofMillis(200 + random.nextInt(1500)));
            nodes.put(i, launch("slots-" + i + "-" + generation++, startAt));
        }
        nodes.values().forEach(WorkerProcess::awaitReady);

        // every slot before the end has run somewhere (killed handlers' jobs are rescued and rerun)
        Set<String> expected = new TreeSet<>();
        for (int s = 0; s < SCHEDULES; s++) {
            for (Instant slot = startAt; slot.isBefore(end); slot = slot.plus(EVERY)) {
                expected.add("slot-" + s + " " + slot);
            }
        }
        await("every slot run").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(500))
                .until(() -> ran().containsAll(expected));

        List<Map<String, Object>> slots = ledger.slots();
        List<String> duplicates = slots.stream().filter(r -> ((Number) r.get("jobs")).longValue() != 1)
                .map(r -> r.get("schedule") + " " + r.get("slot") + ": " + r.get("jobs") + " jobs").toList();
        assertThat(duplicates).as("slots with more than one job (events: %s)", events).isEmpty();
        assertThat(ran()).as("slots run").containsAll(expected);
        assertThat(expected).hasSize(SCHEDULES * (int) span.toSeconds());
        // the queue's own tables agree: one job per slot, wherever it is now
        assertThat(db.count("SELECT count(*) FROM (SELECT unique_key FROM (SELECT unique_key FROM {schema}.jobs "
                + "UNION ALL SELECT unique_key FROM {schema}.jobs_archive) AS j GROUP BY unique_key "
                + "HAVING count(*) > 1) AS twice")).isZero();
    }

    /** The slots the ledger shows run, as "schedule slot". */
    private Set<String> ran() {
        Set<String> ran = new TreeSet<>();
        ledger.slots().forEach(r -> ran.add(r.get("schedule") + " " + r.get("slot")));
        return ran;
    }
}
