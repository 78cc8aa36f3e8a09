package io.github.reactivepgqueue.internal.store;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One schema migration file, {@code V<version>__<description>.sql}, as packaged from the
 * repository's {@code sql/} folder. The packaged {@code migrations.index} lists the files in
 * order, because a folder inside a jar cannot be listed reliably.
 *
 * @param version     the version the file brings the schema to
 * @param fileName    the file name
 * @param script      the SQL, applied unchanged
 */
public record Migration(int version, String fileName, String script) {
    static final String FOLDER = "/io/github/reactivepgqueue/migrations/";
    private static final Pattern FILE_NAME = Pattern.compile("V([1-9][0-9]*)__([A-Za-z0-9_]+)\\.sql");

    /** The part of the file name after the version. */
    public String description() {
        Matcher m = FILE_NAME.matcher(fileName);
        return m.matches() ? m.group(2) : fileName;
    }

    /** Every packaged migration, in version order. Reads class-path resources: call at start-up. */
    public static List<Migration> loadAll() {
        return parseIndex(Sql.read(FOLDER + "migrations.index")).stream()
                .map(name -> new Migration(versionOf(name), name, Sql.read(FOLDER + name)))
                .toList();
    }

    /**
     * The file names listed in an index, checked: each a valid migration name, versions 1, 2, 3 ...
     * with no gap or repeat.
     */
    static List<String> parseIndex(String index) {
        List<String> names = new ArrayList<>();
        for (String line : index.split("\n")) {
            String name = line.strip();
            if (name.isEmpty() || name.startsWith("#")) {
                continue;
            }
            int expected = names.size() + 1;
            if (versionOf(name) != expected) {
                throw new IllegalStateException("migrations.index: expected version " + expected + " but found " + name);
            }
            names.add(name);
        }
        if (names.isEmpty()) {
            throw new IllegalStateException("migrations.index lists no migration");
        }
        return names;
    }

    static int versionOf(String fileName) {
        Matcher m = FILE_NAME.matcher(fileName);
        if (!m.matches()) {
            throw new IllegalStateException("Not a migration file name (V<n>__<what>.sql): " + fileName);
        }
        return Integer.parseInt(m.group(1));
    }
}
