package io.github.reactivepgqueue.examples.features;

import io.github.reactivepgqueue.ClaimedJob;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.Outcome;
import io.github.reactivepgqueue.PgQueue;
import io.github.reactivepgqueue.examples.ExampleMain;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import reactor.core.publisher.Mono;

/**
 * {@link PgQueue#jobs(String...)} in a pipeline of your own, instead of a handler: claim, process,
 * complete. The stream claims only what the pipeline asks for (here at most {@value #IN_PARALLEL}
 * jobs at a time, by {@code flatMap}'s concurrency); every claimed job is completed with an
 * {@link Outcome}; a job the pipeline cannot process (an image of width 0) is completed as
 * unprocessable, a final status: it is not retried (on a started node the janitor then moves it to
 * the dead-letter table).
 *
 * <p>Run it from the repository root with
 * <pre>
 * mvn -pl reactive-pgqueue-examples -am compile exec:java \
 *     -Dexec.mainClass=io.github.reactivepgqueue.examples.features.JobsPipeline
 * </pre>
 * and optionally {@code -Dexec.args="postgresql://user:password@host:5432/db"}; without a URL it
 * starts an embedded PostgreSQL. It works in the schema {@value #SCHEMA} and first purges its queue.
 */
public final class JobsPipeline {
    /** The schema {@code main} uses. */
    public static final String SCHEMA = "pgqueue_jobs_example";
    /** The queue of the images. */
    public static final String QUEUE = "thumbnails";
    /** Jobs enqueued per run; one of them is broken. */
    public static final int JOBS = 20;
    /** The enqueued image that cannot be processed. */
    public static final String BROKEN = "image-7.png";
    /** Most jobs the pipeline holds at once. */
    public static final int IN_PARALLEL = 4;

    private static final Duration RESIZE_TIME = Duration.ofMillis(20);

    private JobsPipeline() {
    }

    /** An image to make a thumbnail of; the job's payload. */
    public record Image(String name, int width) {
    }

    /**
     * Runs the example.
     *
     * @param args optionally the database URL
     */
    public static void main(String[] args) {
        ExampleMain.run("pgqueue-jobs-example", args, pool -> runOn(pool, SCHEMA)
                .doOnNext(done -> System.out.println(done + " jobs completed, one of them as unprocessable")));
    }

    /**
     * The example on {@code connections} in {@code schema}: used by {@code main} and the test.
     *
     * @return how many jobs the pipeline completed, whatever their outcome
     */
    public static Mono<Long> runOn(ConnectionFactory connections, String schema) {
        return Mono.defer(() -> {
            // build() reads the library's SQL files: build the queue where blocking is allowed, not on an event loop
            PgQueue queue = PgQueue.builder(connections).schema(schema).build();
            return Mono.usingWhen(Mono.just(queue),
                    q -> q.migrate()
                            .then(q.admin().purge(QUEUE))
                            .then(q.enqueueAll(images()))
                            .then(pipeline(q)),
                    PgQueue::close);
        });
    }

    /** Claim, process, complete; ends once every enqueued job has its outcome. */
    private static Mono<Long> pipeline(PgQueue queue) {
        return queue.jobs(QUEUE) // no start() needed: the stream claims on its own
                .flatMap(claimed -> process(claimed).flatMap(claimed::complete).thenReturn(claimed), IN_PARALLEL)
                // ending the subscription gives back any claimed job not yet completed (none here)
                .take(JOBS)
                .count();
    }

    /** The work for one job, and the outcome to record for it. */
    private static Mono<Outcome> process(ClaimedJob claimed) {
        Image image = claimed.job().payload(Image.class);
        if (image.width() <= 0) {
            System.out.println("  " + image.name() + ": broken, unprocessable");
            return Mono.just(Outcome.unprocessable()); // no point in retrying
        }
        return Mono.delay(RESIZE_TIME) // the resize
                .doOnNext(t -> System.out.println("  " + image.name() + ": thumbnail " + image.width() / 4 + " px wide"))
                .thenReturn(Outcome.success());
    }

    private static List<NewJob> images() {
        return IntStream.range(0, JOBS)
                .mapToObj(i -> "image-" + i + ".png")
                .map(name -> NewJob.of(QUEUE, new Image(name, name.equals(BROKEN) ? 0 : 1600)))
                .toList();
    }
}
