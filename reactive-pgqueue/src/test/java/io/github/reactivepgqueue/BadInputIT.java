package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Mono;

/**
 * Bad input on a running node: every bad job ends as a clear failure (dead-lettered by the
 * janitor) or is stored as plain data, and after each one the node still runs a normal job. The
 * enqueue-side rejections (blank names, NUL, limits, deep nesting) are in {@link EnqueueValidationIT}.
 */
@ExtendWith(PostgresExtension.class)
class BadInputIT {
    private static final String QUEUE = "orders";

    /** What the handler of {@link #QUEUE} expects. */
    record Order(String id, int amount) {
    }

    private final TestSchema db;
    private final Map<UUID, Order> handled = new ConcurrentHashMap<>();
    private PgQueue node;

    BadInputIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
    }

    @BeforeEach
    void startNode() {
        db.deleteAllJobs();
        node = startedNode(db.queueBuilder().maxPayloadBytes(8 * 1024 * 1024));
    }

    @AfterEach
    void stopNode() {
        if (node != null) {
            node.close().block(TIMEOUT);
        }
    }

    private PgQueue startedNode(PgQueueBuilder builder) {
        PgQueue queue = builder.pollInterval(Duration.ofMillis(50))
                .janitor(true).janitorInterval(Duration.ofMillis(100))
                .handler(ReactiveHandler.of(QUEUE, job -> {
                    Order order = job.payload(Order.class);
                    handled.put(job.id(), order);
                    return Mono.just(Outcome.success());
                }), QueueOptions.defaults().backoff(Backoff.linear(Duration.ZERO)))
                .build();
        queue.start().block(TIMEOUT);
        return queue;
    }

    static Stream<Arguments> payloadsThatDoNotFit() {
        Map<String, Object> deep = new LinkedHashMap<>();
        Map<String, Object> at = deep;
        for (int i = 0; i < 500; i++) {
            Map<String, Object> inner = new LinkedHashMap<>();
            at.put("x", inner);
            at = inner;
        }
        return Stream.of(
                Arguments.of("text that is not JSON, stored as a JSON string", "{\"id\": \"o-1\", amount: }"),
                Arguments.of("a number", 42),
                Arguments.of("an array", List.of(1, 2, 3)),
                Arguments.of("wrong type of a field", Map.of("id", "o-1", "amount", "lots")),
                Arguments.of("an int field overflowing", Map.of("id", "o-1", "amount", 1L << 40)),
                Arguments.of("unknown fields", Map.of("id", "o-1", "amount", 1, "evil", true)),
                Arguments.of("deep nesting", deep));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("payloadsThatDoNotFit")
    void aPayloadThatDoesNotFitTheHandlersClassEndsUnprocessableWithoutAnotherAttempt(String what, Object payload) {
        UUID bad = node.enqueue(NewJob.of(QUEUE, payload).maxAttempts(2)).block(TIMEOUT).id();

        Map<String, Object> dead = awaitDead(bad);
        assertThat(dead.get("status")).isEqualTo("unprocessable");
        assertThat(dead.get("attempt")).as("not retried: every attempt would read the same payload").isEqualTo(1);
        assertThat((String) dead.get("last_error")).contains("UnreadablePayloadException")
                .contains("does not fit " + Order.class.getName());
        assertThat(handled).doesNotContainKey(bad);
        assertANormalJobStillRuns();
    }

    @Test
    void aFiveMegabyteStringUnderTheConfiguredLimitIsProcessed() {
        String big = "x".repeat(5 * 1024 * 1024);
        UUID id = node.enqueue(NewJob.of(QUEUE, new Order(big, 7))).block(TIMEOUT).id();

        awaitArchived(id);
        assertThat(handled.get(id).id()).hasSize(big.length());
        assertANormalJobStillRuns();
    }

    @Test
    void aFiveMegabyteStringOverTheDefaultLimitIsRejectedAtEnqueue() {
        PgQueue defaults = db.queueBuilder().build();
        assertThat(PgQueueBuilder.DEFAULT_MAX_PAYLOAD_BYTES).isLessThan(5 * 1024 * 1024);
        Mono<EnqueueResult> enqueue = defaults.enqueue(NewJob.of(QUEUE, "x".repeat(5 * 1024 * 1024)));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> enqueue.block(TIMEOUT))
                .isInstanceOf(InvalidJobException.class)
                .hasMessageContaining("over the limit of " + PgQueueBuilder.DEFAULT_MAX_PAYLOAD_BYTES);
        assertThat(db.rows("jobs")).isZero();
        assertANormalJobStillRuns();
    }

    // ---------------------------------------------------------------------------------------------
    // payloads that PostgreSQL stores but the ObjectMapper cannot read back: each must fail alone,
    // not the claim that took it along with other jobs

    @Test
    void aPropertyNameLongerThanJacksonReadsFailsThatJobAloneAsUnprocessable() {
        // Jackson writes any name, but reads names of at most 50,000 characters (StreamReadConstraints)
        UUID bad = node.enqueue(NewJob.of(QUEUE, Map.of("k".repeat(60_000), 1)).maxAttempts(2)).block(TIMEOUT).id();
        assertFailsAloneUnreadable(bad);
    }

    @Test
    void aNumberThatJsonbWritesOutWithTooManyDigitsFailsThatJobAloneAsUnprocessable() {
        // 1E+1500 is 7 characters as JSON; jsonb prints it back with 1,501 digits, over Jackson's 1,000
        UUID bad = node.enqueue(NewJob.of(QUEUE, Map.of("n", new BigDecimal("1E+1500"))).maxAttempts(2))
                .block(TIMEOUT).id();
        assertFailsAloneUnreadable(bad);
    }

    @Test
    void aPayloadNestedDeeperThanJacksonReadsFailsThatJobAloneAsUnprocessable() {
        // written by another producer (the library's own encoder refuses nesting over 1,000)
        UUID bad = UUID.randomUUID();
        db.execute("INSERT INTO {schema}.jobs (id, queue, payload, max_attempts) "
                + "VALUES ($1, $2, (repeat('[', 2000) || repeat(']', 2000))::jsonb, 2)", bad, QUEUE);
        assertFailsAloneUnreadable(bad);
    }

    private void assertFailsAloneUnreadable(UUID bad) {
        List<UUID> good = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            good.add(node.enqueue(NewJob.of(QUEUE, new Order("o-" + i, i))).block(TIMEOUT).id());
        }
        good.forEach(this::awaitArchived);
        Map<String, Object> dead = awaitDead(bad);
        assertThat(dead.get("status")).isEqualTo("unprocessable");
        assertThat(dead.get("attempt")).as("not retried: every attempt would read the same payload").isEqualTo(1);
        assertThat((String) dead.get("last_error")).contains("cannot be read");
        assertANormalJobStillRuns();
    }

    // ---------------------------------------------------------------------------------------------
    // outcomes with times beyond PostgreSQL's range fail no other job's outcome

    static Stream<Arguments> outOfRangeOutcomes() {
        Instant farFuture = Instant.parse("+300000-01-01T00:00:00Z");
        Instant farPast = Instant.parse("-300000-01-01T00:00:00Z");
        return Stream.of(
                Arguments.of("retryAt far future", Outcome.retryAt(farFuture), true),
                Arguments.of("retryAt Instant.MAX", Outcome.retryAt(Instant.MAX), true),
                Arguments.of("rescheduleAt far future", Outcome.rescheduleAt(farFuture), true),
                Arguments.of("retryAfter a million years", Outcome.retryAfter(Duration.ofDays(365L * 1_000_000)), true),
                Arguments.of("rescheduleAfter the longest Duration",
                        Outcome.rescheduleAfter(Duration.ofSeconds(Long.MAX_VALUE, 999_999_999)), true),
                Arguments.of("retryAt far past", Outcome.retryAt(farPast), false),
                Arguments.of("rescheduleAt Instant.MIN", Outcome.rescheduleAt(Instant.MIN), false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("outOfRangeOutcomes")
    void anOutcomeTimeBeyondPostgresqlsRangeIsWrittenAndFailsNoOtherOutcome(String what, Outcome outcome,
                                                                            boolean future) {
        String queue = "far-" + UUID.randomUUID();
        PgQueue other = db.queueBuilder().pollInterval(Duration.ofMillis(50))
                .completionFlushInterval(Duration.ofMillis(200)) // one batch with the normal jobs' outcomes
                .handler(ReactiveHandler.of(queue, job -> Mono.just(
                        job.payload().asBoolean() && job.attempt() == 1 && job.reprocessCount() == 0 ? outcome
                                : Outcome.success())), QueueOptions.defaults().backoff(Backoff.linear(Duration.ZERO)))
                .build();
        List<NewJob> jobs = new ArrayList<>();
        jobs.add(NewJob.of(queue, true));
        for (int i = 0; i < 5; i++) {
            jobs.add(NewJob.of(queue, false));
        }
        UUID special = other.enqueueAll(jobs).block(TIMEOUT).get(0).id();
        try {
            other.start().block(TIMEOUT);
            await().atMost(TIMEOUT).until(() -> db.count("SELECT count(*) FROM {schema}.jobs_archive WHERE queue = $1 "
                    + "AND id <> $2", queue, special) == 5);
            if (future) {
                // waits far ahead, never 'infinity' (which would never run)
                await().atMost(TIMEOUT).until(() -> db.count("SELECT count(*) FROM {schema}.jobs WHERE id = $1 "
                        + "AND status = 'pending' AND run_at > now() + interval '99 years' AND run_at < 'infinity'",
                        special) == 1);
            } else {
                // a time in the past is now: it runs again at once
                awaitArchived(special);
            }
        } finally {
            other.close().block(TIMEOUT);
        }
        assertANormalJobStillRuns();
    }

    // ---------------------------------------------------------------------------------------------
    // hostile queue names are data

    @ParameterizedTest
    @ValueSource(strings = {"x'; DROP TABLE jobs;--", "\"quoted\"", "%s%n%d", "$1", "/*schema*/", "?", "a b",
            "tab\tand\nnewline", "ünïcödé 名前 🚀", " leading and trailing ", "e:", "\\u0000 as text",
            "ends with backslash\\", "select"})
    void anyQueueNameIsStoredAndServedAsPlainData(String queueName) {
        PgQueue other = db.queueBuilder().pollInterval(Duration.ofMillis(50))
                .handler(ReactiveHandler.of(queueName, job -> Mono.just(Outcome.success())))
                .build();
        try {
            other.start().block(TIMEOUT);
            UUID id = other.enqueue(NewJob.of(queueName, Map.of("q", queueName)).uniqueKey(queueName)
                    .fingerprint(queueName)).block(TIMEOUT).id();
            await().atMost(TIMEOUT).until(() -> db.count("SELECT count(*) FROM {schema}.jobs_archive WHERE id = $1 "
                    + "AND queue = $2 AND unique_key = $2 AND fingerprint = $2 AND payload ->> 'q' = $2",
                    id, queueName) == 1);
        } finally {
            other.close().block(TIMEOUT);
        }
        assertThat(db.rows("jobs_archive")).isEqualTo(1);
        assertANormalJobStillRuns();
    }

    @Test
    void aQueueNameOfTheLongestAllowedLengthIsServed() {
        String longest = "ü".repeat(127) + "x"; // 255 bytes
        anyQueueNameIsStoredAndServedAsPlainData(longest);
    }

    // ---------------------------------------------------------------------------------------------
    // schema names: the unsafe ones are rejected at build() (PgQueueBuilderTest); reserved words
    // pass the allow-list and work because the schema is always quoted

    @ParameterizedTest
    @ValueSource(strings = {"select", "user"})
    void aReservedWordAsTheSchemaWorksEndToEnd(String schema) {
        AtomicInteger ran = new AtomicInteger();
        PgQueue reserved = PgQueue.builder(db.connectionFactory()).schema(schema).pollInterval(Duration.ofMillis(50))
                .handler(ReactiveHandler.of("q", job -> {
                    ran.incrementAndGet();
                    return Mono.just(Outcome.success());
                }))
                .build();
        try {
            reserved.migrate().block(TIMEOUT);
            reserved.start().block(TIMEOUT);
            reserved.enqueue(NewJob.of("q", 1)).block(TIMEOUT);
            await().atMost(TIMEOUT).until(() -> ran.get() == 1);
            assertThat(db.count("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema)).isEqualTo(1);
        } finally {
            reserved.close().block(TIMEOUT);
            db.execute("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
        }
    }

    // ---------------------------------------------------------------------------------------------

    private void assertANormalJobStillRuns() {
        UUID id = node.enqueue(NewJob.of(QUEUE, new Order("normal", 1))).block(TIMEOUT).id();
        awaitArchived(id);
        assertThat(handled.get(id)).isEqualTo(new Order("normal", 1));
    }

    private void awaitArchived(UUID id) {
        await().atMost(TIMEOUT).until(() -> db.count("SELECT count(*) FROM {schema}.jobs_archive WHERE id = $1", id) == 1);
    }

    private Map<String, Object> awaitDead(UUID id) {
        await().atMost(TIMEOUT).until(() -> db.count("SELECT count(*) FROM {schema}.jobs_dead WHERE id = $1", id) == 1);
        return db.row("jobs_dead", id, "status, attempt, last_error");
    }
}
