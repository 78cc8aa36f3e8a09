package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.Rows;
import io.github.reactivepgqueue.testing.TestSchema;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.R2dbcException;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.reactivestreams.Publisher;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The library's statements carry their own statement and lock timeouts, which never reach other
 * users of the pool; no call hangs while the database cannot be reached; start() waits for it.
 */
@ExtendWith(PostgresExtension.class)
class TimeoutsIT {
    private final TestSchema db;

    TimeoutsIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
    }

    @BeforeEach
    void empty() {
        db.deleteAllJobs();
    }

    /** Holds a row lock on the job in a transaction of its own until disposed. */
    private Disposable lockRow(UUID id) {
        AtomicBoolean locked = new AtomicBoolean();
        Disposable holder = Flux.usingWhen(db.connectionFactory().create(),
                        conn -> Flux.from(conn.beginTransaction())
                                .thenMany(conn.createStatement("SELECT id FROM \"" + db.name()
                                        + "\".jobs WHERE id = $1 FOR UPDATE").bind("$1", id).execute())
                                .flatMap(r -> r.map((row, meta) -> row.get(0)))
                                .doOnNext(x -> locked.set(true))
                                .thenMany(Mono.never()),
                        Connection::close, (c, e) -> Mono.from(c.rollbackTransaction()).then(Mono.from(c.close())),
                        c -> Mono.from(c.rollbackTransaction()).then(Mono.from(c.close())))
                .subscribe();
        await().atMost(TIMEOUT).untilTrue(locked);
        return holder;
    }

    @Test
    void aStatementMeetingALockedRowFailsAfterTheLockTimeoutInsteadOfWaiting() {
        PgQueue queue = db.queueBuilder().lockTimeout(Duration.ofMillis(300)).build();
        UUID id = queue.enqueue(NewJob.of("locked", 1)).block(TIMEOUT).id();
        Disposable holder = lockRow(id);
        try {
            assertThatThrownBy(() -> queue.cancel(id).block(TIMEOUT))
                    .isInstanceOf(R2dbcException.class)
                    .satisfies(e -> assertThat(((R2dbcException) e).getSqlState()).isEqualTo("55P03"));
        } finally {
            holder.dispose();
        }
        await().atMost(TIMEOUT).until(() -> queue.cancel(id).block(TIMEOUT) == 1);
    }

    @Test
    void theStatementTimeoutEndsALongStatementOnTheServer() {
        PgQueue queue = db.queueBuilder().lockTimeout(Duration.ZERO).statementTimeout(Duration.ofMillis(300)).build();
        UUID id = queue.enqueue(NewJob.of("locked", 1)).block(TIMEOUT).id();
        Disposable holder = lockRow(id);
        try {
            assertThatThrownBy(() -> queue.cancel(id).block(TIMEOUT))
                    .isInstanceOf(R2dbcException.class)
                    .satisfies(e -> assertThat(((R2dbcException) e).getSqlState()).isEqualTo("57014"));
        } finally {
            holder.dispose();
        }
    }

    @Test
    void theTimeoutsNeverReachOtherUsersOfThePool() {
        ConnectionPool single = new ConnectionPool(ConnectionPoolConfiguration.builder(
                db.coordinates().connectionFactory("timeouts-it")).initialSize(1).maxSize(1).build());
        try {
            PgQueue queue = PgQueue.builder(single).schema(db.name()).janitor(false)
                    .statementTimeout(Duration.ofMillis(1234)).lockTimeout(Duration.ofMillis(567)).build();
            queue.enqueue(NewJob.of("q", 1)).block(TIMEOUT);
            queue.admin().counts().block(TIMEOUT);
            // the same (only) connection, borrowed by someone else afterwards
            Object statementTimeout = Mono.usingWhen(single.create(),
                    conn -> Mono.from(conn.createStatement("SELECT current_setting('statement_timeout') AS s, "
                                    + "current_setting('lock_timeout') AS l, current_setting('plan_cache_mode') AS p, "
                                    + "now() = statement_timestamp() AS in_tx")
                            .execute()).flatMap(r -> Mono.from(r.map((row, meta) -> row.get("s") + "/" + row.get("l")
                            + "/" + row.get("p") + "/" + row.get("in_tx")))),
                    Connection::close).block(TIMEOUT);
            assertThat(statementTimeout).isEqualTo("0/0/auto/true");
        } finally {
            single.disposeLater().block(TIMEOUT);
        }
    }

    @Test
    void withoutADatabaseCallsFailFastWithATypedError() {
        ConnectionFactory nowhere = new Switchable(null);
        PgQueue queue = PgQueue.builder(nowhere).schema(db.name()).connectionAcquireTimeout(Duration.ofMillis(300)).build();
        // the library's own acquire timeout ended the wait (its message names it), long before the block's
        assertThatThrownBy(() -> queue.enqueue(NewJob.of("q", 1)).block(TIMEOUT))
                .isInstanceOf(DatabaseUnavailableException.class)
                .hasMessageContaining("PT0.3S");
        assertThatThrownBy(() -> queue.admin().counts().block(TIMEOUT)).isInstanceOf(DatabaseUnavailableException.class);
        assertThatThrownBy(() -> queue.migrate().block(TIMEOUT)).isInstanceOf(DatabaseUnavailableException.class);
    }

    @Test
    void startWaitsForTheDatabaseAndThenWorks() {
        Switchable database = new Switchable(db.connectionFactory());
        database.up.set(false);
        PgQueue queue = PgQueue.builder(database).schema(db.name()).janitor(false).listen(false)
                .connectionAcquireTimeout(Duration.ofMillis(200)).pollInterval(Duration.ofMillis(50))
                .handler(ReactiveHandler.of("later", job -> Mono.just(Outcome.success())))
                .build();
        try {
            AtomicBoolean startedUp = new AtomicBoolean();
            queue.start().subscribe(null, e -> { }, () -> startedUp.set(true));
            await().during(Duration.ofMillis(600)).atMost(TIMEOUT).untilFalse(startedUp);
            database.up.set(true);
            await().atMost(TIMEOUT).untilTrue(startedUp);
            UUID id = queue.enqueue(NewJob.of("later", 1)).block(TIMEOUT).id();
            assertThat(queue.awaitCompletion(id).block(TIMEOUT).status()).isEqualTo(JobStatus.COMPLETED);
        } finally {
            queue.close().block(TIMEOUT);
        }
    }

    @Test
    void aClaimThatFailedIsRetriedWithBackoffNotAtTheNextPoll() {
        Switchable database = new Switchable(db.connectionFactory());
        PgQueue producer = db.queueBuilder().build();
        // the listener keeps the connection it opened while the database was up; claims open new ones
        PgQueue node = PgQueue.builder(database).schema(db.name()).janitor(false)
                .connectionAcquireTimeout(Duration.ofMillis(200)).pollInterval(Duration.ofSeconds(30))
                .handler(ReactiveHandler.of("retried-claim", job -> Mono.just(Outcome.success())))
                .build();
        try {
            node.start().block(TIMEOUT);
            await("the node listening").atMost(TIMEOUT).until(() -> listeners() >= 1);
            database.up.set(false);
            UUID id = producer.enqueue(NewJob.of("retried-claim", 1)).block(TIMEOUT).id();
            // the notification wakes the node, whose claims fail while the database refuses connections
            await().pollDelay(Duration.ofMillis(500)).atMost(TIMEOUT).until(() -> true);
            database.up.set(true);
            // a claim retried only at the next poll would leave the job pending for 30 s
            JobInfo done = node.awaitCompletion(id).block(Duration.ofSeconds(10));
            assertThat(done.status()).isEqualTo(JobStatus.COMPLETED);
        } finally {
            node.close().block(TIMEOUT);
        }
    }

    private long listeners() {
        return Rows.query(db.connectionFactory(), "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN %'"
                + " AND pid <> pg_backend_pid()").stream().mapToLong(r -> ((Number) r.get("n")).longValue()).sum();
    }

    /** A connection factory that fails every connection while "down" (or always, without a delegate). */
    private static final class Switchable implements ConnectionFactory {
        private final ConnectionFactory delegate;
        private final AtomicBoolean up = new AtomicBoolean(true);

        Switchable(ConnectionFactory delegate) {
            this.delegate = delegate;
        }

        @Override
        public Publisher<? extends Connection> create() {
            return Mono.defer(() -> delegate != null && up.get() ? Mono.from(delegate.create())
                    : delegate == null ? Mono.never()
                    : Mono.error(new IllegalStateException("connection refused (database down in this test)")));
        }

        @Override
        public ConnectionFactoryMetadata getMetadata() {
            return () -> "switchable";
        }
    }
}
