package io.github.reactivepgqueue.internal.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SqlTest {
    private final SchemaName schema = SchemaName.of("my_schema");

    @Test
    void loadsEveryStatementWithTheSchemaQuoted() {
        Sql sql = Sql.load(schema);
        for (SqlName name : SqlName.values()) {
            assertThat(sql.get(name)).as(name.name()).isNotBlank().doesNotContain(Sql.SCHEMA_MARKER)
                    .doesNotContain("-- name:").doesNotContain("/*fragment").doesNotEndWith(";");
        }
        assertThat(sql.get(SqlName.JobInsertMany)).contains("INSERT INTO \"my_schema\".jobs");
    }

    @Test
    void rejectsUnknownDuplicatedAndMisplacedNames() {
        Map<SqlName, String> into = new EnumMap<>(SqlName.class);
        assertThatThrownBy(() -> Sql.parse("job.sql", "-- name: NoSuchThing\nSELECT 1;", schema, into))
                .hasMessageContaining("Unknown SQL statement name 'NoSuchThing'");
        assertThatThrownBy(() -> Sql.parse("job.sql", "-- name: JobInsertMany\nSELECT 1;\n-- name: JobInsertMany\nSELECT 2;",
                schema, new EnumMap<>(SqlName.class)))
                .hasMessageContaining("defined twice");
        assertThatThrownBy(() -> Sql.parse("job.sql", "-- name: MigrationLock\nSELECT 1;", schema, into))
                .hasMessageContaining("belongs in migration.sql");
        assertThatThrownBy(() -> Sql.parse("job.sql", "-- name: JobInsertMany\n  ;\n", schema, into))
                .hasMessageContaining("is empty");
        assertThatThrownBy(() -> Sql.parse("job.sql", "-- name: JobInsertMany\nSELECT 1;\nSELECT 2;\n", schema,
                new EnumMap<>(SqlName.class)))
                .hasMessageContaining("more than one statement");
    }

    @Test
    void commentsAfterAStatementBelongToTheNextOne() {
        Map<SqlName, String> into = new EnumMap<>(SqlName.class);
        Sql.parse("job.sql", "-- name: JobInsertMany\nSELECT 1;\n\n-- about the next statement\n\n"
                + "-- name: JobClaim\nSELECT 2;", schema, into);
        assertThat(into.get(SqlName.JobInsertMany)).isEqualTo("SELECT 1");
        assertThat(into.get(SqlName.JobClaim)).isEqualTo("SELECT 2");
    }

    @Test
    void keepsCommentsAndReplacesOnlyTheMarker() {
        Map<SqlName, String> into = new EnumMap<>(SqlName.class);
        Sql.parse("job.sql", "-- header\n-- name: JobInsertMany\n-- why\nSELECT * FROM /*schema*/.jobs;\n", schema, into);
        assertThat(into.get(SqlName.JobInsertMany)).isEqualTo("-- why\nSELECT * FROM \"my_schema\".jobs");
    }

    @Test
    void fragmentsAreWrittenOnceAndFilledInWhereverAStatementOfTheirFileUsesThem() {
        Map<SqlName, String> into = new EnumMap<>(SqlName.class);
        Sql.parse("job.sql", "-- name: JobClaim\nSELECT * FROM (/*fragment Due*/) d;\n\n"
                + "-- fragment: Due\n-- why\nSELECT id FROM /*schema*/.jobs WHERE run_at <= now()\n\n"
                + "-- name: JobNextDue\nSELECT count(*) FROM (/*fragment Due*/) d;", schema, into);
        String due = "-- why\nSELECT id FROM \"my_schema\".jobs WHERE run_at <= now()";
        assertThat(into.get(SqlName.JobClaim)).isEqualTo("SELECT * FROM (" + due + ") d");
        assertThat(into.get(SqlName.JobNextDue)).isEqualTo("SELECT count(*) FROM (" + due + ") d");
        assertThat(into).hasSize(2);
    }

    @Test
    void rejectsAnUnknownFragmentAndOneWithMoreThanAnExpression() {
        assertThatThrownBy(() -> Sql.parse("job.sql", "-- name: JobClaim\nSELECT /*fragment Nowhere*/;", schema,
                new EnumMap<>(SqlName.class)))
                .hasMessageContaining("uses fragment Nowhere, which job.sql does not define");
        assertThatThrownBy(() -> Sql.parse("job.sql", "-- fragment: Two\nSELECT 1; SELECT 2\n", schema,
                new EnumMap<>(SqlName.class)))
                .hasMessageContaining("holds a ';'");
    }
}
