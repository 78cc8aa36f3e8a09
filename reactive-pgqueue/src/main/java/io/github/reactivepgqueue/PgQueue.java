package io.github.reactivepgqueue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.reactivepgqueue.internal.Config;
import io.github.reactivepgqueue.internal.Node;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A job queue stored in PostgreSQL. Build one per application from an R2DBC
 * {@link ConnectionFactory} (ideally an r2dbc-pool {@code ConnectionPool}):
 *
 * <pre>{@code
 * PgQueue queue = PgQueue.builder(connectionFactory).schema("pgqueue").build();
 * queue.migrate()
 *      .then(queue.enqueue(NewJob.of("emails", new Welcome(userId))))
 *      .subscribe(result -> log.info("enqueued {}", result.id()));
 * }</pre>
 *
 * <p>Every method returns a cold publisher: nothing happens until it is subscribed. Failures are
 * signalled through {@code onError}; only a {@code null} argument throws at once. A {@code PgQueue}
 * is thread-safe, and any number of them, in one JVM or many, can share a schema.
 *
 * @since 0.1.0
 */
public final class PgQueue {
    private final Node node;
    private final QueueAdmin admin;
    private final Schedules schedules;

    PgQueue(Config config) {
        this.node = new Node(config);
        this.admin = new QueueAdmin(node);
        this.schedules = new Schedules(node);
    }

    /** Starts configuring a queue that reaches PostgreSQL through {@code connectionFactory}. */
    public static PgQueueBuilder builder(ConnectionFactory connectionFactory) {
        return new PgQueueBuilder(connectionFactory);
    }

    /** The schema holding the queue's tables. */
    public String schema() {
        return node.config().schema().name();
    }

    /** The Jackson mapper used for payloads. */
    public ObjectMapper objectMapper() {
        return node.config().objectMapper();
    }

    /**
     * Creates the schema if needed and applies the migrations it lacks, in one transaction under an
     * advisory lock, so several nodes may call it at once. Does nothing on a current schema.
     * Needs rights to create the schema (or own it) and its tables; a runtime role with DML rights
     * only can skip this when the migrations were applied by someone else (the files under
     * {@code sql/} work unchanged with Flyway).
     *
     * @return what was applied; fails with {@link SchemaVersionException} when the schema is newer
     *     than this library, or {@link MigrationException} when a migration fails (nothing is kept)
     */
    public Mono<MigrationResult> migrate() {
        return node.migrate();
    }

    /** The schema's current version: 0 when it has no tables, {@link #latestSchemaVersion()} when current. */
    public Mono<Integer> schemaVersion() {
        return node.schemaVersion();
    }

    /** The newest schema version this library knows. */
    public int latestSchemaVersion() {
        return node.latestSchemaVersion();
    }

    /**
     * Enqueues one job in an auto-committed statement of its own.
     *
     * @return the new job's id, or a {@link EnqueueResult.Duplicate} naming the live job holding the
     *     unique key; fails with {@link InvalidJobException} (nothing written) for an invalid job
     */
    public Mono<EnqueueResult> enqueue(NewJob job) {
        return node.enqueueAll(List.of(Objects.requireNonNull(job, "job"))).map(results -> results.get(0));
    }

    /**
     * Enqueues many jobs, one insert statement per batch (see
     * {@link PgQueueBuilder#enqueueBatchSize(int)}). All batches share one transaction: either every
     * job is stored (or found duplicate) or none. Jobs later in the list that repeat an earlier
     * job's unique key are duplicates of it. Jobs with unique keys are inserted in key order, so
     * concurrent calls that share keys wait for each other rather than deadlock; should PostgreSQL
     * still break the transaction as a deadlock, it is run again, up to 3 times.
     *
     * @return one result per job, in input order; fails with {@link InvalidJobException} if any job
     *     is invalid, and then nothing is written
     */
    public Mono<List<EnqueueResult>> enqueueAll(Collection<NewJob> jobs) {
        return node.enqueueAll(Objects.requireNonNull(jobs, "jobs"));
    }

