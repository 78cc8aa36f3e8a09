package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Every write after a claim is fenced by the claim's lease token. */
@ExtendWith(PostgresExtension.class)
class FencingIT {
    private final TestSchema db;
    private final PgQueue queue;

    FencingIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
        this.queue = db.queueBuilder().pollInterval(Duration.ofMillis(50)).build();
    }

    @BeforeEach
    void empty() {
        db.execute("DELETE FROM {schema}.jobs");
    }

    @Test
    void aStreamThatEndsAfterOneElementGivesTheJobBack() {
        queue.enqueue(NewJob.of("fenced", 1)).block(TIMEOUT);
        ClaimedJob claimed = queue.jobs("fenced").take(1).blockFirst(TIMEOUT);
        // take(1) cancelled the stream after the first element, which released the job again
        assertThat(claimed).isNotNull();
        org.awaitility.Awaitility.await().atMost(TIMEOUT)
                .until(() -> db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'pending'") == 1);
        Map<String, Object> row = db.query("SELECT status, attempt, lease FROM {schema}.jobs").get(0);
        assertThat(row).containsEntry("status", "pending").containsEntry("attempt", 0);
        assertThat(row.get("lease")).isNull();
    }

    @Test
    void anOutcomeWhoseLeaseIsNoLongerCurrentChangesNothingAndIsCounted() {
        queue.enqueue(NewJob.of("fenced", 1)).block(TIMEOUT);
        List<ClaimedJob> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        var subscription = queue.jobs("fenced").subscribe(held::add);
        try {
            org.awaitility.Awaitility.await().atMost(TIMEOUT).until(() -> held.size() == 1);
            Map<String, Object> claimedRow = db.query("SELECT status, attempt, lease, heartbeat_at FROM {schema}.jobs").get(0);
            assertThat(claimedRow).containsEntry("status", "running").containsEntry("attempt", 1);
            assertThat(claimedRow.get("lease")).isNotNull();
            assertThat(claimedRow.get("heartbeat_at")).isNotNull();

            // another node took the job over meanwhile (a rescue and a new claim): a new lease
            db.execute("UPDATE {schema}.jobs SET lease = gen_random_uuid(), attempt = 2");
            long staleBefore = queue.staleWrites();

            held.get(0).complete(Outcome.success()).block(TIMEOUT);

            Map<String, Object> row = db.query("SELECT status, attempt FROM {schema}.jobs").get(0);
            assertThat(row).containsEntry("status", "running").containsEntry("attempt", 2);
            assertThat(queue.staleWrites()).isEqualTo(staleBefore + 1);
        } finally {
            subscription.dispose();
        }
    }

    @Test
    void aStaleCompletionAmongFreshOnesChangesOnlyItsOwnRowAndIsCountedOnce() {
        queue.enqueueAll(List.of(NewJob.of("fenced", 1), NewJob.of("fenced", 2), NewJob.of("fenced", 3)))
                .then().block(TIMEOUT);
        List<ClaimedJob> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        var subscription = queue.jobs("fenced").subscribe(held::add);
        try {
            org.awaitility.Awaitility.await().atMost(TIMEOUT).until(() -> held.size() == 3);
            db.execute("UPDATE {schema}.jobs SET lease = gen_random_uuid() WHERE id = '" + held.get(1).job().id() + "'");
            long staleBefore = queue.staleWrites();

            // completed together, so they usually share one statement
            reactor.core.publisher.Mono.when(held.stream().map(j -> j.complete(Outcome.success())).toList())
                    .block(TIMEOUT);

            assertThat(db.query("SELECT id, status FROM {schema}.jobs WHERE status = 'running'"))
                    .singleElement().satisfies(row -> assertThat(row).containsEntry("id", held.get(1).job().id()));
            assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'completed'")
                    + db.count("SELECT count(*) FROM {schema}.jobs_archive WHERE status = 'completed'")).isEqualTo(2);
            assertThat(queue.staleWrites()).isEqualTo(staleBefore + 1);
        } finally {
            subscription.dispose();
        }
    }
}
