package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.StatementCounter;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.postgresql.codec.Json;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

@ExtendWith(PostgresExtension.class)
class EnqueueIT {
    record Order(String sku, int quantity, Instant placedAt) {
    }

    private final TestSchema db;
    private final PgQueue queue;

    EnqueueIT(TestSchema db) {
        this.db = db;
        this.queue = db.migratedQueue();
    }

    @BeforeEach
    void empty() {
        db.execute("DELETE FROM {schema}.jobs");
    }

    @Test
    void storesEveryColumnOfANewJob() throws Exception {
        Instant placedAt = Instant.parse("2026-01-02T03:04:05Z");
        EnqueueResult result = queue.enqueue(NewJob.of("orders", new Order("sku-1", 3, placedAt))
                .uniqueKey("order-1").fingerprint("customer-7").maxAttempts(7).priority(-2)
                .delay(Duration.ofMinutes(10))).block(TIMEOUT);

        assertThat(result).isInstanceOf(EnqueueResult.Enqueued.class);
        Map<String, Object> row = db.query("SELECT *, extract(epoch FROM run_at - created_at)::float8 AS delay_seconds "
                + "FROM {schema}.jobs WHERE id = $1", result.id()).get(0);
        assertThat(row.get("queue")).isEqualTo("orders");
        assertThat(JobStatus.fromDatabase((String) row.get("status"))).isEqualTo(JobStatus.PENDING);
        assertThat(row.get("priority")).isEqualTo(-2);
        JsonNode payload = new ObjectMapper().readTree(((Json) row.get("payload")).asString());
        assertThat(payload.get("sku").asText()).isEqualTo("sku-1");
        assertThat(payload.get("quantity").asInt()).isEqualTo(3);
        assertThat(payload.get("placedAt").asText()).isEqualTo("2026-01-02T03:04:05Z");
        assertThat(row.get("unique_key")).isEqualTo("order-1");
        assertThat(row.get("fingerprint")).isEqualTo("customer-7");
        assertThat(row.get("attempt")).isEqualTo(0);
        assertThat(row.get("max_attempts")).isEqualTo(7);
        assertThat(row.get("reprocess_count")).isEqualTo(0);
        assertThat(row.get("lease")).isNull();
        assertThat(row.get("heartbeat_at")).isNull();
        assertThat(row.get("completed_at")).isNull();
        assertThat(row.get("last_error")).isNull();
        assertThat(row.get("updated_at")).isEqualTo(row.get("created_at"));
        // run_at comes from the database clock: exactly the delay after created_at
        assertThat(row.get("delay_seconds")).isEqualTo(600.0);
        assertThat(UuidVersion.of(result.id())).isEqualTo(7);
    }

    @Test
    void appliesDefaultsAndAnAbsoluteRunAt() {
        Instant runAt = Instant.now().plus(1, ChronoUnit.DAYS).truncatedTo(ChronoUnit.MICROS);
        UUID id = queue.enqueue(NewJob.of("reports", Map.of("k", "v")).runAt(runAt)).block(TIMEOUT).id();
        Map<String, Object> row = db.row("jobs", id);
        assertThat(row.get("max_attempts")).isEqualTo(PgQueueBuilder.DEFAULT_MAX_ATTEMPTS);
        assertThat(row.get("priority")).isEqualTo(0);
        assertThat(row.get("unique_key")).isNull();
        assertThat(((OffsetDateTime) row.get("run_at")).toInstant()).isEqualTo(runAt);
    }

    @Test
    void aDuplicateUniqueKeyReturnsTheHolderUntilTheHolderFinishes() {
        UUID holder = queue.enqueue(NewJob.of("mail", "a").uniqueKey("welcome:42")).block(TIMEOUT).id();

        EnqueueResult again = queue.enqueue(NewJob.of("mail", "b").uniqueKey("welcome:42")).block(TIMEOUT);
        assertThat(again).isEqualTo(new EnqueueResult.Duplicate(holder, "welcome:42"));
        assertThat(db.rows("jobs")).isEqualTo(1);

        db.execute("UPDATE {schema}.jobs SET status = 'running' WHERE id = $1", holder);
        assertThat(queue.enqueue(NewJob.of("mail", "c").uniqueKey("welcome:42")).block(TIMEOUT))
                .isEqualTo(new EnqueueResult.Duplicate(holder, "welcome:42"));

        db.execute("UPDATE {schema}.jobs SET status = 'completed' WHERE id = $1", holder);
        EnqueueResult afterFinish = queue.enqueue(NewJob.of("mail", "d").uniqueKey("welcome:42")).block(TIMEOUT);
        assertThat(afterFinish).isInstanceOf(EnqueueResult.Enqueued.class);
        assertThat(afterFinish.id()).isNotEqualTo(holder);
        assertThat(db.rows("jobs")).isEqualTo(2);
    }

