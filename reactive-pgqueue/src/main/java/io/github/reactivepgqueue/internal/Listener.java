package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.internal.store.JobStore;
import io.r2dbc.postgresql.api.PostgresqlConnection;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Wrapped;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.util.retry.Retry;

/**
 * Receives the {@link Signal}s of a schema on one connection of its own, opened from a
 * connection factory that is not a pool (a pool would recycle the connection and lose the
 * LISTEN with it). The connection is open while anyone subscribes to {@link #notices()}, and for
 * a short linger after the last one leaves. Notifications are subscribed to before LISTEN is
 * sent, and buffered, so none is dropped by the driver for want of demand. After every
 * (re)connection the stream emits a {@link Signal#CONNECTED} notice, because signals sent while it was
 * away are lost. Every check interval the connection must show, within the check timeout, that it
 * still listens (a half-open socket passes any local check); a broken, frozen or deaf connection is
 * closed and replaced with backoff, forever, until {@link #close()}.
 */
public final class Listener {
    private static final Logger log = LoggerFactory.getLogger(Listener.class);
    private static final Duration LINGER = Duration.ofSeconds(5);

    private final ConnectionFactory factory;
    private final String channel;
    private final JobStore store;
    private final Duration checkInterval;
    private final Duration checkTimeout;
    private final Scheduler timer;
    private final IncidentLog incidents = new IncidentLog(log, "Listening for signals");
    private final Sinks.Empty<Void> closed = Sinks.empty();
    private final Flux<Notice> notices;
    /** Whether a connection listens right now (between its LISTEN and its close). */
    private volatile boolean connected;

    /**
     * @param checkInterval how often the connection proves it still listens
     * @param checkTimeout  how long that proof may take before the connection counts as dead
     */
    public Listener(ConnectionFactory factory, JobStore store, String channel, Duration checkInterval, Duration checkTimeout,
                    Scheduler timer) {
        this.factory = unpooled(factory);
        this.store = store;
        this.channel = channel;
        this.checkInterval = checkInterval;
        this.checkTimeout = checkTimeout;
        this.timer = timer;
        // Connecting and LISTEN get the check timeout too: a connection accepted by something that
        // never answers (a proxy before a stuck server) must not leave the listener waiting forever.
        this.notices = Flux.usingWhen(
                        Mono.<Connection>from(this.factory.create()).timeout(checkTimeout, timer),
                        this::listen, this::close, (conn, error) -> close(conn), this::close)
                .doOnError(incidents::failed)
                .retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(10))
                        .transientErrors(true).scheduler(timer)
                        .filter(e -> !(e instanceof NotPostgresql)))
                .repeatWhen(ends -> ends.delayElements(Duration.ofMillis(100), timer))
                .onErrorResume(NotPostgresql.class, e -> {
                    log.warn("{}; signals are off and nodes rely on polling", e.getMessage());
                    return Flux.never();
                })
                .takeUntilOther(closed.asMono())
                .publish()
                .refCount(1, LINGER, timer);
    }

    /** The factory itself, or the factory behind it when it is a pool. */
    static ConnectionFactory unpooled(ConnectionFactory factory) {
        ConnectionFactory current = factory;
        while (current instanceof Wrapped<?> wrapped && wrapped.unwrap() instanceof ConnectionFactory inner
                && inner != current) {
            current = inner;
        }
        return current;
    }

    /** Signals as they arrive; hot and shared. Subscribers must not block. */
    public Flux<Notice> notices() {
        return notices;
    }

    /** Whether a connection listens right now: false before the first LISTEN, while reconnecting and once closed. */
    public boolean connected() {
        return connected;
    }

    /** Closes the connection for good; later subscribers get nothing. */
    public void close() {
        closed.tryEmitEmpty();
    }

    private Flux<Notice> listen(Connection connection) {
        Connection raw = connection;
        while (!(raw instanceof PostgresqlConnection) && raw instanceof Wrapped<?> wrapped
                && wrapped.unwrap() instanceof Connection inner && inner != raw) {
            raw = inner;
        }
        if (!(raw instanceof PostgresqlConnection pg)) {
            return Flux.error(new NotPostgresql("The listener's connection is a " + connection.getClass().getName()
                    + ", not an r2dbc-postgresql connection"));
        }
        Flux<Notice> notifications = pg.getNotifications()
                .onBackpressureBuffer()
                .filter(n -> channel.equals(n.getName()))
                .flatMapIterable(n -> Notice.decode(n.getParameter()));
        Mono<Notice> listening = store.listen(pg, channel)
                .timeout(checkTimeout, timer)
                .thenReturn(Notice.CONNECTED)
                .doOnNext(s -> {
                    connected = true;
                    incidents.succeeded();
                    log.debug("Listening on channel {}", channel);
                });
        // A dead peer closes the connection and errors the notifications; a frozen one (half-open
        // socket, hung server) says nothing at all, so the connection must prove it is alive.
        Flux<Notice> liveness = Flux.interval(checkInterval, checkInterval, timer)
                .onBackpressureDrop() // a check still running when the next is due: skip the tick
                .concatMap(tick -> stillListening(pg), 0);
        // merge subscribes to the notifications before LISTEN is sent
        return Flux.merge(notifications, listening, liveness);
    }

    /** Closes a connection, not waiting long on one whose peer no longer answers. */
    private Mono<Void> close(Connection connection) {
        connected = false;
        return Mono.from(connection.close()).timeout(checkTimeout, timer).onErrorResume(e -> Mono.empty());
    }

    private Mono<Notice> stillListening(PostgresqlConnection pg) {
        return store.listening(pg, channel)
                .timeout(checkTimeout, Mono.error(() -> new ListenerDead("the listening connection did not answer "
                        + "its liveness check within " + checkTimeout)), timer)
                .flatMap(listening -> listening ? Mono.<Notice>empty()
                        : Mono.error(new ListenerDead("the listening connection no longer listens on " + channel)));
    }

    private static final class ListenerDead extends RuntimeException {
        ListenerDead(String message) {
            super(message, null, false, false);
        }
    }

    private static final class NotPostgresql extends RuntimeException {
        NotPostgresql(String message) {
            super(message, null, false, false);
        }
    }
}
