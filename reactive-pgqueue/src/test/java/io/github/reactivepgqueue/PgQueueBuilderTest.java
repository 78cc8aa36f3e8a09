package io.github.reactivepgqueue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Configuration is checked in build(), before any database is touched. */
class PgQueueBuilderTest {
    // Never connected to: build() touches no database.
    private static final ConnectionFactory UNUSED = new PostgresqlConnectionFactory(
            PostgresqlConnectionConfiguration.builder().host("localhost").username("nobody").build());

    @ParameterizedTest
    @ValueSource(strings = {"x\"; DROP TABLE t;--", "%s", "", "it's", "a b", "\"quoted\"", "ü", "schéma",
            "Upper", "1starts_with_digit", "pg_catalog", "semi;colon", "dash-ed", "dot.ted", "new\nline",
            "tab\t", "nul\0", "back\\slash", "/*comment*/"})
    void rejectsUnsafeSchemaNames(String name) {
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).schema(name).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Schema name");
    }

    @Test
    void rejectsASchemaNameOver63Bytes() {
        assertThat(PgQueue.builder(UNUSED).schema("a".repeat(63)).build().schema()).hasSize(63);
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).schema("a".repeat(64)).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("64 bytes");
    }

    @Test
    void meterRegistryTakesOnlyAMicrometerRegistry() {
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).meterRegistry("not a registry"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("io.micrometer.core.instrument.MeterRegistry")
                .hasMessageContaining("java.lang.String");
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).meterRegistry(null))
                .isInstanceOf(NullPointerException.class)
                .hasMessageContaining("meterRegistry");
        assertThat(PgQueue.builder(UNUSED).meterRegistry(new io.micrometer.core.instrument.simple.SimpleMeterRegistry())
                .build()).isNotNull();
    }

    @Test
    void rejectsANullSchemaName() {
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).schema(null).build())
                .isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"pgqueue", "jobs_2", "_private", "a"})
    void acceptsPlainSchemaNames(String name) {
        assertThat(PgQueue.builder(UNUSED).schema(name).build().schema()).isEqualTo(name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"nul\0", "unpaired \uD800 surrogate", "reversed \uDE80\uD83D pair"})
    void rejectsHandlerAndStreamQueueNamesTheDatabaseCannotStore(String name) {
        // the claim binds every served queue name: one the database rejects would fail every claim
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).handler(ReactiveHandler.of(name, job -> null)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageMatching("(?s).*(NUL|unpaired UTF-16 surrogate).*");
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).build().jobs("fine", name))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageMatching("(?s).*(NUL|unpaired UTF-16 surrogate).*");
    }

    @Test
    void rejectsHandlerAndStreamQueueNamesOver255Bytes() {
        String name = "ü".repeat(128);
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).handler(ReactiveHandler.of(name, job -> null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("256 bytes");
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).build().jobs(name))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("256 bytes");
        assertThat(PgQueue.builder(UNUSED).handler(ReactiveHandler.of(name.substring(1) + "x", job -> null)).build())
                .isNotNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"select", "user", "order", "table", "public"})
    void acceptsReservedWordsAsSchemaNamesBecauseTheyAreAlwaysQuoted(String name) {
        assertThat(PgQueue.builder(UNUSED).schema(name).build().schema()).isEqualTo(name);
    }

    @Test
    void usesTheDefaultSchema() {
        assertThat(PgQueue.builder(UNUSED).build().schema()).isEqualTo("pgqueue");
    }

    @Test
    void rejectsOutOfRangeOptions() {
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).maxPayloadBytes(0).build())
                .hasMessageContaining("maxPayloadBytes");
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).enqueueBatchSize(0).build())
                .hasMessageContaining("enqueueBatchSize");
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).defaultMaxAttempts(0).build())
                .hasMessageContaining("defaultMaxAttempts");
        assertThatThrownBy(() -> PgQueue.builder(null)).isInstanceOf(NullPointerException.class);
    }

    /**
     * A stall threshold that a beat waiting its whole acquire timeout would overrun: other nodes
     * could rescue jobs whose node is alive and beating late. Refused, naming the options.
     */
    @Test
    void refusesAStallThresholdThatASlowBeatCouldOverrun() {
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).heartbeatInterval(Duration.ofMillis(300)).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rescueAfterMissedHeartbeats x heartbeatInterval (PT0.75S)")
                .hasMessageContaining("heartbeatInterval + connectionAcquireTimeout (PT5.3S)");
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).heartbeatInterval(Duration.ofSeconds(2))
                .connectionAcquireTimeout(Duration.ofSeconds(3)).build())
                .as("exactly interval + acquire timeout is not longer").hasMessageContaining("rescueAfterMissedHeartbeats");
        // the defaults pass (12.5 s against 10 s), and so does a short interval with a short acquire timeout
        PgQueue.builder(UNUSED).build();
        PgQueue.builder(UNUSED).heartbeatInterval(Duration.ofMillis(300)).connectionAcquireTimeout(Duration.ofMillis(400))
                .build();
        PgQueue.builder(UNUSED).heartbeatInterval(Duration.ofMillis(300)).rescueAfterMissedHeartbeats(20).build();
    }

    @Test
    void ownConnectionsAreNoneOrAtLeastTwo() {
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).ownConnections(1).build())
                .hasMessageContaining("ownConnections must be at least 2 but was 1");
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).ownConnections(-1).build())
                .hasMessageContaining("ownConnections");
        assertThat(PgQueue.builder(UNUSED).build().node().config().db().ownConnections()).isEqualTo(8);
        assertThat(PgQueue.builder(UNUSED).claimsInFlight(4).build().node().config().db().ownConnections())
                .isEqualTo(10);
        assertThat(PgQueue.builder(UNUSED).ownConnections(0).build().node().config().db().ownConnections()).isZero();
    }

    @Test
    void rejectsOutOfRangeLivenessAndMaintenanceOptions() {
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).heartbeatInterval(java.time.Duration.ZERO).build())
                .hasMessageContaining("heartbeatInterval");
        for (double missed : new double[] {1.49, 0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertThatThrownBy(() -> PgQueue.builder(UNUSED).rescueAfterMissedHeartbeats(missed).build())
                    .as("rescueAfterMissedHeartbeats(%s)", missed)
                    .hasMessageContaining("rescueAfterMissedHeartbeats");
        }
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).reaperInterval(java.time.Duration.ofMillis(-1)).build())
                .hasMessageContaining("reaperInterval");
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).claimsInFlight(0).build())
                .hasMessageContaining("claimsInFlight");
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).reprocessLimit(0).build())
                .hasMessageContaining("reprocessLimit");
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).janitorInterval(java.time.Duration.ZERO).build())
                .hasMessageContaining("janitorInterval");
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).maintenanceBatchSize(0).build())
                .hasMessageContaining("maintenanceBatchSize");
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).archiveRetention(java.time.Duration.ZERO).build())
                .hasMessageContaining("archiveRetention");
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).deadLetterRetention(java.time.Duration.ofDays(-1)).build())
                .hasMessageContaining("deadLetterRetention");
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).listenerConnectionFactory(null))
                .isInstanceOf(NullPointerException.class);
        assertThat(PgQueue.builder(UNUSED).rescueAfterMissedHeartbeats(1.5)
                .connectionAcquireTimeout(Duration.ofSeconds(2)).reprocessLimit(1).build()).isNotNull();
    }

    @Test
    void rejectsInvalidMetricsOptions() {
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).queueDepthInterval(java.time.Duration.ZERO).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("queueDepthInterval");
        assertThatThrownBy(() -> PgQueue.builder(UNUSED).meterRegistry(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("meterRegistry");
    }

    @Test
    void newJobIsImmutableAndLeavesThePayloadOutOfToString() {
        NewJob template = NewJob.of("q", "secret-payload");
        NewJob derived = template.uniqueKey("k").priority(3);
        assertThat(template.uniqueKey()).isEmpty();
        assertThat(template.priority()).isZero();
        assertThat(derived.uniqueKey()).contains("k");
        assertThat(derived.toString()).doesNotContain("secret-payload");
        assertThat(derived.delay(java.time.Duration.ofSeconds(1)).runAt()).isEmpty();
    }

    @Test
    void statusesRoundTripThroughTheirDatabaseValues() {
        for (JobStatus status : JobStatus.values()) {
            assertThat(JobStatus.fromDatabase(status.databaseValue())).isEqualTo(status);
        }
        assertThat(JobStatus.fromDatabase("bad_job")).isEqualTo(JobStatus.BAD_JOB);
        assertThatThrownBy(() -> JobStatus.fromDatabase("PENDING")).isInstanceOf(IllegalArgumentException.class);
    }
}
