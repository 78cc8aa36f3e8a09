package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.POLL;
import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.permit.Permit;
import io.github.reactivepgqueue.permit.PermitDenied;
import io.github.reactivepgqueue.permit.PermitStrategy;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.spi.Connection;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;

/**
 * What each outcome, handler failure and permit decision does to the job's row. Every scenario runs
 * one job through a started queue of its own (own queue name) and asserts on the row once the
 * outcome is written. Backoffs are long (an hour) so a retried job never runs twice during a test.
 */
@ExtendWith(PostgresExtension.class)
class OutcomeIT {
    private static final Backoff ONE_HOUR = Backoff.linear(Duration.ofHours(1));
    /** Seconds of slack for comparisons of run_at with now() (both from the database clock). */
    private static final double SLACK_SECONDS = 60;

    private final TestSchema db;

    OutcomeIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
    }

    @BeforeEach
    void empty() {
        db.execute("DELETE FROM {schema}.jobs");
    }

    // ---------------------------------------------------------------------------------------------
    // handler outcomes

    @Test
    void successCompletesTheJob() {
        AtomicInteger calls = new AtomicInteger();
        Map<String, Object> row = runOne("success", QueueOptions.defaults().backoff(ONE_HOUR), job -> {
            calls.incrementAndGet();
            return Mono.just(Outcome.success());
        });

        assertThat(row.get("status")).isEqualTo("completed");
        assertThat(row.get("attempt")).isEqualTo(1);
        assertThat(row.get("reprocess_count")).isEqualTo(0);
        assertThat(row.get("completed_at")).isNotNull();
        assertThat(row.get("last_error")).isNull();
        assertFreed(row);
        assertThat(calls).hasValue(1);
    }

    @Test
    void retryWaitsForTheQueueBackoffAndUsesTheAttempt() {
        Map<String, Object> row = runOne("retry", QueueOptions.defaults().backoff(ONE_HOUR),
                job -> Mono.just(Outcome.retry()));

        assertPendingAfterRetry(row, 1);
        assertThat(runsInSeconds(row)).isCloseTo(3600, within(SLACK_SECONDS));
        assertThat(row.get("last_error")).isNull();
    }

    @Test
    void retryUsesTheBuilderDefaultBackoffWhenTheQueueSetsNone() {
        PgQueue queue = db.queueBuilder().pollInterval(POLL).defaultBackoff(Backoff.linear(Duration.ofHours(3)))
                .handler(ReactiveHandler.of("retry-default-backoff", job -> Mono.just(Outcome.retry())))
                .build();
        Map<String, Object> row = runOne(queue, NewJob.of("retry-default-backoff", Map.of()));

        assertPendingAfterRetry(row, 1);
        assertThat(runsInSeconds(row)).isCloseTo(3 * 3600, within(SLACK_SECONDS));
    }

    @Test
    void retryPassesTheClaimedAttemptNumberToTheBackoff() {
        AtomicInteger backoffAttempt = new AtomicInteger();
        Backoff hoursPerAttempt = Backoff.custom(attempt -> {
            backoffAttempt.set(attempt);
            return Duration.ofHours(attempt);
        });
        PgQueue queue = db.queueBuilder().pollInterval(POLL)
                .handler(ReactiveHandler.of("retry-attempt", job -> Mono.just(Outcome.retry())),
                        QueueOptions.defaults().backoff(hoursPerAttempt))
                .build();
        UUID id = queue.enqueue(NewJob.of("retry-attempt", Map.of()).maxAttempts(5)).block(TIMEOUT).id();
        db.execute("UPDATE {schema}.jobs SET attempt = 2 WHERE id = $1", id); // two attempts already used
        Map<String, Object> row = runEnqueued(queue, id);

        assertPendingAfterRetry(row, 3);
        assertThat(backoffAttempt).hasValue(3);
        assertThat(runsInSeconds(row)).isCloseTo(3 * 3600, within(SLACK_SECONDS));
    }

    @Test
    void aBackoffThatFailsFallsBackToTheDefaultBackoffInsteadOfLeavingTheJobRunning() {
        Map<String, Object> negative = runOne("backoff-negative",
                QueueOptions.defaults().backoff(Backoff.custom(attempt -> Duration.ofSeconds(-1))),
                job -> Mono.just(Outcome.retry("try again")));
        assertPendingAfterRetry(negative, 1);
        assertThat(negative.get("last_error")).isEqualTo("try again");
        assertThat(runsInSeconds(negative)).isCloseTo(PgQueueBuilder.DEFAULT_BACKOFF_DELAY.toSeconds(),
                within(SLACK_SECONDS));

        Map<String, Object> nulls = runOne("backoff-null",
                QueueOptions.defaults().backoff(Backoff.custom(attempt -> null)),
                job -> Mono.error(new IllegalStateException("handler failed")));
        assertPendingAfterRetry(nulls, 1);
        assertThat((String) nulls.get("last_error")).contains("handler failed");
    }

    @Test
    void retryAfterShorterThanTheBackoffWaitsForTheBackoff() {
        Map<String, Object> row = runOne("retry-after-short", QueueOptions.defaults().backoff(ONE_HOUR),
                job -> Mono.just(Outcome.retryAfter(Duration.ofSeconds(10))));

        assertPendingAfterRetry(row, 1);
        // never sooner than the backoff
        assertThat(runsInSeconds(row)).isCloseTo(3600, within(SLACK_SECONDS));
    }

    @Test
    void retryAfterLongerThanTheBackoffWaitsTheRequestedDelay() {
        Map<String, Object> row = runOne("retry-after-long",
                QueueOptions.defaults().backoff(Backoff.linear(Duration.ofMinutes(1))),
                job -> Mono.just(Outcome.retryAfter(Duration.ofHours(2))));

        assertPendingAfterRetry(row, 1);
        assertThat(runsInSeconds(row)).isCloseTo(2 * 3600, within(SLACK_SECONDS));
    }

    @Test
    void retryAtLaterThanTheBackoffRunsAtTheRequestedTime() {
        Instant at = Instant.now().plus(2, ChronoUnit.HOURS).truncatedTo(ChronoUnit.MICROS);
        Map<String, Object> row = runOne("retry-at",
                QueueOptions.defaults().backoff(Backoff.linear(Duration.ofMinutes(1))),
                job -> Mono.just(Outcome.retryAt(at)));

        assertPendingAfterRetry(row, 1);
        assertThat(runAt(row)).isEqualTo(at);
    }

    @Test
    void retryAtSoonerThanTheBackoffWaitsForTheBackoff() {
        Instant at = Instant.now().plus(1, ChronoUnit.MINUTES);
        Map<String, Object> row = runOne("retry-at-soon", QueueOptions.defaults().backoff(ONE_HOUR),
                job -> Mono.just(Outcome.retryAt(at)));

        assertPendingAfterRetry(row, 1);
        assertThat(runsInSeconds(row)).isCloseTo(3600, within(SLACK_SECONDS));
    }

    @Test
    void retryWithReasonStoresTheReason() {
        Map<String, Object> row = runOne("retry-reason", QueueOptions.defaults().backoff(ONE_HOUR),
                job -> Mono.just(Outcome.retry("upstream said 503")));

        assertPendingAfterRetry(row, 1);
        assertThat(row.get("last_error")).isEqualTo("upstream said 503");
    }

    @Test
    void retryOnTheLastAttemptFailsTheJob() {
        PgQueue queue = queueWith("retry-last", QueueOptions.defaults().backoff(ONE_HOUR),
                job -> Mono.just(Outcome.retry("still broken")));
        UUID id = queue.enqueue(NewJob.of("retry-last", Map.of()).maxAttempts(1)).block(TIMEOUT).id();
        Instant runAtBefore = runAt(row(id));
        Map<String, Object> row = runEnqueued(queue, id);

        assertThat(row.get("status")).isEqualTo("failed");
        assertThat(row.get("attempt")).isEqualTo(1);
        assertThat(row.get("completed_at")).isNotNull();
        assertThat(row.get("last_error")).isEqualTo("still broken");
        assertThat(runAt(row)).as("a failed job keeps its run_at").isEqualTo(runAtBefore);
        assertFreed(row);
    }

    @Test
    void handlerFailureOnTheLastAttemptFailsTheJob() {
        AtomicInteger calls = new AtomicInteger();
        PgQueue queue = queueWith("fail-last", QueueOptions.defaults().backoff(Backoff.linear(Duration.ZERO)), job -> {
            calls.incrementAndGet();
            return Mono.error(new IllegalStateException("broken for good, attempt " + job.attempt()));
        });
        // zero backoff: attempts 1 and 2 run back to back, attempt 2 is the last
        UUID id = queue.enqueue(NewJob.of("fail-last", Map.of()).maxAttempts(2)).block(TIMEOUT).id();
        Map<String, Object> row = runEnqueued(queue, id, "status NOT IN ('pending', 'running')");

        assertThat(row.get("status")).isEqualTo("failed");
        assertThat(row.get("attempt")).isEqualTo(2);
        assertThat(row.get("completed_at")).isNotNull();
        assertThat((String) row.get("last_error"))
                .contains("java.lang.IllegalStateException: broken for good, attempt 2");
        assertFreed(row);
        assertThat(calls).hasValue(2);
    }

    @Test
    void rescheduleAfterGivesTheAttemptBackAndCountsAReprocess() {
        AtomicInteger seenAttempt = new AtomicInteger();
        Map<String, Object> row = runOne("reschedule", QueueOptions.defaults().backoff(Backoff.linear(Duration.ZERO)),
                job -> {
                    seenAttempt.set(job.attempt());
                    return Mono.just(Outcome.rescheduleAfter(Duration.ofHours(1)));
                });

        assertThat(seenAttempt).hasValue(1);
        assertThat(row.get("status")).isEqualTo("pending");
        assertThat(row.get("attempt")).isEqualTo(0);
        assertThat(row.get("reprocess_count")).isEqualTo(1);
        assertThat(row.get("completed_at")).isNull();
        assertThat(runsInSeconds(row)).as("the backoff (zero) plays no part").isCloseTo(3600, within(SLACK_SECONDS));
        assertFreed(row);
    }

    @Test
    void rescheduleAtRunsAtThatTimeEvenWhenItIsSoonerThanTheBackoff() {
        Instant at = Instant.now().plus(10, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.MICROS);
        Map<String, Object> row = runOne("reschedule-at", QueueOptions.defaults().backoff(Backoff.linear(Duration.ofDays(1))),
                job -> Mono.just(Outcome.rescheduleAt(at)));

        assertThat(row.get("status")).isEqualTo("pending");
        assertThat(row.get("attempt")).isEqualTo(0);
        assertThat(row.get("reprocess_count")).isEqualTo(1);
        assertThat(runAt(row)).isEqualTo(at);
        assertFreed(row);
    }

    @Test
    void cancelCancelsTheJob() {
        Map<String, Object> row = runOne("cancel", QueueOptions.defaults().backoff(ONE_HOUR),
                job -> Mono.just(Outcome.cancel()));

        assertFinished(row, "cancelled");
        assertThat(row.get("last_error")).isNull();
    }

    @Test
    void criticalMarksTheJobCritical() {
        Map<String, Object> row = runOne("critical", QueueOptions.defaults().backoff(ONE_HOUR),
                job -> Mono.just(Outcome.critical().withReason("disk on fire")));

        assertFinished(row, "critical");
        assertThat(row.get("last_error")).isEqualTo("disk on fire");
    }

    @Test
    void unprocessableMarksTheJobUnprocessable() {
        Map<String, Object> row = runOne("unprocessable", QueueOptions.defaults().backoff(ONE_HOUR),
                job -> Mono.just(Outcome.unprocessable().withReason("payload has no id")));

        assertFinished(row, "unprocessable");
        assertThat(row.get("last_error")).isEqualTo("payload has no id");
    }

    @Test
    void finishingOnTheLastAttemptKeepsTheFinalStatus() {
        PgQueue queue = queueWith("cancel-last", QueueOptions.defaults().backoff(ONE_HOUR),
                job -> Mono.just(Outcome.cancel()));
        UUID id = queue.enqueue(NewJob.of("cancel-last", Map.of()).maxAttempts(1)).block(TIMEOUT).id();

        assertFinished(runEnqueued(queue, id), "cancelled");
    }

    // ---------------------------------------------------------------------------------------------
    // handler failures

    @Test
    void handlerThatThrowsIsRetriedWithTheError() {
        Map<String, Object> row = runOne("throws", QueueOptions.defaults().backoff(ONE_HOUR), job -> {
            throw new IllegalArgumentException("thrown before any Mono");
        });

        assertPendingAfterRetry(row, 1);
        assertThat(runsInSeconds(row)).isCloseTo(3600, within(SLACK_SECONDS));
        assertThat((String) row.get("last_error"))
                .contains("java.lang.IllegalArgumentException: thrown before any Mono");
    }

    @Test
    void handlerThatSignalsAnErrorIsRetriedWithTheError() {
        Map<String, Object> row = runOne("mono-error", QueueOptions.defaults().backoff(ONE_HOUR),
                job -> Mono.error(new IOException("connection reset by peer")));

        assertPendingAfterRetry(row, 1);
        assertThat(runsInSeconds(row)).isCloseTo(3600, within(SLACK_SECONDS));
        assertThat((String) row.get("last_error")).contains("java.io.IOException: connection reset by peer");
    }

    @Test
    void handlerThatReturnsNullIsRetriedWithTheError() {
        Map<String, Object> row = runOne("returns-null", QueueOptions.defaults().backoff(ONE_HOUR), job -> null);

        assertPendingAfterRetry(row, 1);
        assertThat(runsInSeconds(row)).isCloseTo(3600, within(SLACK_SECONDS));
        assertThat((String) row.get("last_error")).contains("NullPointerException")
                .contains("Handler of queue returns-null returned null instead of a Mono<Outcome>");
    }

    @Test
    void handlerThatCompletesEmptyIsRetriedWithTheError() {
        Map<String, Object> row = runOne("empty", QueueOptions.defaults().backoff(ONE_HOUR), job -> Mono.empty());

        assertPendingAfterRetry(row, 1);
        assertThat(runsInSeconds(row)).isCloseTo(3600, within(SLACK_SECONDS));
        assertThat((String) row.get("last_error")).contains("completed without an outcome");
    }

    @Test
    void handlerThatEmitsANullOutcomeIsRetriedWithTheError() {
        Map<String, Object> row = runOne("null-outcome", QueueOptions.defaults().backoff(ONE_HOUR),
                job -> Mono.fromSupplier(() -> null));

        assertPendingAfterRetry(row, 1);
        assertThat((String) row.get("last_error")).contains("completed without an outcome");
    }

    @Test
    void handlerThatTimesOutIsCancelledAndRetried() {
        AtomicBoolean subscribed = new AtomicBoolean();
        AtomicBoolean cancelled = new AtomicBoolean();
        Map<String, Object> row = runOne("timeout",
                QueueOptions.defaults().backoff(ONE_HOUR).timeout(Duration.ofMillis(200)),
                job -> Mono.<Outcome>never()
                        .doOnSubscribe(s -> subscribed.set(true))
                        .doOnCancel(() -> cancelled.set(true)));

        assertPendingAfterRetry(row, 1);
        assertThat(runsInSeconds(row)).isCloseTo(3600, within(SLACK_SECONDS));
        assertThat((String) row.get("last_error")).contains("did not finish within").contains("PT0.2S");
        assertThat(subscribed).isTrue();
        assertThat(cancelled).as("the handler's subscription was cancelled").isTrue();
    }

    // ---------------------------------------------------------------------------------------------
    // permit decisions

    @Test
    void permitDeniedCancelCancelsWithoutRunningTheHandler() {
        AtomicInteger calls = new AtomicInteger();
        Map<String, Object> row = runOne("permit-cancel",
                QueueOptions.defaults().backoff(ONE_HOUR).permitStrategy(job -> Mono.error(PermitDenied.cancel("tenant deleted"))),
                countingSuccess(calls));

        assertFinished(row, "cancelled");
        assertThat(row.get("attempt")).isEqualTo(1);
        assertThat(row.get("last_error")).isEqualTo("tenant deleted");
        assertThat(calls).hasValue(0);
    }

    @Test
    void permitDeniedTryAfterReschedulesWithoutUsingAnAttempt() {
        AtomicInteger calls = new AtomicInteger();
        Map<String, Object> row = runOne("permit-try-after",
                QueueOptions.defaults().backoff(Backoff.linear(Duration.ZERO))
                        .permitStrategy(job -> Mono.error(PermitDenied.tryAfter(Duration.ofHours(1)))),
                countingSuccess(calls));

        assertThat(row.get("status")).isEqualTo("pending");
        assertThat(row.get("attempt")).isEqualTo(0);
        assertThat(row.get("reprocess_count")).isEqualTo(1);
        assertThat(row.get("completed_at")).isNull();
        assertThat(runsInSeconds(row)).isCloseTo(3600, within(SLACK_SECONDS));
        assertFreed(row);
        assertThat(calls).hasValue(0);
    }

    @Test
    void permitDeniedRetryUsesTheAttemptAndTheBackoff() {
        AtomicInteger calls = new AtomicInteger();
        Map<String, Object> row = runOne("permit-retry",
                QueueOptions.defaults().backoff(ONE_HOUR).permitStrategy(job -> Mono.error(PermitDenied.retry("busy"))),
                countingSuccess(calls));

        assertPendingAfterRetry(row, 1);
        assertThat(runsInSeconds(row)).isCloseTo(3600, within(SLACK_SECONDS));
        assertThat(row.get("last_error")).isEqualTo("busy");
        assertThat(calls).hasValue(0);
    }

    @Test
    void permitDeniedMarkCompletedCompletesWithoutRunningTheHandler() {
        AtomicInteger calls = new AtomicInteger();
        Map<String, Object> row = runOne("permit-mark-completed",
                QueueOptions.defaults().backoff(ONE_HOUR).permitStrategy(job -> Mono.error(PermitDenied.markCompleted())),
                countingSuccess(calls));

        assertThat(row.get("status")).isEqualTo("completed");
        assertThat(row.get("attempt")).isEqualTo(1);
        assertThat(row.get("completed_at")).isNotNull();
        assertThat(row.get("last_error")).isNull();
        assertFreed(row);
        assertThat(calls).hasValue(0);
    }

    @Test
    void permitStrategyFailingOtherwiseIsAFailedAttempt() {
        AtomicInteger calls = new AtomicInteger();
        Map<String, Object> row = runOne("permit-error",
                QueueOptions.defaults().backoff(ONE_HOUR)
                        .permitStrategy(job -> Mono.error(new IllegalStateException("semaphore store unreachable"))),
                countingSuccess(calls));

        assertPendingAfterRetry(row, 1);
        assertThat(runsInSeconds(row)).isCloseTo(3600, within(SLACK_SECONDS));
        assertThat((String) row.get("last_error"))
                .contains("java.lang.IllegalStateException: semaphore store unreachable");
        assertThat(calls).hasValue(0);
    }

    @Test
    void permitStrategyThatThrowsIsAFailedAttempt() {
        AtomicInteger calls = new AtomicInteger();
        PermitStrategy throwing = job -> {
            throw new UnsupportedOperationException("thrown by acquire");
        };
        Map<String, Object> row = runOne("permit-throws",
                QueueOptions.defaults().backoff(ONE_HOUR).permitStrategy(throwing), countingSuccess(calls));

        assertPendingAfterRetry(row, 1);
        assertThat((String) row.get("last_error"))
                .contains("java.lang.UnsupportedOperationException: thrown by acquire");
        assertThat(calls).hasValue(0);
    }

    @Test
    void permitStrategyCompletingEmptyIsAFailedAttempt() {
        AtomicInteger calls = new AtomicInteger();
        Map<String, Object> row = runOne("permit-empty",
                QueueOptions.defaults().backoff(ONE_HOUR).permitStrategy(job -> Mono.empty()), countingSuccess(calls));

        assertPendingAfterRetry(row, 1);
        assertThat((String) row.get("last_error")).contains("completed without a permit");
        assertThat(calls).hasValue(0);
    }

    @Test
    void permitIsReleasedOnceAfterTheOutcomeIsWritten() {
        AtomicInteger releases = new AtomicInteger();
        AtomicReference<String> statusAtRelease = new AtomicReference<>();
        AtomicInteger calls = new AtomicInteger();
        String table = '"' + db.name() + "\".jobs";
        PermitStrategy strategy = job -> Mono.just(() -> Mono.usingWhen(db.connectionFactory().create(),
                        conn -> Mono.from(conn.createStatement("SELECT status FROM " + table + " WHERE id = $1")
                                        .bind("$1", job.id()).execute())
                                .flatMap(result -> Mono.from(result.map((r, m) -> r.get("status", String.class)))),
                        Connection::close)
                .doOnNext(statusAtRelease::set)
                .doOnSubscribe(s -> releases.incrementAndGet())
                .then());

        PgQueue queue = queueWith("permit-release", QueueOptions.defaults().backoff(ONE_HOUR).permitStrategy(strategy),
                countingSuccess(calls));
        UUID id = queue.enqueue(NewJob.of("permit-release", Map.of())).block(TIMEOUT).id();
        try {
            queue.start().block(TIMEOUT);
            await().atMost(TIMEOUT).until(() -> statusAtRelease.get() != null);
        } finally {
            queue.close().block(TIMEOUT);
        }

        assertThat(calls).hasValue(1);
        assertThat(statusAtRelease).as("the row was already written when the permit was released")
                .hasValue("completed");
        assertThat(releases).as("released exactly once").hasValue(1);
        assertThat(row(id).get("status")).isEqualTo("completed");
    }

    @Test
    void permitIsReleasedOnceWhenTheHandlerFails() {
        AtomicInteger acquires = new AtomicInteger();
        AtomicInteger releases = new AtomicInteger();
        PermitStrategy strategy = job -> Mono.fromSupplier(() -> {
            acquires.incrementAndGet();
            return (Permit) () -> Mono.fromRunnable(releases::incrementAndGet);
        });
        PgQueue queue = queueWith("permit-release-failure",
                QueueOptions.defaults().backoff(ONE_HOUR).permitStrategy(strategy),
                job -> Mono.error(new IllegalStateException("handler failed")));
        UUID id = queue.enqueue(NewJob.of("permit-release-failure", Map.of())).block(TIMEOUT).id();
        Map<String, Object> row = runEnqueued(queue, id); // closes the queue: every release has run

        assertPendingAfterRetry(row, 1);
        assertThat(acquires).hasValue(1);
        assertThat(releases).hasValue(1);
    }

    // ---------------------------------------------------------------------------------------------
    // helpers

    private static Function<Job, Mono<Outcome>> countingSuccess(AtomicInteger calls) {
        return job -> {
            calls.incrementAndGet();
            return Mono.just(Outcome.success());
        };
    }

    private PgQueue queueWith(String queueName, QueueOptions options, Function<Job, Mono<Outcome>> body) {
        return db.queueBuilder()
                .pollInterval(POLL)
                .stopGracePeriod(Duration.ofSeconds(5))
                .handler(ReactiveHandler.of(queueName, body), options)
                .build();
    }

    /** Enqueues one job on a queue of its own, runs it once and returns its row. */
    private Map<String, Object> runOne(String queueName, QueueOptions options, Function<Job, Mono<Outcome>> body) {
        return runOne(queueWith(queueName, options, body), NewJob.of(queueName, Map.of("scenario", queueName)));
    }

    private Map<String, Object> runOne(PgQueue queue, NewJob job) {
        UUID id = queue.enqueue(job).block(TIMEOUT).id();
        return runEnqueued(queue, id);
    }

    /** Starts {@code queue}, waits until the job's first outcome is written, closes the queue, returns the row. */
    private Map<String, Object> runEnqueued(PgQueue queue, UUID id) {
        // Written once it is no longer running and was touched after it was enqueued (claimed).
        return runEnqueued(queue, id, "status <> 'running' AND updated_at > created_at");
    }

    private Map<String, Object> runEnqueued(PgQueue queue, UUID id, String writtenCondition) {
        try {
            queue.start().block(TIMEOUT);
            await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(20)).until(() -> db.count(
                    "SELECT count(*) FROM {schema}.jobs WHERE id = $1 AND " + writtenCondition, id) == 1);
        } finally {
            queue.close().block(TIMEOUT);
        }
        assertThat(queue.staleWrites()).isZero();
        return row(id);
    }

    private Map<String, Object> row(UUID id) {
        return db.row("jobs", id, "*, extract(epoch FROM run_at - now())::float8 AS runs_in");
    }

    private static double runsInSeconds(Map<String, Object> row) {
        return (Double) row.get("runs_in");
    }

    private static Instant runAt(Map<String, Object> row) {
        return ((OffsetDateTime) row.get("run_at")).toInstant();
    }

    private static void assertFreed(Map<String, Object> row) {
        assertThat(row.get("lease")).as("lease").isNull();
        assertThat(row.get("heartbeat_at")).as("heartbeat_at").isNull();
    }

    private static void assertPendingAfterRetry(Map<String, Object> row, int attempt) {
        assertThat(row.get("status")).isEqualTo("pending");
        assertThat(row.get("attempt")).isEqualTo(attempt);
        assertThat(row.get("reprocess_count")).isEqualTo(0);
        assertThat(row.get("completed_at")).isNull();
        assertFreed(row);
    }

    private static void assertFinished(Map<String, Object> row, String status) {
        assertThat(row.get("status")).isEqualTo(status);
        assertThat(row.get("attempt")).isEqualTo(1);
        assertThat(row.get("reprocess_count")).isEqualTo(0);
        assertThat(row.get("completed_at")).isNotNull();
        assertFreed(row);
    }
}
