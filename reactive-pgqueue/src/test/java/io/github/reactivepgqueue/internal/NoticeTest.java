package io.github.reactivepgqueue.internal;

import static org.assertj.core.api.Assertions.assertThat;

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
}