    /**
     * Enqueues one job on the caller's connection, inside the transaction the caller has open: the
     * job exists only if that transaction commits. The caller owns the connection and the
     * transaction.
     */
    public Mono<EnqueueResult> enqueue(Connection connection, NewJob job) {
        return node.enqueueAll(Objects.requireNonNull(connection, "connection"),
                List.of(Objects.requireNonNull(job, "job"))).map(results -> results.get(0));
    }

    /**
     * Enqueues many jobs on the caller's connection, inside the transaction the caller has open;
     * otherwise as {@link #enqueueAll(Collection)}, except that a deadlock is not retried: PostgreSQL
     * rolled back the caller's transaction, and only the caller can run it again (the error has
     * SQLSTATE {@code 40P01}).
     */
    public Mono<List<EnqueueResult>> enqueueAll(Connection connection, Collection<NewJob> jobs) {
        return node.enqueueAll(Objects.requireNonNull(connection, "connection"), Objects.requireNonNull(jobs, "jobs"));
    }

    /**
     * Starts working: checks that the schema is at the version this library needs, then starts
     * claiming jobs of the queues that have handlers. Completes once claiming has begun. Fails at
     * once, without retrying, with {@link SchemaVersionException} if the schema is not current (at
     * version 0 before {@link #migrate()}), and with {@link DatabaseLoginException} if the server
     * refuses the login (an unknown role, a wrong password, no such database). While the database cannot
     * be reached it keeps trying, with backoff up to 5 s and one log line per incident, until it
     * can or the queue is stopped (bound the wait with {@code timeout} if you need to; cancelling
     * gives up starting). Calling it again while started does nothing; a stopped queue cannot start
     * again (build a new one).
     */
    public Mono<Void> start() {
        return node.start();
    }

    /**
     * Stops working: stops claiming at once, lets running handlers finish within {@code grace},
     * then cancels the handlers still running and gives their jobs back to pending with the
     * attempt restored; completes when every outcome is written. Idempotent: every call returns
     * the same stop. {@code queue.jobs()} streams keep working until {@link #close()}.
     */
    public Mono<Void> stop(Duration grace) {
        return node.stop(Objects.requireNonNull(grace, "grace"));
    }

    /**
     * Completes every {@link #jobs(String...)} stream (their unfinished jobs go back to pending,
     * as on cancel, and they claim nothing more; a stream subscribed later completes at once), then
     * {@link #stop(Duration)} with the builder's grace period, then closes the outcome writer,
     * the heartbeat and the listening connection; later enqueues and admin calls still work,
     * {@code jobs()} completions fail, and pending {@link #awaitCompletion} calls fail.
     */
    public Mono<Void> close() {
        return node.close();
    }

    /**
     * The job's final state once it has one (completed, failed, cancelled, critical, unprocessable
     * or bad_job), with its last error; at once if it has finished already, whichever node ran it.
     * Nodes signal finished jobs to each other, and the awaiting node also looks every poll
     * interval; all of a node's awaited jobs are looked up with one statement.
     *
     * @return the final state; fails with {@link NoSuchJobException} if no table holds the job
     *     (never enqueued, not committed yet, or deleted); cancel the subscription to stop waiting
     *     (use {@code timeout} to bound the wait)
     */
    public Mono<JobInfo> awaitCompletion(UUID id) {
        return node.awaitCompletion(Objects.requireNonNull(id, "id"));
    }

    /**
     * Enqueues {@code job} and awaits its final state, as {@link #awaitCompletion(UUID)}. When a live
     * job holds the unique key, awaits that job instead.
     */
    public Mono<JobInfo> enqueueAndAwait(NewJob job) {
        return enqueue(job).flatMap(result -> awaitCompletion(result.id()));
    }

