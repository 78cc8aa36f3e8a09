package io.github.reactivepgqueue.internal.store;

import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ValidationDepth;
import io.r2dbc.spi.Wrapped;
import java.time.Duration;

/**
 * The node's own small pool for its liveness work (claims, outcome writes, the heartbeat, the
 * reaper), so that nothing the application does with its own pool can make that work wait. Its
 * connections come from the factory beneath every wrapper of the given one ({@link #unwrapped}):
 * borrowing from the application's pool, also through a proxy around it, is what must not happen. Connections are opened as needed; one idle for a minute is closed when the pool is
 * next used.
 */
public final class OwnPool {
    private static final Duration MAX_IDLE = Duration.ofMinutes(1);
    private static final Duration MAX_LIFE = Duration.ofMinutes(30);

    private OwnPool() {
    }

    /**
     * A pool of at most {@code size} connections. Validation is local (no round trip per
     * acquire): a connection that the server closed fails it and is replaced, and as many retries
     * as connections let every dead one be replaced after a server restart; a statement on a
     * connection that died silently fails in the loop that sent it, which retries.
     */
    public static ConnectionPool create(ConnectionFactory given, int size, Duration acquireTimeout, String name) {
        return new ConnectionPool(ConnectionPoolConfiguration.builder(unwrapped(given))
                .name(name)
                .initialSize(0)
                .maxSize(size)
                .acquireRetry(size)
                .maxAcquireTime(acquireTimeout)
                .maxCreateConnectionTime(acquireTimeout)
                .validationDepth(ValidationDepth.LOCAL)
                .maxIdleTime(MAX_IDLE)
                .maxLifeTime(MAX_LIFE)
                // no timer of its own (a node built and never closed would leak it): idle and
                // old connections are evicted when the pool is next used
                .backgroundEvictionInterval(Duration.ZERO)
                .build());
    }

    /**
     * The factory beneath every {@link Wrapped} layer of {@code factory} (an r2dbc-pool pool, a
     * proxy), or {@code factory} itself: where the node opens the connections a pool of the
     * application must not lend, its own pool's and its listening one.
     */
    public static ConnectionFactory unwrapped(ConnectionFactory factory) {
        ConnectionFactory current = factory;
        while (current instanceof Wrapped<?> wrapped && wrapped.unwrap() instanceof ConnectionFactory inner
                && inner != current) {
            current = inner;
        }
        return current;
    }
}
