package io.github.reactivepgqueue.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Row;
import io.r2dbc.spi.Statement;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The raw floor: tight R2DBC loops over the queue's SQL with no queue logic around them. Each
 * loop owns one connection and runs its statements one after another; several loops run at once.
 */
final class FloorLoops {
    /**
     * How a drain runs each statement: alone (auto-commit), in a transaction opened as the library
     * opens its own (one simple query: custom plans, statement and lock timeouts, and for the claim
     * its reused generic plan with sequential scans off; see the library's {@code Db}), or opened
     * as the library did before it asked for custom plans.
     */
    enum Transactions {
        NONE(null, null),
        LIBRARY(Begin.LIBRARY, Begin.LIBRARY + Begin.REUSED_PLANS),
        LIBRARY_AUTO_PLANS(Begin.AUTO_PLANS, Begin.AUTO_PLANS);

        /** What opens a write's transaction (a completion, a heartbeat); null: none. */
        final @Nullable String begin;
        /** What opens a claim's transaction; null: none. */
        final @Nullable String claimBegin;

        Transactions(@Nullable String begin, @Nullable String claimBegin) {
            this.begin = begin;
            this.claimBegin = claimBegin;
        }

        /** What the JSON line says of it. */
        String describe() {
            if (begin == null) {
                return "none (auto-commit)";
            }
            return begin.equals(claimBegin) ? begin : begin + " (claims: " + claimBegin + ")";
        }
    }

    /** The first statements of the library's transactions, as its {@code Db} writes them. */
    private static final class Begin {
        static final String LIBRARY = "BEGIN; SET LOCAL plan_cache_mode = force_custom_plan"
                + "; SET LOCAL statement_timeout = 30000; SET LOCAL lock_timeout = 5000";
        static final String REUSED_PLANS = "; SET LOCAL plan_cache_mode = force_generic_plan"
                + "; SET LOCAL enable_seqscan = off";
        static final String AUTO_PLANS = "BEGIN; SET LOCAL statement_timeout = 30000; SET LOCAL lock_timeout = 5000";
    }

    private static final Duration LIMIT = Duration.ofMinutes(30);

    private final ConnectionFactory connections;
    private final FloorSql sql;
    private final ObjectMapper mapper;
    /** Sum of the payload numbers parsed, so the parsing cannot be optimised away. */
    private final LongAdder checksum = new LongAdder();

    FloorLoops(ConnectionFactory connections, FloorSql sql, ObjectMapper mapper) {
        this.connections = connections;
        this.sql = sql;
        this.mapper = mapper;
    }

    /** Which insert statement a fill uses. */
    enum InsertShape { MINIMAL, LIBRARY }

    /** Which claim statement a drain uses. */
    enum ClaimShape { MINIMAL, LIBRARY }

    /** Which completion statement a drain uses. */
    enum CompleteShape { MINIMAL_UPDATE, MINIMAL_DELETE, LIBRARY }

    long checksum() {
        return checksum.sum();
    }

    /**
     * Inserts jobs {@code 0 .. n-1} in batches of {@code batch} on {@code loops} connections
     * (auto-committed statements); returns the nanoseconds it took.
     */
    long enqueue(InsertShape shape, int n, int batch, int loops) {
        // the library's insert: what it sends for jobs without unique keys
        String statement = shape == InsertShape.MINIMAL ? sql.minimalInsert() : sql.library("JobInsertManyNoKeys");
        int batches = (n + batch - 1) / batch;
        AtomicInteger next = new AtomicInteger();
        long start = System.nanoTime();
        Flux.range(0, loops)
                .flatMap(loop -> Mono.usingWhen(connections.create(),
                        conn -> Mono.defer(() -> {
                                    int b = next.getAndIncrement();
                                    if (b >= batches) {
                                        return Mono.just(false);
                                    }
                                    Statement s = conn.createStatement(statement);
                                    bindInsert(s, shape, b * batch, Math.min(n, (b + 1) * batch));
                                    return Flux.from(s.execute()).concatMap(FloorLoops::drainResult).then(Mono.just(true));
                                })
                                .repeat()
                                .takeWhile(more -> more)
                                .then(),
                        Connection::close), loops)
                .then()
                .block(LIMIT);
        return System.nanoTime() - start;
    }

    private void bindInsert(Statement s, InsertShape shape, int from, int to) {
        int size = to - from;
        UUID[] ids = new UUID[size];
        String[] queues = new String[size];
        String[] payloads = new String[size];
        for (int i = 0; i < size; i++) {
            ids[i] = TimeOrderedIds.next();
            queues[i] = BenchQueues.QUEUE;
            payloads[i] = json(new BenchQueues.Payload(from + i));
        }
        s.bind("$1", ids).bind("$2", queues).bind("$3", payloads);
        if (shape == InsertShape.LIBRARY) {
            // priority, unique key, fingerprint, max attempts, run at, delay, no notification channel
            Integer[] priorities = new Integer[size];
            Integer[] maxAttempts = new Integer[size];
            Long[] delays = new Long[size];
            for (int i = 0; i < size; i++) {
                priorities[i] = 0;
                maxAttempts[i] = 5;
                delays[i] = 0L;
            }
            s.bind("$4", priorities).bind("$5", new String[size]).bind("$6", new String[size])
                    .bind("$7", maxAttempts).bind("$8", new Instant[size]).bind("$9", delays)
                    .bindNull("$10", String.class);
        }
    }

