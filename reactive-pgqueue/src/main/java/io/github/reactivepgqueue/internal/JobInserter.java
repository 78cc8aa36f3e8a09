package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.EnqueueResult;
import io.github.reactivepgqueue.NewJob;
import io.github.reactivepgqueue.PgQueueException;
import io.github.reactivepgqueue.internal.store.JobStore;
import io.github.reactivepgqueue.internal.store.PgJobStore;
import io.r2dbc.spi.Connection;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Writes new jobs: one {@code INSERT ... SELECT FROM unnest(...)} statement per batch, whatever the
 * number of jobs in it, with unique-key duplicates resolved in the same statement. A batch without
 * unique keys takes a plainer statement that only inserts (it cannot meet a duplicate). Jobs are
 * inserted in unique-key order, so concurrent calls sharing keys do not deadlock.
 */
final class JobInserter {
    /** How often rows whose key holder was not yet visible are retried before giving up. */
    private static final int MAX_HOLDER_RETRIES = 5;

    private final JobStore store;
    private final JobEncoder encoder;
    private final int batchSize;
    private final @Nullable String signalChannel;
    private final QueueMetrics metrics;

    /** {@code signalChannel}: where enqueues notify the nodes; null to send no notifications. */
    /** How this inserter encodes jobs (also the jobs of schedule slots). */
    JobEncoder encoder() {
        return encoder;
    }

    public JobInserter(JobStore store, JobEncoder encoder, int batchSize, @Nullable String signalChannel,
                       QueueMetrics metrics) {
        this.store = store;
        this.encoder = encoder;
        this.batchSize = batchSize;
        this.signalChannel = signalChannel;
        this.metrics = metrics;
    }

    /**
     * Enqueues {@code jobs} on a connection of its own, in one transaction (one statement per batch),
     * so the call stores all jobs or none.
     */
    public Mono<List<EnqueueResult>> enqueueAll(Collection<NewJob> jobs) {
        return encodeAll(jobs).flatMap(encoded -> encoded.isEmpty() ? Mono.just(List.<EnqueueResult>of())
                : Mono.defer(() -> store.inserting(inserts -> insertInKeyOrder(inserts, encoded)))
                        // the transaction was rolled back whole; the same jobs (same ids) go again
                        .retryWhen(PgJobStore.retryDeadlocks())
                        .doOnNext(results -> MetricHooks.enqueued(metrics, encoded, results)));
    }

    /**
     * Enqueues {@code jobs} on the caller's connection, inside whatever transaction it has open. A
     * deadlock is not retried here: PostgreSQL rolled back the caller's transaction, which only the
     * caller can run again.
     */
    public Mono<List<EnqueueResult>> enqueueAll(Connection connection, Collection<NewJob> jobs) {
        return encodeAll(jobs).flatMap(encoded -> encoded.isEmpty() ? Mono.just(List.<EnqueueResult>of())
                : insertInKeyOrder(store.insertsOn(connection), encoded)
                        .doOnNext(results -> MetricHooks.enqueued(metrics, encoded, results)));
    }

    private Mono<List<EncodedJob>> encodeAll(Collection<NewJob> jobs) {
        return Mono.fromCallable(() -> {
            if (jobs == null) {
                throw new NullPointerException("jobs");
            }
            List<EncodedJob> encoded = new ArrayList<>(jobs.size());
            for (NewJob job : jobs) {
                encoded.add(encoder.encode(job));
            }
            return encoded;
        });
    }