    @Test
    void aBatchMixingNewJobsExistingKeysAndRepeatedKeysAnswersInInputOrder() {
        UUID existing = queue.enqueue(NewJob.of("q", 0).uniqueKey("k-existing")).block(TIMEOUT).id();

        List<EnqueueResult> results = queue.enqueueAll(List.of(
                NewJob.of("q", 1),
                NewJob.of("q", 2).uniqueKey("k-existing"),
                NewJob.of("q", 3).uniqueKey("k-new"),
                NewJob.of("q", 4).uniqueKey("k-new"),
                NewJob.of("q", 5))).block(TIMEOUT);

        assertThat(results).hasSize(5);
        assertThat(results.get(0)).isInstanceOf(EnqueueResult.Enqueued.class);
        assertThat(results.get(1)).isEqualTo(new EnqueueResult.Duplicate(existing, "k-existing"));
        assertThat(results.get(2)).isInstanceOf(EnqueueResult.Enqueued.class);
        assertThat(results.get(3)).isEqualTo(new EnqueueResult.Duplicate(results.get(2).id(), "k-new"));
        assertThat(results.get(4)).isInstanceOf(EnqueueResult.Enqueued.class);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE payload IN ('1','3','5')")).isEqualTo(3);
        assertThat(db.rows("jobs")).isEqualTo(4);
    }

    @Test
    void concurrentBatchesWithTheSameKeysInOppositeOrdersAllCompleteWithOneLiveJobPerKey() {
        // several batches per call (batch size 40), so the order must hold across a call's batches too
        PgQueue batched = db.queueBuilder().enqueueBatchSize(40).build();
        int keys = 150;
        for (int round = 0; round < 3; round++) {
            List<String> ascending = new ArrayList<>();
            for (int k = 0; k < keys; k++) {
                ascending.add("r" + round + "-key-" + k);
            }
            List<List<String>> calls = new ArrayList<>();
            for (int c = 0; c < 8; c++) {
                List<String> order = new ArrayList<>(ascending);
                if (c % 2 == 1) {
                    Collections.reverse(order);
                }
                calls.add(order);
            }

            List<List<EnqueueResult>> results = Flux.fromIterable(calls)
                    .flatMapSequential(order -> batched.enqueueAll(order.stream()
                            .map(key -> NewJob.of("keys", Map.of("key", key)).uniqueKey(key)).toList()), calls.size())
                    .collectList().block(TIMEOUT);

            Map<String, UUID> holders = new HashMap<>();
            db.query("SELECT unique_key, id FROM {schema}.jobs WHERE unique_key LIKE $1", "r" + round + "-%")
                    .forEach(row -> assertThat(holders.put((String) row.get("unique_key"), (UUID) row.get("id")))
                            .as("one live job per key").isNull());
            assertThat(holders).hasSize(keys);
            for (int c = 0; c < calls.size(); c++) {
                List<String> order = calls.get(c);
                assertThat(results.get(c)).hasSize(keys);
                for (int i = 0; i < keys; i++) {
                    // results in the call's input order: result i is about key i of that call
                    EnqueueResult result = results.get(c).get(i);
                    assertThat(result.id()).isEqualTo(holders.get(order.get(i)));
                    if (result instanceof EnqueueResult.Duplicate duplicate) {
                        assertThat(duplicate.uniqueKey()).isEqualTo(order.get(i));
                    }
                }
            }
            long enqueued = results.stream().flatMap(List::stream).filter(r -> r instanceof EnqueueResult.Enqueued).count();
            assertThat(enqueued).isEqualTo(keys);
        }
    }

    @Test
    void tenThousandJobsTakeOneStatementPerBatch() {
        StatementCounter counter = new StatementCounter(db.connectionFactory());
        PgQueue counted = PgQueue.builder(counter).schema(db.name()).enqueueBatchSize(1000).build();
        List<NewJob> jobs = IntStream.range(0, 10_000)
                .mapToObj(i -> NewJob.of("bulk", Map.of("n", i)).uniqueKey(i % 10 == 0 ? "key-" + (i % 20) : null))
                .toList();

        List<EnqueueResult> results = counted.enqueueAll(jobs).block(TIMEOUT);

        assertThat(counter.work()).hasSize(10).allMatch(sql -> sql.contains("INSERT INTO"));
        assertThat(results).hasSize(10_000);
        assertThat(results.stream().filter(EnqueueResult::isDuplicate)).hasSize(998);
        assertThat(db.rows("jobs")).isEqualTo(9_002);
        // input order is kept: result i carries payload n = i
        UUID tenth = results.get(1234).id();
        assertThat(db.count("SELECT (payload->>'n')::int FROM {schema}.jobs WHERE id = $1", tenth)).isEqualTo(1234);
    }

