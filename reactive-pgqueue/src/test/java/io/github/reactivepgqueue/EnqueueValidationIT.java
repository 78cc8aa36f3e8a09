package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.NullNode;
import io.github.reactivepgqueue.internal.JobEncoder;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

@ExtendWith(PostgresExtension.class)
class EnqueueValidationIT {
    private static final int LIMIT = 1000;

    private final TestSchema db;
    private final PgQueue queue;

    EnqueueValidationIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
        this.queue = db.queueBuilder().maxPayloadBytes(LIMIT).build();
    }

    @BeforeEach
    void empty() {
        db.execute("DELETE FROM {schema}.jobs");
    }

    /** Serializing this fails: Jackson finds no properties. */
    static final class Opaque {
    }

    static Stream<Arguments> badJobs() {
        return Stream.of(
                Arguments.of("empty queue", NewJob.of("", 1), "Queue name must not be blank"),
                Arguments.of("blank queue", NewJob.of(" \t", 1), "Queue name must not be blank"),
                Arguments.of("null queue", NewJob.of(null, 1), "Queue name must not be blank"),
                Arguments.of("negative delay", NewJob.of("q", 1).delay(Duration.ofMillis(-1)), "delay must not be negative"),
                Arguments.of("zero attempts", NewJob.of("q", 1).maxAttempts(0), "maxAttempts must be at least 1"),
                Arguments.of("negative attempts", NewJob.of("q", 1).maxAttempts(-5), "maxAttempts must be at least 1"),
                Arguments.of("unserializable payload", NewJob.of("q", new Opaque()), "cannot be serialized"),
                Arguments.of("payload over the limit", NewJob.of("q", "x".repeat(LIMIT - 1)), "over the limit of 1000"),
                Arguments.of("multi-byte payload over the limit", NewJob.of("q", "é".repeat(500)), "1002 bytes"),
                Arguments.of("NUL in payload", NewJob.of("q", Map.of("k", "a\0b")), "NUL"),
                Arguments.of("NUL in queue", NewJob.of("q\0", 1), "NUL"),
                Arguments.of("NUL in unique key", NewJob.of("q", 1).uniqueKey("k\0"), "NUL"),
                Arguments.of("queue name too long", NewJob.of("q".repeat(256), 1), "queue name is 256 bytes"),
                Arguments.of("unique key too long", NewJob.of("q", 1).uniqueKey("k".repeat(1025)), "unique key is 1025"),
                Arguments.of("fingerprint too long", NewJob.of("q", 1).fingerprint("ü".repeat(513)), "fingerprint is 1026"),
                Arguments.of("delay past PostgreSQL's timestamp range", NewJob.of("q", 1).delay(
                        Duration.ofDays(365L * 300_000)), "too large"),
                Arguments.of("the longest delay", NewJob.of("q", 1).delay(Duration.ofSeconds(Long.MAX_VALUE)), "too large"),
                Arguments.of("runAt Instant.MAX (would be 'infinity')", NewJob.of("q", 1).runAt(Instant.MAX),
                        "outside PostgreSQL's timestamp range"),
                Arguments.of("runAt past PostgreSQL's range", NewJob.of("q", 1).runAt(
                        Instant.parse("+300000-01-01T00:00:00Z")), "outside PostgreSQL's timestamp range"),
                Arguments.of("runAt Instant.MIN (would be '-infinity')", NewJob.of("q", 1).runAt(Instant.MIN),
                        "outside PostgreSQL's timestamp range"),
                Arguments.of("payload nested 10,000 deep", NewJob.of("q", nested(10_000)), "nesting depth"),
                Arguments.of("payload nested one deeper than the mapper allows", NewJob.of("q", nested(MAX_NESTING + 1)),
                        "nesting depth"),
                Arguments.of("unpaired surrogate in payload", NewJob.of("q", Map.of("k", "a\uD800b")),
                        "unpaired UTF-16 surrogate"),
                Arguments.of("unpaired surrogate in a payload key", NewJob.of("q", Map.of("\uDC00", 1)),
                        "unpaired UTF-16 surrogate"),
                Arguments.of("unpaired surrogate in queue", NewJob.of("q\uD83D", 1), "unpaired UTF-16 surrogate"),
                Arguments.of("reversed surrogates in unique key", NewJob.of("q", 1).uniqueKey("k\uDE80\uD83D"),
                        "unpaired UTF-16 surrogate at index 1"),
                Arguments.of("unpaired surrogate in fingerprint", NewJob.of("q", 1).fingerprint("\uDBFF"),
                        "unpaired UTF-16 surrogate"));
    }

    /** Jackson's default StreamWriteConstraints / StreamReadConstraints nesting depth. */
    private static final int MAX_NESTING = 1000;

    /** {@code depth} arrays, each holding the next. */
    static Object nested(int depth) {
        Object value = List.of();
        for (int i = 1; i < depth; i++) {
            value = List.of(value);
        }
        return value;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badJobs")
    void rejectsABadJobAndWritesNothing(String what, NewJob job, String message) {
        queue.enqueue(job).as(StepVerifier::create)
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(InvalidJobException.class)
                        .hasMessageContaining(message))
                .verify(TIMEOUT);

        List<NewJob> batch = new ArrayList<>(Collections.nCopies(10, NewJob.of("q", "fine")));
        batch.add(5, job);
        queue.enqueueAll(batch).as(StepVerifier::create)
                .expectError(InvalidJobException.class)
                .verify(TIMEOUT);

        assertThat(db.rows("jobs")).isZero();
    }

    @Test
    void aNullPayloadIsRejectedWhenTheJobIsMade() {
        assertThatThrownBy(() -> NewJob.of("q", null))
                .isInstanceOf(NullPointerException.class)
                .hasMessageContaining("payload must not be null")
                .hasMessageContaining("NullNode");
        assertThat(db.rows("jobs")).isZero();
    }

    @Test
    void anExplicitJsonNullPayloadIsStoredAsJsonNull() {
        assertThat(queue.enqueue(NewJob.of("q", NullNode.getInstance())).block(TIMEOUT))
                .isInstanceOf(EnqueueResult.Enqueued.class);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE payload = 'null'::jsonb")).isEqualTo(1);
    }

    @Test
    void acceptsAPayloadOfExactlyTheLimit() {
        String atLimit = "é".repeat(499); // 998 bytes plus two quotes
        assertThat(queue.enqueue(NewJob.of("q", atLimit)).block(TIMEOUT)).isInstanceOf(EnqueueResult.Enqueued.class);
        assertThat(db.count("SELECT octet_length(payload::text) FROM {schema}.jobs")).isEqualTo(LIMIT);
    }

    @Test
    void acceptsNestingUpToTheMappersLimitAndReadsItBack() {
        PgQueue roomy = db.queueBuilder().build();
        assertThat(roomy.enqueue(NewJob.of("q", nested(MAX_NESTING))).block(TIMEOUT))
                .isInstanceOf(EnqueueResult.Enqueued.class);
        assertThat(roomy.jobs("q").next().block(TIMEOUT).job().payload().at("/0".repeat(MAX_NESTING - 1)).isArray())
                .isTrue();
    }

    @Test
    void acceptsTheFarthestTimesPostgresqlHolds() {
        assertThat(queue.enqueueAll(List.of(NewJob.of("q", 1).runAt(JobEncoder.MAX_RUN_AT),
                NewJob.of("q", 2).delay(Duration.ofDays(365L * 200_000)))).block(TIMEOUT)).hasSize(2);
        assertThat(db.query("SELECT run_at::text AS r FROM {schema}.jobs ORDER BY payload::text"))
                .extracting(r -> (String) r.get("r"))
                .first().isEqualTo("294276-12-31 23:59:59.999999+00");
        // 73,000,000 days are 199,863 years
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE run_at > now() + interval '199800 years' "
                + "AND run_at < 'infinity'")).isEqualTo(2);
    }

    @Test
    void acceptsTextThatOnlyLooksLikeANulEscape() {
        assertThat(queue.enqueue(NewJob.of("q", "\\u0000 is how JSON writes NUL")).block(TIMEOUT))
                .isInstanceOf(EnqueueResult.Enqueued.class);
        assertThat(db.query("SELECT payload #>> '{}' AS p FROM {schema}.jobs").get(0))
                .containsEntry("p", "\\u0000 is how JSON writes NUL");
    }

    @Test
    void aNullElementFailsTheEnqueueAndANullArgumentThrowsAtOnce() {
        List<NewJob> withNull = new ArrayList<>();
        withNull.add(NewJob.of("q", 1));
        withNull.add(null);
        queue.enqueueAll(withNull).as(StepVerifier::create).expectError(InvalidJobException.class).verify(TIMEOUT);
        assertThatThrownBy(() -> queue.enqueue((NewJob) null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> queue.enqueueAll(null)).isInstanceOf(NullPointerException.class);
        assertThat(db.rows("jobs")).isZero();
    }

    @Test
    void anEmptyBatchWritesNothingAndTouchesNoConnection() {
        assertThat(queue.enqueueAll(List.of()).block(TIMEOUT)).isEmpty();
    }

    @Test
    void rejectsBadJobsOnTheCallersConnectionToo() {
        Mono.usingWhen(db.connectionFactory().create(),
                        conn -> queue.enqueue(conn, NewJob.of("q", 1).maxAttempts(0)),
                        conn -> conn.close())
                .as(StepVerifier::create)
                .expectError(InvalidJobException.class)
                .verify(TIMEOUT);
        assertThat(db.rows("jobs")).isZero();
    }
}
