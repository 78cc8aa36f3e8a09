package io.github.reactivepgqueue.testing;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.R2dbcException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;

/**
 * {@link TcpProxy} forwards R2DBC connections to the test server, and its faults do what fault
 * tests rely on: a reset breaks open connections but not new ones, a black hole makes queries hang
 * silently, a pause loses nothing, and a dead target refuses through the proxy too.
 */
@ExtendWith(PostgresExtension.class)
class TcpProxyIT {
    private static final Duration FROZEN = Duration.ofSeconds(1);

    private final TestSchema db;
    private final List<Connection> opened = new ArrayList<>();
    private TcpProxy proxy;
    private ConnectionFactory viaProxy;

    TcpProxyIT(TestSchema db) {
        this.db = db;
    }

    @BeforeEach
    void startProxy() {
        proxy = TcpProxy.start(db.coordinates());
        viaProxy = proxy.coordinates().connectionFactory("tcp-proxy-it");
    }

    @AfterEach
    void stopProxy() {
        proxy.close(); // resets what is left, so closing the connections cannot hang
        for (Connection connection : opened) {
            Mono.from(connection.close()).onErrorResume(e -> Mono.empty()).block(TIMEOUT);
        }
    }

    @Test
    void forwardsAConnectionAndCountsIt() {
        Connection connection = connect();
        assertThat(selectOne(connection).block(TIMEOUT)).isEqualTo(1);
        assertThat(proxy.acceptedCount()).isEqualTo(1);
        assertThat(proxy.connectionCount()).isEqualTo(1);

        Mono.from(connection.close()).block(TIMEOUT);
        await().atMost(TIMEOUT).until(() -> proxy.connectionCount() == 0);
        assertThat(proxy.acceptedCount()).isEqualTo(1);
    }

    @Test
    void resetAllBreaksOpenConnectionsWhileNewOnesWork() {
        Connection first = connect();
        Connection second = connect();
        assertThat(selectOne(first).block(TIMEOUT)).isEqualTo(1);
        assertThat(selectOne(second).block(TIMEOUT)).isEqualTo(1);

        assertThat(proxy.resetAll()).isEqualTo(2);

        assertThatThrownBy(() -> selectOne(first).block(TIMEOUT)).isInstanceOf(R2dbcException.class);
        assertThatThrownBy(() -> selectOne(second).block(TIMEOUT)).isInstanceOf(R2dbcException.class);
        assertThat(proxy.connectionCount()).isZero();
        assertThat(selectOne(connect()).block(TIMEOUT)).isEqualTo(1);
        assertThat(proxy.acceptedCount()).isEqualTo(3);
    }

    @Test
    void blackholeMakesQueriesAndLoginsHangAndForwardServesNewConnections() {
        Connection connection = connect();
        assertThat(selectOne(connection).block(TIMEOUT)).isEqualTo(1);

        proxy.blackhole();

        assertThatThrownBy(() -> selectOne(connection).timeout(FROZEN).block(TIMEOUT))
                .hasCauseInstanceOf(TimeoutException.class);
        assertThatThrownBy(() -> Mono.from(viaProxy.create()).timeout(FROZEN).block(TIMEOUT))
                .hasCauseInstanceOf(TimeoutException.class);
        assertThat(proxy.connectionCount()).as("black-holed connections stay open").isEqualTo(2);

        proxy.forward();

        assertThat(selectOne(connect()).block(TIMEOUT)).isEqualTo(1);
        // the connection that lost its query stays black-holed: its stream cannot be repaired
        assertThatThrownBy(() -> selectOne(connection).timeout(FROZEN).block(TIMEOUT))
                .hasCauseInstanceOf(TimeoutException.class);
    }

    @Test
    void pauseHoldsBytesAndForwardDeliversThem() {
        Connection connection = connect();
        assertThat(selectOne(connection).block(TIMEOUT)).isEqualTo(1);

        proxy.pause();
        CompletableFuture<Integer> query = selectOne(connection).toFuture();
        CompletableFuture<? extends Connection> login = Mono.from(viaProxy.create()).toFuture();
        await().during(FROZEN).atMost(FROZEN.multipliedBy(3)).until(() -> !query.isDone() && !login.isDone());

        proxy.forward();

        assertThat(query).succeedsWithin(TIMEOUT).isEqualTo(1);
        assertThat(login).succeedsWithin(TIMEOUT);
        Connection late = login.join();
        opened.add(late);
        assertThat(selectOne(late).block(TIMEOUT)).isEqualTo(1);
    }

    @Test
    void latencyDelaysEveryChunk() {
        Connection connection = connect();
        Duration latency = Duration.ofMillis(300);
        proxy.latency(latency);

        long start = System.nanoTime();
        assertThat(selectOne(connection).block(TIMEOUT)).isEqualTo(1);
        // the query and its answer are each held at least this long
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(latency.multipliedBy(2));

        proxy.latency(Duration.ZERO);
        assertThat(selectOne(connection).block(TIMEOUT)).isEqualTo(1);
    }

    @Test
    void aTargetThatRefusesMakesLoginsFailThroughTheProxy() throws IOException {
        int closedPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = probe.getLocalPort();
        }
        try (TcpProxy toNowhere = TcpProxy.start("127.0.0.1", closedPort)) {
            ConnectionFactory factory = db.coordinates().withHostPort("127.0.0.1", toNowhere.port())
                    .connectionFactory("tcp-proxy-it");
            assertThatThrownBy(() -> Mono.from(factory.create()).block(TIMEOUT)).isInstanceOf(R2dbcException.class);
            assertThat(toNowhere.acceptedCount()).isEqualTo(1);
            await().atMost(TIMEOUT).until(() -> toNowhere.connectionCount() == 0);
        }
    }

    private Connection connect() {
        Connection connection = Mono.from(viaProxy.create()).block(TIMEOUT);
        opened.add(connection);
        return connection;
    }

    private static Mono<Integer> selectOne(Connection connection) {
        return Mono.from(connection.createStatement("SELECT 1").execute())
                .flatMap(result -> Mono.from(result.map((row, meta) -> row.get(0, Integer.class))));
    }
}
