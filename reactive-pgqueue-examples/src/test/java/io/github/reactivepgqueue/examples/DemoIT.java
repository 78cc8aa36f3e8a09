package io.github.reactivepgqueue.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The demo runs start to end against a real PostgreSQL, so the README's command cannot rot. */
@ExtendWith(PostgresExtension.class)
class DemoIT {
    private final TestSchema db;

    DemoIT(TestSchema db) {
        this.db = db;
    }

    @AfterEach
    void dropDemoSchema() {
        db.execute("DROP SCHEMA IF EXISTS \"" + Demo.SCHEMA + "\" CASCADE");
    }

    @Test
    void theDemoRunsAndLeavesTheJobsItReports() {
        Demo.runOn(db.connectionFactory()).block(Duration.ofSeconds(60));

        assertThat(db.count("SELECT count(*) FROM \"" + Demo.SCHEMA + "\".jobs")).isGreaterThan(3000);
        assertThat(db.count("SELECT count(DISTINCT queue) FROM \"" + Demo.SCHEMA + "\".jobs")).isEqualTo(4);
        // the rolled-back sign-up left nothing behind
        assertThat(db.count("SELECT count(*) FROM \"" + Demo.SCHEMA + "\".jobs WHERE unique_key LIKE 'welcome:u-rolled-back%'"))
                .isZero();
    }
}