    private String json(Object payload) {
        try {
            return mapper.writeValueAsString(payload);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Claims batches of {@code claimBatch} jobs, parses their payloads and completes each batch
     * with one statement, on {@code loops} connections at once, until a claim comes back empty on
     * every connection; returns the nanoseconds it took. Unless {@code transactions} is NONE, every
     * claim and every completion runs in a transaction of its own (BEGIN; SET LOCAL ...; the
     * statement; COMMIT), as the library runs them.
     */
    long drain(ClaimShape claim, CompleteShape complete, Transactions transactions, int claimBatch, int loops) {
        long start = System.nanoTime();
        Flux.range(0, loops)
                .flatMap(loop -> Mono.usingWhen(connections.create(),
                        conn -> step(conn, claim, complete, transactions, claimBatch)
                                .repeat()
                                .takeWhile(claimed -> claimed > 0)
                                .then(),
                        Connection::close), loops)
                .then()
                .block(LIMIT);
        return System.nanoTime() - start;
    }

    /** One claim and its completion; emits how many jobs were claimed. */
    private Mono<Integer> step(Connection conn, ClaimShape claim, CompleteShape complete, Transactions transactions,
                               int claimBatch) {
        return inTransaction(conn, transactions.claimBegin, () -> claim(conn, claim, claimBatch))
                .flatMap(jobs -> jobs.isEmpty() ? Mono.just(0)
                        : inTransaction(conn, transactions.begin, () -> complete(conn, complete, jobs))
                                .thenReturn(jobs.size()));
    }

    /** {@code work} (made when its turn comes) in a transaction opened by {@code begin}, unless null. */
    static <T> Mono<T> inTransaction(Connection conn, @Nullable String begin, Supplier<Mono<T>> work) {
        if (begin == null) {
            return Mono.defer(work);
        }
        return Flux.from(conn.createStatement(begin).execute())
                .concatMap(Result::getRowsUpdated)
                .then(Mono.defer(work))
                .flatMap(result -> Mono.from(conn.commitTransaction()).thenReturn(result));
    }

    /** A claimed job: what the completion needs. */
    private record Claimed(UUID id, UUID lease) {
    }

    private Mono<List<Claimed>> claim(Connection conn, ClaimShape shape, int claimBatch) {
        Statement s;
        if (shape == ClaimShape.LIBRARY) {
            s = conn.createStatement(sql.library("JobClaim"))
                    .bind("$1", new String[] {BenchQueues.QUEUE}).bind("$2", new Integer[] {claimBatch});
        } else {
            s = conn.createStatement(sql.minimalClaim()).bind("$1", BenchQueues.QUEUE).bind("$2", claimBatch);
        }
        boolean allColumns = shape == ClaimShape.LIBRARY;
        return Flux.from(s.execute())
                .concatMap(result -> result.map((row, meta) -> claimed(row, allColumns)))
                .collectList();
    }

    private Claimed claimed(Row row, boolean allColumns) {
        if (allColumns) {
            // read every column the library's claim returns, by position, as the library does
            row.get(2, String.class); // queue
            row.get(4, String.class); // fingerprint
            row.get(5, String.class); // unique key
            String numbers = row.get(6, String.class);
            long digits = 0; // the numbers parsed by hand, as the library parses them
            for (int i = 0; i < numbers.length(); i++) {
                char c = numbers.charAt(i);
                digits = c == ',' ? 0 : (digits << 4) | Character.digit(c, 16);
            }
            checksum.add(digits == Long.MIN_VALUE ? 1 : 0);
        }
        try {
            checksum.add(mapper.readTree(row.get("payload", String.class)).get("n").asLong());
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        return new Claimed(row.get("id", UUID.class), row.get("lease", UUID.class));
    }

    private Mono<Long> complete(Connection conn, CompleteShape shape, List<Claimed> jobs) {
        UUID[] ids = new UUID[jobs.size()];
        UUID[] leases = new UUID[jobs.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = jobs.get(i).id();
            leases[i] = jobs.get(i).lease();
        }
        String statement = switch (shape) {
            case MINIMAL_UPDATE -> sql.minimalComplete();
            case MINIMAL_DELETE -> sql.minimalDelete();
            case LIBRARY -> sql.library("JobCompleteArchiveMany"); // what the library sends with the janitor on
        };
        Statement complete = conn.createStatement(statement).bind("$1", ids).bind("$2", leases);
        if (shape == CompleteShape.LIBRARY) {
            // as the library sends it: one notification for awaiting nodes (nobody listens here)
            complete.bind("$3", "pgqueue_floor").bind("$4", "f");
        }
        return Flux.from(complete.execute())
                .concatMap(FloorLoops::drainResult)
                .reduce(0L, Long::sum);
    }

    /** Reads a result to its end (rows or an update count) and emits the number of rows. */
    private static Mono<Long> drainResult(Result result) {
        return Flux.from(result.map((row, meta) -> 1L)).count();
    }
}
