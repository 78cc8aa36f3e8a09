package io.github.reactivepgqueue.examples.features;

import io.github.reactivepgqueue.EnqueueResult;
import io.github.reactivepgqueue.Job;
import io.github.reactivepgqueue.JobInfo;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.QueueOptions;
import io.github.reactivepgqueue.ReactiveHandler;
import io.github.reactivepgqueue.examples.ExampleMain;
import io.github.reactivepgqueue.permit.Permit;
import io.github.reactivepgqueue.permit.PermitDenied;
import io.github.reactivepgqueue.permit.PermitStrategy;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A {@link PermitStrategy} guarding a shared resource: a partner's API that accepts at most
 * {@value #SEATS} calls at a time. The queue itself may run {@value #QUEUE_CONCURRENCY} jobs at
 * once; the strategy lets only {@value #SEATS} of them hold a seat, and a job that finds every seat
 * taken is refused with {@link PermitDenied#tryAfter(Duration)}: it goes back to pending and runs a
 * little later without using an attempt. The library releases a job's permit once its outcome is
 * written.
 *
 * <p>Run it from the repository root with
 * <pre>
 * mvn -pl reactive-pgqueue-examples -am compile exec:java \
 *     -Dexec.mainClass=io.github.reactivepgqueue.examples.features.SharedResourcePermits
 * </pre>
 * and optionally {@code -Dexec.args="postgresql://user:password@host:5432/db"}; without a URL it
 * starts an embedded PostgreSQL. It works in the schema {@value #SCHEMA} and first purges its queue.
 */
public final class SharedResourcePermits {
    /** The schema {@code main} uses. */
    public static final String SCHEMA = "pgqueue_permit_example";
    /** The queue of the calls to the partner. */
    public static final String QUEUE = "partner-calls";
    /** How many calls the partner accepts at a time. */
    public static final int SEATS = 2;
    /** How many jobs of the queue may run at once, permits aside. */
    public static final int QUEUE_CONCURRENCY = 8;
    /** Jobs enqueued per run. */
    public static final int JOBS = 12;

    private static final Duration CALL_TIME = Duration.ofMillis(100);
    private static final Duration TRY_AGAIN_AFTER = Duration.ofMillis(100);
    private static final Duration POLL_INTERVAL = Duration.ofMillis(100);

    private SharedResourcePermits() {
    }

    /** One call to make; the job's payload. */
    public record PartnerCall(int order) {
    }

    /**
     * What the run saw.
     *
     * @param jobs    the final state of every job
     * @param mostAtOnce the most calls the partner had at one time
     * @param refused how many times a job found every seat taken
     */
    public record Summary(List<JobInfo> jobs, int mostAtOnce, int refused) {
    }

    /**
     * The strategy: {@value #SEATS} seats in a semaphore of this process. A strategy may also ask
     * a database or another service, as long as it does not block.
     */
    static final class Seats implements PermitStrategy {
        private final Semaphore seats = new Semaphore(SEATS);
        private final AtomicInteger refused = new AtomicInteger();

        @Override
        public Mono<Permit> acquire(Job job) {
            return Mono.defer(() -> {
                if (seats.tryAcquire()) { // never waits
                    Permit seat = () -> Mono.fromRunnable(seats::release);
                    return Mono.just(seat);
                }
                refused.incrementAndGet();
                return Mono.error(PermitDenied.tryAfter(TRY_AGAIN_AFTER));
            });
        }
    }

    /**
     * Runs the example.
     *
     * @param args optionally the database URL
     */
    public static void main(String[] args) {
        ExampleMain.run("pgqueue-permit-example", args, pool -> runOn(pool, SCHEMA));
    }

    /** The example on {@code connections} in {@code schema}: used by {@code main} and the test. */
    public static Mono<Summary> runOn(ConnectionFactory connections, String schema) {
        return Mono.defer(() -> {
            Seats seats = new Seats();
            AtomicInteger calling = new AtomicInteger();
            AtomicInteger mostAtOnce = new AtomicInteger();
            // the handler only runs while its job holds a seat
            ReactiveHandler callPartner = ReactiveHandler.of(QUEUE, job -> Mono.defer(() -> {
                mostAtOnce.accumulateAndGet(calling.incrementAndGet(), Math::max);
                return Mono.delay(CALL_TIME); // the call to the partner
            }).doFinally(signal -> calling.decrementAndGet()).thenReturn(Outcome.success()));

            PgQueue queue = PgQueue.builder(connections)
                    .schema(schema)
                    .pollInterval(POLL_INTERVAL) // refused jobs come back soon; the default is 1 s
                    .handler(callPartner, QueueOptions.defaults()
                            .concurrency(QUEUE_CONCURRENCY)
                            .permitStrategy(seats))
                    .build();
            List<NewJob> calls = IntStream.range(0, JOBS).mapToObj(i -> NewJob.of(QUEUE, new PartnerCall(i))).toList();
            return Mono.usingWhen(Mono.just(queue),
                    q -> q.migrate()
                            .then(q.admin().purge(QUEUE))
                            .then(q.enqueueAll(calls))
                            .flatMap(enqueued -> q.start().then(awaitAll(q, enqueued))),
                    PgQueue::close)
                    .map(jobs -> new Summary(jobs, mostAtOnce.get(), seats.refused.get()))
                    .doOnNext(s -> System.out.printf("%d calls done, at most %d at once, %d times refused a seat%n",
                            s.jobs().size(), s.mostAtOnce(), s.refused()));
        });
    }

    private static Mono<List<JobInfo>> awaitAll(PgQueue queue, List<EnqueueResult> enqueued) {
        return Flux.fromIterable(enqueued).flatMap(result -> queue.awaitCompletion(result.id())).collectList();
    }
}
