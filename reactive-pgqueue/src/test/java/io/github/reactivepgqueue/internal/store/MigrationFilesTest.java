package io.github.reactivepgqueue.internal.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The packaged migrations are exactly the files under sql/, indexed in order. */
class MigrationFilesTest {
    private static final Path SQL_FOLDER = Path.of("..", "sql");

    @Test
    void theIndexListsEveryMigrationFileInTheSqlFolder() throws IOException {
        List<String> onDisk;
        try (Stream<Path> files = Files.list(SQL_FOLDER)) {
            onDisk = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".sql")).sorted(
                    (a, b) -> Integer.compare(Migration.versionOf(a), Migration.versionOf(b))).toList();
        }
        List<Migration> packaged = Migration.loadAll();
        assertThat(packaged).extracting(Migration::fileName).containsExactlyElementsOf(onDisk);
        for (Migration m : packaged) {
            assertThat(m.script()).isEqualTo(Files.readString(SQL_FOLDER.resolve(m.fileName())));
            assertThat(m.script()).as("%s records its own version", m.fileName())
                    .containsPattern("INSERT INTO schema_version \\(version, description\\) VALUES \\(" + m.version() + ",");
            assertThat(m.script()).as("%s creates objects unqualified", m.fileName()).doesNotContain("pgqueue.");
        }
    }

    @Test
    void theIndexMustCountUpWithoutGaps() {
        assertThat(Migration.parseIndex("# comment\nV1__a.sql\n\nV2__b.sql\n")).containsExactly("V1__a.sql", "V2__b.sql");
        assertThatThrownBy(() -> Migration.parseIndex("V1__a.sql\nV3__c.sql")).hasMessageContaining("expected version 2");
        assertThatThrownBy(() -> Migration.parseIndex("V1__a.sql\nV1__b.sql")).hasMessageContaining("expected version 2");
        assertThatThrownBy(() -> Migration.parseIndex("init.sql")).hasMessageContaining("Not a migration file name");
        assertThatThrownBy(() -> Migration.parseIndex("")).hasMessageContaining("lists no migration");
    }
}
