package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.StatementCounter;
import io.github.reactivepgqueue.testing.TestSchema;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

@ExtendWith(PostgresExtension.class)
class WorkerIT {
    private final TestSchema db;

    WorkerIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
    }

    @BeforeEach
    void empty() {
        db.execute("DELETE FROM {schema}.jobs");
    }

    @Test
    void runsEveryJobOnceAndCompletesIt() {
        Set<UUID> seen = ConcurrentHashMap.newKeySet();
        PgQueue queue = db.queueBuilder()
                .handler(ReactiveHandler.of("work", job -> {
                    assertThat(seen.add(job.id())).isTrue();
                    return Mono.just(Outcome.success());
                }))
                .build();
        List<NewJob> jobs = IntStream.range(0, 2000).mapToObj(i -> NewJob.of("work", Map.of("n", i))).toList();
        queue.enqueueAll(jobs).block(TIMEOUT);

        queue.start().block(TIMEOUT);
        await().atMost(TIMEOUT).until(() -> db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'completed'") == 2000);
        queue.close().block(TIMEOUT);

        assertThat(seen).hasSize(2000);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE attempt <> 1 OR lease IS NOT NULL")).isZero();
        assertThat(queue.staleWrites()).isZero();
    }

    /**
     * A queue flooded with jobs of priority 0 does not starve another queue when global permits
     * are short: both get claims (in proportion to their free permits). Before, the claim ordered
     * every queue's jobs by priority, and the flooded queue took every global permit.
     */
    @Test
    void aFloodedQueueOfHighPriorityDoesNotStarveAnother() {
        Sinks.Empty<Void> release = Sinks.empty();
        Map<String, AtomicInteger> running = Map.of("flooded", new AtomicInteger(), "trickle", new AtomicInteger());
        PgQueue queue = db.queueBuilder().globalConcurrency(10)
                .handler(held("flooded", running, release), QueueOptions.defaults().concurrency(10))
                .handler(held("trickle", running, release), QueueOptions.defaults().concurrency(10))
                .build();
        try {
            queue.enqueueAll(IntStream.range(0, 500).mapToObj(i -> NewJob.of("flooded", i).priority(0)).toList())
                    .block(TIMEOUT);
            queue.enqueueAll(IntStream.range(0, 20).mapToObj(i -> NewJob.of("trickle", i).priority(5)).toList())
                    .block(TIMEOUT);
            queue.start().block(TIMEOUT);
            await().atMost(TIMEOUT).until(() -> running.get("flooded").get() + running.get("trickle").get() == 10);
            assertThat(running.get("trickle").get()).as("trickle jobs running").isPositive();
            assertThat(running.get("flooded").get()).as("flooded jobs running").isPositive();
        } finally {
            release.tryEmitEmpty();
            queue.close().block(TIMEOUT);
        }
    }

    private static ReactiveHandler held(String name, Map<String, AtomicInteger> running, Sinks.Empty<Void> release) {
        return ReactiveHandler.of(name, job -> {
            running.get(name).incrementAndGet();
            return release.asMono().thenReturn(Outcome.success());
        });
    }

    @Test
    void outcomesOfABatchWhoseHandlersFinishAtOnceAreWrittenTogether() {
        // Handlers on the claiming thread finish a claimed batch in one go; handing the outcomes to
        // the writer one by one took longer than its flush interval, so a batch of 1,000 went out
        // as several completion statements.
        StatementCounter counter = new StatementCounter(db.connectionFactory());
        PgQueue queue = PgQueue.builder(counter).schema(db.name()).janitor(false)
                .handlerScheduler(Schedulers.immediate())
                .globalConcurrency(1000)
                .claimBatchSize(1000)
                .handler(ReactiveHandler.of("work", job -> Mono.just(Outcome.success())),
                        QueueOptions.defaults().concurrency(1000))
                .build();
        queue.enqueueAll(IntStream.range(0, 1000).mapToObj(i -> NewJob.of("work", Map.of("n", i))).toList())
                .block(TIMEOUT);
        counter.reset();
        queue.start().block(TIMEOUT);
        await().atMost(TIMEOUT).until(() -> db.count("SELECT count(*) FROM {schema}.jobs WHERE status = 'completed'") == 1000);
        queue.close().block(TIMEOUT);

        assertThat(completions(counter)).as("completion statements").isEqualTo(1);
    }

    private static long completions(StatementCounter counter) {
        return counter.work().stream().filter(sql -> sql.contains("SET status = 'completed'")).count();
    }
}