    /**
     * Cancels the job with this id if it is pending or running. A pending job ends cancelled at
     * once; a running one too, and the node running it, whichever it is, disposes the handler's
     * subscription (at once when it listens for signals, else at its next heartbeat) and writes
     * nothing of what the handler might still emit.
     *
     * <p>The job reads {@code cancelled} at once ({@code admin().find}, {@code list}, {@code counts};
     * {@link #awaitCompletion} resolves), but a running job keeps its unique key until that node has
     * disposed the handler's subscription and let go of the job: until then an enqueue with the key
     * is a {@link EnqueueResult.Duplicate} of the cancelled job, so no job with the same key runs
     * beside its handler. If that node cannot let go (it stopped or lost the database), the reaper
     * does after the stall timeout. A job taken by a {@link #jobs(String...)} stream keeps its key
     * until the consumer completes it (its outcome is not written) or the stream ends. A handler
     * that blocks a thread gets at most an interrupt: the key is let go of once its subscription is
     * disposed.
     *
     * @return how many jobs were cancelled (0 or 1)
     */
    public Mono<Integer> cancel(UUID id) {
        return admin.cancel(id);
    }

    /** Cancels the live job holding {@code uniqueKey}, as {@link #cancel(UUID)}; emits how many (0 or 1). */
    public Mono<Integer> cancelByUniqueKey(String uniqueKey) {
        return admin.cancelByUniqueKey(uniqueKey);
    }

    /** Cancels every live job with {@code fingerprint}, as {@link #cancel(UUID)}; emits how many. */
    public Mono<Integer> cancelByFingerprint(String fingerprint) {
        return admin.cancelByFingerprint(fingerprint);
    }

    /** Finding, listing, counting, requeueing, deleting and purging jobs; pausing queues; maintenance on demand. */
    public QueueAdmin admin() {
        return admin;
    }

    /** Recurring jobs: adding, changing, pausing, listing and triggering schedules at runtime. */
    public Schedules schedules() {
        return schedules;
    }

    /**
     * Claimed jobs of {@code queues} for a pipeline of the caller's own. Claims follow demand:
     * {@code request(5)} claims at most 5 jobs. Each element must be completed with
     * {@link ClaimedJob#complete(Outcome)}; when the subscription ends (cancel, error, completion)
     * every claimed job not yet completed goes back to pending with its attempt restored. Works
     * whether or not {@link #start()} was called. Cold: each subscription claims on its own.
     * The stream completes when the queue is {@linkplain #close() closed}. Elements are signalled
     * on the handler scheduler ({@link PgQueueBuilder#handlerScheduler}, by default threads
     * {@code pgqueue-handler-*}), never on the database driver's event loop, and so is the end of
     * {@link ClaimedJob#complete}.
     *
     * <p>Errors: a claim that fails in a way no retry mends ends the stream with that error: a
     * missing privilege or table (an R2DBC exception of SQLSTATE class 42, such as 42501 or
     * 42P01), a {@link SchemaVersionException}, a {@link DatabaseLoginException}. Other failures
     * (a lost connection, a {@link DatabaseUnavailableException}, a statement or lock timeout, a
     * deadlock) are retried at the next poll tick and logged once per incident; the subscriber
     * sees no signal for them. See docs/error-handling.md.
     */
    public Flux<ClaimedJob> jobs(String... queues) {
        return node.jobs(Arrays.asList(Objects.requireNonNull(queues, "queues")));
    }

    /** Jobs this node has claimed and not yet finished. */
    public int jobsInFlight() {
        return node.jobsInFlight();
    }

    /** What the worker holds right now (claimed jobs, permits, claims running), for tests' diagnoses. */
    String workerState() {
        return node.workerState();
    }

    /** The node behind this facade, for tests that run one of its services once. */
    Node node() {
        return node;
    }

    /** Outcome writes that changed nothing because the job's lease was no longer current. */
    public long staleWrites() {
        return node.staleWrites();
    }

    @Override
    public String toString() {
        return "PgQueue[schema=" + schema() + "]";
    }
}