    /**
     * Inserts {@code jobs} with the keyed ones in unique-key order (equal keys keep their input
     * order, so the first still wins) and answers in input order. Jobs without a key keep their
     * places, so each batch has as many keyed jobs as before (a batch without any takes the plain
     * insert). Every call takes the keys in the same order, so two calls that share keys wait for
     * each other instead of each holding a key the other needs, which PostgreSQL would break as a
     * deadlock.
     */
    private Mono<List<EnqueueResult>> insertInKeyOrder(JobStore.Inserts inserts, List<EncodedJob> jobs) {
        List<Integer> keyedPlaces = new ArrayList<>();
        for (int i = 0; i < jobs.size(); i++) {
            if (jobs.get(i).uniqueKey() != null) {
                keyedPlaces.add(i);
            }
        }
        List<Integer> byKey = new ArrayList<>(keyedPlaces);
        byKey.sort(Comparator.comparing(i -> Objects.requireNonNull(jobs.get(i).uniqueKey(), "uniqueKey")));
        // order[p]: the input index of the job inserted at place p
        int[] order = new int[jobs.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        for (int k = 0; k < keyedPlaces.size(); k++) {
            order[keyedPlaces.get(k)] = byKey.get(k);
        }
        List<EncodedJob> sorted = new ArrayList<>(jobs.size());
        for (int i : order) {
            sorted.add(jobs.get(i));
        }
        return insertBatches(inserts, sorted).map(results -> {
            EnqueueResult[] inInputOrder = new EnqueueResult[results.size()];
            for (int i = 0; i < order.length; i++) {
                inInputOrder[order[i]] = results.get(i);
            }
            return List.of(inInputOrder);
        });
    }

    private Mono<List<EnqueueResult>> insertBatches(JobStore.Inserts inserts, List<EncodedJob> jobs) {
        List<List<EncodedJob>> batches = new ArrayList<>();
        for (int from = 0; from < jobs.size(); from += batchSize) {
            batches.add(jobs.subList(from, Math.min(jobs.size(), from + batchSize)));
        }
        return Flux.fromIterable(batches)
                .concatMap(batch -> insertBatch(inserts, batch, 0))
                .collectList()
                .map(lists -> {
                    List<EnqueueResult> all = new ArrayList<>(jobs.size());
                    lists.forEach(all::addAll);
                    return all;
                });
    }

    private Mono<List<EnqueueResult>> insertBatch(JobStore.Inserts inserts, List<EncodedJob> batch, int retry) {
        if (batch.stream().allMatch(job -> job.uniqueKey() == null)) {
            return insertWithoutKeys(inserts, batch);
        }
        return inserts.insertMany(batch, signalChannel)
                .flatMap(rows -> resolve(inserts, batch, rows, retry));
    }

    /** A batch with no unique key: every job is inserted, so there is nothing to resolve. */
    private Mono<List<EnqueueResult>> insertWithoutKeys(JobStore.Inserts inserts, List<EncodedJob> batch) {
        return inserts.insertManyNoKeys(batch, signalChannel)
                .map(inserted -> {
                    if (inserted != batch.size()) {
                        throw new IllegalStateException("Inserted " + inserted + " of " + batch.size() + " jobs");
                    }
                    List<EnqueueResult> results = new ArrayList<>(batch.size());
                    for (EncodedJob job : batch) {
                        results.add(new EnqueueResult.Enqueued(job.id()));
                    }
                    return results;
                });
    }

    private Mono<List<EnqueueResult>> resolve(JobStore.Inserts inserts, List<EncodedJob> batch, List<JobStore.InsertedRow> rows,
                                              int retry) {
        EnqueueResult[] results = new EnqueueResult[batch.size()];
        List<Integer> unresolved = new ArrayList<>();
        for (JobStore.InsertedRow row : rows) {
            EncodedJob job = batch.get(row.index());
            if (row.inserted()) {
                results[row.index()] = new EnqueueResult.Enqueued(job.id());
            } else if (row.holderId() != null) {
                // only a unique key makes an insert stop at a holder
                String key = Objects.requireNonNull(job.uniqueKey(), "uniqueKey");
                results[row.index()] = new EnqueueResult.Duplicate(row.holderId(), key);
            } else {
                unresolved.add(row.index());
            }
        }
        if (unresolved.isEmpty()) {
            return Mono.just(List.of(results));
        }
        if (retry >= MAX_HOLDER_RETRIES) {
            return Mono.error(new EnqueueConflictException(unresolved.size()));
        }
        // The holder of these keys committed after the statement's snapshot (or finished in
        // between): run them again with a fresh snapshot.
        List<EncodedJob> again = unresolved.stream().map(batch::get).toList();
        return insertBatch(inserts, again, retry + 1).map(retried -> {
            for (int i = 0; i < unresolved.size(); i++) {
                results[unresolved.get(i)] = retried.get(i);
            }
            return List.of(results);
        });
    }

    /** The holder of a unique key kept changing while the enqueue retried. */
    static final class EnqueueConflictException extends PgQueueException {
        private static final long serialVersionUID = 1L;

        EnqueueConflictException(int jobs) {
            super("Could not settle the unique keys of " + jobs + " jobs: their holders kept finishing or "
                    + "appearing concurrently; retry the enqueue");
        }
    }
}
