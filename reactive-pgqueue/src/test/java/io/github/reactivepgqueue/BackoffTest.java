package io.github.reactivepgqueue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

class BackoffTest {

    @Nested
    class Linear {
        @Test
        void waitsTheSameAfterEveryAttempt() {
            Backoff backoff = Backoff.linear(Duration.ofSeconds(3));
            for (int attempt : new int[] {1, 2, 3, 10, 1000, Integer.MAX_VALUE}) {
                assertThat(backoff.delay(attempt)).as("attempt %d", attempt).isEqualTo(Duration.ofSeconds(3));
            }
        }

        @Test
        void acceptsZero() {
            assertThat(Backoff.linear(Duration.ZERO).delay(7)).isEqualTo(Duration.ZERO);
        }

        @Test
        void rejectsNegativeAndNull() {
            assertThatThrownBy(() -> Backoff.linear(Duration.ofMillis(-1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("negative");
            assertThatThrownBy(() -> Backoff.linear(null)).isInstanceOf(NullPointerException.class);
        }
    }

    @Nested
    class Exponential {
        private final Backoff backoff = Backoff.exponential(Duration.ofSeconds(1), 2.0, Duration.ofMinutes(1));

        @Test
        void firstAttemptWaitsTheInitialDelay() {
            assertThat(backoff.delay(1)).isEqualTo(Duration.ofSeconds(1));
        }

        @Test
        void growsByTheFactorPerAttempt() {
            assertThat(backoff.delay(2)).isEqualTo(Duration.ofSeconds(2));
            assertThat(backoff.delay(3)).isEqualTo(Duration.ofSeconds(4));
            assertThat(backoff.delay(4)).isEqualTo(Duration.ofSeconds(8));
            assertThat(backoff.delay(6)).isEqualTo(Duration.ofSeconds(32));
        }

        @Test
        void growsByAFractionalFactor() {
            Backoff b = Backoff.exponential(Duration.ofMillis(100), 1.5, Duration.ofHours(1));
            assertThat(b.delay(1)).isEqualTo(Duration.ofMillis(100));
            assertThat(b.delay(2)).isEqualTo(Duration.ofMillis(150));
            assertThat(b.delay(3)).isEqualTo(Duration.ofMillis(225));
        }

        @Test
        void isCappedAtMax() {
            assertThat(backoff.delay(7)).isEqualTo(Duration.ofMinutes(1)); // 64 s uncapped
            assertThat(backoff.delay(8)).isEqualTo(Duration.ofMinutes(1));
            assertThat(backoff.delay(30)).isEqualTo(Duration.ofMinutes(1));
        }

        @Test
        void hugeAttemptNumbersDoNotOverflow() {
            for (int attempt : new int[] {64, 100, 1_000, 1_000_000, Integer.MAX_VALUE}) {
                assertThat(backoff.delay(attempt)).as("attempt %d", attempt).isEqualTo(Duration.ofMinutes(1));
            }
            // a cap near the limit of what a Duration holds in nanoseconds
            Duration twoCenturies = Duration.ofDays(200 * 365);
            Backoff steep = Backoff.exponential(Duration.ofSeconds(1), 10.0, twoCenturies);
            assertThat(steep.delay(Integer.MAX_VALUE)).isEqualTo(twoCenturies);
            assertThat(steep.delay(400)).isEqualTo(twoCenturies); // 10^399 s is past every long
        }

        @Test
        void attemptNumbersBelowOneWaitTheInitialDelay() {
            assertThat(backoff.delay(0)).isEqualTo(Duration.ofSeconds(1));
            assertThat(backoff.delay(-5)).isEqualTo(Duration.ofSeconds(1));
        }

        @Test
        void factorOneIsConstant() {
            Backoff flat = Backoff.exponential(Duration.ofSeconds(5), 1.0, Duration.ofMinutes(1));
            assertThat(flat.delay(1)).isEqualTo(Duration.ofSeconds(5));
            assertThat(flat.delay(Integer.MAX_VALUE)).isEqualTo(Duration.ofSeconds(5));
        }

        @Test
        void initialAboveMaxIsCapped() {
            Backoff b = Backoff.exponential(Duration.ofMinutes(5), 2.0, Duration.ofMinutes(1));
            assertThat(b.delay(1)).isEqualTo(Duration.ofMinutes(1));
        }

        @ParameterizedTest
        @ValueSource(doubles = {0.0, 0.5, 0.999, -2.0, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY})
        void rejectsInvalidFactors(double factor) {
            assertThatThrownBy(() -> Backoff.exponential(Duration.ofSeconds(1), factor, Duration.ofMinutes(1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("factor");
        }

        @Test
        void rejectsNegativeDurations() {
            assertThatThrownBy(() -> Backoff.exponential(Duration.ofSeconds(-1), 2.0, Duration.ofMinutes(1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("initial");
            assertThatThrownBy(() -> Backoff.exponential(Duration.ofSeconds(1), 2.0, Duration.ofMinutes(-1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max");
            assertThatThrownBy(() -> Backoff.exponential(null, 2.0, Duration.ofMinutes(1)))
                    .isInstanceOf(NullPointerException.class);
            assertThatThrownBy(() -> Backoff.exponential(Duration.ofSeconds(1), 2.0, null))
                    .isInstanceOf(NullPointerException.class);
        }
    }

    @Nested
    class Custom {
        @Test
        void usesTheFunctionOfTheAttempt() {
            Backoff backoff = Backoff.custom(attempt -> Duration.ofSeconds((long) attempt * attempt));
            assertThat(backoff.delay(1)).isEqualTo(Duration.ofSeconds(1));
            assertThat(backoff.delay(3)).isEqualTo(Duration.ofSeconds(9));
            assertThat(backoff.delay(10)).isEqualTo(Duration.ofSeconds(100));
        }

        @Test
        void nullResultIsAnError() {
            Backoff backoff = Backoff.custom(attempt -> null);
            assertThatThrownBy(() -> backoff.delay(1))
                    .isInstanceOf(NullPointerException.class).hasMessageContaining("custom backoff result");
        }

        @Test
        void negativeResultIsAnError() {
            Backoff backoff = Backoff.custom(attempt -> attempt > 2 ? Duration.ofSeconds(-attempt) : Duration.ZERO);
            assertThat(backoff.delay(2)).isEqualTo(Duration.ZERO);
            assertThatThrownBy(() -> backoff.delay(3))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("custom backoff result");
        }

        @Test
        void rejectsNullFunction() {
            assertThatThrownBy(() -> Backoff.custom(null)).isInstanceOf(NullPointerException.class);
        }
    }

    @Nested
    class Jitter {
        private static final int SAMPLES = 10_000;

        @Test
        void staysWithinTheFractionAroundTheBaseAndSpreads() {
            Backoff backoff = Backoff.linear(Duration.ofSeconds(10)).withJitter(0.25);
            Duration min = Duration.ofDays(1);
            Duration max = Duration.ZERO;
            Set<Duration> distinct = new HashSet<>();
            for (int i = 0; i < SAMPLES; i++) {
                Duration d = backoff.delay(1 + i % 5);
                assertThat(d).isBetween(Duration.ofMillis(7_500), Duration.ofMillis(12_500));
                min = d.compareTo(min) < 0 ? d : min;
                max = d.compareTo(max) > 0 ? d : max;
                distinct.add(d);
            }
            // 10,000 uniform samples reach both ends of the range: missing a 1 s band has probability 0.8^10000
            assertThat(min).isLessThan(Duration.ofMillis(8_500));
            assertThat(max).isGreaterThan(Duration.ofMillis(11_500));
            assertThat(distinct).hasSizeGreaterThan(SAMPLES / 2);
        }

        @Test
        void appliesToEachAttemptOfAnExponentialBackoff() {
            Backoff backoff = Backoff.exponential(Duration.ofSeconds(1), 2.0, Duration.ofMinutes(1)).withJitter(0.1);
            for (int i = 0; i < SAMPLES; i++) {
                assertThat(backoff.delay(1)).isBetween(Duration.ofMillis(900), Duration.ofMillis(1_100));
                assertThat(backoff.delay(3)).isBetween(Duration.ofMillis(3_600), Duration.ofMillis(4_400));
                assertThat(backoff.delay(20)).isBetween(Duration.ofSeconds(54), Duration.ofSeconds(66));
            }
        }

        @Test
        void fullJitterStaysBetweenZeroAndTwice() {
            Backoff backoff = Backoff.linear(Duration.ofSeconds(1)).withJitter(1.0);
            for (int i = 0; i < SAMPLES; i++) {
                assertThat(backoff.delay(1)).isBetween(Duration.ZERO, Duration.ofSeconds(2));
            }
        }

        @Test
        void fractionZeroIsTheIdentity() {
            Backoff base = Backoff.exponential(Duration.ofMillis(123), 3.0, Duration.ofHours(2));
            Backoff jittered = base.withJitter(0.0);
            for (int attempt = 1; attempt <= 50; attempt++) {
                assertThat(jittered.delay(attempt)).as("attempt %d", attempt).isEqualTo(base.delay(attempt));
            }
        }

        @Test
        void neverNegative() {
            Backoff backoff = Backoff.linear(Duration.ofNanos(1)).withJitter(1.0);
            for (int i = 0; i < SAMPLES; i++) {
                assertThat(backoff.delay(1).isNegative()).isFalse();
            }
        }

        @ParameterizedTest
        @ValueSource(doubles = {-0.01, -1.0, 1.01, 2.0, Double.NaN, Double.POSITIVE_INFINITY})
        void rejectsFractionsOutsideZeroToOne(double fraction) {
            Backoff base = Backoff.linear(Duration.ofSeconds(1));
            assertThatThrownBy(() -> base.withJitter(fraction))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("jitter");
        }
    }

    @Nested
    class VirtualTime {
        /** Real time: a wrong delay makes the verifier wait for a signal that virtual time never brings. */
        private static final Duration VERIFY_TIMEOUT = Duration.ofSeconds(5);

        @Test
        void aDelayOfTheExponentialBackoffEmitsExactlyWhenItIsOver() {
            Backoff backoff = Backoff.exponential(Duration.ofSeconds(1), 2.0, Duration.ofSeconds(30));
            StepVerifier.withVirtualTime(() -> Mono.delay(backoff.delay(3)).map(tick -> "attempt 4"))
                    .expectSubscription()
                    .expectNoEvent(Duration.ofMillis(3_999))
                    .thenAwait(Duration.ofMillis(1))
                    .expectNext("attempt 4")
                    .expectComplete()
                    .verify(VERIFY_TIMEOUT);
        }

        @Test
        void aCappedDelayEmitsAtTheCap() {
            Backoff backoff = Backoff.exponential(Duration.ofSeconds(1), 2.0, Duration.ofSeconds(30));
            StepVerifier.withVirtualTime(() -> Mono.delay(backoff.delay(10)).map(tick -> "capped"))
                    .expectSubscription()
                    .expectNoEvent(Duration.ofMillis(29_999))
                    .thenAwait(Duration.ofMillis(1))
                    .expectNext("capped")
                    .expectComplete()
                    .verify(VERIFY_TIMEOUT);
        }

        @Test
        void aLinearDelayEmitsAfterItsDelay() {
            Backoff backoff = Backoff.linear(Duration.ofMinutes(5));
            StepVerifier.withVirtualTime(() -> Mono.delay(backoff.delay(2)).map(tick -> "again"))
                    .expectSubscription()
                    .expectNoEvent(Duration.ofMinutes(5).minusMillis(1))
                    .thenAwait(Duration.ofMillis(1))
                    .expectNext("again")
                    .expectComplete()
                    .verify(VERIFY_TIMEOUT);
        }
    }

    @Nested
    class OutcomeFactories {
        @Test
        void retryAfterAndRescheduleAfterRejectNegativeDelays() {
            assertThatThrownBy(() -> Outcome.retryAfter(Duration.ofMillis(-1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("negative");
            assertThatThrownBy(() -> Outcome.rescheduleAfter(Duration.ofSeconds(-10)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("negative");
            assertThatThrownBy(() -> Outcome.retryAfter(null)).isInstanceOf(NullPointerException.class);
            assertThatThrownBy(() -> Outcome.rescheduleAfter(null)).isInstanceOf(NullPointerException.class);
            assertThatThrownBy(() -> Outcome.retryAt(null)).isInstanceOf(NullPointerException.class);
            assertThatThrownBy(() -> Outcome.rescheduleAt(null)).isInstanceOf(NullPointerException.class);
            assertThatThrownBy(() -> Outcome.retry(null)).isInstanceOf(NullPointerException.class);
        }

        @Test
        void zeroDelaysAreAccepted() {
            assertThat(Outcome.retryAfter(Duration.ZERO)).isEqualTo(new Outcome.Retry(null, Duration.ZERO, null));
            assertThat(Outcome.rescheduleAfter(Duration.ZERO)).isEqualTo(new Outcome.Reschedule(null, Duration.ZERO));
        }

        @Test
        void factoriesCarryTheirValues() {
            Instant at = Instant.parse("2030-01-01T00:00:00Z");
            assertThat(Outcome.success()).isInstanceOf(Outcome.Success.class);
            assertThat(Outcome.retry()).isEqualTo(new Outcome.Retry(null, null, null));
            assertThat(Outcome.retry("busy")).isEqualTo(new Outcome.Retry(null, null, "busy"));
            assertThat(Outcome.retryAt(at)).isEqualTo(new Outcome.Retry(at, null, null));
            assertThat(Outcome.retryAfter(Duration.ofSeconds(10)))
                    .isEqualTo(new Outcome.Retry(null, Duration.ofSeconds(10), null));
            assertThat(Outcome.rescheduleAt(at)).isEqualTo(new Outcome.Reschedule(at, null));
            assertThat(Outcome.rescheduleAfter(Duration.ofHours(1)))
                    .isEqualTo(new Outcome.Reschedule(null, Duration.ofHours(1)));
            assertThat(Outcome.cancel()).isEqualTo(new Outcome.Finish(JobStatus.CANCELLED, null));
            assertThat(Outcome.critical()).isEqualTo(new Outcome.Finish(JobStatus.CRITICAL, null));
            assertThat(Outcome.unprocessable()).isEqualTo(new Outcome.Finish(JobStatus.UNPROCESSABLE, null));
        }

        @Test
        void withReasonRecordsTheReasonAndKeepsTheRest() {
            Instant at = Instant.parse("2030-01-01T00:00:00Z");
            assertThat(Outcome.retry().withReason("r")).isEqualTo(new Outcome.Retry(null, null, "r"));
            assertThat(Outcome.retry("old").withReason("new")).isEqualTo(new Outcome.Retry(null, null, "new"));
            assertThat(Outcome.retryAt(at).withReason("r")).isEqualTo(new Outcome.Retry(at, null, "r"));
            assertThat(Outcome.retryAfter(Duration.ofSeconds(5)).withReason("r"))
                    .isEqualTo(new Outcome.Retry(null, Duration.ofSeconds(5), "r"));
            assertThat(Outcome.cancel().withReason("why")).isEqualTo(new Outcome.Finish(JobStatus.CANCELLED, "why"));
            assertThat(Outcome.critical().withReason("why")).isEqualTo(new Outcome.Finish(JobStatus.CRITICAL, "why"));
            assertThat(Outcome.unprocessable().withReason("why"))
                    .isEqualTo(new Outcome.Finish(JobStatus.UNPROCESSABLE, "why"));
        }

        @Test
        void withReasonLeavesOutcomesWithoutAnErrorUnchanged() {
            assertThat(Outcome.success().withReason("r")).isSameAs(Outcome.success());
            Outcome reschedule = Outcome.rescheduleAfter(Duration.ofMinutes(1));
            assertThat(reschedule.withReason("r")).isEqualTo(reschedule);
            assertThatThrownBy(() -> Outcome.retry().withReason(null)).isInstanceOf(NullPointerException.class);
        }

        @ParameterizedTest
        @EnumSource(value = JobStatus.class, names = {"PENDING", "RUNNING", "COMPLETED", "FAILED", "BAD_JOB"})
        void finishRejectsStatusesThatAreNotFinalUnsuccessful(JobStatus status) {
            assertThatThrownBy(() -> new Outcome.Finish(status, "x"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(status.toString());
        }

        @Test
        void finishRejectsNullStatus() {
            assertThatThrownBy(() -> new Outcome.Finish(null, "x")).isInstanceOf(IllegalArgumentException.class);
        }

        @ParameterizedTest
        @EnumSource(value = JobStatus.class, names = {"CANCELLED", "CRITICAL", "UNPROCESSABLE"})
        void finishAcceptsFinalUnsuccessfulStatuses(JobStatus status) {
            assertThat(new Outcome.Finish(status, null).status()).isEqualTo(status);
        }
    }
}
