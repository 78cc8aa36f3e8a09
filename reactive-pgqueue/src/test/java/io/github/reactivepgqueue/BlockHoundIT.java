package io.github.reactivepgqueue;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/** Database tests run with BlockHound guarding the reactive threads. */
@ExtendWith(PostgresExtension.class)
class BlockHoundIT {

    @Test
    void blockingOnAReactiveThreadIsCaught(TestSchema db) {
        Mono.fromCallable(() -> {
                    Thread.sleep(1);
                    return 1;
                })
                .subscribeOn(Schedulers.parallel())
                .as(StepVerifier::create)
                .expectErrorSatisfies(e -> assertThat(e).hasMessageContaining("Blocking call"))
                .verify(Duration.ofSeconds(10));
    }
}
