package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.testing.DatabaseCoordinates;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.nio.file.Path;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The files under sql/ work unchanged with Flyway, and the library runs on what Flyway built. */
@ExtendWith(PostgresExtension.class)
class FlywayIT {
    @Test
    void flywayAppliesTheSqlFolderUnchangedAndTheLibraryRunsOnIt(TestSchema db) {
        DatabaseCoordinates c = db.coordinates();
        Path sqlFolder = Path.of("..", "sql").toAbsolutePath().normalize();
        MigrateResult result = Flyway.configure()
                .dataSource(c.jdbcUrl(), c.user(), c.password())
                .schemas(db.name())
                .locations("filesystem:" + sqlFolder)
                .load()
                .migrate();

        PgQueue queue = db.queueBuilder().build();
        assertThat(result.migrationsExecuted).isEqualTo(queue.latestSchemaVersion());
        assertThat(queue.schemaVersion().block(TIMEOUT)).isEqualTo(queue.latestSchemaVersion());
        assertThat(queue.migrate().block(TIMEOUT).changed()).isFalse();

        EnqueueResult enqueued = queue.enqueue(NewJob.of("after-flyway", 1).uniqueKey("k")).block(TIMEOUT);
        assertThat(queue.enqueue(NewJob.of("after-flyway", 2).uniqueKey("k")).block(TIMEOUT))
                .isEqualTo(new EnqueueResult.Duplicate(enqueued.id(), "k"));
        assertThat(db.rows("jobs")).isEqualTo(1);
    }
}
