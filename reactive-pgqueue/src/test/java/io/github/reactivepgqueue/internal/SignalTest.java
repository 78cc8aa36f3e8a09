package io.github.reactivepgqueue.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.internal.store.SchemaName;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;

/** Signals travel as a few letters on a channel derived from the schema name. */
class SignalTest {

    @Test
    void signalsRoundTripThroughTheirPayload() {
        EnumSet<Signal> both = EnumSet.of(Signal.CANCELLED, Signal.FINISHED);
        assertThat(Signal.decode(Signal.encode(both))).isEqualTo(both);
        assertThat(Signal.decode(Signal.encode(EnumSet.of(Signal.FINISHED)))).containsExactly(Signal.FINISHED);
    }

    @Test
    void forgedOrEmptyPayloadsNameNothingButKnownSignals() {
        assertThat(Signal.decode(null)).isEmpty();
        assertThat(Signal.decode("")).isEmpty();
        assertThat(Signal.decode("xyz; DROP TABLE jobs")).isEmpty();
        assertThat(Signal.decode("*")).as("CONNECTED is never received from others").isEmpty();
        assertThat(Signal.decode("s")).containsExactly(Signal.SCHEDULES);
        assertThat(Signal.decode("sx")).as("a letter of a newer version is skipped").containsExactly(Signal.SCHEDULES);
        assertThat(Signal.decode("s c")).as("not a payload of letters").isEmpty();
    }

    @Test
    void theChannelIsAShortIdentifierDerivedFromTheSchemaNotTheSchemaItself() {
        String channel = Signals.channelOf(SchemaName.of("a".repeat(63)));
        assertThat(channel).matches("pgqueue_[0-9a-f]{16}");
        assertThat(Signals.channelOf(SchemaName.of("pgqueue"))).isEqualTo(Signals.channelOf(SchemaName.of("pgqueue")))
                .isNotEqualTo(Signals.channelOf(SchemaName.of("pgqueue2")));
    }
}
