package io.github.reactivepgqueue.internal.store;

import io.github.reactivepgqueue.DatabaseLoginException;
import io.github.reactivepgqueue.DatabaseUnavailableException;
import io.github.reactivepgqueue.internal.ErrorText;
import io.github.reactivepgqueue.internal.Shielded;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.R2dbcException;
import io.r2dbc.spi.Result;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Where the library's statements get their connections. Getting one takes at most the acquire
 * timeout, then fails with {@link DatabaseUnavailableException}, so no call hangs on a database
 * that is down or a pool that is exhausted; a login the server refuses fails with
 * {@link DatabaseLoginException}, which no retry can mend. The work runs in a transaction that sets its statement
 * and lock timeouts and custom plans with {@code SET LOCAL}, so they bound the library's own
 * statements only and end with the transaction: they never leak to other users of a shared pool.
 * Connections are given back, and transactions ended, on every path, cancellation included.
 */
public final class Db {
    private final ConnectionFactory factory;
    private final Duration acquireTimeout;
    private final String beginWithTimeouts;
    private final Scheduler timer;

    /** Zero {@code statementTimeout} or {@code lockTimeout} leaves that one unset. */
    public Db(ConnectionFactory factory, Duration acquireTimeout, Duration statementTimeout, Duration lockTimeout,
              Scheduler timer) {
        this(factory, acquireTimeout, beginWithTimeouts(statementTimeout, lockTimeout), timer);
    }

    private Db(ConnectionFactory factory, Duration acquireTimeout, String beginWithTimeouts, Scheduler timer) {
        this.factory = factory;
        this.acquireTimeout = acquireTimeout;
        this.beginWithTimeouts = beginWithTimeouts;
        this.timer = timer;
    }

    /** The same settings, with connections from {@code other}. */
    Db on(ConnectionFactory other) {
        return new Db(other, acquireTimeout, beginWithTimeouts, timer);
    }

    /**
     * The same, for statements written to walk index ranges a few entries long (the admin pages
     * and counts, the depth sample): their transactions also switch off sequential scans, bitmap
     * scans, sorts and JIT compilation. Each of them reads at most a bound of entries through an
     * index, in its order. The planner would otherwise be free to read all the matching rows
     * another way and sort them, and takes that when its statistics are older than the table (a
     * queue grown since the last ANALYZE looks empty, so every plan looks cheap) or when vacuum
     * has not yet marked the pages all-visible (an index-only walk then looks dear): that reads a
     * whole queue, or a whole table, to return a page or count to a bound. A switched-off kind of
     * scan or sort is still used where there is no other way (the final sort of a page), at a
     * penalty every plan pays alike. And the estimated costs of these statements (a limit taken as
     * a fraction of a large index) pass JIT's threshold: compiling the plan, about 50 ms, would
     * cost more than running it.
     */
    Db walkingIndexes() {
        return new Db(factory, acquireTimeout, beginWithTimeouts + INDEX_WALKS, timer);
    }

    /**
     * The same, for the claim: run at every pickup, it would spend more time being planned (about
     * 0.25 ms for a queue, 0.4 ms for ten) than running when few jobs are due. Its transactions let
     * PostgreSQL plan it once per connection and reuse that generic plan, and switch off
     * sequential scans. A plan made once is kept while the table grows until the next ANALYZE,
     * and one made on a nearly empty table would read the whole table by a sequential scan for
     * ever after (the claim's outer update did, in a test); with sequential scans off, every
     * plan for it walks the claim index and the primary key, which is the plan the statement is
     * written for (one bounded range per queue and priority, see job.sql).
     */
    Db reusingPlans() {
        return new Db(factory, acquireTimeout, beginWithTimeouts + REUSED_PLANS, timer);
    }

    /** What {@link #reusingPlans()} adds to the transaction's first statement. */
    static final String REUSED_PLANS = "; SET LOCAL plan_cache_mode = force_generic_plan"
            + "; SET LOCAL enable_seqscan = off";

    /** What {@link #walkingIndexes()} adds to the transaction's first statement. */
    static final String INDEX_WALKS = "; SET LOCAL jit = off; SET LOCAL enable_seqscan = off"
            + "; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off"
            + "; SET LOCAL enable_incremental_sort = off";