    @Test
    void aBatchWithoutUniqueKeysTakesThePlainInsertAndABatchWithOneTakesTheResolvingOne() {
        StatementCounter counter = new StatementCounter(db.connectionFactory());
        PgQueue counted = PgQueue.builder(counter).schema(db.name()).enqueueBatchSize(1000).build();
        List<NewJob> jobs = IntStream.range(0, 2000)
                .mapToObj(i -> NewJob.of("plain", Map.of("n", i)).uniqueKey(i == 1500 ? "only-key" : null))
                .toList();

        List<EnqueueResult> results = counted.enqueueAll(jobs).block(TIMEOUT);

        List<String> inserts = counter.work();
        assertThat(inserts).hasSize(2);
        assertThat(inserts.get(0)).doesNotContain("ON CONFLICT"); // jobs 0..999: no key
        assertThat(inserts.get(1)).contains("ON CONFLICT"); // jobs 1000..1999: one key
        assertThat(results).hasSize(2000).allMatch(r -> r instanceof EnqueueResult.Enqueued);
        assertThat(results.stream().map(EnqueueResult::id).distinct()).hasSize(2000);
        assertThat(db.rows("jobs")).isEqualTo(2000);
        UUID job700 = results.get(700).id();
        assertThat(db.count("SELECT (payload->>'n')::int FROM {schema}.jobs WHERE id = $1", job700)).isEqualTo(700);
    }

    @Test
    void anInvalidJobInABatchFailsTheWholeCallAndWritesNothing() {
        List<NewJob> jobs = new ArrayList<>();
        for (int i = 0; i < 2500; i++) {
            jobs.add(NewJob.of("q", i));
        }
        jobs.add(NewJob.of("q", 1).maxAttempts(0));
        queue.enqueueAll(jobs).as(StepVerifier::create)
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(InvalidJobException.class)
                        .hasMessageContaining("maxAttempts"))
                .verify(TIMEOUT);
        assertThat(db.rows("jobs")).isZero();
    }

    @Test
    void aBatchTheDatabaseRefusesRollsBackTheEarlierBatchesOfTheSameCall() {
        db.execute("ALTER TABLE {schema}.jobs ADD CONSTRAINT test_no_poison CHECK (payload <> '\"poison\"')");
        try {
            List<NewJob> jobs = new ArrayList<>();
            for (int i = 0; i < 1500; i++) {
                jobs.add(NewJob.of("q", i));
            }
            jobs.add(NewJob.of("q", "poison")); // in the second batch
            PgQueue small = db.queueBuilder().enqueueBatchSize(1000).build();
            small.enqueueAll(jobs).as(StepVerifier::create)
                    .expectErrorSatisfies(e -> assertThat(e).hasMessageContaining("test_no_poison"))
                    .verify(TIMEOUT);
            assertThat(db.rows("jobs")).isZero();
        } finally {
            db.execute("ALTER TABLE {schema}.jobs DROP CONSTRAINT test_no_poison");
        }
    }

    @Test
    void queueNamesAndKeysAreStoredVerbatim() {
        List<String> names = List.of("it's", "x\"; DROP TABLE jobs;--", "'; DELETE FROM jobs; --", "%s%n", "ünïcødé 队列",
                "$1", "/*schema*/", "a\\b", "  spaced  ");
        for (String name : names) {
            UUID id = queue.enqueue(NewJob.of(name, name).uniqueKey(name).fingerprint(name)).block(TIMEOUT).id();
            Map<String, Object> row = db.query("SELECT queue, unique_key, fingerprint, payload #>> '{}' AS p "
                    + "FROM {schema}.jobs WHERE id = $1", id).get(0);
            assertThat(row).containsEntry("queue", name).containsEntry("unique_key", name)
                    .containsEntry("fingerprint", name).containsEntry("p", name);
        }
        assertThat(db.rows("jobs")).isEqualTo(names.size());
    }

    private static final class UuidVersion {
        static int of(UUID id) {
            return id.version();
        }
    }
}
