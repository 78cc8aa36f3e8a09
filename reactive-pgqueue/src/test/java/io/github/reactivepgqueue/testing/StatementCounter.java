package io.github.reactivepgqueue.testing;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * A connection factory that passes everything to a real one and records the SQL of every
 * statement created on its connections, so tests can count round trips.
 */
public final class StatementCounter implements ConnectionFactory {
    private final ConnectionFactory delegate;
    private final List<String> statements = new CopyOnWriteArrayList<>();

    public StatementCounter(ConnectionFactory delegate) {
        this.delegate = delegate;
    }

    /** The SQL of every statement created so far, in order. */
    public List<String> statements() {
        return List.copyOf(statements);
    }

    /**
     * The SQL of every statement created so far except the ones that open a transaction and set
     * its timeouts ({@code BEGIN; SET LOCAL ...}), which the library sends before its own
     * statements when statement or lock timeouts are configured.
     */
    public List<String> work() {
        return statements.stream().filter(s -> !s.startsWith("BEGIN")).toList();
    }

    /** How many statements whose SQL contains {@code fragment} were created. */
    public long count(String fragment) {
        return statements.stream().filter(s -> s.contains(fragment)).count();
    }

    public void reset() {
        statements.clear();
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
        return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("createStatement")) {
                        statements.add((String) args[0]);
                    }
                    try {
                        return method.invoke(connection, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
