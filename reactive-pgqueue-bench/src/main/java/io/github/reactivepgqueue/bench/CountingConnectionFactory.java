package io.github.reactivepgqueue.bench;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.Wrapped;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * A connection factory that hands out the connections of another and counts the statements
 * created on them, by kind (claim, complete, heartbeat, the {@code BEGIN; SET LOCAL ...} that opens
 * the library's transactions, ...). Put the pool on top of it, so the pool's connections are
 * counted. Its connections are {@link Wrapped}, so the library's listener still finds the
 * r2dbc-postgresql connection behind them.
 */
public final class CountingConnectionFactory implements ConnectionFactory {
    private final ConnectionFactory delegate;
    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();

    public CountingConnectionFactory(ConnectionFactory delegate) {
        this.delegate = delegate;
    }

    /** Statements created so far, by kind, in name order. */
    public Map<String, Long> snapshot() {
        Map<String, Long> copy = new TreeMap<>();
        counts.forEach((kind, n) -> copy.put(kind, n.sum()));
        return copy;
    }

    /** The statements created since {@code before} (a {@link #snapshot()}), by kind. */
    public Map<String, Long> since(Map<String, Long> before) {
        Map<String, Long> diff = new TreeMap<>();
        snapshot().forEach((kind, n) -> {
            long d = n - before.getOrDefault(kind, 0L);
            if (d != 0) {
                diff.put(kind, d);
            }
        });
        return diff;
    }

    /** The kind of a statement of the library (or of the floor), from its SQL text. */
    static String kindOf(String sql) {
        if (sql.startsWith("BEGIN")) {
            return "begin_set_local";
        }
        if (sql.contains("lease = gen_random_uuid()")) {
            return "claim";
        }
        if (sql.contains("SET status = 'completed'") || sql.contains("SELECT id, queue, 'completed', ")) {
            return "complete";
        }
        if (sql.contains("SET heartbeat_at = now()")) {
            return "heartbeat";
        }
        if (sql.contains("INSERT INTO") && sql.contains("jobs (id, queue")) {
            return "insert";
        }
        if (sql.contains("WITH moved AS")) {
            return "janitor_move";
        }
        if (sql.contains("jobs_archive a") || sql.contains("jobs_dead d")) {
            return "janitor_delete";
        }
        if (sql.contains("Stalled: no heartbeat")) {
            return "reaper";
        }
        if (sql.contains("pg_notify($1, p)")) {
            return "signal";
        }
        if (sql.contains("pg_listening_channels")) {
            return "listener_check";
        }
        return "other";
    }

    @Override
    public Publisher<? extends Connection> create() {
        return Mono.from(delegate.create()).map(this::counting);
    }

    @Override
    public ConnectionFactoryMetadata getMetadata() {
        return delegate.getMetadata();
    }

    private Connection counting(Connection connection) {
        return (Connection) Proxy.newProxyInstance(CountingConnectionFactory.class.getClassLoader(),
                new Class<?>[] {Connection.class, Wrapped.class},
                (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "unwrap" -> {
                            // unwrap(): the real connection; unwrap(Class): Wrapped's default method
                            return args == null || args.length == 0 ? connection
                                    : InvocationHandler.invokeDefault(proxy, method, args);
                        }
                        case "createStatement" -> counts.computeIfAbsent(kindOf((String) args[0]), k -> new LongAdder())
                                .increment();
                        case "equals" -> {
                            return proxy == args[0];
                        }
                        case "hashCode" -> {
                            return System.identityHashCode(proxy);
                        }
                        case "toString" -> {
                            return "Counting[" + connection + "]";
                        }
                        default -> { }
                    }
                    try {
                        return method.invoke(connection, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
