package io.github.reactivepgqueue.testing;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.R2dbcException;
import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * {@link OwnedPostgres} keeps its data and port across a stop and a start, refuses connections
 * while stopped, kills exactly the backends asked for, and leaves nothing behind when closed.
 */
class OwnedPostgresIT {
    @Test
    void stopRefusesConnectionsAndStartAgainKeepsPortAndData() {
        long creating = System.nanoTime();
        try (OwnedPostgres postgres = OwnedPostgres.start()) {
            long created = System.nanoTime();
            ConnectionFactory factory = postgres.coordinates().connectionFactory("owned-postgres-it");
            sql(factory, "CREATE TABLE kept (id int PRIMARY KEY, note text)");
            sql(factory, "INSERT INTO kept VALUES (1, 'before the restart')");
            int port = postgres.port();

            long stopping = System.nanoTime();
            postgres.stop();
            long stopped = System.nanoTime();

            assertThat(postgres.isRunning()).isFalse();
            assertThatThrownBy(() -> Mono.from(factory.create()).block(TIMEOUT))
                    .isInstanceOf(R2dbcException.class)
                    .hasRootCauseInstanceOf(ConnectException.class);

            long starting = System.nanoTime();
            postgres.startAgain();
            long started = System.nanoTime();
            System.out.printf("[owned-postgres] first start (initdb) %d ms, stop %d ms, start again %d ms%n",
                    (created - creating) / 1_000_000, (stopped - stopping) / 1_000_000, (started - starting) / 1_000_000);

            assertThat(postgres.isRunning()).isTrue();
            assertThat(postgres.port()).isEqualTo(port);
            assertThat(sql(factory, "SELECT note FROM kept WHERE id = 1")).containsExactly("before the restart");
        }
    }

    @Test
    void terminateBackendsKillsTheMatchingSessionsOnly() {
        try (OwnedPostgres postgres = OwnedPostgres.start()) {
            DatabaseCoordinates coordinates = postgres.coordinates();
            Connection victim = Mono.from(coordinates.connectionFactory("victim-1").create()).block(TIMEOUT);
            Connection bystander = Mono.from(coordinates.connectionFactory("bystander").create()).block(TIMEOUT);
            try {
                assertThat(selectOne(victim)).isEqualTo(1);
                assertThat(selectOne(bystander)).isEqualTo(1);

                assertThat(postgres.terminateBackends("victim%")).isEqualTo(1);

                assertThatThrownBy(() -> selectOne(victim)).isInstanceOf(R2dbcException.class);
                assertThat(selectOne(bystander)).isEqualTo(1);
                ConnectionFactory fresh = coordinates.connectionFactory("victim-2");
                assertThat(sql(fresh, "SELECT 'alive'")).containsExactly("alive");

                assertThat(postgres.terminateAllOtherBackends()).isEqualTo(1);
                assertThatThrownBy(() -> selectOne(bystander)).isInstanceOf(R2dbcException.class);
            } finally {
                Mono.from(victim.close()).onErrorResume(e -> Mono.empty()).block(TIMEOUT);
                Mono.from(bystander.close()).onErrorResume(e -> Mono.empty()).block(TIMEOUT);
            }
        }
    }

    @Test
    void closeStopsTheServerAndDeletesItsData() {
        OwnedPostgres postgres = OwnedPostgres.start();
        Path data = postgres.dataDirectory();
        ConnectionFactory factory = postgres.coordinates().connectionFactory("owned-postgres-it");
        try {
            assertThat(Files.exists(data.resolve("PG_VERSION"))).isTrue();
            assertThat(sql(factory, "SELECT 'up'")).containsExactly("up");
        } finally {
            postgres.close();
        }
        assertThat(postgres.isRunning()).isFalse();
        assertThat(data).doesNotExist();
        assertThatThrownBy(() -> Mono.from(factory.create()).block(TIMEOUT))
                .hasRootCauseInstanceOf(ConnectException.class);
        assertThatThrownBy(postgres::startAgain).isInstanceOf(IllegalStateException.class);
        postgres.close(); // a second close does nothing
    }

    /** Runs one statement on a new connection; returns the first column of every row as text. */
    private static List<String> sql(ConnectionFactory factory, String sql) {
        return Flux.usingWhen(factory.create(),
                        conn -> Flux.from(conn.createStatement(sql).execute())
                                .flatMap(result -> result.map((row, meta) -> String.valueOf(row.get(0)))),
                        Connection::close)
                .collectList().block(TIMEOUT);
    }

    private static Integer selectOne(Connection connection) {
        return Mono.from(connection.createStatement("SELECT 1").execute())
                .flatMap(result -> Mono.from(result.map((row, meta) -> row.get(0, Integer.class))))
                .block(TIMEOUT);
    }
}
