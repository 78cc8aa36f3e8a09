package io.github.reactivepgqueue.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a notification payload means to a node, forged ones included. */
class NoticeTest {

    @Test
    void anEnqueueNamesItsQueueAndWakesOnlyNodesServingIt() {
        List<Notice> notices = Notice.decode("e:emails");
        assertThat(notices).containsExactly(new Notice(Signal.ENQUEUED, "emails"));
        assertThat(notices.get(0).wakes(Set.of("emails", "sms"))).isTrue();
        assertThat(notices.get(0).wakes(Set.of("sms"))).isFalse();
    }

    @Test
    void queueNamesAreTakenWhole() {
        // a queue whose name holds signal letters or the prefix is still just a queue name
        assertThat(Notice.decode("e:cf")).containsExactly(new Notice(Signal.ENQUEUED, "cf"));
        assertThat(Notice.decode("e:e:x")).containsExactly(new Notice(Signal.ENQUEUED, "e:x"));
        assertThat(Notice.decode("e:")).containsExactly(new Notice(Signal.ENQUEUED, ""));
    }

    @Test
    void anEnqueueWithoutAQueueWakesEveryNodeAndSoDoesAReconnect() {
        assertThat(Notice.decode("e")).containsExactly(new Notice(Signal.ENQUEUED, null));
        assertThat(new Notice(Signal.ENQUEUED, null).wakes(Set.of("any"))).isTrue();
        assertThat(Notice.CONNECTED.wakes(Set.of())).isTrue();
    }

    @Test
    void otherSignalsComeAsLettersAndWakeNoClaim() {
        List<Notice> notices = Notice.decode("cf");
        assertThat(notices).extracting(Notice::signal).containsExactly(Signal.CANCELLED, Signal.FINISHED);
        assertThat(notices).noneMatch(n -> n.wakes(Set.of("q")));
        assertThat(Notice.decode(null)).isEmpty();
        assertThat(Notice.decode("zzz")).isEmpty();
    }

    @Test
    void jobsDueLaterSayWhenForTheNodesServingTheirQueueAndWakeNoClaim() {
        List<Notice> notices = Notice.decode("t:1500:emails:eu");
        assertThat(notices).containsExactly(new Notice(Signal.SCHEDULED, "emails:eu", Duration.ofNanos(1_500_000)));
        assertThat(notices.get(0).schedules(Set.of("emails:eu"))).isTrue();
        assertThat(notices.get(0).schedules(Set.of("emails"))).isFalse();
        assertThat(notices.get(0).wakes(Set.of("emails:eu"))).isFalse();
        // a queue name too long for a notification: every node looks at its timer
        assertThat(Notice.decode("t:42")).containsExactly(new Notice(Signal.SCHEDULED, null, Duration.ofNanos(42_000)));
        assertThat(Notice.decode("t:42").get(0).schedules(Set.of("any"))).isTrue();
        // already due by the time it is read: zero, never negative
        assertThat(Notice.decode("t:-7:q")).extracting(Notice::dueIn).containsExactly(Duration.ZERO);
    }

    @Test
    void aMalformedDueTimeNamesNothing() {
        assertThat(Notice.decode("t:")).isEmpty();
        assertThat(Notice.decode("t:soon:q")).isEmpty();
        assertThat(Notice.decode("t:99999999999999999999:q")).isEmpty();
        assertThat(Notice.decode("t:9223372036854775807:q")).isEmpty(); // in nanoseconds, past a long
        assertThat(Signal.decode("ct")).containsExactly(Signal.CANCELLED);
    }
}
