package io.github.reactivepgqueue.internal.store;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Row;
import io.r2dbc.spi.Statement;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Small helpers that give connections back and end transactions on every path, cancel included. */
final class R2dbc {
    private R2dbc() {
    }

    /**
     * Runs {@code work} inside a transaction on {@code connection}: commits when it completes, rolls
     * back when it fails or is cancelled.
     */
    public static <T> Flux<T> inTransaction(Connection connection, Function<Connection, Publisher<T>> work) {
        return Flux.usingWhen(
                Mono.from(connection.beginTransaction()).thenReturn(connection),
                work,
                Connection::commitTransaction,
                (c, e) -> c.rollbackTransaction(),
                Connection::rollbackTransaction);
    }

    /** Executes a statement and counts the rows it changed. */
    public static Mono<Long> update(Statement statement) {
        return Flux.from(statement.execute()).flatMap(Result::getRowsUpdated).reduce(0L, Long::sum);
    }

    /** Executes a statement and maps each row. */
    public static <T> Flux<T> query(Statement statement, Function<Row, T> mapper) {
        return Flux.from(statement.execute()).flatMap(result -> result.map((row, meta) -> mapper.apply(row)));
    }

    /** Executes a statement whose rows carry one number in the column {@code column}. */
    public static Mono<Long> queryLong(Statement statement, String column) {
        return query(statement, row -> ((Number) row.get(column)).longValue()).single();
    }

    /**
     * The first database error among {@code error} and its causes that carries a SQLSTATE, or
     * null. Every classification below reads the SQLSTATE from here, so a wrapped error (a
     * composite, a cleanup failure) is classified as its database error.
     */
    static io.r2dbc.spi.@Nullable R2dbcException databaseError(Throwable error) {
        for (Throwable e = error; e != null; e = e.getCause() == e ? null : e.getCause()) {
            if (e instanceof io.r2dbc.spi.R2dbcException r && r.getSqlState() != null) {
                return r;
            }
        }
        return null;
    }

    /** The SQLSTATE of {@link #databaseError}, or "" when there is none. */
    static String sqlState(Throwable error) {
        io.r2dbc.spi.R2dbcException e = databaseError(error);
        String state = e == null ? null : e.getSqlState();
        return state == null ? "" : state;
    }

    /** Whether {@code error} is PostgreSQL breaking a deadlock (SQLSTATE 40P01); the transaction was rolled back. */
    public static boolean isDeadlock(Throwable error) {
        return sqlState(error).equals("40P01");
    }

    /** Whether {@code error} is a lock wait that ran past {@code lock_timeout} (SQLSTATE 55P03). */
    public static boolean isLockTimeout(Throwable error) {
        return sqlState(error).equals("55P03");
    }

    /** Whether {@code error} is a table or schema that does not exist (SQLSTATE 42P01, 3F000). */
    public static boolean isUndefinedTableOrSchema(Throwable error) {
        String state = sqlState(error);
        return state.equals("42P01") || state.equals("3F000");
    }

    /**
     * Whether {@code error} is a statement the server refused for what it says or who sends it
     * (SQLSTATE class 42: insufficient privilege 42501, undefined table 42P01, ...): the same
     * statement fails the same way however often it is retried.
     */
    public static boolean isAccessRuleOrSyntaxError(Throwable error) {
        return sqlState(error).startsWith("42");
    }

    /**
     * The server's refusal of a login, found in {@code error}'s causes: SQLSTATE class 28 (an
     * unknown role, a wrong password, no {@code pg_hba.conf} entry) or 3D000 (no such database);
     * null for anything else, such as a refused connection or a timeout.
     */
    public static io.r2dbc.spi.@Nullable R2dbcException loginRefusal(Throwable error) {
        String state = sqlState(error);
        return state.startsWith("28") || state.equals("3D000") ? databaseError(error) : null;
    }
}