    /**
     * The one statement that opens the library's transactions: its timeouts, and custom plans.
     * The driver caches prepared statements per connection, and from the sixth execution
     * PostgreSQL may run a generic plan chosen without seeing the arrays; for the fenced batch
     * writes that plan joins unnest(ids, leases) to the rows by a nested loop, 1,000 x 1,000 pairs
     * per batch (a heartbeat over 10,000 running jobs took 8 s instead of 0.1 s). Planning each
     * batch statement costs far less than that.
     */
    static String beginWithTimeouts(Duration statementTimeout, Duration lockTimeout) {
        StringBuilder sql = new StringBuilder("BEGIN; SET LOCAL plan_cache_mode = force_custom_plan");
        if (!statementTimeout.isZero()) {
            sql.append("; SET LOCAL statement_timeout = ").append(Math.max(1, statementTimeout.toMillis()));
        }
        if (!lockTimeout.isZero()) {
            sql.append("; SET LOCAL lock_timeout = ").append(Math.max(1, lockTimeout.toMillis()));
        }
        return sql.toString();
    }

    /**
     * Runs {@code work} in a transaction: committed when it completes, rolled back when it fails.
     * Shielded from cancellation: once subscribed, it runs to its end (commit or rollback, then
     * the connection goes back) whatever the subscriber does, and a cancelled subscriber just
     * gets nothing. Cancelling halfway would race the rollback against the work's next statement
     * (which could then commit on its own) or hand the connection back inside a transaction whose
     * BEGIN was still in flight. The work's rows are collected, so keep results small.
     */
    public <T> Flux<T> transaction(Function<Connection, Publisher<T>> work) {
        return shielded(unshielded(conn -> Flux.usingWhen(Mono.just(conn), c -> beginThen(c, work),
                Connection::commitTransaction, (c, e) -> c.rollbackTransaction(), Connection::rollbackTransaction)));
    }

    /**
     * Opens the transaction and runs {@code work} in it, without waiting for the reply to the
     * {@code BEGIN}: the driver sends each request as it is subscribed and matches the replies in
     * order, so the {@code BEGIN} and the work's first statement travel together and a
     * transaction costs one round trip less (a pickup's claim is one of three). Errors wait for
     * the {@code BEGIN}'s reply, so the transaction state is known when it is rolled back; if
     * the {@code BEGIN} fails, the statement after it fails too (an aborted transaction, or a
     * closed connection), so nothing runs outside the transaction.
     */
    private <T> Flux<T> beginThen(Connection conn, Function<Connection, Publisher<T>> work) {
        Flux<T> begin = Flux.from(conn.createStatement(beginWithTimeouts).execute())
                .concatMap(Result::getRowsUpdated)
                .thenMany(Flux.empty());
        return Flux.mergeSequentialDelayError(List.of(begin, Flux.defer(() -> work.apply(conn))), 2, 32);
    }

    /**
     * Runs {@code work} on a connection with no transaction or timeouts of the library's own.
     * Not shielded: for work that manages its own transaction on every path.
     */
    public <T> Flux<T> unshielded(Function<Connection, Publisher<T>> work) {
        return Flux.usingWhen(acquire(), work, Connection::close, (c, e) -> c.close(), Connection::close);
    }

    /** {@code work} run to its end once subscribed, whatever the subscriber does; its rows collected. */
    public static <T> Flux<T> shielded(Flux<T> work) {
        return Shielded.runToEnd(work.collectList()).flatMapIterable(rows -> rows);
    }

    private Mono<Connection> acquire() {
        return Mono.<Connection>from(factory.create())
                .timeout(acquireTimeout, timer)
                .onErrorMap(e -> {
                    R2dbcException refusal = R2dbc.loginRefusal(e);
                    if (refusal != null) {
                        return loginRefused(refusal, e);
                    }
                    return new DatabaseUnavailableException(e instanceof TimeoutException
                            ? "No database connection within " + acquireTimeout + " (database down or pool exhausted)"
                            : "No database connection: " + ErrorText.summary(e), e);
                });
    }

    /** The server refused the login: no retry helps, so say what to check. */
    private static DatabaseLoginException loginRefused(R2dbcException refusal, Throwable error) {
        String check = "3D000".equals(refusal.getSqlState())
                ? "check the database name the connection factory uses"
                : "check the role (user name) and password the connection factory uses, and pg_hba.conf";
        return new DatabaseLoginException("PostgreSQL refused the login: " + refusal.getMessage() + " (SQLSTATE "
                + refusal.getSqlState() + "); " + check, error);
    }
}
