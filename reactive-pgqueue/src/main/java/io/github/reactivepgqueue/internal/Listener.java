package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.internal.Config.ListenerConfig;
import io.github.reactivepgqueue.internal.store.JobStore;
import io.github.reactivepgqueue.internal.store.OwnPool;
import io.r2dbc.postgresql.api.PostgresqlConnection;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Wrapped;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.Disposables;
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
 * closed and replaced with backoff, forever, until {@link #stop()}.
 *
 * <p>Not a {@link ServiceLoop}: its loop is a connection's life (connect, LISTEN, prove it listens
 * every check interval), and a failed check must end that connection and reconnect with backoff
 * rather than pause and run again. It has the outward members of every service all the same: a
 * config, {@link #runOnce()} (one probe on a fresh connection), {@link #start()}/{@link #stop()},
 * an injected scheduler, and a signal tests await (the {@link Signal#CONNECTED} notice after every
 * connection).
 */
final class Listener {
    private static final Logger log = LoggerFactory.getLogger(Listener.class);
    private static final Duration LINGER = Duration.ofSeconds(5);

    private final ConnectionFactory factory;
    private final String channel;
    private final JobStore store;
    private final Duration checkInterval;
    private final Duration checkTimeout;
    private final Scheduler timer;
    private final AtomicReference<@Nullable Disposable> held = new AtomicReference<>();
    private final IncidentLog incidents = new IncidentLog(log, "Listening for signals");
    private final Sinks.Empty<Void> closed = Sinks.empty();
    private final Flux<Notice> notices;
    /** Whether a connection listens right now (between its LISTEN and its close). */
    private volatile boolean connected;

    public Listener(ConnectionFactory factory, JobStore store, String channel, ListenerConfig config,
                    Scheduler scheduler) {
        this.factory = OwnPool.unwrapped(factory);
        this.store = store;
        this.channel = channel;
        this.checkInterval = config.checkInterval();
        this.checkTimeout = config.checkTimeout();
        this.timer = scheduler;
        this.notices = Flux.usingWhen(connect(), this::listen, this::close, (conn, error) -> close(conn), this::close)
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

    /** Signals as they arrive; hot and shared. Subscribers must not block. */
    public Flux<Notice> notices() {
        return notices;
    }

    /** Whether a connection listens right now: false before the first LISTEN, while reconnecting and once closed. */
    public boolean connected() {
        return connected;
    }

    /** Connects now instead of at the first subscriber, and holds the connection until {@link #stop()}. */
    public void start() {
        Disposable d = notices.subscribe();
        if (!held.compareAndSet(null, d)) {
            d.dispose();
        }
    }

    /** Closes the connection for good; later subscribers get nothing. */
    public void stop() {
        closed.tryEmitEmpty();
        Disposable d = held.getAndSet(Disposables.disposed());
        if (d != null) {
            d.dispose();
        }
    }

    /**
     * One probe on a connection of its own, closed afterwards: connects, LISTENs and proves that it
     * listens, each within the check timeout; fails if the database cannot be reached.
     */
    public Mono<ListenerResult> runOnce() {
        return Mono.usingWhen(connect(),
                connection -> postgresql(connection).flatMap(pg -> listenOn(pg).then(stillListening(pg)))
                        .thenReturn(new ListenerResult(true))
                        .onErrorResume(ListenerDead.class, e -> Mono.just(new ListenerResult(false))),
                this::closeQuietly, (connection, error) -> closeQuietly(connection), this::closeQuietly);
    }

    /**
     * A new connection. Connecting and LISTEN get the check timeout too: a connection accepted by
     * something that never answers (a proxy before a stuck server) must not leave the listener
     * waiting forever.
     */
    private Mono<Connection> connect() {
        return Mono.<Connection>from(this.factory.create()).timeout(checkTimeout, timer);
    }

    /** The r2dbc-postgresql connection inside {@code connection}, or an error if there is none. */
    private static Mono<PostgresqlConnection> postgresql(Connection connection) {
        Connection raw = connection;
        while (!(raw instanceof PostgresqlConnection) && raw instanceof Wrapped<?> wrapped
                && wrapped.unwrap() instanceof Connection inner && inner != raw) {
            raw = inner;
        }
        if (!(raw instanceof PostgresqlConnection pg)) {
            return Mono.error(new NotPostgresql("The listener's connection is a " + connection.getClass().getName()
                    + ", not an r2dbc-postgresql connection"));
        }
        return Mono.just(pg);
    }

    private Flux<Notice> listen(Connection connection) {
        return postgresql(connection).flatMapMany(this::receive);
    }

    private Flux<Notice> receive(PostgresqlConnection pg) {
        Flux<Notice> notifications = pg.getNotifications()
                .onBackpressureBuffer()
                .filter(n -> channel.equals(n.getName()))
                .flatMapIterable(n -> Notice.decode(n.getParameter()));
        Mono<Notice> listening = listenOn(pg)
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

    private Mono<Void> listenOn(PostgresqlConnection pg) {
        return store.listen(pg, channel).timeout(checkTimeout, timer);
    }

    /** Closes the listening connection, not waiting long on one whose peer no longer answers. */
    private Mono<Void> close(Connection connection) {
        connected = false;
        return closeQuietly(connection);
    }

    private Mono<Void> closeQuietly(Connection connection) {
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
